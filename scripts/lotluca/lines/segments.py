"""The segment scan of Merck's reference implementation (`line_scan: segments`), compiled per person.

The engine (`lotluca.lines.engine`) prepares the treatment days as for every preset; with
`same_day_tolerance_days: 4` a merged day is one of the reference's cycles. This module adds what the
reference reads beyond the days: the rows of each cycle (its raw dates, in date order, and the ingredients
of a date in name order, which is how the reference sees its input sorted by date then name), and the
reference's per-cycle two-cycle flag. The rules it implements, and where they differ from the paper, are
in docs/lines.md ("meng2021 and the reference implementation"); no code of the reference is copied here.

A line (segment) starts at the first cycle of the remaining days: its regimen is every drug of the cycles
within the regimen window; the scan then reads the rows one by one and stops at the first of: the last
row (a regimen drug), a gap longer than `gap_days` (unless the run of regimen rows from there holds a
gap-exempt drug), or a drug neither in the regimen nor a substitute of one. With `two_cycle_rule`, such a
new drug after a row whose cycle has not the letters of the cycle before (the reference's check, as
coded) replaces the regimen by the drugs of the new drug's cycle, moves the line start to their first
date, and the scan goes on. Line 1 with dropped drugs and only continuation-maintenance drugs left is
followed by a maintenance phase starting at the first cycle `maintenance_start_delay_days` after the last
day of the dropped drugs; the line after line 1 is a maintenance phase of line 1 when its regimen holds
every switch-maintenance drug. The next segment starts at the event's date.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import njit

MAX_BITS = 63
NONE = np.int64(-(1 << 40))
FAR = np.int64(1 << 40)
# end reasons of the scan (the engine's END_REASONS codes)
R_NEW_DRUG, R_GAP, R_MAINT, R_LAST = 0, 1, 3, -1


class SegmentRules(NamedTuple):
    """The LineParams read by the segment scan (drug lists as ingredient bit masks)."""

    window: np.int64  # regimen_window_days (also the reference's "dropped" horizon)
    gap: np.int64  # gap_days (FAR: none)
    exempt: np.int64  # gap_exempt_drugs
    sub_partner: np.ndarray  # int64 per bit: its substitution partners
    maint_on: bool  # maintenance and maintenance_start_delay_days not null
    cont_mask: np.int64  # continuation_maintenance_drugs
    switch_mask: np.int64  # switch_maintenance_drugs (all of them needed)
    delay: np.int64  # maintenance_start_delay_days
    two_cycle: bool  # two_cycle_rule
    death_window: np.int64  # death_window_days


def two_cycle_flags(cmask: np.ndarray, cperson: np.ndarray, names_by_bit: dict[int, str]) -> np.ndarray:
    """Per cycle: the reference's two-cycle flag as coded. It compares the *characters* of the comma-joined
    sorted drug names of the cycle and of the previous cycle of the person (each character of one found in
    the other, both ways), so the flag is: same set of characters. False on a person's first cycle."""
    masks, inv = np.unique(cmask, return_inverse=True)
    charsets: dict[frozenset, int] = {}
    code = np.empty(len(masks), np.int64)
    for i, m in enumerate(masks.tolist()):
        names = sorted(names_by_bit[b] for b in range(MAX_BITS) if (m >> b) & 1)
        code[i] = charsets.setdefault(frozenset(", ".join(names)), len(charsets))
    cs = code[inv.ravel()]
    flag = np.zeros(len(cmask), dtype=np.bool_)
    if len(cmask) > 1:
        flag[1:] = (cperson[1:] == cperson[:-1]) & (cs[1:] == cs[:-1])
    return flag


@njit(cache=True)
def _popcount(m):
    n = 0
    while m:
        m &= m - 1
        n += 1
    return n


@njit(cache=True)
def _exempt_run(c, r, b, e, roff, rmask, regimen, exempt):
    """The reference's gap exemption: the rows from (cycle c, raw date r, bit b) on, up to the first drug
    not in the regimen, hold a gap-exempt drug."""
    while c < e:
        while r < roff[c + 1]:
            m = rmask[r]
            while b < MAX_BITS:
                bit = np.int64(1) << b
                if (m & bit) != 0:
                    if (regimen & bit) == 0:
                        return False
                    if (exempt & bit) != 0:
                        return True
                b += 1
            r += 1
            b = 0
        c += 1
    return False


@njit(cache=True)
def _last_bit(m):
    b = MAX_BITS - 1
    while b > 0 and ((m >> b) & 1) == 0:
        b -= 1
    return b


