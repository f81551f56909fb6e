"""The real SNDS table schemas (Health Data Hub, Etalab 2.0) shipped in `data/snds_schema/`, as Arrow types.

Type mapping from the Table Schema JSON to Arrow (one rule for every table, so the simulator writes and
the extractor expects the same types):
  string -> string; integer -> int64; number -> float64; boolean -> bool;
  date -> date32, except fields whose format is "%m" (a bare month "01".."12") -> string;
  datetime -> timestamp[s]; year -> int16; yearmonth -> string "YYYYMM".
The same column can have different types in different tables (ETA_NUM and RSA_NUM are integers in
T_MCOaaB/C and strings in T_MCOaaD/MED/FH): that is the real schema, joins cast explicitly. The
extraction reads ETA_NUM as text everywhere (a FINESS: `2A` / `2B` in Corsica; the Oracle type is text).
T_MCOaaMEDATU (early-access drugs) ships no schema file here: it is derived from T_MCOaaMED (the same drug
lines of a stay), its delay column named DAT_DELAI (`DERIVED`); a real MEDATU's other columns are not read.
`csv_date_format(table, column)` gives the text format used in CSV extracts.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources

import pyarrow as pa

SCHEMA_PACKAGE = "lotluca.data.snds_schema"
DEFAULT_DATE_FORMAT = "%Y-%m-%d"


# tables described as another shipped table with renamed columns: name -> (base table, {old: new})
DERIVED = {"T_MCOaaMEDATU": ("T_MCOaaMED", {"DELAI": "DAT_DELAI"})}


@cache
def table_spec(table: str) -> dict:
    """The raw Table Schema JSON of an SNDS table (e.g. "ER_PHA_F")."""
    if table in DERIVED:
        base, renamed = DERIVED[table]
        spec = json.loads(json.dumps(table_spec(base)))
        for field in spec["fields"]:
            field["name"] = renamed.get(field["name"], field["name"])
        return spec
    path = resources.files(SCHEMA_PACKAGE) / f"{table}.json"
    if not path.is_file():
        raise KeyError(f"unknown SNDS table {table!r}; known: {', '.join(available_tables())}")
    return json.loads(path.read_text(encoding="utf-8"))


def available_tables() -> list[str]:
    shipped = [p.name[:-5] for p in resources.files(SCHEMA_PACKAGE).iterdir() if p.name.endswith(".json")]
    return sorted([*shipped, *DERIVED])


def _arrow_type(field: dict) -> pa.DataType:
    kind, fmt = field["type"], field.get("format", "default")
    if kind == "date":
        return pa.string() if fmt == "%m" else pa.date32()
    return {
        "string": pa.string(),
        "integer": pa.int64(),
        "number": pa.float64(),
        "boolean": pa.bool_(),
        "datetime": pa.timestamp("s"),
        "year": pa.int16(),
        "yearmonth": pa.string(),
    }[kind]


@cache
def arrow_schema(table: str) -> pa.Schema:
    """Arrow schema of an SNDS table, columns in the order of the JSON schema."""
    return pa.schema([(f["name"], _arrow_type(f)) for f in table_spec(table)["fields"]])


def column_formats(table: str) -> dict[str, str]:
    """Text format of each date/datetime column in CSV extracts (strftime syntax)."""
    out = {}
    for f in table_spec(table)["fields"]:
        if f["type"] in ("date", "datetime") and f.get("format", "default") != "%m":
            fmt = f.get("format", "default")
            out[f["name"]] = DEFAULT_DATE_FORMAT if fmt == "default" else fmt
    return out


def primary_key(table: str) -> list[str]:
    return list(table_spec(table).get("primaryKey") or [])


def empty_table(table: str, num_rows: int = 0) -> pa.Table:
    """A table of `num_rows` all-null rows with the table's exact schema (for columns we do not fill)."""
    schema = arrow_schema(table)
    return pa.Table.from_arrays([pa.nulls(num_rows, f.type) for f in schema], schema=schema)


def build_table(table: str, columns: dict, num_rows: int, null_column=None) -> pa.Table:
    """Build an SNDS table from the columns we fill; every other schema column is present and null.

    Raises KeyError for a column that is not in the real schema, so typos cannot slip through.
    `null_column(n, type)` makes the unfilled columns (default: `pa.nulls`); the simulator passes one
    that shares a null chunk instead of allocating n rows per column.
    """
    schema = arrow_schema(table)
    unknown = set(columns) - set(schema.names)
    if unknown:
        raise KeyError(f"{table}: columns not in the SNDS schema: {sorted(unknown)}")
    make_nulls = null_column or (lambda n, typ: pa.chunked_array([pa.nulls(n, typ)], type=typ))
    arrays = []
    for f in schema:
        if f.name in columns:
            arrays.append(pa.chunked_array([pa.array(columns[f.name], type=f.type)], type=f.type))
        else:
            arrays.append(make_nulls(num_rows, f.type))
    return pa.Table.from_arrays(arrays, schema=schema)
