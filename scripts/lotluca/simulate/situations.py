"""The situations where clinicians and line rules disagree (`simulate.situations`), and the regimen-choice rules
that go with them: the French availability year that gates every regimen, the exclusion of drugs already
failed, and death before progression by regimen and line.

`treatment` calls in through small hooks: `adjust_weights` (choice of a line), `plan_columns` (the planned
structure of a line), `administered` (which drug a cycle gives), `die_probability` (death on a line) and
`Context` (the per-person draws: EGFR exon 20 insertion, referral after a first line elsewhere). The
situations draw from their own random stream (`Context.rng`), so a frequency knob changes the situations,
not the rest of the cohort's draws. Meaning, defaults and sources: docs/simulate.md#situations.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lotluca.config import Settings
from lotluca.simulate import centre_styles
from lotluca.simulate import regimens as R

# Year from which each regimen is drawn: its first French availability in routine care (marketing
# authorisation with reimbursement, or an early-access programme (ATU/AAC) covering the indication drawn).
# Years only; sources and the ones not verified: docs/simulate.md#era-gates.
AVAILABLE_FROM = {
    "cis_pem": 2008, "carbo_pem": 2008, "carbo_pem_bev": 2008, "carbo_pacli_bev": 2008, "carbo_pacli": 2000,
    "cis_gem": 2000, "carbo_gem": 2000, "cis_vino": 2000, "carbo_pem_pembro": 2019, "cis_pem_pembro": 2019,
    "carbo_pacli_pembro": 2019, "pembro": 2016, "atezo": 2018, "nivo": 2015, "doce": 2000, "doce_ninte": 2015,
    "doce_ramu": 2016, "pem": 2008, "gem": 2000, "vino_oral": 2000, "gefitinib": 2009, "erlotinib": 2006,
    "afatinib": 2014, "osimertinib": 2016, "crizotinib": 2012, "alectinib": 2016, "brigatinib": 2019,
    "lorlatinib": 2019, "entrectinib": 2021, "dabra_trame": 2018, "tepotinib": 2022, "capmatinib": 2022,
    "sotorasib": 2022, "ami_carbo_pem": 2024, "trial": 2000, "nivo_ipi": 2021, "nivo_ipi_chemo": 2021,
    "osi_carbo_pem": 2025, "carbo_nabpacli_pembro": 2019, "abcp": 2019, "durva_consolidation": 2019,
}  # fmt: skip
FROM_YEAR = np.array([AVAILABLE_FROM[r.key] for r in R.REGIMENS], np.int32)
PEMBRO_Q6W_FROM = 2020  # pembrolizumab 400 mg every 6 weeks (EU label change of 2019, used in France from 2020)

# death before progression while on a line: base probability by line (1, 2, 3+) times a multiplier by
# regimen family (assumptions, docs/simulate.md#death-before-progression)
DIE_BASE = (0.14, 0.17, 0.21)
DIE_FAMILY = {"targeted": 0.45, "chemo_io": 0.8, "io": 0.9, "doublet": 1.0, "single_agent": 1.2, "trial": 0.8}
SINGLE_AGENTS = ("doce", "doce_ninte", "doce_ramu", "pem", "gem", "vino_oral")

# same-line switch for toxicity: the drug given from the switch cycle instead of the planned one
TOX_SWITCH = {"paclitaxel": "docetaxel", "docetaxel": "paclitaxel", "gemcitabine": "vinorelbine",
              "vinorelbine": "gemcitabine"}  # fmt: skip
IO_DRUGS = ("pembrolizumab", "nivolumab", "atezolizumab", "ipilimumab", "durvalumab")
# ipilimumab every 6 weeks: every 3rd cycle of a 14-day regimen, every 2nd of a 21-day one
IPI_EVERY = {"nivo_ipi": 3, "nivo_ipi_chemo": 2}
FIXED_INDUCTION = {"nivo_ipi_chemo": 2}  # CheckMate 9LA: two cycles of chemotherapy
# immunotherapy given again at a rechallenge: the IO drug of the previous line, alone
IO_MONO = {"pembrolizumab": "pembro", "nivolumab": "nivo", "atezolizumab": "atezo"}
FALLBACK = (("doce", 0.5), ("gem", 0.2), ("vino_oral", 0.2), ("carbo_gem", 0.1))
# re-challenge with the previous regimen after a planned stop (traps.rechallenge): platinum-based induction
# only (re-treatment with a platinum doublet at a late, platinum-sensitive relapse); never a single agent
PLATINUM = ("cisplatin", "carboplatin")
RECHALLENGE_OK = np.array([r.induction and any(d[0] in PLATINUM for d in r.drugs) for r in R.REGIMENS])


@dataclass(frozen=True)
class SituationSettings(Settings):
    """Frequencies of the ambiguous situations (`simulate.situations`); the frequencies (not the shares) are
    multiplied by frequency_scale."""

    frequency_scale: float
    tox_switch: float
    io_added_late: float
    io_rechallenge: float
    nivo_ipi: float
    nivo_ipi_chemo: float
    flaura2: float
    carbo_nabpacli_pembro: float
    abcp: float
    pembrolizumab_q6w: float
    egfr_exon20: float
    referred: float
    durvalumab_consolidation: float

    def p(self, name: str) -> float:
        """Frequency `name` times frequency_scale, capped at 0.95 (a probability)."""
        return float(min(0.95, getattr(self, name) * self.frequency_scale))


class Lookups:
    """Static per-ingredient and per-regimen arrays of the hooks (built once, from the generator's codes)."""

    def __init__(self, ing: dict, slot_ing: np.ndarray):
        names = list(ing)
        self.switch_to = np.array([ing.get(TOX_SWITCH.get(nm, ""), -1) for nm in names], np.int16)
        self.is_io = np.isin(np.array(names), IO_DRUGS)
        self.reg_bits = np.zeros(R.N_REGIMENS, np.uint64)
        for r in range(R.N_REGIMENS):
            for i in slot_ing[r][slot_ing[r] >= 0]:
                self.reg_bits[r] |= np.uint64(1) << np.uint64(int(i))
        self.ipi_every = np.ones(R.N_REGIMENS, np.int32)
        for key, every in IPI_EVERY.items():
            self.ipi_every[R.INDEX[key]] = every
        self.ipi = ing["ipilimumab"]
        self.die = _die_table()


class Context:
    """Per-person situation draws of a block (EGFR exon 20 insertion, referral after a first line given
    elsewhere), the settings, the situations' own random stream and the static lookups."""

    def __init__(self, rng: np.random.Generator, s: SituationSettings, persons: dict, lk: Lookups):
        self.s = s
        self.lk = lk
        self.rng = np.random.default_rng(rng.integers(2**63))  # the situations' own stream
        n = persons["driver"].size
        self.ex20 = (persons["driver"] == 1) & (self.rng.random(n) < s.egfr_exon20)
        self.referred = ~persons["is_decoy"] & (self.rng.random(n) < s.p("referred"))
        self.decoy = persons["is_decoy"]


def _family(reg: R.Regimen) -> str:
    names = {d[0] for d in reg.drugs}
    io = bool(names & set(IO_DRUGS))
    if reg.key == "trial":
        return "trial"
    if reg.key in SINGLE_AGENTS:
        return "single_agent"
    if all(d[1] == "oral" for d in reg.drugs) or reg.key == "osi_carbo_pem":
        return "targeted"
    if io:
        return "chemo_io" if reg.induction else "io"
    return "doublet"


def _die_table() -> np.ndarray:
    """P(death before progression on the line) per line (rows 1, 2, 3+) and regimen code."""
    mult = np.array([DIE_FAMILY[_family(r)] for r in R.REGIMENS])
    return np.array(DIE_BASE)[:, None] * mult[None, :]


def die_probability(ctx: Context | None, k: int, reg: np.ndarray, flat: tuple) -> np.ndarray:
    """Per line, the probability of dying before progression (the flat by-line figure without a context)."""
    if ctx is None:
        return np.full(reg.size, flat[min(k, 3) - 1])
    return ctx.lk.die[min(k, 3) - 1, reg]


def _inject(W: np.ndarray, mask: np.ndarray, key: str, p: float) -> None:
    """Give regimen `key` a probability p of being drawn among the rows `mask` (the other weights kept)."""
    if p <= 0 or not mask.any():
        return
    tot = W[mask].sum(axis=1)
    W[mask, R.INDEX[key]] += tot * (p / (1 - p))


def _first_line(W, x, c, ctx: Context) -> None:
    """First-line situations: nivolumab-ipilimumab (+/- chemotherapy), ABCP, carboplatin-nab-paclitaxel-
    pembrolizumab, FLAURA2, amivantamab for EGFR exon 20 insertions (and no osimertinib for them)."""
    s = ctx.s
    no_driver = (c.driver < 1) | (c.driver == 4)  # untested, none or KRAS
    io_era = no_driver & (x.y >= 2019)
    chemo_share = s.nivo_ipi_chemo
    _inject(W, io_era & x.nsq, "nivo_ipi_chemo", s.p("nivo_ipi") * chemo_share)
    _inject(W, io_era, "nivo_ipi", s.p("nivo_ipi") * (1 - chemo_share))
    _inject(W, io_era & x.nsq & ~x.old, "abcp", s.p("abcp"))
    _inject(W, io_era & x.sq, "carbo_nabpacli_pembro", s.p("carbo_nabpacli_pembro"))
    ex20 = c.ex20 if c.ex20 is not None else np.zeros(c.year.size, bool)
    W[~ex20, R.INDEX["ami_carbo_pem"]] = 0
    classic = x.egfr & ~ex20
    _inject(W, classic & ~x.old, "osi_carbo_pem", s.p("flaura2"))
    # exon 20 insertions: no osimertinib / first-generation TKI; platinum doublet, amivantamab from 2024
    W[ex20] = 0
    x.doublets(ex20 & x.nsq)
    x.doublets(ex20 & x.sq)
    x.w(ex20 & (x.y >= 2024), "ami_carbo_pem", 2.0)


def _later_line(W, x, c, ctx: Context) -> None:
    """Later lines: ABCP after an EGFR/ALK TKI (IMpower150), amivantamab only for exon 20 insertions."""
    after_tki = (x.egfr | x.alk) & c.tki_seen & ~c.plat_seen & ~c.io_seen & ~x.old & (x.y >= 2019)
    _inject(W, after_tki, "abcp", ctx.s.p("abcp"))
    ex20 = c.ex20 if c.ex20 is not None else np.zeros(c.year.size, bool)
    W[~ex20, R.INDEX["ami_carbo_pem"]] = 0
    x.w(ex20 & ~c.plat_seen & (x.y >= 2022), "ami_carbo_pem", 1.0)


def adjust_weights(W: np.ndarray, k: int, x, c, ctx: Context | None) -> None:
    """The hook of `treatment.choose_regimen`: situation regimens, availability years, failed drugs."""
    if ctx is not None:
        (_first_line(W, x, c, ctx) if k == 1 else _later_line(W, x, c, ctx))
        centre_styles.scale_weights(W, ctx)  # a centre's bevacizumab use (no-op without centre styles)
    W *= c.year[:, None] >= FROM_YEAR[None, :]
    if ctx is None or c.failed is None:
        return
    failed = c.failed
    ok = (ctx.lk.reg_bits[None, :] & failed[:, None]) == 0
    W *= ok
    empty = W.sum(axis=1) <= 0
    if empty.any():  # nothing left: a later-line single agent not yet failed
        for key, weight in FALLBACK:
            W[empty, R.INDEX[key]] = weight * ok[empty, R.INDEX[key]]
    W[:, R.INDEX["durva_consolidation"]] = 0


def failed_bits(ctx: Context | None, reg: np.ndarray, stopped_for: np.ndarray, prog: int, tox: int) -> np.ndarray:
    """Ingredient bits of the lines stopped by progression or toxicity (the drugs not given again)."""
    if ctx is None:
        return np.zeros(reg.size, np.uint64)
    bad = (stopped_for == prog) | (stopped_for == tox)
    return np.where(bad, ctx.lk.reg_bits[reg], np.uint64(0)).astype(np.uint64)


def rechallenge_allowed(prev: np.ndarray) -> np.ndarray:
    """Per line, whether the previous regimen `prev` (-1: none) may be given again after a planned stop."""
    return (prev >= 0) & RECHALLENGE_OK[np.clip(prev, 0, None)]


def io_rechallenge(ctx: Context | None, idx, prev: np.ndarray, io_free: np.ndarray, slot_ing, ing: dict):
    """Persons (of idx) whose previous immunotherapy line stopped at its cap before progression and who get
    the same immunotherapy again, and that regimen (-1 otherwise)."""
    m = idx.size
    reg = np.full(m, -1, np.int16)
    if ctx is None:
        return np.zeros(m, bool), reg
    u = ctx.rng.random(m)
    pick = io_free[idx] & (prev[idx] >= 0) & (u < ctx.s.p("io_rechallenge"))
    for drug, key in IO_MONO.items():
        has = (slot_ing[prev[idx].clip(0)] == ing[drug]).any(axis=1)
        reg = np.where(pick & has & (reg < 0), R.INDEX[key], reg).astype(np.int16)
    return reg >= 0, reg


def plan_columns(ctx: Context | None, reg: np.ndarray, yr: np.ndarray, k: int, slot_ing, slot_oral, cap, cdays):
    """Per line: the same-line toxicity switch (slot, cycle, drug), the cycle from which immunotherapy is
    given (added at cycle 2-3 when the PD-L1 result arrives), pembrolizumab every 6 weeks (cycle length and
    cap), and the situation's name."""
    m = reg.size
    out = {
        "switch_slot": np.full(m, -1, np.int8),
        "switch_cycle": np.full(m, 10_000, np.int32),
        "switch_to": np.full(m, -1, np.int16),
        "io_from": np.zeros(m, np.int32),
    }
    sit = np.full(m, "", dtype=object)
    if ctx is None:
        return out, cap, cdays, sit
    s, rng, lk = ctx.s, ctx.rng, ctx.lk
    u = rng.random((4, m))
    sl = slot_ing[reg]
    switchable = (sl >= 0) & (lk.switch_to[sl.clip(0)] >= 0) & ~slot_oral[reg]
    first = np.where(switchable.any(axis=1), switchable.argmax(axis=1), -1)
    sw = (first >= 0) & (u[0] < s.p("tox_switch"))
    out["switch_slot"] = np.where(sw, first, -1).astype(np.int8)
    out["switch_cycle"] = np.where(sw, 1 + (u[1] * 3).astype(np.int32), 10_000).astype(np.int32)
    out["switch_to"] = np.where(sw, lk.switch_to[sl[np.arange(m), first.clip(0)].clip(0)], -1).astype(np.int16)
    sit[sw] = "tox_switch"
    io_reg = (lk.is_io[sl.clip(0)] & (sl >= 0)).any(axis=1)
    has_chemo = R.attr("induction")[reg]
    late = (k == 1) & io_reg & has_chemo & (u[2] < s.p("io_added_late"))
    out["io_from"] = np.where(late, 1 + (u[3] < 0.4), 0).astype(np.int32)
    sit[late] = "io_added_late"
    q6w = (reg == R.INDEX["pembro"]) & (yr >= PEMBRO_Q6W_FROM) & (rng.random(m) < s.pembrolizumab_q6w)
    cdays = np.where(q6w, 42, cdays).astype(np.int32)
    cap = np.where(q6w, (cap + 1) // 2, cap)
    sit[q6w & (sit == "")] = "pembrolizumab_q6w"
    for key in ("nivo_ipi", "nivo_ipi_chemo", "osi_carbo_pem", "carbo_nabpacli_pembro", "abcp"):
        sit[(reg == R.INDEX[key]) & (sit == "")] = key
    return out, cap, cdays, sit


def dropped_slot(reg: np.ndarray, drop_slot: np.ndarray) -> np.ndarray:
    """The drug dropped for toxicity in nivolumab-ipilimumab with chemotherapy is ipilimumab, never nivolumab
    (slot 2 -> 3): ipilimumab alone is not continued."""
    nic = (reg == R.INDEX["nivo_ipi_chemo"]) & (drop_slot == 2)
    return np.where(nic, 3, drop_slot).astype(np.int8)


def fixed_induction(reg: np.ndarray, n_ind: np.ndarray) -> np.ndarray:
    """Induction cycles of the regimens with a fixed number (nivolumab-ipilimumab with 2 cycles of chemotherapy)."""
    for key, n in FIXED_INDUCTION.items():
        n_ind = np.where(reg == R.INDEX[key], n, n_ind)
    return n_ind.astype(np.int32)


def administered(lk: Lookups, L: dict, rep, c, r, j: int, ing, ok, swapped):
    """The hook of `treatment._iv_slot` for drug slot j of every cycle: immunotherapy not yet given before
    io_from, ipilimumab only every 2nd/3rd cycle, the same-line toxicity switch. Returns (ing, ok, swapped)."""
    io = lk.is_io[ing.clip(0)] & (ing >= 0)
    ok = ok & ~(io & (c < L["io_from"][rep]))
    ok = ok & ~((ing == lk.ipi) & (c % lk.ipi_every[r] != 0))
    sw = (L["switch_slot"][rep] == j) & (c >= L["switch_cycle"][rep])
    ing = np.where(sw, L["switch_to"][rep], ing).astype(np.int16)
    return ing, ok, swapped | sw


def consolidation_lines(ctx: Context | None, diag: np.ndarray, plan_fn, expo_fn) -> dict | None:
    """Durvalumab consolidation after chemoradiation for a stage III cancer, before the advanced disease
    (PACIFIC): line_number 0, from 10 to 16 months before the advanced diagnosis, every 14 days for at most
    12 months, stopped by the relapse (the advanced diagnosis) or completed. It is history, not a line of the
    advanced disease: the gold standard and lines_truth consumers skip line 0 (docs/simulate.md#situations).
    Returns the line-0 columns (plan_fn(reg, yr): the planned structure; expo_fn(m): the exposure columns)
    of the persons drawn, or None."""
    if ctx is None:
        return None
    rng = ctx.rng
    n = diag.size
    start = diag - rng.integers(300, 490, n)
    yr = (np.datetime64("1970-01-01", "D") + start.astype("timedelta64[D]")).astype("datetime64[Y]").astype(int) + 1970
    pick = ~ctx.decoy & (yr >= FROM_YEAR[R.INDEX["durva_consolidation"]])
    pick &= rng.random(n) < ctx.s.p("durvalumab_consolidation")
    idx = np.flatnonzero(pick)
    if idx.size == 0:
        return None
    m = idx.size
    reg = np.full(m, R.INDEX["durva_consolidation"], np.int16)
    st = start[idx]
    stop = np.minimum(st + 365, diag[idx] - rng.integers(7, 60, m))  # relapse found at the advanced diagnosis
    plan = plan_fn(reg, yr[idx])
    plan["situation"] = np.full(m, "durvalumab_consolidation", dtype=object)
    return {
        "pid": idx.astype(np.int32),
        "line_number": np.zeros(m, np.int16),
        "regimen": reg,
        "setting": np.zeros(m, np.int8),
        "start": st,
        "prog": diag[idx],
        "stop": stop,
        "reason": np.zeros(m, np.int8),
        **plan,
        "rechallenge": np.zeros(m, bool),
        **expo_fn(m),
    }
