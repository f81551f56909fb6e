"""Scoring predicted lines against the gold standard: one prediction, or every algorithm x scenario.

Glue between `submission` (reading, validation), `metrics` (per-person statistics, strata) and
`bootstrap` (CIs); produces the tidy metrics table, the per-patient error-analysis table and the JSON
summary written by the `evaluate` rule and the `lotluca evaluate` command.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

import numpy as np
import pandas as pd

from lotluca.evaluation.bootstrap import bootstrap_metrics, derive_seed
from lotluca.evaluation.metrics import HEADLINE, METRICS, Settings, prepare_lines, score, strata

log = logging.getLogger(__name__)

METRIC_COLUMNS = ["scenario", "algorithm", "metric", "stratum", "estimate", "ci_low", "ci_high", "n"]


def settings_from_config(evaluation: Mapping, master_seed: int) -> Settings:
    """Settings from config.yaml's `evaluation:` block (validated, defaults filled by the schema); the
    bootstrap seed derives from the master seed."""
    return Settings(
        tolerance_days=int(evaluation["tolerance_days"]),
        kappa_weights=str(evaluation["kappa_weights"]),
        kappa_max_lines=int(evaluation["kappa_max_lines"]),
        bootstrap=int(evaluation["bootstrap"]),
        ci_level=float(evaluation["ci_level"]),
        seed=derive_seed(master_seed, "evaluation"),
    )


def evaluate(pred: pd.DataFrame, gold: pd.DataFrame, settings: Settings) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Score `pred` (validated line table) against `gold` (validated, already restricted to the scored
    split). Predicted rows of persons outside `gold` are not scored (their number is logged).
    Returns (metrics: stratum, metric, estimate, ci_low, ci_high, n; per_patient table)."""
    g = prepare_lines(gold)
    persons = pd.Index(pd.unique(g["person_id"]))
    inside = pred["person_id"].astype(str).isin(persons).to_numpy()
    if (~inside).any():
        log.info(
            "not scored: %d predicted rows of %d persons outside the scored gold persons",
            int((~inside).sum()),
            pred.loc[~inside, "person_id"].nunique(),
        )
    if len(pred) and not inside.any():
        log.warning(
            "no predicted row belongs to a scored gold person: are the person ids the gold standard's (ODH patient ids)?"
        )
    p = prepare_lines(pred[inside])
    scored = score(p, g, settings)
    masks = strata(g, scored.persons)
    metrics = bootstrap_metrics(scored, masks, settings)
    per_patient = scored.per_patient
    first_cls = pd.Series("none", index=scored.persons)
    for col in masks.columns:
        if col.startswith("first_line_class="):
            first_cls[masks[col].to_numpy()] = col.split("=", 1)[1]
    per_patient.insert(
        1,
        "stratum",
        np.where(
            masks["one_line"], "one_line", np.where(masks["several_or_maintenance"], "several_or_maintenance", "none")
        ),
    )
    per_patient.insert(2, "first_line_class", first_cls.to_numpy())
    return metrics, per_patient


def evaluate_many(
    preds: Mapping[tuple[str, str], pd.DataFrame], gold: pd.DataFrame, settings: Settings
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Score every (scenario, algorithm) -> prediction of `preds` on the same persons and bootstrap
    replicates. Returns the tidy metrics table (METRIC_COLUMNS) and the per-patient table."""
    metrics, per_patient = [], []
    for (scenario, algorithm), pred in preds.items():
        m, pp = evaluate(pred, gold, settings)
        m.insert(0, "algorithm", algorithm)
        m.insert(0, "scenario", scenario)
        pp.insert(0, "algorithm", algorithm)
        pp.insert(0, "scenario", scenario)
        metrics.append(m)
        per_patient.append(pp)
    return pd.concat(metrics, ignore_index=True)[METRIC_COLUMNS], pd.concat(per_patient, ignore_index=True)


def summary(metrics: pd.DataFrame, settings: Settings, n_persons: int) -> dict:
    """JSON-ready summary: settings, the metric definitions, and the headline metrics (stratum all) of
    every scenario x algorithm with CIs, plus the best algorithm per scenario by line F1."""
    out = {
        "settings": {
            "tolerance_days": settings.tolerance_days, "bootstrap": settings.bootstrap, "ci_level": settings.ci_level,
            "seed": settings.seed, "kappa_weights": settings.kappa_weights, "kappa_max_lines": settings.kappa_max_lines,
        },
        "n_persons": int(n_persons),
        "metric_definitions": {m: {"definition": d, "n": u} for m, (d, u) in METRICS.items()},
        "results": {},
        "best_by_line_f1": {},
    }  # fmt: skip
    allm = metrics[metrics["stratum"] == "all"]
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
