"""`lotluca learn`: train the xgboost line-boundary model on one scenario's merged tables (gold train
split only) and write the model, its training summary, out-of-fold probabilities and the predicted lines."""

from __future__ import annotations

import argparse
from pathlib import Path

from lotluca.learned.model import LearnedSettings
from lotluca.learned.pipeline import predict_files, train_files

DEFAULT_SEED = 20261123  # the study's default master seed (config.yaml `seed`)


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "learn",
        help="train the learned line model (xgboost) and predict lines",
        description=__doc__,
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument("--merged-dir", required=True, help="folder with exposures, persons, chemo_sessions .parquet")
    p.add_argument("--gold", required=True, help="gold_lines Parquet with the split column (train | test)")
    p.add_argument("--out-dir", required=True, help="folder for model.json, training.json, oof_predictions.parquet")
    p.add_argument("--lines", required=True, help="predicted lines Parquet to write (algorithm xgboost)")
    p.add_argument("--seed", type=int, default=DEFAULT_SEED, help="model and fold seed")
    p.add_argument("--rule-preset", default="lotluca", help="rule preset whose decisions are features")
    p.add_argument("--folds", type=int, default=5, help="grouped-by-person CV folds on the train split")
    p.add_argument("--threads", type=int, default=1, help="xgboost threads")
    p.add_argument("--tolerance-days", type=int, default=30, help="evaluation tolerance used to choose the threshold")
    p.set_defaults(func=run)


def run(args) -> int:
    s = LearnedSettings(rule_preset=args.rule_preset, folds=args.folds, threads=args.threads, seed=args.seed)
    m, out = Path(args.merged_dir), Path(args.out_dir)
    files = [m / f"{t}.parquet" for t in ("exposures", "persons", "chemo_sessions")]
    train_files(*files, args.gold, out / "model.json", out / "training.json", out / "oof_predictions.parquet", s,
                args.tolerance_days)  # fmt: skip
    predict_files(*files, out / "model.json", out / "training.json", out / "oof_predictions.parquet", args.lines, s)
    return 0
