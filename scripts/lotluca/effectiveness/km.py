"""Kaplan-Meier estimates (lifelines): survival with 95% CI, median with CI, at-risk counts; log-rank tests.

`km_tables` fits one KaplanMeierFitter per (lines source, endpoint, stratum) over the long endpoints
table (one Python iteration per group, never per person) and returns three tidy tables:

- summary: n lines, n events, median (months) with its CI, survival at each `times` with CI;
- curves: survival and CI on a regular grid of months, cut where fewer than `min_at_risk` lines are
  at risk (a curve tail drawn by a handful of persons would disclose them);
- at_risk: number at risk at each `times` (the at-risk table printed under KM plots).

`km_median` is a vectorised re-implementation of lifelines' median (first time where S(t) <= 0.5),
with integer case weights, used by the bootstrap; tests check it equals lifelines.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from lifelines import KaplanMeierFitter
from lifelines.statistics import logrank_test, multivariate_logrank_test
from lifelines.utils import median_survival_times

STRATA = ("line", "first_line_regimen_class")


def km_median(durations, events, weights=None, entry=None) -> float:
    """Median of the Kaplan-Meier curve: the first time where S(t) <= 0.5 (inf when never reached).

    Same arithmetic as lifelines (sum of log(n - d) - log(n) over event times), so the result is
    identical; `weights` are integer case weights (a bootstrap resample without copying rows). `entry`
    (delayed entry, left truncation): a row is at risk at time u when entry < u <= duration, the risk
    set of lifelines' `entry`.
    """
    t = np.asarray(durations, dtype=float)
    e = np.asarray(events, dtype=float)
    w = np.ones_like(t) if weights is None else np.asarray(weights, dtype=float)
    a = None if entry is None else np.asarray(entry, dtype=float)
    keep = w > 0
    t, e, w = t[keep], e[keep], w[keep]
    if t.size == 0:
        return np.nan
    order = np.argsort(t, kind="mergesort")
    t, e, w = t[order], e[order], w[order]
    uniq, first = np.unique(t, return_index=True)
    removed = np.add.reduceat(w, first)
    deaths = np.add.reduceat(w * e, first)
    at_risk = w.sum() - np.concatenate(([0.0], np.cumsum(removed)[:-1]))
    if a is not None and (a > 0).any():
        a = a[keep][order]
        ao = np.argsort(a, kind="mergesort")
        u = np.maximum(uniq, np.finfo(float).tiny)  # entry 0: at risk from time 0 included
        later = w.sum() - np.concatenate(([0.0], np.cumsum(w[ao])))[np.searchsorted(a[ao], u, side="left")]
        at_risk = at_risk - later  # rows with entry >= u are not yet at risk at u
    with np.errstate(divide="ignore", invalid="ignore"):
        step = np.where(at_risk > 0, np.log(at_risk - deaths) - np.log(at_risk), 0.0)
    s = np.exp(np.cumsum(step))
    below = np.flatnonzero(s <= 0.5)
    return float(uniq[below[0]]) if below.size else np.inf


def _fit(months: np.ndarray, events: np.ndarray, alpha: float, entry=None) -> KaplanMeierFitter:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return KaplanMeierFitter(alpha=alpha).fit(months, events, entry=entry)


def _step_values(kmf: KaplanMeierFitter, times: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Survival and CI bounds of a fitted KM at `times` (right-continuous step function, as lifelines)."""
    timeline = kmf.survival_function_.index.to_numpy(float)
    idx = np.clip(np.searchsorted(timeline, times, side="right") - 1, 0, len(timeline) - 1)
    ci = kmf.confidence_interval_.to_numpy(float)
    return kmf.survival_function_.to_numpy(float)[idx, 0], ci[idx, 0], ci[idx, 1]


def _stratified(long: pd.DataFrame, pooled_first_line_only: bool = True):
    """Yield (stratum_type, stratum, rows) for each line group and each first-line regimen class."""
    for grp, rows in long.groupby("line_group", sort=True):
        yield "line", grp, rows
    first = long[long["line_number"] == 1]
    for cls, rows in first.groupby(first["regimen_class"].fillna("unknown"), sort=True):
        yield "first_line_regimen_class", cls, rows


