"""Tests of the synthetic cohort generator (lotluca.simulate): schema fidelity, referential integrity,
determinism, calibration, gold-standard consistency, knobs, the truth <-> raw-row mapping and the CLI."""

from __future__ import annotations

import dataclasses
import hashlib
import re
from dataclasses import asdict, replace
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pcsv
import pyarrow.parquet as pq
import pytest

from conftest import REPO
from lotluca import contracts, drugs, snds_schema
from lotluca.config import default_config, load_config
from lotluca.errors import ConfigError
from lotluca.simulate import (
    CLINICAL_TRUTH,
    SNDS_OUT,
    calibration,
    cohort,
    confounding,
    nomenclature,
    simulate,
    simulate_to_files,
    treatment,
)
from lotluca.simulate.params import Noise, SimSettings, Traps

DCIR_KEYS = snds_schema.primary_key("ER_PRS_F")  # the 9 DCIR join keys
SMALL = {"patients": 400, "abstraction": {"error_rate": 0.0}}  # gold = the truth (errors: test_simulate_abstraction)


def sim_settings(study=None, **sim) -> SimSettings:
    """SimSettings of the schema's defaults, the given simulate keys (and study block) changed."""
    cfg = default_config(simulate=sim, study=study or {})
    return SimSettings.from_config(cfg["simulate"], study=cfg["study"])


@pytest.fixture(scope="module")
def small():
    return simulate(sim_settings(**SMALL), 7)


@pytest.fixture(scope="module")
def small_dir(tmp_path_factory, small):
    from lotluca.simulate import write_outputs

    out = tmp_path_factory.mktemp("sim")
    write_outputs(small, out, "parquet")
    return out


def _pd(table: pa.Table) -> pd.DataFrame:
    return table.to_pandas()


# --- schema fidelity ------------------------------------------------------------------------------------
def test_every_snds_table_has_the_exact_schema_in_memory_and_on_disk(small, small_dir):
    assert set(small["snds"]) == set(SNDS_OUT)
    for name, table in small["snds"].items():
        assert table.schema.equals(snds_schema.arrow_schema(name)), name
        disk = pq.read_table(small_dir / "snds" / f"{name}.parquet")
        assert disk.column_names == snds_schema.arrow_schema(name).names, name
        for field in snds_schema.arrow_schema(name):
            got = disk.schema.field(field.name).type
            if pa.types.is_timestamp(field.type):  # Parquet has no second unit: stored as ms, same instants
                assert pa.types.is_timestamp(got), (name, field.name)
            else:
                assert got == field.type, (name, field.name, got, field.type)


def test_odh_gold_and_truth_tables_have_the_contract_schemas(small, small_dir):
    for name, schema in contracts.ODH_TABLES.items():
        assert small["odh"][name].schema.equals(schema), name
        assert pq.read_table(small_dir / "odh" / f"{name}.parquet").schema.equals(schema), name
    assert pq.read_table(small_dir / "gold" / "gold_lines.parquet").schema.equals(contracts.GOLD_LINES)
    assert pq.read_table(small_dir / "truth" / "clinical_truth.parquet").schema.equals(CLINICAL_TRUTH)
    lt = pq.read_table(small_dir / "truth" / "linkage_truth.parquet")
    assert lt.column_names == ["odh_patient_id", "ben_idt_ano"] and lt.schema.field("ben_idt_ano").type == pa.string()


