"""Small-cell suppression of aggregate tables meant for export, and the guard that checks it.

Methods (config `privacy.method`):

- ``suppress`` (default): a count c with 1 <= c < min_cell is blanked (null) and the row's
  `suppressed` column names the blanked columns. Estimates computed on a stratum whose size is
  blanked can be blanked with it (`dependent` columns), so a tiny group shows no result at all.
- ``coarsen``: every count is rounded to the nearest multiple of min_cell (halves up): 0 stays 0,
  1-4 become 0, 5-14 become 10, ... so no count 1..min_cell-1 can appear; the row's `suppressed`
  column names the columns that were changed.

Zero is never a small cell (an empty stratum discloses nobody). Only the count columns named by the
caller are touched; `assert_exportable` re-checks them before every write of an export table.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

METHODS = ("suppress", "coarsen")


class SmallCellError(ValueError):
    """An export table still holds a count between 1 and min_cell - 1."""


def coarsen_value(values, min_cell: int) -> np.ndarray:
    """Round counts to the nearest multiple of `min_cell` (halves up); NaN stays NaN."""
    v = np.asarray(values, dtype=float)
    return np.floor(v / min_cell + 0.5) * min_cell


def _small(values: pd.Series, min_cell: int) -> pd.Series:
    v = pd.to_numeric(values, errors="coerce")
    return (v >= 1) & (v < min_cell)


def suppress_counts(
    df: pd.DataFrame,
    count_columns: Sequence[str],
    min_cell: int,
    method: str,
    dependent: dict[str, Iterable[str]] | None = None,
) -> pd.DataFrame:
    """Return a copy of `df` where no count column holds a value in [1, min_cell).

    `count_columns`: the columns holding numbers of persons, lines or events.
    `dependent`: {count column: columns to blank when that count is small} (both methods), e.g. the
    median of a stratum of fewer than min_cell lines.
    Count columns come back as nullable Int64; a string column `suppressed` lists, per row, the
    columns blanked or coarsened (empty when none), appended to any existing value.
    """
    if method not in METHODS:
        raise ValueError(f"privacy.method must be one of {METHODS}, got {method!r}")
    if min_cell < 1:
        raise ValueError(f"privacy.min_cell must be >= 1, got {min_cell}")
    out = df.copy()
    missing = [c for c in count_columns if c not in out.columns]
    if missing:
        raise KeyError(f"count columns {missing} not in table (has {list(out.columns)})")
    flags = pd.Series([""] * len(out), index=out.index, dtype=object)
    if "suppressed" in out.columns:
        flags = out["suppressed"].fillna("").astype(str)

    def flag(mask: pd.Series, name: str) -> None:
        nonlocal flags
        add = np.where(mask, name, "")
        joined = [";".join(x for x in (a, b) if x) for a, b in zip(flags, add, strict=True)]
        flags = pd.Series(joined, index=out.index, dtype=object)

    for col in count_columns:
        values = pd.to_numeric(out[col], errors="coerce")
        small = _small(values, min_cell)
        for dep in (dependent or {}).get(col, ()):
            if dep in out.columns:
                out[dep] = out[dep].mask(small)
        if method == "suppress":
            new = values.mask(small)
            flag(small, col)
        else:
            new = pd.Series(coarsen_value(values, min_cell), index=out.index)
            flag(values.notna() & (new != values), col)
        out[col] = new.round().astype("Int64")
    out["suppressed"] = flags
    return out


def complementary_suppress(
    df: pd.DataFrame, count_column: str, partition: Sequence[str], min_cell: int
) -> pd.DataFrame:
    """Secondary suppression inside partitions whose total is published elsewhere.

    Within each group of rows sharing `partition` (e.g. the first-line regimen classes of one lines
    source and endpoint, whose sum is the published first-line total), if some cells of
    `count_column` are blanked, blank further cells, smallest first, until at least two are blanked
    and the blanked cells hold at least `min_cell` in total, so no blanked cell can be recovered
    by subtraction. Works on the output of `suppress_counts` (method suppress); needs the unblanked
    values, so call it with the original counts in `count_column + "_raw"`.
    """
    raw = f"{count_column}_raw"
    out = df.copy()
    add_mask = pd.Series(False, index=out.index)
    for _, grp in out.groupby(list(partition), sort=False, dropna=False):
        blanked = grp[count_column].isna() & grp[raw].fillna(0).gt(0)
        if not blanked.any():
            continue
        total = grp.loc[blanked, raw].sum()
        n = int(blanked.sum())
        for idx in grp.loc[~blanked & grp[raw].gt(0), raw].sort_values(kind="mergesort").index:
            if n >= 2 and total >= min_cell:
                break
            add_mask[idx] = True
            total += grp.loc[idx, raw]
            n += 1
    out.loc[add_mask, count_column] = pd.NA
    flags = out["suppressed"].fillna("").astype(str) if "suppressed" in out.columns else pd.Series("", index=out.index)
    out["suppressed"] = [
        ";".join(x for x in (f, count_column + "(secondary)" if m else "") if x)
        for f, m in zip(flags, add_mask, strict=True)
    ]
    return out


def assert_exportable(df: pd.DataFrame, count_columns: Sequence[str], min_cell: int, name: str = "table") -> None:
    """Raise SmallCellError if any count column holds a value in [1, min_cell)."""
    for col in count_columns:
        small = _small(df[col], min_cell)
        if small.any():
            rows = list(np.flatnonzero(small.to_numpy()))[:10]
            raise SmallCellError(f"{name}: column {col!r} holds counts between 1 and {min_cell - 1} (rows {rows})")


def write_export(df: pd.DataFrame, path: str | Path, count_columns: Sequence[str], min_cell: int) -> None:
    """Check `df` with `assert_exportable` and write it (CSV or Parquet, by extension)."""
    path = Path(path)
    assert_exportable(df, count_columns, min_cell, name=str(path))
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".parquet":
        import pyarrow as pa

        from lotluca.io import write_parquet

        write_parquet(pa.Table.from_pandas(df, preserve_index=False), path)
    else:
        df.to_csv(path, index=False, lineterminator="\n")
