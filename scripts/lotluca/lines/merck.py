"""The Merck reference implementation's formats: its input (one CSV row per medication period) read as
exposures, and its output columns (`output_lot.csv`) written from lines.

Columns PATIENT_ID, MED_START, MED_END, MED_NAME (header names in any case). Dates as M/D/YY, M/D/YYYY
or ISO YYYY-MM-DD; an empty MED_END means a single administration (end = start). Drug names in any
case, with salts ("erlotinib hcl", "pemetrexed disodium"), "paclitaxel protein-bound" and the brand /
French names of `drug_labels.csv` normalised to the INN of `drugs.csv`; unknown names are kept as they are
(lower case) and treated as antineoplastic by the engine. Returns canonical `exposures`.

Output (`to_merck_lines`, `lotluca lines --output-format merck`): PATIENT_ID, LINE_NUMBER, LINE_NAME (the
ingredients sorted, joined by ","), START_DATE, END_DATE (ISO), LINE_TYPE (mono / combo), IS_MAINTENANCE
(True / False), LINE_END_REASON (the reference's wording, MERCK_END_REASONS), INDEX_DATE (the person's
first line start), ALGORITHM. The reference's exemption flags and ENHANCED_COHORT are not written.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from lotluca import drugs
from lotluca.contracts import EXPOSURES, EXPOSURES_OPTIONAL, conform
from lotluca.errors import InputError

COLUMNS = ("PATIENT_ID", "MED_START", "MED_END", "MED_NAME")
SALTS = (
    "hydrochloride", "dihydrochloride", "hcl", "mesylate", "dimesylate", "maleate", "dimaleate", "tosylate",
    "citrate", "disodium", "sodium", "malate", "phosphate", "sulfate", "sulphate", "acetate", "besylate",
    "succinate", "monohydrate", "trihydrate", "hemihydrate", "anhydrous", "injection", "for injection",
    "tablets", "tablet", "oral", "iv",
)  # fmt: skip
_SALT_RE = re.compile(r"\b(" + "|".join(sorted((re.escape(s) for s in SALTS), key=len, reverse=True)) + r")\b")
ALIASES = {
    "paclitaxel protein-bound": "nab-paclitaxel",
    "paclitaxel protein bound": "nab-paclitaxel",
    "nab paclitaxel": "nab-paclitaxel",
    "albumin-bound paclitaxel": "nab-paclitaxel",
    "fam-trastuzumab deruxtecan-nxki": "trastuzumab deruxtecan",
}
SOURCE = "merck_csv"
OUTPUT_COLUMNS = (
    "PATIENT_ID", "LINE_NUMBER", "LINE_NAME", "START_DATE", "END_DATE", "LINE_TYPE", "IS_MAINTENANCE",
    "LINE_END_REASON", "INDEX_DATE", "ALGORITHM",
)  # fmt: skip
# our end_reason -> the reference's LINE_END_REASON (its last line is always "Last row hit")
MERCK_END_REASONS = {
    "new_drug": "New line started with new drugs",
    "restart": "New line started with new drugs",
    "gap": "Passed discontinuation gap",
    "drug_dropped": "Combo drug dropped",
    "maintenance": "Entering continuation maintenance therapy",
    "death": "Last row hit",
    "end_of_data": "Last row hit",
    "discontinued": "Last row hit",
}


def normalise_name(name: str) -> str:
    """'Erlotinib HCl' -> 'erlotinib'; 'KEYTRUDA' -> 'pembrolizumab'; unknown names lower-cased."""
    s = " ".join(str(name).strip().lower().replace("_", " ").split())
    if s in ALIASES:
        return ALIASES[s]
    known = drugs.ingredient_class()
    if s in known:
        return s
    t = " ".join(_SALT_RE.sub(" ", s).split())
    t = ALIASES.get(t, t)
    if t in known:
        return t
    labels = _labels()
    for cand in (s.upper(), t.upper()):
        if cand in labels:
            return labels[cand]
    return t or s


def _labels() -> dict[str, str]:
    lab = drugs.drug_labels()
    return dict(zip(lab["label"].str.upper(), lab["ingredient"], strict=True))


def parse_dates(values: pd.Series, file: str, column: str) -> pd.Series:
    """Parse ISO, M/D/YY and M/D/YYYY dates; empty -> NaT; anything else -> InputError naming the rows."""
    s = values.astype("string").str.strip()
    empty = s.isna() | (s == "")
    out = pd.to_datetime(s, format="%Y-%m-%d", errors="coerce")
    for fmt in ("%m/%d/%y", "%m/%d/%Y"):
        miss = out.isna() & ~empty
        if not miss.any():
            break
        four = s.str.match(r"^\d{1,2}/\d{1,2}/\d{4}$").fillna(False)
        sel = miss & (four if fmt == "%m/%d/%Y" else ~four)
        out[sel] = pd.to_datetime(s[sel], format=fmt, errors="coerce")
    bad = out.isna() & ~empty
    if bad.any():
        rows = (np.flatnonzero(bad.to_numpy()) + 2).tolist()  # CSV line numbers (header = line 1)
        raise InputError(
            file,
            f"unparseable dates {s[bad].head(3).tolist()}",
            column=column,
            rows=rows,
            expected="M/D/YY, M/D/YYYY or YYYY-MM-DD",
        )
    return out.dt.date


def read_merck(path: str | Path) -> pa.Table:
    """A Merck-format CSV as canonical exposures (source "merck_csv", origin "MERCK:<csv line>")."""
    path = Path(path)
    if not path.exists():
        raise InputError(path, "file not found")
    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    df.columns = [c.strip().upper() for c in df.columns]
    for col in COLUMNS:
        if col not in df.columns:
            raise InputError(path, "missing column", column=col, expected=f"columns {list(COLUMNS)} (any case)")
    for col in ("PATIENT_ID", "MED_START", "MED_NAME"):
        empty = df[col].str.strip() == ""
        if empty.any():
            raise InputError(path, "empty values", column=col, rows=(np.flatnonzero(empty.to_numpy()) + 2).tolist())
    start = parse_dates(df["MED_START"], str(path), "MED_START")
    end = parse_dates(df["MED_END"], str(path), "MED_END")
    end = end.where(end.notna(), start)
    back = pd.Series([e < s for s, e in zip(start, end, strict=True)], index=df.index)
    if back.any():
        raise InputError(
            path, "MED_END before MED_START", column="MED_END", rows=(np.flatnonzero(back.to_numpy()) + 2).tolist()
        )
    uniq = pd.unique(df["MED_NAME"])
    mapping = {u: normalise_name(u) for u in uniq}
    ingredient = df["MED_NAME"].map(mapping)
    ref = drugs.drugs().drop_duplicates("ingredient").set_index("ingredient")
    cls = drugs.ingredient_class()
    out = pd.DataFrame(
        {
            "person_id": df["PATIENT_ID"].str.strip(),
            "date": start,
            "end_date": end,
            "ingredient": ingredient,
            "atc": ingredient.map(ref["atc"]),
            "drug_class": ingredient.map(lambda i: cls.get(i, "unknown_antineoplastic")),
            "route": ingredient.map(ref["route"]),
            "source": SOURCE,
            "origin": [f"MERCK:{i + 2}" for i in range(len(df))],
        }
    )
    # names unknown to drugs.csv: the Merck input lists antineoplastics only, so they stay antineoplastic
    unknown = out["drug_class"] == "unknown_antineoplastic"
    out.loc[unknown, "drug_class"] = None
    table = pa.Table.from_pandas(out, preserve_index=False)
    return conform(table, EXPOSURES, str(path), optional=EXPOSURES_OPTIONAL)


def to_merck_lines(lines: pa.Table) -> pd.DataFrame:
    """Lines (contracts.LINES) in the reference's output columns (OUTPUT_COLUMNS), in the same row order."""
    df = lines.to_pandas()
    names = df["regimen"].str.split("+")
    start = pd.to_datetime(df["start_date"])
    return pd.DataFrame(
        {
            "PATIENT_ID": df["person_id"],
            "LINE_NUMBER": df["line_number"].astype(int),
            "LINE_NAME": names.map(lambda x: ",".join(sorted(x))),
            "START_DATE": start.dt.strftime("%Y-%m-%d"),
            "END_DATE": pd.to_datetime(df["end_date"]).dt.strftime("%Y-%m-%d"),
            "LINE_TYPE": names.map(lambda x: "combo" if len(x) > 1 else "mono"),
            "IS_MAINTENANCE": df["is_maintenance"].map({True: "True", False: "False"}),
            "LINE_END_REASON": df["end_reason"].map(MERCK_END_REASONS),
            "INDEX_DATE": start.groupby(df["person_id"]).transform("min").dt.strftime("%Y-%m-%d"),
            "ALGORITHM": df["algorithm"],
        },
        columns=list(OUTPUT_COLUMNS),
    )
