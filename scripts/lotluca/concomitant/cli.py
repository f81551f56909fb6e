"""`lotluca concomitant`: the concomitant-medication step without Snakemake."""

from __future__ import annotations

from pathlib import Path

from lotluca.cliargs import line_sources
from lotluca.concomitant import steps
from lotluca.config import load_config
from lotluca.layout import path

FIGURE = path("concomitant.figure", ext="{ext}")


def _concomitant(args) -> int:
    cfg = load_config(args.config)
    lines = line_sources(args.lines)
    cohorts, table = path("concomitant.cohorts"), path("concomitant.table")
    figures = {ext: path("concomitant.figure", ext=ext) for ext in ("png", "pdf")}
    if args.private_dir:
        cohorts = str(Path(args.private_dir) / Path(cohorts).name)
    if args.export_dir:
        table = str(Path(args.export_dir) / Path(table).name)
        figures = {ext: str(Path(args.export_dir) / Path(f).name) for ext, f in figures.items()}
    steps.concomitant(
        {"gold": args.gold, "persons": args.persons, "exposures": args.exposures, "lines": [p for *_, p in lines]},
        {"cohorts": cohorts, "table": table, "figure_png": figures["png"], "figure_pdf": figures["pdf"]},
        sources=[[a, s] for a, s, _ in lines],
        concomitant=cfg["concomitant"],
        simulate=cfg["simulate"],
        privacy=cfg["privacy"],
        seed=cfg["seed"],
        study=cfg["study"],
        effectiveness=cfg["effectiveness"],
        figures=cfg["figures"],
    )
    return 0


def register(subparsers) -> None:
    p = subparsers.add_parser("concomitant", help="concomitant medications and line outcomes (gold and algorithms)")
    p.add_argument("--gold", required=True, help="gold_lines Parquet (defines the cohort)")
    p.add_argument("--persons", required=True, help="persons Parquet giving death and end of follow-up")
    p.add_argument("--exposures", required=True, help="exposures Parquet holding the pharmacy dispensations")
    p.add_argument(
        "--lines", action="append", help="ALGORITHM:SCENARIO:PATH of an algorithm's lines Parquet (repeatable)"
    )
    p.add_argument(
        "--config",
        help="config.yaml (concomitant, privacy, seed, study, effectiveness, figures, simulate blocks; "
        "default: the schema's)",
    )
    p.add_argument(
        "--private-dir", help=f"folder of cohorts.parquet (default {Path(path('concomitant.cohorts')).parent})"
    )
    p.add_argument(
        "--export-dir",
        help="folder of concomitant_hr.csv and the forest plot (default: "
        f"{Path(path('concomitant.table')).parent} and {Path(FIGURE).parent})",
    )
    p.set_defaults(func=_concomitant)
