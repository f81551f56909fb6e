"""The `robustness` config block as a frozen settings dataclass, and the check of its grid keys against
the simulate block of the config schema."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from lotluca.config import Settings, schema
from lotluca.errors import ConfigError

BASELINE = "default"  # setting and value of the baseline point (every knob at its simulate-block value)
LOCO = "leave_one_centre_out"  # setting of the leave-one-centre-out rows (lotluca.robustness.loco)


@dataclass(frozen=True)
class GridSetting:
    """One setting of the grid: a simulator knob (dotted path under `simulate`) and its values."""

    name: str
    key: str
    values: tuple


@dataclass(frozen=True)
class RobustnessSettings(Settings):
    """Config block `robustness` (defaults and descriptions in the config schema; docs/robustness.md)."""

    enabled: bool
    patients: int
    seed: int | None
    split: str
    bootstrap: int
    metrics: tuple[str, ...]
    strata: tuple[str, ...]
    figure_scenario: str
    settings: tuple[dict, ...]  # {name, key, values} per setting
    leave_one_centre_out: dict  # {enabled, patients, spread, centres} (lotluca.robustness.loco)

    def grid(self) -> dict[str, GridSetting]:
        """Setting name -> GridSetting, keys checked against the schema (ConfigError naming the setting)."""
        out: dict[str, GridSetting] = {}
        for item in self.settings:
            s = GridSetting(item["name"], item["key"], tuple(item["values"]))
            if s.name in (BASELINE, LOCO) or s.name in out:
                raise ConfigError(f"config: robustness.settings: setting name {s.name!r} is reserved or repeated")
            check_key(s.key, s.name)
            out[s.name] = s
        return out


def check_key(key: str, name: str = "") -> None:
    """Raise a ConfigError unless `key` (dotted) names a leaf knob of the simulate block of the schema."""
    node: Mapping = schema()["properties"]["simulate"]
    for part in key.split("."):
        props = node.get("properties", {})
        if part not in props:
            raise ConfigError(
                f"config: robustness.settings {name!r}: simulate.{key} is not a simulator knob "
                f"(no {part!r} under it in the config schema; known: {', '.join(sorted(props)) or 'none'})"
            )
        node = props[part]
    if node.get("type") == "object":
        raise ConfigError(f"config: robustness.settings {name!r}: simulate.{key} is a block, not a knob")
