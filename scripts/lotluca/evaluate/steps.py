"""The step functions of the evaluate stage, one per rule: `evaluate_shard` (per-person tables of every
(scenario, algorithm) pair on one patient shard) and `evaluate` (metrics, bootstrap CIs, summary)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path

import pyarrow as pa

from lotluca.errors import InputError
from lotluca.evaluate.persons import (
    PER_PATIENT_OUTPUT,
    evaluate_persons_many,
    group_shard_files,
    read_gathered,
    score_shard_file,
)
from lotluca.evaluate.readme import readme_table
from lotluca.evaluate.scoring import summary
from lotluca.evaluate.settings import EvaluateSettings, bootstrap_seed
from lotluca.io import write_parquet


def evaluate_shard(
    inputs: Mapping,
    outputs: Mapping,
    *,
    evaluate: Mapping,
    seed: int,
    pairs: Sequence[Sequence[str]],
    shard: str | int,
    n_shards: int,
) -> None:
    """inputs: gold, lines (one shard file per pair of `pairs`, in order); outputs: persons (one
    per-person table per pair, same order)."""
    settings = EvaluateSettings.from_config(evaluate, seed=bootstrap_seed(seed))
    lines, persons = list(inputs["lines"]), list(outputs["persons"])
    if not len(lines) == len(persons) == len(pairs):
        raise InputError(
            "evaluate_shard", f"{len(lines)} lines file(s), {len(persons)} output(s) for {len(pairs)} pair(s)"
        )
    cohort = inputs.get("snds_cohort")  # snds_only: the gold persons of the SNDS-only cohort only
    cohort = (cohort if isinstance(cohort, str) else list(cohort)[0]) if cohort else None
    for (scenario, _), lines_path, output in zip(pairs, lines, persons, strict=True):
        score_shard_file(
            lines_path,
            inputs["gold"],
            output,
            settings,
            shard=int(shard),
            n_shards=int(n_shards),
            cohort_path=cohort if scenario == "snds_only" else None,
        )


def evaluate(
    inputs: Mapping,
    outputs: Mapping,
    *,
    evaluate: Mapping,
    seed: int,
    pairs: Sequence[Sequence[str]],
    n_shards: int,
    scenarios: Sequence[str],
    algorithms: Sequence[str],
) -> None:
    """inputs: persons (pair-major, then shard order); outputs: metrics_csv, metrics_parquet, summary,
    per_patient (private), readme_table."""
    settings = EvaluateSettings.from_config(evaluate, seed=bootstrap_seed(seed))
    groups = group_shard_files(inputs["persons"], pairs, int(n_shards))
    metrics, per_patient, n_persons = evaluate_persons_many(read_gathered(groups), settings)
    Path(outputs["metrics_csv"]).parent.mkdir(parents=True, exist_ok=True)
    metrics.to_csv(outputs["metrics_csv"], index=False, float_format="%.6g", lineterminator="\n")
    write_parquet(pa.Table.from_pandas(metrics, preserve_index=False), outputs["metrics_parquet"])
    write_parquet(
        pa.Table.from_pandas(per_patient, schema=PER_PATIENT_OUTPUT, preserve_index=False), outputs["per_patient"]
    )
    doc = summary(metrics, settings, n_persons)
    Path(outputs["summary"]).write_text(json.dumps(doc, indent=2, allow_nan=False) + "\n", encoding="utf-8")
    Path(outputs["readme_table"]).write_text(readme_table(metrics, list(scenarios), list(algorithms)), encoding="utf-8")
