"""The `figures` config block as a frozen settings dataclass (paper figures and tables)."""

from __future__ import annotations

from dataclasses import dataclass

from lotluca.config import Settings


@dataclass(frozen=True)
class FiguresSettings(Settings):
    """Config block `figures` (defaults and descriptions in the config schema; see docs/figures.md)."""

    scenario: str  # scenario of the lines shown next to gold
    best_algorithm: str  # the algorithm shown next to gold; "" = the highest best_metric in `scenario`
    best_metric: str  # metric (headline stratum several_or_maintenance) choosing the best algorithm
    swimmer_persons: int  # persons drawn for the swimmer plot
    swimmer_split: str  # gold split they are drawn from ("" = the evaluated split)
    seed: int | None  # seed of the swimmer draw (None: the master seed)
    km_endpoints: tuple[str, ...]  # rows of the Kaplan-Meier figure
    bias_endpoints: tuple[str, ...]  # panels of the bias forest plot
    median_endpoints: tuple[str, ...]  # endpoints of the medians table
    max_line: int  # last line of the pathways figure
    dpi: int  # resolution of the PNG files
