"""Benchmark of the ODH <-> SNDS linkage: synthetic canonical persons and stays, then link them.

    python bench/bench_linkage.py --odh 100000 --snds 300000

The inputs come from `lotluca.link.synthetic` (vectorised, a few seconds): ODH patients at cancer
centres (a fifth never in a stay at the centre), their SNDS counterparts with demographic noise and
missing or shifted PMSI stays, other beneficiaries (some treated at the same centres, some with an ODH
patient's exact demographics), duplicated person rows (two BEN_NIR_PSA). Prints one JSON line: sizes,
generate_seconds, link_seconds (deterministic + Splink training and prediction + resolution),
the stage split, links by method, precision / recall / F1 against the drawn truth, peak_rss_mb.
DuckDB runs on `--threads` threads (2 by default, the target machine).
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))

from lotluca.config import default_config  # noqa: E402
from lotluca.link.pipeline import LinkSettings, link_records  # noqa: E402
from lotluca.link.quality import linkage_quality  # noqa: E402
from lotluca.link.synthetic import synthetic_linkage_inputs  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--odh", type=int, default=100_000, help="ODH patients")
    ap.add_argument("--snds", type=int, default=300_000, help="SNDS beneficiaries")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args(argv)

    t0 = time.perf_counter()
    d = synthetic_linkage_inputs(args.odh, args.snds, seed=args.seed)
    t1 = time.perf_counter()
    cfg = default_config()
    params = LinkSettings.from_config({**cfg["link"], "threads": args.threads}, seed=cfg["seed"])
    links, stats = link_records(d["odh_persons"], d["odh_stays"], d["snds_persons"], d["snds_stays"], params)
    t2 = time.perf_counter()
    q = linkage_quality(links, d["odh_persons"]["person_id"], d["truth"])
    out = {
        "odh": args.odh,
        "snds": args.snds,
        "odh_stays": len(d["odh_stays"]),
        "snds_stays": len(d["snds_stays"]),
        "threads": args.threads,
        "generate_seconds": round(t1 - t0, 2),
        "link_seconds": round(t2 - t1, 2),
        "deterministic_seconds": stats["seconds"]["deterministic"],
        "probabilistic_seconds": stats["seconds"]["probabilistic"],
        "links": q["links_by_method"],
        "pairs_scored": stats["probabilistic"]["pairs_scored"],
        "link_rate": round(q["link_rate"], 4),
        "precision": round(q["overall"]["precision"], 4),
        "recall": round(q["overall"]["recall"], 4),
        "f1": round(q["overall"]["f1"], 4),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
