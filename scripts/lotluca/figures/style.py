"""Shared look of the paper figures: Agg backend, labels, regimen-class colours, saving PNG + PDF."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
logging.getLogger("fontTools").setLevel(logging.WARNING)  # PDF font subsetting logs every table at INFO

import matplotlib.pyplot as plt  # noqa: E402

RC = {
    "font.size": 9,
    "axes.titlesize": 10,
    "axes.labelsize": 9,
    "legend.fontsize": 8,
    "xtick.labelsize": 8,
    "ytick.labelsize": 8,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "pdf.fonttype": 42,
    "svg.hashsalt": "lotluca",
}
plt.rcParams.update(RC)

# regimen classes (lotluca.drugs.regimen_class vocabulary) in display order, with a colour each
CLASS_COLOURS = {
    "chemo_doublet": "#4e79a7",
    "single_agent_chemo": "#a0cbe8",
    "chemo_antiangiogenic": "#59a14f",
    "chemo_io": "#e15759",
    "chemo_io_ctla4": "#ff9d9a",
    "io_mono": "#f28e2b",
    "io_ctla4": "#ffbe7d",
    "egfr_tki": "#b07aa1",
    "alk_tki": "#d4a6c8",
    "other_targeted": "#9d7660",
    "antiangiogenic_mono": "#8cd17d",
    "trial": "#79706e",
    "other": "#bab0ac",
    "unknown": "#d7d7d7",
}
CLASS_LABELS = {
    "chemo_doublet": "Chemo doublet",
    "single_agent_chemo": "Single-agent chemo",
    "chemo_antiangiogenic": "Chemo + anti-angiogenic",
    "chemo_io": "Chemo + IO",
    "chemo_io_ctla4": "Chemo + IO + CTLA-4",
    "io_mono": "IO monotherapy",
    "io_ctla4": "IO + CTLA-4",
    "egfr_tki": "EGFR TKI",
    "alk_tki": "ALK TKI",
    "other_targeted": "Other targeted",
    "antiangiogenic_mono": "Anti-angiogenic alone",
    "trial": "Clinical trial",
    "other": "Other",
    "unknown": "Unknown",
}
SCENARIO_LABELS = {"odh_only": "ODH only", "snds_only": "SNDS only", "linked": "ODH + SNDS linked"}
SCENARIO_COLOURS = {"odh_only": "#4e79a7", "snds_only": "#f28e2b", "linked": "#59a14f"}
ENDPOINT_LABELS = {
    "rwTTNT": "rwTTNT",
    "rwTTNT_dc": "rwTTNT (death censored)",
    "rwTTD": "rwTTD",
    "rwOS": "rwOS",
}
GOLD_COLOUR = "#333333"
ALGO_COLOUR = "#d62728"


def class_colour(cls: str) -> str:
    return CLASS_COLOURS.get(cls, CLASS_COLOURS["other"])


def class_label(cls: str) -> str:
    return CLASS_LABELS.get(cls, str(cls).replace("_", " "))


def scenario_label(s: str) -> str:
    return SCENARIO_LABELS.get(s, str(s).replace("_", " "))


def class_order(classes: Iterable[str]) -> list[str]:
    """Classes in display order (known vocabulary first, then the rest alphabetically)."""
    known = list(CLASS_COLOURS)
    cs = set(classes)
    return [c for c in known if c in cs] + sorted(cs - set(known))


def fmt_count(n) -> str:
    """A count for display: '<k' style placeholders are the caller's job; NA shows as 'n<min'."""
    try:
        import pandas as pd

        if pd.isna(n):
            return "suppressed"
    except (TypeError, ValueError):
        pass
    return f"{int(n):,}".replace(",", " ")


def save_figure(fig, paths: Iterable[str | Path], dpi: int) -> list[Path]:
    """Write `fig` to every path (format from the extension: .png at `dpi`, .pdf vector), deterministic
    metadata (no creation date), then close it. Returns the paths written."""
    out = []
    for p in paths:
        p = Path(p)
        p.parent.mkdir(parents=True, exist_ok=True)
        ext = p.suffix.lower().lstrip(".")
        meta = {"Software": None} if ext == "png" else {"CreationDate": None, "Producer": None, "Creator": None}
        fig.savefig(p, dpi=dpi, format=ext, bbox_inches="tight", metadata=meta)
        out.append(p)
    plt.close(fig)
    return out
