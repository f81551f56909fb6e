"""The rules of a line algorithm (`LineParams`, loaded from a YAML preset plus overrides) and the settings
of the `lines` config block (`LinesSettings`).

A preset (`presets/<name>.yaml`) is an algorithm definition, not a config default: it sets every field
of `LineParams`. The published rule sets and our own `lotluca` rules are described in docs/lines.md.
Drug lists are lower-case INNs of `drugs.csv`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import yaml

from lotluca.config import Settings
from lotluca.errors import InputError

DRUG_LISTS = ("gap_exempt_drugs", "continuation_maintenance_drugs", "switch_maintenance_drugs", "late_addition_drugs")
COUNTS = (
    "regimen_window_days",
    "gap_min_cycles",
    "maintenance_min_cycles",
    "late_addition_max_cycle",
    "death_window_days",
    "same_day_tolerance_days",
)
OPTIONAL_DAYS = (
    "gap_days",
    "chemo_gap_days",
    "maintenance_max_gap_days",
    "diagnosis_lookback_days",
    "maintenance_start_delay_days",
)
LINE_SCANS = ("phases", "segments")


@dataclass(frozen=True)
class LineParams(Settings):
    """Rules of one line-of-therapy algorithm (every field set by its preset; see docs/lines.md)."""

    name: str
    description: str
    reference: str
    # drugs started within this many days of the line start (inclusive) form the line's regimen
    regimen_window_days: int
    # a pause longer than this many days without treatment advances the line (null: never)
    gap_days: int | None
    # the gap rule applies only once the line has at least this many treatment days (tlcr2020: 4 cycles)
    gap_min_cycles: int
    # a line containing one of these drugs is never ended by a gap (oral TKIs taken for years)
    gap_exempt_drugs: tuple[str, ...]
    # measure gaps from the end of each dispensation's days of supply (end_date) instead of its date
    use_days_supply: bool
    # pairs of drugs that may replace each other without advancing the line
    substitutions: tuple[tuple[str, str], ...]
    # report maintenance phases (continuation and switch) as their own rows
    maintenance: bool
    # shorter gap for a line of cytotoxic chemotherapy only with no maintenance phase (null: gap_days)
    chemo_gap_days: int | None
    # drugs of the regimen that may continue alone after the others stop (continuation maintenance)
    continuation_maintenance_drugs: tuple[str, ...]
    # new drugs that may follow the induction as maintenance without advancing the line (switch maintenance)
    switch_maintenance_drugs: tuple[str, ...]
    # induction treatment days needed before a maintenance phase is recognised
    maintenance_min_cycles: int
    # the maintenance drug must follow the last induction day within this many days (null: any)
    maintenance_max_gap_days: int | None
    # induction drugs given again after a recognised maintenance phase start a new line (re-induction)
    maintenance_reinduction_advances: bool
    # a treatment day with only some of the regimen's drugs starts a new line (OncoRegimenFinder-like)
    drop_advances: bool
    # these drugs, first given after the window but before treatment day late_addition_max_cycle, with
    # drugs of the line the same day, join the regimen instead of advancing the line
    late_addition_drugs: tuple[str, ...]
    late_addition_max_cycle: int
    # chemotherapy sessions without a drug name (28Z07Z) continue a line that contains an IV drug
    use_chemo_sessions: bool
    # two sessions no drug of the current line explains start a line of "unnamed_chemotherapy"
    session_lines: bool
    # ODH protocol label and cycle number: a new drug under the line's protocol at cycle >= 2 joins the
    # regimen; a cycle-1 restart of a maintenance drug under a new protocol starts the maintenance phase
    use_protocol_signals: bool
    # treatment days at most this many days apart form one treatment day (date jitter between sources)
    same_day_tolerance_days: int
    # exposures more than this many days before the advanced diagnosis are ignored (null: no limit)
    diagnosis_lookback_days: int | None
    # the last line ends with reason "death" when death follows its last treatment within this many days
    death_window_days: int
    # "phases": lotluca's state machine; "segments": the scan of Merck's reference implementation (each line
    # scanned from its first treatment day to its first event, the next line rescanned from the event's date;
    # rows of a treatment day in ingredient-name order; continuation maintenance looked for in line 1 only;
    # switch maintenance only after line 1, when the regimen holds every switch drug); docs/lines.md
    line_scan: str
    # segments only: the reference's two-cycle rule as coded (docs/lines.md "The two-cycle rule")
    two_cycle_rule: bool
    # segments only: the maintenance phase starts at the first treatment day at least this many days after
    # the last day of the dropped drugs (null: maintenance is not split off)
    maintenance_start_delay_days: int | None

    @classmethod
    def from_config(cls, block: Mapping | None, source: str = "<dict>", **extra) -> LineParams:
        """The parameters of a preset mapping (every field), checked: InputError naming `source` otherwise."""
        data = {**(block or {}), **extra}
        known = [f.name for f in dataclasses.fields(cls)]
        unknown = sorted(set(data) - set(known))
        if unknown:
            raise InputError(source, f"unknown line-engine parameters {unknown}", expected=f"some of {sorted(known)}")
        missing = [k for k in known if k not in data]
        if missing:
            raise InputError(
                source,
                f"line-engine parameters missing: {missing}",
                expected="every parameter (see scripts/lotluca/lines/presets/lotluca.yaml)",
            )
        kw = dict(data)
        for key in DRUG_LISTS:
            kw[key] = tuple(str(x).strip().lower() for x in (kw[key] or ()))
        pairs = []
        for pair in kw["substitutions"] or ():
            if len(pair) != 2:
                raise InputError(source, f"substitution {pair!r} is not a pair", column="substitutions")
            pairs.append((str(pair[0]).lower(), str(pair[1]).lower()))
        kw["substitutions"] = tuple(pairs)
        for key in COUNTS:
            if not isinstance(kw[key], int) or kw[key] < 0:
                raise InputError(source, f"parameter {key} must be a non-negative integer, got {kw[key]!r}")
        for key in OPTIONAL_DAYS:
            if kw[key] is not None and (not isinstance(kw[key], int) or kw[key] < 0):
                raise InputError(source, f"parameter {key} must be a non-negative integer or null, got {kw[key]!r}")
        if kw["line_scan"] not in LINE_SCANS:
            raise InputError(source, f"line_scan must be one of {LINE_SCANS}, got {kw['line_scan']!r}")
        if kw["line_scan"] != "segments":
            for key, off in (("two_cycle_rule", False), ("maintenance_start_delay_days", None)):
                if kw[key] != off:
                    raise InputError(source, f"parameter {key} needs line_scan: segments", expected=f"{off!r}")
        elif kw["use_chemo_sessions"] or kw["use_protocol_signals"] or kw["drop_advances"]:
            raise InputError(
                source,
                "line_scan: segments reads named drugs only",
                expected="use_chemo_sessions, use_protocol_signals and drop_advances false",
            )
        return super().from_config(kw)

    def with_overrides(self, overrides: Mapping | None) -> LineParams:
        """These rules with some parameters replaced (config `lines.overrides.<algorithm>`)."""
        if not overrides:
            return self
        return LineParams.from_config({**dataclasses.asdict(self), **overrides}, source=f"overrides of {self.name}")

    def to_dict(self) -> dict:
        """The parameters as plain YAML/JSON values (lists for tuples)."""
        d = dataclasses.asdict(self)
        d["substitutions"] = [list(p) for p in self.substitutions]
        for k, v in d.items():
            if isinstance(v, tuple):
                d[k] = list(v)
        return d


@dataclass(frozen=True)
class LinesSettings(Settings):
    """config.yaml `lines:` block: the rule presets run by the study and their parameter overrides."""

    algorithms: tuple[str, ...]
    overrides: dict[str, dict]
    plugins: dict[str, str]  # plug-in algorithm -> "module:function" (lotluca.lines.plugins, docs/plugins.md)

    def params(self, algorithm: str) -> LineParams:
        """The rules of the preset `algorithm` with its overrides."""
        return load_params(algorithm, self.overrides.get(algorithm))


def available_presets() -> list[str]:
    """Names of the shipped presets (presets/*.yaml)."""
    folder = resources.files("lotluca.lines").joinpath("presets")
    return sorted(p.name[: -len(".yaml")] for p in folder.iterdir() if p.name.endswith(".yaml"))


def load_params(name_or_path: str | Path, overrides: Mapping | None = None) -> LineParams:
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
    return LineParams.from_config(data, source=source).with_overrides(overrides)


__all__ = ["LineParams", "LinesSettings", "available_presets", "load_params"]