def test_csv_looks_like_a_real_extract(tmp_path):
    simulate_to_files({"patients": 60}, {}, 3, tmp_path, "csv")
    text = (tmp_path / "snds" / "T_MCOaaC.csv").read_text().splitlines()
    header = text[0].split(";")
    assert header == snds_schema.arrow_schema("T_MCOaaC").names
    row = dict(zip(header, text[1].split(";"), strict=True))
    assert re.fullmatch(r"\d{2}[A-Z]{3}\d{4}:00:00:00", row["EXE_SOI_DTD"]), row["EXE_SOI_DTD"]
    assert re.fullmatch(r"\d{8}", row["ENT_DAT"]) and re.fullmatch(r"\d{8}", row["SOR_DAT"])
    prs = pcsv.read_csv(tmp_path / "snds" / "ER_PRS_F.csv", parse_options=pcsv.ParseOptions(delimiter=";"))
    assert prs.column_names == snds_schema.arrow_schema("ER_PRS_F").names
    ucd = pcsv.read_csv(
        tmp_path / "snds" / "ER_UCD_F.csv",
        parse_options=pcsv.ParseOptions(delimiter=";"),
        convert_options=pcsv.ConvertOptions(column_types={"UCD_UCD_COD": pa.string()}),
    )
    assert set(pa.compute.utf8_length(ucd["UCD_UCD_COD"]).to_pylist()) == {13}
    pat = pcsv.read_csv(tmp_path / "odh" / "odh_patients.csv", parse_options=pcsv.ParseOptions(delimiter=";"))
    assert pat.column_names == contracts.ODH_PATIENTS.names


# --- referential integrity ----------------------------------------------------------------------------------
def test_dcir_keys_unique_and_valid(small):
    S = {k: _pd(v) for k, v in small["snds"].items()}
    prs = S["ER_PRS_F"]
    assert not prs.duplicated(DCIR_KEYS).any()
    for child in ("ER_PHA_F", "ER_UCD_F", "ER_ETE_F"):
        c = S[child]
        assert len(c) and len(c.merge(prs[DCIR_KEYS], on=DCIR_KEYS)) == len(c), child
    ben = set(S["IR_BEN_R"]["BEN_NIR_PSA"])
    assert set(prs["BEN_NIR_PSA"]) <= ben
    assert not S["IR_BEN_R"].duplicated(["BEN_NIR_PSA", "BEN_RNG_GEM"]).any()
    assert set(S["KI_CCI_R"]["BEN_IDT_ANO"]) <= set(S["IR_BEN_R"]["BEN_IDT_ANO"])
    for col in ("BEN_NIR_PSA", "BEN_IDT_ANO"):
        assert set(S["IR_BEN_R"][col].str.len()) == {17}
    assert set(S["IR_BEN_R"]["BEN_SEX_COD"]) <= {1, 2}
    assert set(S["IR_BEN_R"]["BEN_NAI_MOI"]) <= {f"{m:02d}" for m in range(1, 13)}
    pha = S["ER_PHA_F"]
    cips = set(S["IR_PHA_R"]["PHA_CIP_C13"])  # every dispensed code is in the shard's nomenclature
    assert set(pha["PHA_PRS_C13"]) <= cips
    assert (pha["PHA_ACT_QSN"] < 0).any() and (pha["PHA_ACT_QSN"] > 0).all() is not True
    assert set(S["ER_UCD_F"]["UCD_TOP_UCD"]) <= {0, 1}
    assert {0, 71} <= set(prs["DPN_QLF"])


def test_pmsi_keys_unique_and_valid(small):
    S = {k: _pd(v) for k, v in small["snds"].items()}
    b, c = S["T_MCOaaB"], S["T_MCOaaC"]
    assert not b.duplicated(["ETA_NUM", "RSA_NUM"]).any()
    assert set(zip(b.ETA_NUM, b.RSA_NUM, strict=True)) == set(zip(c.ETA_NUM, c.RSA_NUM, strict=True))
    keys = set(zip(b.ETA_NUM.astype(str), b.RSA_NUM.astype(str), strict=True))
    for child in ("T_MCOaaD", "T_MCOaaMED", "T_MCOaaFH"):
        d = S[child]
        assert len(d) and set(zip(d.ETA_NUM, d.RSA_NUM, strict=True)) <= keys, child
    assert set(c["NIR_ANO_17"]) <= set(S["IR_BEN_R"]["BEN_NIR_PSA"])
    assert (b["GRG_GHM"] == "28Z07Z").mean() > 0.5 and b["GRG_GHM"].str.startswith("90").any()
    dgn = b.loc[b["GRG_GHM"] == "04M132", "DGN_PAL"]  # identification decoys: other cancers, mesothelioma
    assert dgn.str.startswith("C").all() and dgn.str.startswith("C34").mean() > 0.85
    ok = (
        (~c[["NIR_RET", "SEX_RET", "SEJ_RET", "FHO_RET", "PMS_RET"]].any(axis=1))
        & (c["NAI_RET"] == "0")
        & (c["DAT_RET"] == "0")
    )
    assert 0.9 < ok.mean() < 1.0
    finess = set(b["ETA_NUM"].astype(str))
    assert all(len(f) == 9 for f in finess)


