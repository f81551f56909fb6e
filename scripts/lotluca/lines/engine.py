"""Reconstruct lines of therapy from exposures with the rules of a `LineParams` (one compiled state machine).

`reconstruct_with_assignment` runs the documented steps of docs/lines.md ("How a reconstruction runs"):
keep the antineoplastic exposures of the study period, encode persons and ingredients as integers,
reduce the rows of each (person, date) to one treatment day, merge days closer than the same-day
tolerance, add the chemotherapy sessions as days without a drug, then run the compiled per-person state
machine `_kernel` over all days at once. The kernel's inputs are three records: `KernelDays` (per-day
and per-person arrays), `KernelRules` (the preset's parameters as integers and ingredient bit masks) and
`KernelOut` (the preallocated line rows). The line rules and the `end_reason` vocabulary (END_REASONS)
are specified in docs/lines.md.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from numba import njit

from lotluca import drugs
from lotluca.contracts import LINES
from lotluca.errors import InputError
from lotluca.lines import segments
from lotluca.lines.params import LineParams

log = logging.getLogger(__name__)

END_REASONS = ("new_drug", "gap", "drug_dropped", "maintenance", "death", "end_of_data", "discontinued", "restart")
R_NEW_DRUG, R_GAP, R_DROPPED, R_MAINT, R_DEATH, R_EOD, R_DISC, R_RESTART = range(8)
MAX_INGREDIENTS = 63  # bits of a positive int64
NONE = np.int64(-(1 << 40))  # "no date" inside the kernel
FAR = np.int64(1 << 40)  # "infinite" number of days
DATE_BITS = 20  # sort key = person code << DATE_BITS | days since the earliest date
UNNAMED_CHEMO = "unnamed_chemotherapy"  # regimen of a line seen only as 28Z07Z sessions (session_lines)
NO_CYCLE = np.int32(np.iinfo(np.int32).max)  # "no cycle number" of a day


# ------------------------------------------------------------------------------------------------
# the kernel's records (numba-compatible named tuples)
# ------------------------------------------------------------------------------------------------
class KernelDays(NamedTuple):
    """Treatment days of every person, sorted by (person, date): the kernel's per-day and per-person input."""

    off: np.ndarray  # int64, persons + 1: the days of person p are off[p]:off[p + 1]
    dday: np.ndarray  # int64 day number (days since 1970-01-01)
    dmask: np.ndarray  # int64 ingredient bits of the day (0: a chemotherapy session without a drug name)
    dend: np.ndarray  # int64 end of the day's supply
    dlast: np.ndarray  # int64 latest administration date of the day (> dday when close days were merged)
    div: np.ndarray  # bool: an IV drug on the day
    dcycle: np.ndarray  # int32 lowest ODH cycle number (NO_CYCLE: none)
    dproto: np.ndarray  # int32 protocol label code (-1: none)
    death: np.ndarray  # int64 per person: death day (NONE: alive)
    eof: np.ndarray  # int64 per person: end of follow-up (NONE: unknown)


class KernelRules(NamedTuple):
    """The rules of a `LineParams` as the kernel reads them (days as int64, drug lists as ingredient bit masks)."""

    window: np.int64  # regimen_window_days
    gap: np.int64  # gap_days (FAR: none)
    gap_min_cycles: np.int64
    exempt: np.int64  # gap_exempt_drugs
    sub_partner: np.ndarray  # int64 per ingredient bit: the bits of its substitution partners
    maint_on: bool  # maintenance
    cont_mask: np.int64  # continuation_maintenance_drugs
    switch_mask: np.int64  # switch_maintenance_drugs
    maint_min: np.int64  # maintenance_min_cycles
    maint_max_gap: np.int64  # maintenance_max_gap_days (FAR: none)
    drop_adv: bool  # drop_advances
    late_mask: np.int64  # late_addition_drugs
    late_max: np.int64  # late_addition_max_cycle
    use_sessions: bool  # use_chemo_sessions
    use_proto: bool  # use_protocol_signals
    death_window: np.int64  # death_window_days
    chemo_mask: np.int64  # cytotoxic chemotherapy ingredients (and the unnamed-chemotherapy bit)
    chemo_gap: np.int64  # chemo_gap_days (FAR: none)
    reinduction: bool  # maintenance_reinduction_advances
    session_lines: bool  # use_chemo_sessions and session_lines
    hidden_mask: np.int64  # drugs given in day sessions without a name in SNDS
    u_mask: np.int64  # the unnamed-chemotherapy bit (0: session_lines off)


class KernelOut(NamedTuple):
    """Line rows written by the kernel (capacity 2 rows per day + 1) and the row of each day."""

    person: np.ndarray  # int64 person code
    line: np.ndarray  # int16 line number
    start: np.ndarray  # int64 day number
    end: np.ndarray  # int64 day number
    mask: np.ndarray  # int64 regimen ingredient bits
    maint: np.ndarray  # bool: a maintenance phase row
    reason: np.ndarray  # int8 END_REASONS code
    day_row: np.ndarray  # int64 per day: its line row (-1: none)

    @classmethod
    def empty(cls, n_days: int) -> KernelOut:
        cap = 2 * n_days + 1
        return cls(
            np.empty(cap, np.int64),
            np.empty(cap, np.int16),
            np.empty(cap, np.int64),
            np.empty(cap, np.int64),
            np.empty(cap, np.int64),
            np.empty(cap, np.bool_),
            np.empty(cap, np.int8),
            np.full(n_days, -1, np.int64),
        )


