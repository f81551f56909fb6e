"""The per-person part of the evaluation as a table: scored per patient shard, gathered, turned into metrics.

Every metric and every bootstrap replicate is a function of per-person statistics
(`lotluca.evaluate.metrics`), so the evaluation splits into

- `score_persons(pred, gold, settings)` (scatter side, one shard of persons or all of them): matching of
  predicted to gold lines and every per-person statistic, one row per scored (gold) person, as an Arrow
  table of schema PERSON_SCORES: the per-patient error-analysis columns (PER_PATIENT), the remaining
  counts of `metrics.COUNT_COLUMNS`, and the start-date errors of the person's matched lines (a list);
- `gather_persons(tables)`: the shards' tables concatenated;
- `metrics_from_persons(table, settings)` (gather side): strata, metrics and bootstrap CIs from such a
  table, after sorting it by person_id, so the persons seen by the bootstrap (and hence the CIs) do not
  depend on how the persons were split.

`scoring.evaluate` (the scoring kit, `lotluca evaluate`) is `metrics_from_persons(score_persons(...))`,
so the kit and the sharded workflow (rules `evaluate_shard` + `evaluate`) give the same numbers.
Person ids are compared as given (stripped text); no id is mapped here (the merge re-keys every
scenario's lines to the ODH patient id of the gold standard).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from lotluca.errors import InputError
from lotluca.evaluate.bootstrap import bootstrap_metrics
from lotluca.evaluate.metrics import Scored, prepare_lines, score, strata, sufficient_stats
from lotluca.evaluate.settings import EvaluateSettings
from lotluca.evaluate.submission import load_gold, read_table, validate_lines
from lotluca.io import read_parquet, write_parquet
from lotluca.sharding import concat_shards, shard_of

log = logging.getLogger(__name__)

METRIC_COLUMNS = ["scenario", "algorithm", "metric", "stratum", "estimate", "ci_low", "ci_high", "n"]

# per-patient error-analysis columns (the private per_patient.parquet, after scenario, algorithm)
PER_PATIENT = pa.schema(
    [
        ("person_id", pa.string()),
        ("stratum", pa.string()),  # one_line | several_or_maintenance | none (from the gold standard)
        ("first_line_class", pa.string()),  # regimen class of the first gold line ("none": no gold line)
        ("n_gold_lines", pa.int64()),
        ("n_pred_lines", pa.int64()),
        ("n_matched_lines", pa.int64()),
        ("n_regimen_exact", pa.int64()),
        ("n_gold_maintenance", pa.int64()),
        ("n_pred_maintenance", pa.int64()),
        ("n_matched_maintenance", pa.int64()),
        ("count_exact", pa.bool_()),
        ("sequence_exact", pa.bool_()),
        ("first_disagreement", pa.string()),
        ("first_disagreement_date", pa.date32()),
        ("gold_line_number", pa.int16()),
        ("pred_line_number", pa.int16()),
        ("end_reason", pa.string()),
    ]
)
# the per-person table of one prediction: PER_PATIENT + the other sufficient statistics
PERSON_SCORES = pa.schema(
    [
        *PER_PATIENT,
        ("n_class_match", pa.int64()),  # matched lines with the same regimen class
        ("sum_delta", pa.int64()),  # sum of predicted - gold start (days) over matched lines
        ("sum_abs_delta", pa.int64()),
        ("start_deltas_days", pa.list_(pa.int64())),  # predicted - gold start of each matched line
    ]
)
PER_PATIENT_OUTPUT = pa.schema([("scenario", pa.string()), ("algorithm", pa.string()), *PER_PATIENT])
# per_patient column -> its metrics.COUNT_COLUMNS name
_COUNTS = {
    "n_gold_lines": "n_gold",
    "n_pred_lines": "n_pred",
    "n_matched_lines": "n_tp",
    "n_regimen_exact": "n_regimen_exact",
    "n_gold_maintenance": "n_gold_m",
    "n_pred_maintenance": "n_pred_m",
    "n_matched_maintenance": "n_tp_m",
    "n_class_match": "n_class_match",
    "sum_delta": "sum_delta",
    "sum_abs_delta": "sum_abs_delta",
}


def restrict_to_shard(
    df: pd.DataFrame, shard: int, n_shards: int, source: str = "", strict: bool = False
) -> pd.DataFrame:
    """The rows of a validated line table whose person_id falls in `shard` of `n_shards` (the stable
    person hash of lotluca.sharding, the one that split the lines). `strict`: rows of another shard are
    an InputError (a per-shard file of the lines step must hold only its shard's persons)."""
    if n_shards == 1:
        return df
    ids = pa.array(df["person_id"].astype(str).to_numpy(dtype=object), pa.string())
    keep = shard_of(ids, n_shards) == shard
    if strict and not keep.all():
        raise InputError(
            source or "lines",
            f"{int((~keep).sum())} row(s) of persons hashed to another shard than {shard} of {n_shards}",
            column="person_id",
            rows=(np.flatnonzero(~keep) + 1).tolist(),
        )
    return df[keep].reset_index(drop=True)


def score_persons(pred: pd.DataFrame, gold: pd.DataFrame, settings: EvaluateSettings) -> pa.Table:
    """The per-person table (PERSON_SCORES, sorted by person_id) of `pred` (validated line table) against
    `gold` (validated, restricted to the scored split and, when sharded, to the shard). Predicted rows
    of persons outside `gold` are not scored (their number is logged)."""
    g = prepare_lines(gold)
    persons = pd.Index(pd.unique(g["person_id"]))
    inside = pred["person_id"].astype(str).isin(persons).to_numpy()
    if (~inside).any():
        log.info(
            "not scored: %d predicted rows of %d persons outside the scored gold persons",
            int((~inside).sum()),
            pred.loc[~inside, "person_id"].nunique(),
        )
    if len(pred) and not inside.any():
        log.warning(
            "no predicted row belongs to a scored gold person: are the person ids the gold standard's (ODH patient ids)?"
        )
    scored = score(prepare_lines(pred[inside]), g, settings)
    masks = strata(g, scored.persons)
    first_cls = pd.Series("none", index=scored.persons, dtype=object)
    for col in masks.columns:
        if col.startswith("first_line_class="):
            first_cls[masks[col].to_numpy()] = col.split("=", 1)[1]
    pp = scored.per_patient
    stratum = np.where(
        masks["one_line"], "one_line", np.where(masks["several_or_maintenance"], "several_or_maintenance", "none")
    )
    n = len(scored.persons)
    pairs = scored.pairs.sort_values("person", kind="stable")
    offsets = np.zeros(n + 1, dtype=np.int32)
    np.cumsum(np.bincount(pairs["person"].to_numpy(), minlength=n), out=offsets[1:])
    deltas = pa.ListArray.from_arrays(
        pa.array(offsets, pa.int32()), pa.array(pairs["delta_days"].to_numpy(dtype=np.int64), pa.int64())
    )
    cols = {name: pp[name] for name in PER_PATIENT.names if name in pp.columns}
    cols["stratum"] = stratum
    cols["first_line_class"] = first_cls.to_numpy()
    for name in ("n_class_match", "sum_delta", "sum_abs_delta"):
        cols[name] = scored.stats[_COUNTS[name]].to_numpy()
    arrays = [
        deltas if f.name == "start_deltas_days" else pa.array(_plain(cols[f.name]), f.type, from_pandas=True)
        for f in PERSON_SCORES
    ]
    return pa.Table.from_arrays(arrays, schema=PERSON_SCORES)


def _plain(values):
    """Values as a NumPy/object array Arrow can take (pandas nullable arrays -> object with None)."""
    if isinstance(values, pd.Series):
        values = values.array
    if isinstance(values, pd.api.extensions.ExtensionArray):
        return values.to_numpy(dtype=object, na_value=None)
    return np.asarray(values)


def score_shard_file(
    lines_path: str | Path,
    gold_path: str | Path,
    output: str | Path,
    settings: EvaluateSettings,
    shard: int = 0,
    n_shards: int = 1,
    cohort_path: str | Path | None = None,
) -> pa.Table:
    """Write the per-person table (PERSON_SCORES) of the predicted lines `lines_path` against the gold
    standard `gold_path` (its split `settings.split`), for the persons of `shard` of `n_shards` (the gold
    standard restricted to it by the person hash). `lines_path` is that shard of the lines step: a row
    of another shard is an InputError. `cohort_path` (a persons table): only the gold persons it contains
    are scored (the SNDS-only cohort of `snds_only`: a gold person it misses is the identification's error,
    measured by lotluca.identify, not the lines')."""
    gold, _ = load_gold(gold_path, settings.split)
    gold = restrict_to_shard(gold, shard, n_shards, str(gold_path))
    if cohort_path:
        ids = read_table(cohort_path)["person_id"].astype(str)
        log.info(
            "scored: the %d gold persons of %s",
            gold.loc[gold["person_id"].astype(str).isin(ids), "person_id"].nunique(),
            cohort_path,
        )
        gold = gold[gold["person_id"].astype(str).isin(ids)]
    pred = validate_lines(read_table(lines_path), lines_path)
    pred = restrict_to_shard(pred, shard, n_shards, str(lines_path), strict=True)
    table = score_persons(pred, gold, settings)
    write_parquet(table, output)
    log.info(
        "shard %d of %d: %d gold persons, %d predicted rows -> %s", shard, n_shards, table.num_rows, len(pred), output
    )
    return table


def group_shard_files(
    paths: Sequence[str | Path], pairs: Sequence[Sequence[str]], n_shards: int
) -> dict[tuple[str, str], list[str]]:
    """Per-person shard files (pair-major, then shard order) grouped by (scenario, algorithm) of `pairs`."""
    paths = [str(p) for p in paths]
    if len(paths) != len(pairs) * n_shards:
        raise InputError(
            "per-person tables",
            f"{len(paths)} file(s) for {len(pairs)} (scenario, algorithm) pair(s) x {n_shards} shard(s)",
            expected="one file per pair and shard, pair-major then shard order",
        )
    return {(str(s), str(a)): paths[i * n_shards : (i + 1) * n_shards] for i, (s, a) in enumerate(pairs)}


def read_gathered(groups: dict[tuple[str, str], list[str]]) -> Iterator[tuple[tuple[str, str], pa.Table]]:
    """((scenario, algorithm), gathered per-person table) for each group of shard files, read lazily."""
    for key, files in groups.items():
        yield key, gather_persons([read_parquet(f) for f in files], sources=files)


def gather_persons(tables: Sequence[pa.Table], sources: Sequence[str] | None = None) -> pa.Table:
    """The per-person tables of the shards of one prediction, concatenated (a person scored in two shards
    is an error); `metrics_from_persons` sorts them by person_id."""
    out = concat_shards([t.select(PERSON_SCORES.names) for t in tables], sources=sources)
    _check_unique(out, ", ".join(sources) if sources else "per-person tables")
    return out


def _check_unique(table: pa.Table, source: str) -> None:
    ids = table.column("person_id")
    if pc.count_distinct(ids).as_py() != len(ids):
        dup = pd.Series(ids.to_numpy(zero_copy_only=False)).duplicated(keep="first").to_numpy()
        raise InputError(
            source, "person scored more than once", column="person_id", rows=(np.flatnonzero(dup) + 1).tolist()
        )


def metrics_from_persons(table: pa.Table, settings: EvaluateSettings) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Metrics (stratum, metric, estimate, ci_low, ci_high, n; bootstrap CIs) and the per-patient table
    from a per-person table (PERSON_SCORES) of one prediction. The rows are sorted by person_id first,
    so the result does not depend on the row order (e.g. on the number of shards)."""
    table = table.select(PERSON_SCORES.names).cast(PERSON_SCORES)
    _check_unique(table, "per-person table")
    if table.num_rows > 1:
        table = table.take(pc.sort_indices(table, sort_keys=[("person_id", "ascending")]))
    persons = pd.Index(table.column("person_id").to_numpy(zero_copy_only=False).astype(object), name="person_id")
    n = len(persons)
    counts = {_COUNTS[c]: table.column(c).to_numpy() for c in _COUNTS}
    stats = sufficient_stats(counts, persons, settings)
    lists = table.column("start_deltas_days").combine_chunks() if n else pa.array([], PERSON_SCORES.field(-1).type)
    lengths = pc.list_value_length(lists).fill_null(0).to_numpy(zero_copy_only=False).astype(np.int64)
    delta = lists.flatten().to_numpy(zero_copy_only=False).astype(np.int64)
    pairs = pd.DataFrame(
        {"person": np.repeat(np.arange(n, dtype=np.int64), lengths), "delta_days": delta, "abs_delta": np.abs(delta)}
    )
    stratum = table.column("stratum").to_numpy(zero_copy_only=False)
    first_cls = table.column("first_line_class").to_numpy(zero_copy_only=False)
    masks = {"all": np.ones(n, dtype=bool), "one_line": stratum == "one_line"}
    masks["several_or_maintenance"] = stratum == "several_or_maintenance"
    for cls in sorted(set(first_cls.tolist())):
        masks[f"first_line_class={cls}"] = first_cls == cls
    masks = pd.DataFrame(masks, index=persons)
    per_patient = table.select(PER_PATIENT.names).to_pandas(
        types_mapper={pa.int16(): pd.Int16Dtype(), pa.string(): pd.StringDtype()}.get
    )
    for c in ("person_id", "stratum", "first_line_class"):
        per_patient[c] = per_patient[c].astype(object)
    scored = Scored(persons=persons, stats=stats, pairs=pairs, per_patient=per_patient)
    return bootstrap_metrics(scored, masks, settings), per_patient


def evaluate_persons_many(
    items: Iterable[tuple[tuple[str, str], pa.Table]], settings: EvaluateSettings
) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, int]]:
    """Metrics of every ((scenario, algorithm), per-person table) of `items` (taken one at a time, so a
    lazy iterable keeps one table in memory): the tidy metrics table (METRIC_COLUMNS), the per-patient
    table (scenario, algorithm, PER_PATIENT) and the number of scored persons per scenario (the same for
    every algorithm of a scenario; `snds_only` scores only the gold persons its SNDS-only cohort holds)."""
    metrics, per_patient, n_persons = [], [], {}
    for (scenario, algorithm), table in items:
        m, pp = metrics_from_persons(table, settings)
        n_persons.setdefault(scenario, set()).add(len(pp))
        m.insert(0, "algorithm", algorithm)
        m.insert(0, "scenario", scenario)
        pp.insert(0, "algorithm", algorithm)
        pp.insert(0, "scenario", scenario)
        metrics.append(m)
        per_patient.append(pp)
    if not metrics:
        raise ValueError("evaluate_persons_many: nothing to evaluate")
    uneven = {sc: sorted(n) for sc, n in n_persons.items() if len(n) > 1}
    if uneven:
        raise ValueError(f"the algorithms of a scenario were scored on different numbers of persons: {uneven}")
    return (
        pd.concat(metrics, ignore_index=True)[METRIC_COLUMNS],
        pd.concat(per_patient, ignore_index=True),
        {sc: n.pop() for sc, n in n_persons.items()},
    )
