"""The step functions of the lines stage, one per rule: `lines` (every algorithm on one scenario's patient
shard, the inputs read once) and `lines_gather` (the shards of one algorithm, sorted). See docs/lines.md."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path

from lotluca.errors import InputError
from lotluca.lines.algorithms import algorithms as build_algorithms
from lotluca.lines.cli import read_inputs, run_algorithm
from lotluca.lines.params import LinesSettings
from lotluca.sharding import gather_files

log = logging.getLogger(__name__)
GATHER_KEYS = ("person_id", "line_number", "start_date")  # then every other column (lotluca.sharding)


def _by_stem(paths) -> dict[str, str]:
    """File stem (the name up to its first dot) -> path."""
    if isinstance(paths, str | Path):
        paths = [paths]
    return {Path(p).name.split(".", 1)[0]: str(p) for p in paths or ()}


def _outputs(paths, algorithms: Sequence[str]) -> dict[str, str]:
    """Algorithm -> its output file: by file stem when the stems are the algorithms, else by position (the
    outputs in `algorithms` order, e.g. per-shard files `.../{algorithm}/{shard}.parquet`)."""
    paths = [str(p) for p in ([paths] if isinstance(paths, str | Path) else paths)]
    if len(paths) != len(algorithms):
        raise InputError(
            "lines",
            f"{len(paths)} output file(s) for {len(algorithms)} algorithm(s) {list(algorithms)}",
            expected="one output per algorithm",
        )
    by_stem = _by_stem(paths)
    if sorted(by_stem) == sorted(algorithms):
        return by_stem
    return dict(zip(algorithms, paths, strict=True))


def lines(inputs: Mapping, outputs: Mapping, *, lines: Mapping, learned: Mapping, algorithms: Sequence[str]) -> None:
    """inputs: exposures, chemo_sessions, persons (one patient shard of a scenario), models (the fitted model
    file of each trainable algorithm, file stem = algorithm; empty when learned.enabled is false);
    outputs: lines (one file per algorithm of `algorithms`: file stem = algorithm, or in `algorithms` order).

    Rule presets run with config `lines.overrides`, plug-ins from config `lines.plugins` or the entry points
    `lotluca.algorithms` (docs/plugins.md); the trainable algorithm `learned["algorithm"]` (when
    learned.enabled) is predicted by its estimator loaded from its model file."""
    settings = LinesSettings.from_config(lines)
    models = _by_stem(inputs.get("models"))
    out = _outputs(outputs["lines"], algorithms)
    trainable = learned["algorithm"] if learned["enabled"] else None
    if trainable in algorithms and trainable not in models:
        raise InputError(
            "lines",
            f"no model file for the trainable algorithm {trainable!r}",
            expected=f"inputs models holding {trainable}.model.json (rule learned_fit)",
        )
    unused = sorted(set(models) - set(algorithms))
    if unused:
        raise InputError("lines", f"model files {unused} of no algorithm of {list(algorithms)}")
    registry = build_algorithms(algorithms, settings.overrides, models, settings.plugins)
    data = read_inputs(inputs["exposures"], "exposures", inputs["persons"], inputs["chemo_sessions"])
    for name in algorithms:
        run_algorithm(name, registry[name], data, out[name])


def lines_gather(inputs: Mapping, outputs: Mapping) -> None:
    """inputs: shards (one algorithm's per-shard lines, shard order); outputs: lines (sorted by person_id,
    line_number, start_date, then every other column)."""
    gather_files(list(inputs["shards"]), outputs["lines"], keys=list(GATHER_KEYS))


__all__ = ["lines", "lines_gather"]
