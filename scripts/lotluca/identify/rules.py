"""The identification rules, one function each (docs/identify.md, "Rules"), vectorised over all persons:
lung cancer (C34 codes of stays and ALD), prevalence, distant metastases, treatments typical of advanced
NSCLC minus those explained by a curative context (durvalumab consolidation after chemoradiation,
adjuvant osimertinib after a lung resection), the small-cell pattern, the advanced-diagnosis date and
the histology the treatments reveal. `identify` chains them.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from lotluca.identify.settings import IdentifySettings

EVIDENCE = ["person_id", "date"]


def _first(df: pd.DataFrame, col: str = "date", name: str | None = None) -> pd.Series:
    """The earliest `col` per person."""
    return df.groupby("person_id", sort=True)[col].min().rename(name or col)


def c34_evidence(diag: pd.DataFrame, ald: pd.DataFrame, s: IdentifySettings) -> pd.DataFrame:
    """Rule C34: persons with at least `min_c34_stays` stays whose main / related diagnosis (`c34_positions`)
    starts with `c34_prefix`, or (`use_ald`) an ALD registration with a C34 code; and whose C34 codes are
    at least `min_c34_share` of their cancer codes of those positions (other cancers with a secondary C34
    code, mesothelioma, fail it). Columns: first_c34 (first stay or ALD date), c34_stays, c34_share."""
    pos = diag[diag["position"].isin(s.c34_positions)]
    cancer = pos[pos["code"].str.startswith(s.cancer_prefix) & ~pos["code"].str.startswith(s.metastasis_prefixes)]
    is_c34 = cancer["code"].str.startswith(s.c34_prefix)
    per_stay = cancer.assign(c34=is_c34).groupby(["person_id", "origin"], sort=False)["c34"].max().reset_index()
    g = per_stay.groupby("person_id")["c34"]
    out = pd.DataFrame({"c34_stays": g.sum().astype(int), "c34_share": g.mean()})
    first_stay = _first(cancer[is_c34], name="first_c34_stay")
    ald_c34 = ald[ald["code"].str.startswith(s.c34_prefix)] if s.use_ald else ald.iloc[:0]
    first_ald = _first(ald_c34, "start_date", "first_c34_ald")
    out = out.join([first_stay, first_ald], how="outer")
    out["c34_stays"] = out["c34_stays"].fillna(0).astype(int)
    out["c34_share"] = out["c34_share"].fillna(1.0)  # an ALD C34 without cancer-coded stay
    out["first_c34"] = out[["first_c34_stay", "first_c34_ald"]].min(axis=1)
    enough = (out["c34_stays"] >= s.min_c34_stays) | out["first_c34_ald"].notna()
    keep = enough & (out["c34_share"] >= s.min_c34_share) & out["first_c34"].notna()
    return out[keep].rename_axis("person_id")


def prevalent(c34: pd.DataFrame, exposures: pd.DataFrame, start: pd.Timestamp, s: IdentifySettings) -> pd.Index:
    """Rule prevalent: lung cancer known before the study (a C34 stay in the look-back year, an older C34
    ALD, or a drug of `advanced_drugs` before the start date)."""
    if not s.exclude_prevalent:
        return pd.Index([], name="person_id")
    early = c34.index[c34["first_c34"] < start]
    drugs = exposures[exposures["ingredient"].isin(s.advanced_drugs) & (exposures["date"] < start)]
    return early.union(pd.Index(drugs["person_id"].unique())).rename("person_id")


def metastasis_evidence(diag: pd.DataFrame, s: IdentifySettings) -> pd.DataFrame:
    """Rule metastasis: stay dates with a distant-metastasis code (`metastasis_prefixes`, any position)."""
    m = diag[diag["code"].str.startswith(s.metastasis_prefixes)]
    return m[EVIDENCE].drop_duplicates().assign(kind="metastasis")


def _last_before(events: pd.DataFrame, anchors: pd.DataFrame) -> pd.Series:
    """For each event row, the date of the person's latest anchor on or before it (NaT when none)."""
    left = events[["person_id", "date"]].reset_index().sort_values("date")
    right = anchors[["person_id", "date"]].drop_duplicates().rename(columns={"date": "anchor"})
    right = right.assign(date=right["anchor"]).sort_values("date")
    m = pd.merge_asof(left, right, on="date", by="person_id", direction="backward")
    return pd.Series(m["anchor"].to_numpy(), index=m["index"].to_numpy()).reindex(events.index)


