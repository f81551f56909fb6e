"""Forest plot of the concomitant-medication hazard ratios: one panel per endpoint, one row per exposure,
one marker (with its CI) per lines source (gold first), log axis, simulated HR as a dashed mark."""

from __future__ import annotations

import numpy as np
import pandas as pd

from lotluca.errors import InputError


def plot_forest(table: pd.DataFrame, paths, dpi: int):
    """Draw the (suppressed) export table of `stage.export_table`; returns the saved paths."""
    from lotluca.figures.style import plt, save_figure, scenario_label

    lo = [c for c in table.columns if c.startswith("lower_")]
    hi = [c for c in table.columns if c.startswith("upper_")]
    if not lo or not hi:
        raise InputError("concomitant table", "no CI columns lower_<level>/upper_<level>")
    lo, hi = lo[0], hi[0]
    t = table.copy()
    t["source"] = np.where(
        t["algorithm"] == "gold", "gold", t["algorithm"] + " (" + t["scenario"].map(scenario_label) + ")"
    )
    sources = ["gold"] + sorted(set(t["source"]) - {"gold"})
    exposures = list(dict.fromkeys(t["exposure"]))
    endpoints = list(dict.fromkeys(t["endpoint"]))
    fig, axes = plt.subplots(
        1,
        len(endpoints),
        figsize=(4.2 * len(endpoints), 0.9 + 0.28 * len(sources) * len(exposures)),
        sharey=True,
        squeeze=False,
    )
    cmap = plt.get_cmap("tab20")
    for ax, ep in zip(axes[0], endpoints, strict=True):
        sub = t[t["endpoint"] == ep]
        y0 = 0
        yt, yl = [], []
        for ex in exposures[::-1]:
            for k, src in enumerate(sources[::-1]):
                r = sub[(sub["exposure"] == ex) & (sub["source"] == src)]
                y = y0 + k
                if len(r) and np.isfinite(r["hr"].iloc[0]):
                    col = "black" if src == "gold" else cmap(sources.index(src) % 20)
                    ax.plot([r[lo].iloc[0], r[hi].iloc[0]], [y, y], color=col, lw=1)
                    ax.plot(r["hr"].iloc[0], y, "o" if src == "gold" else "s", color=col, ms=4)
            mid = y0 + (len(sources) - 1) / 2
            yt.append(mid)
            yl.append(ex)
            if "simulated_hr" in sub.columns:
                sim = sub.loc[sub["exposure"] == ex, "simulated_hr"]
                if len(sim) and np.isfinite(sim.iloc[0]):
                    ax.plot([sim.iloc[0]] * 2, [y0 - 0.4, y0 + len(sources) - 0.6], "--", color="tab:red", lw=1)
            y0 += len(sources) + 1
        ax.axvline(1.0, color="grey", lw=0.8)
        ax.set_xscale("log")
        ax.set_xticks([0.5, 0.75, 1, 1.5, 2, 3])
        ax.xaxis.set_minor_locator(plt.NullLocator())
        ax.get_xaxis().set_major_formatter(plt.FuncFormatter(lambda v, _: f"{v:g}"))
        ax.set_yticks(yt, yl)
        ax.set_title(ep)
        ax.set_xlabel("hazard ratio (exposed vs unexposed)")
    handles = [
        plt.Line2D(
            [], [], marker="o" if s == "gold" else "s", ls="", color="black" if s == "gold" else cmap(i % 20), label=s
        )
        for i, s in enumerate(sources)
    ]
    handles.append(plt.Line2D([], [], ls="--", color="tab:red", label="simulated HR (rwTTNT)"))
    n_rows = -(-len(handles) // 3)
    fig.tight_layout(rect=(0, 0.02 + 0.022 * n_rows, 1, 1))
    fig.legend(handles=handles, loc="lower center", ncol=3, frameon=False, fontsize=7)
    return save_figure(fig, paths, dpi=dpi)
