"""Benchmark of the lines engine: generate N patients (~25 exposure rows each) and reconstruct on one core.

    python bench/bench_lines.py --patients 1000000 --algorithm lotluca

Prints one JSON line: patients, rows, seconds (wall clock of the reconstruction only, numba compilation
excluded by a warm-up on a tiny input), patients_per_s, peak_rss_mb (whole process, generation
included), plus cpu_seconds (process CPU time of the reconstruction: robust on a shared machine),
load_average_1min, session_rows, line_rows and generate_seconds.
Patient histories are drawn from three templates with random start dates and 0-7-day cycle delays:
platinum-pemetrexed-pembrolizumab x4 then pemetrexed-pembrolizumab maintenance then docetaxel; erlotinib
monthly dispensations then osimertinib, with a PPI; carboplatin-paclitaxel (cisplatin swap) then
nivolumab every 14 days, then gemcitabine. IV patients also have unnamed 28Z07Z sessions.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time
from pathlib import Path

os.environ.setdefault("NUMBA_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))

import numpy as np  # noqa: E402
import pyarrow as pa  # noqa: E402

from lotluca import drugs  # noqa: E402
from lotluca.lines import load_params, reconstruct  # noqa: E402

# (day offset, ingredient, days of supply) per template; 25 rows each
T1 = [(21 * c, i, 1) for c in range(4) for i in ("carboplatin", "pemetrexed", "pembrolizumab")]
T1 += [(84 + 21 * c, i, 1) for c in range(5) for i in ("pemetrexed", "pembrolizumab")]
T1 += [(330 + 21 * c, "docetaxel", 1) for c in range(3)]
T2 = [(30 * c, "erlotinib", 30) for c in range(12)] + [(400 + 30 * c, "osimertinib", 30) for c in range(10)]
T2 += [(60 * c, "omeprazole", 28) for c in range(3)]
T3 = [(21 * c, i, 1) for c in range(2) for i in ("carboplatin", "paclitaxel")]
T3 += [(42 + 21 * c, i, 1) for c in range(2) for i in ("cisplatin", "paclitaxel")]
T3 += [(150 + 14 * c, "nivolumab", 1) for c in range(12)] + [(420 + 28 * c, "gemcitabine", 1) for c in range(5)]
TEMPLATES = [T1, T2, T3]
ROWS = 25


def _d32(x, mask=None):
    return pa.array(np.asarray(x, dtype=np.int32), mask=mask).cast(pa.date32())


def generate(n: int, seed: int = 1):
    rng = np.random.default_rng(seed)
    names = sorted({i for t in TEMPLATES for _, i, _ in t})
    code = {nm: k for k, nm in enumerate(names)}
    off = np.array([[o for o, _, _ in t] for t in TEMPLATES], dtype=np.int32)
    ing = np.array([[code[i] for _, i, _ in t] for t in TEMPLATES], dtype=np.int32)
    sup = np.array([[s for _, _, s in t] for t in TEMPLATES], dtype=np.int32)
    tmpl = rng.choice(3, size=n, p=[0.5, 0.2, 0.3])
    start = rng.integers(16000, 20000, size=n).astype(np.int32)  # days since 1970 (2013-2024)
    delay = np.cumsum(rng.integers(0, 8, size=(n, ROWS)).astype(np.int32) * (rng.random((n, ROWS)) < 0.3), axis=1)
    date = start[:, None] + off[tmpl] + delay
    end = date + sup[tmpl] - 1
    pid_codes = np.repeat(np.arange(n, dtype=np.int32), ROWS)
    ids = pa.array([f"P{i:08d}" for i in range(n)], pa.string())
    ing_flat = ing[tmpl].ravel()
    cls = pa.array([drugs.ingredient_class()[nm] for nm in names], pa.string())
    route = pa.array(
        ["oral" if drugs.ingredient_class()[nm] in ("egfr_tki", "ppi") else "iv" for nm in names], pa.string()
    )
    ing_idx = pa.array(ing_flat)
    exposures = pa.table(
        {
            "person_id": ids.take(pa.array(pid_codes)),
            "date": _d32(date.ravel()),
            "end_date": _d32(end.ravel()),
            "ingredient": pa.array(names, pa.string()).take(ing_idx),
            "drug_class": cls.take(ing_idx),
            "route": route.take(ing_idx),
        }
    )
    # one unnamed session per IV day of cheap chemotherapy (template 1 and 3 first rows)
    iv = np.isin(tmpl, [0, 2])
    sp = np.repeat(np.flatnonzero(iv), 4)
    sd = (date[iv][:, [0, 3, 6, 9]] + 1).ravel()
    sessions = pa.table({"person_id": ids.take(pa.array(sp.astype(np.int32))), "date": _d32(sd)})
    persons = pa.table(
        {
            "person_id": ids,
            "diagnosis_date": _d32(start - 10),
            "death_date": _d32(start + 700, mask=rng.random(n) > 0.6),
            "end_of_followup": _d32(np.full(n, 20819)),
        }
    )
    return exposures, persons, sessions


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--patients", type=int, default=100_000)
    ap.add_argument("--algorithm", default="lotluca")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args(argv)
    params = load_params(args.algorithm)
    t0 = time.perf_counter()
    exposures, persons, sessions = generate(args.patients, args.seed)
    t_gen = time.perf_counter() - t0
    gen_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    warm = generate(50, args.seed)
    reconstruct(*warm, params=params)  # numba compilation (or cache load) outside the timing
    t0, c0 = time.perf_counter(), time.process_time()
    lines = reconstruct(exposures, persons, sessions, params=params)
    seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        json.dumps(
            {
                "patients": args.patients,
                "rows": exposures.num_rows,
                "seconds": round(seconds, 2),
                "patients_per_s": round(args.patients / seconds),
                "peak_rss_mb": round(peak),
                "algorithm": params.name,
                "session_rows": sessions.num_rows,
                "line_rows": lines.num_rows,
                "cpu_seconds": round(cpu, 2),
                "load_average_1min": round(os.getloadavg()[0], 1),
                "generate_seconds": round(t_gen, 2),
                "generate_peak_rss_mb": round(gen_peak),
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
