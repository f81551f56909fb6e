"""Bias of line reconstruction on effectiveness estimates: gold lines vs each algorithm's lines.

On the same persons (the gold cohort) and the same vital status, for each algorithm x scenario x
endpoint x line group: the KM median from the gold lines and from the algorithm's lines and their
difference (algorithm - gold, months); in first line, the adjusted hazard ratio of chemo + IO vs chemo
alone (`lotluca.effectiveness.cox`) from both and their ratio (algorithm / gold).

95% CIs by a paired patient bootstrap: each replicate draws persons with replacement (multinomial
case weights over the cohort, seeded) and recomputes gold and every algorithm on that same draw, so
the CIs account for the pairing and for several lines per person. Gold compared with itself gives
exactly zero difference and a ratio of exactly one, in the estimate and in every replicate. With the
delayed entry of the main analysis (`effectiveness.delayed_entry`, an `entry` column in the long table),
every KM median and Cox fit of the estimate and of the replicates uses it (left truncation).
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from lotluca.effectiveness.cox import cox_data, design, fit_cox
from lotluca.effectiveness.endpoints import ENDPOINTS
from lotluca.effectiveness.km import km_median

log = logging.getLogger(__name__)
GOLD = "gold"


def _percentile_ci(values: np.ndarray, alpha: float) -> tuple[float, float, int]:
    v = values[np.isfinite(values)]
    if v.size == 0:
        return np.nan, np.nan, 0
    lo, hi = np.percentile(v, [100 * alpha / 2, 100 * (1 - alpha / 2)])
    return float(lo), float(hi), int(v.size)


def bias_table(
    long: pd.DataFrame,
    treatment_classes,
    reference_classes,
    *,
    bootstrap: int,
    seed: int,
    alpha: float,
    endpoints=ENDPOINTS,
) -> pd.DataFrame:
    """The bias table from the long endpoints table of every lines source (`endpoints_long`).

    `long` holds the gold rows (algorithm == "gold") and the rows of each (algorithm, scenario).
    Returns one row per algorithm x scenario x endpoint x line group (see module docstring).
    """
    level = int(round((1 - alpha) * 100))
    gold = long[long["algorithm"] == GOLD]
    if gold.empty:
        raise ValueError("bias_table: no gold rows (algorithm == 'gold') in the endpoints table")
    persons = np.sort(gold["person_id"].unique())
    n_persons = persons.size
    sources = [(GOLD, GOLD)] + sorted(
        {(a, s) for a, s in long.loc[long["algorithm"] != GOLD, ["algorithm", "scenario"]].itertuples(index=False)}
    )
    in_cohort = long["person_id"].isin(persons)
    if (~in_cohort).any():
        log.info("bias: %d line-endpoint rows of persons outside the gold cohort not analysed", int((~in_cohort).sum()))
    long = long[in_cohort & long["endpoint"].isin(endpoints)]
    groups = sorted(gold["line_group"].unique(), key=lambda g: (len(g), g))
    levels = design(cox_data(gold, treatment_classes, reference_classes))[2]
    km_cells, cox_cells = _cells(long, persons, endpoints, groups, levels, treatment_classes, reference_classes)

    point = _estimates(km_cells, cox_cells, None)
    rng = np.random.default_rng(seed)
    probs = np.full(n_persons, 1.0 / n_persons)
    reps = []
    for _ in range(bootstrap):
        reps.append(_estimates(km_cells, cox_cells, rng.multinomial(n_persons, probs)))
    log.info("bias: %d bootstrap replicates over %d persons, %d lines sources", bootstrap, n_persons, len(sources))

    rows = []
    for alg, scen in sources[1:]:
        for ep in endpoints:
            for grp in groups:
                row = _median_row(km_cells, point, reps, (alg, scen, ep, grp), alpha, level)
                if grp == groups[0]:
                    row.update(_hr_columns(point, reps, (alg, scen, ep), alpha, level))
                rows.append(row)
    out = pd.DataFrame(rows, columns=bias_columns(level))
    out.attrs["bootstrap"] = bootstrap
    out.attrs["persons"] = n_persons
    return out


def bias_columns(level: int) -> list[str]:
    """The columns of the bias table at confidence level `level` (percent)."""
    return [
        *("algorithm", "scenario", "endpoint", "line_group"),
        *("n_lines_gold", "n_events_gold", "n_lines_algo", "n_events_algo"),
        *("median_gold", "median_algo", "median_diff"),
        *(f"median_diff_lower_{level}", f"median_diff_upper_{level}", "median_diff_boot_valid"),
        *("hr_gold", "hr_algo", "hr_ratio"),
        *(f"hr_ratio_lower_{level}", f"hr_ratio_upper_{level}", "hr_ratio_boot_valid"),
    ]


def _cells(long, persons, endpoints, groups, levels, treatment_classes, reference_classes) -> tuple[dict, dict]:
    """Per (source, endpoint, group): KM data (t, e, person index); per (source, endpoint): Cox data
    (X, t, e, person index), the person index pointing into the sorted cohort `persons`."""
    km_cells, cox_cells = {}, {}
    for (alg, scen), src in long.groupby(["algorithm", "scenario"], sort=False):
        pidx_all = np.searchsorted(persons, src["person_id"].to_numpy())
        entry_all = src["entry"].to_numpy(float) if "entry" in src else None
        for ep in endpoints:
            m = (src["endpoint"] == ep).to_numpy()
            for grp in groups:
                mm = m & (src["line_group"] == grp).to_numpy()
                km_cells[(alg, scen, ep, grp)] = (
                    src["months"].to_numpy(float)[mm],
                    src["event"].to_numpy(float)[mm],
                    pidx_all[mm],
                    None if entry_all is None else entry_all[mm],
                )
            cd = cox_data(src[m], treatment_classes, reference_classes)
            X, _, _ = design(cd, levels)
            cox_cells[(alg, scen, ep)] = (
                X,
                cd["months"].to_numpy(float),
                cd["event"].to_numpy(float),
                np.searchsorted(persons, cd["person_id"].to_numpy()),
                cd["entry"].to_numpy(float) if "entry" in cd else None,
            )
    return km_cells, cox_cells


def _estimates(km_cells: dict, cox_cells: dict, weights: np.ndarray | None) -> dict:
    """Every KM median and treatment HR under the person case weights `weights` (None: the data as is)."""
    out = {}
    for key, (t, e, p, a) in km_cells.items():
        out[("median", *key)] = km_median(t, e, None if weights is None else weights[p], entry=a)
    for key, (X, t, e, p, a) in cox_cells.items():
        w = None if weights is None else weights[p]
        beta, ok = fit_cox(X, t, e, w, entry=a) if len(t) else (np.array([np.nan]), False)
        out[("hr", *key)] = float(np.exp(beta[0])) if ok and np.isfinite(beta[0]) else np.nan
    return out


def _replicates(reps: list[dict], key: tuple) -> np.ndarray:
    return np.array([r.get(key, np.nan) for r in reps], dtype=float)


def _median_row(km_cells: dict, point: dict, reps: list[dict], cell: tuple, alpha: float, level: int) -> dict:
    """The counts and the median difference (with its paired-bootstrap CI) of one (algorithm, scenario,
    endpoint, line group) against the gold lines."""
    alg, scen, ep, grp = cell
    empty = (np.array([]), np.array([]), None, None)
    tg, eg, _, _ = km_cells.get((GOLD, GOLD, ep, grp), empty)
    ta, ea, _, _ = km_cells.get(cell, empty)
    mg, ma = point[("median", GOLD, GOLD, ep, grp)], point.get(("median", *cell), np.nan)
    diff = ma - mg if np.isfinite(ma) and np.isfinite(mg) else np.nan
    with np.errstate(invalid="ignore"):  # inf - inf (median not reached in both): not a valid replicate
        d_b = _replicates(reps, ("median", *cell)) - _replicates(reps, ("median", GOLD, GOLD, ep, grp))
    d_lo, d_hi, d_n = _percentile_ci(d_b, alpha)
    return {
        "algorithm": alg,
        "scenario": scen,
        "endpoint": ep,
        "line_group": grp,
        "n_lines_gold": len(tg),
        "n_events_gold": int(eg.sum()),
        "n_lines_algo": len(ta),
        "n_events_algo": int(ea.sum()),
        "median_gold": mg,
        "median_algo": ma,
        "median_diff": diff,
        f"median_diff_lower_{level}": d_lo,
        f"median_diff_upper_{level}": d_hi,
        "median_diff_boot_valid": d_n,
    }


def _hr_columns(point: dict, reps: list[dict], cell: tuple, alpha: float, level: int) -> dict:
    """The first-line HR of one (algorithm, scenario, endpoint), the gold HR and their ratio (with its
    paired-bootstrap CI)."""
    _, _, ep = cell
    hg = point[("hr", GOLD, GOLD, ep)]
    ha = point.get(("hr", *cell), np.nan)
    r_b = _replicates(reps, ("hr", *cell)) / _replicates(reps, ("hr", GOLD, GOLD, ep))
    r_lo, r_hi, r_n = _percentile_ci(r_b, alpha)
    return {
        "hr_gold": hg,
        "hr_algo": ha,
        "hr_ratio": ha / hg if np.isfinite(ha) and np.isfinite(hg) else np.nan,
        f"hr_ratio_lower_{level}": r_lo,
        f"hr_ratio_upper_{level}": r_hi,
        "hr_ratio_boot_valid": r_n,
    }


def bias_ranking(bias: pd.DataFrame) -> pd.DataFrame:
    """One row per algorithm x scenario, ranked within scenario (closest to gold first).

    Algorithms are compared on the same cells: `mean_abs_median_diff_months` averages |median
    difference| over the endpoint x line-group cells where every algorithm of the scenario has one
    (`common_cells`; a median not reached or a suppressed cell is left out for all), and
    `mean_abs_log_hr_ratio` averages |log HR ratio| over the endpoints where every algorithm has one.
    `cells_with_median` counts each algorithm's own cells. Ties are broken by the HR criterion.
    """
    rows = []
    for scen, grp in bias.groupby("scenario", sort=True):
        diff = grp.pivot_table(
            index=["endpoint", "line_group"], columns="algorithm", values="median_diff", aggfunc="first", dropna=False
        )
        algs = sorted(grp["algorithm"].unique())
        diff = diff.reindex(columns=algs)
        common = diff.dropna(how="any")
        first = grp[grp["line_group"] == grp["line_group"].min()]
        hr = first.pivot_table(index="endpoint", columns="algorithm", values="hr_ratio", aggfunc="first", dropna=False)
        hr = hr.reindex(columns=algs).dropna(how="any")
        for alg in algs:
            rows.append(
                {
                    "algorithm": alg,
                    "scenario": scen,
                    "mean_abs_median_diff_months": common[alg].abs().mean() if len(common) else np.nan,
                    "common_cells": len(common),
                    "cells_with_median": int(diff[alg].notna().sum()),
                    "mean_abs_log_hr_ratio": np.log(hr[alg]).abs().mean() if len(hr) else np.nan,
                    "common_hr_endpoints": len(hr),
                }
            )
    out = pd.DataFrame(rows)
    out = out.sort_values(
        ["scenario", "mean_abs_median_diff_months", "mean_abs_log_hr_ratio", "algorithm"],
        kind="mergesort",
        na_position="last",
    )
    out["rank_in_scenario"] = out.groupby("scenario").cumcount() + 1
    return out.reset_index(drop=True)
