"""Agreement metrics of predicted lines with the gold standard (docs/evaluate.md), from per-person sums.

Everything is computed from one row of *sufficient statistics per person* (counts of gold, predicted
and matched lines, regimen matches, sums of start-date errors, maintenance counts, the person's cell of
the line-count confusion matrix, ...). A metric is a function of the column sums over the persons of a
stratum, so the point estimate and every bootstrap replicate (a weighted sum over persons, see
`lotluca.evaluate.bootstrap`) use the same code, vectorised over replicates. The only metric that is
not a ratio of sums, the median absolute start-date error, is a weighted median over matched pairs.

The definition of every metric (`METRICS`) and of the strata is in docs/evaluate.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from lotluca.drugs import regimen_class
from lotluca.evaluate.matching import match_starts

if TYPE_CHECKING:
    from lotluca.evaluate.settings import EvaluateSettings

# metric name -> (description, what `n` counts); the order is the reporting order
METRICS: dict[str, tuple[str, str]] = {
    "line_precision": ("matched predicted lines / predicted lines", "predicted lines"),
    "line_recall": ("matched gold lines / gold lines", "gold lines"),
    "line_f1": ("2 x matched / (predicted + gold lines)", "gold lines"),
    "regimen_exact": ("matched lines with the same ingredient set / matched lines", "matched lines"),
    "regimen_class_match": ("matched lines with the same regimen class / matched lines", "matched lines"),
    "start_error_mean_days": ("mean of predicted - gold start (days) over matched lines", "matched lines"),
    "start_error_mae_days": ("mean |predicted - gold start| (days) over matched lines", "matched lines"),
    "start_error_median_abs_days": ("median |predicted - gold start| (days) over matched lines", "matched lines"),
    "maintenance_precision": (
        "matched predicted maintenance phases / predicted phases",
        "predicted maintenance phases",
    ),
    "maintenance_recall": ("matched gold maintenance phases / gold phases", "gold maintenance phases"),
    "maintenance_f1": ("2 x matched / (predicted + gold maintenance phases)", "gold maintenance phases"),
    "count_exact": ("persons whose number of lines is exact / persons", "persons"),
    "count_within_1": ("persons whose number of lines is within +/- 1 / persons", "persons"),
    "count_kappa_weighted": ("weighted Cohen's kappa of the number of lines per person", "persons"),
    "sequence_exact": ("persons whose full sequence matches / persons", "persons"),
}
# the stratum of every headline figure (summary, README table, Fig 2): persons with two or more gold lines
# or a maintenance phase; one-line persons (most of any cohort) are easy and inflate line F1
HEADLINE_STRATUM = "several_or_maintenance"
HEADLINE = (
    "line_f1",
    "line_precision",
    "line_recall",
    "regimen_exact",
    "maintenance_f1",
    "count_exact",
    "count_kappa_weighted",
    "sequence_exact",
)


def base_columns(max_lines: int) -> list[str]:
    """Names of the per-person sufficient statistics (the confusion cells last)."""
    cols = [
        "persons",
        "n_gold",
        "n_pred",
        "n_tp",
        "n_regimen_exact",
        "n_class_match",
        "sum_delta",
        "sum_abs_delta",
        "n_gold_m",
        "n_pred_m",
        "n_tp_m",
        "count_exact",
        "count_within_1",
        "sequence_exact",
    ]
    c = max_lines + 1
    return cols + [f"conf_{i}_{j}" for i in range(c) for j in range(c)]


def normalise_regimen(regimen: pd.Series) -> pd.Series:
    """Ingredient set as a canonical string: lower case, no spaces, distinct, sorted, joined by "+"
    ("" when missing). Computed once per distinct regimen string."""
    s = regimen.astype("string").fillna("")
    uniq = pd.unique(s.to_numpy())
    canon = {u: "+".join(sorted({x for x in "".join(str(u).lower().split()).split("+") if x})) for u in uniq}
    return s.map(canon).astype(str)


def prepare_lines(lines: pd.DataFrame) -> pd.DataFrame:
    """Normalised copy: str person_id, datetime64 start_date, bool is_maintenance, canonical regimen,
    regimen_class filled from the regimen where missing, end_reason and line_number present."""
    df = pd.DataFrame(
        {
            "person_id": lines["person_id"].astype(str).to_numpy(),
            "line_number": pd.to_numeric(lines["line_number"]).to_numpy() if "line_number" in lines else 0,
            "start_date": pd.to_datetime(lines["start_date"]).to_numpy(dtype="datetime64[ns]"),
            "is_maintenance": lines["is_maintenance"].fillna(False).astype(bool).to_numpy(),
            "regimen": normalise_regimen(lines["regimen"]).to_numpy(),
            "end_reason": lines["end_reason"].astype("string").to_numpy() if "end_reason" in lines else pd.NA,
        }
    )
    cls = lines["regimen_class"].astype("string").to_numpy() if "regimen_class" in lines else np.full(len(df), pd.NA)
    cls = pd.Series(cls, dtype="string")
    missing = cls.isna().to_numpy()
    if missing.any():
        derived = {r: regimen_class(r.split("+")) for r in pd.unique(df["regimen"][missing]) if r}
        cls[missing] = df["regimen"][missing].map(derived).to_numpy()
    df["regimen_class"] = cls.to_numpy()
    return df


@dataclass
class Scored:
    """The result of scoring one prediction: per-person statistics and the matched line pairs."""

    persons: pd.Index  # person ids, the row order of `stats`
    stats: pd.DataFrame  # persons x base_columns
    pairs: pd.DataFrame  # matched lines: person (position), delta_days, regimen_exact, class_match
    per_patient: pd.DataFrame  # error-analysis table (see per_patient_table)


def _bincount(idx: np.ndarray, n: int, weights=None) -> np.ndarray:
    return np.bincount(idx, weights=weights, minlength=n).astype(np.int64) if len(idx) else np.zeros(n, dtype=np.int64)


def score(pred: pd.DataFrame, gold: pd.DataFrame, settings: EvaluateSettings) -> Scored:
    """Per-person sufficient statistics of `pred` against `gold` (both prepared by `prepare_lines`).

    The scored persons are those of `gold`; predicted rows of other persons must be removed before.
    """
    persons = pd.Index(pd.unique(gold["person_id"]), name="person_id").sort_values()
    n = len(persons)
    if not pred["person_id"].isin(persons).all():
        raise ValueError("score: predictions contain persons absent from the gold table")
    p_line, g_line = (
        pred[~pred["is_maintenance"]].reset_index(drop=True),
        gold[~gold["is_maintenance"]].reset_index(drop=True),
    )
    p_main, g_main = (
        pred[pred["is_maintenance"]].reset_index(drop=True),
        gold[gold["is_maintenance"]].reset_index(drop=True),
    )
    tol = settings.tolerance_days
    pairs = match_starts(p_line, g_line, persons, tol)
    pairs_m = match_starts(p_main, g_main, persons, tol)

    pr, gr = pairs["pred_row"].to_numpy(), pairs["gold_row"].to_numpy()
    preg, greg = p_line["regimen"].to_numpy()[pr], g_line["regimen"].to_numpy()[gr]
    pairs["regimen_exact"] = (preg == greg) & (preg != "")
    pcls = p_line["regimen_class"].astype("string").to_numpy()[pr]
    gcls = g_line["regimen_class"].astype("string").to_numpy()[gr]
    pairs["class_match"] = np.asarray(pd.Series(pcls == gcls, dtype="boolean").fillna(False), dtype=bool)
    pairs["abs_delta"] = pairs["delta_days"].abs()

    pp = pairs["person"].to_numpy()
    s = {
        "n_gold": _bincount(persons.get_indexer(g_line["person_id"]), n),
        "n_pred": _bincount(persons.get_indexer(p_line["person_id"]), n),
        "n_tp": _bincount(pp, n),
        "n_regimen_exact": _bincount(pp, n, pairs["regimen_exact"].to_numpy(dtype=np.int64)),
        "n_class_match": _bincount(pp, n, pairs["class_match"].to_numpy(dtype=np.int64)),
        "sum_delta": _bincount(pp, n, pairs["delta_days"].to_numpy(dtype=np.float64)),
        "sum_abs_delta": _bincount(pp, n, pairs["abs_delta"].to_numpy(dtype=np.float64)),
        "n_gold_m": _bincount(persons.get_indexer(g_main["person_id"]), n),
        "n_pred_m": _bincount(persons.get_indexer(p_main["person_id"]), n),
        "n_tp_m": _bincount(pairs_m["person"].to_numpy(), n),
    }
    stats = sufficient_stats(s, persons, settings)

    per_patient = per_patient_table(persons, stats, gold, p_line, g_line, p_main, g_main, pred, pairs, pairs_m)
    return Scored(
        persons=persons,
        stats=stats,
        pairs=pairs[["person", "delta_days", "abs_delta", "regimen_exact", "class_match"]],
        per_patient=per_patient,
    )


# the per-person counts that every other sufficient statistic derives from (see sufficient_stats)
COUNT_COLUMNS = (
    "n_gold",
    "n_pred",
    "n_tp",
    "n_regimen_exact",
    "n_class_match",
    "sum_delta",
    "sum_abs_delta",
    "n_gold_m",
    "n_pred_m",
    "n_tp_m",
)


def sufficient_stats(counts, persons: pd.Index, settings: EvaluateSettings) -> pd.DataFrame:
    """The persons x base_columns statistics from the per-person COUNT_COLUMNS (a mapping of arrays in
    `persons` order): adds persons, count_exact, count_within_1, sequence_exact and the person's cell of
    the line-count confusion matrix (one-hot)."""
    n = len(persons)
    s = {k: np.asarray(counts[k], dtype=np.int64) for k in COUNT_COLUMNS}
    s["persons"] = np.ones(n, dtype=np.int64)
    s["count_exact"] = (s["n_gold"] == s["n_pred"]).astype(np.int64)
    s["count_within_1"] = (np.abs(s["n_gold"] - s["n_pred"]) <= 1).astype(np.int64)
    s["sequence_exact"] = (
        (s["n_tp"] == s["n_gold"])
        & (s["n_tp"] == s["n_pred"])
        & (s["n_regimen_exact"] == s["n_tp"])
        & (s["n_tp_m"] == s["n_gold_m"])
        & (s["n_tp_m"] == s["n_pred_m"])
    ).astype(np.int64)
    c = settings.kappa_max_lines + 1
    cell = np.minimum(s["n_gold"], c - 1) * c + np.minimum(s["n_pred"], c - 1)
    conf = np.zeros((n, c * c), dtype=np.int64)
    conf[np.arange(n), cell] = 1
    cols = base_columns(settings.kappa_max_lines)
    return pd.DataFrame(
        np.column_stack([s[k] for k in cols if not k.startswith("conf_")] + [conf]), index=persons, columns=cols
    )


# -- metrics from sums ----------------------------------------------------------------------------


def _ratio(num, den):
    num, den = np.asarray(num, dtype=np.float64), np.asarray(den, dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)


def weighted_kappa(conf: np.ndarray, weights: str = "linear") -> np.ndarray:
    """Weighted Cohen's kappa of confusion matrices `conf` (..., C, C), categories 0..C-1 in order.

    Same definition as sklearn.metrics.cohen_kappa_score(labels=range(C), weights=...): NaN when the
    expected disagreement is zero.
    """
    conf = np.asarray(conf, dtype=np.float64)
    c = conf.shape[-1]
    idx = np.arange(c)
    w = np.abs(idx[:, None] - idx[None, :]).astype(np.float64)
    if weights == "quadratic":
        w = w**2
    total = conf.sum(axis=(-2, -1))
    rows, cols = conf.sum(axis=-1), conf.sum(axis=-2)
    with np.errstate(invalid="ignore", divide="ignore"):
        expected = rows[..., :, None] * cols[..., None, :] / np.where(total > 0, total, 1.0)[..., None, None]
        observed_d = (w * conf).sum(axis=(-2, -1))
        expected_d = (w * expected).sum(axis=(-2, -1))
        return np.where(expected_d > 0, 1.0 - observed_d / np.where(expected_d > 0, expected_d, 1.0), np.nan)


def metrics_from_sums(sums: np.ndarray, settings: EvaluateSettings) -> dict[str, np.ndarray]:
    """Every ratio metric of METRICS from column sums `sums` (R, K) in base_columns order -> (R,) arrays.

    start_error_median_abs_days is not a ratio: it is added by the caller (`weighted_median`).
    """
    cols = base_columns(settings.kappa_max_lines)
    S = {k: sums[:, i] for i, k in enumerate(cols) if not k.startswith("conf_")}
    c = settings.kappa_max_lines + 1
    conf = sums[:, cols.index("conf_0_0") :].reshape(-1, c, c)
    return {
        "line_precision": _ratio(S["n_tp"], S["n_pred"]),
        "line_recall": _ratio(S["n_tp"], S["n_gold"]),
        "line_f1": _ratio(2 * S["n_tp"], S["n_pred"] + S["n_gold"]),
        "regimen_exact": _ratio(S["n_regimen_exact"], S["n_tp"]),
        "regimen_class_match": _ratio(S["n_class_match"], S["n_tp"]),
        "start_error_mean_days": _ratio(S["sum_delta"], S["n_tp"]),
        "start_error_mae_days": _ratio(S["sum_abs_delta"], S["n_tp"]),
        "maintenance_precision": _ratio(S["n_tp_m"], S["n_pred_m"]),
        "maintenance_recall": _ratio(S["n_tp_m"], S["n_gold_m"]),
        "maintenance_f1": _ratio(2 * S["n_tp_m"], S["n_pred_m"] + S["n_gold_m"]),
        "count_exact": _ratio(S["count_exact"], S["persons"]),
        "count_within_1": _ratio(S["count_within_1"], S["persons"]),
        "count_kappa_weighted": weighted_kappa(conf, settings.kappa_weights),
        "sequence_exact": _ratio(S["sequence_exact"], S["persons"]),
    }


def metric_denominators(sums: np.ndarray, settings: EvaluateSettings) -> dict[str, float]:
    """The `n` of each metric (see METRICS) from one row of column sums."""
    cols = base_columns(settings.kappa_max_lines)
    S = {k: float(sums[i]) for i, k in enumerate(cols) if not k.startswith("conf_")}
    what = {
        "predicted lines": S["n_pred"],
        "gold lines": S["n_gold"],
        "matched lines": S["n_tp"],
        "predicted maintenance phases": S["n_pred_m"],
        "gold maintenance phases": S["n_gold_m"],
        "persons": S["persons"],
    }
    return {m: what[unit] for m, (_, unit) in METRICS.items()}


def weighted_median(sorted_values: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Median of `sorted_values` (P,) under each row of non-negative `weights` (R, P) -> (R,).

    Equals numpy.median of the values repeated by their weights (mean of the two middle values when
    the total weight is even); NaN when a row's total weight is 0.
    """
    weights = np.atleast_2d(weights)
    if sorted_values.size == 0:
        return np.full(weights.shape[0], np.nan)
    cum = np.cumsum(weights, axis=1)
    total = cum[:, -1]
    half = total / 2.0
    lo = np.argmax(cum >= half[:, None], axis=1)
    hi = np.argmax(cum > half[:, None], axis=1)
    out = (sorted_values[lo] + sorted_values[hi]) / 2.0
    return np.where(total > 0, out, np.nan)


