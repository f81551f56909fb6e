"""`lotluca evaluate`: the scoring kit. Validates a submission, scores it against the gold standard,
writes every metric with its bootstrap CI to a JSON file and prints the headline metrics.

Scoring options left out come from the `evaluate` block (and the master `seed`) of `--config`, or of the
schema's defaults without it (docs/evaluate.md)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from lotluca.config import load_config
from lotluca.evaluate.metrics import HEADLINE, HEADLINE_STRATUM
from lotluca.evaluate.scoring import evaluate, metric_definitions, settings_json
from lotluca.evaluate.settings import EvaluateSettings, bootstrap_seed
from lotluca.evaluate.submission import load_gold, load_submission

# command-line option -> key of the config block `evaluate`
OPTIONS = {
    "tolerance_days": "tolerance_days",
    "split": "split",
    "bootstrap": "bootstrap",
    "ci_level": "ci_level",
    "kappa_weights": "kappa_weights",
    "kappa_max_lines": "kappa_max_lines",
}


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "evaluate",
        help="score predicted lines against the gold standard (the scoring kit)",
        description=__doc__,
    )
    p.add_argument(
        "--pred", required=True, help="predicted lines, CSV (ISO dates) or Parquet, columns of `lotluca lines` output"
    )
    p.add_argument("--gold", required=True, help="gold-standard lines (gold_lines contract), CSV or Parquet")
    p.add_argument("--output", required=True, help="metrics JSON file to write")
    p.add_argument(
        "--tolerance-days",
        type=int,
        help="a predicted line matches a gold line starting within +/- this many days (config evaluate.tolerance_days)",
    )
    p.add_argument(
        "--split",
        help="gold split to score (ignored when the gold file has no split column); 'all' scores every person "
        "(config evaluate.split)",
    )
    p.add_argument(
        "--bootstrap", type=int, help="patient-bootstrap replicates for the CIs, 0: no CI (config evaluate.bootstrap)"
    )
    p.add_argument(
        "--ci-level", type=float, help="confidence level of the percentile intervals (config evaluate.ci_level)"
    )
    p.add_argument("--seed", type=int, help="master seed; the bootstrap seed derives from it (config seed)")
    p.add_argument(
        "--kappa-weights",
        choices=["linear", "quadratic"],
        help="weights of the line-count kappa (config evaluate.kappa_weights)",
    )
    p.add_argument(
        "--kappa-max-lines",
        type=int,
        help="line counts >= this form one kappa category (config evaluate.kappa_max_lines)",
    )
    p.add_argument("--config", help="study config.yaml giving the options left out (default: the schema's defaults)")
    p.add_argument(
        "--ignore-unknown-persons",
        action="store_true",
        help="drop (and count) predicted rows of persons absent from the gold file instead of failing, e.g. for a prediction on the whole cohort",
    )
    p.set_defaults(func=run)


def settings_from_args(args) -> EvaluateSettings:
    """The scoring settings: the options given, the config's `evaluate` block (and `seed`) for the others."""
    cfg = load_config(args.config)
    block = dict(cfg["evaluate"])
    block.update({key: getattr(args, opt) for opt, key in OPTIONS.items() if getattr(args, opt) is not None})
    seed = cfg["seed"] if args.seed is None else args.seed
    return EvaluateSettings.from_config(block, seed=bootstrap_seed(seed))


def run(args) -> int:
    settings = settings_from_args(args)
    split = settings.split
    gold, gold_persons = load_gold(args.gold, None if split == "all" else split)
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
        "split": split,
        "n_persons": n_persons,
        "n_predicted_rows_scored": int(pred["person_id"].isin(gold["person_id"]).sum()),
        "settings": settings_json(settings),
        "metric_definitions": metric_definitions(),
        "metrics": {},
    }
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
    print(f"{args.pred}: {n_persons} gold persons (split {split}), tolerance +/- {settings.tolerance_days} days")
    print(f"  stratum {HEADLINE_STRATUM} (the headline: two or more gold lines or a maintenance phase)")
    for m in HEADLINE:
        v = out["metrics"][HEADLINE_STRATUM][m]
        ci = "" if v["ci_low"] is None else f"  ({level}% CI {v['ci_low']:.3f}-{v['ci_high']:.3f})"
        est = "NA" if v["estimate"] is None else f"{v['estimate']:.3f}"
        print(f"  {m:<22} {est}{ci}  n={v['n']}")
    print(f"all metrics and strata: {args.output}", file=sys.stderr)
    return 0


def _num(x):
    return None if x != x else round(float(x), 6)