# ------------------------------------------------------------------------------------------------
# the compiled state machine
# ------------------------------------------------------------------------------------------------
@njit(cache=True)
def _emit(out, n_rows, dday, first_k, k_end, row, phase):
    """Write the row(s) of one closed line and assign its days first_k:k_end to them; return the new row count.

    row: (person, line number, start, end, regimen mask, end reason); phase: (split into induction and
    maintenance rows, end of the induction supply, maintenance start, maintenance mask).
    """
    p, line_no, start, end, regimen, reason = row
    split, ind_end, maint_start, mmask = phase
    if split:
        e1 = min(ind_end, maint_start - 1)
        if e1 < start:
            e1 = start
        a = n_rows
        b = n_rows + 1
        out.person[a] = p
        out.line[a] = line_no
        out.start[a] = start
        out.end[a] = e1
        out.mask[a] = regimen
        out.maint[a] = False
        out.reason[a] = R_MAINT
        out.person[b] = p
        out.line[b] = line_no
        out.start[b] = maint_start
        out.end[b] = max(end, maint_start)
        out.mask[b] = mmask
        out.maint[b] = True
        out.reason[b] = reason
        for j in range(first_k, k_end):
            out.day_row[j] = a if dday[j] < maint_start else b
        return n_rows + 2
    out.person[n_rows] = p
    out.line[n_rows] = line_no
    out.start[n_rows] = start
    out.end[n_rows] = end
    out.mask[n_rows] = regimen
    out.maint[n_rows] = False
    out.reason[n_rows] = reason
    for j in range(first_k, k_end):
        out.day_row[j] = n_rows
    return n_rows + 1


