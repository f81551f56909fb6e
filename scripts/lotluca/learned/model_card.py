"""The model card of the learned line model (generated Markdown) of one data-source scenario.

Sections: data (persons, days, labels), features, cross-validation on the train split (hyperparameter
grid, threshold), test scores with CIs (from the evaluation metrics table, the learned algorithm next to
every rule preset of the scenario, and per stratum against the best preset), feature importance (total
gain and mean |SHAP| contribution from xgboost `pred_contribs`), known failure modes (docs/learned.md).
"""

from __future__ import annotations

import pandas as pd

from lotluca.evaluate.metrics import HEADLINE_STRATUM

HEADLINE = [
    "line_precision",
    "line_recall",
    "line_f1",
    "regimen_exact",
    "maintenance_f1",
    "count_exact",
    "sequence_exact",
]


def _cell(r) -> str:
    if pd.isna(r["estimate"]):
        return "NA"
    if pd.isna(r["ci_low"]):
        return f"{r['estimate']:.3f}"
    return f"{r['estimate']:.3f} ({r['ci_low']:.3f}-{r['ci_high']:.3f})"


def best_rule(metrics: pd.DataFrame, scenario: str, algorithm: str, metric: str = "line_f1") -> str | None:
    """The algorithm other than `algorithm` with the highest `metric` (headline stratum) in `scenario` (ties:
    name order)."""
    m = metrics[metrics["scenario"] == scenario]
    m = m[(m["stratum"] == HEADLINE_STRATUM) & (m["metric"] == metric)]
    m = m[m["algorithm"] != algorithm].dropna(subset=["estimate"])
    if not len(m):
        return None
    return str(m.sort_values(["estimate", "algorithm"], ascending=[False, True]).iloc[0]["algorithm"])


def _description(summary: dict, scenario: str) -> list[str]:
    """Title, model, data (honesty), features and the cross-validation settings."""
    d, s, ch = summary["data"], summary["settings"], summary["chosen"]
    return [
        f"# Model card: learned line-boundary model (`{summary['algorithm']}`), scenario `{scenario}`",
        "",
        "## Model",
        "",
        f"xgboost {summary['xgboost_version']} (`multi:softprob`, `tree_method=hist`, seed {s['seed']}, "
        f"{s['threads']} thread(s)). Each treatment day (antineoplastic exposure or chemotherapy session of the "
        "merged tables) is classified as no boundary, line start or maintenance start; a day is a boundary when "
        f"P(line) + P(maintenance) >= {ch['threshold']:.2f}. Lines are built from the boundaries (regimen = drugs "
        f"within {s['regimen_window_days']} days after each boundary) and scored with the same evaluation as the "
        "rule presets.",
        "",
        "## Data (honesty)",
        "",
        f"- Trained on the gold **train** split only: {d['train_persons_gold']} train persons "
        f"({d['train_persons_with_days']} with treatment days, {d['train_days']} days: "
        f"{d['train_days_by_class']['line_start']} line starts, {d['train_days_by_class']['maintenance_start']} "
        f"maintenance starts, {d['train_days_by_class']['none']} other days).",
        f"- The {d['test_persons_gold_not_used']} test persons were never used for training, the hyperparameters "
        "or the threshold; their lines come from the model fit on all train persons. Train persons' lines "
        "come from out-of-fold predictions (their fold's model never saw them).",
        f"- Labels: each gold start goes to the nearest treatment day within {s['label_tolerance_days']} days; "
        f"placed {d['labels']['placed']} of {d['labels']['gold_starts']} gold starts, "
        f"{d['labels']['unreachable_no_day_within_tolerance']} without a day that close and "
        f"{d['labels']['unreachable_person_without_days']} of persons without any treatment day (unreachable).",
        f"- {d['treatment_days_all_persons']} treatment days of {d['persons_with_days']} persons predicted; "
        f"{len(d['ingredients'])} ingredients.",
        "",
        "## Features",
        "",
        f"{len(summary['features'])} features, exposures only (see lotluca.learned.features): timing, drugs "
        f"new / dropped / substituted versus the previous {s['recent_days']} days (by ingredient and class), "
        "look-ahead, chemotherapy sessions without a drug name, ODH cycle and protocol, days to death and end "
        f"of follow-up, and the `{s['rule_preset']}` rule engine's own decision, reason and line state.",
        "",
        "## Cross-validation (train split only)",
        "",
        f"{s['folds']} folds grouped by person (seeded). Threshold grid {s['thresholds']}; choice by "
        "out-of-fold line F1 (lotluca.evaluate, no bootstrap).",
        "",
    ]


