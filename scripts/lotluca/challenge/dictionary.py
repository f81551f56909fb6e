"""The participants' data dictionary, generated from the data contracts (the column comments of
lotluca.contracts, as docs/contracts.md) with what the de-identification did to each column."""

from __future__ import annotations

import inspect
import re

import pandas as pd
import pyarrow as pa

from lotluca import contracts

COLUMN_COMMENT = re.compile(r"""\(\s*["'](\w+)["']\s*,\s*\w+\s*\)+,?\s*#\s*(.*)$""")
# (table, column) or column -> what the participant file holds instead of the original value
DEIDENTIFIED = {
    "person_id": "study pseudonym (P... for ODH patients, S... for SNDS persons); not the source id",
    "odh_patient_id": "study pseudonym of the ODH patient (persons.person_id of odh/)",
    "snds_person_id": "study pseudonym of the linked SNDS person (persons.person_id of snds/)",
    "hospital": "stable hospital pseudonym (H...); Hother: hospitals of fewer than rare_min_persons persons",
    "centre": "stable hospital pseudonym (H...), as hospital",
    "origin": "raw table(s) of the row only (row keys removed)",
    "birth_year": "coarsened: first year of the 5-year band",
    "birth_month": "removed (always null)",
    "residence_dpt": "other: departements of fewer than rare_min_persons persons",
    "main_diagnosis": "coarsened to the ICD-10 category (3 characters); other: rare categories",
    "ghm": "other: GHM of fewer than rare_min_persons persons",
    "protocol_label": "null when used for fewer than rare_min_persons persons",
    "date": "shifted by the person's date shift",
}
DATE_NOTE = "shifted by the person's date shift (the same for every table of the person: intervals kept)"


def column_comments() -> dict[str, dict[str, str]]:
    """Schema variable of lotluca.contracts -> {column: its comment}."""
    source = inspect.getsource(contracts)
    out: dict[str, dict[str, str]] = {}
    current = None
    for line in source.splitlines():
        m = re.match(r"^([A-Z_]+) = pa\.schema\(", line)
        if m:
            current = m.group(1)
            out[current] = {}
            continue
        m = COLUMN_COMMENT.search(line)
        if current and m:
            out[current][m.group(1)] = m.group(2).strip()
    return out


def dictionary(tables: dict[str, tuple[str, pa.Schema]]) -> pd.DataFrame:
    """file, column, type, meaning, de_identification: one row per column of each participant file
    (file -> (contract variable name, schema))."""
    comments = column_comments()
    rows = []
    for file, (variable, schema) in tables.items():
        meaning = comments.get(variable, {})
        if variable == "GOLD_LINES":
            meaning = comments.get("LINES", {})
        for field in schema:
            note = DEIDENTIFIED.get(field.name, DATE_NOTE if pa.types.is_date(field.type) else "")
            rows.append((file, field.name, str(field.type), meaning.get(field.name, ""), note))
    return pd.DataFrame(rows, columns=["file", "column", "type", "meaning", "de_identification"])


def dictionary_markdown(df: pd.DataFrame) -> str:
    """The dictionary as Markdown: one section per file."""
    out = ["# Data dictionary of the participant tables", "", "Generated from the data contracts (lotluca.contracts)."]
    for file, grp in df.groupby("file", sort=False):
        out += ["", f"## {file}", "", "| column | type | meaning | de-identification |", "|---|---|---|---|"]
        out += [
            f"| {r.column} | {r.type} | {_cell(r.meaning)} | {_cell(r.de_identification)} |" for r in grp.itertuples()
        ]
    return "\n".join(out) + "\n"


def _cell(text: str) -> str:
    return str(text).replace("|", "\\|")


__all__ = ["column_comments", "dictionary", "dictionary_markdown"]