@njit(cache=True)
def _kernel(days, rules, out):
    """Run the line rules over every person's days (`KernelDays`) with `KernelRules`, writing line rows
    into `KernelOut`; return the number of rows written."""
    off, dday, dmask, dend, dlast, div, dcycle, dproto, death, eof = days
    (window, gap, gap_min_cycles, exempt, sub_partner, maint_on, cont_mask, switch_mask, maint_min, maint_max_gap,
     drop_adv, late_mask, late_max, use_sessions, use_proto, death_window, chemo_mask, chemo_gap, reinduction,
     session_lines, hidden_mask, u_mask) = rules  # fmt: skip
    n_rows = 0
    n_persons = off.shape[0] - 1
    for p in range(n_persons):
        s = off[p]
        e = off[p + 1]
        line_no = 0
        active = False
        # line state
        start = NONE
        first_k = 0
        regimen = np.int64(0)
        allowed = np.int64(0)
        switched = np.int64(0)
        lmask = np.int64(0)
        last_end = NONE
        last_day = NONE
        ncyc = 0
        n_ind = 0
        last_nonmaint = NONE
        ind_end = NONE
        maint_start = NONE
        mmask = np.int64(0)
        n_mdays = 0
        forced = False
        has_iv = False
        line_proto = -1
        pending = NONE  # first unexplained session of a possible unnamed-chemotherapy line
        pending_k = 0
        for k in range(s, e):
            d = np.int64(dday[k])
            m = dmask[k]
            gap_lim = gap
            if active and chemo_gap < gap and (lmask & ~chemo_mask) == 0 and maint_start == NONE and switched == 0:
                gap_lim = chemo_gap  # a pure chemotherapy line without maintenance: shorter gap
            open_d = d
            open_k = k
            opening = not active
            reason = -1
            if m == 0:  # a chemotherapy session without a drug name
                if not use_sessions:
                    continue
                explains = has_iv if not session_lines else (lmask & (hidden_mask | u_mask)) != 0
                if active and explains and d >= start and d - last_end <= gap_lim:
                    if d > last_end:
                        last_end = d  # the line continues (its IV drugs may have no name in SNDS)
                    pending = NONE
                    continue
                if not session_lines or (active and d <= start + window):
                    continue
                if pending == NONE or d - pending > chemo_gap:
                    pending = d
                    pending_k = k
                    continue
                # a second unexplained session: an unnamed chemotherapy line started at the first one
                m = u_mask
                open_d = pending
                open_k = pending_k
                pending = NONE
                if active:
                    reason = R_GAP if open_d - last_end > gap_lim and (lmask & exempt) == 0 else R_NEW_DRUG
            elif active:
                if d - last_end > gap_lim and (lmask & exempt) == 0 and ncyc >= gap_min_cycles:
                    reason = R_GAP
                elif d <= start + window:
                    regimen |= m
                    allowed |= m
                else:
                    new = m & ~allowed
                    if new != 0 and regimen == u_mask and u_mask != 0 and (new & ~hidden_mask) == 0:
                        regimen = new  # an unnamed-chemotherapy line: its drugs are named at last
                        allowed |= new
                        new = np.int64(0)
                    elif new != 0:
                        accepted = np.int64(0)
                        for b in range(MAX_INGREDIENTS):
                            bit = np.int64(1) << b
                            if (new & bit) == 0:
                                continue
                            if (sub_partner[b] & allowed) != 0:
                                accepted |= bit
                            elif (late_mask & bit) != 0 and ncyc < late_max and (m & allowed) != 0:
                                accepted |= bit  # added to drugs of the line given the same day
                                regimen |= bit
                            elif use_proto and dproto[k] >= 0 and dproto[k] == line_proto and dcycle[k] >= 2:
                                accepted |= bit
                                regimen |= bit
                        unresolved = new & ~accepted
                        if unresolved != 0:
                            maint_ok = (allowed & cont_mask) | switched
                            if (
                                maint_on
                                and (unresolved & ~switch_mask) == 0
                                and (m & ~(maint_ok | unresolved)) == 0
                                and last_nonmaint != NONE
                                and n_ind >= maint_min
                                and d - ind_end <= maint_max_gap
                            ):
                                switched |= unresolved
                            else:
                                reason = R_NEW_DRUG
                        if reason < 0:
                            allowed |= new
                    elif drop_adv and (m & regimen) != regimen:
                        reason = R_DROPPED
                    if reason < 0 and new == 0:
                        maint_ok = (allowed & cont_mask) | switched
                        in_maint = (
                            maint_on
                            and maint_start != NONE
                            and (forced or (n_ind >= maint_min and maint_start - ind_end <= maint_max_gap))
                        )
                        if reinduction and in_maint and n_mdays >= 2 and (m & ~maint_ok) != 0:
                            reason = R_RESTART  # induction drugs again after a maintenance phase
                        elif (
                            use_proto
                            and dcycle[k] == 1
                            and ncyc >= 2
                            and not ((m & ~maint_ok) == 0 and last_nonmaint != NONE)
                        ):
                            reason = R_RESTART  # the same drugs restarting at cycle 1
            if reason >= 0:
                # close the current line; the next one starts on open_d (today, or a pending session)
                line_no += 1
                end = min(last_end, open_d - 1)
                if death[p] != NONE and end > death[p]:
                    end = death[p]
                if end < last_day:
                    end = last_day
                split = (
                    maint_on
                    and maint_start != NONE
                    and last_nonmaint != NONE
                    and (forced or (n_ind >= maint_min and maint_start - ind_end <= maint_max_gap))
                )
                n_rows = _emit(
                    out,
                    n_rows,
                    dday,
                    first_k,
                    open_k,
                    (p, line_no, start, end, regimen, reason),
                    (split, ind_end, maint_start, mmask),
                )
                opening = True
            if opening:
                active = True
                start = open_d
                first_k = open_k
                regimen = m
                allowed = m
                switched = np.int64(0)
                lmask = np.int64(0)
                last_end = open_d
                ncyc = 0
                n_ind = 0
                last_nonmaint = NONE
                ind_end = NONE
                maint_start = NONE
                mmask = np.int64(0)
                n_mdays = 0
                forced = False
                has_iv = False
                line_proto = -1
            # the day belongs to the current line: update its state
            maint_ok = (allowed & cont_mask) | switched
            if (
                use_proto
                and dcycle[k] == 1
                and dproto[k] >= 0
                and line_proto >= 0
                and dproto[k] != line_proto
                and (m & ~maint_ok) == 0
                and last_nonmaint != NONE
            ):
                forced = True  # a maintenance protocol restarting at C1
            if dend[k] > last_end:
                last_end = np.int64(dend[k])
            last_day = np.int64(dlast[k])  # a line ends no earlier than its last administration
            ncyc += 1
            lmask |= m
            has_iv = has_iv or div[k] or m == u_mask
            pending = NONE
            if dproto[k] >= 0:
                line_proto = dproto[k]
            nonm = m & ~maint_ok
            if nonm != 0:
                last_nonmaint = d
                if dend[k] > ind_end:
                    ind_end = np.int64(dend[k])
                n_ind += 1
                maint_start = NONE
                mmask = np.int64(0)
                n_mdays = 0
                forced = False
            else:
                if last_nonmaint != NONE and maint_start == NONE:
                    maint_start = d
                if maint_start != NONE:
                    mmask |= m
                    n_mdays += 1
        if active:
            line_no += 1
            end = last_end
            if death[p] != NONE and end > death[p]:
                end = death[p]
            if end < last_day:
                end = last_day
            if death[p] != NONE and death[p] - end <= death_window:
                reason = R_DEATH
            elif eof[p] == NONE or eof[p] - end <= gap:
                reason = R_EOD
            else:
                reason = R_DISC
            split = (
                maint_on
                and maint_start != NONE
                and last_nonmaint != NONE
                and (forced or (n_ind >= maint_min and maint_start - ind_end <= maint_max_gap))
            )
            n_rows = _emit(
                out,
                n_rows,
                dday,
                first_k,
                e,
                (p, line_no, start, end, regimen, reason),
                (split, ind_end, maint_start, mmask),
            )
    return n_rows


# ------------------------------------------------------------------------------------------------
# preparation (vectorised) and output
# ------------------------------------------------------------------------------------------------
def _as_table(data, name: str) -> pa.Table:
    if data is None:
        return None
    if isinstance(data, pa.Table):
        return data
    return pa.Table.from_pandas(data, preserve_index=False)


def _require(table: pa.Table, columns, name: str) -> None:
    for col in columns:
        if col not in table.column_names:
            raise InputError(name, "missing column", column=col, expected=f"columns {list(columns)}")


def _null_rows(table: pa.Table, col: str, name: str) -> None:
    arr = table.column(col)
    if arr.null_count:
        rows = np.flatnonzero(arr.is_null().to_numpy(zero_copy_only=False))
        raise InputError(name, "null values", column=col, rows=rows.tolist(), expected="a value on every row")


