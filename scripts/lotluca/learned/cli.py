"""`lotluca learn`: fit the learned line algorithm on one scenario's merged tables (gold train split only),
save its model file and write its predicted lines. Settings come from the study config (`--config`,
blocks learned, lines, evaluate and the master seed); paths default to the study layout."""

from __future__ import annotations

import argparse
from pathlib import Path

from lotluca.config import load_config
from lotluca.io import read_parquet, write_parquet
from lotluca.layout import path, study_input
from lotluca.learned.estimator import LearnedLines
from lotluca.learned.model import LearnedSettings

TABLES = ("exposures", "chemo_sessions", "persons")


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "learn",
        help="fit the learned line algorithm and predict lines",
        description=__doc__,
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument("--config", help="study config.yaml (default: the schema's defaults)")
    p.add_argument("--scenario", default="linked", help="data-source scenario (default paths)")
    p.add_argument("--merged-dir", help="folder with exposures, persons, chemo_sessions .parquet (default: layout)")
    p.add_argument(
        "--gold",
        help="gold_lines Parquet with the split column (default: config inputs.gold_lines, else the simulator's)",
    )
    p.add_argument("--model", help="model file to write (default: layout learned.model)")
    p.add_argument("--lines", help="predicted lines Parquet to write (default: layout lines.lines)")
    p.add_argument("--seed", type=int, help="model and fold seed (default: learned.seed, else the master seed)")
    p.add_argument("--folds", type=int, help="grouped-by-person CV folds on the train split (default: config)")
    p.add_argument("--threads", type=int, help="xgboost threads (default: config)")
    p.set_defaults(func=run)


def run(args) -> int:
    config = load_config(args.config)
    learned = dict(config["learned"])
    for key in ("seed", "folds", "threads"):
        if getattr(args, key) is not None:
            learned[key] = getattr(args, key)
    s = LearnedSettings.from_blocks(learned, config["lines"], config["evaluate"], config["seed"])
    where = {"scenario": args.scenario, "algorithm": s.algorithm}
    merged = Path(args.merged_dir) if args.merged_dir else None
    files = [merged / f"{t}.parquet" if merged else path("merge.table", table=t, **where) for t in TABLES]
    frames = [read_parquet(f).to_pandas() for f in files]
    gold = read_parquet(args.gold or study_input(config, "gold_lines")).to_pandas()
    estimator = LearnedLines(s).fit(*frames, gold)
    estimator.save(args.model or path("learned.model", **where))
    write_parquet(estimator.predict(*frames), args.lines or path("lines.lines", **where))
    return 0
