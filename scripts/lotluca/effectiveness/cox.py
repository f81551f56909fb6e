"""First-line Cox model: chemotherapy + immunotherapy versus chemotherapy alone, adjusted.

Arms come from the first-line regimen class (config `effectiveness.cox.treatment_classes` vs
`reference_classes`; other first lines are not in this comparison). Covariates: age at line start
(per 10 years), sex, histology, PD-L1 class and era of the line start (categorical, reference = the
most frequent level, so the design is the same whatever the order of the data).

`cox_table` fits lifelines' CoxPHFitter (Efron ties) for the exported table. `fit_cox` is a compact
Newton-Raphson Efron fit in numpy giving the same estimates (tested against lifelines) in a few
milliseconds, used by the bootstrap of the bias analysis; it accepts integer case weights.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from lotluca.effectiveness.endpoints import lifelines_durations

CATEGORICAL = ("sex", "histology", "pdl1", "era")
TREATMENT = "treatment"


def cox_data(long: pd.DataFrame, treatment_classes, reference_classes) -> pd.DataFrame:
    """First-line rows of the two arms with `treatment` = 1 (treatment classes) or 0 (reference)."""
    first = long[(long["line_number"] == 1) & long["regimen_class"].isin([*treatment_classes, *reference_classes])]
    first = first.copy()
    first[TREATMENT] = first["regimen_class"].isin(treatment_classes).astype(int)
    return first


def design(df: pd.DataFrame, levels: dict[str, list[str]] | None = None) -> tuple[np.ndarray, list[str], dict]:
    """Design matrix: treatment, age per 10 years, and dummies of CATEGORICAL (reference level dropped).

    `levels` (from a previous call) fixes the levels and references, so bootstrap resamples and every
    lines source share one design. Returns (X, column names, levels).
    """
    if levels is None:
        levels = {}
        for c in CATEGORICAL:
            counts = df[c].fillna("unknown").astype(str).value_counts()
            ordered = sorted(counts.index, key=lambda v: (-counts[v], v))  # reference = most frequent
            levels[c] = ordered
    cols = [df[TREATMENT].to_numpy(float), (df["age"].to_numpy(float) - 65.0) / 10.0]
    names = [TREATMENT, "age_per_10y"]
    for c in CATEGORICAL:
        v = df[c].fillna("unknown").astype(str).to_numpy()
        for lev in levels[c][1:]:
            cols.append((v == lev).astype(float))
            names.append(f"{c}[{lev}]")
    X = np.column_stack(cols) if len(df) else np.zeros((0, len(names)))
    return X, names, levels


def _efron_setup(X, t, e, w, entry=None):
    """Everything of the Efron likelihood that does not depend on beta (sorted once per fit). With
    `entry` (delayed entry), the risk set at an event time u is entry < u <= t (lifelines' `entry_col`):
    the rows with entry >= u are taken out of the prefix sums (`late`: their order and, per event time,
    how many of them)."""
    order = np.argsort(-t, kind="mergesort")  # descending time: risk sets are prefix sums
    X, t, e, w = X[order], t[order], e[order], w[order]
    new_block = np.r_[True, t[1:] != t[:-1]]
    starts = np.flatnonzero(new_block)
    ends = np.r_[starts[1:], len(t)] - 1  # last row of each tied-time block = full risk set at that time
    ev = (e > 0).astype(float)
    d = np.add.reduceat(w * ev, starts)
    idx = np.flatnonzero(d > 0)
    dd = d[idx].astype(int)
    rep = np.repeat(idx, dd)
    first = np.repeat(np.cumsum(dd) - dd, dd)
    frac = (np.arange(dd.sum()) - first) / np.repeat(dd, dd)
    dx = np.add.reduceat((w * ev)[:, None] * X, starts)[idx].sum(axis=0)
    late = None
    if entry is not None and (np.asarray(entry) > 0).any():
        a = np.asarray(entry, float)[order]
        by_entry = np.argsort(-a, kind="mergesort")  # descending entry
        # rows with entry >= each block's time (entry 0: at risk from time 0 included, as without entry)
        n_late = np.searchsorted(-a[by_entry], -np.maximum(t[ends], np.finfo(float).tiny), side="right")
        late = (by_entry, n_late)
    return X, w, ev, starts, ends, idx, rep, frac, dx, late


def _efron_terms(beta, setup):
    """Log partial likelihood, gradient and Hessian (Efron ties) with integer case weights."""
    X, w, ev, starts, ends, idx, rep, frac, dx, late = setup
    eta = X @ beta
    shift = eta.max()
    r = w * np.exp(eta - shift)
    rx = r[:, None] * X
    rxx = rx[:, :, None] * X[:, None, :]
    R, R1, R2 = np.cumsum(r)[ends], np.cumsum(rx, axis=0)[ends], np.cumsum(rxx, axis=0)[ends]
    if late is not None:  # delayed entry: rows not yet entered at the block's time leave the risk set
        by_entry, n_late = late

        def before(v):
            c = np.concatenate([np.zeros((1, *v.shape[1:])), np.cumsum(v[by_entry], axis=0)])
            return c[n_late]

        R, R1, R2 = R - before(r), R1 - before(rx), R2 - before(rxx)
    dr = np.add.reduceat(r * ev, starts)
    drx = np.add.reduceat(rx * ev[:, None], starts)
    drxx = np.add.reduceat(rxx * ev[:, None, None], starts)
    den = R[rep] - frac * dr[rep]
    num1 = R1[rep] - frac[:, None] * drx[rep]
    num2 = R2[rep] - frac[:, None, None] * drxx[rep]
    loglik = (w * ev * (eta - shift)).sum() - np.log(den).sum()
    mean = num1 / den[:, None]
    grad = dx - mean.sum(axis=0)
    hess = -(num2 / den[:, None, None]).sum(axis=0) + mean.T @ mean
    return loglik, grad, hess


def estimable_columns(X: np.ndarray, events: np.ndarray) -> np.ndarray:
    """Columns that vary among the rows with an event (others have no finite partial-likelihood MLE)."""
    ev = np.asarray(events) > 0
    if X.shape[0] == 0 or not ev.any():
        return np.zeros(X.shape[1], bool)
    return np.ptp(X[ev], axis=0) > 0


def fit_cox(X, t, e, weights=None, max_iter: int = 50, tol: float = 1e-9, entry=None) -> tuple[np.ndarray, bool]:
    """Efron partial-likelihood MLE by Newton-Raphson with step halving. Returns (beta, converged).
    `entry`: delayed-entry times (left truncation; at risk from entry < t, as lifelines' `entry_col`).

    Columns constant among the events are not identifiable (a covariate level without any event, or
    holding every event, sends its coefficient to infinity): their coefficient is NaN and the others
    are fitted without them (`estimable_columns`).
    """
    X = np.asarray(X, float)
    t = np.asarray(t, float)
    e = np.asarray(e, float)
    w = np.ones_like(t) if weights is None else np.asarray(weights, float)
    keep = w > 0
    X, t, e, w = X[keep], t[keep], e[keep], w[keep]
    entry = None if entry is None else np.asarray(entry, float)[keep]
    p = X.shape[1]
    beta_full = np.full(p, np.nan)
    if X.shape[0] == 0 or (e * w).sum() == 0:
        return beta_full, False
    free = estimable_columns(X, e)
    if not free.any():  # no identifiable coefficient (e.g. a bootstrap sample whose events share one level)
        return beta_full, False
    Xf = X[:, free]
    beta = np.zeros(Xf.shape[1])
    setup = _efron_setup(Xf, t, e, w, entry)
    ll, g, h = _efron_terms(beta, setup)
    converged = False
    for _ in range(max_iter):
        try:
            step = np.linalg.solve(-h, g)
        except np.linalg.LinAlgError:
            return beta_full, False
        scale = 1.0
        for _ in range(30):
            cand = beta + scale * step
            ll_new, g_new, h_new = _efron_terms(cand, setup)
            if np.isfinite(ll_new) and ll_new >= ll - 1e-12:
                break
            scale /= 2
        else:
            return beta_full, False
        delta = np.abs(cand - beta).max()
        beta, ll, g, h = cand, ll_new, g_new, h_new
        if delta < tol or np.abs(g).max() < tol:
            converged = True
            break
    if not converged or np.abs(beta).max() > 20:  # separation: coefficient runs to infinity
        return beta_full, False
    beta_full[free] = beta
    return beta_full, True


def treatment_hr(df: pd.DataFrame, levels: dict, weights=None) -> float:
    """Adjusted hazard ratio of the treatment arm (NaN when not estimable)."""
    X, _, _ = design(df, levels)
    beta, ok = fit_cox(X, df["months"].to_numpy(float), df["event"].to_numpy(float), weights)
    return float(np.exp(beta[0])) if ok and np.isfinite(beta[0]) else np.nan


def cox_table(
    data: pd.DataFrame,
    *,
    alpha: float,
    penalizer: float,
    keys=("algorithm", "scenario"),
    levels: dict | None = None,
) -> pd.DataFrame:
    """lifelines CoxPHFitter per lines source and endpoint on `cox_data` rows: one row per term.

    Columns: keys, endpoint, term, hr, lower, upper, p_value, n_lines, n_events, n_treatment,
    n_reference, converged (False rows carry the error in `note`). Covariate levels (and references)
    are `levels`, else those of the gold rows, else each source's own.
    """
    from lifelines import CoxPHFitter

    keys = [k for k in keys if k in data.columns]
    level = int(round((1 - alpha) * 100))
    if levels is None and "algorithm" in data.columns and (data["algorithm"] == "gold").any():
        levels = design(data[data["algorithm"] == "gold"])[2]  # one design (reference levels) for every source
    out = []
    for key_vals, src in data.groupby([*keys, "endpoint"], sort=True):
        ident = dict(zip([*keys, "endpoint"], key_vals, strict=True))
        X, names, _ = design(src, levels)
        free = estimable_columns(X, src["event"].to_numpy())
        frame = pd.DataFrame(X[:, free], columns=[n for n, f in zip(names, free, strict=True) if f])
        frame["T"] = src["months"].to_numpy(float)
        frame["E"] = src["event"].to_numpy(int)
        delayed = "entry" in src and bool((src["entry"] > 0).any())
        if delayed:
            frame["entry"] = src["entry"].to_numpy(float)
            frame["T"] = lifelines_durations(frame["T"], frame["entry"])
        counts = {
            "n_lines": len(src),
            "n_events": int(src["event"].sum()),
            "n_treatment": int(src[TREATMENT].sum()),
            "n_reference": int((1 - src[TREATMENT]).sum()),
        }
        try:
            if TREATMENT not in frame.columns:
                raise ValueError("only one arm present")
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                cph = CoxPHFitter(alpha=alpha, penalizer=penalizer).fit(
                    frame, "T", "E", entry_col="entry" if delayed else None
                )
            s = cph.summary
            for term in s.index:
                out.append(
                    {
                        **ident,
                        "term": term,
                        "hr": s.loc[term, "exp(coef)"],
                        f"lower_{level}": s.loc[term, f"exp(coef) lower {level}%"],
                        f"upper_{level}": s.loc[term, f"exp(coef) upper {level}%"],
                        "p_value": s.loc[term, "p"],
                        **counts,
                        "converged": True,
                        "note": "",
                    }
                )
        except Exception as exc:  # noqa: BLE001 - a non-estimable model is a result, reported as such
            out.append(
                {
                    **ident,
                    "term": TREATMENT,
                    "hr": np.nan,
                    f"lower_{level}": np.nan,
                    f"upper_{level}": np.nan,
                    "p_value": np.nan,
                    **counts,
                    "converged": False,
                    "note": str(exc).splitlines()[0][:200],
                }
            )
    cols = [
        *keys,
        "endpoint",
        "term",
        "hr",
        f"lower_{level}",
        f"upper_{level}",
        "p_value",
        "n_lines",
        "n_events",
        "n_treatment",
        "n_reference",
        "converged",
        "note",
    ]
    return pd.DataFrame(out, columns=cols)
