"""The clinical truth: treatment lines (regimen decided at diagnosis or at progression), their phases,
cycles and dispensations, progression, treatment stops and death, drawn for every person at once.

`draw_lines` walks line numbers 1..max_lines (a loop over lines, vectorised over persons); `draw_events`
turns the lines into one row per true administration (IV, per cycle day) or dispensation (oral, one box),
vectorised with repeat/cumsum over cycles; `finalise_lines` derives each line's actual start, end,
regimen and end reason from its events. Nothing here knows about sources: rendering comes later.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from lotluca import drugs
from lotluca.errors import LotlucaError
from lotluca.simulate import centre_styles, concomitant, confounding, situations
from lotluca.simulate import regimens as R
from lotluca.simulate.cohort import EPOCH, to_days
from lotluca.simulate.params import SimSettings

MONTH = 30.4375
NEVER = np.int32(2**30)
# settings of an event / line
CENTRE, PUBLIC, PRIVATE, PHARMACY = 0, 1, 2, 3
SETTING_NAMES = np.array(["centre", "other_public_hospital", "private_clinic", "community_pharmacy"])
REASONS = np.array(["progression", "death", "end_of_data", "planned_stop", "toxicity"])
PROG, DEATH, EOD, PLANNED, TOX = range(5)

ING_NAMES = np.array(sorted(set(drugs.drugs()["ingredient"])) + [drugs.TRIAL_DRUG])
ING = {name: i for i, name in enumerate(ING_NAMES)}
SLOT_ING, SLOT_ORAL, SLOT_PHASE, SLOT_DAY8 = R.slot_arrays(ING)
_pack = (
    drugs.drugs()
    .dropna(subset=["days_per_pack"])
    .drop_duplicates("ingredient")
    .set_index("ingredient")["days_per_pack"]
)
PACK_DAYS = np.array([int(_pack.get(n, 30)) for n in ING_NAMES], np.int32)
SIT = situations.Lookups(ING, SLOT_ING)  # static arrays of the situation hooks

# per-line probability of dying before progression while on treatment, by line number (1, 2, 3+), when no
# situation context is given (the generator uses situations.die_probability: by regimen and line)
DIE_ON_LINE = (0.15, 0.18, 0.22)
TTP_SIGMA = 1.1  # log-scale spread of time to progression around the regimen median
DURABLE_IO = 0.2  # share of immunotherapy lines with durable response (time to progression x 5)
BSC_MEDIAN_DAYS = 120  # median survival after the last progression without further line


def _year(days: np.ndarray) -> np.ndarray:
    return (EPOCH + days.astype("timedelta64[D]")).astype("datetime64[Y]").astype(int) + 1970


def _lognormal_days(rng, median_days, sigma, size):
    return np.exp(np.log(np.maximum(median_days, 1)) + sigma * rng.standard_normal(size))


def _scaled(days: np.ndarray, start: np.ndarray, factor: np.ndarray) -> np.ndarray:
    """Days `days` moved so that their delay from `start` is multiplied by `factor` (>= 1 day)."""
    return np.maximum(1, np.rint((days - start) * factor)).astype(np.int64) + start


def _has(reg_codes: np.ndarray, ingredient: str) -> np.ndarray:
    return (SLOT_ING[reg_codes] == ING[ingredient]).any(axis=1)


@dataclass(frozen=True)
class Candidates:
    """What the regimen choice of a line knows about each person starting it (arrays aligned on them): the
    line's start year, the tumour, the age, and the history of the previous lines."""

    year: np.ndarray
    hist: np.ndarray  # 0 non-squamous, 1 squamous, 2 NOS
    driver: np.ndarray  # cohort.DRIVERS index, -1 untested
    g12c: np.ndarray
    pdl1: np.ndarray  # PD-L1 class: 2 TPS >= 50%, 1 TPS 1-49%, 0 < 1%, -1 untested
    age: np.ndarray
    prev: np.ndarray  # regimen code of the previous line, -1 none
    io_seen: np.ndarray
    plat_seen: np.ndarray
    pem_seen: np.ndarray
    tki_seen: np.ndarray
    failed: np.ndarray | None = None  # ingredient bits of the lines stopped by progression or toxicity
    ex20: np.ndarray | None = None  # EGFR exon 20 insertion


class _Weights:
    """Regimen weights per person (n x N_REGIMENS), filled by rules on boolean masks of the persons."""

    def __init__(self, c: Candidates):
        n = c.year.size
        self.W = np.zeros((n, R.N_REGIMENS), np.float32)
        self.y = c.year
        self.sq = c.hist == 1
        self.nsq = ~self.sq
        self.old = c.age >= 75
        d = c.driver
        self.egfr, self.alk, self.ros1, self.braf, self.met = (d == 1), (d == 2), (d == 3), (d == 5), (d == 6)
        self.kras_c = (d == 4) & c.g12c
        self.hi = c.pdl1 == 2
        self.pos = c.pdl1 >= 1
        self.prev_is = {key: (c.prev == R.INDEX[key]) for key in R.INDEX}

    def w(self, mask, key, value):
        self.W[mask, R.INDEX[key]] += value

    def doublets(self, mask, scale=1.0):
        """Platinum doublets (and single agents for the elderly) by histology and era."""
        w, y, old = self.w, self.y, self.old
        m_ns, m_sq = mask & self.nsq, mask & self.sq
        w(m_ns, "cis_pem", 0.32 * scale * np.where(old[m_ns], 0.2, 1.0))
        w(m_ns, "carbo_pem", 0.38 * scale)
        w(m_ns & (y < 2019), "carbo_pem_bev", 0.08 * scale)
        w(m_ns & (y < 2019), "carbo_pacli_bev", 0.07 * scale)
        w(m_ns, "cis_vino", 0.05 * scale * np.where(old[m_ns], 0.2, 1.0))
        w(m_ns & old, "pem", 0.1 * scale)
        w(m_sq, "carbo_pacli", 0.40 * scale)
        w(m_sq, "cis_gem", 0.28 * scale * np.where(old[m_sq], 0.2, 1.0))
        w(m_sq, "carbo_gem", 0.22 * scale)
        w(m_sq, "cis_vino", 0.10 * scale * np.where(old[m_sq], 0.2, 1.0))
        w(m_sq & old, "gem", 0.1 * scale)


