"""`lotluca effectiveness` and `lotluca bias`: the effectiveness stage's steps without Snakemake."""

from __future__ import annotations

from pathlib import Path

from lotluca.cliargs import line_sources
from lotluca.config import load_config
from lotluca.effectiveness import steps
from lotluca.layout import path


def _effectiveness(args) -> int:
    cfg = load_config(args.config)
    lines = line_sources(args.lines)
    endpoints = path("effectiveness.endpoints")
    if args.private_dir:
        endpoints = str(Path(args.private_dir) / Path(endpoints).name)
    outputs = {"endpoints": endpoints}
    outputs |= {
        name: str(Path(args.export_dir) / f"{name}.csv") if args.export_dir else path("effectiveness.table", name=name)
        for name in steps.EXPORT_TABLES
    }
    steps.effectiveness(
        {
            "gold": args.gold,
            "persons": args.persons,
            "lines": [p for _, _, p in lines],
            "diagnoses": args.diagnoses,
            "links": args.links,
        },
        outputs,
        sources=[[a, s] for a, s, _ in lines],
        effectiveness=cfg["effectiveness"],
        privacy=cfg["privacy"],
        seed=cfg["seed"],
        study=cfg["study"],
    )
    return 0


def _bias(args) -> int:
    cfg = load_config(args.config)
    out = Path(args.export_dir) if args.export_dir else None
    outputs = {
        "csv": str(out / "bias.csv") if out else path("effectiveness.bias_csv"),
        "parquet": str(out / "bias.parquet") if out else path("effectiveness.bias_parquet"),
        "summary": str(out / "bias_summary.csv") if out else path("effectiveness.bias_summary"),
    }
    steps.effectiveness_bias(
        {"endpoints": args.endpoints or path("effectiveness.endpoints")},
        outputs,
        effectiveness=cfg["effectiveness"],
        privacy=cfg["privacy"],
        seed=cfg["seed"],
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
    p.add_argument("--diagnoses", help="SNDS diagnoses Parquet (extract): the Charlson and prior-stays proxies")
    p.add_argument("--links", help="ODH-SNDS links Parquet (link), to find the SNDS person of an ODH patient")
    p.add_argument("--config", help="config.yaml (effectiveness, privacy, seed, study blocks; default: the schema's)")
    p.add_argument(
        "--private-dir",
        help=f"folder of the private endpoints.parquet (default {Path(path('effectiveness.endpoints')).parent})",
    )
    p.add_argument(
        "--export-dir", help=f"folder of the export tables (default {Path(path('effectiveness.table')).parent})"
    )
    p.set_defaults(func=_effectiveness)
    b = subparsers.add_parser("bias", help="bias of effectiveness estimates: gold vs algorithm lines, bootstrap CIs")
    b.add_argument(
        "--endpoints",
        help=f"endpoints.parquet written by `lotluca effectiveness` (default {path('effectiveness.endpoints')})",
    )
    b.add_argument("--config", help="config.yaml (effectiveness, privacy, seed blocks; default: the schema's)")
    b.add_argument(
        "--export-dir", help=f"folder of the bias tables (default {Path(path('effectiveness.bias_csv')).parent})"
    )
    b.set_defaults(func=_bias)