def test_odh_tables_are_coherent(small):
    odh = {k: _pd(v) for k, v in small["odh"].items()}
    pats = set(odh["odh_patients"]["odh_patient_id"])
    assert all(re.fullmatch(r"C\d{2}-\d{7}", p) for p in pats)
    assert set(odh["odh_administrations"]["odh_patient_id"]) <= pats
    assert set(odh["odh_administrations"]["stay_id"]) <= set(odh["odh_stays"]["stay_id"])
    assert set(odh["odh_prescriptions"]["odh_patient_id"]) <= pats
    assert odh["odh_administrations"]["administration_id"].is_unique
    labels = odh["odh_administrations"]["drug_label"]
    assert labels.str.contains("ESSAI CLINIQUE").any() and labels.str.contains(r"\d+ ?(?:MG|mg)$").any()
    cyc = odh["odh_administrations"]["cycle_label"].dropna()
    assert cyc.str.fullmatch(r"C\d+").all() and 0.2 < odh["odh_administrations"]["cycle_label"].isna().mean() < 0.8
    lt = _pd(small["linkage_truth"])
    assert set(lt["odh_patient_id"]) == pats and lt["ben_idt_ano"].is_unique
    assert set(lt["ben_idt_ano"]) <= set(_pd(small["snds"]["IR_BEN_R"])["BEN_IDT_ANO"])


def test_observed_tables_leak_no_truth(small):
    for name, table in {**small["snds"], **small["odh"]}.items():
        for col in table.column_names:
            assert not re.search(r"line_number|progress|is_maint|truth", col, re.I), (name, col)


# --- the truth <-> raw-row mapping ------------------------------------------------------------------------------
def test_clinical_truth_keys_resolve_to_raw_rows(small):
    t = _pd(small["clinical_truth"])
    S = {k: _pd(v) for k, v in small["snds"].items()}
    code_ing = nomenclature.codes().set_index("code")["ingredient"].to_dict()
    ph = t[t["snds_table"] == "ER_PHA_F"]
    pha = S["ER_PHA_F"].set_index("DCT_ORD_NUM")
    got = pha.loc[ph["snds_key"].astype("int64"), "PHA_PRS_C13"].astype(str).map(code_ing).to_numpy()
    assert (got == ph["ingredient"].to_numpy()).all()
    prs = S["ER_PRS_F"].set_index("DCT_ORD_NUM")
    assert (
        pd.to_datetime(prs.loc[ph["snds_key"].astype("int64"), "EXE_SOI_DTD"]).to_numpy()
        == pd.to_datetime(ph["snds_date"]).to_numpy()
    ).all()
    med = t[t["snds_table"] == "T_MCOaaMED"]
    m = S["T_MCOaaMED"].assign(
        key=lambda d: d.ETA_NUM + ":" + d.RSA_NUM, ingredient=lambda d: d.UCD_UCD_COD.map(code_ing)
    )
    assert len(med.merge(m, left_on=["snds_key", "ingredient"], right_on=["key", "ingredient"])) == len(med)
    c = S["T_MCOaaC"].assign(key=lambda d: d.ETA_NUM.astype(str) + ":" + d.RSA_NUM.astype(str))
    sess = t[t["snds_table"] == "T_MCOaaB"].merge(c[["key", "EXE_SOI_DTD"]], left_on="snds_key", right_on="key")
    assert len(sess) == (t["snds_table"] == "T_MCOaaB").sum()
    assert (
        pd.to_datetime(sess["EXE_SOI_DTD"]).dt.normalize().to_numpy() == pd.to_datetime(sess["snds_date"]).to_numpy()
    ).all()
    adm = _pd(small["odh"]["odh_administrations"]).set_index("administration_id")
    a = t[t["odh_table"] == "odh_administrations"]
    assert (
        pd.to_datetime(adm.loc[a["odh_row_id"], "administration_date"]).to_numpy()
        == pd.to_datetime(a["date"]).to_numpy()
    ).all()
    # visibility rules: cheap IV chemotherapy never has a drug row in the SNDS, trial drugs are absent
    assert set(t.loc[t["ingredient"].isin(["carboplatin", "cisplatin", "docetaxel"]), "snds_channel"]) == {
        "session_only"
    }
    assert set(t.loc[t["ingredient"] == "trial_drug", "snds_channel"]) <= {"none"}
    assert not t.loc[t["setting"] != "centre", "observed_odh"].loc[lambda s: t["route"] == "iv"].any()
    assert t.loc[t["odh_patient_id"].isna(), "observed_odh"].sum() == 0  # decoys are never in ODH


