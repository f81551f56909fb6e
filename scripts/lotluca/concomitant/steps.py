"""The step function of the concomitant stage: `concomitant` (exposure cohorts and Cox models of each
line's outcomes with a concomitant medication, on the gold lines and every lines source)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pyarrow as pa

from lotluca.concomitant.analysis import (
    EXPORT_COUNTS,
    analyse,
    export_table,
    private_cohorts,
    read_inputs,
    reference_hr,
)
from lotluca.concomitant.figure import plot_forest
from lotluca.concomitant.settings import ConcomitantSettings
from lotluca.effectiveness.settings import EffectivenessSettings
from lotluca.effectiveness.steps import lines_of_sources
from lotluca.io import write_parquet
from lotluca.privacy import PrivacySettings, write_export


def concomitant(
    inputs: Mapping,
    outputs: Mapping,
    *,
    sources: Sequence[Sequence[str]],
    concomitant: Mapping,
    simulate: Mapping,
    privacy: Mapping,
    seed: int,
    study: Mapping,
    effectiveness: Mapping,
    figures: Mapping,
) -> None:
    """inputs: gold, persons (vital status), exposures, lines (one file per source of `sources`);
    outputs: cohorts (private Parquet), table (suppressed CSV), figure_png, figure_pdf (forest plot).
    Uses the endpoint settings of `effectiveness` (gap, line groups, eras), figures.dpi and, on a simulated cohort,
    the hazard ratios of simulate.concomitant (the `simulated_hr` column)."""
    s = ConcomitantSettings.from_config(concomitant)
    p = PrivacySettings.from_config(privacy)
    lines = lines_of_sources(sources, inputs["lines"])
    srcs, persons, exposures = read_inputs(inputs["gold"], inputs["persons"], inputs["exposures"], lines, s.gold_splits)
    e = EffectivenessSettings.from_config(effectiveness)
    cohorts, res = analyse(srcs, persons, exposures, s, e, study["end_date"])
    write_parquet(pa.Table.from_pandas(private_cohorts(cohorts, p, seed), preserve_index=False), outputs["cohorts"])
    table = export_table(res, int(p.min_cell), p.method, reference_hr(simulate))
    write_export(table, outputs["table"], EXPORT_COUNTS, int(p.min_cell))
    plot_forest(table, [outputs["figure_png"], outputs["figure_pdf"]], dpi=int(figures["dpi"]))