NA32 = np.int32(np.iinfo(np.int32).min)  # "no date" in the per-row int32 arrays


def _days32(arr, file: str = "input", column: str = "date") -> np.ndarray:
    """date32 (or timestamp / date64) Arrow column -> int32 days since 1970-01-01 (nulls -> NA32)."""
    if pa.types.is_null(arr.type) or (len(arr) == arr.null_count and not pa.types.is_date32(arr.type)):
        arr = pa.nulls(len(arr), pa.date32())
    if not pa.types.is_date32(arr.type):
        try:
            arr = arr.cast(pa.date32())
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
            raise InputError(
                file, f"not a date column ({arr.type})", column=column, expected="date32 or timestamp"
            ) from exc
    return arr.cast(pa.int32()).fill_null(NA32).to_numpy(zero_copy_only=False)


def _days(arr, file: str = "input", column: str = "date") -> np.ndarray:
    """Same as _days32 as int64 with the kernel's NONE for nulls (for the small per-person arrays)."""
    out = _days32(arr, file, column).astype(np.int64)
    out[out == NA32] = NONE
    return out


def _codes(col, sort: bool = False) -> tuple[pa.Array, np.ndarray]:
    """Distinct non-null values of a column and each row's index into them (int32, -1 for null).

    Per-row string work is done once per distinct value, never per row (25M rows stay cheap).
    """
    if not isinstance(col, pa.ChunkedArray):
        col = pa.chunked_array([col])
    uniq = pc.unique(col).drop_null()
    if sort:
        uniq = uniq.take(pc.sort_indices(uniq))
    idx = pc.index_in(col, value_set=uniq).fill_null(-1)
    arr = idx.to_numpy() if isinstance(idx, pa.ChunkedArray) else idx.to_numpy(zero_copy_only=False)
    return uniq, arr.astype(np.int32, copy=False)


def _in_sorted(values: np.ndarray, sorted_arr: np.ndarray) -> np.ndarray:
    """values found in the sorted array (binary search; np.isin's hashing is slow on these keys)."""
    if not len(sorted_arr):
        return np.zeros(len(values), dtype=bool)
    pos = np.minimum(np.searchsorted(sorted_arr, values), len(sorted_arr) - 1)
    return sorted_arr[pos] == values


def _mask_of(names, bit_of: dict[str, int]) -> np.int64:
    m = 0
    for n in names:
        if n in bit_of:
            m |= 1 << bit_of[n]
    return np.int64(m)


def _norm(values) -> list[str]:
    return [" ".join(str(v).strip().lower().split()) for v in values]


# ------------------------------------------------------------------------------------------------
# the reconstruction, step by step
# ------------------------------------------------------------------------------------------------
def _antineoplastic(exp: pa.Table, ename: str) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Step 1a: the distinct ingredient names (normalised), each row's index into them, and which rows are
    antineoplastic (by drug_class, else the drugs.csv reference; unknown ingredients are kept)."""
    ing_vals, iidx = _codes(exp.column("ingredient").cast(pa.string()))
    inames = _norm(ing_vals.to_pylist())
    ref_class = drugs.ingredient_class()
    anti_by_ref = np.array([ref_class.get(i, "trial") in drugs.ANTINEOPLASTIC_CLASSES for i in inames] + [False])
    if "drug_class" in exp.column_names:
        cls_vals, cidx = _codes(exp.column("drug_class").cast(pa.string()))
        cls_ok = np.array([c in drugs.ANTINEOPLASTIC_CLASSES for c in _norm(cls_vals.to_pylist())] + [False])
        keep = cls_ok[cidx]
        no_cls = cidx < 0
        if no_cls.any():  # rows without a class: the reference decides (unknown ingredient -> kept)
            keep[no_cls] = anti_by_ref[iidx[no_cls]]
        del cidx, no_cls
    else:
        keep = anti_by_ref[iidx]
    unknown = sorted({i for i in inames if i not in ref_class})
    if unknown:
        log.warning(
            "%s: ingredient names not in drugs.csv (kept as antineoplastic unless their drug_class says otherwise): %s",
            ename,
            unknown[:20],
        )
    return inames, iidx, keep


def _sessions(chemo_sessions, params: LineParams, sname: str) -> pa.Table | None:
    """The chemotherapy sessions when the preset uses them (validated), else None."""
    if not (params.use_chemo_sessions and chemo_sessions is not None):
        return None
    ses = _as_table(chemo_sessions, sname)
    _require(ses, ("person_id", "date"), sname)
    _null_rows(ses, "date", sname)
    _null_rows(ses, "person_id", sname)
    return ses


def _person_codes(exp: pa.Table, ses: pa.Table | None, params: LineParams) -> tuple[pa.Array, np.ndarray]:
    """Step 2a: sorted distinct person ids (of the exposures, and of the sessions with session_lines) and
    each exposure row's person code."""
    exp_pid = exp.column("person_id").cast(pa.string())
    if ses is not None and params.session_lines:
        # persons seen only through sessions can have (unnamed chemotherapy) lines too
        both = pa.chunked_array(exp_pid.chunks + ses.column("person_id").cast(pa.string()).chunks, type=pa.string())
        uniq, _ = _codes(both, sort=True)
        return uniq, pc.index_in(exp_pid, value_set=uniq).to_numpy().astype(np.int32)
    return _codes(exp_pid, sort=True)