def _cv_table(summary: dict) -> list[str]:
    """One row per grid point: its hyperparameters, OOF log-loss, best threshold and OOF line F1."""
    ch = summary["chosen"]
    keys = sorted(ch["point"])
    out = ["| grid | " + " | ".join(keys) + " | OOF log-loss | threshold | OOF line F1 |"]
    out.append("|---:|" + "---:|" * len(keys) + "---:|---:|---:|")
    for r in summary["cv"]:
        mark = " (chosen)" if r["grid_index"] == ch["grid_index"] else ""
        out.append(
            f"| {r['grid_index']}{mark} | "
            + " | ".join(str(r[k]) for k in keys)
            + f" | {r['oof_logloss']:.4f} | {r['threshold']:.2f} | {r['oof_line_f1']:.4f} |"
        )
    return out


def _test_scores(metrics: pd.DataFrame, scenario: str, algo: str) -> list[str]:
    """Headline test scores of every algorithm of the scenario, and per stratum versus the best rule set."""
    out = ["", f"## Test scores (gold test split, stratum `{HEADLINE_STRATUM}`, patient-bootstrap CIs)", ""]
    m = metrics[metrics["scenario"] == scenario]
    allm = m[m["stratum"] == HEADLINE_STRATUM]
    algos = [algo] + sorted(a for a in allm["algorithm"].unique() if a != algo)
    cells = {(r["algorithm"], r["metric"]): _cell(r) for _, r in allm.iterrows()}
    out.append("| algorithm | " + " | ".join(HEADLINE) + " |")
    out.append("|---|" + "---:|" * len(HEADLINE))
    for a in algos:
        out.append(f"| `{a}` | " + " | ".join(cells.get((a, k), "") for k in HEADLINE) + " |")
    best = best_rule(metrics, scenario, algo)
    if best is None or (algo, "line_f1") not in cells:
        return out
    xs = m[m["algorithm"] == algo].set_index(["metric", "stratum"])
    bs = m[m["algorithm"] == best].set_index(["metric", "stratum"])
    out += [
        "",
        f"Per stratum, `{algo}` versus the best rule set by line F1 (`{best}`): difference of the "
        "estimates; `*` when the two CIs do not overlap.",
        "",
    ]
    out.append(f"| stratum | metric | {algo} | " + best + " | difference |")
    out.append("|---|---|---:|---:|---:|")
    for metric, stratum in sorted(xs.index.intersection(bs.index)):
        if metric not in ("line_f1", "regimen_exact", "maintenance_f1", "sequence_exact"):
            continue
        x, b = xs.loc[(metric, stratum)], bs.loc[(metric, stratum)]
        if pd.isna(x["estimate"]) or pd.isna(b["estimate"]):
            continue
        sep = (x["ci_low"] > b["ci_high"]) or (x["ci_high"] < b["ci_low"])
        out.append(
            f"| {stratum} | {metric} | {_cell(x)} | {_cell(b)} | "
            f"{x['estimate'] - b['estimate']:+.3f}{' *' if sep else ''} |"
        )
    return out


def _failure_modes(scenario: str, algo: str) -> list[str]:
    return [
        "",
        "## Known failure modes",
        "",
        "- The model learns the simulator: on real data it must be retrained on the chart-abstracted train "
        "split (scores on synthetic data overstate real-world accuracy).",
        "- Regimens are drugs within a fixed window after the predicted start: late additions (bevacizumab at "
        "cycle 2 after a dose delay) and drugs invisible in the source (cheap chemotherapy in SNDS, shown as "
        "`unnamed_chemotherapy` when a line has only sessions) lower the regimen match.",
        "- Boundaries on days without any exposure or session (a line started elsewhere and unseen) cannot be "
        "predicted; a gold start further than the tolerance from every treatment day is unreachable.",
        "- Rare patterns (re-challenge after a pause, T790M sequences, trial drugs) have few training "
        f"examples; their errors are in the evaluation's per-patient table (algorithm {algo}).",
        "- It leans on the rule engine's features (see importance): a change of the rule preset changes the model.",
        "",
        f"Generated by lotluca.learned.model_card from the fitted model file of `{algo}` (scenario `{scenario}`) "
        "and the evaluation metrics (metrics.csv).",
    ]


def render(summary: dict, metrics: pd.DataFrame, scenario: str, top_features: int = 20) -> str:
    """Markdown model card (see the module docstring) of the fitted model's `summary`."""
    algo = summary["algorithm"]
    out = _description(summary, scenario) + _cv_table(summary) + _test_scores(metrics, scenario, algo)
    out += ["", "## Feature importance (final model, train days)", ""]
    out.append("| feature | total gain | mean abs SHAP (boundary classes) |")
    out.append("|---|---:|---:|")
    for r in summary["importance"][:top_features]:
        out.append(f"| {r['feature']} | {r['total_gain']:.1f} | {r['mean_abs_shap_boundary']:.3f} |")
    out += _failure_modes(scenario, algo)
    return "\n".join(out) + "\n"
