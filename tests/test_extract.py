"""Extraction (issue 3): each SNDS / ODH cleaning rule on hand-made raw rows (tests/data/extract_raw.py).

Every expectation is computed by hand from the fixture rows; each rule test fails when the rule is
removed (the dropped row would reach the outputs, or the accounting would not show the rule).
"""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).parent / "data"))
import extract_raw as R  # noqa: E402

from lotluca import contracts  # noqa: E402
from lotluca.config import default_config  # noqa: E402
from lotluca.errors import InputError  # noqa: E402
from lotluca.extract import accounting, odh, pipeline, snds  # noqa: E402
from lotluca.extract.common import ExtractSettings  # noqa: E402

D = dt.date
CONFIG = default_config()
SETTINGS = ExtractSettings.for_study(CONFIG["study"], CONFIG["extract"])


def run_snds(tmp_path, rows=None, fmt="parquet", **kw):
    folder = tmp_path / f"snds_{fmt}"
    R.write_tables(R.snds_tables(rows), folder, fmt, **kw)
    return snds.extract_snds(pipeline.find_tables(folder, pipeline.SNDS_TABLES), SETTINGS)


def run_odh(tmp_path, rows=None, fmt="parquet", **kw):
    folder = tmp_path / f"odh_{fmt}"
    R.write_tables(R.odh_tables(rows), folder, fmt, **kw)
    return odh.extract_odh(pipeline.find_tables(folder, pipeline.ODH_TABLES), SETTINGS)


@pytest.fixture(scope="module")
def snds_out(tmp_path_factory):
    return run_snds(tmp_path_factory.mktemp("snds"))


@pytest.fixture(scope="module")
def odh_out(tmp_path_factory):
    return run_odh(tmp_path_factory.mktemp("odh"))


def counts(result, table, outcome):
    acc = result.accounting
    sel = acc[(acc["table"] == table) & (acc["outcome"] == outcome)]
    return dict(zip(sel["rule"], sel["rows"], strict=True))


def expo(result) -> set[tuple]:
    df = result.exposures.to_pandas()
    return set(zip(df["person_id"], df["date"], df["end_date"], df["ingredient"], df["source"], strict=True))


# --- SNDS --------------------------------------------------------------------------------------------
def test_snds_exposures_hand_computed(snds_out):
    assert expo(snds_out) == {
        ("P1", D(2020, 1, 10), D(2020, 2, 8), "osimertinib", "snds_pharmacy"),  # 1 box x 30 days
        ("P1", D(2020, 2, 9), D(2020, 4, 8), "osimertinib", "snds_pharmacy"),  # 2 boxes, second NIR
        ("P2", D(2020, 5, 5), D(2020, 5, 5), "pembrolizumab", "snds_en_sus"),
        ("P2", D(2020, 5, 26), D(2020, 5, 26), "pembrolizumab", "snds_retrocession"),
        ("P2", D(2020, 5, 12), D(2020, 5, 12), "pemetrexed", "snds_en_sus"),  # T_MCOaaMED, DELAI 0
        ("P2", D(2020, 5, 12), D(2020, 5, 12), "pembrolizumab", "snds_en_sus"),
        ("P3", D(2020, 3, 2), D(2020, 3, 2), "nivolumab", "snds_en_sus"),  # T_MCOaaFH
    }
    e = snds_out.exposures.to_pandas()
    assert e.loc[e["ingredient"] == "osimertinib", "atc"].eq("L01EB04").all()
    assert snds_out.exposures.schema.equals(contracts.EXPOSURES)


def test_rule_dpn_qlf_71(snds_out):
    assert not any(d in (D(2020, 5, 10), D(2020, 5, 11)) for _, d, *_ in expo(snds_out))
    assert counts(snds_out, "ER_PRS_F", "filtered")["dpn_qlf_71"] == 2  # DPN_QLF and PRS_DPN_QLP
    assert counts(snds_out, "ER_PHA_F", "filtered")["dpn_qlf_71"] == 2


