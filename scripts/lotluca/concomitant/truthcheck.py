"""Recovery check on a synthetic cohort: simulate in memory, analyse the gold lines with the exposures
taken from the simulated concomitant dispensations (plus the cancer drugs of the truth), and compare the
estimated hazard ratios with the simulated ones. Used by bench/bench_concomitant.py and the tests."""

from __future__ import annotations

import numpy as np
import pandas as pd

from lotluca.concomitant.analysis import GOLD, analyse
from lotluca.concomitant.settings import ConcomitantSettings
from lotluca.config import default_config
from lotluca.effectiveness.settings import EffectivenessSettings
from lotluca.simulate import sim_settings, simulate
from lotluca.simulate.cohort import EPOCH, HISTOLOGY, to_days

PDL1 = np.array(["<1%", "1-49%", ">=50%", "unknown"])


def truth_implied_hr(r: dict, end_day: int) -> dict:
    """HR of each exposure on the true time to next treatment or death (rwTTNT of the truth lines of every
    simulated person, decoys included, with the true flags; Cox stratified by regimen): the effect the
    truth carries on rwTTNT, which the generator makes the configured HR (quantile mapping on rwTTNT, after
    the frailty effect of `simulate.confounding`: a marginal HR over the persons' ECOG and Charlson).
    Corticosteroids depend on the ECOG when `simulate.confounding` drew it: their model is also adjusted
    for the true ECOG and Charlson (confounders; under the configured null HR, conditional and marginal
    HRs coincide); PPI and antibiotics are drawn independently of them, their marginal HR is the target."""
    from lifelines import CoxPHFitter

    L = r["_lines"].sort_values(["pid", "line_number"])
    P = r["_persons"]
    frailty = {
        c: P[c].to_numpy()[L["pid"].to_numpy()].astype(float)
        for c in ("ecog", "charlson")
        if c in P and (P[c].to_numpy() >= 0).all()
    }
    death = r["_death"][L["pid"].to_numpy()].astype(float)
    nxt = L.groupby("pid")["first"].shift(-1).to_numpy(float)
    ev = np.fmin(np.where(np.isnan(nxt), np.inf, nxt), np.where(death <= end_day, death, np.inf))
    T = np.where(np.isfinite(ev), ev, end_day) - L["first"].to_numpy()
    out = {}
    for name, flag, typ in (
        ("ppi", "ppi_exposed", "egfr_tki_line"),
        ("antibiotic", "antibiotic_exposed", "io_line"),
        ("corticosteroid", "corticosteroid_exposed", None),
    ):
        sel = np.ones(len(L), bool) if typ is None else L[typ].to_numpy()
        f = pd.DataFrame(
            {
                "T": np.maximum(T[sel], 0.5),
                "E": np.isfinite(ev[sel]).astype(int),
                "x": L[flag].to_numpy()[sel].astype(int),
                "reg": L["regimen"].to_numpy()[sel],
                **({c: v[sel] for c, v in frailty.items()} if name == "corticosteroid" else {}),
            }
        )
        out[name] = float(CoxPHFitter().fit(f, "T", "E", strata=["reg"]).summary.loc["x", "exp(coef)"])
    return out


