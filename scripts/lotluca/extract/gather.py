"""Gather the per-shard extraction outputs of one source into the cohort's files, identical for any N.

An extraction run per patient shard (config `shards`) writes, for each shard, the same files as an
unsharded run (`lotluca.extract.pipeline`): persons, exposures, chemo_sessions, stays, rejects as
Parquet, accounting.csv and unknown_codes.csv. Every row of those tables depends on one person's raw
rows only (or on one raw row, for rejects), and raw rows are named by their row in the user's file
(`lotluca.extract.split` writes the row numbers), so the union of the shards is the unsharded output.
Gathering:

- tables: concatenated, then sorted canonically (`sort_output`: person first, then every column),
  the order every extraction writes, sharded or not;
- accounting.csv: rows summed per (source, table, outcome, rule); order: tables as read, outcomes
  read / used / filtered / rejected, rules alphabetical (the order of `Ledger.summary`);
- unknown_codes.csv: rows summed per (source_table, code_system, code, status); order of
  `drug_matching.unknown_code_counts` (most rows first, then table, code).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from lotluca.io import read_parquet, write_parquet
from lotluca.sharding import canonical_sort, concat_shards

log = logging.getLogger(__name__)

SORT_KEYS = {
    "persons": ["person_id"],
    "exposures": ["person_id", "date"],
    "chemo_sessions": ["person_id", "date"],
    "stays": ["person_id", "admission_date"],
    "rejects": ["table", "_row_number"],
}
OUTCOME_ORDER = {"read": 0, "used": 1, "filtered": 2, "rejected": 3}
ACCOUNTING_KEYS = ["source", "table", "outcome", "rule"]
UNKNOWN_KEYS = ["source_table", "code_system", "code", "status"]


def _row_number(row_key: pa.ChunkedArray | pa.Array) -> pa.Array:
    """The number in a row key ("row 12" -> 12; null when the key holds no number)."""
    digits = pc.extract_regex(row_key, r"(?P<n>\d+)")
    return pc.cast(pc.struct_field(digits, "n"), pa.int64())


def sort_output(name: str, table: pa.Table) -> pa.Table:
    """A source output table in its canonical row order (rejects: by table, then row number)."""
    keys = SORT_KEYS.get(name, [])
    if name == "rejects":
        col = table.column("row_key")
        with_n = table.append_column("_row_number", _row_number(col.combine_chunks() if col.num_chunks else col))
        return canonical_sort(with_n, keys).drop_columns(["_row_number"])
    return canonical_sort(table, keys)


def gather_tables(name: str, tables: Sequence[pa.Table], sources: Sequence[str] | None = None) -> pa.Table:
    """Concatenate the shards of one output table and sort it canonically (once: `sort_output`)."""
    return sort_output(name, concat_shards(tables, sources))


def gather_accounting(frames: Sequence[pd.DataFrame]) -> pd.DataFrame:
    """Sum the shards' accounting rows per (source, table, outcome, rule), in `Ledger.summary` order."""
    df = pd.concat([f.astype({"rule": object}) for f in frames], ignore_index=True)
    df["rule"] = df["rule"].fillna("")
    table_rank = {t: i for i, t in enumerate(pd.unique(df["table"]))}  # every shard reads the same tables
    out = df.groupby(ACCOUNTING_KEYS, sort=False, dropna=False)["rows"].sum().reset_index()
    out["rows"] = out["rows"].astype("int64")
    order = pd.DataFrame(
        {
            "t": out["table"].map(table_rank),
            "o": out["outcome"].map(OUTCOME_ORDER).fillna(len(OUTCOME_ORDER)),
            "r": out["rule"],
        }
    )
    idx = order.sort_values(["t", "o", "r"], kind="stable").index
    return out.loc[idx].reset_index(drop=True)


def gather_unknown_codes(frames: Sequence[pd.DataFrame]) -> pd.DataFrame:
    """Sum the shards' unknown-code counts, in `unknown_code_counts` order (most rows first)."""
    df = pd.concat(frames, ignore_index=True)
    if df.empty:
        return pd.DataFrame(columns=[*UNKNOWN_KEYS, "rows"])
    out = df.groupby(UNKNOWN_KEYS, dropna=False)["rows"].sum().reset_index()
    out["rows"] = out["rows"].astype("int64")
    return out.sort_values(["rows", "source_table", "code"], ascending=[False, True, True], kind="stable").reset_index(
        drop=True
    )


def read_accounting(path) -> pd.DataFrame:
    return pd.read_csv(path, dtype={"source": str, "table": str, "outcome": str, "rule": str, "rows": np.int64})


def read_unknown_codes(path) -> pd.DataFrame:
    return pd.read_csv(path, dtype={c: str for c in UNKNOWN_KEYS} | {"rows": np.int64})


def gather_source(shards: Mapping[str, Sequence[str | Path]], outputs: Mapping[str, str | Path]) -> None:
    """Gather the per-shard outputs of one source: `shards` maps each output name (persons, ...,
    accounting, unknown_codes) to its files, one per shard in shard order; `outputs` maps the same names
    to the gathered files. Parquet tables are every name but accounting and unknown_codes (CSV)."""
    if set(shards) != set(outputs):
        raise ValueError(f"shard files of {sorted(shards)} for the outputs {sorted(outputs)}")
    for name in (n for n in outputs if n not in ("accounting", "unknown_codes")):
        files = [Path(f) for f in shards[name]]
        out = gather_tables(name, [read_parquet(f) for f in files], [str(f) for f in files])
        write_parquet(out, outputs[name])
        log.info("%s: %d shards -> %d rows", name, len(files), out.num_rows)
    acc = gather_accounting([read_accounting(f) for f in shards["accounting"]])
    Path(outputs["accounting"]).parent.mkdir(parents=True, exist_ok=True)
    acc.to_csv(outputs["accounting"], index=False)
    unk = gather_unknown_codes([read_unknown_codes(f) for f in shards["unknown_codes"]])
    Path(outputs["unknown_codes"]).parent.mkdir(parents=True, exist_ok=True)
    unk.to_csv(outputs["unknown_codes"], index=False)
