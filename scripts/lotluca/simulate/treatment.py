"""The clinical truth: treatment lines (regimen decided at diagnosis or at progression), their phases,
cycles and dispensations, progression, treatment stops and death, drawn for every person at once.

`draw_lines` walks line numbers 1..max_lines (a loop over lines, vectorised over persons); `draw_events`
turns the lines into one row per true administration (IV, per cycle day) or dispensation (oral, one box),
vectorised with repeat/cumsum over cycles; `finalise_lines` derives each line's actual start, end,
regimen and end reason from its events. Nothing here knows about sources: rendering comes later.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from lotluca import drugs
from lotluca.errors import LotlucaError
from lotluca.simulate import concomitant
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

# per-line probability of dying before progression while on treatment, by line number (1, 2, 3+)
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


def choose_regimen(
    rng, k, year, hist, driver, g12c, pdl1, age, prev, io_seen, plat_seen, pem_seen, tki_seen, t790m=0.5
):
    """Regimen code per person for line k: weights by era, histology, biomarkers and history, then a draw."""
    n = year.size
    W = np.zeros((n, R.N_REGIMENS), np.float32)

    def w(mask, key, value):
        W[mask, R.INDEX[key]] += value

    sq = hist == 1
    nsq = ~sq
    old = age >= 75
    egfr, alk, ros1, braf, met = (driver == 1), (driver == 2), (driver == 3), (driver == 5), (driver == 6)
    kras_c = (driver == 4) & g12c
    hi = pdl1 == 2
    pos = pdl1 >= 1
    y = year
    prev_is = {key: (prev == R.INDEX[key]) for key in R.INDEX}

    def doublets(mask, scale=1.0):
        m_ns, m_sq = mask & nsq, mask & sq
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

    if k == 1:
        targ = np.zeros(n, bool)
        # EGFR
        m = egfr & (y < 2018)
        w(m, "gefitinib", 0.45), w(m, "erlotinib", 0.3), w(m, "afatinib", 0.2)
        m = egfr & (y >= 2018)
        (
            w(m, "osimertinib", 0.88),
            w(m, "gefitinib", 0.04),
            w(m, "afatinib", 0.04),
            w(m & (y >= 2024), "ami_carbo_pem", 0.1),
        )
        targ |= egfr
        # ALK
        m = alk & (y < 2018)
        w(m, "crizotinib", 0.85), doublets(m, 0.15)
        m = alk & (y >= 2018)
        w(m, "alectinib", 0.75), w(m, "brigatinib", 0.1), w(m & (y >= 2022), "lorlatinib", 0.25)
        targ |= alk
        # ROS1, BRAF
        w(ros1, "crizotinib", 0.75), w(ros1 & (y >= 2021), "entrectinib", 0.25)
        targ |= ros1
        m = braf & (y >= 2018)
        w(m, "dabra_trame", 0.6)
        doublets(m, 0.4)
        targ |= m
        rest = ~targ
        # no actionable driver: era-dependent
        pre = rest & (y < 2017)
        doublets(pre)
        mid = rest & (y >= 2017) & (y < 2019)
        w(mid & hi, "pembro", 0.75), doublets(mid & hi, 0.25), doublets(mid & ~hi)
        io = rest & (y >= 2019)
        w(io & hi, "pembro", 0.5)
        w(io & hi & nsq, "carbo_pem_pembro", 0.3), w(io & hi & nsq, "cis_pem_pembro", 0.06)
        w(io & hi & sq, "carbo_pacli_pembro", 0.36)
        w(io & hi & (y >= 2021), "atezo", 0.04)
        doublets(io & hi, 0.1)
        w(io & ~hi & nsq, "carbo_pem_pembro", 0.62), w(io & ~hi & nsq, "cis_pem_pembro", 0.14)
        w(io & ~hi & sq, "carbo_pacli_pembro", 0.74)
        doublets(io & ~hi, 0.2)
    else:
        first_gen = prev_is["gefitinib"] | prev_is["erlotinib"] | prev_is["afatinib"]
        m = egfr & first_gen
        t790 = rng.random(n) < t790m  # T790M resistance mutation found at progression
        W[m & t790, :] = 0
        w(m & t790 & (y >= 2016), "osimertinib", 1.0)
        w(m & ~(t790 & (y >= 2016)), "carbo_pem", 0.6), w(m & ~(t790 & (y >= 2016)), "cis_pem", 0.4)
        m = egfr & ~first_gen & tki_seen & ~plat_seen
        (
            w(m, "carbo_pem", 0.55),
            w(m, "cis_pem", 0.2),
            w(m & (y >= 2024), "ami_carbo_pem", 0.35),
            w(m & (y < 2019), "carbo_pem_bev", 0.1),
        )
        m = alk & prev_is["crizotinib"]
        (
            w(m, "alectinib", 0.4),
            w(m, "brigatinib", 0.3),
            w(m & (y >= 2019), "lorlatinib", 0.3),
            doublets(m & (y < 2016), 0.6),
        )
        m = alk & (prev_is["alectinib"] | prev_is["brigatinib"])
        w(m & (y >= 2019), "lorlatinib", 0.6), doublets(m, 0.4)
        m = alk & prev_is["lorlatinib"]
        doublets(m)
        m = ros1 & (prev_is["crizotinib"] | prev_is["entrectinib"])
        doublets(m)
        targ = W.sum(axis=1) > 0
        # second-line targeted therapy for KRAS G12C, MET, BRAF after chemo(-IO)
        m = ~targ & kras_c & (y >= 2022)
        w(m, "sotorasib", 0.35)
        m = ~targ & met & (y >= 2022)
        w(m, "tepotinib", 0.3), w(m, "capmatinib", 0.2)
        m = ~targ & braf & (y >= 2018) & ~prev_is["dabra_trame"]
        w(m, "dabra_trame", 0.3)
        rest = ~targ
        # IO-naive: nivolumab from 2015, pembrolizumab (PD-L1 >= 1%) from 2017, atezolizumab from 2018
        naive = rest & ~io_seen & (y >= 2015)
        w(naive, "nivo", 0.45), w(naive & pos & (y >= 2017), "pembro", 0.2), w(naive & (y >= 2018), "atezo", 0.1)
        w(naive, "doce", 0.15), w(naive & ~plat_seen, "carbo_pem", 0.1)
        other = rest & ~naive
        (
            w(other, "doce", 0.35),
            w(other & nsq & (y >= 2015), "doce_ninte", 0.1),
            w(other & (y >= 2016), "doce_ramu", 0.05),
        )
        w(other & nsq & ~pem_seen, "pem", 0.2), w(other & nsq & pem_seen & (k == 2), "carbo_pem", 0.12)
        (
            w(other & sq & (k == 2), "carbo_gem", 0.1),
            w(other, "gem", 0.06 + 0.04 * (k >= 3)),
            w(other, "vino_oral", 0.06 + 0.06 * (k >= 3)),
        )
        w(other & ~plat_seen, "carbo_pacli", 0.1)
    empty = W.sum(axis=1) <= 0
    W[empty, R.INDEX["doce"]] = 1.0
    cum = np.cumsum(W, axis=1)
    u = rng.random(n)[:, None] * cum[:, -1:]
    return (u >= cum).sum(axis=1).clip(max=R.N_REGIMENS - 1).astype(np.int16)


def draw_lines(rng: np.random.Generator, persons: pd.DataFrame, s: SimSettings) -> tuple[pd.DataFrame, np.ndarray]:
    """Lines of every person (one row per line, planned attributes) and the true death day of each person
    (NEVER when the person outlives the data by construction)."""
    t = s.traps
    n = len(persons)
    end = to_days(s.end_date)
    diag = persons["diag"].to_numpy().astype(np.int64)
    hist = persons["histology"].to_numpy()
    driver = persons["driver"].to_numpy()
    g12c = persons["kras_g12c"].to_numpy()
    pdl1 = persons["pdl1"].to_numpy()
    age = persons["age"].to_numpy()
    decoy = persons["is_decoy"].to_numpy()
    death = np.full(n, NEVER, np.int64)

    treated = rng.random(n) < s.treated
    bsc = ~treated
    death[bsc] = diag[bsc] + 10 + _lognormal_days(rng, 100, 0.9, int(bsc.sum())).astype(np.int64)
    start = diag + np.clip(_lognormal_days(rng, 24, 0.6, n), 3, 120).astype(np.int64)
    active = treated.copy()
    prev = np.full(n, -1, np.int16)
    io_seen = np.zeros(n, bool)
    plat_seen = np.zeros(n, bool)
    pem_seen = np.zeros(n, bool)
    tki_seen = np.zeros(n, bool)
    planned_free = np.zeros(n, bool)  # previous line stopped as planned, then progressed off treatment
    io_regs = (SLOT_ING == ING["pembrolizumab"]) | (SLOT_ING == ING["nivolumab"]) | (SLOT_ING == ING["atezolizumab"])
    io_reg = io_regs.any(axis=1)
    plat_reg = ((SLOT_ING == ING["cisplatin"]) | (SLOT_ING == ING["carboplatin"])).any(axis=1)
    pem_reg = (SLOT_ING == ING["pemetrexed"]).any(axis=1)
    tki_reg = np.array(
        [drugs.ingredient_class().get(ING_NAMES[i], "") in ("egfr_tki", "alk_tki") for i in SLOT_ING[:, 0].clip(0)]
    )
    ttp1, ttp2 = R.attr("ttp1"), R.attr("ttp2")
    induction, maint_kind = R.attr("induction"), R.attr("maintenance")
    io_cap, reg_cap, cyc_days = R.attr("io_cap"), R.attr("cap"), R.attr("cycle_days")
    oral_only = SLOT_ORAL[:, 0] & (SLOT_ING[:, 1] < 0)
    conc = concomitant.LineExposure(rng, s, SLOT_ING, ING)  # concomitant drugs and their effect (own stream)
    blocks = []
    for k in range(1, s.max_lines + 1):
        idx = np.flatnonzero(active & (start <= end))
        if idx.size == 0:
            break
        m = idx.size
        st = start[idx]
        yr = _year(st)
        reg = choose_regimen(rng, k, yr, hist[idx], driver[idx], g12c[idx], pdl1[idx], age[idx], prev[idx],
                             io_seen[idx], plat_seen[idx], pem_seen[idx], tki_seen[idx], t.t790m)  # fmt: skip
        # re-challenge: after a planned stop and progression off treatment, the same regimen again
        rech = planned_free[idx] & (prev[idx] >= 0) & (rng.random(m) < t.rechallenge)
        reg = np.where(rech, prev[idx], reg).astype(np.int16)
        # setting of the line (IV care; oral drugs are always dispensed by community pharmacies)
        u = rng.random(m)
        is_dec = decoy[idx]
        elsewhere = np.where(is_dec, u >= s.noise.decoy_at_centre, u < t.line_elsewhere)
        setting = np.where(elsewhere, np.where(rng.random(m) < t.private_clinic_share, PRIVATE, PUBLIC), CENTRE).astype(
            np.int8
        )
        trial = (setting == CENTRE) & ~is_dec & (rng.random(m) < t.clinical_trial)
        reg = np.where(trial, R.INDEX["trial"], reg).astype(np.int16)

        med = np.where(k == 1, ttp1[reg], ttp2[reg] * 0.92 ** max(0, k - 2)) * MONTH
        # immunotherapy: a share of durable responders (the long plateau of IO survival curves)
        durable = io_reg[reg] & (rng.random(m) < DURABLE_IO)
        med = np.where(durable, med * 5, med)
        expo = conc.draw(reg)
        # baseline (unexposed) times; the concomitant effect is applied below, on rwTTNT, once the
        # post-progression delay is drawn (hr = 1 here: the plain lognormal draw)
        ttp = concomitant.ttp_days(rng, med, TTP_SIGMA, 1.0, durable, np.where(io_reg[reg], DURABLE_IO, 0))
        ttp = np.clip(ttp, 21, 365 * 12).astype(np.int64)
        prog = st + ttp
        die = rng.random(m) < DIE_ON_LINE[min(k, 3) - 1]
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
        died_on = die & (dtime <= prog)

        # planned structure of the line
        n_ind = np.where(induction[reg], np.where(rng.random(m) < t.induction_cycles_6, 6, 4), 10_000).astype(np.int32)
        has_maint = (maint_kind[reg] == "always") | (
            (maint_kind[reg] == "optional") & (rng.random(m) < t.continuation_maintenance)
        )
        cap = np.where(
            induction[reg] & ~has_maint,
            n_ind,
            np.where(io_cap[reg], t.io_max_cycles, np.where(reg_cap[reg] > 0, reg_cap[reg], 10_000)),
        )
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
        drop_cycle = rng.integers(1, 4, m).astype(np.int32)
        holiday_ok = has_maint | io_reg[reg] | oral_only[reg]
        holiday = holiday_ok & (rng.random(m) < t.treatment_holiday)
        hol_after = np.where(induction[reg], n_ind + rng.integers(2, 5, m), rng.integers(3, 7, m)).astype(np.int32)
        hol_after = np.where(holiday, hol_after, 10_000).astype(np.int32)
        hol_days = rng.integers(60, 121, m).astype(np.int32)

        # what happens after progression (alive): next line, or best supportive care until death
        alive_prog = ~died_on
        cont = (
            alive_prog & (rng.random(m) < (s.next_line[k - 1] if k - 1 < len(s.next_line) else 0.3)) & (k < s.max_lines)
        )
        nxt = prog + np.clip(_lognormal_days(rng, 24, 0.6, m), 5, 150).astype(np.int64)
        bsc_death = prog + 7 + _lognormal_days(rng, BSC_MEDIAN_DAYS, 1.0, m).astype(np.int64)
        fin = alive_prog & ~cont
        # concomitant effect on rwTTNT (line start -> next line or death; concomitant.rwttnt_factor): the
        # baseline time t0 is mapped to S_0^-1(S_0(t0) ** (1 / HR)) within the line type, and the line's
        # timeline (progression, toxicity stop, death, next line) is scaled by t / t0
        t0 = np.where(died_on, dtime, np.where(cont, nxt, bsc_death)) - st
        f = conc.rwttnt_factor(t0, expo)
        if (f != 1.0).any():
            prog, dtime, tox_t = (_scaled(x, st, f) for x in (prog, dtime, tox_t))
            nxt = np.maximum(_scaled(nxt, st, f), prog + 1)
            bsc_death = np.maximum(_scaled(bsc_death, st, f), prog + 1)
        stop = np.where(use_death, dtime, np.where(use_tox, tox_t, prog))
        death[idx[died_on]] = dtime[died_on]
        death[idx[fin]] = bsc_death[fin]
        planned_free[idx] = (cap < 10_000) & ~io_cap[reg] & (reason == PROG)

        blocks.append(
            pd.DataFrame(
                {
                    "pid": idx.astype(np.int32),
                    "line_number": np.full(m, k, np.int16),
                    "regimen": reg,
                    "setting": setting,
                    "start": st,
                    "prog": prog,
                    "stop": stop,
                    "reason": reason,
                    "n_ind": n_ind,
                    "has_maint": has_maint,
                    "cap": cap.astype(np.int32),
                    "cycle_days": cdays,
                    "swap_plat": swap_plat,
                    "swap_tax": swap_tax,
                    "swap_cycle": swap_cycle,
                    "bev_cycle2": bev2,
                    "drop_slot": drop_slot,
                    "drop_cycle": drop_cycle,
                    "hol_after": hol_after,
                    "hol_days": hol_days,
                    "rechallenge": rech,
                    **expo,
                }
            )
        )
        prev[idx] = reg
        io_seen[idx] |= io_reg[reg]
        plat_seen[idx] |= plat_reg[reg]
        pem_seen[idx] |= pem_reg[reg]
        tki_seen[idx] |= tki_reg[reg]
        start[idx] = nxt
        active[:] = False
        active[idx[cont]] = True
    if not blocks:
        raise LotlucaError(
            "simulate: no treatment line was drawn (nobody treated before the end of the data); increase simulate.patients or simulate.treated"
        )
    lines = pd.concat(blocks, ignore_index=True)
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


def draw_events(
    rng: np.random.Generator, lines: pd.DataFrame, persons: pd.DataFrame, death: np.ndarray, s: SimSettings
) -> pd.DataFrame:
    """One row per true administration (IV cycle day) or dispensation (oral box) of every line."""
    t = s.traps
    end = to_days(s.end_date)
    L = {c: lines[c].to_numpy() for c in lines.columns}
    stop = np.minimum(L["stop"], death[L["pid"]])
    limit = np.minimum(stop, end + 1)  # administrations strictly before the stop and within the data
    reg = L["regimen"]
    has_iv = ((SLOT_ING[reg] >= 0) & ~SLOT_ORAL[reg]).any(axis=1)
    parts = []

    # ---- IV cycles -------------------------------------------------------------------------------
    li = np.flatnonzero(has_iv)
    span = np.maximum(limit[li] - L["start"][li], 1)
    n_max = np.minimum(L["cap"][li], span // L["cycle_days"][li] + 1).astype(np.int64)
    rep = np.repeat(li, n_max)
    c = _group_arange(n_max).astype(np.int32)
    cd = L["cycle_days"][rep]
    u = rng.random(rep.size)
    delay = np.where(u < t.dose_delay, 7 * rng.choice([1, 2, 3], size=rep.size, p=[0.65, 0.25, 0.10]), 0)
    skip = (rng.random(rep.size) < t.skipped_cycle) * cd
    interval = (cd + delay + skip + np.where(c == L["hol_after"][rep], L["hol_days"][rep], 0)).astype(np.int64)
    interval[c == 0] = 0
    date = L["start"][rep] + _group_cumsum(interval, n_max)
    date = _weekday(date, sunday_only=False)  # day hospitals are closed at weekends
    keep = date < limit[rep]
    keep[c == 0] = True  # the first administration defines the line start
    rep, c, date, cd = rep[keep], c[keep], date[keep], cd[keep]
    n_given = np.bincount(rep, minlength=len(lines))
    last_cycle_date = np.full(len(lines), -1, np.int64)
    np.maximum.at(last_cycle_date, rep, date)
    # cycle setting: a centre line may have single cycles given elsewhere
    lset = L["setting"][rep]
    away = (lset == CENTRE) & (c > 0) & (rng.random(rep.size) < t.cycle_elsewhere)
    away_kind = np.where(rng.random(rep.size) < t.private_clinic_share, PRIVATE, PUBLIC)
    cset = np.where(away, away_kind, lset).astype(np.int8)
    maint = (L["has_maint"][rep]) & (c >= L["n_ind"][rep])
    phase_cycle = np.where(maint, c - L["n_ind"][rep] + 1, c + 1).astype(np.int16)
    r = reg[rep]
    for j in range(R.MAX_SLOTS):
        ing = SLOT_ING[r, j].astype(np.int16)
        ph = SLOT_PHASE[r, j]
        ok = (ing >= 0) & ~SLOT_ORAL[r, j]
        ok &= np.where(ph == 0, ~maint, np.where(ph == 1, maint, True))
        ok &= ~((L["drop_slot"][rep] == j) & (c >= L["drop_cycle"][rep]))
        is_bev = (ing == ING["bevacizumab"]) | (ing == ING["ramucirumab"])
        ok &= ~(is_bev & L["bev_cycle2"][rep] & (c == 0))
        swapped = np.zeros(rep.size, bool)
        sp = (ing == ING["cisplatin"]) & L["swap_plat"][rep] & (c >= L["swap_cycle"][rep])
        ing = np.where(sp, ING["carboplatin"], ing)
        sx = (ing == ING["paclitaxel"]) & L["swap_tax"][rep] & (c >= L["swap_cycle"][rep])
        ing = np.where(sx, ING["nab-paclitaxel"], ing)
        swapped = sp | sx
        sel = np.flatnonzero(ok)
        day8 = SLOT_DAY8[r[sel], j]
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
                        "setting": cset[pick],
                        "cycle": c[pick] + 1,
                        "phase_cycle": phase_cycle[pick],
                        "is_maint": maint[pick],
                        "swapped": swapped[pick],
                        "day": np.full(pick.size, offset, np.int8),
                        "boxes": np.ones(pick.size, np.int8),
                    }
                )
            )

    # ---- oral dispensations ----------------------------------------------------------------------
    for j in range(R.MAX_SLOTS):
        lj = np.flatnonzero(SLOT_ORAL[reg, j] & (SLOT_ING[reg, j] >= 0))
        if lj.size == 0:
            continue
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
        date = _weekday(
            L["start"][lj][rep] + _group_cumsum(interval, n_max), sunday_only=True
        )  # pharmacies: not Sundays
        keep = (date < limit[lj][rep]) | (k == 0)
        rep, k, date, supply, boxes = rep[keep], k[keep], date[keep], supply[keep], boxes[keep]
        parts.append(
            pd.DataFrame(
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
        )
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
