"""Benchmark of the synthetic cohort generator: one JSON line (patients, decoys, seconds, rows per table,
peak_rss_mb). Usage: python bench/bench_simulate.py --patients 100000 [--seed S] [--format parquet|csv]
[--out DIR]. Wall-clock (and CPU) seconds cover drawing, rendering and writing every table; the 1-minute
load average is printed because the figure is only meaningful on an otherwise idle machine."""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))

from lotluca.config import default_config  # noqa: E402
from lotluca.simulate import simulate_to_files  # noqa: E402
from lotluca.simulate.params import SimSettings  # noqa: E402


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--patients", type=int, default=100_000)
    ap.add_argument("--seed", type=int, default=None, help="master seed (default: the config's)")
    ap.add_argument("--format", choices=["parquet", "csv"], default="parquet")
    ap.add_argument("--out", default=None, help="output folder (default: a temporary folder, removed afterwards)")
    args = ap.parse_args(argv)
    out = Path(args.out) if args.out else Path(tempfile.mkdtemp(prefix="lotluca-bench-"))
    t0, c0 = time.perf_counter(), time.process_time()
    cfg = default_config(simulate={"patients": args.patients})
    settings = SimSettings.from_config(cfg["simulate"], study=cfg["study"])
    seed = cfg["seed"] if args.seed is None else args.seed
    summary = simulate_to_files(settings, None, seed, out, args.format)
    seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
    if not args.out:
        shutil.rmtree(out, ignore_errors=True)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    record = {"patients": summary["patients"], "decoys": summary["decoys"], "format": args.format}
    record |= {
        "seconds": round(seconds, 1),
        "cpu_seconds": round(cpu, 1),
        "load_avg_1min": round(os.getloadavg()[0], 1),
    }
    record |= {"rows": summary["rows"], "peak_rss_mb": round(peak)}
    print(json.dumps(record))
    return 0


if __name__ == "__main__":
    sys.exit(main())
