"""Scoring predicted lines against the gold standard: one prediction, or every algorithm x scenario.

Glue between `submission` (reading, validation) and `persons` (the per-person table, then strata,
metrics and bootstrap CIs); produces the tidy metrics table, the per-patient error-analysis table and
the JSON summary written by the `evaluate` rule and the `lotluca evaluate` command.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from lotluca.evaluate.metrics import HEADLINE, HEADLINE_STRATUM, METRICS
from lotluca.evaluate.persons import METRIC_COLUMNS, evaluate_persons_many, metrics_from_persons, score_persons
from lotluca.evaluate.settings import EvaluateSettings

__all__ = ["METRIC_COLUMNS", "evaluate", "evaluate_many", "summary"]


def evaluate(pred: pd.DataFrame, gold: pd.DataFrame, settings: EvaluateSettings) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Score `pred` (validated line table) against `gold` (validated, already restricted to the scored
    split). Predicted rows of persons outside `gold` are not scored (their number is logged).
    Returns (metrics: stratum, metric, estimate, ci_low, ci_high, n; per_patient table).

    The same path as the sharded workflow: the per-person table of all persons (`score_persons`),
    then `metrics_from_persons`."""
    return metrics_from_persons(score_persons(pred, gold, settings), settings)


def evaluate_many(
    preds: Mapping[tuple[str, str], pd.DataFrame], gold: pd.DataFrame, settings: EvaluateSettings
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Score every (scenario, algorithm) -> prediction of `preds` on the same persons and bootstrap
    replicates. Returns the tidy metrics table (METRIC_COLUMNS) and the per-patient table."""
    metrics, per_patient, _ = evaluate_persons_many(
        ((key, score_persons(pred, gold, settings)) for key, pred in preds.items()), settings
    )
    return metrics, per_patient


def settings_json(settings: EvaluateSettings) -> dict:
    """The scoring settings written into the summary and the scoring kit's JSON (in this key order)."""
    keys = ("tolerance_days", "bootstrap", "ci_level", "seed", "kappa_weights", "kappa_max_lines")
    return {k: getattr(settings, k) for k in keys}


def metric_definitions() -> dict:
    """Every metric's definition and what its `n` counts (METRICS), JSON-ready."""
    return {m: {"definition": d, "n": u} for m, (d, u) in METRICS.items()}


def summary(metrics: pd.DataFrame, settings: EvaluateSettings, n_persons: int | Mapping[str, int]) -> dict:
    """JSON-ready summary: settings, the metric definitions, and the headline metrics (stratum
    HEADLINE_STRATUM: persons with two or more gold lines or a maintenance phase) of every scenario x
    algorithm with CIs (n_persons: the gold persons scored, per scenario in n_persons_by_scenario), plus the best algorithm per scenario by line F1 in that stratum."""
    out = {
        "settings": settings_json(settings),
        "n_persons": int(max(n_persons.values()) if isinstance(n_persons, Mapping) else n_persons),
        "n_persons_by_scenario": dict(n_persons) if isinstance(n_persons, Mapping) else {},
        "metric_definitions": metric_definitions(),
        "headline_stratum": HEADLINE_STRATUM,
        "results": {},
        "best_by_line_f1": {},
    }
    allm = metrics[metrics["stratum"] == HEADLINE_STRATUM]
    for (scenario, algorithm), grp in allm.groupby(["scenario", "algorithm"], sort=True):
        out["results"].setdefault(scenario, {})[algorithm] = {
            r.metric: {
                "estimate": _num(r.estimate),
                "ci_low": _num(r.ci_low),
                "ci_high": _num(r.ci_high),
                "n": int(r.n),
            }
            for r in grp.itertuples()
            if r.metric in HEADLINE
        }
    f1 = allm[allm["metric"] == "line_f1"].dropna(subset=["estimate"])
    for scenario, grp in f1.groupby("scenario", sort=True):
        best = grp.sort_values(["estimate", "algorithm"], ascending=[False, True]).iloc[0]
        out["best_by_line_f1"][scenario] = {"algorithm": best["algorithm"], "line_f1": _num(best["estimate"])}
    return out


def _num(x) -> float | None:
    return None if x is None or (isinstance(x, float) and np.isnan(x)) else round(float(x), 6)
