"""Confounding by indication the generator knows: ECOG performance status and a Charlson comorbidity
index that drive both the regimen choice (de-escalation) and the time to next treatment or death.

Per person (own random stream, so the other draws of the generator are unchanged): ECOG at diagnosis
(0-3, `ecog_probs`), a Charlson comorbidity index (Poisson, `charlson_mean`, capped at 8) and whether
the centre recorded the ECOG (`ecog_recorded`). Per line, a frail person is de-escalated with
probability logistic(logit(`deescalation`) + log(`or_ecog`) x ECOG + log(`or_charlson`) x Charlson):
cisplatin -> carboplatin, carboplatin doublet -> single agent, chemotherapy-immunotherapy ->
immunotherapy alone (`DEESCALATE`). The time to next treatment or death of every line gets the hazard
ratio `hr_ecog` ** ECOG x `hr_charlson` ** Charlson, and first-line carboplatin-pemetrexed the hazard
ratio `carboplatin_hr` against cisplatin-pemetrexed (their baseline times are made identical), by a
centred quantile mapping (`centred_factor`): exact proportional hazards within a regimen group, and the
line's population-average survival unchanged, so the calibration targets hold with the block on.
The comparison `COMPARISON` therefore has a known true (conditional) hazard ratio, `carboplatin_hr`,
and a confounded crude one. `confounded_cohort` draws the same model for one first line per person,
without the rest of the generator (the test of the adjusted analyses). Corticosteroids at a line start
(simulate.concomitant) are given more often to frail persons (`corticosteroid_or_ecog`), a prognosis-
dependent exposure. docs/simulate.md, "Confounding".
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from lotluca.config import Settings
from lotluca.simulate import regimens as R

CHARLSON_MAX = 8
DAYS_PER_MONTH = 30.4375
DEESCALATE = {
    "cis_pem": "carbo_pem",
    "cis_gem": "carbo_gem",
    "cis_vino": "vino_oral",
    "carbo_pem": "pem",
    "carbo_gem": "gem",
    "carbo_pem_pembro": "pembro",
    "cis_pem_pembro": "pembro",
    "carbo_pacli_pembro": "pembro",
}
# the comparison with a known truth: first-line carboplatin-pemetrexed (treatment) vs cisplatin-pemetrexed
COMPARISON = {
    "name": "first_line_carboplatin_vs_cisplatin_pemetrexed",
    "treatment": ("carbo_pem",),
    "reference": ("cis_pem",),
}


@dataclass(frozen=True)
class ConfoundingSettings(Settings):
    """`simulate.confounding` (defaults and meaning in the config schema; docs/simulate.md)."""

    enabled: bool
    ecog_probs: tuple[float, ...]
    charlson_mean: float
    ecog_recorded: float
    deescalation: float
    or_ecog: float
    or_charlson: float
    hr_ecog: float
    hr_charlson: float
    carboplatin_hr: float
    corticosteroid_or_ecog: float


def draw_frailty(rng: np.random.Generator, n: int, s: ConfoundingSettings) -> dict[str, np.ndarray]:
    """ecog (0-3), charlson (0-CHARLSON_MAX) and ecog_recorded per person; -1 / False when disabled."""
    if not s.enabled:
        return {
            "ecog": np.full(n, -1, np.int8),
            "charlson": np.full(n, -1, np.int8),
            "ecog_recorded": np.zeros(n, bool),
        }
    p = np.asarray(s.ecog_probs, float)
    ecog = rng.choice(p.size, size=n, p=p / p.sum()).astype(np.int8)
    charlson = np.minimum(rng.poisson(s.charlson_mean, n), CHARLSON_MAX).astype(np.int8)
    recorded = rng.random(n) < s.ecog_recorded
    return {"ecog": ecog, "charlson": charlson, "ecog_recorded": recorded}


def deescalation_probability(ecog, charlson, s: ConfoundingSettings) -> np.ndarray:
    """Probability that a line's regimen is de-escalated, by ECOG and Charlson (logistic)."""
    base = np.log(s.deescalation / (1 - s.deescalation))
    lp = base + np.log(s.or_ecog) * np.asarray(ecog, float) + np.log(s.or_charlson) * np.asarray(charlson, float)
    return 1.0 / (1.0 + np.exp(-lp))