# --- determinism ---------------------------------------------------------------------------------------------------
def _digest(folder: Path) -> dict:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_same_seed_gives_byte_identical_files_and_another_seed_differs(tmp_path, fmt):
    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    for out, seed in ((a, 11), (b, 11), (c, 12)):
        simulate_to_files({"patients": 150}, {}, seed, out, fmt)
    da, db, dc = _digest(a), _digest(b), _digest(c)
    # 20 + truth/{concomitant,persons,lines,changes,identification}_truth + snds/{IR_PHA_R,NU_UCD_R,IR_IMB_R}
    # + snds/T_MCOaa{CSTC,FHSTC} + truth/gold_agreement.parquet, gold/gold_agreement.csv
    assert da == db and len(da) == 32
    assert da[f"snds/IR_PHA_R.{fmt}"] == dc[f"snds/IR_PHA_R.{fmt}"]  # the nomenclature does not depend on the seed
    assert da["gold/gold_lines.parquet"] != dc["gold/gold_lines.parquet"]
    assert da[f"snds/ER_PRS_F.{fmt}"] != dc[f"snds/ER_PRS_F.{fmt}"]


# --- calibration ---------------------------------------------------------------------------------------------------
def test_calibration_within_stated_tolerances_on_a_large_cohort():
    s = sim_settings(patients=20000, decoy_ratio=0)
    rng = [np.random.default_rng(x) for x in np.random.SeedSequence(20261123).spawn(9)]
    persons = cohort.assign_identifiers(rng[2], cohort.draw_persons(rng[0], s), s)
    persons = persons.assign(**confounding.draw_frailty(rng[0].spawn(1)[0], len(persons), s.confounding))
    lines, death = treatment.draw_lines(rng[4], persons, s)
    events = treatment.draw_events(rng[5], lines, persons, death, s)
    lines = treatment.finalise_lines(lines, events, death, s)
    table = calibration.calibration_table(persons, lines, death, s)
    assert len(table) >= 22 and table["source"].str.len().min() > 10
    assert table["simulated"].notna().all()
    # known, documented discrepancies of the simulator (docs/simulate.md#calibration-targets): its survival
    # tail of patients without EGFR/ALK in 2015-2018 and its 2018 pembrolizumab-alone share are too low; its
    # first-line osimertinib and alectinib last longer than in routine care (trial medians drive them)
    known_off = {
        "os_2y_from_first_line_start_2015_2018_no_egfr_alk",
        "pembrolizumab_alone_among_first_lines_2018_no_egfr_alk",
        "median_osimertinib_first_line_time_on_treatment_months",
        "median_alectinib_first_line_time_on_treatment_months",
    }
    off = table[~table["within"] & ~table["metric"].isin(known_off)]
    assert off.empty, off.to_string()


def test_kaplan_meier_hand_computed():
    t = np.array([1.0, 2.0, 3.0, 4.0])
    e = np.array([True, False, True, True])
    # S(1)=3/4, censor at 2, S(3)=3/4*1/2=3/8, S(4)=0
    assert calibration.km(t, e, at=3.5) == pytest.approx(0.375)
    assert calibration.km(t, e) == 3.0


def test_calibration_file_written(small_dir):
    cal = pd.read_csv(small_dir / "calibration.csv")
    assert list(cal.columns) == ["metric", "simulated", "target_low", "target_high", "source", "within"]


