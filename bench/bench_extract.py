"""Benchmark of the extraction: simulate N patients (not timed), then time the SNDS + ODH extraction.

    python bench/bench_extract.py --patients 100000 [--seed S] [--format parquet|csv] [--cohort DIR]

`--cohort DIR` reuses an already simulated folder (DIR/snds, DIR/odh) instead of simulating.
Prints one JSON line: patients, format, seconds (wall-clock of reading, cleaning and writing both
sources), seconds_snds, seconds_odh, raw rows read, output rows, peak_rss_mb.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))

import pandas as pd  # noqa: E402

from lotluca.sources import pipeline  # noqa: E402


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--patients", type=int, default=100_000)
    ap.add_argument("--seed", type=int, default=20261123)
    ap.add_argument("--format", choices=["parquet", "csv"], default="parquet")
    ap.add_argument(
        "--cohort", default=None, help="an already simulated folder holding snds/ and odh/ (skips simulation)"
    )
    args = ap.parse_args(argv)
    tmp = Path(tempfile.mkdtemp(prefix="lotluca-bench-extract-"))
    try:
        cohort = Path(args.cohort) if args.cohort else tmp / "simulated"
        if not args.cohort:
            from lotluca.simulate import simulate_to_files

            simulate_to_files({"patients": args.patients}, {}, args.seed, cohort, args.format)
        config = {}
        t0 = time.perf_counter()
        acc_s = pipeline.run_snds(
            pipeline.find_tables(cohort / "snds", pipeline.SNDS_TABLES), tmp / "extract" / "snds", config
        )
        t1 = time.perf_counter()
        acc_o = pipeline.run_odh(
            pipeline.find_tables(cohort / "odh", pipeline.ODH_TABLES), tmp / "extract" / "odh", config
        )
        t2 = time.perf_counter()
        acc = pd.concat([acc_s, acc_o])
        rows_out = {f"{src}/{t}": pd.read_parquet(tmp / "extract" / src / f"{t}.parquet", columns=[]).shape[0]
                    for src, tables in (("snds", ("persons", "exposures", "chemo_sessions", "stays", "rejects")), ("odh", ("persons", "exposures", "stays", "rejects")))
                    for t in tables}  # fmt: skip
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"patients": args.patients if not args.cohort else None, "format": args.format, "seconds": round(t2 - t0, 1),
                      "seconds_snds": round(t1 - t0, 1), "seconds_odh": round(t2 - t1, 1),
                      "rows_read": int(acc.loc[acc["outcome"] == "read", "rows"].sum()), "rows_out": rows_out, "peak_rss_mb": round(peak)}))  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
