"""Reading and writing tables: Parquet (pyarrow, deterministic) and CSV, with clear errors."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

# the Parquet writer settings of every file the study writes (also used by writers appending row groups)
PARQUET_OPTIONS = {"compression": "zstd", "write_statistics": True, "store_schema": False}
ROW_GROUP_SIZE = 1_000_000


def write_parquet(table: pa.Table, path: str | Path) -> None:
    """Write deterministically (no wall-clock metadata, fixed row groups) so reruns are byte-identical."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    table = table.replace_schema_metadata(None)
    pq.write_table(table, path, row_group_size=ROW_GROUP_SIZE, **PARQUET_OPTIONS)


def read_parquet(path: str | Path) -> pa.Table:
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: file not found")
    return pq.read_table(path)


def splice(text: str, markers: tuple[str, str], section: str, where: str = "docs") -> str:
    """`text` with `section` (given one final newline) between the two markers, which must both be present:
    how every generated table of a docs page is kept in place."""
    begin, end = markers
    if begin not in text or end not in text:
        from lotluca.errors import InputError

        raise InputError(where, f"markers {begin} and {end} not found")
    head, rest = text.split(begin, 1)
    return f"{head}{begin}\n{section.rstrip(chr(10))}\n{end}{rest.split(end, 1)[1]}"
