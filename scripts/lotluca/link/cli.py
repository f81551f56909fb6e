"""`lotluca link`: the link stage from the command line (the same function as the workflow's `link` rule)."""

from __future__ import annotations

import argparse
import json
from dataclasses import replace
from pathlib import Path

from lotluca import layout
from lotluca.config import load_config
from lotluca.link.pipeline import LinkSettings, run_linkage

OUTPUTS = ("links", "report", "quality")


def extract_folder(source: str) -> Path:
    """The workflow's folder of the canonical tables of `source` (layout `extract.table`)."""
    return Path(layout.path("extract.table", source=source, name="persons.parquet")).parent


def _outputs(out: str | None) -> dict[str, Path]:
    """links / report / quality: the layout's files, or files of the same names in `out`."""
    files = {name: Path(layout.path(f"link.{name}")) for name in OUTPUTS}
    return files if out is None else {name: Path(out) / f.name for name, f in files.items()}


def _link(args) -> int:
    cfg = load_config(args.config)
    params = LinkSettings.from_config(cfg["link"], seed=cfg["seed"])
    if args.threshold is not None:
        params = replace(params, match_probability_threshold=args.threshold)
    truth = args.truth if args.truth is not None else layout.study_input(cfg, "linkage_truth")
    odh, snds = Path(args.odh_dir), Path(args.snds_dir)
    files = {
        "odh_persons": odh / "persons.parquet",
        "odh_stays": odh / "stays.parquet",
        "snds_persons": snds / "persons.parquet",
        "snds_stays": snds / "stays.parquet",
    }
    out = _outputs(args.out)
    report = run_linkage(files, truth or None, params, out["links"], out["report"], out["quality"])
    print(json.dumps(report["quality"], sort_keys=True))
    return 0


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "link",
        help="link ODH patients to SNDS persons (deterministic, then Splink)",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument(
        "--odh-dir",
        default=str(extract_folder("odh")),
        help="folder with the canonical ODH persons.parquet and stays.parquet",
    )
    p.add_argument(
        "--snds-dir",
        default=str(extract_folder("snds")),
        help="folder with the canonical SNDS persons.parquet and stays.parquet",
    )
    p.add_argument(
        "--config", default="config.yaml", help="study config (its link: block, seed and inputs.linkage_truth)"
    )
    p.add_argument(
        "--truth",
        default=None,
        help="linkage truth Parquet (odh_patient_id, ben_idt_ano); '' for none; default from the config",
    )
    p.add_argument("--threshold", type=float, default=None, help="override link.match_probability_threshold")
    p.add_argument(
        "--out",
        default=None,
        help=f"output folder (links.parquet, linkage_report.json, linkage_quality.csv); "
        f"default: {Path(layout.path('link.links')).parent}",
    )
    p.set_defaults(func=_link)
