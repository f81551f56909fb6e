"""The `lotluca extract` sub-command: extract SNDS and/or ODH folders outside the workflow.

    lotluca extract --snds DIR [--odh DIR] [--out DIR] [--config config.yaml]

Writes OUT/snds/ and OUT/odh/ (default: the workflow's extract folders), the same files as the
workflow's `extract` rule, which calls the same functions; prints the accounting summary, and exits with
code 2 and a clear message (file, column, rows, what was expected) on structurally bad input.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from lotluca import layout
from lotluca.config import load_config
from lotluca.extract import pipeline
from lotluca.extract.accounting import format_summary
from lotluca.extract.common import ExtractSettings


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "extract", help="extract SNDS / ODH table files into canonical tables", description=__doc__.splitlines()[0]
    )
    p.add_argument(
        "--snds", type=Path, help="folder holding the SNDS table files (IR_BEN_R.csv, ER_PHA_F.parquet, ...)"
    )
    p.add_argument("--odh", type=Path, help="folder holding the ODH table files (odh_patients.csv, ...)")
    p.add_argument(
        "--out",
        type=Path,
        default=None,
        help=f"output folder (snds/ and odh/ are created in it; default: {_default_folder('{source}')})",
    )
    p.add_argument(
        "--config",
        type=Path,
        default=None,
        help="config.yaml whose study: and extract: blocks apply (default: built-in defaults)",
    )
    p.set_defaults(func=run)


def _default_folder(source: str) -> Path:
    return Path(layout.path("extract.table", source=source, name="persons.parquet")).parent


def _outputs(out: Path | None, source: str) -> dict[str, Path]:
    return pipeline.output_files(out / source if out is not None else _default_folder(source))


def run(args: argparse.Namespace) -> int:
    if args.snds is None and args.odh is None:
        raise SystemExit("lotluca extract: give --snds DIR and/or --odh DIR")
    config = load_config(args.config)
    settings = ExtractSettings.for_study(config["study"], config["extract"])
    for source, folder in (("snds", args.snds), ("odh", args.odh)):
        if folder is None:
            continue
        outputs = _outputs(args.out, source)
        paths = pipeline.find_tables(folder, pipeline.SOURCE_TABLES[source])
        acc = pipeline.extract_source(source, paths, outputs, settings)
        print(f"{source.upper()} extraction -> {outputs['persons'].parent}\n{format_summary(acc)}")
    return 0
