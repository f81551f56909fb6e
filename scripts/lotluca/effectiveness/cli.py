"""`lotluca effectiveness` and `lotluca bias`: the effectiveness and bias steps without Snakemake."""

from __future__ import annotations

from pathlib import Path

from lotluca.cliargs import line_sources, read_config
from lotluca.effectiveness.stage import run_bias, run_effectiveness

EXPORT = ("km_summary", "km_curves", "at_risk", "logrank", "cox")


def _effectiveness(args) -> int:
    cfg = read_config(args.config)
    lines = line_sources(args.lines)
    outputs = {"endpoints": str(Path(args.private_dir) / "endpoints.parquet")}
    outputs |= {name: str(Path(args.export_dir) / f"{name}.csv") for name in EXPORT}
    run_effectiveness(
        args.gold, args.persons, lines, outputs,
        settings=cfg.get("effectiveness"), privacy=cfg.get("privacy"), seed=cfg.get("seed", 0),
        study_end_date=(cfg.get("study") or {}).get("end_date"),
    )  # fmt: skip
    return 0


def _bias(args) -> int:
    cfg = read_config(args.config)
    out = Path(args.export_dir)
    outputs = {
        "csv": str(out / "bias.csv"),
        "parquet": str(out / "bias.parquet"),
        "summary": str(out / "bias_summary.csv"),
    }
    run_bias(
        args.endpoints, outputs, settings=cfg.get("effectiveness"), privacy=cfg.get("privacy"), seed=cfg.get("seed", 0)
    )
    return 0


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "effectiveness", help="per-line endpoints, KM, log-rank and Cox tables (gold and algorithms)"
    )
    p.add_argument("--gold", required=True, help="gold_lines Parquet (defines the cohort)")
    p.add_argument("--persons", required=True, help="persons Parquet giving death and end of follow-up")
    p.add_argument(
        "--lines", action="append", help="ALGORITHM:SCENARIO:PATH of an algorithm's lines Parquet (repeatable)"
    )
    p.add_argument("--config", help="config.yaml (effectiveness, privacy, seed, study blocks)")
    p.add_argument("--private-dir", default="results/private/effectiveness")
    p.add_argument("--export-dir", default="results/export/effectiveness")
    p.set_defaults(func=_effectiveness)
    b = subparsers.add_parser("bias", help="bias of effectiveness estimates: gold vs algorithm lines, bootstrap CIs")
    b.add_argument("--endpoints", required=True, help="endpoints.parquet written by `lotluca effectiveness`")
    b.add_argument("--config", help="config.yaml (effectiveness, privacy, seed blocks)")
    b.add_argument("--export-dir", default="results/export/bias")
    b.set_defaults(func=_bias)
