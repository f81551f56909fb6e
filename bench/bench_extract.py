"""Benchmark of the extraction: simulate N patients (not timed), then time the SNDS + ODH extraction.

    python bench/bench_extract.py --patients 100000 [--seed S] [--format parquet|csv] [--cohort DIR] [--jobs 2]

`--cohort DIR` reuses an already simulated folder (DIR/snds, DIR/odh) instead of simulating.
`--jobs 2` (default) runs the SNDS and the ODH extraction in two processes at once, as
`snakemake --cores 2` runs the two independent jobs of rule extract (one per source); `--jobs 1` runs them
one after the other. Prints one JSON line: patients, format, jobs, seconds (wall-clock of reading,
cleaning and writing both sources), seconds_snds, seconds_odh, cpu_seconds (all processes), raw rows
read, output rows, peak_rss_mb (largest process), and the floor: `floor_seconds`, a bare read of the same
raw SNDS files into Arrow tables in this process (pyarrow, no cleaning, nothing written), measured in the
same run after the extraction, and `floor_ratio` = seconds_snds / floor_seconds; `load_avg_1min`: the
machine's load average when the timed part ended (a shared machine slows every figure but the memory).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))

import pandas as pd  # noqa: E402

from lotluca.config import default_config  # noqa: E402
from lotluca.extract import pipeline, steps  # noqa: E402

# the tables counted in rows_out (ODH's chemo_sessions, always empty, is left out as before)
ROWS_OUT = {
    "snds": ("persons", "exposures", "chemo_sessions", "stays", "rejects"),
    "odh": ("persons", "exposures", "stays", "rejects"),
}


def _extract(source: str, cohort: str, out: str) -> tuple[str, float, float, pd.DataFrame, float]:
    t0, c0 = time.perf_counter(), time.process_time()
    cfg = default_config()
    outputs = pipeline.output_files(Path(out) / source)
    tables = [str(f) for f in sorted((Path(cohort) / source).iterdir())]
    steps.extract({"tables": tables}, outputs, study=cfg["study"], extract=cfg["extract"], source=source, part=False)
    acc = pd.read_csv(outputs["accounting"])
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return source, time.perf_counter() - t0, time.process_time() - c0, acc, rss


def _bare_read(folder: Path) -> tuple[float, int]:
    """Seconds and rows of a plain read of every raw table file of `folder` (the floor of the extraction)."""
    import pyarrow.csv as pv
    import pyarrow.parquet as pq

    t0, rows = time.perf_counter(), 0
    for f in sorted(folder.iterdir()):
        if f.suffix == ".parquet":
            rows += pq.read_table(f).num_rows
        elif f.suffix == ".csv":
            rows += pv.read_csv(f, parse_options=pv.ParseOptions(delimiter=";")).num_rows
    return time.perf_counter() - t0, rows


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--patients", type=int, default=100_000)
    ap.add_argument("--seed", type=int, default=20261123)
    ap.add_argument("--format", choices=["parquet", "csv"], default="parquet")
    ap.add_argument(
        "--cohort", default=None, help="an already simulated folder holding snds/ and odh/ (skips simulation)"
    )
    ap.add_argument(
        "--jobs", type=int, choices=[1, 2], default=2, help="extract SNDS and ODH in parallel (2) or in sequence (1)"
    )
    args = ap.parse_args(argv)
    tmp = Path(tempfile.mkdtemp(prefix="lotluca-bench-extract-"))
    try:
        cohort = Path(args.cohort) if args.cohort else tmp / "simulated"
        if not args.cohort:
            from lotluca.simulate import simulate_to_files

            simulate_to_files({"patients": args.patients}, {}, args.seed, cohort, args.format)
        out = tmp / "extract"
        t0 = time.perf_counter()
        if args.jobs == 2:
            with ProcessPoolExecutor(max_workers=2) as pool:
                results = list(pool.map(_extract, ["snds", "odh"], [str(cohort)] * 2, [str(out)] * 2))
        else:
            results = [_extract(s, str(cohort), str(out)) for s in ("snds", "odh")]
        wall = time.perf_counter() - t0
        load = os.getloadavg()[0]
        floor_seconds, floor_rows = _bare_read(cohort / "snds")
        by = {r[0]: r for r in results}
        acc = pd.concat([r[3] for r in results])
        rows_out = {
            f"{src}/{t}": pd.read_parquet(out / src / f"{t}.parquet", columns=[]).shape[0]
            for src, tables in ROWS_OUT.items()
            for t in tables
        }
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    summary = {
        "patients": None if args.cohort else args.patients,
        "format": args.format,
        "jobs": args.jobs,
        "seconds": round(wall, 1),
        "seconds_snds": round(by["snds"][1], 1),
        "seconds_odh": round(by["odh"][1], 1),
        "cpu_seconds": round(by["snds"][2] + by["odh"][2], 1),
        "cpu_snds": round(by["snds"][2], 1),
        "cpu_odh": round(by["odh"][2], 1),
        "rows_read": int(acc.loc[acc["outcome"] == "read", "rows"].sum()),
        "rows_out": rows_out,
        "peak_rss_mb": round(max(r[4] for r in results)),
        "floor_seconds": round(floor_seconds, 2),
        "floor_rows": floor_rows,
        "floor_ratio": round(by["snds"][1] / floor_seconds, 1) if floor_seconds > 0 else None,
        "load_avg_1min": round(load, 2),
    }
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