# -- strata ---------------------------------------------------------------------------------------


def strata(gold: pd.DataFrame, persons: pd.Index) -> pd.DataFrame:
    """Boolean masks (persons x strata), from the gold standard only:

    all | one_line (exactly one gold line and no maintenance phase) | several_or_maintenance (two or
    more lines, or a maintenance phase) | first_line_class=<regimen class of the first gold line>.
    """
    idx = persons.get_indexer(gold["person_id"])
    n = len(persons)
    n_lines = _bincount(idx[~gold["is_maintenance"].to_numpy()], n)
    n_main = _bincount(idx[gold["is_maintenance"].to_numpy()], n)
    out = {"all": np.ones(n, dtype=bool), "one_line": (n_lines == 1) & (n_main == 0)}
    out["several_or_maintenance"] = (n_lines >= 2) | (n_main > 0)
    lines = gold[~gold["is_maintenance"]].sort_values(["person_id", "start_date", "line_number"])
    first = lines.drop_duplicates("person_id").set_index("person_id")["regimen_class"].astype("string")
    first = first.reindex(persons).fillna("none")
    for cls in sorted(first.unique()):
        out[f"first_line_class={cls}"] = (first == cls).to_numpy()
    return pd.DataFrame(out, index=persons)


# -- per-patient error analysis -------------------------------------------------------------------

