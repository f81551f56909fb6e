"""Fast Arrow column builders for the renderers: strings are never built row by row in Python or numpy;
they are small vocabularies (pa arrays) indexed by integer codes (`take`), integers cast to text, and
element-wise joins, all in Arrow's C++ kernels."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

MONTHS = pa.array([""] + [f"{m:02d}" for m in range(1, 13)])


def vocab(values) -> pa.Array:
    return pa.array(np.asarray(values).astype(str) if not isinstance(values, pa.Array) else values, type=pa.string())


def take(voc: pa.Array, idx, null_mask=None) -> pa.Array:
    """voc[idx]; rows where null_mask (or idx < 0) is true become null."""
    idx = np.asarray(idx, dtype=np.int64)
    mask = idx < 0 if null_mask is None else (np.asarray(null_mask) | (idx < 0))
    out = voc.take(pa.array(np.where(mask, 0, idx) if voc.__len__() else idx))
    if mask.any():
        out = pc.if_else(pa.array(mask), pa.scalar(None, out.type), out)
    return out


def int_text(values, width: int = 0, prefix: str = "") -> pa.Array:
    """Integers as text, optionally zero-padded to `width` and prefixed."""
    out = pa.array(np.asarray(values, dtype=np.int64)).cast(pa.string())
    if width:
        out = pc.utf8_lpad(out, width, "0")
    if prefix:
        out = pc.binary_join_element_wise(pa.scalar(prefix), out, "")
    return out


def join(*parts, sep: str = "") -> pa.Array:
    return pc.binary_join_element_wise(*parts, sep)


def date32(days, mask=None) -> pa.Array:
    arr = np.asarray(days, dtype=np.int64)
    if mask is not None:
        arr = np.where(mask, 0, arr)
    return pa.array(arr.astype("datetime64[D]"), type=pa.date32(), mask=mask)


def ts(days) -> pa.Array:
    return pa.array(
        np.asarray(days, dtype=np.int64).astype("datetime64[D]").astype("datetime64[s]"), type=pa.timestamp("s")
    )


def month_text(months) -> pa.Array:
    return take(MONTHS, np.asarray(months, dtype=np.int64))


def where(mask, a: pa.Array, b: pa.Array) -> pa.Array:
    return pc.if_else(pa.array(np.asarray(mask, dtype=bool)), a, b)


_NULL_CHUNK = 1 << 20
_null_cache: dict = {}


def null_column(n: int, typ: pa.DataType) -> pa.ChunkedArray:
    """An all-null column of n rows that shares one null chunk per type (no n-sized allocation)."""
    if typ not in _null_cache:
        _null_cache[typ] = pa.nulls(_NULL_CHUNK, typ)
    chunk = _null_cache[typ]
    full, rest = divmod(n, _NULL_CHUNK)
    chunks = [chunk] * full + ([chunk.slice(0, rest)] if rest or not full else [])
    return pa.chunked_array(chunks, type=typ)


def build_snds(table: str, columns: dict, num_rows: int) -> pa.Table:
    """`lotluca.snds_schema.build_table` (exact schema, unfilled columns null, unknown columns raise
    KeyError) without allocating the unfilled columns."""
    from lotluca import snds_schema

    return snds_schema.build_table(table, columns, num_rows, null_column=null_column)
