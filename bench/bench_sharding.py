"""Benchmark of lotluca.sharding at national scale: hashing 500,000 person ids, splitting a
1,000,000-row table into 10 shards (one hash pass, as split_files does) and gathering it back.

    .venv/bin/python bench/bench_sharding.py
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
import pyarrow as pa

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
from lotluca.sharding import gather, shard_of  # noqa: E402


def main(persons: int = 500_000, rows: int = 1_000_000, shards: int = 10) -> None:
    ids = pa.array([f"P{i:09d}" for i in range(persons)])
    t = time.perf_counter()
    s = shard_of(ids, shards)
    counts = np.bincount(s, minlength=shards)
    print(
        f"shard_of: {persons} ids in {time.perf_counter() - t:.3f} s; persons per shard {counts.min()}..{counts.max()}"
    )
    rng = np.random.default_rng(0)
    table = pa.table(
        {
            "person_id": ids.take(pa.array(rng.integers(0, persons, rows))),
            "line_number": pa.array(rng.integers(1, 5, rows).astype(np.int16)),
            "start_date": pa.array(rng.integers(15000, 20000, rows).astype(np.int32)).cast(pa.date32()),
        }
    )
    t = time.perf_counter()
    row_shard = shard_of(table.column("person_id"), shards)
    parts = [table.filter(pa.array(row_shard == k)) for k in range(shards)]
    print(f"split: {rows} rows into {shards} shards in {time.perf_counter() - t:.2f} s")
    t = time.perf_counter()
    out = gather(parts, ["person_id", "line_number", "start_date"])
    print(f"gather + canonical sort: {out.num_rows} rows in {time.perf_counter() - t:.2f} s")


if __name__ == "__main__":
    main()