def synthetic_inputs(patients: int, seed: int, simulate_block: dict | None = None, study: dict | None = None):
    """(gold lines, persons, exposures, settings, truth-implied rwTTNT HRs) of a simulated cohort,
    person_id = ODH patient id."""
    s = sim_settings({"patients": patients, **(simulate_block or {})}, study or {})
    r = simulate(s, seed)
    P = r["_persons"]
    death = r["_death"]
    end = to_days(s.end_date)
    pat = ~P["is_decoy"].to_numpy()
    d = np.where(death <= end, death, -1)

    def day(x):
        x = np.asarray(x, np.int64)
        return pd.to_datetime(np.where(x >= 0, EPOCH + x.astype("timedelta64[D]"), np.datetime64("NaT")))

    persons = pd.DataFrame(
        {
            "person_id": P["odh_patient_id"].to_numpy(),
            "sex": np.where(P["sex"].to_numpy() == 1, "M", "F"),
            "birth_year": P["birth_year"].to_numpy().astype(np.int16),
            "birth_month": P["birth_month"].to_numpy().astype(np.int16),
            "death_date": day(d),
            "diagnosis_date": day(P["diag"].to_numpy()),
            "histology": np.array(HISTOLOGY)[P["histology"].to_numpy()],
            "pdl1": PDL1[P["pdl1"].to_numpy()],
            "end_of_followup": day(np.where(d >= 0, d, end)),
            # the true ECOG (simulate.confounding; null when disabled), to adjust for it
            "ecog": pd.Series(P["ecog"].to_numpy(), dtype="Int16").where(P["ecog"].to_numpy() >= 0).array
            if "ecog" in P
            else pd.array([pd.NA] * len(P), dtype="Int16"),
        }
    )[pat].reset_index(drop=True)
    ben2odh = dict(zip(P["ben_idt_ano"].to_numpy()[pat], P["odh_patient_id"].to_numpy()[pat], strict=True))
    disp = r["concomitant"][1].to_pandas()
    exposures = pd.DataFrame(
        {
            "person_id": disp["ben_idt_ano"].map(ben2odh),
            "date": pd.to_datetime(disp["date"]),
            "end_date": pd.to_datetime(disp["end_date"]),
            "drug_class": disp["drug_class"],
        }
    )
    exposures = exposures[exposures["person_id"].notna()]
    gold = r["gold"].to_pandas()
    return gold, persons, exposures, s, truth_implied_hr(r, end)


def recovery(patients: int = 20000, seed: int = 1, splits=("train", "test"), block=None, simulate_block=None):
    """Gold-line estimates next to the simulated (configured) HR (`inside`: in the CI) and the
    HR the truth implies on rwTTNT (`truth_rwTTNT_hr`, `inside_truth`: in the CI, rwTTNT rows).
    With `simulate.confounding` on (the default), corticosteroids are given more often to persons of poor
    ECOG, so their crude HR is confounded by indication: the models are then also adjusted for the
    persons' true ECOG (the `ecog` covariate; the simulated HRs are conditional on it), unless `block`
    sets the covariates."""
    gold, persons, exposures, s, implied = synthetic_inputs(patients, seed, simulate_block)
    gold = gold[gold["split"].isin(list(splits))]
    # the simulator's exposures are defined on its windows: the "window" design is the one to check
    conc = {"design": "window", "sensitivity": False}
    if s.confounding.enabled:
        conc["covariates"] = [*default_config()["concomitant"]["covariates"], "ecog"]
    cfg = default_config(concomitant={**conc, **dict(block or {})})
    settings = ConcomitantSettings.from_config(cfg["concomitant"])
    effectiveness = EffectivenessSettings.from_config(cfg["effectiveness"])
    _, res = analyse([(GOLD, GOLD, gold)], persons, exposures, settings, effectiveness, study_end_date=s.end_date)
    c = s.concomitant
    res["simulated_hr"] = res["exposure"].map(
        {"ppi": c.hr_ppi_egfr_tki, "antibiotic": c.hr_abx_io, "corticosteroid": c.hr_corticosteroid}
    )
    lo = [k for k in res.columns if k.startswith("lower_")][0]
    hi = [k for k in res.columns if k.startswith("upper_")][0]
    res["inside"] = (res[lo] <= res["simulated_hr"]) & (res["simulated_hr"] <= res[hi])
    res["truth_rwTTNT_hr"] = res["exposure"].map(implied).where(res["endpoint"] == "rwTTNT")
    res["inside_truth"] = (res[lo] <= res["truth_rwTTNT_hr"]) & (res["truth_rwTTNT_hr"] <= res[hi])
    res.insert(0, "seed", seed)
    return res
