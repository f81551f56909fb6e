"""Reading and validating line tables to score: outside submissions, our predictions and the gold standard.

A submission is a CSV (ISO dates, YYYY-MM-DD) or Parquet file with the columns of `lotluca lines`
output (contracts.LINES). Required: person_id, line_number, start_date, regimen, is_maintenance.
Optional: end_date, regimen_class (derived from the regimen when absent or empty), end_reason,
algorithm. Each problem raises `lotluca.errors.InputError` naming the file, the column and the rows
(row numbers are 1-based data rows: row 1 is the first row after the CSV header):

- "missing required column(s) ..."                      a required column is absent;
- "missing person_id"                                   an empty person_id;
- "unparseable or missing date"                         start_date (or a non-empty end_date) is not ISO;
- "end_date before start_date"                          an inverted line;
- "line_number is not a positive integer"               0, negative, decimal or text;
- "is_maintenance is not a boolean"                     anything but true/false/1/0 (any case);
- "missing regimen"                                     an empty regimen;
- "duplicate lines (same person_id, line_number and is_maintenance)";
- "several algorithms in one file"                      more than one value in `algorithm`;
- "N person(s) not in the gold standard: ..."           person_id values the gold file does not have.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from lotluca.errors import InputError

log = logging.getLogger(__name__)

REQUIRED = ("person_id", "line_number", "start_date", "regimen", "is_maintenance")
OPTIONAL = ("end_date", "regimen_class", "end_reason", "algorithm")
TRUE = {"true", "1", "t", "yes"}
FALSE = {"false", "0", "f", "no"}


def read_table(path: str | Path) -> pd.DataFrame:
    """A CSV (every column read as text) or Parquet file as a DataFrame; InputError when unreadable."""
    path = Path(path)
    if not path.exists():
        raise InputError(path, "file not found")
    suffix = path.suffix.lower()
    try:
        if suffix == ".parquet":
            return pq.read_table(path).to_pandas()
        if suffix in (".csv", ".txt") or suffix == ".gz":
            return pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""])
    except (OSError, ValueError, pd.errors.ParserError) as exc:
        raise InputError(path, f"cannot be read ({exc})") from exc
    raise InputError(path, f"unsupported file type {suffix!r}", expected=".csv or .parquet")


def _rows(mask) -> list[int]:
    return (np.flatnonzero(np.asarray(mask)) + 1).tolist()


def _dates(df: pd.DataFrame, col: str, file, required: bool) -> pd.Series:
    raw = df[col]
    if pd.api.types.is_datetime64_any_dtype(raw):
        parsed = pd.to_datetime(raw)
        bad = parsed.isna() if required else pd.Series(False, index=df.index)
    elif (
        raw.dtype == object
        and raw.map(lambda v: hasattr(v, "year") or v is None or v is pd.NaT, na_action="ignore").all()
    ):
        parsed = pd.to_datetime(raw, errors="coerce")  # Parquet date32 read as datetime.date objects
        bad = parsed.isna() & (raw.notna() | required)
    else:
        text = raw.astype("string").str.strip()
        empty = text.isna() | (text == "")
        parsed = pd.to_datetime(text.where(~empty), format="%Y-%m-%d", errors="coerce")
        bad = (parsed.isna() & ~empty) | (empty & required)
    if bad.any():
        raise InputError(
            file, "unparseable or missing date", column=col, rows=_rows(bad), expected="ISO dates YYYY-MM-DD"
        )
    return parsed


def validate_lines(df: pd.DataFrame, file, known_persons: pd.Index | None = None) -> pd.DataFrame:
    """Check a line table and return it typed (person_id str, dates datetime64, line_number int,
    is_maintenance bool); raise InputError for the problems listed in the module docstring.
    `known_persons`: when given, every person_id must be one of them."""
    missing = [c for c in REQUIRED if c not in df.columns]
    if missing:
        raise InputError(
            file,
            f"missing required column(s) {', '.join(missing)}",
            expected=f"columns {', '.join(REQUIRED)} (optional: {', '.join(OPTIONAL)})",
        )
    df = df.reset_index(drop=True)
    out = pd.DataFrame(index=df.index)
    pid = df["person_id"].astype("string").str.strip()
    bad = pid.isna() | (pid == "")
    if bad.any():
        raise InputError(file, "missing person_id", column="person_id", rows=_rows(bad))
    out["person_id"] = pid.astype(str)

    num = pd.to_numeric(df["line_number"], errors="coerce")
    bad = num.isna() | (num < 1) | (num != np.floor(num.fillna(0)))
    if bad.any():
        raise InputError(file, "line_number is not a positive integer", column="line_number", rows=_rows(bad))
    out["line_number"] = num.astype(np.int64)

    out["start_date"] = _dates(df, "start_date", file, required=True)
    if "end_date" in df.columns:
        out["end_date"] = _dates(df, "end_date", file, required=False)
        bad = out["end_date"].notna() & (out["end_date"] < out["start_date"])
        if bad.any():
            raise InputError(file, "end_date before start_date", column="end_date", rows=_rows(bad))
    else:
        out["end_date"] = pd.NaT

    m = df["is_maintenance"]
    if pd.api.types.is_bool_dtype(m) and not m.isna().any():
        out["is_maintenance"] = m.astype(bool)
    else:
        text = m.astype("string").str.strip().str.lower()
        ok_t, ok_f = text.isin(TRUE).fillna(False), text.isin(FALSE).fillna(False)
        bad = ~(ok_t | ok_f)
        if bad.any():
            raise InputError(
                file,
                "is_maintenance is not a boolean",
                column="is_maintenance",
                rows=_rows(bad),
                expected="true/false (or 1/0)",
            )
        out["is_maintenance"] = ok_t.astype(bool)

    reg = df["regimen"].astype("string").str.strip()
    bad = reg.isna() | (reg == "")
    if bad.any():
        raise InputError(
            file, "missing regimen", column="regimen", rows=_rows(bad), expected='ingredients joined by "+"'
        )
    out["regimen"] = reg.astype(str)
    for col in ("regimen_class", "end_reason", "algorithm"):
        out[col] = (
            df[col].astype("string").replace("", pd.NA)
            if col in df.columns
            else pd.Series(pd.NA, index=df.index, dtype="string")
        )

    algos = out["algorithm"].dropna().unique()
    if len(algos) > 1:
        raise InputError(
            file,
            f"several algorithms in one file: {', '.join(sorted(map(str, algos)))}",
            column="algorithm",
            expected="one algorithm per file",
        )

    dup = out.duplicated(["person_id", "line_number", "is_maintenance"], keep="first")
    if dup.any():
        raise InputError(
            file,
            "duplicate lines (same person_id, line_number and is_maintenance)",
            column="line_number",
            rows=_rows(dup),
        )

    if known_persons is not None:
        unknown = ~out["person_id"].isin(known_persons)
        if unknown.any():
            ids = pd.unique(out.loc[unknown, "person_id"])
            shown = ", ".join(map(str, ids[:5])) + (" ..." if len(ids) > 5 else "")
            raise InputError(
                file, f"{len(ids)} person(s) not in the gold standard: {shown}", column="person_id", rows=_rows(unknown)
            )
    return out


def load_gold(path: str | Path, split: str | None = "test") -> tuple[pd.DataFrame, pd.Index]:
    """The gold standard restricted to `split` (all persons when the file has no `split` column or
    split is None), and the ids of every person in the file (any split)."""
    raw = read_table(path)
    gold = validate_lines(raw, path)
    all_persons = pd.Index(pd.unique(gold["person_id"]))
    if split is not None and "split" in raw.columns:
        keep = raw["split"].astype("string").str.strip().to_numpy() == split
        if not keep.any():
            raise InputError(path, f"no person in split {split!r}", column="split", expected="train | test")
        gold = gold[keep].reset_index(drop=True)
    elif split is not None:
        log.warning("%s: no split column; scoring every person of the gold standard", path)
    return gold, all_persons


def load_submission(path: str | Path, gold_persons: pd.Index | None) -> pd.DataFrame:
    """A validated submission (see the module docstring for the format and the errors); gold_persons
    None skips the unknown-person check."""
    return validate_lines(read_table(path), path, known_persons=gold_persons)