def frailty_hr(ecog, charlson, s: ConfoundingSettings) -> np.ndarray:
    """Hazard ratio of the time to next treatment or death of a person's lines."""
    return s.hr_ecog ** np.asarray(ecog, float) * s.hr_charlson ** np.asarray(charlson, float)


_MAP = np.arange(R.N_REGIMENS, dtype=np.int16)
for _a, _b in DEESCALATE.items():
    _MAP[R.INDEX[_a]] = R.INDEX[_b]
_TREAT = np.isin(np.arange(R.N_REGIMENS), [R.INDEX[k] for k in COMPARISON["treatment"]])
_REF = R.INDEX[COMPARISON["reference"][0]]


class LineConfounding:
    """The hooks of `treatment.draw_lines` (own random stream; no-ops when disabled)."""

    def __init__(self, rng: np.random.Generator, s: ConfoundingSettings, ecog, charlson):
        self.s, self.rng = s, rng.spawn(1)[0]
        self.ecog, self.charlson = np.asarray(ecog), np.asarray(charlson)

    def regimen(self, reg: np.ndarray, idx: np.ndarray) -> np.ndarray:
        """Regimens of persons idx after de-escalation of the frail ones."""
        if not self.s.enabled:
            return reg
        p = deescalation_probability(self.ecog[idx], self.charlson[idx], self.s)
        down = self.rng.random(idx.size) < p
        return np.where(down, _MAP[reg], reg).astype(np.int16)

    def corticosteroids(self, expo: dict, idx: np.ndarray, conc) -> dict:
        """Corticosteroids at the line start more often in frail persons: with the concomitant block on,
        redrawn with odds logit(`corticosteroid_line`) + log(`corticosteroid_or_ecog`) x ECOG (their
        hazard ratio, `hr_corticosteroid`, moved with them)."""
        if not self.s.enabled or not conc.enabled or self.s.corticosteroid_or_ecog == 1.0:
            return expo
        p0 = np.clip(conc.corticosteroid_line, 1e-9, 1 - 1e-9)
        lp = np.log(p0 / (1 - p0)) + np.log(self.s.corticosteroid_or_ecog) * self.ecog[idx].astype(float)
        cs = self.rng.random(idx.size) < 1.0 / (1.0 + np.exp(-lp))
        old = np.where(expo["corticosteroid_exposed"], conc.hr_corticosteroid, 1.0)
        hr = expo["conc_hr"] / old * np.where(cs, conc.hr_corticosteroid, 1.0)
        return {**expo, "corticosteroid_exposed": cs, "conc_hr": hr}

    def median(self, k: int, reg: np.ndarray, med: np.ndarray, ttp1: np.ndarray) -> np.ndarray:
        """First-line comparison arms get the reference arm's baseline median (the truth is then the HR)."""
        if not self.s.enabled or k != 1:
            return med
        return np.where(_TREAT[reg], ttp1[_REF] * (med / np.maximum(ttp1[reg], 1e-9)), med)

    def factor(self, k: int, reg: np.ndarray, idx: np.ndarray, t0: np.ndarray) -> np.ndarray:
        """Time-scale factor putting the frailty (and, first line, the carboplatin) hazard ratio on rwTTNT;
        lines are mapped within their regimen (the two comparison arms share one group)."""
        if not self.s.enabled:
            return np.ones(t0.size)
        hr = frailty_hr(self.ecog[idx], self.charlson[idx], self.s)
        group = reg.astype(np.int32)
        if k == 1:
            hr = hr * np.where(_TREAT[reg], self.s.carboplatin_hr, 1.0)
            group = np.where(_TREAT[reg], _REF, group)
        return centred_factor(self.rng, t0, hr, group)