DISAGREEMENT_ORDER = ("missing_line", "extra_line", "regimen_mismatch", "missing_maintenance", "extra_maintenance")


def per_patient_table(persons, stats, gold, p_line, g_line, p_main, g_main, pred, pairs, pairs_m) -> pd.DataFrame:
    """One row per scored person: counts, matches and the first disagreement (earliest date) with the
    end_reason of the predicted row that produced it:

    - missing_line / missing_maintenance (a gold row left unmatched): the predicted row active at the
      gold start (the last one starting on or before it) did not end there; its end_reason says how it
      ended instead (null when no predicted row had started);
    - extra_line / extra_maintenance (a predicted row left unmatched): the end_reason of the predicted
      row just before it, i.e. the rule that closed the previous row and opened this one (null when it
      is the person's first predicted row: a wrong first start);
    - regimen_mismatch (matched line, different ingredient set): the matched predicted line's end_reason.
    """
    pred_all = pred.sort_values(
        ["person_id", "start_date", "line_number", "is_maintenance"], kind="stable"
    ).reset_index(drop=True)
    pred_all["prev_end_reason"] = pred_all.groupby("person_id", sort=False)["end_reason"].shift(1)
    pred_all["prev_line"] = pred_all.groupby("person_id", sort=False)["line_number"].shift(1)

    events = []

    def unmatched(frame, matched_rows):
        keep = np.ones(len(frame), dtype=bool)
        keep[np.asarray(matched_rows, dtype=np.int64)] = False
        return frame[keep]

    for kind, frame, rows in (
        ("missing_line", g_line, pairs["gold_row"]),
        ("missing_maintenance", g_main, pairs_m["gold_row"]),
    ):
        miss = unmatched(frame, rows)[["person_id", "start_date", "line_number"]].rename(
            columns={"line_number": "gold_line_number"}
        )
        if len(miss):
            active = pd.merge_asof(
                miss.sort_values("start_date"),
                pred_all[["person_id", "start_date", "line_number", "end_reason"]]
                .rename(columns={"start_date": "pstart"})
                .sort_values("pstart"),
                left_on="start_date",
                right_on="pstart",
                by="person_id",
                direction="backward",
            ).rename(columns={"line_number": "pred_line_number"})
            active["kind"] = kind
            events.append(
                active[["person_id", "start_date", "kind", "gold_line_number", "pred_line_number", "end_reason"]]
            )
    for kind, frame, rows, maint in (
        ("extra_line", p_line, pairs["pred_row"], False),
        ("extra_maintenance", p_main, pairs_m["pred_row"], True),
    ):
        extra = unmatched(frame, rows)[["person_id", "start_date", "line_number"]]
        if len(extra):
            key = pred_all[pred_all["is_maintenance"] == maint][
                ["person_id", "start_date", "line_number", "prev_end_reason"]
            ]
            ex = extra.merge(
                key.drop_duplicates(["person_id", "start_date", "line_number"]),
                on=["person_id", "start_date", "line_number"],
                how="left",
            )
            ex = ex.rename(columns={"line_number": "pred_line_number", "prev_end_reason": "end_reason"})
            ex["gold_line_number"], ex["kind"] = np.nan, kind
            events.append(ex[["person_id", "start_date", "kind", "gold_line_number", "pred_line_number", "end_reason"]])
    mism = pairs[~pairs["regimen_exact"]]
    if len(mism):
        g = g_line.iloc[mism["gold_row"].to_numpy()]
        p = p_line.iloc[mism["pred_row"].to_numpy()]
        events.append(
            pd.DataFrame(
                {
                    "person_id": g["person_id"].to_numpy(),
                    "start_date": g["start_date"].to_numpy(),
                    "kind": "regimen_mismatch",
                    "gold_line_number": g["line_number"].to_numpy(),
                    "pred_line_number": p["line_number"].to_numpy(),
                    "end_reason": p["end_reason"].to_numpy(),
                }
            )
        )
    out = pd.DataFrame(
        {
            "person_id": persons.to_numpy(),
            "n_gold_lines": stats["n_gold"].to_numpy(),
            "n_pred_lines": stats["n_pred"].to_numpy(),
            "n_matched_lines": stats["n_tp"].to_numpy(),
            "n_regimen_exact": stats["n_regimen_exact"].to_numpy(),
            "n_gold_maintenance": stats["n_gold_m"].to_numpy(),
            "n_pred_maintenance": stats["n_pred_m"].to_numpy(),
            "n_matched_maintenance": stats["n_tp_m"].to_numpy(),
            "count_exact": stats["count_exact"].to_numpy().astype(bool),
            "sequence_exact": stats["sequence_exact"].to_numpy().astype(bool),
        }
    )
    if events:
        ev = pd.concat(events, ignore_index=True)
        ev["prio"] = ev["kind"].map({k: i for i, k in enumerate(DISAGREEMENT_ORDER)})
        ev = ev.sort_values(["person_id", "start_date", "prio", "gold_line_number", "pred_line_number"], kind="stable")
        first = ev.drop_duplicates("person_id").set_index("person_id")
    else:
        first = pd.DataFrame(columns=["start_date", "kind", "gold_line_number", "pred_line_number", "end_reason"])
    first = first.reindex(persons)
    out["first_disagreement"] = first["kind"].astype("string").to_numpy()
    out["first_disagreement_date"] = pd.to_datetime(first["start_date"]).dt.date.to_numpy()
    out["gold_line_number"] = pd.array(first["gold_line_number"].to_numpy(dtype="float64"), dtype="Float64").astype(
        "Int16"
    )
    out["pred_line_number"] = pd.array(first["pred_line_number"].to_numpy(dtype="float64"), dtype="Float64").astype(
        "Int16"
    )
    out["end_reason"] = first["end_reason"].astype("string").to_numpy()
    return out