def _first_line_targeted(x: _Weights) -> np.ndarray:
    """First-line weights of driver-positive persons (EGFR, ALK, ROS1, BRAF); returns who was targeted."""
    w, y = x.w, x.y
    targ = np.zeros(y.size, bool)
    m = x.egfr & (y < 2018)
    w(m, "gefitinib", 0.45), w(m, "erlotinib", 0.3), w(m, "afatinib", 0.2)
    m = x.egfr & (y >= 2018)
    w(m, "osimertinib", 0.88), w(m, "gefitinib", 0.04), w(m, "afatinib", 0.04)
    w(m & (y >= 2024), "ami_carbo_pem", 0.1)
    targ |= x.egfr
    m = x.alk & (y < 2018)
    w(m, "crizotinib", 0.85), x.doublets(m, 0.15)
    m = x.alk & (y >= 2018)
    w(m, "alectinib", 0.75), w(m, "brigatinib", 0.1), w(m & (y >= 2022), "lorlatinib", 0.25)
    targ |= x.alk
    w(x.ros1, "crizotinib", 0.75), w(x.ros1 & (y >= 2021), "entrectinib", 0.25)
    targ |= x.ros1
    m = x.braf & (y >= 2018)
    w(m, "dabra_trame", 0.6)
    x.doublets(m, 0.4)
    targ |= m
    return targ


def _first_line(x: _Weights) -> None:
    """First-line weights: biomarker-driven, else by era (chemotherapy, then immunotherapy)."""
    w, y, hi, nsq, sq = x.w, x.y, x.hi, x.nsq, x.sq
    rest = ~_first_line_targeted(x)
    pre = rest & (y < 2017)
    x.doublets(pre)
    mid = rest & (y >= 2017) & (y < 2019)
    w(mid & hi, "pembro", 0.75), x.doublets(mid & hi, 0.25), x.doublets(mid & ~hi)
    io = rest & (y >= 2019)
    w(io & hi, "pembro", 0.5)
    w(io & hi & nsq, "carbo_pem_pembro", 0.3), w(io & hi & nsq, "cis_pem_pembro", 0.06)
    w(io & hi & sq, "carbo_pacli_pembro", 0.36)
    w(io & hi & (y >= 2021), "atezo", 0.04)
    x.doublets(io & hi, 0.1)
    w(io & ~hi & nsq, "carbo_pem_pembro", 0.62), w(io & ~hi & nsq, "cis_pem_pembro", 0.14)
    w(io & ~hi & sq, "carbo_pacli_pembro", 0.74)
    x.doublets(io & ~hi, 0.2)


def _later_line_targeted(rng, x: _Weights, c: Candidates, t790m: float) -> None:
    """Later-line weights after a targeted therapy (EGFR: T790M or chemotherapy; ALK and ROS1 sequences)."""
    w, y, p = x.w, x.y, x.prev_is
    first_gen = p["gefitinib"] | p["erlotinib"] | p["afatinib"]
    m = x.egfr & first_gen
    t790 = rng.random(y.size) < t790m  # T790M resistance mutation found at progression
    x.W[m & t790, :] = 0
    w(m & t790 & (y >= 2016), "osimertinib", 1.0)
    w(m & ~(t790 & (y >= 2016)), "carbo_pem", 0.6), w(m & ~(t790 & (y >= 2016)), "cis_pem", 0.4)
    m = x.egfr & ~first_gen & c.tki_seen & ~c.plat_seen
    w(m, "carbo_pem", 0.55), w(m, "cis_pem", 0.2)
    w(m & (y >= 2024), "ami_carbo_pem", 0.35), w(m & (y < 2019), "carbo_pem_bev", 0.1)
    m = x.alk & p["crizotinib"]
    w(m, "alectinib", 0.4), w(m, "brigatinib", 0.3)
    w(m & (y >= 2019), "lorlatinib", 0.3), x.doublets(m & (y < 2016), 0.6)
    m = x.alk & (p["alectinib"] | p["brigatinib"])
    w(m & (y >= 2019), "lorlatinib", 0.6), x.doublets(m, 0.4)
    m = x.alk & p["lorlatinib"]
    x.doublets(m)
    m = x.ros1 & (p["crizotinib"] | p["entrectinib"])
    x.doublets(m)


def _later_line(rng, k: int, x: _Weights, c: Candidates, t790m: float) -> None:
    """Weights of line k >= 2: targeted sequences, then targeted therapies after chemotherapy, then
    immunotherapy if IO-naive, else docetaxel-based and other single agents."""
    w, y, nsq, sq = x.w, x.y, x.nsq, x.sq
    _later_line_targeted(rng, x, c, t790m)
    targ = x.W.sum(axis=1) > 0
    # second-line targeted therapy for KRAS G12C, MET, BRAF after chemo(-IO)
    m = ~targ & x.kras_c & (y >= 2022)
    w(m, "sotorasib", 0.35)
    m = ~targ & x.met & (y >= 2022)
    w(m, "tepotinib", 0.3), w(m, "capmatinib", 0.2)
    m = ~targ & x.braf & (y >= 2018) & ~x.prev_is["dabra_trame"]
    w(m, "dabra_trame", 0.3)
    rest = ~targ
    # IO-naive: nivolumab from 2015, pembrolizumab (PD-L1 >= 1%) from 2017, atezolizumab from 2018
    naive = rest & ~c.io_seen & (y >= 2015)
    w(naive, "nivo", 0.45), w(naive & x.pos & (y >= 2017), "pembro", 0.2), w(naive & (y >= 2018), "atezo", 0.1)
    w(naive, "doce", 0.15), w(naive & ~c.plat_seen, "carbo_pem", 0.1)
    other = rest & ~naive
    w(other, "doce", 0.35), w(other & nsq & (y >= 2015), "doce_ninte", 0.1), w(other & (y >= 2016), "doce_ramu", 0.05)
    w(other & nsq & ~c.pem_seen, "pem", 0.2), w(other & nsq & c.pem_seen & (k == 2), "carbo_pem", 0.12)
    w(other & sq & (k == 2), "carbo_gem", 0.1), w(other, "gem", 0.06 + 0.04 * (k >= 3))
    w(other, "vino_oral", 0.06 + 0.06 * (k >= 3))
    w(other & ~c.plat_seen, "carbo_pacli", 0.1)