@njit(cache=True)
def _scan(c0, e, cday, cmask, ctc, roff, rmask, rules):
    """Scan one segment from cycle c0: (end, next start (NONE: none), reason, regimen, adjusted start)."""
    regimen = np.int64(0)
    c = c0
    while c < e and cday[c] <= cday[c0] + rules.window:
        regimen |= cmask[c]
        c += 1
    end, nxt, reason, adj = NONE, NONE, R_LAST, NONE
    first = True
    prev_c = c0
    last_r = roff[e] - 1
    last_b = _last_bit(rmask[last_r])
    for c in range(c0, e):
        for r in range(roff[c], roff[c + 1]):
            m = rmask[r]
            for b in range(MAX_BITS):
                bit = np.int64(1) << b
                if (m & bit) == 0:
                    continue
                if first:
                    first = False
                    continue
                cur, nd = cday[prev_c], cday[c]
                known = (regimen & bit) != 0 or (rules.sub_partner[b] & regimen) != 0
                if r == last_r and b == last_b and known:
                    if nd - cur > rules.gap and not ((rules.exempt & bit) != 0 and (regimen & bit) != 0):
                        return cur, nd, R_GAP, regimen, adj
                    return nd, NONE, R_LAST, regimen, adj
                if nd - cur > rules.gap:
                    if not _exempt_run(c, r, b, e, roff, rmask, regimen, rules.exempt):
                        return cur, nd, R_GAP, regimen, adj
                elif not known and rules.two_cycle and not ctc[prev_c]:
                    regimen = cmask[c]  # the two-cycle rule: the new drug's cycle becomes the regimen
                    lo, hi = FAR, NONE
                    for j in range(c0, e):
                        if (cmask[j] & regimen) != 0:
                            lo = min(lo, cday[j])
                            hi = max(hi, cday[j])
                    adj, end, nxt, reason = lo, hi, nd, R_NEW_DRUG
                elif not known:
                    if (cmask[prev_c] & ~regimen) != 0 and prev_c > c0:
                        return cday[prev_c - 1], nd, R_NEW_DRUG, regimen, adj
                    return cur, nd, R_NEW_DRUG, regimen, adj
                prev_c = c
    if end == NONE:  # a segment of one row
        return cday[c0], NONE, R_LAST, regimen, adj
    return end, nxt, reason, regimen, adj


@njit(cache=True)
def _continuation(c0, e, cday, cmask, end, regimen, rules):
    """Line 1's continuation maintenance as the reference checks it: the start of the maintenance phase
    (NONE: no maintenance)."""
    inter = regimen & rules.cont_mask
    if inter == 0 or _popcount(regimen) < 2:
        return NONE
    last_seen = np.full(MAX_BITS, NONE, np.int64)
    seen = np.int64(0)
    for j in range(c0, e):
        if cday[j] > end:
            break
        seen |= cmask[j]
        for b in range(MAX_BITS):
            if (cmask[j] >> b) & 1:
                last_seen[b] = cday[j]
    dropped = np.int64(0)
    last_dropped = NONE
    for b in range(MAX_BITS):
        if last_seen[b] != NONE and last_seen[b] < end - rules.window:
            dropped |= np.int64(1) << b
            last_dropped = max(last_dropped, last_seen[b])
    group = regimen & seen
    kept = group & ~dropped
    n_drop = _popcount(group & dropped)
    if (kept & ~inter) == 0 and n_drop >= 1 and n_drop < _popcount(group):
        return last_dropped + rules.delay
    return NONE


@njit(cache=True)
def segments_kernel(days, cycles, rules, out):
    """Run the segment scan over every person's cycles; write line rows into the engine's `KernelOut`
    (`days`: the engine's KernelDays over cycles; `cycles`: (roff, rmask, ctc)); return the row count."""
    off, cday, cmask, death, eof = days.off, days.dday, days.dmask, days.death, days.eof
    roff, rmask, ctc = cycles
    n_rows = 0
    for p in range(off.shape[0] - 1):
        c0, e = off[p], off[p + 1]
        line_no = 0
        next_maint = False
        while c0 < e:
            end, nxt, reason, regimen, adj = _scan(c0, e, cday, cmask, ctc, roff, rmask, rules)
            start = adj if adj != NONE else cday[c0]
            is_maint = False
            if line_no == 1:
                sw = rules.switch_mask
                is_maint = next_maint or (sw != 0 and (regimen & sw) == sw)
                next_maint = False
            elif line_no == 0 and rules.maint_on:
                m_start = _continuation(c0, e, cday, cmask, end, regimen, rules)
                if m_start != NONE:
                    next_maint = True
                    nxt, reason = m_start, R_MAINT
            if not is_maint or line_no == 0:
                line_no += 1
            c1 = c0
            while c1 < e and (nxt == NONE or cday[c1] < nxt):
                c1 += 1
            if c1 >= e:  # the person's last line
                if death[p] != NONE and death[p] - end <= rules.death_window:
                    reason = 4  # death
                elif eof[p] == NONE or eof[p] - end <= rules.gap:
                    reason = 5  # end_of_data
                else:
                    reason = 6  # discontinued
            out.person[n_rows] = p
            out.line[n_rows] = line_no
            out.start[n_rows] = start
            out.end[n_rows] = max(min(end, cday[c1 - 1]), start)  # not after the row's last treatment day
            out.mask[n_rows] = regimen
            out.maint[n_rows] = is_maint
            out.reason[n_rows] = reason
            for j in range(c0, c1):
                out.day_row[j] = n_rows
            n_rows += 1
            c0 = c1
    return n_rows


def cycle_rows(raw_key: np.ndarray, raw_mask: np.ndarray, cycle_key: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The rows of each cycle: offsets into the raw (person, date) days of each merged day (cycle), and the
    raw days' ingredient masks (raw keys and cycle keys sorted alike, a cycle keyed by its first raw day)."""
    cyc = np.searchsorted(cycle_key, raw_key, side="right") - 1
    roff = np.searchsorted(cyc, np.arange(len(cycle_key) + 1)).astype(np.int64)
    return roff, raw_mask.astype(np.int64)
