"""`lotluca merge`: the merged tables of each data-source scenario from the command line (the same function
as the workflow's `merge` rule)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from lotluca import layout
from lotluca.config import load_config
from lotluca.merge.scenarios import SCENARIOS, MergeSettings, run_merge

TABLES = ("persons", "exposures", "chemo_sessions")


def extract_folder(source: str) -> Path:
    """The workflow's folder of the canonical tables of `source` (layout `extract.table`)."""
    return Path(layout.path("extract.table", source=source, name="persons.parquet")).parent


def _outputs(out: str | None, scenario: str) -> tuple[dict[str, Path], Path]:
    """The scenario's tables and report: the layout's files, or files of the same names in `out`/scenario."""
    tables = {t: Path(layout.path("merge.table", scenario=scenario, table=t)) for t in TABLES}
    report = Path(layout.path("merge.report", scenario=scenario))
    if out is None:
        return tables, report
    folder = Path(out) / scenario
    return {t: folder / f.name for t, f in tables.items()}, folder / report.name


def _merge(args) -> int:
    cfg = load_config(args.config)
    settings = MergeSettings.from_config(cfg["merge"])
    odh, snds = Path(args.odh_dir), Path(args.snds_dir)
    files = {
        "odh_persons": odh / "persons.parquet",
        "odh_exposures": odh / "exposures.parquet",
        "snds_persons": snds / "persons.parquet",
        "snds_exposures": snds / "exposures.parquet",
        "snds_chemo_sessions": snds / "chemo_sessions.parquet",
        "links": Path(args.links),
    }
    for scenario in args.scenario or cfg["scenarios"]:
        tables, report = _outputs(args.out, scenario)
        stats = run_merge(scenario, files, tables, report, settings)
        print(json.dumps(stats, sort_keys=True))
    return 0


def register(subparsers) -> None:
    m = subparsers.add_parser(
        "merge",
        help="merged persons / exposures / chemo sessions per data-source scenario",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    m.add_argument("--odh-dir", default=str(extract_folder("odh")))
    m.add_argument("--snds-dir", default=str(extract_folder("snds")))
    m.add_argument("--links", default=layout.path("link.links"))
    m.add_argument("--config", default="config.yaml", help="study config (scenarios:, merge: block)")
    m.add_argument(
        "--scenario", action="append", choices=SCENARIOS, help="scenario(s) to build; default: config scenarios"
    )
    m.add_argument(
        "--out",
        default=None,
        help=f"output folder, one sub-folder per scenario; default: {Path(layout.path('merge.report')).parent.parent}",
    )
    m.set_defaults(func=_merge)
