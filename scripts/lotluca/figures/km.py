"""Fig 4: Kaplan-Meier curves of rwTTNT and rwOS by line, gold standard vs one algorithm, with the
number at risk under each axis.

Inputs are the effectiveness engineer's export tables (`lotluca.effectiveness.km.km_tables`, suppressed by
`lotluca.effectiveness.analysis.export_tables`): km_curves (survival and CI on a monthly grid, cut where fewer
than min_cell lines remain at risk) and at_risk (number at risk at the report months, small counts
blanked). Nothing is recomputed here, so the figure shows exactly the exported, suppressed numbers.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.gridspec import GridSpec, GridSpecFromSubplotSpec

from lotluca.errors import InputError
from lotluca.figures.style import ALGO_COLOUR, ENDPOINT_LABELS, GOLD_COLOUR, save_figure, scenario_label

GOLD = "gold"


def _ci_columns(df: pd.DataFrame, name: str) -> tuple[str, str]:
    lo = [c for c in df.columns if c.startswith("lower_")]
    hi = [c for c in df.columns if c.startswith("upper_")]
    if not lo or not hi:
        raise InputError(name, "no confidence-interval columns (lower_<level>, upper_<level>)")
    return lo[0], hi[0]


def _select(df: pd.DataFrame, algorithm: str, scenario: str, endpoint: str, stratum: str) -> pd.DataFrame:
    m = (df["endpoint"] == endpoint) & (df["stratum_type"] == "line") & (df["stratum"].astype(str) == stratum)
    if algorithm == GOLD:
        m &= df["algorithm"] == GOLD
    else:
        m &= (df["algorithm"] == algorithm) & (df["scenario"] == scenario)
    return df[m].sort_values("months")


def line_groups(curves: pd.DataFrame) -> list[str]:
    """Line strata present ("1", "2", "3+"), in line order."""
    s = curves.loc[curves["stratum_type"] == "line", "stratum"].astype(str).unique()
    return sorted(s, key=lambda g: (int(g.rstrip("+")), g))


def plot_km(
    curves: pd.DataFrame,
    at_risk: pd.DataFrame,
    algorithm: str,
    scenario: str,
    paths,
    *,
    dpi: int,
    endpoints,
    min_cell: int,
    groups=None,
    max_months: float | None = None,
):
    """Grid of KM panels (rows: endpoints, columns: line groups), gold (dark) vs `algorithm` in
    `scenario` (red), shaded 95% CIs, with the at-risk counts of both under each panel."""
    groups = list(groups or line_groups(curves))
    if not groups:
        raise InputError("km_curves", "no line strata (stratum_type == 'line')", column="stratum_type")
    clo, chi = _ci_columns(curves, "km_curves")
    months = np.sort(at_risk["months"].unique())
    if max_months is None:
        max_months = float(months.max()) if len(months) else float(curves["months"].max())
    sources = [
        (GOLD, "Gold standard", GOLD_COLOUR),
        (algorithm, f"{algorithm} ({scenario_label(scenario)})", ALGO_COLOUR),
    ]
    shown = []  # at-risk months far enough apart to print their counts side by side
    for t in months[months <= max_months]:
        if not shown or t - shown[-1] >= max_months / 10:
            shown.append(t)
    nr, nc = len(endpoints), len(groups)
    fig = plt.figure(figsize=(3.7 * nc + 0.8, 3.9 * nr + 0.6))
    outer = GridSpec(nr, nc, figure=fig, hspace=0.28, wspace=0.25)
    for i, ep in enumerate(endpoints):
        for j, grp in enumerate(groups):
            inner = GridSpecFromSubplotSpec(2, 1, subplot_spec=outer[i, j], height_ratios=[3.0, 0.55], hspace=0.32)
            ax = fig.add_subplot(inner[0])
            tab = fig.add_subplot(inner[1], sharex=ax)
            for k, (alg, label, colour) in enumerate(sources):
                c = _select(curves, alg, scenario, ep, grp)
                if len(c):
                    ax.step(c["months"], c["survival"], where="post", color=colour, lw=1.4, label=label)
                    ax.fill_between(c["months"], c[clo], c[chi], step="post", color=colour, alpha=0.15, lw=0)
                r = _select(at_risk, alg, scenario, ep, grp)
                r = r[r["months"].isin(shown)]
                for t, n in zip(r["months"], r["at_risk"], strict=True):
                    tab.text(
                        t, 1 - k, "-" if pd.isna(n) else f"{int(n)}", ha="center", va="center", fontsize=7, color=colour
                    )
                if j == 0:
                    tab.text(
                        -0.04,
                        1 - k,
                        "Gold" if alg == GOLD else "Algorithm",
                        transform=tab.get_yaxis_transform(),
                        ha="right",
                        va="center",
                        fontsize=7,
                        color=colour,
                    )
            ax.set_ylim(0, 1.02)
            ax.set_xlim(-0.03 * max_months, max_months * 1.03)
            ax.set_xticks(shown)
            ax.grid(color="#eeeeee", lw=0.6)
            ax.set_title(f"{ENDPOINT_LABELS.get(ep, ep)}, line {grp}")
            ax.set_xlabel("Months from line start", fontsize=8, labelpad=1)
            if j == 0:
                ax.set_ylabel("Probability without event")
            tab.set_ylim(-0.5, 1.5)
            tab.axis("off")
            if j == 0:
                tab.text(
                    -0.04, 1.05, "At risk", transform=tab.transAxes, ha="right", va="bottom", fontsize=7, style="italic"
                )
    handles, labels = fig.axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="upper center", ncol=2, frameon=False, bbox_to_anchor=(0.5, 1.0))
    fig.text(
        0.5,
        -0.01,
        f"Shaded: 95% CI. Curves stop where fewer than {min_cell} lines remain at risk; "
        f"'-' = at-risk count suppressed (1-{min_cell - 1}).",
        ha="center",
        fontsize=7,
        color="#555555",
    )
    fig.subplots_adjust(top=0.93, bottom=0.07)
    if paths:
        save_figure(fig, paths, dpi)
    return fig