def test_rule_ete_ind_taa(snds_out):
    assert not [x for x in expo(snds_out) if x[3] == "nivolumab" and x[0] == "P2"]
    assert counts(snds_out, "ER_PRS_F", "filtered")["ete_ind_taa_1"] == 1
    assert counts(snds_out, "ER_UCD_F", "filtered")["ete_ind_taa_1"] == 1


def test_rule_pharmacy_reversal(snds_out):
    assert not [x for x in expo(snds_out) if x[1] == D(2020, 4, 10)]
    assert counts(snds_out, "ER_PHA_F", "filtered")["pharmacy_reversal"] == 2


def test_rule_reversal_keeps_the_net_boxes(tmp_path):
    rows = R.snds_rows()
    # a third row on 2020-04-10: +1 +1 -1 nets to one box, the earliest row is the dispensation
    rows["ER_PRS_F"].append({**R._keys(13), "BEN_NIR_PSA": "A1", "BEN_RNG_GEM": 1, "EXE_SOI_DTD": D(2020, 4, 10)})
    rows["ER_PHA_F"].append(
        {**R._keys(13), "PHA_PRS_C13": int(R.code("osimertinib", "CIP13")), "PHA_ACT_QSN": 1, "PHA_ORD_NUM": 1}
    )
    out = run_snds(tmp_path, rows)
    e = out.exposures.to_pandas()
    hit = e[e["date"] == D(2020, 4, 10)]
    assert len(hit) == 1 and hit["end_date"].iloc[0] == D(2020, 5, 9)
    assert hit["origin"].iloc[0].startswith("ER_PHA_F:3/")  # DCT_ORD_NUM 3: the first row
    assert counts(out, "ER_PHA_F", "filtered")["pharmacy_reversal"] == 2


def test_rule_persons_through_ben_idt_ano(snds_out):
    persons = snds_out.persons.to_pandas().set_index("person_id")
    assert list(persons.index) == ["P1", "P2", "P3"]  # 4 BEN_NIR_PSA rows, 3 persons
    e = snds_out.exposures.to_pandas()
    assert set(e.loc[e["ingredient"] == "osimertinib", "person_id"]) == {"P1"}
    stays = snds_out.stays.to_pandas()
    assert stays.loc[stays["origin"] == "T_MCOaaB:10000024/4", "person_id"].tolist() == ["P1"]  # NIR_ANO_17 = A2


def test_persons_attributes_and_deaths(snds_out):
    p = snds_out.persons.to_pandas().set_index("person_id")
    assert p.loc["P1", ["sex", "birth_year", "birth_month", "residence_dpt"]].tolist() == ["M", 1955, 3, "75"]
    assert p.loc["P2", "residence_dpt"] == "2A" and p.loc["P3", "residence_dpt"] == "971"
    assert p.loc["P2", "death_date"] == D(2021, 6, 30)  # IR_BEN_R
    assert p.loc["P3", "death_date"] == D(2020, 9, 1)  # KI_CCI_R (CépiDc)
    assert pd.isna(p.loc["P1", "death_date"])
    assert p["end_of_followup"].tolist() == [D(2025, 12, 31), D(2021, 6, 30), D(2020, 9, 1)]


def test_rule_return_codes_and_ghm_90(snds_out):
    stays = snds_out.stays.to_pandas()
    assert sorted(stays["origin"]) == ["T_MCOaaB:10000024/4", "T_MCOaaB:750000001/1", "T_MCOaaB:920000001/5"]
    assert counts(snds_out, "T_MCOaaC", "filtered") == {"ghm_90_error": 1, "return_code_not_0": 1}
    # the en-sus drug of the stay with a bad return code is dropped with it
    assert counts(snds_out, "T_MCOaaMED", "filtered") == {"return_code_not_0": 1}
    assert stays.loc[stays["origin"] == "T_MCOaaB:10000024/4", "hospital"].item() == "010000024"


