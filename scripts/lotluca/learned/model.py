"""Train the xgboost boundary classifier honestly: grouped-by-person CV on the gold TRAIN split only.

Classes: 0 no boundary, 1 line start, 2 maintenance start (`multi:softprob`, `tree_method=hist`,
seeded). Folds: train persons shuffled with the seed and dealt into `folds` groups (a person's days are
never split across folds). For every hyperparameter set of the grid, out-of-fold (OOF) probabilities
are turned into lines (`build_lines`) for each candidate threshold and scored with lotluca.evaluate
against the train gold (line F1, no bootstrap); the set and threshold with the best OOF line F1 win
(ties: the earlier grid entry, the lower threshold). The final model is refit on every train person.
Train persons are later predicted with their OOF probabilities, everyone else with the final model:
no prediction ever comes from a model that saw the person, and test persons are never used here.
"""

from __future__ import annotations

import dataclasses
import itertools
import logging
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
import xgboost as xgb

from lotluca.config import Settings, default_config
from lotluca.evaluate import EvaluateSettings, evaluate
from lotluca.evaluate.submission import validate_lines
from lotluca.learned.build_lines import build_lines, decide
from lotluca.learned.candidates import Days

log = logging.getLogger(__name__)
N_CLASSES = 3


@dataclass(frozen=True)
class LearnedSettings(Settings):
    """config.yaml `learned:` block (validated, defaults filled by the schema), plus the values the learned
    model takes from other blocks: `rule_overrides` (config lines.overrides of rule_preset) and
    `tolerance_days` (config evaluate.tolerance_days, used to choose the threshold). `seed`: the model seed
    (pass the master seed when the block's is null, see `from_blocks`)."""

    enabled: bool
    algorithm: str
    rule_preset: str
    label_tolerance_days: int
    recent_days: int
    regimen_window_days: int
    folds: int
    grid: dict[str, list]  # hyperparameter -> values tried
    thresholds: tuple[float, ...]
    min_child_weight: float
    subsample: float
    threads: int
    seed: int
    rule_overrides: dict
    tolerance_days: int

    @classmethod
    def from_blocks(cls, learned: Mapping, lines: Mapping, evaluate: Mapping, seed: int, **extra) -> LearnedSettings:
        """The settings of the config blocks `learned`, `lines` and `evaluate` and the master seed."""
        return cls.from_config(
            learned,
            seed=int(learned["seed"] if learned["seed"] is not None else seed),
            rule_overrides=dict(lines["overrides"].get(learned["rule_preset"], {})),
            tolerance_days=int(evaluate["tolerance_days"]),
            **extra,
        )

    def to_dict(self) -> dict:
        """The settings as JSON values (saved with the model; `from_config` reads them back)."""
        d = dataclasses.asdict(self)
        d["grid"] = {k: list(v) for k, v in sorted(self.grid.items())}
        d["thresholds"] = list(self.thresholds)
        return d

    def grid_points(self) -> list[dict]:
        keys = sorted(self.grid)
        return [dict(zip(keys, vals, strict=True)) for vals in itertools.product(*(self.grid[k] for k in keys))]


def person_folds(person_ids, k: int, seed: int) -> pd.Series:
    """Fold (0..k-1) of each distinct person: sorted ids, permuted by the seed, dealt round-robin."""
    ids = np.array(sorted(set(map(str, person_ids))), dtype=object)
    perm = np.random.default_rng(seed).permutation(len(ids))
    fold = np.empty(len(ids), np.int64)
    fold[perm] = np.arange(len(ids)) % k
    return pd.Series(fold, index=ids)


def _booster_params(point: Mapping, s: LearnedSettings) -> dict:
    return {
        "objective": "multi:softprob",
        "num_class": N_CLASSES,
        "tree_method": "hist",
        "max_depth": int(point["max_depth"]),
        "eta": float(point["learning_rate"]),
        "min_child_weight": float(point.get("min_child_weight", s.min_child_weight)),
        "subsample": float(point.get("subsample", s.subsample)),
        "seed": int(s.seed),
        "nthread": int(s.threads),
        "eval_metric": "mlogloss",
    }


def fit(X: pd.DataFrame, y: np.ndarray, point: Mapping, s: LearnedSettings) -> xgb.Booster:
    dm = xgb.DMatrix(
        X.to_numpy(np.float32), label=y.astype(np.float32), feature_names=list(X.columns), nthread=s.threads
    )
    return xgb.train(_booster_params(point, s), dm, num_boost_round=int(point["n_estimators"]))


def predict_proba(booster: xgb.Booster, X: pd.DataFrame, threads: int = 1) -> np.ndarray:
    if len(X) == 0:
        return np.zeros((0, N_CLASSES))
    dm = xgb.DMatrix(X.to_numpy(np.float32), feature_names=list(X.columns), nthread=threads)
    return booster.predict(dm).reshape(len(X), N_CLASSES).astype(np.float64)


