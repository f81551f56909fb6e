"""The learned line algorithm as an estimator: `LearnedLines(settings).fit(...)`, `.predict(...)`, `.save(path)`,
`LearnedLines.load(path)` (docs/learned.md).

`fit(exposures, chemo_sessions, persons, gold)`: treatment days and features of every person, labels of
the gold TRAIN persons only, grouped-by-person CV (hyperparameters, threshold), final model on all train
persons; keeps the booster, a JSON-ready summary (settings, label counts, CV table, choice, feature
importance) and the out-of-fold (OOF) probabilities of the train persons' days. `predict(exposures,
chemo_sessions, persons)`: lines of every person of the inputs: OOF probabilities for the train persons,
the final model for everyone else, so a person's lines do not depend on which other persons are
predicted with it (one patient shard gives the rows the whole cohort gives for its persons).
`save` writes ONE JSON file holding the booster, the summary and the OOF probabilities.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

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
ESTIMATOR = "lotluca.learned.LearnedLines"  # the `estimator` field of the model file (lotluca.lines.algorithms)
FORMAT_VERSION = 1


def _frame(table) -> pd.DataFrame:
    """A pandas DataFrame of an Arrow table or DataFrame (None: no rows, no columns)."""
    if table is None:
        return pd.DataFrame()
    return table.to_pandas() if isinstance(table, pa.Table) else table


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


class LearnedLines:
    """Learned line-boundary model (scikit-learn style). Fitted attributes: `booster_`, `summary_`, `oof_`."""

    def __init__(self, settings: LearnedSettings):
        self.settings = settings
        self.booster_: xgb.Booster | None = None
        self.summary_: dict | None = None
        self.oof_: pd.DataFrame | None = None

    @property
    def algorithm(self) -> str:
        return self.settings.algorithm

    def _prepare(self, exposures, chemo_sessions, persons):
        s = self.settings
        params = load_params(s.rule_preset, dict(s.rule_overrides) or None)
        days = build_days(
            exposures, persons, chemo_sessions, params.diagnosis_lookback_days, params.same_day_tolerance_days
        )
        X = build_features(days, exposures, persons, chemo_sessions, params, recent_days=s.recent_days)
        return days, X

    def _training_days(self, exposures, chemo_sessions, persons, gold):
        """Treatment days, features and labels, with the gold train split: (days, X, y, label counts,
        gold train rows, train ids, test ids, row numbers of the train persons' days)."""
        exposures, chemo_sessions, persons, gold = map(_frame, (exposures, chemo_sessions, persons, gold))
        train_ids, test_ids = split_persons(gold)
        days, X = self._prepare(exposures, chemo_sessions, persons)
        gold_train = gold[gold["person_id"].astype(str).isin(train_ids)].reset_index(drop=True)
        y, counts = label_days(days, gold_train, self.settings.label_tolerance_days)
        train_rows = np.flatnonzero(days.table["person_id"].astype(str).isin(train_ids).to_numpy())
        if len(train_rows) == 0:
            raise InputError(
                "gold_lines", "no train person has a treatment day in the merged exposures", column="person_id"
            )
        return days, X, y, counts, gold_train, train_ids, test_ids, train_rows

    def fit(self, exposures, chemo_sessions, persons, gold) -> LearnedLines:
        """Fit on the gold train split (see the module docstring); test persons are never used."""
        s = self.settings
        days, X, y, counts, gold_train, train_ids, test_ids, train_rows = self._training_days(
            exposures, chemo_sessions, persons, gold
        )
        pid = days.table["person_id"].astype(str)
        assert not pid.iloc[train_rows].isin(test_ids).any()  # split_persons guarantees it
        from lotluca.evaluate.submission import validate_lines

        gtrain = validate_lines(gold_train.drop(columns=["split"]), "gold_lines (train)")
        cv = cross_validate(days, X, y, train_rows, gtrain, s)
        self.booster_ = fit(X.iloc[train_rows], y[train_rows], cv["point"], s)
        imp = importance(self.booster_, X.iloc[train_rows].reset_index(drop=True), s.threads)
        self.summary_ = self._summary(days, y[train_rows], train_rows, pid, train_ids, test_ids, counts, cv, imp)
        oof = pd.DataFrame(
            {"person_id": pid.iloc[train_rows].to_numpy(), "date": days.table["date"].to_numpy()[train_rows]}
        )
        for j, c in enumerate(PROBA_COLUMNS):
            oof[c] = cv["oof"][:, j]
        self.oof_ = oof
        return self

    def refit(self, exposures, chemo_sessions, persons, gold, chosen) -> LearnedLines:
        """Fit the booster on the gold train split with a hyperparameter point and threshold chosen elsewhere
        (`chosen`: {"point": ..., "threshold": ...}, the "chosen" entry of a fitted model's summary): no
        cross-validation, no out-of-fold probabilities (`predict` gives every person the final model). For a
        tuned model refitted on other persons (the robustness grid's leave one centre out)."""
        s = self.settings
        _, X, y, counts, _, train_ids, _, train_rows = self._training_days(exposures, chemo_sessions, persons, gold)
        point = {k: chosen["point"][k] for k in sorted(chosen["point"])}
        self.booster_ = fit(X.iloc[train_rows], y[train_rows], point, s)
        self.summary_ = {
            "algorithm": s.algorithm,
            "chosen": {"point": point, "threshold": float(chosen["threshold"]), "refit": True},
            "data": {"train_persons_gold": len(train_ids), "train_days": int(len(train_rows)), "labels": counts},
        }
        self.oof_ = None
        return self

    def _summary(self, days, yt, train_rows, pid, train_ids, test_ids, counts, cv, imp) -> dict:
        """The JSON-ready training summary (read by the model card)."""
        s = self.settings
        return {
            "algorithm": s.algorithm,
            "xgboost_version": xgb.__version__,
            "settings": s.to_dict(),
            "evaluation_tolerance_days": int(s.tolerance_days),
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
                },
                "test_persons_gold_not_used": len(test_ids),
                "labels": counts,
                "ingredients": days.vocab,
            },
            "features": feature_names(),
            "cv": [dict(r) for r in cv["cv"]],
            "chosen": {"grid_index": cv["best_index"], "point": cv["point"], "threshold": cv["threshold"]},
            "importance": imp.to_dict(orient="records"),
        }

    def _check_fitted(self) -> None:
        if self.booster_ is None:
            raise RuntimeError("LearnedLines: call fit() or load() first")

    def predict(self, exposures, chemo_sessions, persons) -> pa.Table:
        """Lines (contracts.LINES, algorithm `settings.algorithm`) of every person of the inputs."""
        self._check_fitted()
        s = self.settings
        exposures, chemo_sessions, persons = map(_frame, (exposures, chemo_sessions, persons))
        days, X = self._prepare(exposures, chemo_sessions, persons)
        proba = predict_proba(self.booster_, X, s.threads)
        self._use_oof(days, proba)
        t = days.table
        first = np.ones(len(t), bool)
        first[1:] = t["pcode"].to_numpy()[1:] != t["pcode"].to_numpy()[:-1]
        decision = decide(proba, float(self.summary_["chosen"]["threshold"]), first)
        return build_lines(days, decision, regimen_window_days=s.regimen_window_days, algorithm=s.algorithm)

    def _use_oof(self, days, proba: np.ndarray) -> None:
        """Replace the probabilities of the train persons' days by their out-of-fold ones (persons of `days`)."""
        oof = self.oof_
        if oof is None or not len(oof):
            return
        pidx = pd.Index(days.persons["person_id"])
        pcode = pidx.get_indexer(oof["person_id"].astype(str)).astype(np.int64)
        here = pcode >= 0
        if not here.any():
            return
        okey = pcode[here] * DAY_SHIFT + oof["date"].to_numpy(np.int64)[here]
        pos = pd.Index(days.key).get_indexer(okey)
        if (pos < 0).any():
            raise InputError(
                "oof predictions",
                f"{int((pos < 0).sum())} out-of-fold days not among the treatment days "
                "(the merged tables changed since training)",
                column="date",
            )
        proba[pos] = oof.loc[here, PROBA_COLUMNS].to_numpy(np.float64)
        log.info("%d days of %d train persons predicted out-of-fold", len(pos), oof.loc[here, "person_id"].nunique())

    # --------------------------------------------------------------------------------------------
    # one model file
    # --------------------------------------------------------------------------------------------
    def to_document(self) -> dict:
        """The fitted model as one JSON document: booster (xgboost JSON text), summary, OOF probabilities."""
        self._check_fitted()
        oof = self.oof_
        return {
            "estimator": ESTIMATOR,
            "format_version": FORMAT_VERSION,
            "algorithm": self.algorithm,
            "summary": self.summary_,
            "booster": self.booster_.save_raw(raw_format="json").decode("utf-8"),
            "oof": {
                "person_id": oof["person_id"].astype(str).tolist(),
                "date": oof["date"].to_numpy(np.int64).tolist(),
                **{c: oof[c].to_numpy(np.float64).tolist() for c in PROBA_COLUMNS},
            },
        }

    @classmethod
    def from_document(cls, doc: dict, source: str = "model") -> LearnedLines:
        if doc.get("estimator") != ESTIMATOR or doc.get("format_version") != FORMAT_VERSION:
            raise InputError(source, "not a learned line model file", expected=f"{ESTIMATOR} v{FORMAT_VERSION}")
        est = cls(LearnedSettings.from_config(doc["summary"]["settings"]))
        est.summary_ = doc["summary"]
        est.booster_ = xgb.Booster()
        est.booster_.load_model(bytearray(doc["booster"], "utf-8"))
        o = doc["oof"]
        est.oof_ = pd.DataFrame(
            {
                "person_id": pd.Series(o["person_id"], dtype=object),
                "date": np.asarray(o["date"], np.int64),
                **{c: np.asarray(o[c], np.float64) for c in PROBA_COLUMNS},
            }
        )
        return est

    def save(self, path: str | Path) -> None:
        """Write the fitted model to ONE file (JSON, deterministic)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.to_document(), sort_keys=True) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path: str | Path) -> LearnedLines:
        path = Path(path)
        if not path.exists():
            raise InputError(path, "model file not found", expected="the output of rule learned_fit")
        return cls.from_document(json.loads(path.read_text(encoding="utf-8")), str(path))


__all__ = ["ESTIMATOR", "PROBA_COLUMNS", "LearnedLines", "split_persons"]
