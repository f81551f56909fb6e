"""The step functions of the learned stage, one per rule: `learned_fit` (fit the learned line algorithm of
one scenario on the gold train split, save its model file) and `learned_card` (its Markdown model card).
See docs/learned.md."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from lotluca.errors import InputError
from lotluca.io import read_parquet
from lotluca.learned.estimator import LearnedLines
from lotluca.learned.model import LearnedSettings
from lotluca.learned.model_card import render

log = logging.getLogger(__name__)


def _frame(path) -> pd.DataFrame:
    return read_parquet(path).to_pandas()


def learned_fit(
    inputs: Mapping,
    outputs: Mapping,
    *,
    learned: Mapping,
    lines: Mapping,
    evaluate: Mapping,
    seed: int,
    algorithm: str,
    threads: int,
) -> None:
    """inputs: exposures, chemo_sessions, persons (one scenario's merged tables), gold (gold lines with the
    split column); outputs: model (ONE file, the fitted estimator).

    The model uses learned.threads xgboost threads (results depend on the config only); `threads` (the
    rule's) only reserves the cores."""
    s = LearnedSettings.from_blocks(learned, lines, evaluate, seed, algorithm=algorithm)
    if threads < s.threads:
        log.warning("rule given %d thread(s), the model uses learned.threads = %d", threads, s.threads)
    estimator = LearnedLines(s).fit(
        _frame(inputs["exposures"]), _frame(inputs["chemo_sessions"]), _frame(inputs["persons"]), _frame(inputs["gold"])
    )
    estimator.save(outputs["model"])


def learned_card(inputs: Mapping, outputs: Mapping, *, scenario: str, algorithm: str) -> None:
    """inputs: model (the fitted model file), metrics (the evaluation's metrics.csv); outputs: card (Markdown)."""
    path = Path(inputs["model"])
    if not path.exists():
        raise InputError(path, "model file not found", expected="the output of rule learned_fit")
    summary = json.loads(path.read_text(encoding="utf-8"))["summary"]
    if summary["algorithm"] != algorithm:
        raise InputError(path, f"model of algorithm {summary['algorithm']!r}, expected {algorithm!r}")
    metrics = pd.read_csv(inputs["metrics"])
    Path(outputs["card"]).parent.mkdir(parents=True, exist_ok=True)
    Path(outputs["card"]).write_text(render(summary, metrics, scenario), encoding="utf-8")


__all__ = ["learned_card", "learned_fit"]