# --- gold standard -------------------------------------------------------------------------------------------------
def test_gold_standard_internal_consistency(small):
    g = _pd(small["gold"])
    t = _pd(small["clinical_truth"])
    assert set(g["algorithm"]) == {"gold"} and set(g["split"]) <= {"train", "test"}
    assert set(g["end_reason"]) <= {"progression", "death", "end_of_data", "planned_stop", "toxicity"}
    assert g.groupby("person_id")["split"].nunique().max() == 1
    share = g["person_id"].nunique() / len(small["odh"]["odh_patients"])
    assert 0.4 < share < 0.65  # 60% of ODH patients, minus the untreated
    main = g[~g["is_maintenance"]].sort_values(["person_id", "line_number"])
    assert (main["start_date"] <= main["end_date"]).all()
    for _, grp in main.groupby("person_id"):
        assert list(grp["line_number"]) == list(range(1, len(grp) + 1))
        assert (grp["start_date"].to_numpy()[1:] > grp["end_date"].to_numpy()[:-1]).all()  # no overlap
    ma = g[g["is_maintenance"]].merge(main, on=["person_id", "line_number"], suffixes=("", "_line"))
    assert len(ma) == g["is_maintenance"].sum() > 0
    assert ((ma["start_date"] > ma["start_date_line"]) & (ma["end_date"] <= ma["end_date_line"])).all()
    assert (main["regimen"] == main["regimen"].map(lambda r: drugs.regimen_name(r.split("+")))).all()
    # every gold line is backed by at least one exposure (or chemotherapy session) in at least one source
    seen = t[(t["observed_odh"]) | (t["snds_table"].notna())]
    backed = set(zip(seen["odh_patient_id"], seen["line_number"], strict=True))
    assert all((p, n) in backed for p, n in zip(main["person_id"], main["line_number"], strict=True))
    # the gold start is the first administration/dispensation of the line
    first = t.groupby(["odh_patient_id", "line_number"])["date"].min()
    assert (
        main.set_index(["person_id", "line_number"])["start_date"]
        == first.reindex(main.set_index(["person_id", "line_number"]).index)
    ).all()


def test_gold_has_the_traps(small):
    g = _pd(small["gold"])
    assert g["is_maintenance"].any()
    assert {"chemo_io", "chemo_doublet", "egfr_tki"} <= set(g["regimen_class"])
    assert g["line_number"].max() >= 3


# --- knobs ---------------------------------------------------------------------------------------------------------
def test_knobs_switch_traps_off_and_on():
    base = sim_settings(patients=300)
    traps = replace(base.traps, clinical_trial=0.0, line_elsewhere=0.0, cycle_elsewhere=0.0, platinum_swap=1.0)
    noise = replace(base.noise, **{k: 0.0 for k in asdict(base.noise)})
    no_sit = replace(base.situations, frequency_scale=0.0)  # no referral after a first line elsewhere
    no_dec = replace(base.identification_decoys, enabled=False)
    quiet = replace(base, traps=traps, noise=noise, decoy_ratio=0.0, situations=no_sit, identification_decoys=no_dec)
    r = simulate(quiet, 5)
    t = _pd(r["clinical_truth"])
    assert (t["ingredient"] != "trial_drug").all()
    assert len(r["snds"]["IR_BEN_R"]) == 300  # no second NIR, no decoys
    assert (t["setting"].isin(["centre", "community_pharmacy"])).all()
    iv = t[t["route"] == "iv"]
    assert iv["observed_odh"].all()  # no missing ODH record, every IV drug at the centre
    assert t.loc[t["snds_channel"] != "none", "observed_snds"].all()
    assert len(r["odh"]["odh_administrations"]) == len(iv)  # no duplicate
    # every cisplatin line swaps to carboplatin (from cycle 2-4) unless it stops earlier
    cis = t[t["ingredient"] == "cisplatin"].groupby(["truth_person_id", "line_number"])["cycle"].max()
    swapped = t[(t["ingredient"] == "carboplatin")].set_index(["truth_person_id", "line_number"]).index
    assert cis.index.isin(swapped).mean() > 0.5 and cis.max() <= 3
    S = {k: _pd(v) for k, v in r["snds"].items()}
    assert (S["ER_PHA_F"]["PHA_ACT_QSN"] > 0).all() and (S["ER_PRS_F"]["DPN_QLF"] == 0).all()


