"""The `lotluca extract` sub-command: extract SNDS and/or ODH folders outside the workflow.

    lotluca extract --snds DIR [--odh DIR] --out DIR [--config config.yaml]

Writes OUT/snds/ and OUT/odh/ (the same files as the workflow's `extract_snds` / `extract_odh` rules,
which call the same functions), prints the accounting summary, and exits with code 2 and a clear
message (file, column, rows, what was expected) on structurally bad input.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import yaml

from lotluca.extract import pipeline
from lotluca.extract.accounting import format_summary


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "extract", help="extract SNDS / ODH table files into canonical tables", description=__doc__.splitlines()[0]
    )
    p.add_argument(
        "--snds", type=Path, help="folder holding the SNDS table files (IR_BEN_R.csv, ER_PHA_F.parquet, ...)"
    )
    p.add_argument("--odh", type=Path, help="folder holding the ODH table files (odh_patients.csv, ...)")
    p.add_argument("--out", type=Path, required=True, help="output folder (snds/ and odh/ are created in it)")
    p.add_argument(
        "--config",
        type=Path,
        default=None,
        help="config.yaml whose study: and extract: blocks apply (default: built-in defaults)",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.snds is None and args.odh is None:
        raise SystemExit("lotluca extract: give --snds DIR and/or --odh DIR")
    config = yaml.safe_load(args.config.read_text(encoding="utf-8")) if args.config else {}
    if args.snds is not None:
        acc = pipeline.run_snds(pipeline.find_tables(args.snds, pipeline.SNDS_TABLES), args.out / "snds", config)
        print(f"SNDS extraction -> {args.out / 'snds'}\n{format_summary(acc)}")
    if args.odh is not None:
        acc = pipeline.run_odh(pipeline.find_tables(args.odh, pipeline.ODH_TABLES), args.out / "odh", config)
        print(f"ODH extraction -> {args.out / 'odh'}\n{format_summary(acc)}")
    return 0
