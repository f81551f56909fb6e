"""Leave one centre out: the learned model (lotluca.learned) trained on the gold persons of every centre but
one of a cohort simulated with per-centre practice styles (simulate.centre_styles), scored on the held-out
centre's gold persons beside the rule-based algorithms on the same persons; the robustness rows of setting
`leave_one_centre_out` (value: the held-out centre's code). docs/robustness.md#leave-one-centre-out.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from lotluca.errors import ConfigError
from lotluca.evaluate.settings import EvaluateSettings, bootstrap_seed
from lotluca.evaluate.submission import validate_lines
from lotluca.learned.estimator import LearnedLines
from lotluca.learned.model import LearnedSettings
from lotluca.robustness.cohort import Cohort, score, simulate_cohort

log = logging.getLogger(__name__)
SETTING = "leave_one_centre_out"  # setting name of the rows in robustness.csv
SPREAD_KEY = "centre_styles.spread"  # the simulator knob set to leave_one_centre_out.spread


def centre_of(person_ids: pd.Series) -> pd.Series:
    """The centre code of ODH patient ids ("C<code>-<number>", lotluca.simulate.cohort.assign_identifiers)."""
    ids = person_ids.astype(str)
    code = ids.str.extract(r"^C([0-9A-Za-z]+)-", expand=False)
    if code.isna().any():
        bad = ids[code.isna()].head(3).tolist()
        raise ConfigError(f"robustness: leave_one_centre_out: person ids without a centre code, e.g. {bad}")
    return code


def held_out_centres(gold: pd.DataFrame, wanted: Sequence[str]) -> list[str]:
    """The centres to hold out: `wanted` (codes) or, when empty, every centre with gold persons."""
    present = sorted(centre_of(gold["person_id"]).unique())
    if not wanted:
        return present
    missing = sorted(set(map(str, wanted)) - set(present))
    if missing:
        raise ConfigError(
            f"config: robustness.leave_one_centre_out.centres: {missing} have no gold person (centres: {present})"
        )
    return [c for c in present if c in set(map(str, wanted))]


def fold_gold(gold: pd.DataFrame, centre: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The training gold (every other centre, split "train") and the held-out centre's gold (no split column)."""
    here = (centre_of(gold["person_id"]) == centre).to_numpy()
    train = gold[~here].assign(split="train").reset_index(drop=True)
    test = gold[here].drop(columns=["split"], errors="ignore").reset_index(drop=True)
    return train, test


def chosen_of(model_file: str | Path | None) -> dict | None:
    """The hyperparameter point and threshold of a fitted model file (None without a file)."""
    if model_file is None:
        return None
    return json.loads(Path(model_file).read_text(encoding="utf-8"))["summary"]["chosen"]


def fit_learned(
    cohort: Cohort, scenario: str, gold_train: pd.DataFrame, settings: LearnedSettings, chosen: dict | None
) -> pd.DataFrame:
    """The lines of every person of `scenario` by the learned model fitted on `gold_train` only: refitted
    with the hyperparameters and threshold `chosen` on the study's train split (no cross-validation), or
    fitted with its own cross-validation on `gold_train` when no model was given."""
    inputs = cohort.inputs[scenario]
    frames = [t.to_pandas() for t in (inputs.exposures, inputs.chemo_sessions, inputs.persons)]
    model = LearnedLines(settings)
    model = model.fit(*frames, gold_train) if chosen is None else model.refit(*frames, gold_train, chosen)
    return validate_lines(model.predict(*frames).to_pandas(), f"{settings.algorithm} (leave one centre out)")


def run_fold(
    cohort: Cohort,
    centre: str,
    registry: Mapping[str, Mapping],
    learned: Mapping[str, LearnedSettings],
    ev: EvaluateSettings,
    chosen: Mapping[str, Mapping[str, dict | None]],
) -> pd.DataFrame:
    """The metrics of every algorithm and scenario on the gold persons of `centre`; the trainable algorithms
    (`learned`: name -> settings; `chosen`: scenario -> name -> their tuned point, or None) fitted on the
    other centres, the rules as they are."""
    gold_train, gold_test = fold_gold(cohort.gold, centre)
    preds = {}
    for scenario, algs in registry.items():
        inputs = cohort.inputs[scenario]
        for name, algorithm in algs.items():
            if name not in learned:
                preds[(scenario, name)] = validate_lines(algorithm(inputs).to_pandas(), f"{name} on {scenario}")
        for name, settings in learned.items():
            preds[(scenario, name)] = fit_learned(cohort, scenario, gold_train, settings, chosen[scenario][name])
    return score(preds, gold_test, ev)


def run(
    config: Mapping,
    registry: Mapping[str, Mapping],
    models: Mapping[str, Mapping[str, str | None]],
    rs,
    master_seed: int,
    seed: int,
    point_config,
) -> pd.DataFrame:
    """The robustness rows (setting leave_one_centre_out, value = held-out centre) of one cohort of
    leave_one_centre_out.patients ODH patients simulated with centre_styles.spread = leave_one_centre_out.spread
    (`point_config(config, key, value, patients)` builds its config; `seed`: the grid cohorts' seed).
    `models`: scenario -> trainable algorithm -> its model file fitted on the study's train split (whose
    chosen hyperparameters and threshold are reused: nothing is tuned on a held-out centre), or None."""
    lo = rs.leave_one_centre_out
    t0 = time.perf_counter()
    cfg = point_config(config, SPREAD_KEY, float(lo["spread"]), int(lo["patients"]))
    cohort = simulate_cohort(cfg, seed, list(registry))
    log.info("leave one centre out: gold persons by centre %s", gold_persons_by_centre(cohort.gold))
    learned = {
        a: LearnedSettings.from_blocks(config["learned"], config["lines"], config["evaluate"], master_seed, algorithm=a)
        for a in sorted({a for by_alg in models.values() for a in by_alg})
    }
    chosen = {s: {a: chosen_of(models.get(s, {}).get(a)) for a in learned} for s in registry}
    ev = EvaluateSettings.from_config(
        {**config["evaluate"], "bootstrap": rs.bootstrap, "split": "all"}, seed=bootstrap_seed(master_seed)
    )
    parts = []
    for centre in held_out_centres(cohort.gold, list(lo["centres"])):
        m = run_fold(cohort, centre, registry, learned, ev, chosen)
        m = m[m["metric"].isin(rs.metrics) & m["stratum"].isin(rs.strata)].copy()
        m.insert(0, "value", centre)
        m.insert(0, "setting", SETTING)
        parts.append(m)
        log.info("leave out centre %s: %.1f s", centre, time.perf_counter() - t0)
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=["setting", "value"])


def gold_persons_by_centre(gold: pd.DataFrame) -> dict[str, int]:
    """Gold persons per centre code (for the log and the docs)."""
    c = centre_of(gold.drop_duplicates("person_id")["person_id"])
    return {k: int(v) for k, v in zip(*np.unique(c.to_numpy(), return_counts=True), strict=True)}
