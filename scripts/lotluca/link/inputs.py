"""Read and normalise the canonical persons / stays tables that the linkage compares.

Errors name the file, the column and the rows (InputError); nothing is dropped silently: duplicated
person rows (one SNDS person seen through several BEN_NIR_PSA) are collapsed and counted.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from lotluca.contracts import ContractError, conform
from lotluca.errors import InputError
from lotluca.io import read_parquet

log = logging.getLogger(__name__)

PERSON_COLUMNS = [
    "person_id",
    "sex",
    "birth_year",
    "birth_month",
    "residence_dpt",
    "death_date",
    "centre",
    "end_of_followup",
]
OPTIONAL_PERSON_COLUMNS = ["diagnosis_date"]
STAY_COLUMNS = ["person_id", "hospital", "admission_date"]
EPOCH = np.datetime64("1970-01-01", "D")


def read_table(path: str | Path, schema: pa.Schema, name: str, optional: tuple[str, ...] = ()) -> pa.Table:
    """Read a canonical Parquet table and conform it to `schema`; errors name the file."""
    path = Path(path)
    try:
        table = read_parquet(path)
    except FileNotFoundError as exc:
        raise InputError(path, "file not found", expected=f"the canonical {name} table") from exc
    try:
        return conform(table, schema, name, optional)
    except ContractError as exc:
        raise InputError(path, str(exc), expected=f"the canonical {name} contract") from exc


def _day_numbers(s: pd.Series) -> pd.Series:
    """Dates -> days since 1970-01-01 as nullable Int64."""
    d = pd.to_datetime(s, errors="coerce")
    out = (d.values.astype("datetime64[D]") - EPOCH).astype("int64")
    return pd.Series(out, index=s.index, dtype="Int64").mask(d.isna())


def normalise_sex(s: pd.Series) -> pd.Series:
    """'M'/'F' (also accepts SNDS codes 1/2 and lower case); anything else becomes null."""
    v = s.astype("string").str.strip().str.upper()
    return v.replace({"1": "M", "2": "F", "H": "M"}).where(lambda x: x.isin(["M", "F"]))


def normalise_dpt(s: pd.Series) -> pd.Series:
    """Departement codes to one spelling: '075' -> '75', '2a' -> '2A', '971' kept; blanks -> null."""
    v = s.astype("string").str.strip().str.upper()
    v = v.where(v.str.len() > 0)
    three_zero = (v.str.len() == 3) & v.str.startswith("0")
    v = v.mask(three_zero, v.str[1:])
    one = v.str.len() == 1
    return v.mask(one, "0" + v)


def prepare_persons(persons: pa.Table | pd.DataFrame, file: str | Path, source: str) -> tuple[pd.DataFrame, int]:
    """Persons ready for comparison: one row per person_id, day numbers, normalised codes.

    Returns (frame, number of duplicate rows collapsed). Duplicate person_id rows (several
    BEN_NIR_PSA of one BEN_IDT_ANO) are collapsed to the first non-null value of each column.
    """
    df = persons.to_pandas() if isinstance(persons, pa.Table) else persons.copy()
    missing = [c for c in PERSON_COLUMNS if c not in df.columns]
    if missing:
        raise InputError(file, f"{source} persons lack columns {missing}", column=missing[0])
    for c in OPTIONAL_PERSON_COLUMNS:
        if c not in df.columns:
            df[c] = pd.NaT
    df = df[PERSON_COLUMNS + OPTIONAL_PERSON_COLUMNS].copy()
    bad = df.index[df["person_id"].isna() | (df["person_id"].astype("string").str.len() == 0)]
    if len(bad):
        raise InputError(
            file,
            f"{source} persons with an empty person_id",
            column="person_id",
            rows=bad.tolist(),
            expected="a non-empty id",
        )
    df["person_id"] = df["person_id"].astype(str)
    n_before = len(df)
    if df["person_id"].duplicated().any():
        df = df.groupby("person_id", sort=False, as_index=False).first()
    n_dup = n_before - len(df)
    if n_dup:
        log.info("%s persons: %d duplicated rows collapsed (one person, several source keys)", source, n_dup)
    out = pd.DataFrame({"person_id": df["person_id"].to_numpy()})
    out["sex"] = normalise_sex(df["sex"]).to_numpy()
    out["birth_year"] = pd.to_numeric(df["birth_year"], errors="coerce").astype("Int64").to_numpy()
    month = pd.to_numeric(df["birth_month"], errors="coerce").astype("Int64")
    out["birth_month"] = month.where((month >= 1) & (month <= 12)).to_numpy()
    out["residence_dpt"] = normalise_dpt(df["residence_dpt"]).to_numpy()
    out["death_day"] = _day_numbers(df["death_date"]).to_numpy()
    out["centre"] = df["centre"].astype("string").to_numpy()
    out["diag_day"] = _day_numbers(df["diagnosis_date"]).to_numpy()
    return out, n_dup


def prepare_stays(
    stays: pa.Table | pd.DataFrame, file: str | Path, source: str, default_hospital: pd.Series | None = None
) -> pd.DataFrame:
    """Stays as (person_id, hospital, day, lung_cancer: main diagnosis C34); rows without a person or a
    date raise InputError; stays without FINESS are kept (hospital null) and never match a centre.

    For ODH, a stay without hospital takes the person's centre (`default_hospital`, indexed by person_id).
    """
    df = stays.to_pandas() if isinstance(stays, pa.Table) else stays.copy()
    missing = [c for c in STAY_COLUMNS if c not in df.columns]
    if missing:
        raise InputError(file, f"{source} stays lack columns {missing}", column=missing[0])
    bad = df.index[df["person_id"].isna()]
    if len(bad):
        raise InputError(file, f"{source} stays without person_id", column="person_id", rows=bad.tolist())
    day = _day_numbers(df["admission_date"])
    bad = df.index[day.isna()]
    if len(bad):
        raise InputError(
            file,
            f"{source} stays without admission_date",
            column="admission_date",
            rows=bad.tolist(),
            expected="a date",
        )
    hospital = df["hospital"].astype("string")
    if default_hospital is not None:
        hospital = hospital.fillna(df["person_id"].astype(str).map(default_hospital).astype("string"))
    if "main_diagnosis" in df.columns:
        lung = df["main_diagnosis"].astype("string").str.upper().str.startswith("C34").fillna(False)
    else:
        lung = pd.Series(False, index=df.index)
    out = pd.DataFrame(
        {
            "person_id": df["person_id"].astype(str).to_numpy(),
            "hospital": hospital.to_numpy(),
            "day": day.astype("int64").to_numpy(),
            "lung_cancer": lung.to_numpy(dtype=bool),
        }
    )
    n_no_hospital = int(out["hospital"].isna().sum())
    if n_no_hospital:
        log.info("%s stays: %d without FINESS (not usable as stay evidence)", source, n_no_hospital)
    return out.drop_duplicates(ignore_index=True)
