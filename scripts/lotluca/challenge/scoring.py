"""The challenge's scoring program: `python score.py INPUT OUTPUT` as Codabench runs it (INPUT holds `ref/`,
the hidden reference data, and `res/`, the participant's unzipped submission), writing OUTPUT/scores.json (the
leaderboard columns) and OUTPUT/metrics.json (every metric of every stratum with its bootstrap CI).

The numbers are those of `lotluca evaluate` (the same `lotluca.evaluate` code) run on the same files:
`lotluca evaluate --pred res/lines.csv --gold ref/gold_lines.csv --split all --ignore-unknown-persons` with the
options of ref/scoring.json. This module imports only `lotluca.evaluate` and what it needs, so that the
bundle's scoring program (a copy of those modules, lotluca.challenge.bundle) runs without lotluca installed.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pandas as pd

from lotluca.errors import LotlucaError
from lotluca.evaluate.metrics import HEADLINE_STRATUM
from lotluca.evaluate.scoring import evaluate, settings_json
from lotluca.evaluate.settings import EvaluateSettings, bootstrap_seed
from lotluca.evaluate.submission import load_gold, load_submission

PRIMARY = (HEADLINE_STRATUM, "line_f1")  # the leaderboard's ranking column: (stratum, metric)
# leaderboard column key -> (stratum, metric); the first is the primary score
COLUMNS = {
    "line_f1_several_or_maintenance": PRIMARY,
    "line_f1": ("all", "line_f1"),
    "line_f1_one_line": ("one_line", "line_f1"),
    "line_precision": ("all", "line_precision"),
    "line_recall": ("all", "line_recall"),
    "regimen_exact": ("all", "regimen_exact"),
    "maintenance_f1": ("all", "maintenance_f1"),
    "count_exact": ("all", "count_exact"),
    "count_kappa_weighted": ("all", "count_kappa_weighted"),
    "sequence_exact": ("all", "sequence_exact"),
}
SUBMISSION_NAMES = ("lines.csv", "lines.parquet")
SCORING_KEYS = ("tolerance_days", "bootstrap", "ci_level", "kappa_weights", "kappa_max_lines")


def scoring_settings(ref: Path) -> EvaluateSettings:
    """ref/scoring.json: the evaluate options and the master seed of the challenge."""
    doc = json.loads((ref / "scoring.json").read_text(encoding="utf-8"))
    block = {k: doc[k] for k in SCORING_KEYS} | {"split": "all"}
    return EvaluateSettings.from_config(block, seed=bootstrap_seed(int(doc["seed"])))


def submission_file(res: Path) -> Path:
    """The submission's lines file: res/lines.csv or res/lines.parquet (also one folder down)."""
    for name in SUBMISSION_NAMES:
        found = sorted(res.glob(name)) or sorted(res.glob(f"*/{name}"))
        if found:
            return found[0]
    raise LotlucaError(f"{res}: no {' or '.join(SUBMISSION_NAMES)} in the submission (zip lines.csv at its root)")


def score(input_dir: str | Path) -> tuple[dict, dict]:
    """(scores: leaderboard key -> estimate, metrics: stratum -> metric -> estimate, CI, n)."""
    ref, res = Path(input_dir) / "ref", Path(input_dir) / "res"
    settings = scoring_settings(ref)
    gold, _ = load_gold(ref / "gold_lines.csv", None)
    test_persons = pd.Index(pd.read_csv(ref / "test_persons.csv", dtype=str)["person_id"])
    pred = load_submission(submission_file(res), test_persons)
    pred = pred[pred["person_id"].isin(gold["person_id"])]  # persons of the other test split: not scored here
    metrics, _ = evaluate(pred, gold, settings)
    table = {}
    for r in metrics.itertuples():
        table.setdefault(r.stratum, {})[r.metric] = {
            "estimate": _num(r.estimate),
            "ci_low": _num(r.ci_low),
            "ci_high": _num(r.ci_high),
            "n": int(r.n),
        }
    scores = {key: table.get(stratum, {}).get(metric, {}).get("estimate") for key, (stratum, metric) in COLUMNS.items()}
    return scores, {
        "settings": settings_json(settings),
        "n_persons": int(gold["person_id"].nunique()),
        "metrics": table,
    }


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 2:
        print("usage: python score.py INPUT OUTPUT (INPUT holds ref/ and res/)", file=sys.stderr)
        return 2
    try:
        scores, detail = score(argv[0])
    except LotlucaError as exc:
        print(f"scoring failed: {exc}", file=sys.stderr)
        return 1
    out = Path(argv[1])
    out.mkdir(parents=True, exist_ok=True)
    (out / "scores.json").write_text(json.dumps(scores, indent=2) + "\n", encoding="utf-8")
    (out / "metrics.json").write_text(json.dumps(detail, indent=2) + "\n", encoding="utf-8")
    for key, value in scores.items():
        print(f"{key:<32} {'NA' if value is None else f'{value:.4f}'}")
    return 0


def _num(x):
    return None if x != x else round(float(x), 6)


if __name__ == "__main__":
    sys.exit(main())
