"""`lotluca concomitant`: the concomitant-medication analysis without Snakemake."""

from __future__ import annotations

from pathlib import Path

from lotluca.cliargs import line_sources, read_config
from lotluca.concomitant.stage import reference_hr, run_concomitant


def _concomitant(args) -> int:
    cfg = read_config(args.config)
    lines = line_sources(args.lines)
    outputs = {
        "cohorts": str(Path(args.private_dir) / "cohorts.parquet"),
        "table": str(Path(args.export_dir) / "concomitant_hr.csv"),
        "figure_png": str(Path(args.export_dir) / "concomitant_forest.png"),
        "figure_pdf": str(Path(args.export_dir) / "concomitant_forest.pdf"),
    }
    eff = cfg.get("effectiveness") or {}
    run_concomitant(
        args.gold, args.persons, args.exposures, lines, outputs,
        block=cfg.get("concomitant"), privacy=cfg.get("privacy"), seed=cfg.get("seed", 0),
        study_end_date=(cfg.get("study") or {}).get("end_date"),
        era_start_years=(eff.get("cox") or {}).get("era_start_years"),
        reference_hr=reference_hr(cfg.get("simulate")),
    )  # fmt: skip
    return 0


def register(subparsers) -> None:
    p = subparsers.add_parser("concomitant", help="concomitant medications and line outcomes (gold and algorithms)")
    p.add_argument("--gold", required=True, help="gold_lines Parquet (defines the cohort)")
    p.add_argument("--persons", required=True, help="persons Parquet giving death and end of follow-up")
    p.add_argument("--exposures", required=True, help="exposures Parquet holding the pharmacy dispensations")
    p.add_argument(
        "--lines", action="append", help="ALGORITHM:SCENARIO:PATH of an algorithm's lines Parquet (repeatable)"
    )
    p.add_argument("--config", help="config.yaml (concomitant, privacy, seed, study, effectiveness, simulate blocks)")
    p.add_argument("--private-dir", default="results/private/concomitant")
    p.add_argument("--export-dir", default="results/export/concomitant")
    p.set_defaults(func=_concomitant)
