"""Benchmark of the evaluation: score a prediction of N gold persons with B bootstrap replicates.

    python bench/bench_evaluation.py --persons 20000 --bootstrap 1000

Gold: 1-3 lines per person (200 days apart), five regimens, every third chemo-doublet line followed by a
maintenance phase; prediction: 10% of lines missed, starts shifted by -40..+40 days, 5% of regimens
changed. Prints one JSON line: persons, gold_rows, bootstrap, seconds (scoring + bootstrap, numba
compilation excluded by a warm-up), peak_rss_mb, strata.
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
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from lotluca.config import default_config  # noqa: E402
from lotluca.evaluate import EvaluateSettings, evaluate  # noqa: E402

EVALUATE = default_config()["evaluate"]  # the schema's defaults of the `evaluate` block


def eval_settings(seed: int = 0, **block) -> EvaluateSettings:
    """EvaluateSettings of the default `evaluate` block updated by `block`, bootstrap seed `seed`."""
    return EvaluateSettings.from_config({**EVALUATE, **block}, seed=seed)


REGIMENS = np.array(["carboplatin+pemetrexed", "docetaxel", "nivolumab", "osimertinib", "pembrolizumab"])


def cohort(n: int, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    k = rng.integers(1, 4, size=n)
    pid = np.repeat(np.arange(n), k)
    line = np.arange(len(pid)) - np.repeat(np.cumsum(k) - k, k) + 1
    start = pd.Timestamp("2018-01-01") + pd.to_timedelta(
        rng.integers(0, 1000, size=n)[pid] + (line - 1) * 200, unit="D"
    )
    reg = REGIMENS[rng.integers(0, 5, size=len(pid))]
    gold = pd.DataFrame(
        {
            "person_id": np.char.add("p", pid.astype(str)),
            "line_number": line,
            "start_date": start,
            "regimen": reg,
            "is_maintenance": False,
        }
    )
    maint = gold[(gold["regimen"] == REGIMENS[0]) & (rng.random(len(gold)) < 0.33)].assign(
        regimen="pemetrexed", is_maintenance=True
    )
    maint["start_date"] += pd.Timedelta(days=84)
    gold = pd.concat([gold, maint], ignore_index=True)
    gold["end_reason"] = None
    pred = gold[rng.random(len(gold)) > 0.1].copy()
    pred["start_date"] += pd.to_timedelta(rng.integers(-40, 41, size=len(pred)), unit="D")
    swap = rng.random(len(pred)) < 0.05
    pred.loc[swap, "regimen"] = REGIMENS[rng.integers(0, 5, size=int(swap.sum()))]
    pred["end_reason"] = "gap"
    return pred, gold


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--persons", type=int, default=20000)
    ap.add_argument("--bootstrap", type=int, default=1000)
    args = ap.parse_args()
    pred, gold = cohort(args.persons)
    small = gold["person_id"].isin(gold["person_id"].head(20))
    evaluate(
        pred[pred["person_id"].isin(gold.loc[small, "person_id"])], gold[small], eval_settings(bootstrap=10)
    )  # warm-up
    t = time.perf_counter()
    metrics, _ = evaluate(pred, gold, eval_settings(bootstrap=args.bootstrap, seed=1))
    seconds = time.perf_counter() - t
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        json.dumps(
            {
                "persons": args.persons,
                "gold_rows": len(gold),
                "bootstrap": args.bootstrap,
                "seconds": round(seconds, 2),
                "peak_rss_mb": round(peak),
                "strata": int(metrics["stratum"].nunique()),
            }
        )
    )


if __name__ == "__main__":
    main()
