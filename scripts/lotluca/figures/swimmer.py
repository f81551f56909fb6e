"""Fig 5: swimmer plot of a seeded random sample of gold-standard persons: for each person the gold
lines (upper bar) and the predicted lines (lower bar) on a common time axis from the advanced
diagnosis, coloured by regimen class, maintenance phases hatched, deaths marked.

This figure is patient-level: the step writes it to the private folder and persons are shown by a
sequence number only (never an identifier).
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from lotluca.errors import InputError
from lotluca.figures.style import class_colour, class_label, class_order, save_figure

DAYS_PER_MONTH = 30.4375


def sample_persons(gold: pd.DataFrame, n: int, seed: int, split: str | None) -> list[str]:
    """`n` distinct persons drawn without replacement (seeded) among the gold persons of `split`
    (all splits when None), in sorted-id order before the draw so the sample is reproducible."""
    g = gold if split is None or "split" not in gold.columns else gold[gold["split"] == split]
    ids = np.sort(g["person_id"].astype(str).unique())
    if ids.size == 0:
        raise InputError("gold_lines", f"no person in split {split!r}", column="split")
    rng = np.random.default_rng(seed)
    return list(rng.choice(ids, size=min(n, ids.size), replace=False))


def _text_colour(hex_colour: str) -> str:
    """Black on light fills, white on dark ones."""
    r, g, b = (int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5))
    return "black" if 0.299 * r + 0.587 * g + 0.114 * b > 0.6 else "white"


def _months(d: pd.Series, origin: pd.Series) -> np.ndarray:
    return ((pd.to_datetime(d) - pd.to_datetime(origin)).dt.days / DAYS_PER_MONTH).to_numpy(float)


def plot_swimmer(
    gold: pd.DataFrame,
    predicted: pd.DataFrame,
    persons: pd.DataFrame,
    person_ids,
    paths,
    *,
    dpi: int,
    algorithm: str = "algorithm",
):
    """Swimmer plot of `person_ids` (order kept after sorting by follow-up). `persons` gives
    diagnosis_date (time origin; first gold line start when missing), death_date and end_of_followup."""
    ids = [str(p) for p in person_ids]
    per = persons.assign(person_id=persons["person_id"].astype(str)).drop_duplicates("person_id").set_index("person_id")
    per = per.reindex(ids)
    first = gold.assign(person_id=gold["person_id"].astype(str)).groupby("person_id")["start_date"].min().reindex(ids)
    origin = pd.to_datetime(per["diagnosis_date"]).fillna(pd.to_datetime(first))
    if origin.isna().any():
        raise InputError(
            "persons",
            "no diagnosis date nor gold line for persons",
            column="diagnosis_date",
            rows=list(origin.index[origin.isna()]),
        )
    end = pd.to_datetime(per["death_date"]).fillna(pd.to_datetime(per["end_of_followup"]))
    fu = ((end - origin).dt.days / DAYS_PER_MONTH).fillna(0.0)
    ids = list(fu.sort_values(ascending=True, kind="mergesort").index)
    ypos = {p: i for i, p in enumerate(ids)}
    fig_h = max(3.0, 0.27 * len(ids) + 1.6)
    fig, ax = plt.subplots(figsize=(9.0, fig_h))
    classes = set()
    bars = []
    bar_h = 0.34
    for df, dy in ((gold, bar_h / 2 + 0.02), (predicted, -bar_h / 2 - 0.02)):
        d = df.assign(person_id=df["person_id"].astype(str))
        d = d[d["person_id"].isin(ypos)]
        if d.empty:
            continue
        o = origin.reindex(d["person_id"]).to_numpy()
        x0 = _months(d["start_date"].reset_index(drop=True), pd.Series(o))
        x1 = _months(d["end_date"].fillna(d["start_date"]).reset_index(drop=True), pd.Series(o))
        width = np.maximum(x1 - x0, 0.25)
        y = d["person_id"].map(ypos).to_numpy(float) + dy
        cls = d["regimen_class"].fillna("unknown").to_numpy()
        maint = d["is_maintenance"].fillna(False).astype(bool).to_numpy()
        classes |= set(cls)
        for c in np.unique(cls):
            for mflag in (False, True):
                m = (cls == c) & (maint == mflag)
                if m.any():
                    ax.barh(
                        y[m],
                        width[m],
                        left=x0[m],
                        height=bar_h,
                        color=class_colour(c),
                        edgecolor="white" if not mflag else "#333333",
                        linewidth=0.3,
                        hatch="////" if mflag else None,
                    )
        bars.append((x0, y, width, d["line_number"].to_numpy(), maint, cls))
    xmax = max([float(np.nanmax(fu.to_numpy())) if len(fu) else 1.0] + [float(np.nanmax(b[0] + b[2])) for b in bars])
    for x0, y, width, ln, maint, cls in bars:  # line numbers on the bars wide enough to hold them
        for xi, yi, wi, k, mflag, c in zip(x0, y, width, ln, maint, cls, strict=True):
            if wi > 0.045 * xmax and not mflag:
                ax.text(
                    xi + 0.005 * xmax,
                    yi,
                    f"{int(k)}L",
                    va="center",
                    ha="left",
                    fontsize=6,
                    color=_text_colour(class_colour(c)),
                )
    death = ((pd.to_datetime(per["death_date"]) - origin).dt.days / DAYS_PER_MONTH).reindex(ids)
    dead = death.notna()
    ax.scatter(death[dead], [ypos[p] for p in death.index[dead]], marker="X", s=28, color="black", zorder=5)
    alive = fu.reindex(ids)[~dead]
    ax.scatter(alive, [ypos[p] for p in alive.index], marker=">", s=18, color="#777777", zorder=5)
    ax.set_yticks(range(len(ids)), [f"P{i + 1:02d}" for i in range(len(ids))], fontsize=7)
    ax.set_ylim(-0.7, len(ids) - 0.3)
    ax.set_xlim(left=min(-0.5, float(np.nanmin(fu.to_numpy())) if len(fu) else -0.5))
    ax.set_xlabel("Months from diagnosis of advanced disease")
    ax.set_ylabel("Person (upper bar: gold standard, lower bar: algorithm)")
    ax.grid(axis="x", color="#eeeeee", lw=0.6)
    ax.set_axisbelow(True)
    ax.set_title(f"Gold-standard lines vs {algorithm}, {len(ids)} random test persons", loc="left")
    handles = [Patch(facecolor=class_colour(c), label=class_label(c)) for c in class_order(classes)]
    handles += [
        Patch(facecolor="white", edgecolor="#333333", hatch="////", label="Maintenance phase"),
        Line2D([], [], marker="X", color="black", ls="none", label="Death"),
        Line2D([], [], marker=">", color="#777777", ls="none", label="Alive at end of follow-up"),
    ]
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False, fontsize=7)
    fig.tight_layout()
    if paths:
        save_figure(fig, paths, dpi)
    return fig
