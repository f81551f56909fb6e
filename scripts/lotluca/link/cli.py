"""`lotluca link` and `lotluca merge`: the linkage stage and the per-scenario merge from the command line."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from lotluca.cliargs import read_config
from lotluca.link.pipeline import LinkageParams, run_linkage
from lotluca.merge.scenarios import SCENARIOS, run_merge


def _link(args) -> int:
    cfg = read_config(args.config)
    params = LinkageParams.from_config(cfg.get("link"), cfg.get("seed"))
    if args.threshold is not None:
        params = LinkageParams(**{**params.__dict__, "match_probability_threshold": args.threshold})
    truth = args.truth if args.truth is not None else cfg.get("inputs", {}).get("linkage_truth", "")
    out = Path(args.out)
    odh, snds = Path(args.odh_dir), Path(args.snds_dir)
    files = {
        "odh_persons": odh / "persons.parquet",
        "odh_stays": odh / "stays.parquet",
        "snds_persons": snds / "persons.parquet",
        "snds_stays": snds / "stays.parquet",
    }
    report = run_linkage(
        files,
        truth or None,
        params,
        out / "links.parquet",
        out / "linkage_report.json",
        out / "linkage_quality.csv",
    )
    print(json.dumps(report["quality"], sort_keys=True))
    return 0


def _merge(args) -> int:
    cfg = read_config(args.config)
    drop = (cfg.get("merge") or {}).get("drop_sessions_covered_by_odh", True)
    tol = (cfg.get("merge") or {}).get("merge_day_tolerance", 0)
    odh, snds = Path(args.odh_dir), Path(args.snds_dir)
    files = {
        "odh_persons": odh / "persons.parquet",
        "odh_exposures": odh / "exposures.parquet",
        "snds_persons": snds / "persons.parquet",
        "snds_exposures": snds / "exposures.parquet",
        "snds_chemo_sessions": snds / "chemo_sessions.parquet",
        "links": Path(args.links),
    }
    for scenario in args.scenario or cfg.get("scenarios") or list(SCENARIOS):
        out = Path(args.out) / scenario
        stats = run_merge(
            scenario,
            files,
            {t: out / f"{t}.parquet" for t in ("persons", "exposures", "chemo_sessions")},
            out / "merge_report.json",
            drop,
            tol,
        )
        print(json.dumps(stats, sort_keys=True))
    return 0


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "link",
        help="link ODH patients to SNDS persons (deterministic, then Splink)",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument(
        "--odh-dir",
        default="results/extract/odh",
        help="folder with the canonical ODH persons.parquet and stays.parquet",
    )
    p.add_argument(
        "--snds-dir",
        default="results/extract/snds",
        help="folder with the canonical SNDS persons.parquet and stays.parquet",
    )
    p.add_argument(
        "--config", default="config.yaml", help="study config (its linkage: block, seed and inputs.linkage_truth)"
    )
    p.add_argument(
        "--truth",
        default=None,
        help="linkage truth Parquet (odh_patient_id, ben_idt_ano); '' for none; default from the config",
    )
    p.add_argument("--threshold", type=float, default=None, help="override link.match_probability_threshold")
    p.add_argument(
        "--out",
        default="results/linkage",
        help="output folder (links.parquet, linkage_report.json, linkage_quality.csv)",
    )
    p.set_defaults(func=_link)

    m = subparsers.add_parser(
        "merge",
        help="merged persons / exposures / chemo sessions per data-source scenario",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    m.add_argument("--odh-dir", default="results/extract/odh")
    m.add_argument("--snds-dir", default="results/extract/snds")
    m.add_argument("--links", default="results/linkage/links.parquet")
    m.add_argument(
        "--config", default="config.yaml", help="study config (scenarios:, merge.drop_sessions_covered_by_odh)"
    )
    m.add_argument(
        "--scenario", action="append", choices=SCENARIOS, help="scenario(s) to build; default: config scenarios"
    )
    m.add_argument("--out", default="results/merged", help="output folder; one sub-folder per scenario")
    m.set_defaults(func=_merge)
