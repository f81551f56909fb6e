"""Patient sharding: which shard each person belongs to, one shard's rows of a table, gathering shards.

Used by the workflow (config `shards: N`) to scatter the per-person steps over N jobs: `split_files`
writes each shard of the per-person input tables, `gather_files` concatenates the per-shard outputs.

A person's shard depends only on its `person_id` and the number of shards N (`shards:` in
config.yaml), never on the order or content of a table, so every step of the study splits the same
persons the same way, and a rerun or another machine gives the same split.

The hash is defined here once, so anyone can reproduce it (SQL, another language):
64-bit FNV-1a over the UTF-8 bytes of person_id (offset basis 0xcbf29ce484222325, prime
0x100000001b3), then the splitmix64 finaliser (x ^= x >> 30; x *= 0xbf58476d1ce4e5b9;
x ^= x >> 27; x *= 0x94d049bb133111eb; x ^= x >> 31), all modulo 2**64; shard = hash mod N.
It is computed with numpy over all ids at once (one pass per byte position, not per person).

Gathering concatenates the shards and sorts the rows canonically (by every column, schema order,
nulls last), so the gathered table is identical for any N.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from lotluca.errors import InputError
from lotluca.io import read_parquet, write_parquet

log = logging.getLogger(__name__)

FNV_OFFSET = np.uint64(0xCBF29CE484222325)
FNV_PRIME = np.uint64(0x100000001B3)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)


def _as_large_string(ids) -> pa.LargeStringArray:
    if isinstance(ids, pa.ChunkedArray):
        ids = ids.combine_chunks() if ids.num_chunks else pa.array([], pa.string())
    if not isinstance(ids, pa.Array):
        ids = pa.array(np.asarray(ids, dtype=object) if not isinstance(ids, list) else ids, type=pa.string())
    if not (pa.types.is_string(ids.type) or pa.types.is_large_string(ids.type)):
        ids = pc.cast(ids, pa.string())
    return pc.cast(ids, pa.large_string())


def person_hash(ids) -> np.ndarray:
    """The 64-bit hash (uint64) of each person_id (see the module docstring). Null ids are an error."""
    arr = _as_large_string(ids)
    if arr.null_count:
        raise ValueError(f"person_hash: {arr.null_count} null person_id value(s)")
    n = len(arr)
    h = np.full(n, FNV_OFFSET, dtype=np.uint64)
    if n == 0:
        return h
    _, offsets_buf, data_buf = arr.buffers()
    offsets = np.frombuffer(offsets_buf, dtype=np.int64)[arr.offset : arr.offset + n + 1]
    data = np.frombuffer(data_buf, dtype=np.uint8) if data_buf is not None else np.zeros(0, np.uint8)
    starts, lengths = offsets[:-1], np.diff(offsets)
    with np.errstate(over="ignore"):
        for j in range(int(lengths.max(initial=0))):
            live = np.flatnonzero(lengths > j)
            h[live] = (h[live] ^ data[starts[live] + j].astype(np.uint64)) * FNV_PRIME
        h ^= h >> np.uint64(30)
        h *= _M1
        h ^= h >> np.uint64(27)
        h *= _M2
        h ^= h >> np.uint64(31)
    return h


def _check_shards(n_shards: int, shard: int | None = None) -> None:
    if not isinstance(n_shards, int | np.integer) or n_shards < 1:
        raise ValueError(f"number of shards must be an integer >= 1, got {n_shards!r}")
    if shard is not None and not 0 <= shard < n_shards:
        raise ValueError(f"shard must be in 0..{n_shards - 1}, got {shard!r}")


def shard_of(ids, n_shards: int) -> np.ndarray:
    """Shard number (0..n_shards-1, int32) of each person_id."""
    _check_shards(n_shards)
    if n_shards == 1:
        return np.zeros(len(ids), dtype=np.int32)
    return (person_hash(ids) % np.uint64(n_shards)).astype(np.int32)


def filter_to_shard(
    table: pa.Table, shard: int, n_shards: int, column: str = "person_id", source: str = ""
) -> pa.Table:
    """The rows of `table` whose `column` falls in `shard` (all rows when n_shards is 1)."""
    _check_shards(n_shards, shard)
    if column not in table.column_names:
        raise InputError(
            source or "table", "no column to shard on", column=column, expected=f"one of {table.column_names}"
        )
    if n_shards == 1:
        return table
    ids = table.column(column)
    if ids.null_count:
        rows = np.flatnonzero(ids.is_null().to_numpy(zero_copy_only=False)).tolist()
        raise InputError(source or "table", "null person id, no shard can be assigned", column=column, rows=rows)
    return table.filter(pa.array(shard_of(ids, n_shards) == shard))


def canonical_sort(table: pa.Table, keys: Sequence[str] | None = None) -> pa.Table:
    """Rows sorted by `keys` then by every other sortable column (schema order), ascending, nulls last."""
    keys = list(keys or [])
    missing = [k for k in keys if k not in table.column_names]
    if missing:
        raise ValueError(f"canonical_sort: no column(s) {missing} in {table.column_names}")
    sortable = [
        f.name
        for f in table.schema
        if f.name not in keys
        and not (pa.types.is_nested(f.type) or pa.types.is_dictionary(f.type) or pa.types.is_null(f.type))
    ]
    order = [(k, "ascending", "at_end") for k in keys + sortable]
    if not order or table.num_rows < 2:
        return table
    return table.take(pc.sort_indices(table, sort_keys=order))


def concat_shards(tables: Sequence[pa.Table], sources: Sequence[str] | None = None) -> pa.Table:
    """Concatenate shard tables (same schema required; `sources` name them in errors), unsorted."""
    if not tables:
        raise ValueError("gather: no shard table given")
    schema = tables[0].schema.remove_metadata()
    for i, t in enumerate(tables[1:], start=1):
        if not t.schema.remove_metadata().equals(schema):
            name = sources[i] if sources else f"shard table {i}"
            first = sources[0] if sources else "shard table 0"
            raise InputError(name, f"schema differs from {first}", expected=str(schema).replace("\n", ", "))
    return pa.concat_tables([t.replace_schema_metadata(None) for t in tables]).combine_chunks()


def gather(
    tables: Sequence[pa.Table], keys: Sequence[str] | None = None, sources: Sequence[str] | None = None
) -> pa.Table:
    """Concatenate shard tables (same schema required) and sort them canonically."""
    return canonical_sort(concat_shards(tables, sources), keys)


def split_files(
    inputs: Mapping[str, str | Path], outputs: Mapping[str, Sequence[str | Path]], column: str = "person_id"
) -> dict[str, list[int]]:
    """Split each input Parquet table into its shards: outputs[name][k] receives shard k of inputs[name].

    The number of shards is the length of each output list. Returns the row count of every shard
    (rows in = sum of rows out: nothing is dropped).
    """
    counts: dict[str, list[int]] = {}
    for name, path in inputs.items():
        paths = list(outputs[name])
        n = len(paths)
        table = read_parquet(path)
        if column not in table.column_names:
            raise InputError(path, "no column to shard on", column=column, expected=f"one of {table.column_names}")
        ids = table.column(column)
        if ids.null_count:
            rows = np.flatnonzero(ids.is_null().to_numpy(zero_copy_only=False)).tolist()
            raise InputError(path, "null person id, no shard can be assigned", column=column, rows=rows)
        shard = shard_of(ids, n)
        counts[name] = []
        for k, out in enumerate(paths):
            part = table.filter(pa.array(shard == k)) if n > 1 else table
            write_parquet(part, out)
            counts[name].append(part.num_rows)
        assert sum(counts[name]) == table.num_rows
        log.info("%s: %d rows -> %d shards %s", path, table.num_rows, n, counts[name])
    return counts


def gather_files(inputs: Sequence[str | Path], output: str | Path, keys: Sequence[str] | None = None) -> pa.Table:
    """Gather shard Parquet files into one canonically sorted Parquet file; return the table."""
    tables = [read_parquet(p) for p in inputs]
    out = gather(tables, keys, sources=[str(p) for p in inputs])
    write_parquet(out, output)
    log.info(
        "gathered %d shards (%s rows) -> %s (%d rows)", len(tables), [t.num_rows for t in tables], output, out.num_rows
    )
    return out
