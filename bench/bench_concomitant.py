"""Recovery of the simulated concomitant-medication hazard ratios from the gold lines (docs/concomitant.md).

Usage: python bench/bench_concomitant.py [--patients 20000] [--seeds 1 2 3 4 5] [--splits train test]
For each seed: simulate in memory, analyse the gold lines (default `concomitant` config) with the
exposures of the simulated dispensations, print one JSON line per (exposure, endpoint) with the estimate,
its 95% CI, the configured HR (`simulated_hr`, applied to rwTTNT by the generator) and the HR the
truth implies on rwTTNT (`truth_rwTTNT_hr`), then a Markdown summary (mean estimate, coverage) for the README."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))

import pandas as pd  # noqa: E402

from lotluca.concomitant.truthcheck import recovery  # noqa: E402


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--patients", type=int, default=20000)
    ap.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3, 4, 5])
    ap.add_argument("--splits", nargs="+", default=["train", "test"])
    a = ap.parse_args(argv)
    parts = []
    for seed in a.seeds:
        t0 = time.perf_counter()
        res = recovery(a.patients, seed, tuple(a.splits))
        for r in res.to_dict("records"):
            print(json.dumps({k: (round(v, 4) if isinstance(v, float) else v) for k, v in r.items()
                              if k not in ("algorithm", "scenario", "note")}, default=str))  # fmt: skip
        print(json.dumps({"seed": seed, "seconds": round(time.perf_counter() - t0, 1)}))
        parts.append(res)
    df = pd.concat(parts)
    g = df.groupby(["exposure", "endpoint"], sort=True)
    summ = pd.DataFrame({
        "lines (mean)": g["n_lines"].mean().round(0).astype(int), "exposed (mean)": g["n_exposed"].mean().round(0).astype(int),
        "simulated HR": g["simulated_hr"].first(), "truth rwTTNT HR (mean)": g["truth_rwTTNT_hr"].mean().round(2),
        "gold estimate (mean)": g["hr"].mean().round(2),
        "CI contains simulated HR": g["inside"].sum().astype(str) + f"/{len(a.seeds)}",
        "CI contains truth rwTTNT HR": g["inside_truth"].sum().astype(str) + f"/{len(a.seeds)}",
    }).reset_index()  # fmt: skip
    summ.loc[summ["endpoint"] != "rwTTNT", ["truth rwTTNT HR (mean)", "CI contains truth rwTTNT HR"]] = "-"
    print(summ.to_markdown(index=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
