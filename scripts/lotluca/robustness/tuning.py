"""Freezing the `lotluca` preset: its simulator-sensitive parameters chosen by a small grid search on the
gold TRAIN split of a TUNING cohort simulated with its own seed (never the evaluation cohort's), and the
record of that choice (scripts/lotluca/lines/tuning/lotluca.yaml), rendered into docs/lines.md.

Procedure (`python tools/tune_presets.py`): simulate the tuning cohort with the study's default config
(only the seed and the number of patients differ), extract and merge it like the study
(lotluca.robustness.cohort), then coordinate descent over TUNED in order, for at most `passes` passes:
for each parameter, every candidate value with the others at their current choice; a candidate replaces
the current value only if it raises the objective by more than `min_gain` (ties keep the current value).
Objective: the mean over the data-source scenarios of line F1 in the stratum several_or_maintenance
(two or more gold lines or a maintenance phase) on the train persons of the tuning cohort's gold standard.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from importlib import resources
from pathlib import Path

import yaml

from lotluca import io
from lotluca.evaluate.metrics import HEADLINE_STRATUM
from lotluca.evaluate.settings import EvaluateSettings
from lotluca.lines.algorithms import rule_algorithm
from lotluca.lines.params import load_params
from lotluca.robustness.cohort import Cohort, gold_split, predict, score

PRESET = "lotluca"
CONT = ["pemetrexed", "pembrolizumab", "bevacizumab", "atezolizumab"]
# parameter -> candidate values (clinically plausible ranges, not the simulator's draws)
TUNED: dict[str, list] = {
    "gap_days": [60, 90, 120, 150, 180],
    "chemo_gap_days": [45, 60, 75, 90, 120],
    "maintenance_min_cycles": [2, 3, 4],
    "maintenance_max_gap_days": [28, 42, 56],
    "continuation_maintenance_drugs": [CONT, ["pemetrexed", "bevacizumab"], [*CONT, "gemcitabine"]],
    "switch_maintenance_drugs": [["pemetrexed"], ["pemetrexed", "docetaxel"], []],
    "late_addition_drugs": [
        ["bevacizumab", "ramucirumab", "pembrolizumab", "atezolizumab"],
        ["bevacizumab", "ramucirumab"],
        [],
    ],
    "late_addition_max_cycle": [2, 3, 4],
    "same_day_tolerance_days": [0, 1, 2, 3],
    "diagnosis_lookback_days": [0, 30, 60],
}
# the start of the search: the values designed before any tuning (so a rerun does not depend on the
# values a previous run wrote into the preset)
START: dict = {
    "gap_days": 120,
    "chemo_gap_days": 75,
    "maintenance_min_cycles": 3,
    "maintenance_max_gap_days": 42,
    "continuation_maintenance_drugs": CONT,
    "switch_maintenance_drugs": ["pemetrexed"],
    "late_addition_drugs": ["bevacizumab", "ramucirumab", "pembrolizumab", "atezolizumab"],
    "late_addition_max_cycle": 3,
    "same_day_tolerance_days": 2,
    "diagnosis_lookback_days": 30,
}
# the other presets keep their published values (not tuned here)
PUBLISHED = {
    "meng2021": "Meng et al., JMIR Med Inform 2021, as the Merck reference implementation runs it",
    "meng2021_paper": "Meng et al., JMIR Med Inform 2021, the paper's switch maintenance",
    "meng2021_gap120": "Meng et al., JMIR Med Inform 2021, pre-refinement variant (120-day gap)",
    "tlcr2020": "Transl Lung Cancer Res 2020 claims-based rules (42-day gap, 4 cycles)",
    "regimen_window30": "OHDSI OncoRegimenFinder (30-day regimen window)",
}
BEGIN, END = "<!-- preset-tuning:begin -->", "<!-- preset-tuning:end -->"


def record_path() -> Path:
    """The committed tuning record of the lotluca preset."""
    return Path(str(resources.files("lotluca.lines").joinpath("tuning", f"{PRESET}.yaml")))


def preset_path() -> Path:
    return Path(str(resources.files("lotluca.lines").joinpath("presets", f"{PRESET}.yaml")))


def objective(cohort: Cohort, overrides: Mapping, settings: EvaluateSettings) -> float:
    """Mean over the cohort's scenarios of line F1 (HEADLINE_STRATUM) of the preset with `overrides`, on
    the gold train split."""
    algorithm = rule_algorithm(load_params(PRESET, dict(overrides)))
    m = score(predict({PRESET: algorithm}, cohort), gold_split(cohort.gold, "train"), settings)
    f1 = m[(m["metric"] == "line_f1") & (m["stratum"] == HEADLINE_STRATUM)]["estimate"]
    return float(f1.mean())


def tune(cohort: Cohort, settings: EvaluateSettings, passes: int = 2, min_gain: float = 0.002, log=print) -> dict:
    """Coordinate descent over TUNED (module docstring). Returns {"chosen": ..., "trace": ...}."""
    chosen = {k: _plain(START[k]) for k in TUNED}
    best = objective(cohort, chosen, settings)
    trace: dict[str, dict] = {}
    for p in range(passes):
        changed = False
        for key, values in TUNED.items():
            scores = {}
            for v in values:
                scores[_label(v)] = objective(cohort, {**chosen, key: v}, settings)
            top = max(values, key=lambda v: scores[_label(v)])
            if scores[_label(top)] > best + min_gain and _label(top) != _label(chosen[key]):
                chosen[key], best, changed = top, scores[_label(top)], True
            else:
                best = scores.get(_label(chosen[key]), best)
            trace[key] = {"pass": p + 1, "scores": {k: round(s, 4) for k, s in scores.items()}}
            log(f"pass {p + 1} {key}: {trace[key]['scores']} -> {_label(chosen[key])}")
        if not changed:
            break
    return {"chosen": chosen, "objective": round(best, 4), "trace": trace}


def _plain(value):
    return [list(v) if isinstance(v, tuple) else v for v in value] if isinstance(value, tuple) else value


def _label(value) -> str:
    return yaml.safe_dump(_plain(value), default_flow_style=True, width=1000).strip().removesuffix("\n...")


def make_record(
    result: dict, *, seed: int, patients: int, scenarios: Sequence[str], passes: int, min_gain: float
) -> dict:
    """The tuning record (YAML-ready)."""
    return {
        "preset": PRESET,
        "procedure": f"python tools/tune_presets.py --seed {seed} --patients {patients} --write",
        "tuning_seed": int(seed),
        "patients": int(patients),
        "simulator_config": "the study's default simulate block (config/simulate.yaml), only seed and patients changed",
        "gold_split": "train",
        "scenarios": list(scenarios),
        "objective": f"mean over scenarios of line_f1, stratum {HEADLINE_STRATUM}, gold train split of the tuning cohort",
        "search": f"coordinate descent from the designed values, at most {passes} passes, a change needs a gain > {min_gain}",
        "start": {k: _plain(v) for k, v in START.items()},
        "objective_value": result["objective"],
        "chosen": {k: _plain(v) for k, v in result["chosen"].items()},
        "candidates": {k: [_plain(v) for v in vals] for k, vals in TUNED.items()},
        "scores": result["trace"],
        "published_presets": dict(PUBLISHED),
    }


def write_preset(chosen: Mapping, path: Path | None = None) -> None:
    """Rewrite the tuned keys of the preset file in place (one `key: value` line each; comments kept)."""
    path = path or preset_path()
    text = path.read_text(encoding="utf-8")
    for key, value in chosen.items():
        pattern = re.compile(rf"^{re.escape(key)}: .*$", re.M)
        if len(pattern.findall(text)) != 1:
            raise ValueError(f"{path}: expected one line '{key}: ...'")
        text = pattern.sub(lambda _m, k=key, v=value: f"{k}: {_label(v)}", text)
    path.write_text(text, encoding="utf-8")


def render_docs(record: Mapping) -> str:
    """The Markdown of docs/lines.md "How the presets were tuned" (between BEGIN and END), from the record."""
    rows = ["| parameter | candidates: objective (last pass) | chosen |", "|---|---|---|"]
    for key, values in record["candidates"].items():
        scores = record["scores"].get(key, {}).get("scores", {})
        cands = ", ".join(f"`{_label(v)}`: {scores.get(_label(v), 'NA')}" for v in values)
        rows.append(f"| `{key}` | {cands} | `{_label(record['chosen'][key])}` |")
    pub = "\n".join(f"- `{name}`: {src}" for name, src in record["published_presets"].items())
    return (
        f"Tuned preset: `{record['preset']}`, on a tuning cohort of {record['patients']} simulated ODH patients "
        f"drawn with seed {record['tuning_seed']} (the evaluation cohort uses the study's master seed; "
        f"{record['simulator_config']}). Objective: {record['objective']} "
        f"(scenarios {', '.join(record['scenarios'])}); {record['search']}; objective reached "
        f"{record['objective_value']}. Re-run: `{record['procedure']}`.\n\n"
        + "\n".join(rows)
        + "\n\nEvery other parameter of `lotluca` is a structural choice documented in the preset file, not "
        "searched. The other presets keep their published values and were not tuned:\n\n"
        + pub
        + "\n\nGenerated from scripts/lotluca/lines/tuning/lotluca.yaml by `python tools/tune_presets.py --docs`.\n"
    )


def splice(text: str, section: str) -> str:
    return io.splice(text, (BEGIN, END), section)
