"""Fig 6: forest plot of the bias that line reconstruction puts on effectiveness estimates.

Input: the bias export table (`lotluca.effectiveness.bias.bias_table`, suppressed by the bias step):
per algorithm x scenario x endpoint x line group, the difference of KM medians (algorithm - gold,
months) with its paired-bootstrap CI and, in first line, the ratio of the adjusted hazard ratios
(algorithm / gold) with its CI. Top row: median differences (0 = no bias); bottom row: HR ratios on a
log axis (1 = no bias). One marker per data-source scenario.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.gridspec import GridSpec
from matplotlib.ticker import FixedLocator, FuncFormatter, NullLocator

from lotluca.errors import InputError
from lotluca.figures.style import ENDPOINT_LABELS, SCENARIO_COLOURS, save_figure, scenario_label

NEED = ["algorithm", "scenario", "endpoint", "line_group", "median_diff", "hr_ratio"]


def _ci(df: pd.DataFrame, base: str) -> tuple[str, str]:
    lo = [c for c in df.columns if c.startswith(f"{base}_lower_")]
    hi = [c for c in df.columns if c.startswith(f"{base}_upper_")]
    if not lo or not hi:
        raise InputError("bias", f"no CI columns {base}_lower_<level>/{base}_upper_<level>")
    return lo[0], hi[0]


LOG_LIMITS = (1 / 16, 16)  # HR-ratio axis range; estimates and CI ends beyond it are drawn at the edge
LOG_TICKS = np.array([1 / 16, 1 / 8, 0.25, 0.5, 0.67, 0.8, 1.0, 1.25, 1.5, 2.0, 4.0, 8.0, 16.0])


def _dots(ax, sub: pd.DataFrame, rows: list, scenarios: list, col: str, lo: str, hi: str, log: bool = False):
    """One marker + CI per (row, scenario). On the log axis, values outside LOG_LIMITS are clipped to
    the edge and drawn as a triangle pointing outwards."""
    offs = ((len(scenarios) - 1) / 2 - np.arange(len(scenarios))) * 0.22  # first scenario on top
    ys = np.arange(len(rows))[::-1]
    ypos = {r: y for r, y in zip(rows, ys, strict=True)}
    clipped_any = False
    for j, s in enumerate(scenarios):
        d = sub[sub["scenario"] == s]
        if d.empty:
            continue
        colour = SCENARIO_COLOURS.get(s, f"C{j}")
        y = np.array([ypos[k] for k in zip(d["_block"], d["algorithm"], strict=True)], dtype=float) + offs[j]
        est = d[col].to_numpy(float)
        low = d[lo].to_numpy(float)
        h = d[hi].to_numpy(float)
        ok = np.isfinite(est)
        if log:
            a, b = LOG_LIMITS
            out_lo, out_hi = ok & (est < a), ok & (est > b)
            clipped_any |= bool((out_lo | out_hi).any() or (low[ok] < a).any() or (h[ok] > b).any())
            est, low, h = np.clip(est, a, b), np.clip(low, a, b), np.clip(h, a, b)
            ax.scatter(est[out_lo], y[out_lo], marker="<", s=22, color=colour, zorder=4)
            ax.scatter(est[out_hi], y[out_hi], marker=">", s=22, color=colour, zorder=4)
            ok &= ~(out_lo | out_hi)
        err = np.clip(
            np.vstack([np.where(np.isfinite(low), est - low, 0), np.where(np.isfinite(h), h - est, 0)])[:, ok], 0, None
        )
        ax.errorbar(
            est[ok], y[ok], xerr=err, fmt="o", ms=3.5, capsize=1.5, lw=0.9, color=colour, label=scenario_label(s)
        )
    if not np.isfinite(pd.to_numeric(sub[col], errors="coerce")).any():
        ax.text(
            0.5,
            0.5,
            "no estimate (too few lines or events)",
            transform=ax.transAxes,
            ha="center",
            va="center",
            fontsize=8,
            color="#777777",
        )
    ax.axvline(1.0 if log else 0.0, color="#555555", lw=0.8, ls="--")
    if log:
        ax.set_xscale("log")
        lo_, hi_ = ax.get_xlim()
        lo_, hi_ = max(min(lo_, 0.8), LOG_LIMITS[0] / 1.15), min(max(hi_, 1.25), LOG_LIMITS[1] * 1.15)
        ax.set_xlim(lo_, hi_)
        ticks = LOG_TICKS[(LOG_TICKS >= lo_) & (LOG_TICKS <= hi_)]
        for keep in ([1 / 16, 1 / 8, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0], [1 / 16, 0.25, 1.0, 4.0, 16.0]):
            if ticks.size > 7:  # fewer, evenly spaced ticks on a wide range
                ticks = ticks[np.isin(ticks, keep)]
        ax.xaxis.set_major_locator(FixedLocator(ticks))
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"1/{round(1 / v)}" if v < 0.2 else f"{v:.3g}"))
        ax.xaxis.set_minor_locator(NullLocator())
    ax.set_ylim(-0.6, len(rows) - 0.4)
    ax.grid(axis="x", color="#eeeeee", lw=0.6)
    ax.set_axisbelow(True)
    return ys, clipped_any


def plot_bias_forest(bias: pd.DataFrame, paths, *, dpi: int, endpoints, scenarios=None, algorithms=None):
    """Forest plot (see module docstring). Returns the figure; saves it to `paths` when given."""
    missing = [c for c in NEED if c not in bias.columns]
    if missing:
        raise InputError("bias", f"missing column(s) {missing}")
    dlo, dhi = _ci(bias, "median_diff")
    rlo, rhi = _ci(bias, "hr_ratio")
    b = bias[bias["endpoint"].isin(endpoints)].copy()
    b["line_group"] = b["line_group"].astype(str)
    scenarios = list(scenarios or dict.fromkeys(b["scenario"]))
    algorithms = list(algorithms or sorted(b["algorithm"].unique()))
    groups = sorted(b["line_group"].unique(), key=lambda g: (int(g.rstrip("+")), g))
    b["_block"] = b["line_group"]
    med_rows = [(g, a) for g in groups for a in algorithms]
    hr_block = groups[0] if groups else "1"
    hr = b[b["line_group"] == hr_block].copy()
    hr_rows = [(hr_block, a) for a in algorithms]
    ne = len(endpoints)
    row_in = 0.24
    top_in, hr_in = row_in * (len(med_rows) + 0.5), row_in * (len(hr_rows) + 0.8)
    title_in, xlabel_in, legend_in = 0.35, 0.5, 0.65
    height = title_in + top_in + xlabel_in + title_in + hr_in + xlabel_in + legend_in
    fig = plt.figure(figsize=(3.2 * ne + 1.6, height))
    gs = GridSpec(
        2,
        ne,
        figure=fig,
        height_ratios=[top_in, hr_in],
        hspace=(xlabel_in + title_in) / ((top_in + hr_in) / 2),
        wspace=0.08,
        top=1 - title_in / height,
        bottom=(legend_in + xlabel_in) / height,
        left=1.5 / (3.2 * ne + 1.6),
        right=0.97,
    )
    for j, ep in enumerate(endpoints):
        ax = fig.add_subplot(gs[0, j])
        ys, _ = _dots(ax, b[b["endpoint"] == ep], med_rows, scenarios, "median_diff", dlo, dhi)
        ax.set_title(f"{ENDPOINT_LABELS.get(ep, ep)}: median difference")
        ax.set_xlabel("Algorithm - gold (months)")
        if j == 0:
            ax.set_yticks(ys, [f"L{g}  {a}" for g, a in med_rows], fontsize=7)
        else:
            ax.set_yticks(ys, [])
        for k in range(1, len(groups)):
            ax.axhline(ys[k * len(algorithms)] + 0.5, color="#cccccc", lw=0.6)
        ax2 = fig.add_subplot(gs[1, j])
        ys2, clipped = _dots(ax2, hr[hr["endpoint"] == ep], hr_rows, scenarios, "hr_ratio", rlo, rhi, log=True)
        ax2.set_title(f"{ENDPOINT_LABELS.get(ep, ep)}: ratio of first-line HRs")
        ax2.set_xlabel("HR algorithm / HR gold (log scale)" + ("\ntriangles: beyond the axis" if clipped else ""))
        ax2.set_yticks(ys2, [a for _, a in hr_rows] if j == 0 else [], fontsize=7)
    handles, labels = fig.axes[0].get_legend_handles_labels()
    if not handles:
        for ax in fig.axes:
            handles, labels = ax.get_legend_handles_labels()
            if handles:
                break
    fig.legend(
        handles,
        labels,
        loc="lower center",
        ncol=max(1, len(scenarios)),
        frameon=False,
        title="Data-source scenario",
        bbox_to_anchor=(0.5, 0.0),
    )
    if paths:
        save_figure(fig, paths, dpi)
    return fig
