"""The `lotluca simulate` sub-command: draw the synthetic cohort and write every source table."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from lotluca import layout


def _default_out() -> str:
    """The folder of the cohort-level simulated files of the layout (its calibration table's folder)."""
    return str(Path(layout.path("simulate.calibration")).parent)


def register(subparsers) -> None:
    out = _default_out()
    p = subparsers.add_parser(
        "simulate",
        help="write a synthetic ODH + SNDS + gold-standard cohort",
        description="Draw the synthetic cohort (clinical truth first, then what each source observes) and write "
        "OUT/snds, OUT/odh, OUT/gold, OUT/truth and OUT/calibration.csv (see docs/simulate.md).",
    )
    p.add_argument(
        "--patients", type=int, default=None, help="number of ODH patients (default: config simulate.patients)"
    )
    p.add_argument("--seed", type=int, default=None, help="master seed (default: config seed)")
    p.add_argument("--out", default=out, help=f"output folder (default {out})")
    p.add_argument("--format", choices=["parquet", "csv"], default="parquet", help="format of the SNDS and ODH tables")
    p.add_argument("--config", default=None, help="config.yaml to read the simulate and study blocks from")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from lotluca.config import load_config
    from lotluca.simulate import simulate_to_files
    from lotluca.simulate.params import SimSettings

    cfg = load_config(args.config)
    sim = dict(cfg["simulate"])
    if args.patients is not None:
        sim["patients"] = args.patients
    seed = args.seed if args.seed is not None else cfg["seed"]
    settings = SimSettings.from_config(sim, study=cfg["study"])
    summary = simulate_to_files(settings, None, seed, args.out, args.format)
    logging.getLogger(__name__).info("simulate: %s", summary)
    print(f"lotluca simulate: {summary['patients']} patients + {summary['decoys']} decoys written to {args.out}")
    return 0
