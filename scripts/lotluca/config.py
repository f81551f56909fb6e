"""The study configuration: reading, validating against the JSON schema (which holds every default),
and turning each block into the frozen settings dataclass of its stage.

One pattern for every block: a stage declares `@dataclass(frozen=True) class XSettings(Settings)` whose
fields are the keys of its config block (no defaults in the code: the schema fills them), and builds it
with `XSettings.from_config(config["x"], **extra)`; `extra` carries values from outside the block (the
master seed, the study period). Nested blocks are nested Settings; lists become tuples.

`load_config(path)` is what the command line uses: the simulator's knobs (`config/simulate.yaml`, when
present beside the file) merged under the file, validated, defaults filled, exactly as the Snakefile
does it.
"""

from __future__ import annotations

import copy
import dataclasses
import datetime as dt
import types
import typing
from collections.abc import Mapping
from importlib import resources
from pathlib import Path

import yaml

from lotluca.errors import ConfigError

SCHEMA_RESOURCE = "config.schema.yaml"
SIMULATE_CONFIG = Path("config") / "simulate.yaml"  # relative to the study folder (the main config's folder)


def schema() -> dict:
    """The JSON schema of config.yaml (package data, the same file the Snakefile validates with)."""
    return yaml.safe_load(resources.files("lotluca.data").joinpath(SCHEMA_RESOURCE).read_text(encoding="utf-8"))


def _validator(schema_doc: dict):
    from jsonschema import Draft202012Validator, validators

    properties = Draft202012Validator.VALIDATORS["properties"]

    def set_defaults(validator, props, instance, sch):
        if isinstance(instance, dict):
            for name, sub in props.items():
                if "default" in sub:
                    instance.setdefault(name, copy.deepcopy(sub["default"]))
        yield from properties(validator, props, instance, sch)

    return validators.extend(Draft202012Validator, {"properties": set_defaults})(schema_doc)


def deep_update(base: dict, update: Mapping) -> dict:
    """`base` updated in place by `update`, nested dicts merged key by key (Snakemake's configfile merge)."""
    for key, value in update.items():
        if isinstance(value, Mapping) and isinstance(base.get(key), dict):
            deep_update(base[key], value)
        else:
            base[key] = copy.deepcopy(value)
    return base


def validate(config: Mapping, source: str = "config") -> dict:
    """A validated copy of `config` with every default of the schema filled in; ConfigError otherwise."""
    doc = copy.deepcopy(dict(config))
    errors = sorted(_validator(schema()).iter_errors(doc), key=lambda e: list(e.absolute_path))
    if errors:
        err = errors[0]
        where = ".".join(str(p) for p in err.absolute_path) or "(top level)"
        raise ConfigError(f"{source}: {where}: {err.message}")
    return doc


def read_yaml(path: str | Path) -> dict:
    p = Path(path)
    if not p.exists():
        raise ConfigError(f"{p}: config file not found")
    return yaml.safe_load(p.read_text(encoding="utf-8")) or {}


def load_config(path: str | Path | None = None, overrides: Mapping | None = None) -> dict:
    """The validated study config of `path` (None: the schema's defaults alone), as the workflow sees it."""
    doc: dict = {}
    if path:
        path = Path(path)
        sim = path.parent / SIMULATE_CONFIG
        if sim.exists():
            deep_update(doc, read_yaml(sim))
        deep_update(doc, read_yaml(path))
    deep_update(doc, overrides or {})
    return validate(doc, str(path or "defaults"))


def default_config(**overrides) -> dict:
    """The schema's defaults, with top-level blocks updated by `overrides` (tests, benchmarks)."""
    return load_config(None, overrides)


class Settings:
    """Base of every stage's frozen settings dataclass: `from_config(block, **extra)`."""

    @classmethod
    def from_config(cls, block: Mapping | None, **extra):
        values = {**(block or {}), **extra}
        hints = typing.get_type_hints(cls)
        names = [f.name for f in dataclasses.fields(cls) if f.init]
        unknown = sorted(set(values) - set(names))
        if unknown:
            raise ConfigError(f"{cls.__name__}: unknown config key(s) {unknown}")
        missing = [n for n in names if n not in values and not _has_default(cls, n)]
        if missing:
            raise ConfigError(f"{cls.__name__}: missing config key(s) {missing} (validate the config first)")
        return cls(**{n: _convert(values[n], hints[n], n) for n in names if n in values})


def _has_default(cls, name: str) -> bool:
    f = next(f for f in dataclasses.fields(cls) if f.name == name)
    return f.default is not dataclasses.MISSING or f.default_factory is not dataclasses.MISSING


def _convert(value, hint, name: str):
    """A YAML value as the field's declared type: nested Settings, tuples for lists, dates from text."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        if value is None:
            return None
        hint = next(a for a in args if a is not type(None))
        origin, args = typing.get_origin(hint), typing.get_args(hint)
    if isinstance(hint, type) and issubclass(hint, Settings):
        return value if isinstance(value, hint) else hint.from_config(value)
    if origin is tuple and isinstance(value, list | tuple):
        item = args[0] if args else typing.Any
        return tuple(_convert(v, item, name) for v in value)
    if origin in (dict, Mapping) and isinstance(value, Mapping):
        item = args[1] if len(args) == 2 else typing.Any
        return {k: _convert(v, item, f"{name}.{k}") for k, v in value.items()}
    if hint is dt.date and isinstance(value, str):
        return dt.date.fromisoformat(value)
    if hint is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    return value