def choose_regimen(rng: np.random.Generator, k: int, c: Candidates, t790m: float, ctx=None) -> np.ndarray:
    """Regimen code per person for line k: weights by era, histology, biomarkers and history, then a draw
    (`t790m`: probability of a T790M mutation at progression on a 1st/2nd-generation EGFR TKI; `ctx`: the
    situations.Context adding the situations and excluding failed drugs; every regimen waits for its year
    of availability)."""
    x = _Weights(c)
    if k == 1:
        _first_line(x)
    else:
        _later_line(rng, k, x, c, t790m)
    W = x.W
    situations.adjust_weights(W, k, x, c, ctx)
    empty = W.sum(axis=1) <= 0
    W[empty, R.INDEX["doce"]] = 1.0
    cum = np.cumsum(W, axis=1)
    u = rng.random(c.year.size)[:, None] * cum[:, -1:]
    return (u >= cum).sum(axis=1).clip(max=R.N_REGIMENS - 1).astype(np.int16)


@dataclass
class _History:
    """Per person, what the previous lines left: the next line's start, whether one comes, the previous
    regimen and the drug families already given, and whether the last line stopped as planned."""

    start: np.ndarray
    active: np.ndarray
    prev: np.ndarray
    io_seen: np.ndarray
    plat_seen: np.ndarray
    pem_seen: np.ndarray
    tki_seen: np.ndarray
    planned_free: np.ndarray  # previous line stopped as planned, then progressed off treatment
    failed: np.ndarray | None = None  # ingredient bits of the lines stopped by progression or toxicity
    io_free: np.ndarray | None = None  # previous line: immunotherapy stopped at its cap, then progression

    @staticmethod
    def new(start: np.ndarray, treated: np.ndarray) -> _History:
        n = start.size
        z = np.zeros(n, bool)
        h = _History(start, treated.copy(), np.full(n, -1, np.int16), z.copy(), z.copy(), z.copy(), z.copy(), z)
        h.failed, h.io_free = np.zeros(n, np.uint64), z.copy()
        return h

    def advance(self, idx: np.ndarray, reg: np.ndarray, nxt: np.ndarray, cont: np.ndarray, f: _Families) -> None:
        """After line k of persons idx (regimens reg): the next line starts at nxt for those who continue."""
        self.prev[idx] = reg
        self.io_seen[idx] |= f.io[reg]
        self.plat_seen[idx] |= f.plat[reg]
        self.pem_seen[idx] |= f.pem[reg]
        self.tki_seen[idx] |= f.tki[reg]
        self.start[idx] = nxt
        self.active[:] = False
        self.active[idx[cont]] = True


@dataclass(frozen=True)
class _Families:
    """Per regimen code: whether it holds immunotherapy, a platinum, pemetrexed, an EGFR/ALK TKI, and
    whether it is oral only."""

    io: np.ndarray
    plat: np.ndarray
    pem: np.ndarray
    tki: np.ndarray
    oral_only: np.ndarray

    @staticmethod
    def of_regimens() -> _Families:
        io = (SLOT_ING == ING["pembrolizumab"]) | (SLOT_ING == ING["nivolumab"]) | (SLOT_ING == ING["atezolizumab"])
        classes = drugs.ingredient_class()
        tki = [classes.get(ING_NAMES[i], "") in ("egfr_tki", "alk_tki") for i in SLOT_ING[:, 0].clip(0)]
        return _Families(
            io=io.any(axis=1),
            plat=((SLOT_ING == ING["cisplatin"]) | (SLOT_ING == ING["carboplatin"])).any(axis=1),
            pem=(SLOT_ING == ING["pemetrexed"]).any(axis=1),
            tki=np.array(tki),
            oral_only=SLOT_ORAL[:, 0] & (SLOT_ING[:, 1] < 0),
        )


