"""Line algorithms by name, one interface: a callable building the lines table from the inputs.

Three kinds (docs/lines.md "Algorithms", docs/plugins.md): plug-ins (an outside function, `lotluca.lines.plugins`),
rule presets (`presets/<name>.yaml` with the config's
`lines.overrides.<name>`, run by the rule engine) and trainable algorithms (an estimator fitted by the
learned stage and loaded from its model file, e.g. `lotluca.learned.LearnedLines`). A model file names
its estimator class (field `estimator`); `TRAINABLE` maps that name to the class, whose `load(path)`
gives an object with `predict(exposures, chemo_sessions, persons) -> lines`.
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa

from lotluca.errors import InputError
from lotluca.lines.engine import reconstruct_with_assignment
from lotluca.lines.params import LineParams, load_params
from lotluca.lines.plugins import plugin_algorithm, plugin_spec

# estimator name written in a model file -> "module:class" of the trainable algorithm
TRAINABLE: dict[str, str] = {"lotluca.learned.LearnedLines": "lotluca.learned.estimator:LearnedLines"}


@dataclass(frozen=True)
class LineInputs:
    """The canonical inputs of a line algorithm (contracts.md#exposures, #chemo_sessions, #persons) and the
    file names used in messages."""

    exposures: pa.Table
    chemo_sessions: pa.Table | None = None
    persons: pa.Table | None = None
    names: tuple[str, str, str] = ("exposures", "persons", "chemo_sessions")  # exposures, persons, sessions


Algorithm = Callable[[LineInputs], pa.Table]


def rule_algorithm(params: LineParams) -> Algorithm:
    """The rule engine with `params` (a preset with its overrides)."""

    def run(inputs: LineInputs) -> pa.Table:
        return reconstruct_with_assignment(
            inputs.exposures, inputs.persons, inputs.chemo_sessions, params, names=inputs.names
        )[0]

    run.params = params
    return run


def load_estimator(model_path: str | Path):
    """The fitted estimator of a model file (its class from the file's `estimator` field, see TRAINABLE)."""
    path = Path(model_path)
    if not path.exists():
        raise InputError(path, "model file not found", expected="the fitted model of a trainable algorithm")
    try:
        with path.open(encoding="utf-8") as fh:
            kind = json.load(fh).get("estimator")
    except (json.JSONDecodeError, UnicodeDecodeError, AttributeError) as exc:
        raise InputError(path, f"not a model file: {exc}", expected="a JSON model file") from exc
    if kind not in TRAINABLE:
        raise InputError(path, f"unknown estimator {kind!r}", expected=f"one of {sorted(TRAINABLE)}")
    module, name = TRAINABLE[kind].split(":")
    return getattr(importlib.import_module(module), name).load(path)


def trainable_algorithm(model_path: str | Path) -> Algorithm:
    """The fitted estimator of `model_path` predicting lines."""
    estimator = load_estimator(model_path)

    def run(inputs: LineInputs) -> pa.Table:
        return estimator.predict(inputs.exposures, inputs.chemo_sessions, inputs.persons)

    run.estimator = estimator
    return run


def algorithms(
    names: Sequence[str],
    overrides: Mapping[str, Mapping] | None = None,
    models: Mapping[str, str | Path] | None = None,
    plugins: Mapping[str, str] | None = None,
) -> dict[str, Algorithm]:
    """The registry of a run: each name of `names` -> its algorithm: trainable when `models` holds its
    fitted model file, a plug-in when `plugins` (config lines.plugins) or an installed entry point of the
    group `lotluca.algorithms` names it (lotluca.lines.plugins), else the rule preset (or preset YAML file)
    with `overrides[name]`."""
    overrides, models = overrides or {}, models or {}
    out: dict[str, Algorithm] = {}
    for name in names:
        spec = None if name in models else plugin_spec(name, plugins)
        if name in models:
            out[name] = trainable_algorithm(models[name])
        elif spec is not None:
            out[name] = plugin_algorithm(name, spec)
        else:
            out[name] = rule_algorithm(load_params(name, overrides.get(name)))
    return out


__all__ = [
    "TRAINABLE",
    "Algorithm",
    "LineInputs",
    "algorithms",
    "load_estimator",
    "rule_algorithm",
    "trainable_algorithm",
]
