"""Benchmark of the extraction: simulate N patients (not timed), then time the SNDS + ODH extraction.

    python bench/bench_extract.py --patients 100000 [--seed S] [--format parquet|csv] [--cohort DIR]
                                  [--cores 2] [--threads T]

`--cohort DIR` reuses an already simulated folder (DIR/snds, DIR/odh) instead of simulating.
Each source is extracted in a process of its own, scheduled as `snakemake --cores C` schedules the two
jobs of rule extract: the SNDS job takes `extract.threads` cores (`--threads`, default the config's), the
ODH job one; they run at once when both fit in `--cores` (default 2), else one after the other.
Prints one JSON line: patients, format, cores, threads, seconds (wall-clock of reading, cleaning and
writing both sources), seconds_snds, seconds_odh, cpu_seconds (all processes, the extraction's worker
processes included), raw rows read, output rows, the memory: `peak_memory_mb`, the peak of the memory the
SNDS extraction holds (the proportional set size, PSS, summed over its process and its worker
processes, sampled every 0.5 s: a page shared by several processes counts once), and `peak_rss_mb`,
the peak resident memory of the largest single process; the floor: `floor_seconds`, a bare read of the
same raw SNDS files into Arrow tables in this process (pyarrow, every column, no cleaning, nothing
written), measured in the same run after the extraction, and `floor_ratio` = seconds_snds /
floor_seconds; the targets of the SNDS extraction (`target_seconds`, `target_memory_mb`,
`target_floor_ratio`); `load_avg_1min`: the machine's load average when the timed part ended (a shared
machine slows every figure but the memory).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import resource
import shutil
import sys
import tempfile
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))

import pandas as pd  # noqa: E402

from lotluca.config import default_config  # noqa: E402
from lotluca.extract import pipeline, steps  # noqa: E402

SOURCES = ("snds", "odh")
# the tables counted in rows_out (ODH's chemo_sessions, always empty, is left out as before)
ROWS_OUT = {
    "snds": ("persons", "exposures", "chemo_sessions", "stays", "rejects"),
    "odh": ("persons", "exposures", "stays", "rejects"),
}


TARGETS = {"target_seconds": 20, "target_memory_mb": 2048, "target_floor_ratio": 5}


def _tree(pid: int) -> list[int]:
    """`pid` and its descendants (Linux /proc)."""
    out = [pid]
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as fh:
                for child in fh.read().split():
                    out += _tree(int(child))
    except OSError:
        pass
    return out


def _kb(pid: int, file: str, key: str) -> int:
    try:
        with open(f"/proc/{pid}/{file}") as fh:
            return next((int(line.split()[1]) for line in fh if line.startswith(key)), 0)
    except OSError:
        return 0


class _PeakMemory:
    """Peak of the summed PSS of this process and its descendants, sampled on a thread (Linux; 0 elsewhere)."""

    def __init__(self):
        self.peak_kb, self.stop = 0, threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self.stop.is_set():
            pss = sum(_kb(p, "smaps_rollup", "Pss:") for p in _tree(os.getpid()))
            self.peak_kb = max(self.peak_kb, pss)
            self.stop.wait(0.5)  # reading smaps_rollup costs CPU: not too often

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join()


def _extract(source: str, cohort: str, out: str, threads: int) -> tuple:
    t0, c0 = time.perf_counter(), time.process_time()
    cfg = default_config()
    cfg["extract"]["threads"] = threads
    outputs = pipeline.output_files(Path(out) / source)
    tables = [str(f) for f in sorted((Path(cohort) / source).iterdir())]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    with _PeakMemory() as memory:
        steps.extract(
            {"tables": tables}, outputs, study=cfg["study"], extract=cfg["extract"], source=source, part=False
        )
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    workers = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    acc = pd.read_csv(outputs["accounting"])
    rss = max(resource.getrusage(w).ru_maxrss for w in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)) / 1024
    cpu = time.process_time() - c0 + workers
    return source, time.perf_counter() - t0, cpu, acc, rss, memory.peak_kb / 1024


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


def _run_sources(cohort: str, out: str, threads: int, together: bool) -> list[tuple]:
    """`_extract` of each source, each in a fresh process, both at once when `together`."""
    jobs = [(s, cohort, out, threads if s == "snds" else 1) for s in SOURCES]
    if together:
        with ProcessPoolExecutor(max_workers=2, mp_context=_fork()) as pool:
            return [r.result() for r in [pool.submit(_extract, *job) for job in jobs]]
    results = []
    for job in jobs:
        with ProcessPoolExecutor(max_workers=1, mp_context=_fork()) as pool:
            results.append(pool.submit(_extract, *job).result())
    return results


def _fork():
    """Fresh worker processes per run: forked (Linux), else the platform's default."""
    return multiprocessing.get_context("fork") if "fork" in multiprocessing.get_all_start_methods() else None


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--patients", type=int, default=100_000)
    ap.add_argument("--seed", type=int, default=20261123)
    ap.add_argument("--format", choices=["parquet", "csv"], default="parquet")
    ap.add_argument(
        "--cohort", default=None, help="an already simulated folder holding snds/ and odh/ (skips simulation)"
    )
    ap.add_argument("--cores", type=int, default=2, help="cores of the machine given to the extraction")
    ap.add_argument("--threads", type=int, default=None, help="extract.threads of the SNDS job (default: config)")
    args = ap.parse_args(argv)
    tmp = Path(tempfile.mkdtemp(prefix="lotluca-bench-extract-"))
    try:
        cohort = Path(args.cohort) if args.cohort else tmp / "simulated"
        if not args.cohort:
            from lotluca.simulate import simulate_to_files

            simulate_to_files({"patients": args.patients}, {}, args.seed, cohort, args.format)
        out = tmp / "extract"
        threads = args.threads or default_config()["extract"]["threads"]
        together = threads + 1 <= args.cores  # the SNDS job's threads and the ODH job's one
        t0 = time.perf_counter()
        results = _run_sources(str(cohort), str(out), threads, together)
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
        "cores": args.cores,
        "threads": threads,
        "seconds": round(wall, 1),
        "seconds_snds": round(by["snds"][1], 1),
        "seconds_odh": round(by["odh"][1], 1),
        "cpu_seconds": round(by["snds"][2] + by["odh"][2], 1),
        "cpu_snds": round(by["snds"][2], 1),
        "cpu_odh": round(by["odh"][2], 1),
        "rows_read": int(acc.loc[acc["outcome"] == "read", "rows"].sum()),
        "rows_out": rows_out,
        "peak_memory_mb": round(by["snds"][5]),
        "peak_rss_mb": round(max(r[4] for r in results)),
        "floor_seconds": round(floor_seconds, 2),
        "floor_rows": floor_rows,
        "floor_ratio": round(by["snds"][1] / floor_seconds, 1) if floor_seconds > 0 else None,
        "load_avg_1min": round(load, 2),
        **TARGETS,
    }
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