def km_tables(
    long: pd.DataFrame,
    *,
    times,
    curve_step: float,
    alpha: float,
    min_at_risk: int,
    keys=("algorithm", "scenario"),
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """(summary, curves, at_risk) tables of the long endpoints table (see module docstring)."""
    keys = [k for k in keys if k in long.columns]
    times = np.asarray(sorted(times), dtype=float)
    summary, curves, at_risk = [], [], []
    level = int(round((1 - alpha) * 100))
    for key_vals, src in long.groupby([*keys, "endpoint"], sort=True):
        ident = dict(zip([*keys, "endpoint"], key_vals, strict=True))
        for stype, stratum, rows in _stratified(src):
            t = rows["months"].to_numpy(float)
            e = rows["event"].to_numpy(int)
            entry = rows["entry"].to_numpy(float) if "entry" in rows else np.zeros(t.size)
            kmf = _fit(t, e, alpha, entry if entry.any() else None)
            med = kmf.median_survival_time_
            ci = median_survival_times(kmf.confidence_interval_).to_numpy().ravel()
            base = {**ident, "stratum_type": stype, "stratum": str(stratum)}
            s_t, lo_t, hi_t = _step_values(kmf, times)
            n_risk = ((t[None, :] >= times[:, None]) & (entry[None, :] < np.maximum(times[:, None], 1e-9))).sum(axis=1)
            row = {
                **base,
                "n_persons": rows["person_id"].nunique(),
                "n_lines": len(t),
                "n_events": int(e.sum()),
                "median_months": med,
                f"median_lower_{level}": ci[0],
                f"median_upper_{level}": ci[1],
            }
            summary.append(row)
            for i, tm in enumerate(times):
                at_risk.append(
                    {
                        **base,
                        "months": tm,
                        "at_risk": int(n_risk[i]),
                        "survival": s_t[i],
                        f"lower_{level}": lo_t[i],
                        f"upper_{level}": hi_t[i],
                    }
                )
            grid = np.arange(0.0, (t.max() if t.size else 0.0) + curve_step, curve_step)
            g_risk = ((t[None, :] >= grid[:, None]) & (entry[None, :] < np.maximum(grid[:, None], 1e-9))).sum(axis=1)
            grid = grid[g_risk >= min_at_risk]
            if grid.size:
                g_s, g_lo, g_hi = _step_values(kmf, grid)
                curves.append(
                    pd.DataFrame(
                        {
                            **{k: [v] * grid.size for k, v in base.items()},
                            "months": grid,
                            "survival": g_s,
                            f"lower_{level}": g_lo,
                            f"upper_{level}": g_hi,
                        }
                    )
                )
    summary = pd.DataFrame(summary)
    at_risk = pd.DataFrame(at_risk)
    curves = pd.concat(curves, ignore_index=True) if curves else pd.DataFrame(columns=[*keys, "endpoint", "months"])
    return summary, curves, at_risk


def logrank_tables(
    long: pd.DataFrame,
    treatment_classes,
    reference_classes,
    keys=("algorithm", "scenario"),
) -> pd.DataFrame:
    """Log-rank tests in first line, per lines source and endpoint.

    comparison "first_line_regimen_class": all first-line regimen classes (multivariate log-rank);
    comparison "first_line_treatment_vs_reference": treatment classes vs reference classes (the arms
    of the Cox model).
    """
    keys = [k for k in keys if k in long.columns]
    first = long[long["line_number"] == 1]
    out = []
    for key_vals, src in first.groupby([*keys, "endpoint"], sort=True):
        ident = dict(zip([*keys, "endpoint"], key_vals, strict=True))
        cls = src["regimen_class"].fillna("unknown")
        if cls.nunique() >= 2:
            res = multivariate_logrank_test(src["months"], cls, src["event"])
            out.append(
                {
                    **ident,
                    "comparison": "first_line_regimen_class",
                    "n_lines": len(src),
                    "n_events": int(src["event"].sum()),
                    "groups": int(cls.nunique()),
                    "statistic": res.test_statistic,
                    "p_value": res.p_value,
                }
            )
        a = src[cls.isin(treatment_classes)]
        b = src[cls.isin(reference_classes)]
        if len(a) and len(b):
            res = logrank_test(a["months"], b["months"], a["event"], b["event"])
            out.append(
                {
                    **ident,
                    "comparison": "first_line_treatment_vs_reference",
                    "n_lines": len(a) + len(b),
                    "n_events": int(a["event"].sum() + b["event"].sum()),
                    "groups": 2,
                    "statistic": res.test_statistic,
                    "p_value": res.p_value,
                }
            )
    cols = [*keys, "endpoint", "comparison", "n_lines", "n_events", "groups", "statistic", "p_value"]
    return pd.DataFrame(out, columns=cols)
