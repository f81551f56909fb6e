"""Extraction (issue 3): a catalogue of corrupted inputs, each giving the clear error or the quarantine it should.

Structural faults raise InputError naming the file, the column and the rows; values the schema allows
but the study cannot use are quarantined in rejects with a named rule, and the accounting still
balances (rows read = used + filtered + rejected, per table).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import sys
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

sys.path.insert(0, str(Path(__file__).parent / "data"))
import extract_raw as R  # noqa: E402

from lotluca.config import default_config  # noqa: E402
from lotluca.errors import InputError  # noqa: E402
from lotluca.extract import accounting, odh, pipeline, snds  # noqa: E402
from lotluca.extract.common import ExtractSettings  # noqa: E402

D = dt.date
CONFIG = default_config()
SETTINGS = ExtractSettings.for_study(CONFIG["study"], CONFIG["extract"])


def extract(folder: Path, settings=SETTINGS, source="snds"):
    if source == "snds":
        return snds.extract_snds(pipeline.find_tables(folder, pipeline.SNDS_TABLES), settings)
    return odh.extract_odh(pipeline.find_tables(folder, pipeline.ODH_TABLES), settings)


def rejected(result, table) -> dict:
    acc = result.accounting
    sel = acc[(acc["table"] == table) & (acc["outcome"] == "rejected")]
    return dict(zip(sel["rule"], sel["rows"], strict=True))


def balanced(result) -> bool:
    return bool(accounting.balance(result.accounting)["balanced"].all()) and result.rejects.num_rows == int(
        accounting.balance(result.accounting)["rejected"].sum()
    )


def rewrite_csv(path: Path, edit) -> None:
    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    edit(df)
    df.to_csv(path, index=False)


# --- structural errors ----------------------------------------------------------------------------
def test_missing_column(tmp_path):
    paths = R.write_tables(R.snds_tables(), tmp_path, "csv")
    rewrite_csv(paths["ER_PHA_F"], lambda df: df.drop(columns=["PHA_PRS_C13"], inplace=True))
    with pytest.raises(InputError, match=r"ER_PHA_F\.csv: table ER_PHA_F: missing columns \['PHA_PRS_C13'\]"):
        extract(tmp_path)


def test_missing_table(tmp_path):
    paths = R.write_tables(R.snds_tables(), tmp_path)
    paths["T_MCOaaC"].unlink()
    with pytest.raises(InputError, match=r"SNDS tables missing: \['T_MCOaaC'\]"):
        extract(tmp_path)


def test_wrong_type_parquet_column(tmp_path):
    tables = R.snds_tables()
    prs = tables["ER_PRS_F"]
    i = prs.schema.get_field_index("EXE_SOI_DTD")
    tables["ER_PRS_F"] = prs.set_column(i, "EXE_SOI_DTD", pa.array(range(prs.num_rows), pa.int64()))
    R.write_tables(tables, tmp_path)
    with pytest.raises(
        InputError, match=r"ER_PRS_F\.parquet: table ER_PRS_F: column of the wrong type.*column 'EXE_SOI_DTD'"
    ):
        extract(tmp_path)


def test_unparseable_dates_column(tmp_path):
    paths = R.write_tables(R.snds_tables(), tmp_path, "csv")

    def edit(df):
        df["EXE_SOI_DTD"] = "2020/31/12"

    rewrite_csv(paths["T_MCOaaC"], edit)
    with pytest.raises(InputError) as err:
        extract(tmp_path)
    msg = str(err.value)
    assert "T_MCOaaC.csv" in msg and "'EXE_SOI_DTD'" in msg and "rows 1, 2, 3, 4, 5" in msg and "%d%b%Y:%H:%M:%S" in msg


def test_empty_core_table(tmp_path):
    rows = R.snds_rows()
    rows["IR_BEN_R"] = []
    R.write_tables(R.snds_tables(rows), tmp_path)
    with pytest.raises(InputError, match=r"IR_BEN_R\.parquet: table IR_BEN_R is empty"):
        extract(tmp_path)


def test_duplicate_beneficiary_key(tmp_path):
    rows = R.snds_rows()
    rows["IR_BEN_R"].append(dict(rows["IR_BEN_R"][0], BEN_IDT_ANO="P9"))
    R.write_tables(R.snds_tables(rows), tmp_path)
    with pytest.raises(InputError) as err:
        extract(tmp_path)
    assert (
        "IR_BEN_R" in str(err.value) and "BEN_NIR_PSA+BEN_RNG_GEM" in str(err.value) and "rows 1, 5" in str(err.value)
    )


def test_duplicate_dcir_keys(tmp_path):
    rows = R.snds_rows()
    rows["ER_PRS_F"].append(dict(rows["ER_PRS_F"][0]))
    R.write_tables(R.snds_tables(rows), tmp_path)
    with pytest.raises(InputError, match=r"ER_PRS_F.*share a key.*DCT_ORD_NUM\+FLX_DIS_DTD"):
        extract(tmp_path)


def test_duplicate_odh_ids(tmp_path):
    rows = R.odh_rows()
    rows["odh_administrations"].append(dict(rows["odh_administrations"][0]))
    R.write_tables(R.odh_tables(rows), tmp_path)
    with pytest.raises(InputError, match=r"odh_administrations.*share a key; column 'administration_id'; rows 1, 8"):
        extract(tmp_path, source="odh")


def test_not_a_parquet_file(tmp_path):
    paths = R.write_tables(R.snds_tables(), tmp_path)
    paths["ER_UCD_F"].write_bytes(b"this is not parquet")
    with pytest.raises(InputError, match=r"ER_UCD_F\.parquet: not a readable Parquet file"):
        extract(tmp_path)


def test_table_given_twice(tmp_path):
    R.write_tables(R.snds_tables(), tmp_path)
    R.write_tables({"IR_BEN_R": R.snds_tables()["IR_BEN_R"]}, tmp_path, "csv")
    with pytest.raises(InputError, match="table IR_BEN_R found twice"):
        extract(tmp_path)


# --- quarantined values ---------------------------------------------------------------------------
LENIENT = dataclasses.replace(SETTINGS, max_bad_value_fraction=0.5)


def test_isolated_unparseable_value_is_quarantined(tmp_path):
    paths = R.write_tables(R.snds_tables(), tmp_path, "csv")

    def edit(df):
        df.loc[0, "PHA_ACT_QSN"] = "1.5"  # not an integer
        df.loc[1, "PHA_PRS_C13"] = "34009ABC"  # random text in an integer code column

    rewrite_csv(paths["ER_PHA_F"], edit)
    out = extract(tmp_path, LENIENT)
    assert rejected(out, "ER_PHA_F")["unparseable_value"] == 2
    rej = out.rejects.to_pandas()
    assert "PHA_ACT_QSN='1.5'" in rej.loc[rej["row_key"] == "row 1", "detail"].item()
    assert balanced(out)
    assert len(out.exposures.to_pandas().query("ingredient == 'osimertinib'")) == 0  # both dispensations gone


def test_isolated_bad_date_is_quarantined(tmp_path):
    paths = R.write_tables(R.snds_tables(), tmp_path, "csv")
    rewrite_csv(
        paths["T_MCOaaC"],
        lambda df: df.__setitem__("EXE_SOI_DTD", df["EXE_SOI_DTD"].where(df.index != 0, "31FEB2020:00:00:00")),
    )
    rewrite_csv(paths["T_MCOaaC"], lambda df: df.__setitem__("ENT_DAT", df["ENT_DAT"].where(df.index != 0, "")))
    out = extract(tmp_path, LENIENT)
    assert rejected(out, "T_MCOaaC") == {"unparseable_value": 1}
    assert rejected(out, "T_MCOaaB") == {"orphan_row": 1}  # its stay has lost its link row
    assert balanced(out)


def test_dates_out_of_study_period(tmp_path):
    rows = R.snds_rows()
    rows["ER_PRS_F"][0]["EXE_SOI_DTD"] = D(1990, 1, 10)
    out = extract(R.write_tables(R.snds_tables(rows), tmp_path)["IR_BEN_R"].parent)
    assert rejected(out, "ER_PRS_F")["date_out_of_study_period"] == 1
    assert rejected(out, "ER_PHA_F")["parent_rejected"] == 2  # its line, and the unknown-beneficiary one
    assert D(1990, 1, 10) not in set(out.exposures.to_pandas()["date"])
    assert balanced(out)


def test_random_strings_in_code_columns(tmp_path):
    rows = R.snds_rows()
    rows["ER_UCD_F"][0]["UCD_UCD_COD"] = "xx#?"
    rows["T_MCOaaMED"][0]["UCD_UCD_COD"] = "0000000000042"  # all digits but unknown
    out = extract(R.write_tables(R.snds_tables(rows), tmp_path)["IR_BEN_R"].parent)
    assert rejected(out, "ER_UCD_F") == {"invalid_drug_code": 1}
    assert rejected(out, "T_MCOaaMED")["unknown_drug_code"] == 1
    uc = out.unknown_codes.set_index("code")
    assert uc.loc["xx#?", "status"] == "invalid" and uc.loc["42", "status"] == "unknown"
    assert balanced(out)


def test_invalid_month_and_unknown_beneficiary_death(tmp_path):
    rows = R.snds_rows()
    rows["IR_BEN_R"][3]["BEN_NAI_MOI"] = "13"
    rows["KI_CCI_R"].append({"BEN_IDT_ANO": "NOBODY", "BEN_DCD_DTE": D(2021, 1, 1)})
    out = extract(R.write_tables(R.snds_tables(rows), tmp_path)["IR_BEN_R"].parent)
    assert rejected(out, "KI_CCI_R") == {"unknown_beneficiary": 1}
    p = out.persons.to_pandas().set_index("person_id")
    assert pd.isna(p.loc["P3", "birth_month"]) and p.loc["P3", "birth_year"] == 1950  # the person is kept
    assert "NOBODY" not in p.index
    assert balanced(out)


def test_odh_unknown_patient_label_and_period(tmp_path):
    rows = R.odh_rows()
    rows["odh_prescriptions"].append(
        {
            "prescription_id": "R2",
            "odh_patient_id": "O1",
            "prescription_date": D(2020, 3, 1),
            "drug_label": "DOLIPRANE",
            "duration_days": 10,
        }
    )
    rows["odh_stays"].append(
        {"stay_id": "S2", "odh_patient_id": "ZZ", "centre_finess": "750000001", "admission_date": D(2020, 1, 1)}
    )
    out = extract(R.write_tables(R.odh_tables(rows), tmp_path)["odh_patients"].parent, source="odh")
    assert rejected(out, "odh_prescriptions") == {"unknown_drug_label": 1}
    assert rejected(out, "odh_stays") == {"unknown_patient": 1}
    assert rejected(out, "odh_administrations") == {
        "unknown_patient": 1,
        "unknown_drug_label": 1,
        "date_out_of_study_period": 1,
    }
    assert balanced(out)


def test_odh_csv_cp1252_semicolon(tmp_path):
    rows = R.odh_rows()
    rows["odh_administrations"][0]["drug_label"] = "Pémétrexed 500 mg"
    R.write_tables(R.odh_tables(rows), tmp_path, "csv", sep=";", encoding="cp1252")
    out = extract(tmp_path, source="odh")
    e = out.exposures.to_pandas()
    assert e.loc[e["origin"] == "odh_administrations:A1", "ingredient"].item() == "pemetrexed"
    p = out.persons.to_pandas().set_index("person_id")
    assert p.loc["O1", "histology"] == "non_squamous"  # "Adénocarcinome" decoded from cp1252


def test_parquet_dates_as_text_are_parsed(tmp_path):
    tables = R.odh_tables()
    pat = tables["odh_patients"]
    i = pat.schema.get_field_index("birth_date")
    text = pa.array([None if v is None else v.strftime("%d/%m/%Y") for v in pat.column(i).to_pylist()], pa.string())
    tables["odh_patients"] = pat.set_column(i, "birth_date", text)
    R.write_tables(tables, tmp_path)
    out = extract(tmp_path, source="odh")
    assert out.persons.to_pandas()["birth_year"].tolist() == [1955, 1960, 1950]
    assert pq.read_schema(tmp_path / "odh_patients.parquet").field("birth_date").type == pa.string()