def test_settings_fields_are_the_schema_keys_and_take_its_defaults():
    """No default in the code: the fields are the keys of the simulate block (and sub-blocks), the values
    the schema's defaults; the study period comes from the study block."""
    from lotluca.config import schema
    from lotluca.simulate.abstraction import Abstraction
    from lotluca.simulate.concomitant import ConcomitantSettings
    from lotluca.simulate.outpatient import OutpatientSettings
    from lotluca.simulate.params import DecoySettings
    from lotluca.simulate.situations import SituationSettings

    sim = schema()["properties"]["simulate"]["properties"]
    fields = {f.name for f in dataclasses.fields(SimSettings)} - {"study"}
    assert fields == set(sim)
    from lotluca.simulate.confounding import ConfoundingSettings

    groups = {
        "traps": Traps,
        "noise": Noise,
        "concomitant": ConcomitantSettings,
        "situations": SituationSettings,
        "identification_decoys": DecoySettings,
        "outpatient": OutpatientSettings,
        "abstraction": Abstraction,
    }
    groups["confounding"] = ConfoundingSettings
    from lotluca.simulate.centre_styles import CentreStyleSettings

    groups["centre_styles"] = CentreStyleSettings
    for group, cls in groups.items():
        assert {f.name for f in dataclasses.fields(cls)} == set(sim[group]["properties"]), group
        assert all(f.default is dataclasses.MISSING for f in dataclasses.fields(cls)), group
    s = sim_settings()
    for name, spec in sim.items():
        if "default" in spec and name not in groups:
            want = tuple(spec["default"]) if isinstance(spec["default"], list) else spec["default"]
            assert getattr(s, name) == want, name
    for group in groups:
        for name, spec in sim[group]["properties"].items():
            want = tuple(spec["default"]) if isinstance(spec["default"], list) else spec["default"]
            assert getattr(getattr(s, group), name) == want, (group, name)
    study = default_config()["study"]
    assert (str(s.start_date), str(s.end_date)) == (study["start_date"], study["end_date"])
    cfg = load_config(REPO / "config.yaml")  # config/simulate.yaml merged under it
    assert SimSettings.from_config(cfg["simulate"], study=cfg["study"]) == s


def test_bad_settings_give_clear_errors():
    with pytest.raises(ConfigError, match="patientz"):
        sim_settings(patientz=3)
    with pytest.raises(ConfigError, match="dose_delay"):
        sim_settings(traps={"dose_delay": 1.5})
    with pytest.raises(ConfigError, match="end_date"):
        sim_settings(study={"start_date": "2020-01-01", "end_date": "2019-01-01"})
    with pytest.raises(ConfigError, match="missing config key"):
        SimSettings.from_config({"patients": 3}, study=default_config()["study"])


def test_cli_writes_the_cohort(tmp_path):
    from lotluca.cli import main

    assert main(["simulate", "--patients", "40", "--seed", "2", "--out", str(tmp_path), "--format", "csv"]) == 0
    assert (tmp_path / "snds" / "ER_PRS_F.csv").is_file() and (tmp_path / "odh" / "odh_patients.csv").is_file()
    assert (tmp_path / "gold" / "gold_lines.parquet").is_file() and (tmp_path / "calibration.csv").is_file()


def test_streamed_and_in_memory_writing_give_the_same_files(tmp_path):
    from lotluca.simulate import write_outputs

    simulate_to_files({"patients": 80}, {}, 4, tmp_path / "stream", "parquet")
    write_outputs(simulate(sim_settings(patients=80), 4), tmp_path / "memory", "parquet")
    assert _digest(tmp_path / "stream") == _digest(tmp_path / "memory")