def _regimen_and_setting(rng, k: int, idx, yr, persons: dict, h: _History, s: SimSettings, ctx, conf=None):
    """Line k of persons idx: its regimen (a re-challenge after a planned stop repeats the previous one; an
    immunotherapy stopped at its cap may be given again), its setting (centre, public hospital, private
    clinic; the first line of a referred patient elsewhere) and a clinical trial at the centre."""
    t = s.traps
    m = idx.size
    tumour = (persons[col][idx] for col in ("histology", "driver", "kras_g12c", "pdl1", "age"))
    c = Candidates(yr, *tumour, *(a[idx] for a in (h.prev, h.io_seen, h.plat_seen, h.pem_seen, h.tki_seen)))
    c = Candidates(**{**c.__dict__, "failed": h.failed[idx], "ex20": ctx.ex20[idx]})
    reg = choose_regimen(rng, k, c, t.t790m, ctx)
    reg = reg if conf is None else conf.regimen(reg, idx)  # confounding by indication (frail: de-escalated)
    # re-challenge: after a planned stop and progression off treatment, the same regimen again
    rech = h.planned_free[idx] & (h.prev[idx] >= 0) & (rng.random(m) < t.rechallenge)
    rech &= situations.rechallenge_allowed(h.prev[idx])  # platinum-based induction only (documented)
    reg = np.where(rech, h.prev[idx], reg).astype(np.int16)
    io_re, io_reg = situations.io_rechallenge(ctx, idx, h.prev, h.io_free, SLOT_ING, ING)
    reg = np.where(io_re & ~rech, io_reg, reg).astype(np.int16)
    # setting of the line (IV care; oral drugs are always dispensed by community pharmacies)
    u = rng.random(m)
    is_dec = persons["is_decoy"][idx]
    elsewhere = np.where(is_dec, u >= s.noise.decoy_at_centre, u < t.line_elsewhere)
    referred = ctx.referred[idx] & (k == 1)  # referred to the centre after a first line given elsewhere
    elsewhere |= referred
    away = np.where(rng.random(m) < t.private_clinic_share, PRIVATE, PUBLIC)
    setting = np.where(elsewhere, away, CENTRE).astype(np.int8)
    trial = (setting == CENTRE) & ~is_dec & (rng.random(m) < t.clinical_trial)
    trial &= (h.failed[idx] & SIT.reg_bits[R.INDEX["trial"]]) == 0  # no second trial after a failed one
    reg = np.where(trial, R.INDEX["trial"], reg).astype(np.int16)
    sit = np.where(io_re & ~rech & ~trial, "io_rechallenge", np.where(referred, "referred", ""))
    return reg, rech | (io_re & ~trial), setting, sit.astype(object)


def _line_outcome(rng, k: int, st, reg, f: _Families, conc, t, ctx=None, conf=None) -> dict:
    """Baseline (unexposed) timeline of line k: time to progression (durable IO responders), death on the
    line (early death in first line), toxicity stop, and which of them stops the line."""
    m = st.size
    ttp1, ttp2 = R.attr("ttp1"), R.attr("ttp2")
    med = np.where(k == 1, ttp1[reg], ttp2[reg] * 0.92 ** max(0, k - 2)) * MONTH
    med = med if conf is None else conf.median(k, reg, med, ttp1)
    # immunotherapy: a share of durable responders (the long plateau of IO survival curves)
    durable = f.io[reg] & (rng.random(m) < DURABLE_IO)
    med = np.where(durable, med * 5, med)
    expo = conc.draw(reg)
    # baseline (unexposed) times; the concomitant effect is applied later, on rwTTNT, once the
    # post-progression delay is drawn (hr = 1 here: the plain lognormal draw)
    ttp = concomitant.ttp_days(rng, med, TTP_SIGMA, 1.0, durable, np.where(f.io[reg], DURABLE_IO, 0))
    ttp = np.clip(ttp, 21, 365 * 12).astype(np.int64)
    prog = st + ttp
    die = rng.random(m) < situations.die_probability(ctx, k, reg, DIE_ON_LINE)
    dtime = st + np.maximum(8, (rng.uniform(0.15, 1.0, m) * ttp)).astype(np.int64)
    if k == 1:
        early = rng.random(m) < t.early_death
        dtime = np.where(early, st + rng.integers(10, 46, m), dtime)
        die |= early
    tox = rng.random(m) < t.toxicity_stop
    tox_t = st + np.maximum(22, rng.uniform(0.15, 0.7, m) * ttp).astype(np.int64)
    # which event stops the line, and death on the line, are decided on the baseline times (the
    # concomitant effect rescales the whole timeline of a line, so it keeps this order)
    use_tox = tox & (tox_t < prog)
    use_death = die & (dtime <= np.where(use_tox, tox_t, prog))
    reason = np.where(use_death, DEATH, np.where(use_tox, TOX, PROG)).astype(np.int8)
    return {
        "expo": expo,
        "prog": prog,
        "dtime": dtime,
        "tox_t": tox_t,
        "use_tox": use_tox,
        "use_death": use_death,
        "reason": reason,
        "died_on": die & (dtime <= prog),
    }


def _line_plan(rng, reg, yr, f: _Families, t, k: int = 1, ctx=None) -> dict:
    """Planned structure of a line: induction cycles and maintenance, cycle cap and length, same-line
    swaps, bevacizumab from cycle 2, a dropped drug, a treatment holiday, and the situations of
    `situations.plan_columns` (the columns of `lines`)."""
    m = reg.size
    induction, maint_kind = R.attr("induction"), R.attr("maintenance")
    io_cap, reg_cap, cyc_days = R.attr("io_cap"), R.attr("cap"), R.attr("cycle_days")
    n_ind = np.where(induction[reg], np.where(rng.random(m) < t.induction_cycles_6, 6, 4), 10_000).astype(np.int32)
    n_ind = situations.fixed_induction(reg, n_ind)
    optional = (maint_kind[reg] == "optional") & (rng.random(m) < t.continuation_maintenance)
    has_maint = (maint_kind[reg] == "always") | optional
    capped = np.where(io_cap[reg], t.io_max_cycles, np.where(reg_cap[reg] > 0, reg_cap[reg], 10_000))
    cap = np.where(induction[reg] & ~has_maint, n_ind, capped)
    cdays = cyc_days[reg].astype(np.int32)
    nivo = reg == R.INDEX["nivo"]
    cdays = np.where(nivo & (yr >= 2019) & (rng.random(m) < t.nivolumab_q4w), 28, cdays).astype(np.int32)
    swap_plat = _has(reg, "cisplatin") & (rng.random(m) < t.platinum_swap)
    swap_tax = _has(reg, "paclitaxel") & (rng.random(m) < t.taxane_swap)
    swap_cycle = rng.integers(1, 4, m).astype(np.int32)
    bev2 = (_has(reg, "bevacizumab") | _has(reg, "ramucirumab")) & (rng.random(m) < t.bevacizumab_cycle2)
    n_iv = ((SLOT_ING[reg] >= 0) & ~SLOT_ORAL[reg]).sum(axis=1)
    drop = (n_iv >= 2) & (rng.random(m) < t.toxicity_drop)
    drop_slot = np.where(drop, rng.integers(1, np.maximum(2, n_iv), m), -1).astype(np.int8)
    drop_slot = situations.dropped_slot(reg, drop_slot)
    drop_cycle = rng.integers(1, 4, m).astype(np.int32)
    holiday_ok = has_maint | f.io[reg] | f.oral_only[reg]
    holiday = holiday_ok & (rng.random(m) < t.treatment_holiday)
    hol_after = np.where(induction[reg], n_ind + rng.integers(2, 5, m), rng.integers(3, 7, m)).astype(np.int32)
    hol_after = np.where(holiday, hol_after, 10_000).astype(np.int32)
    hol_days = rng.integers(60, 121, m)
    hol_days = np.maximum(np.rint(hol_days * t.holiday_scale), 1).astype(np.int32)  # robustness grid knob
    extra, cap, cdays, sit = situations.plan_columns(ctx, reg, yr, k, SLOT_ING, SLOT_ORAL, cap, cdays)
    return {
        "n_ind": n_ind,
        "has_maint": has_maint,
        "cap": cap.astype(np.int32),
        "cycle_days": cdays,
        **extra,
        "situation": sit,
        "swap_plat": swap_plat,
        "swap_tax": swap_tax,
        "swap_cycle": swap_cycle,
        "bev_cycle2": bev2,
        "drop_slot": drop_slot,
        "drop_cycle": drop_cycle,
        "hol_after": hol_after,
        "hol_days": hol_days,
    }


