"""The `lotluca simulate` sub-command: draw the synthetic cohort and write every source table."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from lotluca.errors import LotlucaError


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "simulate",
        help="write a synthetic ODH + SNDS + gold-standard cohort",
        description="Draw the synthetic cohort (clinical truth first, then what each source observes) and write "
        "OUT/snds, OUT/odh, OUT/gold, OUT/truth and OUT/calibration.csv.",
    )
    p.add_argument(
        "--patients", type=int, default=None, help="number of ODH patients (default: config simulate.patients)"
    )
    p.add_argument("--seed", type=int, default=None, help="master seed (default: config seed)")
    p.add_argument("--out", default="results/simulated", help="output folder (default results/simulated)")
    p.add_argument("--format", choices=["parquet", "csv"], default="parquet", help="format of the SNDS and ODH tables")
    p.add_argument("--config", default=None, help="config.yaml to read the simulate: and study: blocks from")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import yaml

    from lotluca.simulate import simulate_to_files

    cfg: dict = {}
    if args.config:
        path = Path(args.config)
        if not path.is_file():
            raise LotlucaError(f"{path}: config file not found")
        cfg = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    sim = dict(cfg.get("simulate") or {})
    if args.patients is not None:
        sim["patients"] = args.patients
    seed = args.seed if args.seed is not None else int(cfg.get("seed", 20261123))
    summary = simulate_to_files(sim, cfg.get("study") or {}, seed, args.out, args.format)
    logging.getLogger(__name__).info("simulate: %s", summary)
    print(f"lotluca simulate: {summary['patients']} patients + {summary['decoys']} decoys written to {args.out}")
    return 0
