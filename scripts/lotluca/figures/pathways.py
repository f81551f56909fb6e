"""Fig 3: treatment pathways 1L -> 2L -> 3L by regimen class, Sankey-style (matplotlib patches and
Bezier paths), gold-standard lines next to the best algorithm's lines on the same persons.

Privacy: at each line, regimen classes with fewer than `min_cell` persons are pooled into "other
(pooled)" (with the next smallest classes while the pooled node is still below `min_cell`, so no
node can be recovered from the line total); a line total below `min_cell` is suppressed with its nodes,
and flows of fewer than `min_cell` persons are not drawn.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.patches import Patch, PathPatch, Rectangle
from matplotlib.path import Path as MPath

from lotluca.figures.style import class_colour, class_label, class_order, fmt_count, save_figure
from lotluca.privacy import suppress_counts

POOLED = "pooled"


def person_sequences(lines: pd.DataFrame, max_line: int) -> pd.DataFrame:
    """persons x line (1..max_line) table of the regimen class of each (non-maintenance) line; NA when
    the person has no such line. One row per person having a line 1."""
    df = lines[~lines["is_maintenance"].fillna(False).astype(bool)]
    df = df[df["line_number"].between(1, max_line)]
    df = df.sort_values(["person_id", "line_number", "start_date"], kind="mergesort")
    df = df.drop_duplicates(["person_id", "line_number"]).assign(
        regimen_class=lambda d: d["regimen_class"].fillna("unknown")
    )
    wide = df.pivot(index="person_id", columns="line_number", values="regimen_class")
    wide = wide.reindex(columns=range(1, max_line + 1))
    wide = wide[wide[1].notna()].astype(object)
    return wide.where(wide.notna(), None)


def pathway_counts(lines: pd.DataFrame, max_line: int, min_cell: int, method: str):
    """(nodes, flows) of the Sankey, after pooling small classes and suppression.

    nodes: line, regimen_class, n (NA = suppressed); flows: line (of the source), source, target, n.
    """
    seq = person_sequences(lines, max_line)
    for k in seq.columns:
        col = seq[k]
        counts = col.value_counts().sort_values(kind="mergesort")
        small = list(counts.index[counts < min_cell])
        # a pooled node still below min_cell takes the next smallest classes in, so that no hidden node
        # can be recovered by subtracting the drawn nodes from the line total
        rest = [c for c in counts.index if c not in small]
        while small and 0 < counts[small].sum() < min_cell and rest:
            small.append(rest.pop(0))
        seq[k] = col.where(~col.isin(small), POOLED)
    node_rows = []
    for k in seq.columns:
        for cls, n in seq[k].value_counts().items():
            node_rows.append({"line": int(k), "regimen_class": cls, "n": int(n)})
    nodes = pd.DataFrame(node_rows, columns=["line", "regimen_class", "n"])
    flow_rows = []
    for k in list(seq.columns)[:-1]:
        pair = seq[[k, k + 1]].dropna()
        for (a, b), n in pair.groupby([k, k + 1]).size().items():
            flow_rows.append({"line": int(k), "source": a, "target": b, "n": int(n)})
    flows = pd.DataFrame(flow_rows, columns=["line", "source", "target", "n"])
    totals = pd.DataFrame(
        {"line": [int(k) for k in seq.columns], "n": [int(seq[k].notna().sum()) for k in seq.columns]}
    )
    nodes = suppress_counts(nodes, ["n"], min_cell, method)
    flows = suppress_counts(flows, ["n"], min_cell, method)
    totals = suppress_counts(totals, ["n"], min_cell, method)
    return nodes, flows, totals


def _band(ax, x0, y0a, y0b, x1, y1a, y1b, colour):
    """Filled band from the vertical segment [y0a, y0b] at x0 to [y1a, y1b] at x1 (cubic Bezier edges)."""
    xm = (x0 + x1) / 2
    verts = [(x0, y0a), (xm, y0a), (xm, y1a), (x1, y1a), (x1, y1b), (xm, y1b), (xm, y0b), (x0, y0b), (x0, y0a)]
    codes = [
        MPath.MOVETO,
        MPath.CURVE4,
        MPath.CURVE4,
        MPath.CURVE4,
        MPath.LINETO,
        MPath.CURVE4,
        MPath.CURVE4,
        MPath.CURVE4,
        MPath.CLOSEPOLY,
    ]
    ax.add_patch(PathPatch(MPath(verts, codes), facecolor=colour, edgecolor="none", alpha=0.45))


def _node_colour(cls):
    return "#e3e3e3" if cls == POOLED else class_colour(cls)


def _node_label(cls):
    return "Other (pooled small classes)" if cls == POOLED else class_label(cls)


def draw_sankey(ax, nodes: pd.DataFrame, flows: pd.DataFrame, totals: pd.DataFrame, title: str, max_line: int):
    """Draw one Sankey panel on `ax`: columns = lines, stacked nodes (height = persons), bands = flows."""
    nodes = nodes.dropna(subset=["n"])
    scale_n = float(nodes.loc[nodes["line"] == 1, "n"].sum()) or 1.0
    most = int(nodes.groupby("line").size().max()) if len(nodes) else 1
    gap = min(0.025, 0.3 / max(most - 1, 1))  # gaps take at most 30% of the height
    usable = 1 - gap * max(most - 1, 0)
    width = 0.10
    pos = {}
    order = class_order(c for c in nodes["regimen_class"] if c != POOLED) + [POOLED]
    for k in range(1, max_line + 1):
        col = nodes[nodes["line"] == k].set_index("regimen_class")
        y = 1.0
        label_y = np.inf
        for cls in [c for c in order if c in col.index]:
            h = float(col.loc[cls, "n"]) / scale_n * usable
            pos[(k, cls)] = [y, y - h, y, y]  # top, bottom, next free out, next free in
            ax.add_patch(
                Rectangle(
                    (k - width / 2, y - h),
                    width,
                    h,
                    facecolor=_node_colour(cls),
                    edgecolor="#999999" if cls == POOLED else "white",
                    lw=0.5,
                )
            )
            label_y = min(y - h / 2, label_y - 0.034)  # labels of thin nodes pushed down so they never overlap
            ax.text(
                k + width / 2 + 0.02,
                label_y,
                fmt_count(col.loc[cls, "n"]),
                va="center",
                ha="left",
                fontsize=7,
                zorder=5,
                bbox={"boxstyle": "round,pad=0.15", "facecolor": "white", "edgecolor": "none", "alpha": 0.85},
            )
            y -= h + gap
    fl = flows.dropna(subset=["n"]).copy()
    if len(fl):
        fl["_s"] = fl["source"].map({c: i for i, c in enumerate(order)})
        fl["_t"] = fl["target"].map({c: i for i, c in enumerate(order)})
        for r in fl.sort_values(["line", "_s", "_t"]).itertuples(index=False):
            a, b = (r.line, r.source), (r.line + 1, r.target)
            if a not in pos or b not in pos:
                continue
            h = float(r.n) / scale_n * usable
            ya = pos[a][2]
            yb = pos[b][3]
            _band(ax, r.line + width / 2, ya, ya - h, r.line + 1 - width / 2, yb, yb - h, _node_colour(r.source))
            pos[a][2] -= h
            pos[b][3] -= h
    tot = totals.set_index("line")["n"]
    for k in range(1, max_line + 1):
        n = tot.get(k, 0)
        ax.text(k, 1.04, f"{k}L\nn = {fmt_count(n)}", ha="center", va="bottom", fontsize=8)
    ax.set_xlim(0.6, max_line + 0.45)
    ax.set_ylim(-0.02, 1.16)
    ax.axis("off")
    ax.set_title(title, pad=14)


def plot_pathways(panels: dict, paths, *, dpi: int, max_line: int, min_cell: int, method: str):
    """One Sankey panel per entry of `panels` ({title: lines DataFrame}, e.g. gold then best algorithm),
    a shared legend of the regimen classes drawn. Saves to `paths` when given; returns the figure."""
    fig, axes = plt.subplots(1, len(panels), figsize=(5.2 * len(panels), 5.6))
    axes = np.atleast_1d(axes)
    drawn = set()
    for ax, (title, lines) in zip(axes, panels.items(), strict=True):
        nodes, flows, totals = pathway_counts(lines, max_line, min_cell, method)
        draw_sankey(ax, nodes, flows, totals, title, max_line)
        drawn |= set(nodes.dropna(subset=["n"])["regimen_class"])
    classes = class_order(c for c in drawn if c != POOLED) + ([POOLED] if POOLED in drawn else [])
    handles = [
        Patch(facecolor=_node_colour(c), edgecolor="#999999" if c == POOLED else "none", label=_node_label(c))
        for c in classes
    ]
    ncol = min(4, max(1, len(handles)))
    nrows = int(np.ceil(len(handles) / ncol)) if handles else 1
    h_in = fig.get_figheight()
    note_h, row_h = 0.25, 0.2
    fig.text(
        0.5,
        0.08 / h_in,
        f"Numbers: persons. Classes of fewer than {min_cell} persons at a line are pooled; "
        f"flows of fewer than {min_cell} persons are not drawn.",
        ha="center",
        va="bottom",
        fontsize=7,
        color="#555555",
    )
    fig.legend(
        handles=handles,
        loc="lower center",
        ncol=ncol,
        frameon=False,
        title="Regimen class of the line",
        bbox_to_anchor=(0.5, note_h / h_in),
    )
    fig.tight_layout(rect=(0, (note_h + row_h * (nrows + 1) + 0.15) / h_in, 1, 1))
    if paths:
        save_figure(fig, paths, dpi)
    return fig
