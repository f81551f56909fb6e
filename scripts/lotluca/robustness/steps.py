"""The step functions of the robustness stage, one per rule: `robustness_point` (every point of one grid
setting, or the baseline) and `robustness` (the grid table robustness.csv and its figure). See
docs/robustness.md."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path

import pandas as pd

from lotluca.errors import InputError
from lotluca.robustness.figure import check_table, plot_robustness
from lotluca.robustness.grid import gather, run_setting
from lotluca.robustness.settings import RobustnessSettings

log = logging.getLogger(__name__)


def _models(paths, scenarios: Sequence[str], trained: Sequence[str]) -> dict[str, dict[str, str]]:
    """Scenario -> trainable algorithm -> model file, from the model files in scenario-major order."""
    paths = [str(p) for p in ([paths] if isinstance(paths, str) else paths or [])]
    if len(paths) != len(scenarios) * len(trained):
        raise InputError("robustness", f"{len(paths)} model file(s) for {len(scenarios)} scenario(s) x {list(trained)}")
    it = iter(paths)
    return {s: {a: next(it) for a in trained} for s in scenarios}


def robustness_point(
    inputs: Mapping,
    outputs: Mapping,
    *,
    simulate: Mapping,
    study: Mapping,
    extract: Mapping,
    merge: Mapping,
    lines: Mapping,
    evaluate: Mapping,
    robustness: Mapping,
    scenarios: Sequence[str],
    learned: Mapping,
    seed: int,
    setting: str,
    trained: Sequence[str],
) -> None:
    """inputs: models (the fitted model of each trainable algorithm of `trained`, scenario-major, trained on
    the default cohort); outputs: table (the CSV rows of every point of grid setting `setting`). The grid
    cohorts are simulated, extracted and merged with the study's blocks; `learned` (the learned block) refits
    the trainable algorithms for the leave-one-centre-out setting."""
    config = {
        "seed": int(seed),
        "scenarios": list(scenarios),
        **{"simulate": simulate, "study": study, "extract": extract, "merge": merge, "lines": lines},
        **{"evaluate": evaluate, "robustness": robustness, "learned": learned},
    }
    rs = RobustnessSettings.from_config(robustness)
    models = _models(inputs.get("models"), list(scenarios), list(trained))
    table = run_setting(config, setting, rs, models, int(seed))
    Path(outputs["table"]).parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(outputs["table"], index=False, float_format="%.6g", lineterminator="\n")


def robustness(inputs: Mapping, outputs: Mapping, *, robustness: Mapping, dpi: int) -> None:
    """inputs: points (the tables of every setting); outputs: csv (robustness.csv), png, pdf (the figure)."""
    rs = RobustnessSettings.from_config(robustness)
    parts = [check_table(pd.read_csv(p, dtype={"value": str}), str(p)) for p in inputs["points"]]
    table = gather(parts, rs)
    Path(outputs["csv"]).parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(outputs["csv"], index=False, float_format="%.6g", lineterminator="\n")
    plot_robustness(
        table,
        [outputs["png"], outputs["pdf"]],
        scenario=rs.figure_scenario,
        metric=rs.metrics[0],
        stratum=rs.strata[0],
        dpi=dpi,
    )
    log.info("robustness grid: %d rows, %d settings", len(table), table["setting"].nunique())
