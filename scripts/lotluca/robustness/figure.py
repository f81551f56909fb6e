"""The robustness figure: one panel per grid setting, the headline metric of every algorithm (one line
each, bootstrap CIs) at the baseline and at each value of the setting, in one data-source scenario."""

from __future__ import annotations

import math
from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from lotluca.errors import InputError
from lotluca.figures.style import save_figure
from lotluca.robustness.grid import ROBUSTNESS_COLUMNS
from lotluca.robustness.settings import BASELINE


def check_table(table: pd.DataFrame, name: str = "robustness.csv") -> pd.DataFrame:
    """The robustness table, or an InputError naming the missing columns."""
    missing = [c for c in ROBUSTNESS_COLUMNS if c not in table.columns]
    if missing:
        raise InputError(name, f"missing column(s) {missing}", expected=f"columns {ROBUSTNESS_COLUMNS}")
    return table


def plot_robustness(
    table: pd.DataFrame, paths: Sequence[str], *, scenario: str, metric: str, stratum: str, dpi: int = 150
):
    """Small multiples (one per setting other than the baseline): x the baseline then the setting's
    values, y `metric` in `stratum` of `scenario` with its CI, one line per algorithm."""
    check_table(table)
    t = table[(table["scenario"] == scenario) & (table["metric"] == metric) & (table["stratum"] == stratum)]
    if t.empty:
        raise InputError("robustness.csv", f"no {metric} rows for scenario {scenario!r}, stratum {stratum!r}")
    base = t[t["setting"] == BASELINE].set_index("algorithm")
    settings = [s for s in dict.fromkeys(t["setting"]) if s != BASELINE]
    algorithms = list(dict.fromkeys(t["algorithm"]))
    ncol = min(4, max(1, len(settings)))
    nrow = max(1, math.ceil(len(settings) / ncol))
    fig, axes = plt.subplots(nrow, ncol, figsize=(2.6 * ncol, 2.3 * nrow + 0.8), sharey=True, squeeze=False)
    for ax, setting in zip(axes.flat, settings, strict=False):
        sub = t[t["setting"] == setting]
        values = [BASELINE, *dict.fromkeys(sub["value"])]
        x = np.arange(len(values))
        for j, a in enumerate(algorithms):
            pts = [base.loc[[a]] if a in base.index else None] + [
                sub[(sub["value"] == v) & (sub["algorithm"] == a)] for v in values[1:]
            ]
            est = np.array([p["estimate"].iloc[0] if p is not None and len(p) else np.nan for p in pts], float)
            lo = np.array([p["ci_low"].iloc[0] if p is not None and len(p) else np.nan for p in pts], float)
            hi = np.array([p["ci_high"].iloc[0] if p is not None and len(p) else np.nan for p in pts], float)
            err = np.clip(np.vstack([np.nan_to_num(est - lo), np.nan_to_num(hi - est)]), 0, None)
            off = (j - (len(algorithms) - 1) / 2) * 0.06
            ax.errorbar(x + off, est, yerr=err, fmt="-o", ms=3, lw=1, capsize=1.5, color=f"C{j}", label=a)
        ax.set_xticks(x, values, rotation=30, fontsize=7)
        ax.set_title(setting.replace("_", " "), fontsize=9)
        ax.grid(axis="y", color="#dddddd", lw=0.6)
    for ax in axes.flat[len(settings) :]:
        ax.set_visible(False)
    for ax in axes[:, 0]:
        ax.set_ylabel(f"{metric} ({stratum})", fontsize=8)
    handles, labels = axes.flat[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=min(len(algorithms), 6), frameon=False, fontsize=8)
    fig.suptitle(f"Robustness grid, {scenario} scenario (simulated cohorts)", fontsize=10)
    fig.tight_layout(rect=(0, 0.06, 1, 0.97))
    if paths:
        save_figure(fig, paths, dpi)
    return fig
