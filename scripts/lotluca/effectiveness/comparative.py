"""Comparative effectiveness with adjustment for confounding (docs/effectiveness.md, "Comparative").

For one comparison (treatment vs reference lines) and one endpoint: a propensity score (scikit-learn
logistic regression of the treatment on the covariates), stabilised inverse-probability-of-treatment
weights (IPTW), the balance table (standardised mean differences before and after weighting), the
hazard ratio three ways -- unadjusted Cox, covariate-adjusted Cox, IPTW-weighted Cox with robust
(sandwich) variance -- and IPTW-weighted Kaplan-Meier medians per arm. Every Cox fit uses robust variance
clustered on the person when a person contributes several lines (`cluster_col`). Covariates: numeric
(as they are; a missing value gets the mean and a missing indicator) and categorical (one dummy per
non-reference level; reference = the most frequent level; a missing value is its own level "unknown",
the missing-indicator approach).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from lotluca.effectiveness.endpoints import lifelines_durations

METHODS = ("unadjusted", "cox_adjusted", "iptw")


def covariate_matrix(df: pd.DataFrame, numeric, categorical) -> pd.DataFrame:
    """Numeric columns (a missing value: the column's mean and an indicator `<column>[missing]`) and
    dummies of the categorical ones (reference level dropped); constant and repeated columns dropped."""
    parts = {c: pd.to_numeric(df[c], errors="coerce").astype(float) for c in numeric}
    for c in numeric:
        if parts[c].isna().any():
            parts[f"{c}[missing]"] = parts[c].isna().astype(float)
    for c in categorical:
        v = df[c].astype(object).where(df[c].notna(), "unknown").astype(str)
        counts = v.value_counts()
        levels = sorted(counts.index, key=lambda x: (-counts[x], x))
        for lev in levels[1:]:
            parts[f"{c}[{lev}]"] = (v == lev).astype(float)
    X = pd.DataFrame(parts, index=df.index)
    X = X.fillna(X.mean())
    X = X.loc[:, X.nunique() > 1]
    return X.loc[:, ~X.T.duplicated().to_numpy()]  # e.g. the missing indicators of proxies missing together


def propensity_scores(X: pd.DataFrame, treatment: np.ndarray) -> np.ndarray:
    """P(treatment | covariates) from an unpenalised logistic regression (scikit-learn, standardised inputs)."""
    from sklearn.linear_model import LogisticRegression

    Z = X.to_numpy(float)
    Z = (Z - Z.mean(axis=0)) / np.where(Z.std(axis=0) > 0, Z.std(axis=0), 1.0)
    model = LogisticRegression(C=1e6, max_iter=2000)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(Z, treatment)
    return model.predict_proba(Z)[:, 1]


def stabilised_weights(ps: np.ndarray, treatment: np.ndarray) -> np.ndarray:
    """P(T = t) / P(T = t | X): mean about 1 in each arm, so the weighted sample keeps its size."""
    t = np.asarray(treatment, bool)
    p = t.mean()
    ps = np.clip(ps, 1e-6, 1 - 1e-6)
    return np.where(t, p / ps, (1 - p) / (1 - ps))


def smd(X: pd.DataFrame, treatment: np.ndarray, weights=None) -> pd.Series:
    """Standardised mean difference per column: (mean_t - mean_r) / sqrt((var_t + var_r) / 2), weighted
    means and variances when `weights` are given (the pooled SD of the unweighted sample is the usual
    denominator; here each arm's weighted variance)."""
    t = np.asarray(treatment, bool)
    w = np.ones(len(t)) if weights is None else np.asarray(weights, float)
    Z = X.to_numpy(float)

    def mv(mask):
        ww = w[mask] / w[mask].sum()
        m = ww @ Z[mask]
        return m, ww @ (Z[mask] - m) ** 2

    m1, v1 = mv(t)
    m0, v0 = mv(~t)
    sd = np.sqrt((v1 + v0) / 2)
    return pd.Series(np.where(sd > 0, (m1 - m0) / np.where(sd > 0, sd, 1), 0.0), index=X.columns)


def _cox(frame: pd.DataFrame, alpha: float, weights: bool, cluster: bool) -> tuple[float, float, float]:
    from lifelines import CoxPHFitter

    kw = {"duration_col": "T", "event_col": "E", "robust": weights or cluster}
    if "entry" in frame:
        kw["entry_col"] = "entry"
    if weights:
        kw["weights_col"] = "W"
    if cluster:
        kw["cluster_col"] = "C"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cph = CoxPHFitter(alpha=alpha).fit(frame, **kw)
    s = cph.summary.loc["treatment"]
    level = int(round((1 - alpha) * 100))
    return float(s["exp(coef)"]), float(s[f"exp(coef) lower {level}%"]), float(s[f"exp(coef) upper {level}%"])


def compare(df: pd.DataFrame, numeric, categorical, alpha: float) -> tuple[list[dict], pd.DataFrame, np.ndarray]:
    """HR rows (method, estimate, ci_low, ci_high, note), the balance table (covariate, smd_unadjusted,
    smd_iptw) and the weights, for rows of `df` with treatment (0/1), months, event, person_id."""
    t = df["treatment"].to_numpy(int)
    X = covariate_matrix(df, numeric, categorical)
    ps = propensity_scores(X, t)
    w = stabilised_weights(ps, t)
    balance = pd.DataFrame({"covariate": X.columns, "smd_unadjusted": smd(X, t).to_numpy()})
    balance["smd_iptw"] = smd(X, t, w).to_numpy()
    cluster = bool(df["person_id"].duplicated().any())
    base = pd.DataFrame(
        {
            "T": df["months"].to_numpy(float),
            "E": df["event"].to_numpy(int),
            "treatment": t,
            "C": df["person_id"].to_numpy(),
        }
    )
    if not cluster:
        base = base.drop(columns="C")
    if "entry" in df and bool((df["entry"] > 0).any()):  # delayed entry (left truncation)
        base["entry"] = df["entry"].to_numpy(float)
        base["T"] = lifelines_durations(base["T"], base["entry"])
    fits = {
        "unadjusted": (base, False),
        "cox_adjusted": (pd.concat([base, X.reset_index(drop=True)], axis=1), False),
        "iptw": (base.assign(W=w), True),
    }
    rows = []
    for method in METHODS:
        frame, weighted = fits[method]
        try:
            est, lo, hi = _cox(frame, alpha, weighted, cluster)
            note = "robust variance clustered on persons" if cluster else ("robust variance" if weighted else "")
        except Exception as exc:  # noqa: BLE001 - a model that cannot be fitted is a result, reported as such
            est, lo, hi, note = np.nan, np.nan, np.nan, str(exc).splitlines()[0][:200]
        rows.append({"method": method, "estimate": est, "ci_low": lo, "ci_high": hi, "note": note})
    return rows, balance, w


def weighted_medians(df: pd.DataFrame, weights: np.ndarray, alpha: float) -> list[dict]:
    """Kaplan-Meier median per arm, unweighted and IPTW-weighted (case weights; with the delayed entry
    `entry` when present). `km.km_median` (lifelines' arithmetic): lifelines' own weighted fit fails on
    late entrants that meet an empty risk set. `alpha` is kept for the signature (no CI here)."""
    from lotluca.effectiveness.km import km_median

    out = []
    t, e = df["months"].to_numpy(float), df["event"].to_numpy(float)
    entry = df["entry"].to_numpy(float) if "entry" in df else None
    for method, w in (("unadjusted", np.ones(len(df))), ("iptw", np.asarray(weights, float))):
        for arm, label in ((1, "treatment"), (0, "reference")):
            m = df["treatment"].to_numpy(int) == arm
            med = km_median(t[m], e[m], w[m], entry=None if entry is None else entry[m])
            out.append({"method": method, "arm": label, "n_lines": int(m.sum()), "median_months": med})
    return out


def comparison_rows(long: pd.DataFrame, line: int, treatment, reference) -> pd.DataFrame:
    """Lines of number `line` (0: every line) whose regimen or regimen class is in `treatment` (treatment
    = 1) or `reference` (0); a line matching both is left out."""
    rows = long if int(line) == 0 else long[long["line_number"] == int(line)]
    key = [rows["regimen"].astype(str), rows["regimen_class"].astype(str)]
    is_t = key[0].isin(treatment) | key[1].isin(treatment)
    is_r = key[0].isin(reference) | key[1].isin(reference)
    out = rows[is_t ^ is_r].copy()
    out["treatment"] = is_t[is_t ^ is_r].astype(int)
    return out


def comparative_tables(long: pd.DataFrame, settings, alpha: float, min_cell: int, true_hr: dict) -> dict:
    """comparative (HR by method, with `true_hr[(comparison, endpoint)]` where the simulation knows it),
    balance (SMDs before / after IPTW) and comparative_km (weighted KM medians) of every configured
    comparison x endpoint, before disclosure control (`comparative_export`). Arms under `min_cell` lines
    get no model (note "arm under min_cell lines")."""
    hr_rows, bal_rows, km_rows = [], [], []
    for comp in settings.comparisons:
        for endpoint in settings.endpoints:
            ep = long[long["endpoint"] == endpoint]
            df = comparison_rows(ep, comp.line, comp.treatment, comp.reference).reset_index(drop=True)
            ident = {"comparison": comp.name, "endpoint": endpoint}
            counts = {"n_treatment": int(df["treatment"].sum()), "n_reference": int((1 - df["treatment"]).sum())}
            truth = true_hr.get((comp.name, endpoint), np.nan)
            if min(counts.values()) < max(min_cell, 2) or df["event"].sum() == 0:
                for m in METHODS:
                    hr_rows.append(
                        {**ident, "method": m, **counts, "note": "arm under min_cell lines", "true_hr": truth}
                    )
                continue
            rows, balance, w = compare(df, settings.numeric, settings.categorical, alpha)
            hr_rows += [{**ident, **r, **counts, "true_hr": truth} for r in rows]
            bal_rows.append(balance.assign(**ident, **counts))
            km_rows += [{**ident, **r} for r in weighted_medians(df, w, alpha)]
    hr_cols = ["comparison", "endpoint", "method", "estimate", "ci_low", "ci_high", "true_hr"]
    hr = pd.DataFrame(hr_rows, columns=[*hr_cols, "n_treatment", "n_reference", "note"])
    bal_cols = ["comparison", "endpoint", "covariate", "smd_unadjusted", "smd_iptw", "n_treatment", "n_reference"]
    bal = pd.concat(bal_rows, ignore_index=True)[bal_cols] if bal_rows else pd.DataFrame(columns=bal_cols)
    km_cols = ["comparison", "endpoint", "method", "arm", "n_lines", "median_months"]
    return {"comparative": hr, "balance": bal, "comparative_km": pd.DataFrame(km_rows, columns=km_cols)}


COMPARATIVE_COUNTS = {"comparative": ["n_treatment", "n_reference"], "balance": [], "comparative_km": ["n_lines"]}


def comparative_export(tables: dict, min_cell: int, method: str) -> dict:
    """Disclosure control: estimates of a comparison with an arm under `min_cell` lines blanked, arm counts
    suppressed (privacy.suppress_counts); the balance table carries no count."""
    from lotluca.privacy import suppress_counts

    hr = tables["comparative"].copy()
    small = hr["n_treatment"].lt(min_cell) | hr["n_reference"].lt(min_cell)
    hr.loc[small, ["estimate", "ci_low", "ci_high"]] = np.nan
    hr = suppress_counts(hr, COMPARATIVE_COUNTS["comparative"], min_cell, method)
    bal = tables["balance"].copy()
    small = bal["n_treatment"].lt(min_cell) | bal["n_reference"].lt(min_cell)
    bal.loc[small, ["smd_unadjusted", "smd_iptw"]] = np.nan
    bal = bal.drop(columns=["n_treatment", "n_reference"])
    km = tables["comparative_km"].copy()
    km.loc[km["n_lines"].lt(min_cell), "median_months"] = np.nan
    km = suppress_counts(km, COMPARATIVE_COUNTS["comparative_km"], min_cell, method)
    for t, cols in ((hr, COMPARATIVE_COUNTS["comparative"]), (km, ["n_lines"])):
        for c in cols:
            t[c] = t[c].astype("Int64")
    return {"comparative": hr, "balance": bal, "comparative_km": km}