def subset_days(days: Days, rows: np.ndarray) -> Days:
    """The days of `rows` (whole persons, kept in order) as a Days object."""
    t = days.table.iloc[rows].reset_index(drop=True)
    return Days(table=t, vocab=days.vocab, persons=days.persons, exposure_day=np.zeros(0, np.int64))


def _f1_settings(tolerance: int) -> EvaluateSettings:
    """Scoring settings of the threshold choice: the schema's `evaluate` block, `tolerance`, no bootstrap."""
    block = {**default_config()["evaluate"], "tolerance_days": int(tolerance), "bootstrap": 0}
    return EvaluateSettings.from_config(block, seed=0)


def line_f1(days: Days, proba: np.ndarray, threshold: float, gold: pd.DataFrame, s: LearnedSettings) -> float:
    """Line F1 (lotluca.evaluate, no bootstrap, tolerance s.tolerance_days) of the lines built from `proba`
    at `threshold`."""
    first = np.ones(len(days.table), bool)
    pc = days.table["pcode"].to_numpy()
    first[1:] = pc[1:] != pc[:-1]
    lines = build_lines(
        days, decide(proba, threshold, first), regimen_window_days=s.regimen_window_days, algorithm=s.algorithm
    )
    pred = validate_lines(lines.to_pandas(), f"{s.algorithm} (out-of-fold)")
    m, _ = evaluate(pred, gold, _f1_settings(s.tolerance_days))
    row = m[(m["stratum"] == "all") & (m["metric"] == "line_f1")]
    return float(row["estimate"].iloc[0]) if len(row) else float("nan")


def cross_validate(
    days: Days, X: pd.DataFrame, y: np.ndarray, train_rows: np.ndarray, gold_train: pd.DataFrame, s: LearnedSettings
) -> dict:
    """Grid x threshold search by grouped CV on the train rows. Returns the CV table, the chosen point and
    threshold, and the OOF probabilities of the chosen point (rows `train_rows`)."""
    persons = days.table["person_id"].to_numpy(object)[train_rows]
    folds = person_folds(persons, s.folds, s.seed)
    fold_of = folds.reindex(persons).to_numpy()
    sub = subset_days(days, train_rows)
    Xt, yt = X.iloc[train_rows].reset_index(drop=True), y[train_rows]
    results, oof_by_point = [], []
    for gi, point in enumerate(s.grid_points()):
        oof = np.zeros((len(train_rows), N_CLASSES))
        for k in range(s.folds):
            tr, va = fold_of != k, fold_of == k
            if not va.any():
                continue
            oof[va] = predict_proba(fit(Xt[tr], yt[tr], point, s), Xt[va], s.threads)
        eps = 1e-12
        logloss = float(-np.mean(np.log(np.clip(oof[np.arange(len(yt)), yt.astype(int)], eps, 1))))
        f1s = {thr: line_f1(sub, oof, thr, gold_train, s) for thr in s.thresholds}
        best_thr = max(s.thresholds, key=lambda t: (f1s[t], -t))
        results.append(
            {
                "grid_index": gi,
                **point,
                "oof_logloss": logloss,
                "threshold": best_thr,
                "oof_line_f1": f1s[best_thr],
                "oof_line_f1_by_threshold": f1s,
            }
        )
        oof_by_point.append(oof)
        log.info(
            "grid point %d %s: OOF log-loss %.4f, best threshold %.2f, OOF line F1 %.4f",
            gi,
            point,
            logloss,
            best_thr,
            f1s[best_thr],
        )
    best = max(range(len(results)), key=lambda i: (results[i]["oof_line_f1"], -i))
    return {
        "cv": results,
        "best_index": best,
        "point": s.grid_points()[best],
        "threshold": results[best]["threshold"],
        "oof": oof_by_point[best],
        "n_train_persons": int(len(folds)),
        "folds": int(s.folds),
    }


def importance(booster: xgb.Booster, X: pd.DataFrame, threads: int = 1, max_rows: int = 20000) -> pd.DataFrame:
    """Per feature: total gain, and the mean |SHAP contribution| (xgboost pred_contribs, summed over the
    two boundary classes) on at most `max_rows` rows of X (the first ones: deterministic)."""
    gain = booster.get_score(importance_type="total_gain")
    out = pd.DataFrame({"feature": list(X.columns)})
    out["total_gain"] = out["feature"].map(gain).fillna(0.0)
    Xs = X.iloc[:max_rows]
    if len(Xs):
        dm = xgb.DMatrix(Xs.to_numpy(np.float32), feature_names=list(X.columns), nthread=threads)
        contrib = booster.predict(dm, pred_contribs=True)  # (rows, classes, features + 1)
        contrib = np.asarray(contrib).reshape(len(Xs), N_CLASSES, X.shape[1] + 1)
        out["mean_abs_shap_boundary"] = np.abs(contrib[:, 1, :-1]).mean(0) + np.abs(contrib[:, 2, :-1]).mean(0)
    else:
        out["mean_abs_shap_boundary"] = 0.0
    return out.sort_values(["total_gain", "feature"], ascending=[False, True]).reset_index(drop=True)