def test_rule_chemo_sessions_28z07z(snds_out):
    s = snds_out.chemo_sessions.to_pandas()
    assert list(zip(s["person_id"], s["date"], s["hospital"], strict=True)) == [
        ("P2", D(2020, 5, 12), "750000001"),
        ("P3", D(2020, 3, 2), "920000001"),
    ]


def test_rule_med_date_is_admission_plus_delai(tmp_path):
    rows = R.snds_rows()
    rows["T_MCOaaMED"][0]["DELAI"] = 3
    e = run_snds(tmp_path, rows).exposures.to_pandas()
    assert e.loc[e["ingredient"] == "pemetrexed", "date"].tolist() == [D(2020, 5, 15)]


def test_rule_ucd_top_ucd_source(tmp_path):
    rows = R.snds_rows()
    rows["ER_UCD_F"][0]["UCD_TOP_UCD"] = 7
    out = run_snds(tmp_path, rows)
    assert counts(out, "ER_UCD_F", "rejected") == {"invalid_top_ucd": 1}


def test_unknown_codes_counted_and_quarantined(snds_out):
    rej = snds_out.rejects.to_pandas()
    assert set(rej["rule"]) >= {
        "unknown_drug_code",
        "invalid_drug_code",
        "orphan_row",
        "parent_rejected",
        "unknown_beneficiary",
    }
    uc = snds_out.unknown_codes
    assert dict(zip(uc["code"], uc["rows"], strict=True)) == {"3400900000001": 1, "RANDOM": 1}


def test_snds_accounting_balances(snds_out):
    bal = accounting.balance(snds_out.accounting)
    assert bal["balanced"].all()
    assert dict(zip(bal["table"], bal["read"], strict=True))["ER_PHA_F"] == 9
    used = dict(zip(bal["table"], bal["used"], strict=True))
    # every used pharmacy / UCD / MED / FH row is one exposure here (no merged reversal groups)
    assert used["ER_PHA_F"] + used["ER_UCD_F"] + used["T_MCOaaMED"] + used["T_MCOaaFH"] == snds_out.exposures.num_rows
    assert snds_out.rejects.num_rows == int(bal["rejected"].sum())


@pytest.mark.parametrize(
    ("fmt", "kw"), [("csv", {"sep": ";", "encoding": "cp1252"}), ("csv", {"sep": ",", "encoding": "utf-8"})]
)
def test_csv_extracts_give_the_parquet_result(tmp_path, snds_out, fmt, kw):
    out = run_snds(tmp_path, fmt=fmt, **kw)
    for t in ("persons", "exposures", "chemo_sessions", "stays", "rejects"):
        assert getattr(out, t).equals(getattr(snds_out, t)), t


def test_csv_dates_in_documented_formats(tmp_path):
    folder = tmp_path / "csv"
    paths = R.write_tables(R.snds_tables(), folder, "csv")
    head = paths["T_MCOaaC"].read_text().splitlines()
    cols = head[0].split(",")
    first = dict(zip(cols, head[1].split(","), strict=True))
    assert first["EXE_SOI_DTD"] == "12MAY2020:00:00:00"  # %d%b%Y:%H:%M:%S as in PMSI link tables


# --- ODH ---------------------------------------------------------------------------------------------
def test_odh_persons(odh_out):
    p = odh_out.persons.to_pandas().set_index("person_id")
    assert p["histology"].tolist() == ["non_squamous", "squamous", "nos"]
    assert p["egfr"].tolist() == ["mutated", "unknown", "wild_type"]
    assert p["alk"].tolist() == ["wild_type", "unknown", "mutated"]
    assert p["pdl1"].tolist() == ["1-49%", ">=50%", "unknown"]
    assert p["residence_dpt"].tolist() == ["75", "2A", "971"]
    assert p.loc["O2", "end_of_followup"] == D(2021, 6, 30) and p.loc["O1", "end_of_followup"] == D(2025, 12, 31)
    assert p["centre"].eq("750000001").all()