def _after_progression(rng, k: int, st, out: dict, conc, s: SimSettings, conf=None, reg=None, idx=None) -> dict:
    """What follows the line: the next line (after a gap) or best supportive care until death; then the
    concomitant effect on rwTTNT scales the line's timeline (`concomitant.rwttnt_factor`). Updates `out`
    (prog, dtime, tox_t) and adds cont, nxt, bsc_death, fin and stop."""
    m = st.size
    prog, dtime, tox_t, died_on = out["prog"], out["dtime"], out["tox_t"], out["died_on"]
    alive_prog = ~died_on
    p_next = s.next_line[k - 1] if k - 1 < len(s.next_line) else 0.3
    cont = alive_prog & (rng.random(m) < p_next) & (k < s.max_lines)
    nxt = prog + np.clip(_lognormal_days(rng, 24, 0.6, m), 5, 150).astype(np.int64)
    bsc_death = prog + 7 + _lognormal_days(rng, BSC_MEDIAN_DAYS, 1.0, m).astype(np.int64)
    # the baseline time t0 (line start -> next line or death) is mapped to S_0^-1(S_0(t0) ** (1 / HR))
    # within the line type, and the line's timeline (progression, toxicity stop, death, next line) is
    # scaled by t / t0
    t0 = np.where(died_on, dtime, np.where(cont, nxt, bsc_death)) - st
    f = conc.rwttnt_factor(t0, out["expo"])
    f = f if conf is None else f * conf.factor(k, reg, idx, t0)  # ECOG / Charlson (and carboplatin) effect
    if (f != 1.0).any():
        prog, dtime, tox_t = (_scaled(x, st, f) for x in (prog, dtime, tox_t))
        nxt = np.maximum(_scaled(nxt, st, f), prog + 1)
        bsc_death = np.maximum(_scaled(bsc_death, st, f), prog + 1)
    stop = np.where(out["use_death"], dtime, np.where(out["use_tox"], tox_t, prog))
    out.update(prog=prog, dtime=dtime, tox_t=tox_t, cont=cont, nxt=nxt, bsc_death=bsc_death, stop=stop)
    out["fin"] = alive_prog & ~cont
    return out


def _draw_line(
    rng, k: int, idx, persons: dict, h: _History, f: _Families, conc, death, s: SimSettings, ctx, conf=None, styles=None
):
    """Line k of persons idx (one row per person) and, per person, its next line start and whether one
    comes; records deaths on the line or under best supportive care in `death`. `styles`: the centre
    practice styles (centre_styles; None: the simulate-block values for everyone)."""
    ctx = centre_styles.line_context(styles, ctx, idx)
    st = h.start[idx]
    yr = _year(st)
    reg, rech, setting, sit0 = _regimen_and_setting(rng, k, idx, yr, persons, h, s, ctx, conf)
    out = _line_outcome(rng, k, st, reg, f, conc, s.traps, ctx, conf)
    out["expo"] = out["expo"] if conf is None else conf.corticosteroids(out["expo"], idx, s.concomitant)
    plan = _line_plan(rng, reg, yr, f, centre_styles.line_traps(styles, s.traps, idx), k, ctx)
    plan["situation"] = np.where(sit0 != "", sit0, plan["situation"])
    out = _after_progression(rng, k, st, out, conc, s, conf, reg, idx)
    h.failed[idx] |= situations.failed_bits(ctx, reg, out["reason"], PROG, TOX)
    h.io_free[idx] = f.io[reg] & (out["reason"] == PROG) & (out["prog"] - st > plan["cap"] * plan["cycle_days"])
    died_on, fin = out["died_on"], out["fin"]
    death[idx[died_on]] = out["dtime"][died_on]
    death[idx[fin]] = out["bsc_death"][fin]
    h.planned_free[idx] = (plan["cap"] < 10_000) & ~R.attr("io_cap")[reg] & (out["reason"] == PROG)
    m = idx.size
    frame = pd.DataFrame(
        {
            "pid": idx.astype(np.int32),
            "line_number": np.full(m, k, np.int16),
            "regimen": reg,
            "setting": setting,
            "start": st,
            "prog": out["prog"],
            "stop": out["stop"],
            "reason": out["reason"],
            **plan,
            "rechallenge": rech,
            **out["expo"],
        }
    )
    return frame, reg, out["nxt"], out["cont"]


