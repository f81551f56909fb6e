"""Argument helpers shared by the stage sub-commands: reading `--config` and parsing `--lines` specs.

Both raise InputError (a LotlucaError), which the `lotluca` command prints as one line, exit code 2.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from lotluca.errors import InputError


def read_config(path: str | None) -> dict:
    """The YAML config at `path` as a dict ({} when no path is given)."""
    if not path:
        return {}
    p = Path(path)
    if not p.exists():
        raise InputError(p, "config file not found")
    return yaml.safe_load(p.read_text(encoding="utf-8")) or {}


def line_sources(specs: list[str] | None) -> list[tuple[str, str, str]]:
    """`--lines ALGORITHM:SCENARIO:PATH` values as (algorithm, scenario, path) triples."""
    out = []
    for spec in specs or []:
        parts = spec.split(":", 2)
        if len(parts) != 3:
            raise InputError("--lines", f"{spec!r} is not a lines source", expected="ALGORITHM:SCENARIO:PATH")
        out.append((parts[0], parts[1], parts[2]))
    return out
