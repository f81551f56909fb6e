"""Fig 2 (accuracy of each algorithm by data-source scenario), Table 2, and the choice of the "best"
algorithm shown next to gold in the other figures.

Input: the tidy evaluation metrics (`lotluca.evaluate.scoring.METRIC_COLUMNS`: scenario, algorithm,
metric, stratum, estimate, ci_low, ci_high, n).
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from lotluca.errors import InputError
from lotluca.figures.style import SCENARIO_COLOURS, save_figure, scenario_label
from lotluca.privacy import suppress_counts

# the headline stratum, lotluca.evaluate.metrics.HEADLINE_STRATUM (restated: importing lotluca.evaluate
# needs numba, which the figures env does not have; tests/test_figures.py checks they are equal)
HEADLINE_STRATUM = "several_or_maintenance"
METRIC_NEED = ["scenario", "algorithm", "metric", "stratum", "estimate", "ci_low", "ci_high", "n"]
FIG_METRICS = {"line_f1": "Line F1", "sequence_exact": "Full-sequence exact match"}
TABLE_METRICS = {
    "line_precision": "Line precision",
    "line_recall": "Line recall",
    "line_f1": "Line F1",
    "regimen_exact": "Regimen exact (matched lines)",
    "regimen_class_match": "Regimen class (matched lines)",
    "start_error_median_abs_days": "Median absolute start error (days)",
    "maintenance_recall": "Maintenance recall",
    "count_exact": "Exact number of lines",
    "count_kappa_weighted": "Weighted kappa (number of lines)",
    "sequence_exact": "Full-sequence exact match",
}


def check_metrics(metrics: pd.DataFrame, name: str = "metrics") -> pd.DataFrame:
    missing = [c for c in METRIC_NEED if c not in metrics.columns]
    if missing:
        raise InputError(name, f"missing column(s) {missing}", expected=f"the evaluation metrics columns {METRIC_NEED}")
    return metrics


def best_algorithm(metrics: pd.DataFrame, scenario: str, metric: str, override: str | None = None) -> str:
    """`override` when set, else the algorithm with the highest `metric` (stratum HEADLINE_STRATUM) in `scenario`
    (ties: first in alphabetical order)."""
    if override:
        return override
    check_metrics(metrics)
    m = metrics[
        (metrics["scenario"] == scenario) & (metrics["metric"] == metric) & (metrics["stratum"] == HEADLINE_STRATUM)
    ]
    m = m.dropna(subset=["estimate"])
    if m.empty:
        raise InputError(
            "metrics",
            f"no {metric!r} estimate for scenario {scenario!r} (stratum {HEADLINE_STRATUM!r})",
            column="metric",
        )
    m = m.sort_values(["estimate", "algorithm"], ascending=[False, True], kind="mergesort")
    return str(m["algorithm"].iloc[0])


def plot_accuracy(
    metrics: pd.DataFrame,
    paths,
    *,
    dpi: int,
    min_cell: int,
    scenarios=None,
    algorithms=None,
    stratum: str = HEADLINE_STRATUM,
):
    """Dot-and-whisker panels (one per metric of FIG_METRICS): algorithms on the y axis, one marker per
    scenario (colour) with its bootstrap CI. No estimate is drawn from fewer than `min_cell` units."""
    check_metrics(metrics)
    m = metrics[(metrics["stratum"] == stratum) & metrics["metric"].isin(list(FIG_METRICS))].copy()
    small = pd.to_numeric(m["n"], errors="coerce").lt(min_cell)
    m.loc[small, ["estimate", "ci_low", "ci_high"]] = np.nan
    scenarios = list(scenarios or dict.fromkeys(m["scenario"]))
    algorithms = list(algorithms or dict.fromkeys(m["algorithm"]))
    fig, axes = plt.subplots(1, len(FIG_METRICS), figsize=(8.5, 0.55 * len(algorithms) + 1.6), sharey=True)
    axes = np.atleast_1d(axes)
    ys = np.arange(len(algorithms))[::-1]
    offs = ((len(scenarios) - 1) / 2 - np.arange(len(scenarios))) * 0.22  # first scenario on top
    for ax, (key, title) in zip(axes, FIG_METRICS.items(), strict=True):
        for j, s in enumerate(scenarios):
            sub = m[(m["metric"] == key) & (m["scenario"] == s)].set_index("algorithm").reindex(algorithms)
            est = sub["estimate"].to_numpy(float)
            lo = est - sub["ci_low"].to_numpy(float)
            hi = sub["ci_high"].to_numpy(float) - est
            err = np.clip(np.vstack([np.nan_to_num(lo), np.nan_to_num(hi)]), 0, None)
            ax.errorbar(
                est,
                ys + offs[j],
                xerr=err,
                fmt="o",
                ms=4,
                capsize=2,
                lw=1,
                color=SCENARIO_COLOURS.get(s, f"C{j}"),
                label=scenario_label(s),
            )
        ax.set_title(title)
        ax.set_xlim(-0.03, 1.03)
        ax.set_xlabel("Proportion (95% bootstrap CI)")
        ax.grid(axis="x", color="#dddddd", lw=0.6)
        ax.set_axisbelow(True)
    axes[0].set_yticks(ys, algorithms)
    axes[0].set_ylim(-0.6, len(algorithms) - 0.4)
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(
        handles,
        labels,
        loc="lower center",
        ncol=len(scenarios),
        frameon=False,
        bbox_to_anchor=(0.5, -0.02),
        title="Data-source scenario",
    )
    fig.tight_layout(rect=(0, 0.1, 1, 1))
    if paths:
        save_figure(fig, paths, dpi)
    return fig


def _cell(est, lo, hi, digits: int) -> str:
    if pd.isna(est):
        return "NA"
    if pd.isna(lo) or pd.isna(hi):
        return f"{est:.{digits}f}"
    return f"{est:.{digits}f} ({lo:.{digits}f}-{hi:.{digits}f})"


def accuracy_table(
    metrics: pd.DataFrame,
    *,
    min_cell: int,
    method: str,
    scenarios=None,
    algorithms=None,
    stratum: str = HEADLINE_STRATUM,
) -> pd.DataFrame:
    """Table 2: one row per scenario x algorithm; per metric of TABLE_METRICS 'estimate (CI)', and the
    number of gold persons and gold lines scored (small counts suppressed, with the estimates they carry)."""
    check_metrics(metrics)
    m = metrics[metrics["stratum"] == stratum]
    scenarios = list(scenarios or dict.fromkeys(m["scenario"]))
    algorithms = list(algorithms or dict.fromkeys(m["algorithm"]))
    rows = []
    for s in scenarios:
        for a in algorithms:
            sub = m[(m["scenario"] == s) & (m["algorithm"] == a)].set_index("metric")
            if sub.empty:
                continue
            row = {"scenario": s, "algorithm": a}
            n = sub["n"]
            row["n_persons"] = n.get("sequence_exact", np.nan)
            row["n_gold_lines"] = n.get("line_recall", np.nan)
            for key, label in TABLE_METRICS.items():
                if key in sub.index:
                    r = sub.loc[key]
                    row[label] = _cell(r["estimate"], r["ci_low"], r["ci_high"], 1 if key.endswith("_days") else 3)
                else:
                    row[label] = "NA"
            rows.append(row)
    out = pd.DataFrame(rows, columns=["scenario", "algorithm", "n_persons", "n_gold_lines", *TABLE_METRICS.values()])
    dep = list(TABLE_METRICS.values())
    return suppress_counts(
        out, ["n_persons", "n_gold_lines"], min_cell, method, dependent={"n_persons": dep, "n_gold_lines": dep}
    )