def draw_lines(
    rng: np.random.Generator, persons: pd.DataFrame, s: SimSettings, styles=None
) -> tuple[pd.DataFrame, np.ndarray]:
    """Lines of every person (one row per line, planned attributes) and the true death day of each person
    (NEVER when the person outlives the data by construction). Walks line numbers 1..max_lines, each
    line vectorised over the persons starting it. `styles`: the centre practice styles (centre_styles.draw)."""
    n = len(persons)
    end = to_days(s.end_date)
    P = {c: persons[c].to_numpy() for c in ("histology", "driver", "kras_g12c", "pdl1", "age", "is_decoy")}
    diag = persons["diag"].to_numpy().astype(np.int64)
    death = np.full(n, NEVER, np.int64)

    treated = rng.random(n) < s.treated
    bsc = ~treated
    death[bsc] = diag[bsc] + 10 + _lognormal_days(rng, 100, 0.9, int(bsc.sum())).astype(np.int64)
    start = diag + np.clip(_lognormal_days(rng, 24, 0.6, n), 3, 120).astype(np.int64)
    h = _History.new(start, treated)
    fam = _Families.of_regimens()  # (used by the line-0 history of situations.consolidation_lines too)
    conc = concomitant.LineExposure(rng, s, SLOT_ING, ING)  # concomitant drugs and their effect (own stream)
    conf = None
    if s.confounding.enabled:  # ECOG / Charlson drive regimen choice and survival (own stream)
        conf = confounding.LineConfounding(
            rng, s.confounding, persons["ecog"].to_numpy(), persons["charlson"].to_numpy()
        )
    ctx = situations.Context(rng, s.situations, P, SIT)  # the situations (own stream)
    frames = []
    zero = {k: np.zeros(0, v.dtype) for k, v in conc.draw(np.zeros(0, np.int16)).items()}  # no draw
    line0 = situations.consolidation_lines(
        ctx,
        diag,
        lambda reg, yr: _line_plan(ctx.rng, reg, yr, fam, s.traps),
        lambda m: {k: (np.ones(m) if k == "conc_hr" else np.zeros(m, v.dtype)) for k, v in zero.items()},
    )
    if line0 is not None:  # stage III history before the advanced disease (line 0)
        frames.append(pd.DataFrame(line0))
    for k in range(1, s.max_lines + 1):
        idx = np.flatnonzero(h.active & (h.start <= end))
        if idx.size == 0:
            break
        frame, reg, nxt, cont = _draw_line(rng, k, idx, P, h, fam, conc, death, s, ctx, conf, styles)
        frames.append(frame)
        h.advance(idx, reg, nxt, cont, fam)
    if not frames:
        raise LotlucaError(
            "simulate: no treatment line was drawn (nobody treated before the end of the data); "
            "increase simulate.patients or simulate.treated"
        )
    lines = pd.concat(frames, ignore_index=True)
    lines = lines.sort_values(["pid", "line_number"], kind="stable").reset_index(drop=True)
    lines["line_id"] = np.arange(len(lines), dtype=np.int64)
    return lines, death


def _weekday(days: np.ndarray, sunday_only: bool) -> np.ndarray:
    """Move Sundays (and Saturdays unless sunday_only) to the next Monday. 1970-01-01 was a Thursday."""
    wd = (days + 3) % 7  # Monday 0 .. Sunday 6
    shift = np.where(wd == 6, 1, np.where((wd == 5) & (not sunday_only), 2, 0))
    return days + shift


def _group_arange(counts: np.ndarray) -> np.ndarray:
    """0..count-1 for each group, concatenated."""
    total = int(counts.sum())
    offs = np.repeat(np.cumsum(counts) - counts, counts)
    return np.arange(total, dtype=np.int64) - offs


def _group_cumsum(values: np.ndarray, counts: np.ndarray) -> np.ndarray:
    cs = np.cumsum(values)
    starts = np.cumsum(counts) - counts
    base = np.repeat(cs[starts] - values[starts], counts)
    return cs - base


