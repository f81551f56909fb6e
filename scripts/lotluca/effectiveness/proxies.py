"""Confounder proxies computable from the SNDS: a Charlson comorbidity index from the PMSI diagnoses and
the number of prior hospital stays, per line at its start date (docs/effectiveness.md, "Proxies").

- `charlson`: the ICD-10 codes (main, related and associated diagnoses of the canonical `diagnoses`
  table) of the stays admitted in [index - `charlson_lookback_days`, index) mapped to the Charlson
  conditions of Quan et al. 2005 (`scripts/lotluca/data/charlson_quan2005.csv`, longest prefix first),
  each condition counted once with its Charlson weight; a complicated diabetes replaces the uncomplicated
  one, a moderate or severe liver disease the mild one, a metastatic solid tumour any malignancy; the
  conditions of `charlson_exclude` (the cancer under study) are left out.
- `prior_stays`: distinct stays (origins) admitted in [index - `prior_stays_days`, index), chemotherapy
  and radiotherapy sessions (GHM 28...) left out.
A line's person is its SNDS person: the link of its ODH patient (`links`), or itself for an SNDS-only
person id; a person with neither has null proxies (a missing value the comparative analysis keeps as its
own indicator). Vectorised over all lines (one merge per proxy).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

HIERARCHY = {  # condition -> the milder condition it replaces
    "diabetes_with_complication": "diabetes_without_complication",
    "moderate_severe_liver_disease": "mild_liver_disease",
    "metastatic_solid_tumour": "malignancy",
}
SESSION_GHM = "28"


def code_conditions(codes: pd.Series) -> pd.Series:
    """Charlson condition of each ICD-10 code (no dot, upper case), longest Quan prefix first; NaN if none."""
    from lotluca.simulate.comorbidity import quan

    q = quan()
    by = {n: dict(zip(g["code"], g["condition"], strict=True)) for n, g in q.groupby(q["code"].str.len())}
    c = codes.astype(str).str.upper()
    out = pd.Series(np.nan, index=codes.index, dtype=object)
    for n in sorted(by, reverse=True):
        todo = out.isna()
        out[todo] = c[todo].str[:n].map(by[n])
    return out


def weights() -> dict[str, int]:
    from lotluca.simulate.comorbidity import quan

    q = quan()
    return dict(zip(q["condition"], q["weight"], strict=False))


def snds_person(person_id: pd.Series, links: pd.DataFrame | None, snds_ids) -> pd.Series:
    """The SNDS person of each line's person: its link, else itself when it is an SNDS person id."""
    out = pd.Series(pd.NA, index=person_id.index, dtype=object)
    if links is not None and len(links):
        m = dict(zip(links["odh_patient_id"].astype(str), links["snds_person_id"].astype(str), strict=False))
        out = person_id.astype(str).map(m)
    own = person_id.astype(str).isin(set(snds_ids))
    return out.where(out.notna(), person_id.astype(str).where(own))


def _window(index: pd.DataFrame, rows: pd.DataFrame, days: int) -> pd.DataFrame:
    """Rows of `rows` (snds, date, ...) of each index row's person dated in [index_date - days, index_date)."""
    m = index[["_row", "snds", "index_date"]].merge(rows, on="snds", how="inner")
    ok = (m["date"] < m["index_date"]) & (m["date"] >= m["index_date"] - pd.Timedelta(days=int(days)))
    return m[ok]


def line_proxies(lines: pd.DataFrame, diagnoses: pd.DataFrame, links: pd.DataFrame | None, settings) -> pd.DataFrame:
    """charlson and prior_stays (Int64, null without an SNDS person) of each row of `lines` (person_id,
    start_date), aligned on its index; `settings`: charlson_lookback_days, prior_stays_days,
    charlson_exclude (effectiveness.comparative)."""
    index = pd.DataFrame(
        {
            "_row": np.arange(len(lines)),
            "snds": snds_person(lines["person_id"], links, diagnoses["person_id"].unique()).to_numpy(),
            "index_date": pd.to_datetime(lines["start_date"]).to_numpy(),
        }
    )
    known = index["snds"].notna().to_numpy()
    d = diagnoses.rename(columns={"person_id": "snds"})
    d = d.assign(date=pd.to_datetime(d["date"]))
    cond = d.assign(condition=code_conditions(d["code"])).dropna(subset=["condition"])
    cond = cond[~cond["condition"].isin(set(settings.charlson_exclude))][["snds", "date", "condition"]]
    hit = _window(index, cond, settings.charlson_lookback_days)[["_row", "condition"]].drop_duplicates()
    for severe, mild in HIERARCHY.items():
        rows_severe = set(hit.loc[hit["condition"] == severe, "_row"])
        hit = hit[~((hit["condition"] == mild) & hit["_row"].isin(rows_severe))]
    w = weights()
    score = hit.assign(w=hit["condition"].map(w)).groupby("_row")["w"].sum()
    stays = d[~d["ghm"].astype(str).str.startswith(SESSION_GHM)][["snds", "date", "origin"]].drop_duplicates()
    n_stays = _window(index, stays, settings.prior_stays_days).groupby("_row")["origin"].nunique()
    out = pd.DataFrame(
        {
            "charlson": score.reindex(index["_row"], fill_value=0).to_numpy(),
            "prior_stays": n_stays.reindex(index["_row"], fill_value=0).to_numpy(),
        },
        index=lines.index,
    )
    return out.astype("Int64").where(pd.Series(known, index=lines.index), pd.NA)