def test_vectorised_helpers_hand_computed():
    counts = np.array([3, 0, 2])
    assert treatment._group_arange(counts).tolist() == [0, 1, 2, 0, 1]
    assert treatment._group_cumsum(np.array([0, 21, 28, 0, 14]), counts).tolist() == [0, 21, 49, 0, 14]
    # 2024-01-06 is a Saturday, 2024-01-07 a Sunday, 2024-01-08 a Monday
    sat, sun, mon = (cohort.to_days(d) for d in ("2024-01-06", "2024-01-07", "2024-01-08"))
    assert treatment._weekday(np.array([sat, sun, mon]), sunday_only=False).tolist() == [mon, mon, mon]
    assert treatment._weekday(np.array([sat, sun]), sunday_only=True).tolist() == [sat, mon]


def test_regimen_choice_follows_biomarkers_and_era():
    rng = np.random.default_rng(0)
    n = 4000
    year = np.where(np.arange(n) < n // 2, 2015, 2022)
    egfr = np.full(n, 1, np.int8)
    none = np.zeros(n, np.int8)
    z = np.zeros(n, bool)
    args = dict(hist=np.zeros(n, np.int8), g12c=z, pdl1=np.full(n, 2, np.int8), age=np.full(n, 60.0))
    args |= dict(prev=np.full(n, -1, np.int16), io_seen=z, plat_seen=z, pem_seen=z, tki_seen=z)
    from lotluca.simulate import regimens as R

    keys = np.array([r.key for r in R.REGIMENS])
    r_egfr = keys[treatment.choose_regimen(rng, 1, treatment.Candidates(year, driver=egfr, **args), 0.5)]
    assert set(r_egfr[year == 2015]) <= {"gefitinib", "erlotinib", "afatinib"}
    assert (r_egfr[year == 2022] == "osimertinib").mean() > 0.8
    r_none = keys[treatment.choose_regimen(rng, 1, treatment.Candidates(year, driver=none, **args), 0.5)]
    assert not np.isin(
        r_none[year == 2015], ["pembro", "carbo_pem_pembro", "cis_pem_pembro"]
    ).any()  # no IO before 2017
    assert (r_none[year == 2022] == "pembro").mean() > 0.35  # PD-L1 >= 50%: pembrolizumab alone often


# probabilities only: the *_scale knobs are factors (> 0), not probabilities
_trap_probs = [f.name for f in dataclasses.fields(Traps) if f.type == "float" and not f.name.endswith("_scale")]
_noise_probs = [f.name for f in dataclasses.fields(Noise) if f.type == "float" and f.name != "other_care"]


@pytest.mark.filterwarnings("ignore")
def test_property_any_seed_and_knobs_give_a_consistent_cohort():
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    @settings(max_examples=6, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
    @given(
        seed=st.integers(0, 2**31),
        traps=st.fixed_dictionaries({k: st.floats(0, 1) for k in _trap_probs}),
        noise=st.fixed_dictionaries({k: st.floats(0, 1) for k in _noise_probs}),
    )
    def check(seed, traps, noise):
        r = simulate(sim_settings(patients=40, traps=traps, noise=noise, abstraction={"error_rate": 0.0}), seed)
        g = _pd(r["gold"])
        t = _pd(r["clinical_truth"])
        main = g[~g["is_maintenance"]].sort_values(["person_id", "line_number"])
        for _, grp in main.groupby("person_id"):
            assert list(grp["line_number"]) == list(range(1, len(grp) + 1))
            assert (grp["start_date"].to_numpy()[1:] > grp["end_date"].to_numpy()[:-1]).all()
        seen = t[t["observed_odh"] | t["snds_table"].notna()]
        backed = set(zip(seen["odh_patient_id"], seen["line_number"], strict=True))
        assert all((p, n) in backed for p, n in zip(main["person_id"], main["line_number"], strict=True))
        prs = _pd(r["snds"]["ER_PRS_F"])
        assert not prs.duplicated(DCIR_KEYS).any()
        b = _pd(r["snds"]["T_MCOaaB"])
        assert not b.duplicated(["ETA_NUM", "RSA_NUM"]).any()
        for name, table in r["snds"].items():
            assert table.schema.equals(snds_schema.arrow_schema(name)), name

    check()