def _iv_cycles(rng, L: dict, limit, t) -> dict:
    """Cycle dates of every line with IV drugs (per cycle row: line, cycle index, date, setting, phase):
    cycles every cycle_days, delayed, skipped, paused for a holiday, moved off weekends, cut at the line's
    stop; a centre line may have single cycles given elsewhere."""
    reg = L["regimen"]
    has_iv = ((SLOT_ING[reg] >= 0) & ~SLOT_ORAL[reg]).any(axis=1)
    li = np.flatnonzero(has_iv)
    span = np.maximum(limit[li] - L["start"][li], 1)
    n_max = np.minimum(L["cap"][li], span // L["cycle_days"][li] + 1).astype(np.int64)
    rep = np.repeat(li, n_max)
    c = _group_arange(n_max).astype(np.int32)
    cd = L["cycle_days"][rep]
    u = rng.random(rep.size)
    weeks = rng.choice([1, 2, 3], size=rep.size, p=[0.65, 0.25, 0.10])
    dscale = centre_styles.at(t.delay_scale, rep)  # delay_scale: robustness grid; per line with centre styles
    delay = np.where(u < centre_styles.at(t.dose_delay, rep), np.rint(7 * weeks * dscale).astype(np.int64), 0)
    skip = (rng.random(rep.size) < t.skipped_cycle) * cd
    interval = (cd + delay + skip + np.where(c == L["hol_after"][rep], L["hol_days"][rep], 0)).astype(np.int64)
    interval[c == 0] = 0
    date = L["start"][rep] + _group_cumsum(interval, n_max)
    date = _weekday(date, sunday_only=False)  # day hospitals are closed at weekends
    keep = date < limit[rep]
    keep[c == 0] = True  # the first administration defines the line start
    rep, c, date = rep[keep], c[keep], date[keep]
    # cycle setting: a centre line may have single cycles given elsewhere
    lset = L["setting"][rep]
    away = (lset == CENTRE) & (c > 0) & (rng.random(rep.size) < t.cycle_elsewhere)
    away_kind = np.where(rng.random(rep.size) < t.private_clinic_share, PRIVATE, PUBLIC)
    maint = (L["has_maint"][rep]) & (c >= L["n_ind"][rep])
    return {
        "rep": rep,
        "c": c,
        "date": date,
        "cset": np.where(away, away_kind, lset).astype(np.int8),
        "maint": maint,
        "phase_cycle": np.where(maint, c - L["n_ind"][rep] + 1, c + 1).astype(np.int16),
    }


def _iv_slot(L: dict, cy: dict, j: int, limit) -> list[pd.DataFrame]:
    """Administrations of drug slot j of every cycle (its phase, drops, bevacizumab from cycle 2, same-line
    swaps), with the day-8 doses of the slots that have one."""
    rep, c, maint, date = cy["rep"], cy["c"], cy["maint"], cy["date"]
    r = L["regimen"][rep]
    ing = SLOT_ING[r, j].astype(np.int16)
    ph = SLOT_PHASE[r, j]
    ok = (ing >= 0) & ~SLOT_ORAL[r, j]
    ok &= np.where(ph == 0, ~maint, np.where(ph == 1, maint, True))
    ok &= ~((L["drop_slot"][rep] == j) & (c >= L["drop_cycle"][rep]))
    is_bev = (ing == ING["bevacizumab"]) | (ing == ING["ramucirumab"])
    ok &= ~(is_bev & L["bev_cycle2"][rep] & (c == 0))
    ing, ok, tox_sw = situations.administered(SIT, L, rep, c, r, j, ing, ok, np.zeros(rep.size, bool))
    sp = (ing == ING["cisplatin"]) & L["swap_plat"][rep] & (c >= L["swap_cycle"][rep])
    ing = np.where(sp, ING["carboplatin"], ing)
    sx = (ing == ING["paclitaxel"]) & L["swap_tax"][rep] & (c >= L["swap_cycle"][rep])
    ing = np.where(sx, ING["nab-paclitaxel"], ing)
    swapped = sp | sx | tox_sw
    sel = np.flatnonzero(ok)
    day8 = SLOT_DAY8[r[sel], j]
    parts = []
    for offset, pick in ((0, sel), (7, sel[day8])):
        d = date[pick] + offset
        if offset:
            good = d < limit[rep[pick]]
            pick, d = pick[good], d[good]
        parts.append(
            pd.DataFrame(
                {
                    "line_id": rep[pick],
                    "date": d,
                    "end_date": d,
                    "ing": ing[pick],
                    "oral": False,
                    "setting": cy["cset"][pick],
                    "cycle": c[pick] + 1,
                    "phase_cycle": cy["phase_cycle"][pick],
                    "is_maint": maint[pick],
                    "swapped": swapped[pick],
                    "day": np.full(pick.size, offset, np.int8),
                    "boxes": np.ones(pick.size, np.int8),
                }
            )
        )
    return parts


def _oral_slot(rng, L: dict, j: int, limit, t) -> pd.DataFrame | None:
    """Dispensations of oral drug slot j: one box (or two) at a time, the next when the supply runs out
    (+- jitter, gaps, holidays), never on Sundays; None when no line has an oral drug in that slot."""
    reg = L["regimen"]
    lj = np.flatnonzero(SLOT_ORAL[reg, j] & (SLOT_ING[reg, j] >= 0))
    if lj.size == 0:
        return None
    ing = SLOT_ING[reg[lj], j].astype(np.int16)
    pack = PACK_DAYS[ing]
    span = np.maximum(limit[lj] - L["start"][lj], 1)
    n_max = (span // np.maximum(pack - 4, 7) + 2).astype(np.int64)
    rep = np.repeat(np.arange(lj.size), n_max)
    k = _group_arange(n_max)
    pk = pack[rep]
    boxes = np.where(rng.random(rep.size) < t.two_boxes, 2, 1).astype(np.int8)
    supply = (pk * boxes).astype(np.int64)
    jitter = rng.integers(-3, 5, rep.size)
    gap = np.where(rng.random(rep.size) < t.tki_gap, rng.integers(14, 43, rep.size), 0)
    hol = np.where(k == L["hol_after"][lj][rep], L["hol_days"][lj][rep], 0)
    # the next dispensation comes when the previous supply runs out (+- jitter, gaps, holidays)
    interval = (np.roll(supply, 1) + jitter + gap + hol).astype(np.int64)
    interval[k == 0] = 0
    date = _weekday(L["start"][lj][rep] + _group_cumsum(interval, n_max), sunday_only=True)  # pharmacies
    keep = (date < limit[lj][rep]) | (k == 0)
    rep, k, date, supply, boxes = rep[keep], k[keep], date[keep], supply[keep], boxes[keep]
    return pd.DataFrame(
        {
            "line_id": lj[rep],
            "date": date,
            "end_date": date + supply - 1,
            "ing": ing[rep],
            "oral": True,
            "setting": np.full(rep.size, PHARMACY, np.int8),
            "cycle": np.zeros(rep.size, np.int32),
            "phase_cycle": (k + 1).astype(np.int16),
            "is_maint": np.zeros(rep.size, bool),
            "swapped": np.zeros(rep.size, bool),
            "day": np.zeros(rep.size, np.int8),
            "boxes": boxes,
        }
    )


def draw_events(
    rng: np.random.Generator,
    lines: pd.DataFrame,
    persons: pd.DataFrame,
    death: np.ndarray,
    s: SimSettings,
    styles=None,
) -> pd.DataFrame:
    """One row per true administration (IV cycle day) or dispensation (oral box) of every line; adds each
    line's n_given (cycles given) and last_cycle_date to `lines`. `styles`: the centre practice styles."""
    end = to_days(s.end_date)
    L = {c: lines[c].to_numpy() for c in lines.columns}
    t = centre_styles.line_traps(styles, s.traps, L["pid"])  # per line: its person's centre style
    stop = np.minimum(L["stop"], death[L["pid"]])
    limit = np.minimum(stop, end + 1)  # administrations strictly before the stop and within the data
    cy = _iv_cycles(rng, L, limit, t)
    n_given = np.bincount(cy["rep"], minlength=len(lines))
    last_cycle_date = np.full(len(lines), -1, np.int64)
    np.maximum.at(last_cycle_date, cy["rep"], cy["date"])
    parts = [p for j in range(R.MAX_SLOTS) for p in _iv_slot(L, cy, j, limit)]
    parts += [p for j in range(R.MAX_SLOTS) if (p := _oral_slot(rng, L, j, limit, t)) is not None]
    ev = pd.concat(parts, ignore_index=True)
    ev["pid"] = L["pid"][ev["line_id"].to_numpy()]
    ev["line_number"] = L["line_number"][ev["line_id"].to_numpy()]
    ev["line_setting"] = L["setting"][ev["line_id"].to_numpy()]  # where the line was decided (prescriber)
    ev = ev[ev["date"].to_numpy() <= end]
    ev = ev.sort_values(["pid", "date", "line_id", "ing", "day"], kind="stable").reset_index(drop=True)
    ev["event_id"] = np.arange(len(ev), dtype=np.int64)
    first = np.zeros(len(ev), bool)
    first[np.unique(ev["line_id"].to_numpy(), return_index=True)[1]] = True
    ev["first_of_line"] = first  # never hidden by missing-record noise: every line stays observable
    for col in ("date", "end_date"):
        ev[col] = ev[col].astype(np.int32)
    lines["n_given"] = n_given.astype(np.int32)
    lines["last_cycle_date"] = last_cycle_date
    return ev


def finalise_lines(lines: pd.DataFrame, events: pd.DataFrame, death: np.ndarray, s: SimSettings) -> pd.DataFrame:
    """Actual start (first exposure), end (last exposure end), end reason and regimen of each line, and
    of its maintenance phase (ma_start, ma_end, ma_regimen; -1 / "" without maintenance)."""
    end = to_days(s.end_date)
    n = len(lines)
    lid = events["line_id"].to_numpy()
    d0 = events["date"].to_numpy().astype(np.int64)
    d1 = events["end_date"].to_numpy().astype(np.int64)
    first = np.full(n, NEVER, np.int64)
    last = np.full(n, -1, np.int64)
    np.minimum.at(first, lid, d0)
    np.maximum.at(last, lid, d1)
    maint = events["is_maint"].to_numpy()
    ma_first = np.full(n, NEVER, np.int64)
    ma_last = np.full(n, -1, np.int64)
    np.minimum.at(ma_first, lid[maint], d0[maint])
    np.maximum.at(ma_last, lid[maint], d1[maint])
    ing = events["ing"].to_numpy().astype(np.uint64)
    bit = np.left_shift(np.uint64(1), ing)
    base = ~maint & ~events["swapped"].to_numpy()
    mask = np.zeros(n, np.uint64)
    np.bitwise_or.at(mask, lid[base], bit[base])
    ma_mask = np.zeros(n, np.uint64)
    np.bitwise_or.at(ma_mask, lid[maint], bit[maint])
    lines = lines.copy()
    # an oral line ends when the drug is stopped (progression, death, toxicity), even if the last box
    # would have lasted longer
    stop_day = np.minimum(lines["stop"].to_numpy(), death[lines["pid"].to_numpy()]) - 1
    last = np.maximum(np.minimum(last, stop_day), first.clip(max=NEVER - 1) * (first < NEVER))
    ma_last = np.where(ma_last >= 0, np.maximum(np.minimum(ma_last, stop_day), ma_first.clip(max=NEVER - 1)), ma_last)
    lines["first"] = first
    lines["last"] = last
    lines["ma_first"] = ma_first
    lines["ma_last"] = ma_last
    lines["reg_mask"] = mask
    lines["ma_mask"] = ma_mask
    # end reason: planned stop when the cap was reached before any other stop; end of data when the
    # treatment was still going (or would have gone on) at the end of the data
    stop = np.minimum(lines["stop"].to_numpy(), death[lines["pid"].to_numpy()])
    reason = lines["reason"].to_numpy().copy()
    cap_hit = (lines["n_given"].to_numpy() >= lines["cap"].to_numpy()) & (lines["cap"].to_numpy() < 10_000)
    planned = cap_hit & (
        lines["last_cycle_date"].to_numpy() + lines["cycle_days"].to_numpy() < np.minimum(stop, end + 1)
    )
    reason = np.where(planned, PLANNED, reason)
    reason = np.where(~planned & (stop > end), EOD, reason)
    lines["end_reason"] = reason.astype(np.int8)
    return lines[lines["first"] < NEVER].reset_index(drop=True)


_NAME_CACHE: dict[int, tuple[str, str]] = {}


def mask_names(masks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Regimen name and class for each ingredient bitmask (cached per distinct mask)."""
    uniq, inv = np.unique(masks, return_inverse=True)
    names, classes = [], []
    for mval in uniq.tolist():
        if mval not in _NAME_CACHE:
            ings = [ING_NAMES[i] for i in range(len(ING_NAMES)) if (mval >> i) & 1]
            _NAME_CACHE[mval] = (drugs.regimen_name(ings), drugs.regimen_class(ings)) if ings else ("", "")
        nm, cl = _NAME_CACHE[mval]
        names.append(nm)
        classes.append(cl)
    return np.array(names, dtype=object)[inv], np.array(classes, dtype=object)[inv]