def test_odh_exposures(odh_out):
    e = odh_out.exposures.to_pandas()
    got = set(zip(e["person_id"], e["date"], e["end_date"], e["ingredient"], e["route"], e["source"], strict=True))
    assert got == {
        ("O1", D(2020, 1, 20), D(2020, 2, 18), "osimertinib", "oral", "odh_prescription"),
        ("O2", D(2020, 5, 12), D(2020, 5, 12), "carboplatin", "iv", "odh_admin"),
        ("O2", D(2020, 5, 12), D(2020, 5, 12), "pembrolizumab", "iv", "odh_admin"),
        ("O2", D(2020, 5, 12), D(2020, 5, 12), "trial_drug", "iv", "odh_admin"),
        ("O3", D(2020, 2, 1), D(2020, 2, 1), "vinorelbine", "oral", "odh_admin"),  # NAVELBINE given PO
    }
    carbo = e[e["ingredient"] == "carboplatin"].iloc[0]
    assert carbo["cycle_number"] == 1 and carbo["protocol_label"].startswith("CARBOPLATINE-PACLITAXEL")
    assert carbo["origin"] == "odh_administrations:A1"
    assert e.loc[e["ingredient"] == "trial_drug", "drug_class"].item() == "trial"


def test_odh_rejects_and_accounting(odh_out):
    assert counts(odh_out, "odh_administrations", "rejected") == {
        "unknown_patient": 1,
        "unknown_drug_label": 1,
        "date_out_of_study_period": 1,
    }
    assert accounting.balance(odh_out.accounting)["balanced"].all()
    assert dict(zip(odh_out.unknown_codes["code"], odh_out.unknown_codes["rows"], strict=True)) == {"PARACETAMOL 1G": 1}


@pytest.mark.parametrize(
    ("text", "expected"),
    [("Adénocarcinome", "non_squamous"), ("Carcinome épidermoïde", "squamous"), ("carcinome non épidermoïde", "non_squamous"),
     ("CBNPC sans autre précision", "nos"), (None, "nos"), ("Squamous cell carcinoma", "squamous"), ("Carcinome à grandes cellules", "non_squamous")],
)  # fmt: skip
def test_histology_class(text, expected):
    assert odh.histology_class(text) == expected


# --- command line ----------------------------------------------------------------------------------
@pytest.fixture
def main(monkeypatch):
    """`lotluca` with only the extract sub-command registered (other stages may be work in progress)."""
    from lotluca import cli

    monkeypatch.setattr(cli, "STAGE_MODULES", ["lotluca.extract.cli"])
    return cli.main


def test_cli_extract_prints_accounting(tmp_path, capsys, main):
    R.write_tables(R.snds_tables(), tmp_path / "in_snds", "csv", sep=";")
    R.write_tables(R.odh_tables(), tmp_path / "in_odh")
    assert (
        main(
            [
                "extract",
                "--snds",
                str(tmp_path / "in_snds"),
                "--odh",
                str(tmp_path / "in_odh"),
                "--out",
                str(tmp_path / "out"),
            ]
        )
        == 0
    )
    printed = capsys.readouterr().out
    assert "dpn_qlf_71" in printed and "odh_administrations" in printed
    for name in ("persons", "exposures", "chemo_sessions", "stays", "rejects"):
        assert (tmp_path / "out" / "snds" / f"{name}.parquet").is_file()
    acc = pd.read_csv(tmp_path / "out" / "odh" / "accounting.csv")
    assert accounting.balance(acc)["balanced"].all()


