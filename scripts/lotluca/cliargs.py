"""Argument helper shared by the stage sub-commands: parsing `--lines` specs (the config is read by
`lotluca.config.load_config`).

It raises InputError (a LotlucaError), which the `lotluca` command prints as one line, exit code 2.
"""

from __future__ import annotations

from lotluca.errors import InputError


def line_sources(specs: list[str] | None) -> list[tuple[str, str, str]]:
    """`--lines ALGORITHM:SCENARIO:PATH` values as (algorithm, scenario, path) triples."""
    out = []
    for spec in specs or []:
        parts = spec.split(":", 2)
        if len(parts) != 3:
            raise InputError("--lines", f"{spec!r} is not a lines source", expected="ALGORITHM:SCENARIO:PATH")
        out.append((parts[0], parts[1], parts[2]))
    return out