def _person_dates(persons, uniq: pa.Array, pname: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Step 2b: diagnosis, death and end-of-follow-up day of each person code (NONE when unknown)."""
    n_persons = len(uniq)
    diag = np.full(n_persons, NONE, dtype=np.int64)
    death = np.full(n_persons, NONE, dtype=np.int64)
    eof = np.full(n_persons, NONE, dtype=np.int64)
    if persons is not None:
        per = _as_table(persons, pname)
        _require(per, ("person_id",), pname)
        _null_rows(per, "person_id", pname)
        ppos = (
            pc.index_in(per.column("person_id").cast(pa.string()), value_set=uniq)
            .fill_null(-1)
            .to_numpy(zero_copy_only=False)
        )
        ok = ppos >= 0
        for col, target in (("diagnosis_date", diag), ("death_date", death), ("end_of_followup", eof)):
            if col in per.column_names:
                target[ppos[ok]] = _days(per.column(col), pname, col)[ok]
    return diag, death, eof


def _after_diagnosis(
    date: np.ndarray, pcode: np.ndarray, diag: np.ndarray, keep: np.ndarray, params: LineParams, ename: str
) -> np.ndarray:
    """Step 1b: the rows kept (antineoplastic and not before the advanced diagnosis minus the lookback)."""
    n_in, n_not_anti = len(keep), int(len(keep) - keep.sum())
    if params.diagnosis_lookback_days is not None:
        dg = diag[pcode]
        before = (dg != NONE) & (date < dg - params.diagnosis_lookback_days)
        del dg
        n_before = int((before & keep).sum())
        keep &= ~before
        del before
    else:
        n_before = 0
    if n_not_anti or n_before:
        log.info(
            "%s: %d of %d rows used; %d not antineoplastic, %d before the advanced diagnosis",
            ename,
            int(keep.sum()),
            n_in,
            n_not_anti,
            n_before,
        )
    return np.flatnonzero(keep)


def _ingredient_bits(inames: list[str], iidx: np.ndarray, rows: np.ndarray, ename: str):
    """Step 2c: sorted used ingredient names -> bit numbers (independent of the input order), and the bit of
    each distinct ingredient value (0 when unused)."""
    used = np.zeros(len(inames) + 1, dtype=bool)
    used[iidx[rows]] = True
    used_names = sorted({inames[i] for i in np.flatnonzero(used[:-1])})
    if len(used_names) > MAX_INGREDIENTS:
        raise InputError(
            ename,
            f"{len(used_names)} distinct antineoplastic ingredients",
            column="ingredient",
            expected=f"at most {MAX_INGREDIENTS}",
        )
    bit_of = {n: b for b, n in enumerate(used_names)}
    val_bit = np.array([np.int64(1) << bit_of[n] if n in bit_of else 0 for n in inames] + [0], dtype=np.int64)
    return used_names, bit_of, val_bit


@dataclass
class _Days:
    """Treatment days under construction: sort keys (person code << DATE_BITS | day - dmin) and per-day values."""

    key: np.ndarray
    mask: np.ndarray
    end: np.ndarray
    iv: np.ndarray
    cycle: np.ndarray
    proto: np.ndarray
    dmin: int  # the earliest date (day number) of the keys
    srows: np.ndarray  # the used exposure rows, sorted by (person, date)
    exp_day: np.ndarray  # the day of each sorted used row
    last: np.ndarray  # latest administration date (day number) of each day: its own date until days merge


def _sort_key(date, pcode, rows, ses: pa.Table | None, ename: str, sname: str) -> tuple[np.ndarray, int]:
    """Step 3a: the sort key of each used row and the earliest date (of the used rows and the sessions)."""
    dmin = int(date[rows].min()) if len(rows) else 0
    if ses is not None and ses.num_rows:
        sd = _days32(ses.column("date"), sname, "date")
        dmin = min(dmin, int(sd.min())) if len(rows) else int(sd.min())
        del sd
    if len(rows) and int(date[rows].max()) - dmin >= (1 << DATE_BITS):
        raise InputError(ename, "dates span more than 2,800 years", column="date")
    return (pcode[rows].astype(np.int64) << DATE_BITS) | (date[rows] - dmin), dmin


def _treatment_days(exp: pa.Table, rows, key, dmin: int, date, iidx, val_bit, params: LineParams, ename: str) -> _Days:
    """Step 3b: one sort by (person, date), then the rows of each (person, date) reduced to one day: OR of the
    ingredient bits, latest end of supply, any IV route, lowest cycle number, protocol label code."""
    order = np.argsort(key, kind="stable")
    srows = rows[order]
    skey = key[order]
    del key, order
    n = len(skey)
    first = np.ones(n, dtype=bool)
    if n:
        first[1:] = skey[1:] != skey[:-1]
    starts = np.flatnonzero(first)
    dkey = skey[starts]
    del skey
    exp_day = np.cumsum(first, dtype=np.int64) - 1  # day index of each sorted used row
    del first

    def reduce(values, ufunc, empty_dtype):
        if not n:
            return np.zeros(0, empty_dtype)
        return ufunc.reduceat(values[srows], starts)

    dmask = reduce(val_bit[iidx], np.bitwise_or, np.int64) if n else np.zeros(0, np.int64)
    if params.use_days_supply and "end_date" in exp.column_names:
        e = _days32(exp.column("end_date"), ename, "end_date")
        back = (e != NA32) & (e < date)
        if back.any():
            log.warning(
                "%s: %d rows with end_date before date (rows %s...): end_date taken as date",
                ename,
                int(back.sum()),
                np.flatnonzero(back)[:10].tolist(),
            )
        end = np.where(e == NA32, date, np.maximum(e, date))
        del e, back
    else:
        end = date
    dend = reduce(end, np.maximum, np.int32)
    del end
    if "route" in exp.column_names:
        r_vals, ridx = _codes(exp.column("route").cast(pa.string()))
        iv_of = np.array([v == "iv" for v in _norm(r_vals.to_pylist())] + [False])
        div = reduce(iv_of[ridx], np.logical_or, np.bool_)
        del ridx
    else:
        div = np.zeros(len(dkey), np.bool_)
    dcyc = np.full(len(dkey), NO_CYCLE, np.int32)
    dproto = np.full(len(dkey), -1, np.int32)
    if params.use_protocol_signals:
        if "cycle_number" in exp.column_names:
            cyc = exp.column("cycle_number").cast(pa.int32()).fill_null(NO_CYCLE).to_numpy()
            dcyc = reduce(np.asarray(cyc, np.int32), np.minimum, np.int32)
        if "protocol_label" in exp.column_names:
            l_vals, lidx = _codes(exp.column("protocol_label").cast(pa.string()))
            labels = [" ".join(v.upper().split()) for v in l_vals.to_pylist()]
            canon = sorted(set(labels))
            code = np.array([canon.index(v) for v in labels] + [-1], dtype=np.int32)
            dproto = reduce(code[lidx], np.maximum, np.int32)
    last = ((dkey & ((1 << DATE_BITS) - 1)) + dmin).astype(np.int64)
    return _Days(dkey, dmask, dend, div, dcyc, dproto, dmin, srows, exp_day, last)


def _merge_close_days(days: _Days, tol: int) -> None:
    """Step 4: treatment days of a person at most `tol` days apart form one day (date jitter between sources)."""
    dkey = days.key
    if tol <= 0 or len(dkey) <= 1:
        return
    dp, dd = dkey >> DATE_BITS, dkey & ((1 << DATE_BITS) - 1)
    new = np.ones(len(dkey), dtype=bool)
    new[1:] = (dp[1:] != dp[:-1]) | (dd[1:] - dd[:-1] > tol)
    if new.all():
        return
    cstart = np.flatnonzero(new)
    days.exp_day = (np.cumsum(new) - 1)[days.exp_day]
    days.key = dkey[cstart]
    days.mask = np.bitwise_or.reduceat(days.mask, cstart)
    days.end = np.maximum.reduceat(days.end, cstart)
    days.last = np.maximum.reduceat(days.last, cstart)
    days.iv = np.logical_or.reduceat(days.iv, cstart)
    days.cycle = np.minimum.reduceat(days.cycle, cstart)
    days.proto = np.maximum.reduceat(days.proto, cstart)


def _add_sessions(
    days: _Days,
    raw_key: np.ndarray,
    ses: pa.Table | None,
    uniq: pa.Array,
    diag: np.ndarray,
    params: LineParams,
    sname: str,
) -> None:
    """Step 5: chemotherapy sessions as days without a drug (only when the preset uses them); a session
    within the same-day tolerance of a treatment day (keys `raw_key`, before merging) is that day's."""
    if ses is None or not ses.num_rows:
        return
    dmin, tol = days.dmin, params.same_day_tolerance_days
    spos = pc.index_in(ses.column("person_id").cast(pa.string()), value_set=uniq).fill_null(-1)
    spos = np.asarray(
        spos.to_numpy() if isinstance(spos, pa.ChunkedArray) else spos.to_numpy(zero_copy_only=False), np.int64
    )
    sdate = _days32(ses.column("date"), sname, "date").astype(np.int64)
    ok = (spos >= 0) & (sdate >= dmin) & (sdate - dmin < (1 << DATE_BITS))
    if params.diagnosis_lookback_days is not None:
        sdiag = diag[np.maximum(spos, 0)]
        ok &= (sdiag == NONE) | (sdate >= sdiag - params.diagnosis_lookback_days)
    skeys = np.sort((spos[ok] << DATE_BITS) | (sdate[ok] - dmin))
    skeys = skeys[np.r_[True, skeys[1:] != skeys[:-1]]] if len(skeys) else skeys
    for shift in range(-tol, tol + 1):
        skeys = skeys[~_in_sorted(skeys + shift, raw_key)]
    if not len(skeys):
        return
    n_exp_days, k = len(days.key), len(skeys)
    allkey = np.concatenate([days.key, skeys])
    dorder = np.argsort(allkey, kind="stable")
    pos_of = np.empty(len(allkey), dtype=np.int64)
    pos_of[dorder] = np.arange(len(allkey))
    days.exp_day = pos_of[:n_exp_days][days.exp_day]
    days.key = allkey[dorder]
    days.mask = np.concatenate([days.mask, np.zeros(k, np.int64)])[dorder]
    days.end = np.concatenate([days.end, ((skeys & ((1 << DATE_BITS) - 1)) + dmin).astype(days.end.dtype)])[dorder]
    days.last = np.concatenate([days.last, (skeys & ((1 << DATE_BITS) - 1)) + dmin])[dorder]
    days.iv = np.concatenate([days.iv, np.zeros(k, np.bool_)])[dorder]
    days.cycle = np.concatenate([days.cycle, np.full(k, NO_CYCLE, np.int32)])[dorder]
    days.proto = np.concatenate([days.proto, np.full(k, -1, np.int32)])[dorder]


def _kernel_days(days: _Days, n_persons: int, death: np.ndarray, eof: np.ndarray) -> KernelDays:
    """Step 6a: the kernel's day record (day numbers, person offsets)."""
    dday = (days.key & ((1 << DATE_BITS) - 1)) + days.dmin
    off = np.searchsorted(days.key >> DATE_BITS, np.arange(n_persons + 1)).astype(np.int64)
    return KernelDays(
        off,
        dday.astype(np.int64),
        days.mask.astype(np.int64),
        days.end.astype(np.int64),
        days.last.astype(np.int64),
        days.iv.astype(np.bool_),
        days.cycle.astype(np.int32),
        days.proto.astype(np.int32),
        death,
        eof,
    )


def _sub_partners(params: LineParams, bit_of: dict[str, int]) -> np.ndarray:
    """Per ingredient bit: the bits of its substitution partners."""
    sub_partner = np.zeros(64, dtype=np.int64)
    for a, b in params.substitutions:
        if a in bit_of and b in bit_of:
            sub_partner[bit_of[a]] |= np.int64(1) << bit_of[b]
            sub_partner[bit_of[b]] |= np.int64(1) << bit_of[a]
    return sub_partner


def _kernel_rules(params: LineParams, bit_of: dict[str, int], used_names: list[str], ename: str) -> KernelRules:
    """Step 6b: the kernel's rule record; with session_lines, adds the unnamed-chemotherapy bit to `bit_of`."""
    sub_partner = _sub_partners(params, bit_of)
    chemo_mask = _mask_of([n for n in used_names if drugs.ingredient_class().get(n) in drugs.CHEMO_CLASSES], bit_of)
    # drugs given in day sessions without a name in SNDS (drugs.csv snds_visibility "session")
    ref = drugs.drugs()
    hidden_mask = _mask_of(set(ref.loc[ref["snds_visibility"] == "session", "ingredient"]), bit_of)
    u_mask = np.int64(0)
    if params.use_chemo_sessions and params.session_lines:
        if len(bit_of) >= MAX_INGREDIENTS:
            raise InputError(
                ename,
                "too many distinct antineoplastic ingredients",
                column="ingredient",
                expected=f"at most {MAX_INGREDIENTS - 1}",
            )
        bit_of[UNNAMED_CHEMO] = len(bit_of)
        u_mask = np.int64(1) << bit_of[UNNAMED_CHEMO]
        chemo_mask |= u_mask

    def days_or_far(value):
        return np.int64(int(FAR) if value is None else value)

    return KernelRules(
        window=np.int64(params.regimen_window_days),
        gap=days_or_far(params.gap_days),
        gap_min_cycles=np.int64(params.gap_min_cycles),
        exempt=_mask_of(params.gap_exempt_drugs, bit_of),
        sub_partner=sub_partner,
        maint_on=bool(params.maintenance),
        cont_mask=_mask_of(params.continuation_maintenance_drugs, bit_of),
        switch_mask=_mask_of(params.switch_maintenance_drugs, bit_of),
        maint_min=np.int64(params.maintenance_min_cycles),
        maint_max_gap=days_or_far(params.maintenance_max_gap_days),
        drop_adv=bool(params.drop_advances),
        late_mask=_mask_of(params.late_addition_drugs, bit_of),
        late_max=np.int64(params.late_addition_max_cycle),
        use_sessions=bool(params.use_chemo_sessions),
        use_proto=bool(params.use_protocol_signals),
        death_window=np.int64(params.death_window_days),
        chemo_mask=chemo_mask,
        chemo_gap=days_or_far(params.chemo_gap_days),
        reinduction=bool(params.maintenance_reinduction_advances),
        session_lines=bool(params.use_chemo_sessions and params.session_lines),
        hidden_mask=hidden_mask,
        u_mask=u_mask,
    )


def _segment_cycles(kdays: KernelDays, days: _Days, raw_key, raw_mask, bit_of: dict[str, int]):
    """Step 6c (line_scan: segments): the rows of each cycle and the reference's two-cycle flags."""
    roff, rmask = segments.cycle_rows(raw_key, raw_mask, days.key)
    cperson = days.key >> DATE_BITS
    ctc = segments.two_cycle_flags(kdays.dmask, cperson, {b: n for n, b in bit_of.items()})
    return roff, rmask, ctc


def _segment_rules(params: LineParams, bit_of: dict[str, int]) -> segments.SegmentRules:
    """Step 6b (line_scan: segments): the segment scan's rule record."""
    sub_partner = _sub_partners(params, bit_of)
    delay = params.maintenance_start_delay_days
    return segments.SegmentRules(
        window=np.int64(params.regimen_window_days),
        gap=np.int64(int(FAR) if params.gap_days is None else params.gap_days),
        exempt=_mask_of(params.gap_exempt_drugs, bit_of),
        sub_partner=sub_partner,
        maint_on=bool(params.maintenance and delay is not None),
        cont_mask=_mask_of(params.continuation_maintenance_drugs, bit_of),
        switch_mask=_mask_of(params.switch_maintenance_drugs, bit_of)
        if all(d in bit_of for d in params.switch_maintenance_drugs)
        else np.int64(0),
        delay=np.int64(0 if delay is None else delay),
        two_cycle=bool(params.two_cycle_rule),
        death_window=np.int64(params.death_window_days),
    )


def reconstruct_with_assignment(
    exposures,
    persons=None,
    chemo_sessions=None,
    params: LineParams | None = None,
    names: tuple[str, str, str] = ("exposures", "persons", "chemo_sessions"),
):
    """Lines (contracts.LINES) and, for each input exposure row, the index of its line row (-1: not used).

    An exposure is not used when its drug is not antineoplastic or it precedes the advanced diagnosis by
    more than `diagnosis_lookback_days` (both logged with counts). Steps: see the module docstring.
    """
    if params is None:
        raise ValueError("params is required (see lotluca.lines.load_params)")
    ename, pname, sname = names
    exp = _as_table(exposures, ename)
    _require(exp, ("person_id", "date", "ingredient"), ename)
    for col in ("person_id", "date", "ingredient"):
        _null_rows(exp, col, ename)
    n_in = exp.num_rows

    inames, iidx, keep = _antineoplastic(exp, ename)  # 1. antineoplastic rows of the study period
    ses = _sessions(chemo_sessions, params, sname)
    uniq, pcode = _person_codes(exp, ses, params)  # 2. persons and ingredients as integers
    diag, death, eof = _person_dates(persons, uniq, pname)
    date = _days32(exp.column("date"), ename, "date")
    rows = _after_diagnosis(date, pcode, diag, keep, params, ename)
    del keep
    used_names, bit_of, val_bit = _ingredient_bits(inames, iidx, rows, ename)
    key, dmin = _sort_key(date, pcode, rows, ses, ename, sname)  # 3. one day per (person, date)
    del pcode
    days = _treatment_days(exp, rows, key, dmin, date, iidx, val_bit, params, ename)
    del rows, key, date, iidx
    raw_key, raw_mask = days.key, days.mask
    _merge_close_days(days, params.same_day_tolerance_days)  # 4. days closer than the tolerance merged
    _add_sessions(days, raw_key, ses, uniq, diag, params, sname)  # 5. sessions as days without a drug
    kdays = _kernel_days(days, len(uniq), death, eof)  # 6. the compiled state machine
    out = KernelOut.empty(len(kdays.dday))
    if params.line_scan == "segments":  # the reference implementation's scan (lotluca.lines.segments)
        n_rows = segments.segments_kernel(kdays, _segment_cycles(kdays, days, raw_key, raw_mask, bit_of),
                                          _segment_rules(params, bit_of), out)  # fmt: skip
    else:
        n_rows = _kernel(kdays, _kernel_rules(params, bit_of, used_names, ename), out)
    del raw_key, raw_mask

    assignment = np.full(n_in, -1, dtype=np.int64)
    if len(days.srows):
        assignment[days.srows] = out.day_row[days.exp_day]
    return _lines_table(uniq, bit_of, params.name, n_rows, out), assignment


def _lines_table(uniq: pa.Array, bit_of: dict[str, int], algorithm: str, n: int, out: KernelOut) -> pa.Table:
    """Step 7: the contracts.LINES table of the first `n` kernel rows (regimen names from the bit masks)."""
    names_by_bit = {b: name for name, b in bit_of.items()}
    masks, inv = np.unique(out.mask[:n], return_inverse=True)
    reg_name, reg_class = [], []
    for m in masks.tolist():
        ingr = [names_by_bit[b] for b in range(MAX_INGREDIENTS) if (m >> b) & 1]
        if len(ingr) > 1 and UNNAMED_CHEMO in ingr:
            ingr.remove(UNNAMED_CHEMO)  # named drugs joined an unnamed-chemotherapy line
        reg_name.append(drugs.regimen_name(ingr))
        reg_class.append(drugs.regimen_class(ingr))
    reg_name_a = pa.array(reg_name, pa.string())
    reg_class_a = pa.array(reg_class, pa.string())
    inv_a = pa.array(inv.astype(np.int32))
    reasons = pa.array(list(END_REASONS), pa.string())
    cols = {
        "person_id": uniq.take(pa.array(out.person[:n])),
        "line_number": pa.array(out.line[:n], pa.int16()),
        "start_date": pa.array(out.start[:n].astype(np.int32), pa.int32()).cast(pa.date32()),
        "end_date": pa.array(out.end[:n].astype(np.int32), pa.int32()).cast(pa.date32()),
        "regimen": reg_name_a.take(inv_a),
        "regimen_class": reg_class_a.take(inv_a),
        "is_maintenance": pa.array(out.maint[:n], pa.bool_()),
        "end_reason": reasons.take(pa.array(out.reason[:n].astype(np.int32))),
        "algorithm": pa.array(np.full(n, algorithm, dtype=object), pa.string()) if n else pa.array([], pa.string()),
    }
    return pa.Table.from_arrays([cols[f.name] for f in LINES], schema=LINES)


def reconstruct(exposures, persons=None, chemo_sessions=None, params: LineParams | None = None, **kw) -> pa.Table:
    """Lines of therapy (contracts.LINES), one row per line and one per maintenance phase."""
    return reconstruct_with_assignment(exposures, persons, chemo_sessions, params, **kw)[0]
