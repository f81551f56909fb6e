"""The points of the robustness grid: one small cohort per (setting, value), simulated with one simulator
knob moved, run through extraction and merge (lotluca.robustness.cohort) and scored for every algorithm
and scenario; the tidy robustness table (ROBUSTNESS_COLUMNS) of a setting and of the whole grid."""

from __future__ import annotations

import copy
import logging
import time
from collections.abc import Mapping, Sequence

import pandas as pd

from lotluca.config import validate
from lotluca.evaluate.bootstrap import derive_seed
from lotluca.evaluate.settings import EvaluateSettings, bootstrap_seed
from lotluca.lines.algorithms import algorithms as build_algorithms
from lotluca.lines.params import LinesSettings
from lotluca.robustness import loco
from lotluca.robustness.cohort import gold_split, predict, score, simulate_cohort
from lotluca.robustness.settings import BASELINE, LOCO, GridSetting, RobustnessSettings

log = logging.getLogger(__name__)
SEED_LABEL = "robustness"  # the grid cohorts' seed is derived from the master seed with this label
ROBUSTNESS_COLUMNS = ["setting", "value", "algorithm", "scenario", "metric", "stratum", "estimate", "ci_low", "ci_high"]


def grid_seed(settings: RobustnessSettings, master_seed: int) -> int:
    """The seed of every grid cohort: robustness.seed, else derived from the master seed (never equal to it)."""
    return int(settings.seed) if settings.seed is not None else derive_seed(master_seed, SEED_LABEL)


def point_config(config: Mapping, key: str | None, value, patients: int) -> dict:
    """The validated study config of one point: simulate.<key> set to `value`, `patients` ODH patients."""
    cfg = copy.deepcopy(dict(config))
    sim = cfg["simulate"]
    sim["patients"] = int(patients)
    if key is not None:
        *parents, leaf = key.split(".")
        node = sim
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value
    return validate(cfg, f"robustness point simulate.{key} = {value!r}")


def registries(config: Mapping, scenarios: Sequence[str], models: Mapping[str, Mapping[str, str]]) -> dict:
    """Scenario -> algorithm name -> algorithm: the rule presets of lines.algorithms (with lines.overrides),
    the plug-ins of lines.plugins, and the trainable ones loaded from their model files (`models`:
    scenario -> algorithm -> file), as the study's `lines` rule runs them."""
    lines = LinesSettings.from_config(config["lines"])
    presets = list(config["lines"]["algorithms"])
    names = presets + [p for p in lines.plugins if p not in presets]
    return {
        s: build_algorithms(names + sorted(models.get(s, {})), lines.overrides, models.get(s, {}), lines.plugins)
        for s in scenarios
    }


def run_point(
    config: Mapping,
    setting: str,
    key: str | None,
    value,
    registry: Mapping,
    rs: RobustnessSettings,
    master_seed: int,
) -> pd.DataFrame:
    """The robustness rows (ROBUSTNESS_COLUMNS) of one grid point."""
    t0 = time.perf_counter()
    cfg = point_config(config, key, value, rs.patients)
    cohort = simulate_cohort(cfg, grid_seed(rs, master_seed), list(registry))
    preds = {}
    for scenario, algs in registry.items():
        preds.update(predict(algs, cohort, [scenario]))
    ev = EvaluateSettings.from_config(
        {**config["evaluate"], "bootstrap": rs.bootstrap, "split": rs.split}, seed=bootstrap_seed(master_seed)
    )
    m = score(preds, gold_split(cohort.gold, rs.split), ev)
    m = m[m["metric"].isin(rs.metrics) & m["stratum"].isin(rs.strata)].copy()
    m.insert(0, "value", BASELINE if key is None else str(value))
    m.insert(0, "setting", setting)
    log.info(
        "point %s = %s: %d gold persons, %.1f s",
        setting,
        value,
        cohort.gold["person_id"].nunique(),
        time.perf_counter() - t0,
    )
    return m[ROBUSTNESS_COLUMNS].reset_index(drop=True)


def run_setting(
    config: Mapping, setting: str, rs: RobustnessSettings, models: Mapping[str, Mapping[str, str]], master_seed: int
) -> pd.DataFrame:
    """Every point of grid setting `setting` (BASELINE: the one point with every knob at its default; LOCO:
    the leave-one-centre-out rows, lotluca.robustness.loco)."""
    if setting == LOCO:  # the rules as they are; the trainable algorithms refitted (their files give the point)
        rules = registries(config, list(config["scenarios"]), {})
        seed = grid_seed(rs, master_seed)
        return loco.run(config, rules, models, rs, master_seed, seed, point_config)[ROBUSTNESS_COLUMNS]
    registry = registries(config, list(config["scenarios"]), models)
    if setting == BASELINE:
        return run_point(config, BASELINE, None, None, registry, rs, master_seed)
    s: GridSetting = rs.grid()[setting]
    parts = [run_point(config, s.name, s.key, v, registry, rs, master_seed) for v in s.values]
    return pd.concat(parts, ignore_index=True)


def gather(parts: Sequence[pd.DataFrame], rs: RobustnessSettings) -> pd.DataFrame:
    """The whole grid: the points in config order (baseline first), rows sorted within a point."""
    order = [BASELINE, *rs.grid(), LOCO]
    out = pd.concat(list(parts), ignore_index=True)
    out["_s"] = out["setting"].map({n: i for i, n in enumerate(order)})
    out = out.sort_values(["_s", "setting"], kind="stable").drop(columns="_s")
    return out[ROBUSTNESS_COLUMNS].reset_index(drop=True)
