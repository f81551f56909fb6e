"""Fig 1: cohort flow (SNDS beneficiaries -> linked -> advanced NSCLC -> >= 1 line -> gold subset), and
beside it the SNDS-only cohort (SNDS beneficiaries -> C34 -> incident, not small cell -> identified advanced
NSCLC -> >= 1 line -> gold persons it contains: `snds_flow_counts`, `plot_cohort_flows`).

`cohort_flow_counts` derives the counts from the stage outputs (each step is a subset of the previous
one, and the persons leaving at each step are counted beside it); `suppress_flow` applies the small-cell
rule of `lotluca.privacy`; `plot_cohort_flow` draws the boxes.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

from lotluca.figures.style import fmt_count, save_figure
from lotluca.privacy import suppress_counts

FLOW_COLUMNS = ["step", "label", "n", "excluded_label", "n_excluded"]


def _ids(df: pd.DataFrame, col: str = "person_id") -> set:
    return set(df[col].dropna().astype(str).unique())


def cohort_flow_counts(
    snds_persons: pd.DataFrame,
    links: pd.DataFrame,
    merged_persons: pd.DataFrame,
    lines: pd.DataFrame,
    gold: pd.DataFrame,
    algorithm: str = "",
    scenario: str = "linked",
) -> pd.DataFrame:
    """One row per box of the flow: step, label, n (persons), and the persons excluded on the way in.

    - SNDS beneficiaries: distinct person_id of the extracted SNDS persons;
    - linked: those linked to a cancer-centre (ODH) patient (links.snds_person_id), counted as ODH ids;
    - advanced NSCLC: linked ODH patients of the merged `scenario` persons with a diagnosis date of
      advanced disease;
    - with >= 1 line: those with at least one line of `algorithm` in `scenario`;
    - gold subset: those with chart-abstracted gold lines (any split).
    """
    snds = _ids(snds_persons)
    lk = links[links["snds_person_id"].astype(str).isin(snds)]
    linked = _ids(lk, "odh_patient_id")
    adv = linked & _ids(merged_persons[merged_persons["diagnosis_date"].notna()])
    with_line = adv & _ids(lines)
    in_gold = with_line & _ids(gold)
    rows = [
        ("snds", "SNDS beneficiaries", len(snds), "", 0),
        (
            "linked",
            "Linked to a cancer-centre (ODH) patient",
            len(linked),
            "Not linked",
            len(snds - _ids(lk, "snds_person_id")),
        ),
        (
            "advanced",
            "Advanced NSCLC (diagnosis date known)",
            len(adv),
            "No advanced diagnosis",
            len(linked) - len(adv),
        ),
        ("with_line", "With at least one line of therapy", len(with_line), "No line", len(adv) - len(with_line)),
        (
            "gold",
            "Gold-standard (chart-abstracted) subset",
            len(in_gold),
            "Not chart-abstracted",
            len(with_line) - len(in_gold),
        ),
    ]
    return pd.DataFrame(rows, columns=FLOW_COLUMNS)


def snds_flow_counts(
    snds_persons: pd.DataFrame, report: dict, identified: pd.DataFrame, lines: pd.DataFrame, gold: pd.DataFrame
) -> pd.DataFrame:
    """The flow of the SNDS-only cohort (lotluca.identify): SNDS beneficiaries, lung cancer (rule C34),
    incident and not small cell, identified (advanced evidence in the study period), with >= 1 line of the
    snds_only scenario, gold persons it contains (`lines` and `gold` keyed by the study ids of the
    snds_only scenario: the ODH id of linked persons)."""
    n_snds = len(_ids(snds_persons))
    c34 = int(report["c34_persons"])
    incident = c34 - int(report["prevalent_excluded"]) - int(report["small_cell_excluded"])
    n_ident = len(_ids(identified))
    with_line = len(_ids(lines))
    in_gold = len(_ids(lines) & _ids(gold))
    rows = [
        ("snds", "SNDS beneficiaries", n_snds, "", 0),
        ("c34", "Lung cancer (C34 stay or ALD)", c34, "No lung-cancer code", n_snds - c34),
        ("incident", "Incident, no small-cell pattern", incident, "Prevalent or small cell", c34 - incident),
        ("identified", "Advanced NSCLC identified (SNDS alone)", n_ident, "No advanced evidence", incident - n_ident),
        ("with_line", "With at least one line of therapy", with_line, "No line", n_ident - with_line),
        ("gold", "Gold-standard persons it contains", in_gold, "Not chart-abstracted", with_line - in_gold),
    ]
    return pd.DataFrame(rows, columns=FLOW_COLUMNS)


def suppress_flow(counts: pd.DataFrame, min_cell: int, method: str) -> pd.DataFrame:
    """Small-cell rule on the flow counts (n and n_excluded)."""
    return suppress_counts(counts, ["n", "n_excluded"], min_cell, method)


def plot_cohort_flow(counts: pd.DataFrame, paths, *, dpi: int, min_cell: int, note: str = ""):
    """Vertical flow chart of `counts` (FLOW_COLUMNS; suppressed counts are NA and shown as '< min_cell
    or suppressed'). Saves to `paths` when given; returns the figure."""
    fig, ax = plt.subplots(figsize=(7.0, 1.25 * len(counts) + 0.4))
    _draw_flow(ax, counts, min_cell, "Study cohort (number of persons)", note)
    if paths:
        save_figure(fig, paths, dpi)
    return fig


def plot_cohort_flows(odh: pd.DataFrame, snds: pd.DataFrame, paths, *, dpi: int, min_cell: int, note: str = ""):
    """The ODH-based flow (`odh`) and the SNDS-only flow (`snds`) side by side; saves to `paths` when
    given; returns the figure."""
    n = max(len(odh), len(snds))
    fig, axes = plt.subplots(1, 2, figsize=(14.0, 1.25 * n + 0.4))
    _draw_flow(axes[0], odh, min_cell, "ODH-based cohort (number of persons)", note, n)
    _draw_flow(axes[1], snds, min_cell, "SNDS-only cohort (number of persons)", "", n)
    if paths:
        save_figure(fig, paths, dpi)
    return fig


def _draw_flow(ax, counts: pd.DataFrame, min_cell: int, title: str, note: str = "", rows: int | None = None) -> None:
    """Draw the boxes of one flow on `ax` (room for `rows` boxes, default its own)."""
    n = rows or len(counts)
    ax.set_xlim(0, 10)
    ax.set_ylim(-0.5, n - 0.55)
    ax.axis("off")
    ys = np.arange(n)[::-1].astype(float)[: len(counts)]
    box_w, box_h = 5.0, 0.62
    x0 = 0.3
    hidden = f"suppressed (1-{min_cell - 1} or secondary)"

    def text(v):
        return hidden if pd.isna(v) else f"n = {fmt_count(v)}"

    for i, (row, y) in enumerate(zip(counts.itertuples(index=False), ys, strict=True)):
        ax.add_patch(
            FancyBboxPatch(
                (x0, y - box_h / 2),
                box_w,
                box_h,
                boxstyle="round,pad=0.02,rounding_size=0.08",
                facecolor="#e8f0f8",
                edgecolor="#4e79a7",
                linewidth=1.0,
            )
        )
        ax.text(x0 + box_w / 2, y + 0.1, row.label, ha="center", va="center", fontsize=9, wrap=True)
        ax.text(x0 + box_w / 2, y - 0.15, text(row.n), ha="center", va="center", fontsize=9, fontweight="bold")
        if i > 0:
            ax.add_patch(
                FancyArrowPatch(
                    (x0 + box_w / 2, y + 1 - box_h / 2),
                    (x0 + box_w / 2, y + box_h / 2),
                    arrowstyle="-|>",
                    mutation_scale=12,
                    color="#4e79a7",
                )
            )
            if row.excluded_label:
                ym = y + 0.5
                ex_x = x0 + box_w + 0.8
                ax.add_patch(
                    FancyArrowPatch(
                        (x0 + box_w / 2, ym),
                        (ex_x, ym),
                        arrowstyle="-|>",
                        mutation_scale=10,
                        color="#999999",
                        linewidth=0.8,
                    )
                )
                ax.add_patch(
                    FancyBboxPatch(
                        (ex_x, ym - 0.2),
                        3.3,
                        0.4,
                        boxstyle="round,pad=0.02,rounding_size=0.06",
                        facecolor="#f4f4f4",
                        edgecolor="#999999",
                        linewidth=0.8,
                    )
                )
                ax.text(
                    ex_x + 1.65,
                    ym,
                    f"{row.excluded_label}: {text(row.n_excluded).removeprefix('n = ')}",
                    ha="center",
                    va="center",
                    fontsize=8,
                )
    ax.set_title(title, loc="left")
    if note:
        ax.text(x0, ys[-1] - box_h / 2 - 0.15, note, fontsize=7, color="#555555", ha="left", va="top")
