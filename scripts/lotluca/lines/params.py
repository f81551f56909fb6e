"""The parameter object of the lines engine, loaded from a YAML preset (`presets/<name>.yaml`) plus overrides.

Every behaviour of `lotluca.lines.engine` is set here; the presets reproduce the published rule sets
(BRIEF section 5) and our own `lotluca` rules. Drug lists are lower-case INNs of `drugs.csv`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import yaml

from lotluca.errors import InputError


@dataclass(frozen=True)
class LineParams:
    """Rules of one line-of-therapy algorithm (see presets/*.yaml for the documented values)."""

    name: str
    description: str = ""
    reference: str = ""
    # drugs started within this many days of the line start (inclusive) form the line's regimen
    regimen_window_days: int = 28
    # a pause longer than this many days without treatment advances the line (null: never)
    gap_days: int | None = 180
    # the gap rule applies only once the line has at least this many treatment days (tlcr2020: 4 cycles)
    gap_min_cycles: int = 0
    # a line containing one of these drugs is never ended by a gap (oral TKIs taken for years)
    gap_exempt_drugs: tuple[str, ...] = ()
    # measure gaps from the end of each dispensation's days of supply (end_date) instead of its date
    use_days_supply: bool = True
    # pairs of drugs that may replace each other without advancing the line
    substitutions: tuple[tuple[str, str], ...] = ()
    # report maintenance phases (continuation and switch) as their own rows
    maintenance: bool = True
    # shorter gap for a line of cytotoxic chemotherapy only with no maintenance phase (a restart months
    # after a planned 4-6 cycles is a re-challenge); null: gap_days for every line
    chemo_gap_days: int | None = None
    # drugs of the regimen that may continue alone after the others stop (continuation maintenance)
    continuation_maintenance_drugs: tuple[str, ...] = ()
    # new drugs that may follow the induction as maintenance without advancing the line (switch maintenance)
    switch_maintenance_drugs: tuple[str, ...] = ()
    # induction treatment days needed before a maintenance phase is recognised
    maintenance_min_cycles: int = 1
    # the maintenance drug must follow the last induction day within this many days (null: any)
    maintenance_max_gap_days: int | None = None
    # induction drugs given again after a recognised maintenance phase start a new line (re-induction)
    maintenance_reinduction_advances: bool = False
    # a treatment day with only some of the regimen's drugs starts a new line (OncoRegimenFinder-like)
    drop_advances: bool = False
    # these drugs, when they first appear after the window but before treatment day number
    # late_addition_max_cycle, given with drugs of the line the same day, join the regimen instead of
    # advancing the line (bevacizumab at cycle 2)
    late_addition_drugs: tuple[str, ...] = ()
    late_addition_max_cycle: int = 0
    # chemotherapy sessions without a drug name (28Z07Z) continue a line that contains an IV drug
    use_chemo_sessions: bool = False
    # sessions not explained by the current line (no drug of the line is session-only in SNDS, or no line):
    # two of them start a line of "unnamed_chemotherapy" (cheap IV chemotherapy given elsewhere)
    session_lines: bool = False
    # ODH prescription software: a new drug given under the line's protocol label with cycle >= 2 joins
    # the regimen; a cycle-1 restart of a maintenance drug under a new protocol starts the maintenance phase
    use_protocol_signals: bool = False
    # treatment days at most this many days apart form one treatment day (date jitter between sources)
    same_day_tolerance_days: int = 0
    # exposures more than this many days before the advanced diagnosis are ignored (null: no limit)
    diagnosis_lookback_days: int | None = 0
    # the last line ends with reason "death" when death follows its last treatment within this many days
    death_window_days: int = 180

    @classmethod
    def from_dict(cls, data: dict, source: str = "<dict>") -> LineParams:
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise InputError(source, f"unknown line-engine parameters {unknown}", expected=f"some of {sorted(known)}")
        kw = dict(data)
        for key in (
            "gap_exempt_drugs",
            "continuation_maintenance_drugs",
            "switch_maintenance_drugs",
            "late_addition_drugs",
        ):
            if key in kw:
                kw[key] = tuple(str(x).strip().lower() for x in (kw[key] or ()))
        if "substitutions" in kw:
            pairs = []
            for pair in kw["substitutions"] or ():
                if len(pair) != 2:
                    raise InputError(source, f"substitution {pair!r} is not a pair", column="substitutions")
                pairs.append((str(pair[0]).lower(), str(pair[1]).lower()))
            kw["substitutions"] = tuple(pairs)
        for key in (
            "regimen_window_days",
            "gap_min_cycles",
            "maintenance_min_cycles",
            "late_addition_max_cycle",
            "death_window_days",
            "same_day_tolerance_days",
        ):
            if key in kw and (not isinstance(kw[key], int) or kw[key] < 0):
                raise InputError(source, f"parameter {key} must be a non-negative integer, got {kw[key]!r}")
        for key in ("gap_days", "chemo_gap_days", "maintenance_max_gap_days", "diagnosis_lookback_days"):
            if kw.get(key) is not None and (not isinstance(kw[key], int) or kw[key] < 0):
                raise InputError(source, f"parameter {key} must be a non-negative integer or null, got {kw[key]!r}")
        if "name" not in kw:
            raise InputError(source, "line-engine parameters need a name")
        return cls(**kw)

    def with_overrides(self, overrides: dict | None) -> LineParams:
        if not overrides:
            return self
        merged = {**dataclasses.asdict(self), **overrides}
        return LineParams.from_dict(merged, source=f"overrides of {self.name}")

    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        d["substitutions"] = [list(p) for p in self.substitutions]
        for k, v in d.items():
            if isinstance(v, tuple):
                d[k] = list(v)
        return d


def available_presets() -> list[str]:
    """Names of the shipped presets (presets/*.yaml)."""
    folder = resources.files("lotluca.lines").joinpath("presets")
    return sorted(p.name[: -len(".yaml")] for p in folder.iterdir() if p.name.endswith(".yaml"))


def load_params(name_or_path: str | Path, overrides: dict | None = None) -> LineParams:
    """A preset by name (e.g. "meng2021") or a YAML file path, with optional parameter overrides."""
    path = Path(str(name_or_path))
    if path.suffix in (".yaml", ".yml") and path.exists():
        text, source = path.read_text(encoding="utf-8"), str(path)
    else:
        if str(name_or_path) not in available_presets():
            raise InputError(
                "--algorithm",
                f"unknown algorithm {str(name_or_path)!r}",
                expected=f"one of {available_presets()} or a YAML file",
            )
        res = resources.files("lotluca.lines").joinpath("presets", f"{name_or_path}.yaml")
        text, source = res.read_text(encoding="utf-8"), f"lotluca/lines/presets/{name_or_path}.yaml"
    data = yaml.safe_load(text) or {}
    if not isinstance(data, dict):
        raise InputError(source, "a preset must be a YAML mapping of parameters")
    return LineParams.from_dict(data, source=source).with_overrides(overrides)


__all__ = ["LineParams", "available_presets", "load_params"]
