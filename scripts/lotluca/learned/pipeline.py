"""Train and predict entry points of the learned line model (one data-source scenario at a time).

`train(...)`: treatment days + features of every person, labels of the gold TRAIN persons only, grouped
CV (hyperparameters, threshold), final model on all train persons. Returns the booster, a JSON-ready
summary (settings, label counts, CV table, choice, feature importance) and the out-of-fold
probabilities of the train persons' days. `predict(...)`: lines (algorithm `xgboost`) for every person:
OOF probabilities for train persons, the final model for everyone else (test and non-gold persons).
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import pyarrow as pa
import xgboost as xgb

from lotluca.errors import InputError
from lotluca.learned.build_lines import build_lines, decide
from lotluca.learned.candidates import DAY_SHIFT, build_days, label_days
from lotluca.learned.features import build_features, feature_names
from lotluca.learned.model import LearnedSettings, cross_validate, fit, importance, predict_proba
from lotluca.lines import load_params

log = logging.getLogger(__name__)
PROBA_COLUMNS = ["p_none", "p_line", "p_maintenance"]


def _prepare(exposures, persons, chemo_sessions, s: LearnedSettings):
    params = load_params(s.rule_preset, dict(s.rule_overrides) or None)
    days = build_days(exposures, persons, chemo_sessions, params.diagnosis_lookback_days,
                      params.same_day_tolerance_days)  # fmt: skip
    X = build_features(days, exposures, persons, chemo_sessions, params, recent_days=s.recent_days)
    return days, X


def split_persons(gold: pd.DataFrame, file: str = "gold_lines") -> tuple[set, set]:
    """Train and test person ids of the gold standard; a person in both splits is an error."""
    if "split" not in gold.columns:
        raise InputError(file, "no split column", column="split", expected="train | test per person")
    sp = gold["split"].astype(str).str.strip()
    train = set(gold.loc[sp == "train", "person_id"].astype(str))
    test = set(gold.loc[sp == "test", "person_id"].astype(str))
    both = sorted(train & test)
    if both:
        raise InputError(file, f"{len(both)} person(s) in both train and test: {both[:5]}", column="split")
    if not train:
        raise InputError(file, "no person in the train split", column="split", expected="train | test")
    return train, test


def train(exposures, persons, chemo_sessions, gold: pd.DataFrame, s: LearnedSettings, eval_tolerance: int):
    """(booster, summary dict, OOF probabilities DataFrame) — see the module docstring."""
    train_ids, test_ids = split_persons(gold)
    days, X = _prepare(exposures, persons, chemo_sessions, s)
    gold_train = gold[gold["person_id"].astype(str).isin(train_ids)].reset_index(drop=True)
    y, counts = label_days(days, gold_train, s.label_tolerance_days)
    pid = days.table["person_id"].astype(str)
    train_rows = np.flatnonzero(pid.isin(train_ids).to_numpy())
    if len(train_rows) == 0:
        raise InputError(
            "gold_lines", "no train person has a treatment day in the merged exposures", column="person_id"
        )
    assert not pid.iloc[train_rows].isin(test_ids).any()  # split_persons guarantees it
    from lotluca.evaluate.submission import validate_lines

    gtrain = validate_lines(gold_train.drop(columns=["split"]), "gold_lines (train)")
    cv = cross_validate(days, X, y, train_rows, gtrain, s, eval_tolerance)
    booster = fit(X.iloc[train_rows], y[train_rows], cv["point"], s)
    imp = importance(booster, X.iloc[train_rows].reset_index(drop=True), s.threads)
    yt = y[train_rows]
    summary = {
        "algorithm": "xgboost",
        "xgboost_version": xgb.__version__,
        "settings": {k: (list(v) if isinstance(v, tuple) else v) for k, v in s.__dict__.items()},
        "evaluation_tolerance_days": int(eval_tolerance),
        "data": {
            "treatment_days_all_persons": int(len(days.table)),
            "persons_with_days": int(days.table["pcode"].nunique()),
            "train_persons_gold": len(train_ids),
            "train_persons_with_days": int(pid.iloc[train_rows].nunique()),
            "train_days": int(len(train_rows)),
            "train_days_by_class": {
                "none": int((yt == 0).sum()),
                "line_start": int((yt == 1).sum()),
                "maintenance_start": int((yt == 2).sum()),
            },  # fmt: skip
            "test_persons_gold_not_used": len(test_ids),
            "labels": counts,
            "ingredients": days.vocab,
        },
        "features": feature_names(),
        "cv": [{k: v for k, v in r.items()} for r in cv["cv"]],
        "chosen": {"grid_index": cv["best_index"], "point": cv["point"], "threshold": cv["threshold"]},
        "importance": imp.to_dict(orient="records"),
    }
    oof = pd.DataFrame(
        {"person_id": pid.iloc[train_rows].to_numpy(), "date": days.table["date"].to_numpy()[train_rows]}
    )
    for j, c in enumerate(PROBA_COLUMNS):
        oof[c] = cv["oof"][:, j]
    return booster, summary, oof


def predict(exposures, persons, chemo_sessions, booster: xgb.Booster, summary: dict, oof: pd.DataFrame,
            s: LearnedSettings) -> pa.Table:  # fmt: skip
    """Lines (contracts.LINES, algorithm xgboost) of every person of the merged tables."""
    days, X = _prepare(exposures, persons, chemo_sessions, s)
    proba = predict_proba(booster, X, s.threads)
    if len(oof):
        pidx = pd.Index(days.persons["person_id"])
        okey = pidx.get_indexer(oof["person_id"].astype(str)).astype(np.int64) * DAY_SHIFT + oof["date"].to_numpy(
            np.int64
        )
        pos = pd.Index(days.key).get_indexer(okey)
        if (pos < 0).any():
            raise InputError("oof predictions", f"{int((pos < 0).sum())} out-of-fold days not among the treatment days "
                             "(the merged tables changed since training)", column="date")  # fmt: skip
        proba[pos] = oof[PROBA_COLUMNS].to_numpy(np.float64)
        log.info("%d days of %d train persons predicted out-of-fold", len(pos), oof["person_id"].nunique())
    t = days.table
    first = np.ones(len(t), bool)
    first[1:] = t["pcode"].to_numpy()[1:] != t["pcode"].to_numpy()[:-1]
    decision = decide(proba, float(summary["chosen"]["threshold"]), first)
    return build_lines(days, decision, regimen_window_days=s.regimen_window_days)


# ------------------------------------------------------------------------------------------------
# file-level entry points (step scripts and `lotluca learn`)
# ------------------------------------------------------------------------------------------------
def _read(path) -> pd.DataFrame:
    from lotluca.io import read_parquet

    return read_parquet(path).to_pandas()


def train_files(exposures, persons, chemo_sessions, gold, model_out, summary_out, oof_out, s: LearnedSettings,
                eval_tolerance: int) -> dict:  # fmt: skip
    """Train from the merged Parquet files of one scenario and the gold file; write the model (xgboost JSON),
    the training summary (JSON) and the out-of-fold probabilities (Parquet). Returns the summary."""
    import json
    from pathlib import Path

    from lotluca.io import write_parquet

    booster, summary, oof = train(_read(exposures), _read(persons), _read(chemo_sessions), _read(gold), s,
                                  eval_tolerance)  # fmt: skip
    Path(model_out).parent.mkdir(parents=True, exist_ok=True)
    booster.save_model(str(model_out))
    Path(summary_out).write_text(json.dumps(summary, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    write_parquet(pa.Table.from_pandas(oof, preserve_index=False), oof_out)
    return summary


def predict_files(exposures, persons, chemo_sessions, model, summary, oof, lines_out, s: LearnedSettings) -> pa.Table:
    """Lines (algorithm xgboost) of every person of one scenario's merged files, written to `lines_out`."""
    import json
    from pathlib import Path

    from lotluca.io import write_parquet

    booster = xgb.Booster()
    booster.load_model(str(model))
    doc = json.loads(Path(summary).read_text(encoding="utf-8"))
    lines = predict(_read(exposures), _read(persons), _read(chemo_sessions), booster, doc, _read(oof), s)
    write_parquet(lines, lines_out)
    return lines
