"""Run one benchmark script of bench/ and append what it prints to bench/results.jsonl, with the date, the
commit and the machine's load, so that docs/benchmarks.md (python tools/make_docs.py) is generated from
measured lines only.

    python tools/bench_record.py bench/bench_simulate.py --patients 5000
    python tools/bench_record.py --dry-run bench/bench_lines.py --patients 20000   # print, do not record

Every line the script prints that is a JSON object becomes one record:
{"bench", "script", "args", "date" (UTC, ISO), "commit" (short hash, "+dirty" when the work tree has
changes), "cpus", "load_avg_1min_start", "result" (the printed object)}. A script that prints no JSON
object records nothing and the command exits with status 1.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "bench" / "results.jsonl"


def commit() -> str:
    """Short hash of HEAD, with "+dirty" when tracked files have uncommitted changes."""
    head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True)
    dirty = subprocess.run(["git", "diff", "--quiet", "HEAD", "--"], cwd=REPO).returncode != 0
    return head.stdout.strip() + ("+dirty" if dirty else "")


def bench_name(script: str) -> str:
    """bench/bench_simulate.py -> simulate."""
    return Path(script).stem.removeprefix("bench_")


def records(script: str, args: list[str], stdout: str, started: dt.datetime, load: float) -> list[dict]:
    """One record per JSON object line of `stdout`."""
    base = {
        "bench": bench_name(script),
        "script": Path(script).as_posix(),
        "args": args,
        "date": started.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "commit": commit(),
        "cpus": os.cpu_count(),
        "load_avg_1min_start": round(load, 2),
    }
    out = []
    for line in stdout.splitlines():
        line = line.strip()
        if line.startswith("{"):
            try:
                obj = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(obj, dict):
                out.append({**base, "result": obj})
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dry-run", action="store_true", help="print the records, do not append them")
    ap.add_argument("--results", default=str(RESULTS), help="JSON lines file to append to")
    ap.add_argument("script", help="a benchmark script, e.g. bench/bench_simulate.py")
    ap.add_argument("args", nargs=argparse.REMAINDER, help="its arguments")
    a = ap.parse_args(argv)
    started, load = dt.datetime.now(dt.UTC), os.getloadavg()[0]
    proc = subprocess.run([sys.executable, a.script, *a.args], cwd=REPO, capture_output=True, text=True)
    sys.stdout.write(proc.stdout)
    sys.stderr.write(proc.stderr)
    if proc.returncode != 0:
        print(f"bench_record: {a.script} exited with {proc.returncode}; nothing recorded", file=sys.stderr)
        return proc.returncode
    recs = records(a.script, a.args, proc.stdout, started, load)
    if not recs:
        print(f"bench_record: {a.script} printed no JSON line; nothing recorded", file=sys.stderr)
        return 1
    text = "".join(json.dumps(r, sort_keys=True) + "\n" for r in recs)
    if a.dry_run:
        sys.stdout.write(text)
    else:
        with open(a.results, "a", encoding="utf-8") as fh:
            fh.write(text)
        print(f"bench_record: {len(recs)} record(s) appended to {a.results}; run python tools/make_docs.py")
    return 0


if __name__ == "__main__":
    sys.exit(main())
