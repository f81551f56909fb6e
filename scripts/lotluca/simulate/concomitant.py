"""Concomitant medications of the synthetic cohort: who takes proton-pump inhibitors, systemic
corticosteroids or systemic antibiotics around a treatment line (`LineExposure`), the effect of that
exposure on the line's time to next treatment or death (`rwttnt_factor`, quantile mapping under
proportional hazards), the pharmacy dispensations that render it in DCIR (`draw_dispensations`), and
the truth table `truth/concomitant_truth.parquet` (`truth_tables`). The exposure model, the windows,
the effect and the default hazard ratios with their sources: docs/simulate.md, "Concomitant medications".
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
from scipy.special import ndtr

from lotluca import drugs
from lotluca.config import Settings
from lotluca.simulate import nomenclature

CLASSES = ("ppi", "antibiotic", "corticosteroid")
PPI_DAYS, ABX_DAYS, CS_DAYS = 28, 7, 20
EGFR_TKI = ("gefitinib", "erlotinib", "afatinib", "osimertinib", "dacomitinib")
IO = ("pembrolizumab", "nivolumab", "atezolizumab", "durvalumab", "cemiplimab")

TRUTH_SCHEMA = pa.schema(
    [
        ("truth_person_id", pa.string()),
        ("ben_idt_ano", pa.string()),
        ("line_number", pa.int16()),
        ("line_start", pa.date32()),
        ("egfr_tki_line", pa.bool_()),
        ("io_line", pa.bool_()),
        ("ppi_exposed", pa.bool_()),
        ("antibiotic_exposed", pa.bool_()),
        ("corticosteroid_exposed", pa.bool_()),
        ("hazard_ratio", pa.float64()),
    ]
)
DISPENSATION_SCHEMA = pa.schema(
    [
        ("truth_person_id", pa.string()),
        ("ben_idt_ano", pa.string()),
        ("date", pa.date32()),
        ("end_date", pa.date32()),
        ("ingredient", pa.string()),
        ("drug_class", pa.string()),
        ("cip13", pa.int64()),
        ("line_number", pa.int16()),  # line whose exposure it renders; 0 for background use
    ]
)


@dataclass(frozen=True)
class ConcomitantSettings(Settings):
    """The `simulate.concomitant` block (its knobs: docs/simulate.md)."""

    enabled: bool
    ppi_egfr_tki: float
    abx_io: float
    corticosteroid_line: float
    hr_ppi_egfr_tki: float
    hr_abx_io: float
    hr_corticosteroid: float
    background_rate: float


def ttp_days(
    rng: np.random.Generator,
    median_days,
    sigma: float,
    hr,
    durable=None,
    durable_share=None,
    durable_factor: float = 5.0,
) -> np.ndarray:
    """Lognormal time to progression around `median_days` under proportional hazards `hr` (per line; the
    generator calls it with hr = 1 and puts the concomitant effect on rwTTNT instead, `rwttnt_factor`).

    Same draws as exp(log(median) + sigma * z): with hr = 1 the result is exactly the unexposed draw.
    Otherwise the time T0 is moved to T1 = S^-1(S(T0) ** (1 / hr)), so that S_exposed = S ** hr, where S
    is the line's marginal survival: the lognormal, or for lines with a share `durable_share` of durable
    responders (`durable`: this line's draw; its median is `durable_factor` x the base median) the
    mixture (1 - p) S_base + p S_durable, inverted by bisection on log time. Hazards are then
    proportional on the marginal distribution (the durable status is not observed by an analysis)."""
    median_days = np.maximum(np.asarray(median_days, float), 1)
    z = rng.standard_normal(median_days.size)
    t0 = np.exp(np.log(median_days) + sigma * z)
    hr = np.broadcast_to(np.asarray(hr, float), z.shape)
    moved = np.flatnonzero(hr != 1.0)
    if moved.size == 0:
        return t0
    p = np.zeros(z.size) if durable_share is None else np.broadcast_to(np.asarray(durable_share, float), z.shape)
    dur = np.zeros(z.size, bool) if durable is None else np.asarray(durable, bool)
    base = np.log(median_days / np.where(dur, durable_factor, 1.0))[moved]
    pm, h = p[moved], hr[moved]
    lf = np.log(durable_factor)

    def surv(logt):
        return (1 - pm) * ndtr(-(logt - base) / sigma) + pm * ndtr(-(logt - base - lf) / sigma)

    target = np.exp(np.log(np.clip(surv(np.log(t0[moved])), 1e-300, 1.0)) / h)
    lo = base - 12 * sigma
    hi = base + lf + 12 * sigma
    for _ in range(60):  # surv is decreasing in log t
        mid = (lo + hi) / 2
        above = surv(mid) > target
        lo = np.where(above, mid, lo)
        hi = np.where(above, hi, mid)
    out = t0.copy()
    out[moved] = np.exp((lo + hi) / 2)
    return out


def rwttnt_factor(rng: np.random.Generator, t0, hr, group) -> np.ndarray:
    """Time-scale factor per line that puts the hazard ratio `hr` on the line's time to next treatment or
    death (rwTTNT), exactly under proportional hazards on its baseline distribution (quantile mapping).

    `t0` is each line's baseline (pre-effect) time from line start to the next line or death, `group`
    its line type (lines of one group share one baseline survival S_0: the empirical survival of `t0`
    over every line of the group, exposed lines included, since their t0 is drawn unexposed). A line
    with hr != 1 is moved to t = S_0^-1(S_0(t0) ** (1 / hr)): with U = S_0(T0) uniform, P(T > x) =
    P(U < S_0(x) ** hr) = S_0(x) ** hr, so S_exposed = S_0 ** hr. Ties of t0 (whole days) get a
    randomised probability integral transform, U uniform on [S_0(t0), S_0(t0-)] (draws from `rng`, only
    when a line moves), and S_0^-1 is the linearly interpolated empirical quantile (np.quantile), so U
    is uniform and t continuous. Returns t / t0 (1.0 for lines with hr == 1); the caller scales the
    line's whole timeline (progression, death, toxicity stop, next line) by it. A group of one line
    cannot move (its only quantile is itself): the effect needs groups of many lines."""
    t0 = np.asarray(t0, float)
    hr = np.broadcast_to(np.asarray(hr, float), t0.shape)
    group = np.asarray(group)
    f = np.ones(t0.size)
    moved = hr != 1.0
    if not moved.any():
        return f
    for g in np.unique(group[moved]):  # a handful of line types, vectorised inside
        ing = np.flatnonzero(group == g)
        x = np.sort(t0[ing])
        mv = ing[moved[ing]]
        n = x.size
        gt = n - np.searchsorted(x, t0[mv], side="right")  # lines with t0 > this one
        ge = n - np.searchsorted(x, t0[mv], side="left")  # lines with t0 >= this one
        u = (gt + rng.random(mv.size) * (ge - gt)) / n  # S_0(T0), randomised over ties
        s = np.clip(u, 0.0, 1.0) ** (1.0 / hr[mv])
        t = np.quantile(x, 1.0 - s)
        f[mv] = t / np.maximum(t0[mv], 1e-9)
    return f


def _regimen_has(slot_ing: np.ndarray, ing_index: dict, names) -> np.ndarray:
    codes = [ing_index[n] for n in names if n in ing_index]
    return np.isin(slot_ing, codes).any(axis=1)


class LineExposure:
    """Per-line exposure draws inside `treatment.draw_lines` (own random stream: the other draws of the
    generator are unchanged whether the block is enabled or not, except the moved times to progression)."""

    def __init__(self, rng: np.random.Generator, settings, slot_ing: np.ndarray, ing_index: dict):
        self.s = settings.concomitant
        self.rng = rng.spawn(1)[0]
        self.tki = _regimen_has(slot_ing, ing_index, EGFR_TKI)
        self.io = _regimen_has(slot_ing, ing_index, IO)

    def draw(self, reg: np.ndarray) -> dict:
        """Columns for the line block: egfr_tki_line, io_line, the three exposure flags and conc_hr."""
        m = reg.size
        s = self.s
        tki, io = self.tki[reg], self.io[reg]
        if not s.enabled:
            z = np.zeros(m, bool)
            return {
                "egfr_tki_line": tki,
                "io_line": io,
                "ppi_exposed": z,
                "antibiotic_exposed": z,
                "corticosteroid_exposed": z,
                "conc_hr": np.ones(m),
            }
        u = self.rng.random((3, m))
        ppi = tki & (u[0] < s.ppi_egfr_tki)
        abx = io & (u[1] < s.abx_io)
        cs = u[2] < s.corticosteroid_line
        hr = np.where(ppi, s.hr_ppi_egfr_tki, 1.0) * np.where(abx, s.hr_abx_io, 1.0)
        hr = hr * np.where(cs, s.hr_corticosteroid, 1.0)
        return {
            "egfr_tki_line": tki,
            "io_line": io,
            "ppi_exposed": ppi,
            "antibiotic_exposed": abx,
            "corticosteroid_exposed": cs,
            "conc_hr": hr,
        }

    def rwttnt_factor(self, t0: np.ndarray, expo: dict) -> np.ndarray:
        """`rwttnt_factor` of the lines drawn by `draw` (their baseline times `t0`), line type = EGFR-TKI,
        immunotherapy, both or neither; draws from this object's own stream."""
        group = expo["egfr_tki_line"].astype(np.int8) + 2 * expo["io_line"].astype(np.int8)
        return rwttnt_factor(self.rng, t0, expo["conc_hr"], group)


def _cips() -> dict[str, np.ndarray]:
    """CIP13 codes (int) per concomitant class, and their ingredient names."""
    d = drugs.drugs()
    dc = nomenclature.study_codes("CIP13")
    dc = dc.merge(d[["ingredient", "drug_class"]].drop_duplicates(), on="ingredient")
    out = {}
    for cls in CLASSES:
        sub = dc[dc["drug_class"] == cls].sort_values("code")
        out[cls] = (sub["code"].astype("int64").to_numpy(), sub["ingredient"].to_numpy())
    return out


def draw_dispensations(
    rng: np.random.Generator,
    persons: pd.DataFrame,
    lines: pd.DataFrame,
    death: np.ndarray,
    end_day: int,
    background_rate: float,
) -> pd.DataFrame:
    """Concomitant dispensations (one row per box): pid, date, days, cls, cip, ingredient, line_number.

    `lines` are the finalised lines (columns pid, line_number, first, stop and the exposure flags of
    LineExposure); days are days since the generator's epoch. Nothing is dispensed after death or the
    end of data. Vectorised over lines (repeat/cumsum), no loop over persons."""
    cips = _cips()
    L = {c: lines[c].to_numpy() for c in ("pid", "line_number", "first")}
    pid_l = L["pid"].astype(np.int64)
    start = L["first"].astype(np.int64)
    stop = np.minimum(lines["stop"].to_numpy().astype(np.int64), death[pid_l].astype(np.int64))
    stop = np.minimum(stop, end_day + 1)
    parts = []

    def add(pids, dates, days, cls, line_number):
        codes, ings = cips[cls]
        pick = rng.integers(0, codes.size, pids.size)
        parts.append(
            pd.DataFrame(
                {
                    "pid": pids,
                    "date": dates,
                    "days": days,
                    "cls": cls,
                    "cip": codes[pick],
                    "ingredient": ings[pick],
                    "line_number": line_number,
                }
            )
        )

    # PPI during exposed EGFR-TKI lines: boxes every 28 days (+0..3) from 0-60 days before the start
    li = np.flatnonzero(lines["ppi_exposed"].to_numpy())
    first = start[li] - rng.integers(0, 61, li.size)
    n = np.maximum((stop[li] - first) // PPI_DAYS + 1, 1)
    rep = np.repeat(np.arange(li.size), n)
    k = np.arange(rep.size) - np.repeat(np.cumsum(n) - n, n)
    dates = first[rep] + k * PPI_DAYS + np.minimum(k, 1) * rng.integers(0, 4, rep.size)
    keep = (dates < stop[li][rep]) | (k == 0)
    add(pid_l[li][rep][keep], dates[keep], PPI_DAYS, "ppi", L["line_number"][li][rep][keep])
    # antibiotics around exposed IO lines: 1 or 2 courses in [start - 60, min(start + 42, stop - 1)]
    li = np.flatnonzero(lines["antibiotic_exposed"].to_numpy())
    n = np.where(rng.random(li.size) < 0.7, 1, 2)
    rep = np.repeat(li, n)
    hi = np.maximum(np.minimum(start[rep] + 42, stop[rep] - 1), start[rep] - 60)
    dates = start[rep] - 60 + (rng.random(rep.size) * (hi - start[rep] + 61)).astype(np.int64)
    add(pid_l[rep], dates, ABX_DAYS, "antibiotic", L["line_number"][rep])
    # corticosteroids at the start of exposed lines: 1-3 consecutive 20-day boxes from 0-30 days before
    li = np.flatnonzero(lines["corticosteroid_exposed"].to_numpy())
    n = rng.integers(1, 4, li.size)
    rep = np.repeat(li, n)
    k = np.arange(rep.size) - np.repeat(np.cumsum(n) - n, n)
    dates = np.repeat(start[li] - rng.integers(0, 31, li.size), n) + k * CS_DAYS
    add(pid_l[rep], dates, CS_DAYS, "corticosteroid", L["line_number"][rep])

    # background: sporadic boxes over each person's follow-up, away from the windows of unexposed lines
    diag = persons["diag"].to_numpy().astype(np.int64)
    pend = np.minimum(death.astype(np.int64), end_day + 1)
    months = np.maximum(pend - diag + 30, 0) / 30.4375
    nb = rng.poisson(background_rate * months * 3)  # three classes
    bp = np.repeat(np.arange(len(persons)), nb)
    bdate = diag[bp] - 30 + (rng.random(bp.size) * (pend[bp] - diag[bp] + 30)).astype(np.int64)
    bcls = rng.integers(0, 3, bp.size)
    bdays = np.array([PPI_DAYS, ABX_DAYS, CS_DAYS])[bcls]
    bad = np.zeros(bp.size, bool)
    # exclusion windows per unexposed line: PPI [start - 90, stop], others [start - 90, start + 42]
    for ci, cls, typ, flag in (
        (0, "ppi", "egfr_tki_line", "ppi_exposed"),
        (1, "antibiotic", "io_line", "antibiotic_exposed"),
        (2, "corticosteroid", None, "corticosteroid_exposed"),
    ):
        sel = ~lines[flag].to_numpy()
        if typ is not None:
            sel &= lines[typ].to_numpy()
        lo = start[sel] - 90
        hi = stop[sel] if cls == "ppi" else start[sel] + 42
        win = pd.DataFrame({"pid": pid_l[sel], "lo": lo, "hi": hi})
        cand = pd.DataFrame({"row": np.flatnonzero(bcls == ci)})
        cand["pid"] = bp[cand["row"].to_numpy()]
        j = cand.merge(win, on="pid")
        d0 = bdate[j["row"].to_numpy()]
        hit = (d0 <= j["hi"].to_numpy()) & (d0 + bdays[j["row"].to_numpy()] - 1 >= j["lo"].to_numpy())
        bad[j["row"].to_numpy()[hit]] = True
    keepb = ~bad
    for ci, cls in enumerate(CLASSES):
        sel = keepb & (bcls == ci)
        add(bp[sel], bdate[sel], bdays[sel], cls, np.zeros(int(sel.sum()), np.int16))

    out = pd.concat(parts, ignore_index=True)
    pid = out["pid"].to_numpy()
    ok = (out["date"].to_numpy() < pend[pid]) & (out["date"].to_numpy() <= end_day)
    out = out[ok].sort_values(["pid", "date", "cls"], kind="stable").reset_index(drop=True)
    out["pid"] = out["pid"].astype(np.int32)
    out["date"] = out["date"].astype(np.int32)
    out["days"] = out["days"].astype(np.int32)
    out["line_number"] = out["line_number"].astype(np.int16)
    return out


def _person_ids(persons: pd.DataFrame, pid: np.ndarray):
    tid = persons["truth_person_id"].to_numpy()[pid]
    return pa.array(tid, pa.string()), pa.array(persons["ben_idt_ano"].to_numpy()[pid], pa.string())


def _date32(days: np.ndarray, epoch) -> pa.Array:
    return pa.array((epoch + days.astype("timedelta64[D]")).astype("datetime64[D]"), type=pa.date32())


def truth_tables(persons: pd.DataFrame, lines: pd.DataFrame, disp: pd.DataFrame, epoch) -> tuple[pa.Table, pa.Table]:
    """truth/concomitant_truth (one row per line) and truth/concomitant_dispensations (one row per box)."""
    pid = lines["pid"].to_numpy().astype(np.int64)
    tid, ben = _person_ids(persons, pid)
    line_t = pa.Table.from_arrays(
        [
            tid,
            ben,
            pa.array(lines["line_number"].to_numpy().astype(np.int16)),
            _date32(lines["first"].to_numpy().astype(np.int64), epoch),
        ]
        + [
            pa.array(lines[c].to_numpy().astype(bool))
            for c in ("egfr_tki_line", "io_line", "ppi_exposed", "antibiotic_exposed", "corticosteroid_exposed")
        ]
        + [pa.array(lines["conc_hr"].to_numpy().astype(float))],
        schema=TRUTH_SCHEMA,
    )
    if disp is None:
        disp = pd.DataFrame(
            {
                "pid": [],
                "date": [],
                "days": [],
                "ingredient": [],
                "cls": [],
                "cip": [],
                "line_number": np.zeros(0, np.int16),
            }
        )
    dp = disp["pid"].to_numpy().astype(np.int64)
    tid, ben = _person_ids(persons, dp)
    d = disp["date"].to_numpy().astype(np.int64)
    disp_t = pa.Table.from_arrays(
        [
            tid,
            ben,
            _date32(d, epoch),
            _date32(d + disp["days"].to_numpy() - 1, epoch),
            pa.array(disp["ingredient"].to_numpy().astype(str)),
            pa.array(disp["cls"].to_numpy().astype(str)),
            pa.array(disp["cip"].to_numpy().astype(np.int64)),
            pa.array(disp["line_number"].to_numpy()),
        ],
        schema=DISPENSATION_SCHEMA,
    )
    return line_t, disp_t