def curative_context(diag: pd.DataFrame, s: IdentifySettings) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Radiotherapy sessions (`radiotherapy_ghm_prefixes`) and lung resections (`surgery_ghm_prefixes`)."""
    ghm = diag["ghm"].fillna("")
    rt = diag[ghm.str.startswith(s.radiotherapy_ghm_prefixes)][EVIDENCE].drop_duplicates()
    surgery = diag[ghm.str.startswith(s.surgery_ghm_prefixes)][EVIDENCE].drop_duplicates()
    return rt, surgery


def drug_evidence(
    exposures: pd.DataFrame, rt: pd.DataFrame, surgery: pd.DataFrame, s: IdentifySettings
) -> pd.DataFrame:
    """Rule treatment: administrations of `advanced_drugs`, except a `consolidation_drugs` one within
    `consolidation_days` of the last radiotherapy session before it (consolidation after chemoradiation)
    and an `adjuvant_drugs` one within `adjuvant_days` of a lung resection before it (adjuvant)."""
    e = exposures[exposures["ingredient"].isin(s.advanced_drugs)][["person_id", "date", "ingredient"]]
    e = e.reset_index(drop=True)
    curative = pd.Series(False, index=e.index)
    for drugs, anchors, days in (
        (s.consolidation_drugs, rt, s.consolidation_days),
        (s.adjuvant_drugs, surgery, s.adjuvant_days),
    ):
        sel = e["ingredient"].isin(drugs)
        if sel.any() and len(anchors):
            last = _last_before(e[sel], anchors)
            curative[sel] = ((e.loc[sel, "date"] - last).dt.days <= days).fillna(False).to_numpy()
    return e[~curative][EVIDENCE].drop_duplicates().assign(kind="treatment")


def chemo_evidence(
    sessions: pd.DataFrame, rt: pd.DataFrame, surgery: pd.DataFrame, s: IdentifySettings, exposures=None
) -> pd.DataFrame:
    """Rule chemotherapy: chemotherapy sessions without any named drug that day (a named drug is judged
    by the treatment rule: durvalumab consolidation is a session too) and away from any curative context
    (not within `curative_chemo_days` of a radiotherapy session or a lung resection) are palliative; the
    `min_chemo_sessions`-th of them is advanced evidence."""
    e = sessions[EVIDENCE].drop_duplicates().reset_index(drop=True)
    if exposures is not None and len(exposures) and len(e):
        named = pd.MultiIndex.from_frame(exposures[EVIDENCE].drop_duplicates())
        e = e[~pd.MultiIndex.from_frame(e).isin(named)].reset_index(drop=True)
    curative = pd.Series(False, index=e.index)
    anchors = pd.concat([rt, surgery], ignore_index=True)
    if len(anchors) and len(e):
        a = anchors.rename(columns={"date": "anchor"}).sort_values("anchor")
        left = e.reset_index().sort_values("date")
        m = pd.merge_asof(left, a, left_on="date", right_on="anchor", by="person_id", direction="nearest")
        near = (m["date"] - m["anchor"]).dt.days.abs() <= s.curative_chemo_days
        curative[m["index"].to_numpy()] = near.fillna(False).to_numpy()
    e = e[~curative].sort_values(EVIDENCE)
    rank = e.groupby("person_id").cumcount() + 1
    return e[rank == s.min_chemo_sessions][EVIDENCE].assign(kind="treatment")


def small_cell(exposures: pd.DataFrame, sessions: pd.DataFrame, s: IdentifySettings) -> pd.Index:
    """Rule small cell: after the first administration of a `small_cell_io` drug (atezolizumab,
    durvalumab), a chemotherapy session without any named drug within 1..`small_cell_session_days` days
    (etoposide days 2-3 of etoposide-platinum, seen as sessions only), and no `nsclc_only_drugs` ever
    (pemetrexed, bevacizumab, pembrolizumab)."""
    io = exposures[exposures["ingredient"].isin(s.small_cell_io)]
    first = io.groupby("person_id", as_index=False)["date"].min()
    if first.empty or sessions.empty:
        return pd.Index([], name="person_id")
    named = pd.MultiIndex.from_frame(exposures[["person_id", "date"]].drop_duplicates())
    sess = sessions[["person_id", "date"]].drop_duplicates()
    sess = sess[~pd.MultiIndex.from_frame(sess).isin(named)].rename(columns={"date": "session"})
    m = first.merge(sess, on="person_id")
    gap = (m["session"] - m["date"]).dt.days
    near = m[(gap >= 1) & (gap <= s.small_cell_session_days)]["person_id"].unique()
    nsclc = exposures.loc[exposures["ingredient"].isin(s.nsclc_only_drugs), "person_id"].unique()
    return pd.Index(near).difference(pd.Index(nsclc)).rename("person_id")


def diagnosis_date(c34: pd.DataFrame, diag: pd.DataFrame, first_adv: pd.Series, s: IdentifySettings) -> pd.Series:
    """Rule date: the earliest C34 stay or C34 ALD date within `date_window_days` before the first
    advanced evidence, else the first advanced evidence itself."""
    pos = diag[diag["position"].isin(s.c34_positions) & diag["code"].str.startswith(s.c34_prefix)]
    cand = pd.concat([pos[EVIDENCE], c34["first_c34_ald"].dropna().rename("date").reset_index()], ignore_index=True)
    cand = cand.merge(first_adv.rename("adv").reset_index(), on="person_id")
    win = cand[(cand["date"] <= cand["adv"]) & ((cand["adv"] - cand["date"]).dt.days <= s.date_window_days)]
    earliest = win.groupby("person_id")["date"].min()
    return earliest.reindex(first_adv.index).fillna(first_adv).rename("diagnosis_date")


def histology(exposures: pd.DataFrame, persons: pd.Index, s: IdentifySettings) -> pd.DataFrame:
    """Rule histology: non-squamous when pemetrexed / bevacizumab (`non_squamous_drugs`) or a driver TKI
    was given, else "nos"; EGFR / ALK "mutated" when an EGFR (`egfr_drugs`) / ALK (`alk_drugs`) TKI was."""

    def given(drugs) -> pd.Series:
        ids = exposures.loc[exposures["ingredient"].isin(drugs), "person_id"].unique()
        return pd.Series(persons.isin(ids), index=persons)

    egfr, alk = given(s.egfr_drugs), given(s.alk_drugs)
    nonsq = given(s.non_squamous_drugs) | egfr | alk
    return pd.DataFrame(
        {
            "histology": nonsq.map({True: "non_squamous", False: "nos"}),
            "egfr": egfr.map({True: "mutated", False: "unknown"}),
            "alk": alk.map({True: "mutated", False: "unknown"}),
        },
        index=persons,
    )


def identify(
    diag: pd.DataFrame,
    ald: pd.DataFrame,
    exposures: pd.DataFrame,
    sessions: pd.DataFrame,
    start: pd.Timestamp,
    end: pd.Timestamp,
    s: IdentifySettings,
) -> tuple[pd.DataFrame, dict]:
    """Identified persons (IDENTIFIED columns, person_id as a column) and the counts of each rule: lung
    cancer (C34), minus prevalent, minus small cell, with advanced evidence (metastasis or treatment)
    dated in the study period."""
    c34 = c34_evidence(diag, ald, s)
    prev = prevalent(c34, exposures, start, s)
    sclc = small_cell(exposures, sessions, s)
    rt, surgery = curative_context(diag, s)
    evidence = [metastasis_evidence(diag, s), drug_evidence(exposures, rt, surgery, s)]
    if s.min_chemo_sessions > 0:
        evidence.append(chemo_evidence(sessions, rt, surgery, s, exposures))
    ev = pd.concat(evidence, ignore_index=True)
    ev = ev[(ev["date"] >= start) & (ev["date"] <= end) & ev["person_id"].isin(c34.index)]
    first_adv = _first(ev)
    met = first_adv.index.isin(ev.loc[ev["kind"] == "metastasis", "person_id"])
    trt = first_adv.index.isin(ev.loc[ev["kind"] == "treatment", "person_id"])
    kinds = pd.Series(
        np.select([met & trt, met], ["metastasis+treatment", "metastasis"], "treatment"), index=first_adv.index
    )
    cand = first_adv.index.difference(prev).difference(sclc)
    first_adv = first_adv.reindex(cand)
    out = pd.DataFrame(index=cand.rename("person_id"))
    out["diagnosis_date"] = diagnosis_date(c34, diag, first_adv, s)
    out = out.join(histology(exposures, cand, s))
    out["first_c34_date"] = c34["first_c34"].reindex(cand)
    out["advanced_evidence"] = kinds.reindex(cand)
    counts = {
        "c34_persons": int(len(c34)),
        "prevalent_excluded": int(len(prev.intersection(c34.index))),
        "small_cell_excluded": int(len(sclc.intersection(c34.index).difference(prev))),
        "with_advanced_evidence": int(first_adv.index.size),
        "identified": int(len(out)),
    }
    return out.reset_index(), counts
