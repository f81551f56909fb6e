"""The configuration schema is the one place of defaults and meanings: every key described, every leaf
defaulted (or declared optional / required), config.yaml and config/simulate.yaml valid and equal to the
schema's defaults, `default_config()` usable."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from lotluca import config as lconfig

REPO = Path(__file__).resolve().parents[1]


def _walk(schema: dict, path: str = ""):
    """(dotted path, sub-schema, parent schema) of every property at every depth, including the schemas of
    free-form maps (additionalProperties, shown as `<name>`) and of list items that are objects."""
    for name, sub in schema.get("properties", {}).items():
        here = f"{path}.{name}" if path else name
        yield here, sub, schema
        yield from _walk(sub, here)
    extra = schema.get("additionalProperties")
    if isinstance(extra, dict):
        here = f"{path}.<name>"
        yield here, extra, schema
        yield from _walk(extra, here)
    items = schema.get("items")
    if isinstance(items, dict) and items.get("type") == "object":
        yield from _walk(items, f"{path}[]")


def _is_leaf(sub: dict) -> bool:
    return sub.get("type") != "object" or ("properties" not in sub and "additionalProperties" not in sub)


PROPERTIES = list(_walk(lconfig.schema()))


# the blocks of config.yaml in the order a user sets them: global choices first, then the stages in pipeline order
FIRST_BLOCKS = ["seed", "study", "inputs", "simulate", "scenarios", "shards"]
STAGE_BLOCKS = [
    "extract",
    "identify",
    "link",
    "merge",
    "lines",
    "learned",
    "evaluate",
    "effectiveness",
    "concomitant",
    "figures",
    "robustness",
    "challenge",
]
BLOCKS = [*FIRST_BLOCKS, *STAGE_BLOCKS, "privacy"]


def test_schema_has_every_block():
    top = set(lconfig.schema()["properties"])
    assert set(BLOCKS) <= top
    assert len(PROPERTIES) > 180


@pytest.mark.parametrize("path,sub", [(p, s) for p, s, _ in PROPERTIES], ids=[p for p, _, _ in PROPERTIES])
def test_every_property_has_a_description(path, sub):
    text = sub.get("description", "")
    assert isinstance(text, str) and len(text.strip()) >= 8, f"{path}: no description"


def test_every_leaf_has_a_default_or_is_optional_or_required():
    missing = []
    for path, sub, parent in PROPERTIES:
        name = path.rsplit(".", 1)[-1]
        if path.endswith("<name>") or not _is_leaf(sub) or "default" in sub:
            continue
        if name in parent.get("required", []) or sub.get("description", "").startswith("(optional)"):
            continue
        missing.append(path)
    assert not missing, f"leaves without a default: {missing}"


def test_every_object_default_is_valid_against_its_schema():
    for path, sub, _ in PROPERTIES:
        if "default" in sub:
            lconfig._validator(sub).validate(copy.deepcopy(sub["default"]))  # raises naming the value
            assert path


@pytest.mark.parametrize("name", ["config.yaml", "config/simulate.yaml"])
def test_config_files_validate(name):
    doc = yaml.safe_load((REPO / name).read_text(encoding="utf-8"))
    lconfig.validate(doc, name)


def test_config_files_restate_the_defaults():
    """config.yaml merged over config/simulate.yaml (as the Snakefile reads them) equals the schema's
    defaults: the files set what a user changes first, the schema holds the values."""
    assert lconfig.load_config(REPO / "config.yaml") == lconfig.default_config()


def test_simulate_yaml_holds_every_simulator_knob_and_config_yaml_none():
    sim = yaml.safe_load((REPO / "config" / "simulate.yaml").read_text(encoding="utf-8"))
    main = yaml.safe_load((REPO / "config.yaml").read_text(encoding="utf-8"))
    assert set(sim) == {"simulate"}
    assert set(main["simulate"]) == {"enabled"}
    knobs = set(lconfig.schema()["properties"]["simulate"]["properties"]) - {"enabled"}
    assert set(sim["simulate"]) == knobs


def test_config_yaml_order_is_what_a_user_sets_first():
    main = yaml.safe_load((REPO / "config.yaml").read_text(encoding="utf-8"))
    assert list(main) == BLOCKS


def test_default_config_works_and_overrides_blocks():
    cfg = lconfig.default_config()
    assert cfg["seed"] == 20261123 and cfg["simulate"]["patients"] == 3000
    assert cfg["inputs"]["gold_lines"] == "" and cfg["inputs"]["linkage_truth"] == ""
    cfg = lconfig.default_config(shards=3, evaluate={"bootstrap": 5})
    assert cfg["shards"] == 3 and cfg["evaluate"]["bootstrap"] == 5 and cfg["evaluate"]["split"] == "test"


def test_unknown_key_is_a_config_error():
    with pytest.raises(lconfig.ConfigError, match="link"):
        lconfig.default_config(link={"no_such_key": 1})
