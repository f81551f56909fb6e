"""Where every artefact of the study lives: the layout file `data/layout.yaml`, declared once and read by
the workflow rules and by the command line's default paths."""

from __future__ import annotations

from functools import cache
from importlib import resources

import yaml


@cache
def layout() -> dict:
    """The layout file as a nested dict (stage -> artefact -> path pattern)."""
    return yaml.safe_load(resources.files("lotluca.data").joinpath("layout.yaml").read_text(encoding="utf-8"))


class _Keep(dict):
    def __missing__(self, key):
        return "{" + key + "}"


def path(key: str, **fields) -> str:
    """The path pattern of `key` ("stage.artefact"), the given fields filled, the others left as {wildcards}."""
    node = layout()
    for part in key.split("."):
        node = node[part]
    return node.format_map(_Keep({k: str(v) for k, v in fields.items()}))


SIMULATED_INPUTS = {"gold_lines": "simulate.gold", "linkage_truth": "simulate.truth"}


def study_input(config: dict, name: str) -> str:
    """`inputs.<name>` of a validated config, or, when it is "" and the simulator runs, the simulator's file
    ("" when neither: e.g. no linkage truth on real data)."""
    given = config["inputs"][name]
    if given or not config["simulate"]["enabled"]:
        return given
    return path(SIMULATED_INPUTS[name], name=name)
