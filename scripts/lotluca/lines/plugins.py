"""Plug-in line algorithms: a function living outside the package, run by the lines stage like a preset.

A plug-in is named in config `lines.plugins` (algorithm name -> "module:function", or "path/to/file.py:function"
relative to the working directory) or installed by a Python package under the entry point group
`lotluca.algorithms` (entry point name = algorithm name, listed in `lines.algorithms` to run). The function is
called as `function(exposures, chemo_sessions, persons)` with the canonical pyarrow tables of one scenario
(and one patient shard) and returns the lines of those persons, a pyarrow Table or pandas DataFrame of the
lines contract; `normalise_lines` checks that output and conforms it. The interface: docs/plugins.md.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from collections.abc import Callable, Mapping
from importlib.metadata import entry_points
from pathlib import Path

import pandas as pd
import pyarrow as pa

from lotluca.contracts import LINES, conform
from lotluca.drugs import regimen_class
from lotluca.errors import InputError

GROUP = "lotluca.algorithms"  # entry point group of installed plug-ins
REQUIRED = ("person_id", "line_number", "start_date", "regimen", "is_maintenance")


def installed_plugins() -> dict[str, str]:
    """Entry points of the group `lotluca.algorithms`: name -> "module:function"."""
    return {ep.name: ep.value for ep in entry_points(group=GROUP)}


def _module(spec: str, name: str):
    """The module of a plug-in spec: a .py file (path) or an importable module name."""
    if spec.endswith(".py"):
        path = Path(spec)
        if not path.exists():
            raise InputError(path, f"plug-in file of algorithm {name!r} not found", expected="a .py file")
        mod_name = f"lotluca_plugin_{name}"
        loader = importlib.util.spec_from_file_location(mod_name, path)
        module = importlib.util.module_from_spec(loader)
        sys.modules[mod_name] = module
        loader.loader.exec_module(module)
        return module
    try:
        return importlib.import_module(spec)
    except ImportError as exc:
        raise InputError(f"lines.plugins.{name}", f"cannot import {spec!r}: {exc}") from exc


def load_function(spec: str, name: str) -> Callable:
    """The function of "module:function" or "file.py:function"."""
    if spec.count(":") != 1:
        raise InputError(f"lines.plugins.{name}", f"{spec!r} is not module:function", expected="module:function")
    module_spec, func_name = spec.rsplit(":", 1)
    func = getattr(_module(module_spec, name), func_name, None)
    if not callable(func):
        raise InputError(f"lines.plugins.{name}", f"{module_spec} has no function {func_name!r}")
    return func


def plugin_spec(name: str, plugins: Mapping[str, str] | None) -> str | None:
    """The spec of algorithm `name`: config `lines.plugins` first, then the installed entry points; None for a
    preset name (a preset is never replaced by a plug-in; naming one in lines.plugins is an error)."""
    from lotluca.lines.params import available_presets

    if name in available_presets():
        if plugins and name in plugins:
            raise InputError(f"lines.plugins.{name}", f"{name!r} is a rule preset", expected="another algorithm name")
        return None
    if plugins and name in plugins:
        return plugins[name]
    return installed_plugins().get(name)


def normalise_lines(out, name: str, persons: pa.Table | None) -> pa.Table:
    """A plug-in's output as a lines table (contracts.LINES): required columns present, line numbers >= 1,
    start <= end, one row per (person, line_number, is_maintenance), persons among the input's; regimen_class
    derived from the regimen when absent, `algorithm` set to `name`."""
    df = out.to_pandas(date_as_object=False) if isinstance(out, pa.Table) else pd.DataFrame(out).copy()
    where = f"plug-in {name!r} output"
    missing = [c for c in REQUIRED if c not in df.columns]
    if missing:
        raise InputError(where, f"missing column(s) {', '.join(missing)}", expected=f"columns {', '.join(REQUIRED)}")
    df = df.reset_index(drop=True)
    for col in ("start_date", "end_date"):
        df[col] = pd.to_datetime(df[col]).dt.date if col in df.columns else None
    rows = lambda mask: (mask[mask].index + 1).tolist()  # noqa: E731
    bad = ~(pd.to_numeric(df["line_number"], errors="coerce") >= 1)
    if bad.any():
        raise InputError(where, "line_number is not a positive integer", column="line_number", rows=rows(bad))
    bad = df["end_date"].notna() & (pd.to_datetime(df["end_date"]) < pd.to_datetime(df["start_date"]))
    if bad.any():
        raise InputError(where, "end_date before start_date", column="end_date", rows=rows(bad))
    bad = df.duplicated(["person_id", "line_number", "is_maintenance"])
    if bad.any():
        raise InputError(
            where, "duplicate (person_id, line_number, is_maintenance)", column="line_number", rows=rows(bad)
        )
    if persons is not None:
        bad = ~df["person_id"].astype(str).isin(set(persons.column("person_id").to_pylist()))
        if bad.any():
            raise InputError(where, "person_id not in the input persons", column="person_id", rows=rows(bad))
    if "regimen_class" not in df.columns:
        df["regimen_class"] = None
    empty = df["regimen_class"].isna()
    df.loc[empty, "regimen_class"] = df.loc[empty, "regimen"].map(lambda r: regimen_class(str(r).split("+")))
    if "end_reason" not in df.columns:
        df["end_reason"] = None
    df["algorithm"] = name
    df = df.sort_values(["person_id", "line_number", "is_maintenance", "start_date"], kind="stable")
    return conform(pa.Table.from_pandas(df, preserve_index=False), LINES, where)


def plugin_algorithm(name: str, spec: str) -> Callable:
    """The lines algorithm of a plug-in (the registry's interface: LineInputs -> lines table)."""
    func = load_function(spec, name)

    def run(inputs) -> pa.Table:
        return normalise_lines(func(inputs.exposures, inputs.chemo_sessions, inputs.persons), name, inputs.persons)

    run.plugin = spec
    return run


__all__ = ["GROUP", "installed_plugins", "load_function", "normalise_lines", "plugin_algorithm", "plugin_spec"]
