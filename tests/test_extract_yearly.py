"""Real-extract layout of the PMSI (issue 16): yearly tables (`T_MCO19B`, ...; RSA_NUM repeats across
years), ETA_NUM as text with a Corsican `2A` FINESS, and every CIP13 / UCD code renamed, all at once, give
exactly the same exposures, stays and chemotherapy sessions as the simulator's `T_MCOaa` tables."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from lotluca.errors import InputError
from lotluca.extract import pipeline, snds
from test_drugs_reference import rename_codes

KINDS = ("B", "C", "D", "MED", "MEDATU", "FH")
CORSICA = "2A0000013"


@pytest.fixture(scope="module")
def simulated(tmp_path_factory):
    from lotluca.simulate import simulate_to_files

    root = tmp_path_factory.mktemp("yearly")
    simulate_to_files({"patients": 120}, {}, 11, root / "sim", "parquet")
    acc = pipeline.run_snds(pipeline.find_tables(root / "sim" / "snds", pipeline.SNDS_TABLES), root / "out", {})
    return root, acc


def _split_years(src, dst) -> tuple[dict, dict]:
    """Write the PMSI tables of `src` as yearly files in `dst` (year of the stay's admission), RSA_NUM
    renumbered 1, 2, ... within each year (so numbers repeat across years), ETA_NUM as text with the
    busiest hospital moved to Corsica. Returns the new key of each old stay and the FINESS renaming."""
    c = pq.read_table(src / "T_MCOaaC.parquet").to_pandas()
    admission = pd.to_datetime(c["EXE_SOI_DTD"]).fillna(pd.to_datetime(c["ENT_DAT"]))
    stays = pd.DataFrame({"eta": c["ETA_NUM"].astype(str), "rsa": c["RSA_NUM"].astype(str)})
    stays["yy"] = admission.dt.strftime("%y").fillna("19").to_numpy()
    stays["new_rsa"] = stays.groupby("yy").cumcount() + 1
    busiest = stays["eta"].value_counts().index[0]
    finess = {e: (CORSICA if e == busiest else e.zfill(9)) for e in stays["eta"].unique()}
    key = {(e, r): (y, finess[e], str(n)) for e, r, y, n in stays[["eta", "rsa", "yy", "new_rsa"]].itertuples(False)}
    for kind in KINDS:
        t = pq.read_table(src / f"T_MCOaa{kind}.parquet")
        df = t.to_pandas()
        old = list(zip(df["ETA_NUM"].astype(str), df["RSA_NUM"].astype(str), strict=True))
        new = [key.get(k, ("19", finess.get(k[0], k[0]), k[1])) for k in old]
        years = np.array([n[0] for n in new])
        eta = pa.array([n[1] for n in new], pa.string())
        rsa = pa.array([int(n[2]) for n in new]).cast(t.schema.field("RSA_NUM").type)
        t = t.set_column(t.schema.get_field_index("RSA_NUM"), t.schema.field("RSA_NUM"), rsa)
        t = t.set_column(t.schema.get_field_index("ETA_NUM"), pa.field("ETA_NUM", pa.string()), eta)
        for yy in sorted(set(stays["yy"]) | {"19"}):
            pq.write_table(t.filter(pa.array(years == yy)), dst / f"T_MCO{yy}{kind}.parquet")
        (dst / f"T_MCOaa{kind}.parquet").unlink()
    key.update(_split_visits(dst, finess))
    return key, finess


def _split_visits(dst, finess: dict) -> dict:
    """The outpatient tables (T_MCOaaCSTC, T_MCOaaFHSTC) as yearly files (year of the visit), ETA_NUM
    renamed as the stays'; returns the new (year, ETA_NUM, SEQ_NUM) of each old ("visit", ETA_NUM, SEQ_NUM)."""
    v = pq.read_table(dst / "T_MCOaaCSTC.parquet").to_pandas()
    yy = pd.to_datetime(v["EXE_SOI_DTD"]).fillna(pd.to_datetime(v["ENT_DAT"])).dt.strftime("%y").fillna("19")
    year = dict(zip(zip(v["ETA_NUM"].astype(str), v["SEQ_NUM"].astype(str), strict=True), yy, strict=True))
    for kind in ("CSTC", "FHSTC"):
        t = pq.read_table(dst / f"T_MCOaa{kind}.parquet")
        df = t.to_pandas()
        years = np.array([year.get(k, "19") for k in zip(df["ETA_NUM"], df["SEQ_NUM"], strict=True)])
        eta = pa.array([finess.get(e, e) for e in df["ETA_NUM"]], pa.string())
        t = t.set_column(t.schema.get_field_index("ETA_NUM"), pa.field("ETA_NUM", pa.string()), eta)
        for y in sorted(set(years)):
            pq.write_table(t.filter(pa.array(years == y)), dst / f"T_MCO{y}{kind}.parquet")
        (dst / f"T_MCOaa{kind}.parquet").unlink()
    return {("visit", e, q): (y, finess.get(e, e), q) for (e, q), y in year.items()}


def _translated(origin: pd.Series, key: dict) -> pd.Series:
    """Origins of the T_MCOaa tables in the yearly layout's words (table of the year, new ETA/RSA)."""

    def one(o):
        table, rest = o.split(":", 1)
        if not table.startswith("T_MCOaa"):
            return o
        eta, rsa, *line = rest.split("/")
        yy, new_eta, new_rsa = key[("visit", eta, rsa) if table == "T_MCOaaFHSTC" else (eta, rsa)]
        return f"T_MCO{yy}{table[len('T_MCOaa') :]}:" + "/".join([new_eta, new_rsa, *line])

    return origin.map(one)


def _frame(path) -> pd.DataFrame:
    df = pq.read_table(path).to_pandas()
    return df.sort_values(list(df.columns), ignore_index=True)


def test_yearly_tables_text_finess_and_renamed_codes_give_the_same_extraction(simulated, tmp_path):
    root, acc0 = simulated
    src, dst = root / "sim" / "snds", tmp_path / "snds"
    shutil.copytree(src, dst)
    rename_codes(src, dst)
    key, finess = _split_years(dst, dst)
    years = {n[0] for n in key.values()}
    assert len(years) > 2
    rsa = pd.Series([(n[1], n[2]) for n in key.values()])
    assert rsa.duplicated().any()  # ETA_NUM + RSA_NUM repeats across years: the year is part of the key
    paths = pipeline.find_tables(dst, pipeline.SNDS_TABLES)
    assert {"T_MCOaaB", "T_MCOaaC"}.isdisjoint(paths) and f"T_MCO{min(years)}MED" in paths
    acc = pipeline.run_snds(paths, tmp_path / "out", {})
    back = {v: k.zfill(9) for k, v in finess.items()}
    for name in ("exposures", "stays", "chemo_sessions"):
        want = _frame(root / "out" / f"{name}.parquet")
        got = pq.read_table(tmp_path / "out" / f"{name}.parquet").to_pandas()
        assert (got["hospital"] == CORSICA).any(), name
        got["hospital"] = got["hospital"].map(lambda h: back.get(h, h))
        want["origin"] = _translated(want["origin"], key)
        got = got.sort_values(list(got.columns), ignore_index=True)
        want = want.sort_values(list(want.columns), ignore_index=True)
        pd.testing.assert_frame_equal(got, want, obj=name)
    # every row is accounted for as before, per table summed over the years
    acc["table"] = acc["table"].map(snds.generic)
    per_table = acc.groupby(["table", "outcome", "rule"], dropna=False)["rows"].sum().sort_index()
    before = acc0.groupby(["table", "outcome", "rule"], dropna=False)["rows"].sum().sort_index()
    pd.testing.assert_series_equal(per_table, before)


def test_pmsi_table_names():
    assert snds.pmsi_table("t_mco19med") == ("19", "MED")
    assert snds.pmsi_table("T_MCOaaFH") == ("aa", "FH")
    assert snds.pmsi_table("T_MCO19MEDX") is None and snds.pmsi_table("IR_BEN_R") is None
    assert snds.table_name("T_MCO21C", pipeline.SNDS_TABLES) == "T_MCO21C"
    assert snds.table_name("t_mcoaab", pipeline.SNDS_TABLES) == "T_MCOaaB"
    assert snds.generic("T_MCO21MED") == "T_MCOaaMED"
    assert snds.missing_tables({"IR_BEN_R": 1, "ER_PRS_F": 1, "ER_PHA_F": 1, "T_MCO19B": 1, "T_MCO19C": 1}) == [
        "T_MCO19MED"
    ]


def test_a_year_without_its_c_table_is_a_structural_error(simulated, tmp_path):
    root, _ = simulated
    dst = tmp_path / "snds"
    shutil.copytree(root / "sim" / "snds", dst)
    for kind in KINDS:
        shutil.copy(dst / f"T_MCOaa{kind}.parquet", dst / f"T_MCO20{kind}.parquet")
    (dst / "T_MCO20C.parquet").unlink()
    with pytest.raises(InputError, match="T_MCO20C"):
        pipeline.run_snds(pipeline.find_tables(dst, pipeline.SNDS_TABLES), tmp_path / "out", {})


def test_yearly_tables_split_into_shards_give_the_whole_extraction(simulated, tmp_path):
    """The split routes the yearly PMSI tables by their stay of the year: 3 shards gathered = the whole."""
    from test_extract_shards import _sharded, _whole

    root, _ = simulated
    dst = tmp_path / "sim" / "snds"
    shutil.copytree(root / "sim" / "snds", dst)
    _split_years(dst, dst)
    whole, got = _whole(tmp_path, "snds"), _sharded(tmp_path, "snds", 3)
    for name, f in pipeline.output_files(got).items():
        assert f.read_bytes() == (whole / f.name).read_bytes(), f"{name} differs with 3 shards"
    assert (pd.read_parquet(whole / "stays.parquet")["hospital"] == CORSICA).any()


def test_early_access_drugs_of_t_mcoaamedatu_are_read_as_en_sus(simulated, tmp_path):
    """Lines moved from T_MCOaaMED to T_MCOaaMEDATU (early access, delay DAT_DELAI; real HDH schema) give
    the same exposures, named after their new table."""
    from lotluca import snds_schema

    root, acc0 = simulated
    dst = tmp_path / "snds"
    shutil.copytree(root / "sim" / "snds", dst)
    med = pq.read_table(dst / "T_MCOaaMED.parquet")
    moved = np.arange(med.num_rows) % 7 == 0
    atu = med.filter(pa.array(moved))
    cols = {c: atu.column(c).to_pylist() for c in ("ETA_NUM", "RSA_NUM", "UCD_UCD_COD", "UCD_COD", "ADM_NBR")}
    cols["DAT_DELAI"] = atu.column("DELAI").to_pylist()
    atu = pa.concat_tables(
        [pq.read_table(dst / "T_MCOaaMEDATU.parquet"), snds_schema.build_table("T_MCOaaMEDATU", cols, atu.num_rows)]
    )  # the simulator's own early-access lines, then the moved ones
    pq.write_table(atu, dst / "T_MCOaaMEDATU.parquet")
    pq.write_table(med.filter(pa.array(~moved)), dst / "T_MCOaaMED.parquet")
    paths = pipeline.find_tables(dst, pipeline.SNDS_TABLES)
    assert "T_MCOaaMEDATU" in paths
    acc = pipeline.run_snds(paths, tmp_path / "out", {})
    got = pq.read_table(tmp_path / "out" / "exposures.parquet").to_pandas()
    want = pq.read_table(root / "out" / "exposures.parquet").to_pandas()
    assert got["origin"].str.startswith("T_MCOaaMEDATU:").sum() > 0
    cols = [c for c in want.columns if c != "origin"]
    pd.testing.assert_frame_equal(
        got[cols].sort_values(cols, ignore_index=True), want[cols].sort_values(cols, ignore_index=True)
    )
    both = {"T_MCOaaMEDATU": "T_MCOaaMED"}
    per_table = acc.replace({"table": both}).groupby(["table", "outcome", "rule"], dropna=False)["rows"].sum()
    before = acc0.replace({"table": both}).groupby(["table", "outcome", "rule"], dropna=False)["rows"].sum()
    pd.testing.assert_series_equal(per_table.sort_index(), before.sort_index())


def test_workflow_lists_a_real_extract_by_its_files(tmp_path):
    from lotluca.extract import tables

    folder = tmp_path / "snds"
    folder.mkdir()
    for name in ("IR_BEN_R", "er_prs_f", "T_MCO19B", "T_MCO19C", "T_MCO19MED", "T_MCO20B", "T_MCO20MEDATU", "notes"):
        (folder / f"{name}.csv").touch()
    (folder / "ER_PHA_F.parquet").touch()  # not the extract's format
    got = [Path(f).name for f in tables.table_files(folder, "snds", ["IR_BEN_R", "ER_PRS_F", "ER_PHA_F"], "csv")]
    assert got[:7] == sorted(
        ["IR_BEN_R.csv", "er_prs_f.csv", "T_MCO19B.csv", "T_MCO19C.csv", "T_MCO19MED.csv"]
        + ["T_MCO20B.csv", "T_MCO20MEDATU.csv"]
    )
    assert got[7:] == ["ER_PHA_F.csv", "T_MCO20C.csv", "T_MCO20MED.csv"]  # required, reported by name


def _append(path, rows: pa.Table) -> None:
    """Add rows to a simulated table (same schema)."""
    pq.write_table(pa.concat_tables([pq.read_table(path), rows.cast(pq.read_schema(path))]), path)


def _outpatient(dst, kept: set[str]) -> int:
    """Move every third T_MCOaaFH line of a stay in `kept` (ETA_NUM/RSA_NUM) to an outpatient visit: a
    T_MCOaaCSTC row (the stay's ETA_NUM, NIR_ANO_17 and admission date, return codes 0) and its
    T_MCOaaFHSTC line; plus a visit without drug line and one of an unknown NIR_ANO_17. Returns the
    number of lines moved."""
    from lotluca import snds_schema

    c = pq.read_table(dst / "T_MCOaaC.parquet").to_pandas()
    fh = pq.read_table(dst / "T_MCOaaFH.parquet")
    df = fh.to_pandas()
    stay = df["ETA_NUM"].astype(str).str.zfill(9) + "/" + df["RSA_NUM"].astype(str)
    moved = (np.arange(len(df)) % 3 == 0) & stay.isin(kept)  # lines of stays the extraction keeps
    lines = df[moved].reset_index(drop=True)
    stay = c.assign(k=c["ETA_NUM"].astype(str) + "/" + c["RSA_NUM"].astype(str)).drop_duplicates("k").set_index("k")
    of = stay.loc[lines["ETA_NUM"].astype(str) + "/" + lines["RSA_NUM"].astype(str)].reset_index(drop=True)
    seq = [str(5_000_000 + i) for i in range(len(lines))]  # beyond the simulated visits' numbers
    n = len(lines) + 2
    eta = lines["ETA_NUM"].astype(str).tolist() + [lines["ETA_NUM"].iloc[0]] * 2
    visits = {
        "ETA_NUM": eta,
        "SEQ_NUM": seq + ["5999998", "5999999"],
        "NIR_ANO_17": of["NIR_ANO_17"].tolist() + [of["NIR_ANO_17"].iloc[0], "UNKNOWNNIR000000X"],
        "EXE_SOI_DTD": [d.date() for d in pd.to_datetime(of["EXE_SOI_DTD"])] + [pd.Timestamp("2020-01-02").date()] * 2,
        **{r: [False] * n for r in ("NIR_RET", "NAI_RET", "SEX_RET", "IAS_RET", "ENT_DAT_RET")},
    }
    _append(dst / "T_MCOaaCSTC.parquet", snds_schema.build_table("T_MCOaaCSTC", visits, n))
    drug = {
        "ETA_NUM": lines["ETA_NUM"].astype(str).tolist(),
        "SEQ_NUM": seq,
        "UCD_UCD_COD": lines["UCD_UCD_COD"].tolist(),
        "QUA": lines["QUA_COD"].tolist(),
        "DEL_DAT_ENT": lines["DEL_DAT_ENT"].tolist(),
    }
    _append(dst / "T_MCOaaFHSTC.parquet", snds_schema.build_table("T_MCOaaFHSTC", drug, len(lines)))
    pq.write_table(fh.filter(pa.array(~moved.to_numpy())), dst / "T_MCOaaFH.parquet")
    return len(lines)


def test_outpatient_en_sus_drugs_of_t_mcoaafhstc_are_read_with_their_visit(simulated, tmp_path):
    root, acc0 = simulated
    dst = tmp_path / "sim" / "snds"
    shutil.copytree(root / "sim" / "snds", dst)
    stays = pd.read_parquet(root / "out" / "stays.parquet")["origin"]
    n = _outpatient(dst, set(stays.str.split(":", n=1).str[1]))
    assert n > 0
    acc = pipeline.run_snds(pipeline.find_tables(dst, pipeline.SNDS_TABLES), tmp_path / "out", {})
    got = pq.read_table(tmp_path / "out" / "exposures.parquet").to_pandas()
    want = pq.read_table(root / "out" / "exposures.parquet").to_pandas()
    before = acc0.set_index(["table", "outcome", "rule"])["rows"]
    assert got["origin"].str.startswith("T_MCOaaFHSTC:").sum() == n + before.get(("T_MCOaaFHSTC", "used", ""), 0)
    cols = [c for c in want.columns if c != "origin"]
    pd.testing.assert_frame_equal(
        got[cols].sort_values(cols, ignore_index=True), want[cols].sort_values(cols, ignore_index=True)
    )
    rows = acc.set_index(["table", "outcome", "rule"])["rows"]
    for k, added in ((("T_MCOaaFHSTC", "used", ""), n), (("T_MCOaaCSTC", "used", ""), n)):
        assert rows[k] == added + before.get(k, 0), k
    for k in (("T_MCOaaCSTC", "filtered", "no_drug_line"), ("T_MCOaaCSTC", "rejected", "unknown_beneficiary")):
        assert rows[k] == 1 + before.get(k, 0), k
    # the split routes visits by person and their drug lines by visit: 3 shards gathered = the whole
    from test_extract_shards import _sharded, _whole

    whole, sharded = _whole(tmp_path, "snds"), _sharded(tmp_path, "snds", 3)
    for name, f in pipeline.output_files(sharded).items():
        assert f.read_bytes() == (whole / f.name).read_bytes(), f"{name} differs with 3 shards"
