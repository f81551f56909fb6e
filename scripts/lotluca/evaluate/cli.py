"""`lotluca evaluate`: the scoring kit. Validates a submission, scores it against the gold standard,
writes every metric with its bootstrap CI to a JSON file and prints the headline metrics."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from lotluca.evaluate.bootstrap import derive_seed
from lotluca.evaluate.metrics import HEADLINE, METRICS, Settings
from lotluca.evaluate.scoring import evaluate
from lotluca.evaluate.submission import load_gold, load_submission

DEFAULT_SEED = 20261123  # the study's default master seed (config.yaml `seed`)


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "evaluate",
        help="score predicted lines against the gold standard (the scoring kit)",
        description=__doc__,
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument(
        "--pred", required=True, help="predicted lines, CSV (ISO dates) or Parquet, columns of `lotluca lines` output"
    )
    p.add_argument("--gold", required=True, help="gold-standard lines (gold_lines contract), CSV or Parquet")
    p.add_argument("--output", required=True, help="metrics JSON file to write")
    p.add_argument(
        "--tolerance-days",
        type=int,
        default=30,
        help="a predicted line matches a gold line starting within +/- this many days",
    )
    p.add_argument(
        "--split",
        default="test",
        help="gold split to score (ignored when the gold file has no split column); 'all' scores every person",
    )
    p.add_argument("--bootstrap", type=int, default=1000, help="patient-bootstrap replicates for the CIs (0: no CI)")
    p.add_argument("--ci-level", type=float, default=0.95, help="confidence level of the percentile intervals")
    p.add_argument("--seed", type=int, default=DEFAULT_SEED, help="master seed; the bootstrap seed derives from it")
    p.add_argument(
        "--kappa-weights", choices=["linear", "quadratic"], default="linear", help="weights of the line-count kappa"
    )
    p.add_argument("--kappa-max-lines", type=int, default=4, help="line counts >= this form one kappa category")
    p.add_argument(
        "--ignore-unknown-persons",
        action="store_true",
        help="drop (and count) predicted rows of persons absent from the gold file instead of failing, e.g. for a prediction on the whole cohort",
    )
    p.set_defaults(func=run)


def run(args) -> int:
    settings = Settings(
        tolerance_days=args.tolerance_days,
        kappa_weights=args.kappa_weights,
        kappa_max_lines=args.kappa_max_lines,
        bootstrap=args.bootstrap,
        ci_level=args.ci_level,
        seed=derive_seed(args.seed, "evaluation"),
    )
    gold, gold_persons = load_gold(args.gold, None if args.split == "all" else args.split)
    pred = load_submission(args.pred, None if args.ignore_unknown_persons else gold_persons)
    unknown = ~pred["person_id"].isin(gold_persons)
    if unknown.any():
        print(
            f"{args.pred}: ignored {int(unknown.sum())} rows of {pred.loc[unknown, 'person_id'].nunique()} persons absent from the gold file",
            file=sys.stderr,
        )
        pred = pred[~unknown]
    metrics, _ = evaluate(pred, gold, settings)
    n_persons = int(gold["person_id"].nunique())
    out = {
        "pred": str(args.pred),
        "gold": str(args.gold),
        "split": args.split,
        "n_persons": n_persons,
        "n_predicted_rows_scored": int(pred["person_id"].isin(gold["person_id"]).sum()),
        "settings": {
            "tolerance_days": settings.tolerance_days, "bootstrap": settings.bootstrap, "ci_level": settings.ci_level,
            "seed": settings.seed, "kappa_weights": settings.kappa_weights, "kappa_max_lines": settings.kappa_max_lines,
        },
        "metric_definitions": {m: {"definition": d, "n": u} for m, (d, u) in METRICS.items()},
        "metrics": {},
    }  # fmt: skip
    for r in metrics.itertuples():
        out["metrics"].setdefault(r.stratum, {})[r.metric] = {
            "estimate": _num(r.estimate),
            "ci_low": _num(r.ci_low),
            "ci_high": _num(r.ci_high),
            "n": int(r.n),
        }
    Path(args.output).parent.mkdir(parents=True, exist_ok=True)
    Path(args.output).write_text(json.dumps(out, indent=2, allow_nan=False) + "\n", encoding="utf-8")

    level = round(100 * settings.ci_level)
    print(f"{args.pred}: {n_persons} gold persons (split {args.split}), tolerance +/- {settings.tolerance_days} days")
    for m in HEADLINE:
        v = out["metrics"]["all"][m]
        ci = "" if v["ci_low"] is None else f"  ({level}% CI {v['ci_low']:.3f}-{v['ci_high']:.3f})"
        est = "NA" if v["estimate"] is None else f"{v['estimate']:.3f}"
        print(f"  {m:<22} {est}{ci}  n={v['n']}")
    print(f"all metrics and strata: {args.output}", file=sys.stderr)
    return 0


def _num(x):
    return None if x != x else round(float(x), 6)
