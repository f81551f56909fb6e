"""Love plot of the comparative-effectiveness balance table: per comparison, the absolute standardised
mean difference of every covariate before (open circle) and after IPTW (filled), with the usual 0.1
threshold."""

from __future__ import annotations

import numpy as np
import pandas as pd


def plot_love(balance: pd.DataFrame, paths, dpi: int, endpoint: str | None = None):
    """Draw the (suppressed) balance table, one panel per comparison (rows of `endpoint`, else of the first
    endpoint; the balance does not depend on the endpoint up to the censored rows). Returns the paths."""
    from lotluca.figures.style import plt, save_figure

    b = balance.copy()
    if len(b):
        b = b[b["endpoint"] == (endpoint or b["endpoint"].iloc[0])]
    comps = list(dict.fromkeys(b["comparison"])) or ["no comparison with arms of min_cell lines"]
    n_cov = max(1, b.groupby("comparison")["covariate"].nunique().max() if len(b) else 1)
    fig, axes = plt.subplots(1, len(comps), figsize=(4.2 * len(comps), 1.0 + 0.25 * n_cov), squeeze=False)
    for ax, comp in zip(axes[0], comps, strict=True):
        sub = b[b["comparison"] == comp]
        y = np.arange(len(sub))[::-1]
        ax.scatter(sub["smd_unadjusted"].abs(), y, facecolors="none", edgecolors="tab:red", label="unadjusted")
        ax.scatter(sub["smd_iptw"].abs(), y, color="tab:blue", label="IPTW")
        ax.axvline(0.1, color="grey", lw=0.8, ls="--")
        ax.set_yticks(y, list(sub["covariate"]))
        ax.set_xlabel("|standardised mean difference|")
        ax.set_title(comp.replace("_", " "), fontsize=8)
    axes[0][0].legend(loc="lower right", fontsize=7, frameon=False)
    fig.tight_layout()
    return save_figure(fig, paths, dpi=dpi)