def centred_factor(rng: np.random.Generator, t0, hr, group) -> np.ndarray:
    """Time-scale factor per line putting the hazard ratios `hr` on its time to next treatment or death
    with the population-average survival unchanged (the frailty model's normalisation of the quantile
    mapping of `concomitant.rwttnt_factor`).

    S_0 is the empirical survival of the baseline times `t0` of a `group` (a regimen; the two arms of the
    known-truth comparison share one) and L(s) the mean over the group's lines of s ** hr_j (the hazard
    ratios' Laplace-type transform). A line with U = S_0(T0) (uniform, randomised over tied days) is moved
    to t = S_0^-1(L(U ** (1 / hr))): then P(T > x) = S_b(x) ** hr with S_b = L^-1(S_0), exact
    proportional hazards between any two lines of a group, and the group's average survival is L(S_b) =
    S_0, its baseline (each regimen keeps its calibrated survival, whoever receives it; within a group
    the frail do worse and the fit better). Every line moves (hr == 1 lines too, to S_b)."""
    t0 = np.asarray(t0, float)
    hr = np.broadcast_to(np.asarray(hr, float), t0.shape)
    group = np.asarray(group)
    f = np.ones(t0.size)
    if t0.size == 0:
        return f
    for g in np.unique(group):  # a handful of regimens, vectorised inside
        ing = np.flatnonzero(group == g)
        values, counts = np.unique(hr[ing], return_counts=True)
        weight = counts / counts.sum()
        x = np.sort(t0[ing])
        n = x.size
        gt = n - np.searchsorted(x, t0[ing], side="right")  # lines with t0 > this one
        ge = n - np.searchsorted(x, t0[ing], side="left")  # lines with t0 >= this one
        u = np.clip((gt + rng.random(ing.size) * (ge - gt)) / n, 0.0, 1.0)  # S_0(T0), randomised over ties
        s = u ** (1.0 / hr[ing])
        target = (s[:, None] ** values[None, :]) @ weight  # L(U ** (1 / hr))
        f[ing] = np.quantile(x, 1.0 - np.clip(target, 0.0, 1.0)) / np.maximum(t0[ing], 1e-9)
    return f


def confounded_cohort(rng: np.random.Generator, n: int, s: ConfoundingSettings, median_months: float = 6.0):
    """One first line per person under this module's model, with a lognormal baseline time (sigma 0.8) to
    next treatment or death and uniform censoring over 0-36 months, in whole days: columns ecog, charlson, treatment
    (1 carboplatin, 0 cisplatin; the cisplatin draw of a frail person is de-escalated), months, event.
    The true conditional hazard ratio of treatment is `s.carboplatin_hr`."""
    fr = draw_frailty(rng, n, s)
    carbo = rng.random(n) < 0.5
    down = rng.random(n) < deescalation_probability(fr["ecog"], fr["charlson"], s)
    treatment = (carbo | down).astype(int)
    t0 = np.exp(np.log(median_months) + 0.8 * rng.standard_normal(n))
    hr = frailty_hr(fr["ecog"], fr["charlson"], s) * np.where(treatment == 1, s.carboplatin_hr, 1.0)
    t = t0 * centred_factor(rng, t0, hr, np.zeros(n, int))
    cens = rng.uniform(0, 36, n)
    days = np.maximum(1, np.rint(np.minimum(t, cens) * DAYS_PER_MONTH))  # whole days, as in the data
    return pd.DataFrame(
        {
            "ecog": fr["ecog"].astype(int),
            "charlson": fr["charlson"].astype(int),
            "treatment": treatment,
            "months": days / DAYS_PER_MONTH,
            "event": (t <= cens).astype(int),
        }
    )