def test_cli_exits_2_with_clear_error(tmp_path, capsys, main):
    paths = R.write_tables(R.snds_tables(), tmp_path / "in", "csv")
    df = pd.read_csv(paths["ER_PHA_F"]).drop(columns=["PHA_ACT_QSN"])
    df.to_csv(paths["ER_PHA_F"], index=False)
    assert main(["extract", "--snds", str(tmp_path / "in"), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "ER_PHA_F.csv" in err and "PHA_ACT_QSN" in err and "Traceback" not in err


# --- SAS ---------------------------------------------------------------------------------------------
# Python has no .sas7bdat writer: SAS input is tested with SAS transport (.xpt) files written by
# tests/data/xport_writer.py and read by the same `pandas.read_sas` path. XPORT v5 limits names to 8
# characters, so only tables whose needed columns fit (T_MCOaaB) go through the whole extraction.
def test_sas_xpt_table_gives_the_parquet_result(tmp_path, snds_out):
    from xport_writer import write_xpt

    folder = tmp_path / "mixed"
    paths = R.write_tables(R.snds_tables(), folder)
    b = pd.read_parquet(paths.pop("T_MCOaaB"))[["ETA_NUM", "RSA_NUM", "GRG_GHM", "DGN_PAL"]]
    (folder / "T_MCOaaB.parquet").unlink()
    write_xpt(b, folder / "T_MCOaaB.xpt", name="T_MCOB")
    out = snds.extract_snds(pipeline.find_tables(folder, pipeline.SNDS_TABLES), SETTINGS)
    for t in ("exposures", "chemo_sessions", "stays", "rejects"):
        assert getattr(out, t).equals(getattr(snds_out, t)), t


def test_sas_numeric_dates_and_text(tmp_path):
    from xport_writer import write_xpt

    from lotluca import snds_schema
    from lotluca.extract import readers

    df = pd.DataFrame(
        {
            "ETA_NUM": [750000001, 10000024],
            "RSA_NUM": [1, 2],
            "ENT_DAT": [D(2020, 5, 12), None],
            "DAT_RET": ["0", "1"],
            "NAI_RET": ["0", "Zé"],
        }
    )
    write_xpt(df, tmp_path / "T_MCOaaC.xpt")
    raw = readers.read_table(
        tmp_path / "T_MCOaaC.xpt",
        "T_MCOaaC",
        snds_schema.arrow_schema("T_MCOaaC"),
        ["ETA_NUM", "RSA_NUM", "ENT_DAT", "DAT_RET", "NAI_RET"],
        SETTINGS.read,
        column_formats=snds_schema.column_formats("T_MCOaaC"),
    )
    assert raw.data["ETA_NUM"].tolist() == [750000001, 10000024]
    assert raw.data["ENT_DAT"].iloc[0] == pd.Timestamp("2020-05-12") and pd.isna(raw.data["ENT_DAT"].iloc[1])
    assert raw.data["DAT_RET"].tolist() == ["0", "1"]
    assert raw.data["NAI_RET"].tolist() == ["0", "Zé"]  # latin-1 bytes decoded (utf-8 first, then cp1252)


def test_key_index_is_exact_under_hash_collisions(monkeypatch):
    from lotluca.extract.common import KeyIndex

    parent = pd.DataFrame({"a": pd.array([1, 2, 3, None], dtype="Int64"), "b": ["x", "y", "x", "x"], "_row": range(4)})
    child = pd.DataFrame({"a": pd.array([3, 1, 2, 9, None], dtype="Int64"), "b": ["x", "x", "x", "x", "x"]})
    expected = [2, 0, -1, -1, -1]  # (2, "x") and (9, "x") have no parent; null keys never match
    assert KeyIndex(parent, ["a", "b"]).lookup(child).tolist() == expected
    monkeypatch.setattr(KeyIndex, "_hash", staticmethod(lambda codes: np.zeros(len(codes), dtype=np.uint64)))
    assert KeyIndex(parent, ["a", "b"]).lookup(child).tolist() == expected  # every row collides
    with pytest.raises(InputError, match="2 rows share a key"):
        KeyIndex(
            pd.concat([parent, parent.iloc[[0]]], ignore_index=True).assign(_row=range(5)), ["a", "b"], "f.parquet", "T"
        )
