"""Cohorts per line type and Cox models of each line's endpoints with a concomitant exposure.

Line types from the regimen (ingredients joined by "+", classes from the drug reference): `egfr_tki`
(an EGFR TKI in the regimen), `io` (a PD-1/PD-L1 inhibitor), `any`. For each exposure (config
`concomitant.exposures`: drug classes, window, min_pdc, line type) the cohort is the analysable lines of
that type (endpoints from `lotluca.effectiveness.endpoints.compute_endpoints`, rows with an exclusion
reason are left out and counted), the exposure is `windows.line_exposure`, and a Cox model
(lifelines CoxPHFitter, Efron ties) of each endpoint is fitted with the exposure and the covariates:
age per 10 years, sex, histology, PD-L1 class, era of line start, line group (1, 2, 3+), regimen
class of the line (the prognosis of the regimen itself), the
categorical ones as dummies against their most frequent level (levels fixed from the gold lines so
every source shares one design; levels with fewer than RARE_LEVEL lines in a cohort are pooled into
"other"). When a person contributes several lines to a cohort, the variance is robust, clustered on the
person (lifelines `cluster_col`). Columns that cannot be estimated (constant, or no event) are dropped; a fit that does not
converge is refitted with a small ridge penalty, said in the row's `note`.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from lotluca import drugs
from lotluca.concomitant.settings import ExposureSettings
from lotluca.concomitant.windows import line_exposure

LINE_TYPES = ("egfr_tki", "io", "any")
TYPE_CLASSES = {"egfr_tki": ("egfr_tki",), "io": ("pd1_pdl1",)}
CATEGORICAL = ("sex", "histology", "pdl1", "era", "line_group", "regimen_class", "regimen", "ecog")
EXPOSED = "exposed"
RARE_LEVEL = 20  # categorical levels with fewer lines in a cohort are pooled into "other"
RETRY_PENALIZER = 0.01  # ridge of the refit when the plain Cox fit does not converge (noted in the row)


def line_types(regimens: pd.Series) -> pd.DataFrame:
    """Boolean columns egfr_tki, io, any per regimen string ("a+b+c")."""
    cls = drugs.ingredient_class()
    uniq = pd.Series(regimens.fillna("").astype(str).unique())
    out = {}
    for t, classes in TYPE_CLASSES.items():
        hit = {r: any(cls.get(i.strip().lower(), "") in classes for i in r.split("+") if i) for r in uniq}
        out[t] = regimens.fillna("").astype(str).map(hit).astype(bool).to_numpy()
    out["any"] = np.ones(len(regimens), bool)
    return pd.DataFrame(out, index=regimens.index)


def design_levels(df: pd.DataFrame, covariates) -> dict:
    """Levels of each categorical covariate, most frequent first (the reference)."""
    levels = {}
    for c in covariates:
        if c in CATEGORICAL:
            counts = df[c].fillna("unknown").astype(str).value_counts()
            levels[c] = sorted(counts.index, key=lambda v: (-counts[v], v))
    return levels


def _design(df: pd.DataFrame, covariates, levels: dict) -> pd.DataFrame:
    X = {EXPOSED: df[EXPOSED].to_numpy(float)}
    for c in covariates:
        if c == "age":
            X["age_per_10y"] = (df["age"].to_numpy(float) - 65.0) / 10.0
        elif c in CATEGORICAL:
            v = df[c].fillna("unknown").astype(str)
            counts = v.value_counts()
            v = v.where(v.map(counts).to_numpy() >= RARE_LEVEL, "other").to_numpy()
            for lev in [*levels.get(c, [])[1:], "other"]:
                X[f"{c}[{lev}]"] = (v == lev).astype(float)
    X = pd.DataFrame(X, index=df.index)
    if "age_per_10y" in X:
        X["age_per_10y"] = X["age_per_10y"].fillna(0.0)
    return X


DESIGNS = ("before_index", "window")


def exposure_cohort(
    endpoints: pd.DataFrame, exposures: pd.DataFrame, name: str, cfg: ExposureSettings, design: str = "window"
) -> pd.DataFrame:
    """Analysable lines of the exposure's line type with `exposed`, `pdc`, `covered_days` (one row per line).

    `design` "window": the configured window [start - window_before, start + window_after]; "before_index":
    [start - window_before, start], nothing after the line start (no immortal time, no reverse causation)."""
    if design not in DESIGNS:
        raise ValueError(f"concomitant.design = {design!r}; expected one of {DESIGNS}")
    ok = endpoints[endpoints["exclusion"].isna()]
    types = line_types(ok["regimen"])
    lt = cfg.line_type
    if lt not in LINE_TYPES:
        raise ValueError(f"concomitant.exposures.{name}.line_type = {lt!r}; expected one of {LINE_TYPES}")
    coh = ok[types[lt].to_numpy()].copy()
    cov = line_exposure(
        coh,
        exposures,
        list(cfg.drug_classes),
        int(cfg.window_before),
        0 if design == "before_index" else int(cfg.window_after),
        float(cfg.min_pdc),
    )
    coh[EXPOSED] = cov["exposed"].to_numpy().astype(int)
    coh["pdc"] = cov["pdc"].to_numpy()
    coh["covered_days"] = cov["covered_days"].to_numpy()
    coh.insert(0, "exposure", name)
    return coh


def cox_exposure(df: pd.DataFrame, endpoint: str, covariates, levels: dict, alpha: float, penalizer: float) -> dict:
    """Hazard ratio of `exposed` for one endpoint on one cohort; counts always, estimates when estimable."""
    from lifelines import CoxPHFitter

    level = int(round((1 - alpha) * 100))
    t = df[f"{endpoint}_months"].to_numpy(float)
    e = df[f"{endpoint}_event"].to_numpy(float)
    x = df[EXPOSED].to_numpy(int)
    row = {
        "n_lines": len(df),
        "n_exposed": int(x.sum()),
        "n_events": int(np.nansum(e)),
        "n_events_exposed": int(np.nansum(e[x == 1])),
        "hr": np.nan,
        f"lower_{level}": np.nan,
        f"upper_{level}": np.nan,
        "p_value": np.nan,
        "converged": False,
        "note": "",
    }
    X = _design(df, covariates, levels)
    keep = [c for c in X.columns if X[c].nunique() > 1 and X.loc[e == 1, c].nunique() > 1 or c == EXPOSED]
    X = X[keep]
    X["T"] = np.maximum(t, 1e-6)
    X["E"] = e.astype(int)
    fit = {"duration_col": "T", "event_col": "E"}
    if "person_id" in df.columns and df["person_id"].duplicated().any():  # several lines per person
        X["C"] = df["person_id"].to_numpy()
        fit.update(cluster_col="C", robust=True)
    try:
        if x.min() == x.max():
            raise ValueError("exposure constant in the cohort")
        if row["n_events"] == 0:
            raise ValueError("no event")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                cph = CoxPHFitter(alpha=alpha, penalizer=penalizer).fit(X, **fit)
            except Exception:  # noqa: BLE001 - sparse dummies (many regimen classes): small ridge, reported
                cph = CoxPHFitter(alpha=alpha, penalizer=max(penalizer, RETRY_PENALIZER)).fit(X, **fit)
                row["note"] = f"plain fit did not converge: refitted with penalizer {max(penalizer, RETRY_PENALIZER)}"
        s = cph.summary.loc[EXPOSED]
        row.update(
            {
                "hr": float(s["exp(coef)"]),
                f"lower_{level}": float(s[f"exp(coef) lower {level}%"]),
                f"upper_{level}": float(s[f"exp(coef) upper {level}%"]),
                "p_value": float(s["p"]),
                "converged": True,
            }
        )
    except Exception as exc:  # noqa: BLE001 - a non-estimable model is a result, reported as such
        row["note"] = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
    return row


def fit_exposure_models(
    cohorts: pd.DataFrame,
    endpoints,
    covariates,
    alpha: float,
    penalizer: float,
    keys=("algorithm", "scenario"),
    levels: dict | None = None,
) -> pd.DataFrame:
    """One row per (keys, exposure, endpoint): counts, hr and its CI, p_value, converged, note."""
    keys = [k for k in keys if k in cohorts.columns]
    if levels is None:
        ref = cohorts[cohorts["algorithm"] == "gold"] if "algorithm" in cohorts.columns else cohorts
        levels = design_levels(ref if len(ref) else cohorts, covariates)
    out = []
    for kv, grp in cohorts.groupby([*keys, "exposure"], sort=True):
        ident = dict(zip([*keys, "exposure"], kv, strict=True))
        for ep in endpoints:
            out.append({**ident, "endpoint": ep, **cox_exposure(grp, ep, covariates, levels, alpha, penalizer)})
    return pd.DataFrame(out)
