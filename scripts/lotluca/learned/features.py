"""Features of each candidate treatment day (vectorised over all persons; exposures only, never gold).

Groups (names in `feature_names()`; every one is a float column, NaN when undefined):
- timing: first day of the person, days since the previous treatment day / drug day, days to the next
  one, days after the end of the supply covering the previous days (negative: still covered, e.g. an
  oral TKI box), days since the advanced diagnosis, days to death and to the end of follow-up;
- drugs: number of drugs of the day, drugs new versus the previous `recent_days` (and ever), drugs of
  the previous `recent_days` / the previous drug day not given today (dropped), added versus the
  previous drug day, substitutions (a new drug whose substitution partner was given recently), for
  each drug class: given today and new today; look-ahead: new drugs given again within `recent_days`
  after today, dropped drugs coming back after today;
- chemotherapy sessions without a drug name: on the day, in the previous / next `recent_days`;
- ODH signals: lowest cycle number of the day, cycle 1, protocol label changed versus the last label;
- the rule engine (`rule_preset`, e.g. lotluca): its decision on the day (new line, maintenance start),
  the reason of that decision (END_REASONS code of the row it closed), its line number, days and
  treatment days since its line started, drugs new / missing versus its current regimen.

The rule decisions are re-derived from `lotluca.lines.reconstruct_with_assignment` (which line row
each exposure row belongs to) without changing the engine or its results.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from lotluca import drugs
from lotluca.learned.candidates import DAY_SHIFT, Days
from lotluca.lines import END_REASONS, LineParams, reconstruct_with_assignment

CLASSES = sorted(drugs.ANTINEOPLASTIC_CLASSES)
REASON_CODE = {r: i for i, r in enumerate(END_REASONS)}
FIRST_CODE = len(END_REASONS)  # the person's first line (no row closed)


def feature_names() -> list[str]:
    base = [
        "first_day", "day_index", "days_since_prev_day", "days_since_prev_drug_day", "days_to_next_day",
        "days_after_supply_end", "days_since_diagnosis", "days_to_death", "days_to_end_of_followup",
        "n_drugs", "drug_day", "n_new_recent", "n_new_ever", "n_dropped_recent", "n_dropped_prev_day",
        "n_added_prev_day", "n_substitutions", "n_new_given_again", "n_dropped_coming_back",
        "session", "sessions_before", "sessions_after", "cycle_number", "cycle_one", "protocol_changed",
        "rule_new_line", "rule_maintenance_start", "rule_reason", "rule_line_number", "rule_days_in_line",
        "rule_days_count_in_line", "rule_is_maintenance", "n_new_vs_rule_regimen", "n_missing_vs_rule_regimen",
    ]  # fmt: skip
    return base + [f"has_{c}" for c in CLASSES] + [f"new_{c}" for c in CLASSES]


def _popcount(x: np.ndarray) -> np.ndarray:
    return np.bitwise_count(x.astype(np.int64)).astype(float)


def _window_or(key: np.ndarray, mask: np.ndarray, n_bits: int, lo, hi) -> np.ndarray:
    """OR of `mask` over the days of the same person with key in [key + lo, key + hi] (lo <= hi scalars
    or arrays, never reaching another person's keys; the day itself excluded when 0 is not in range)."""
    out = np.zeros(len(key), np.int64)
    a = np.searchsorted(key, key + lo, side="left")
    b = np.searchsorted(key, key + hi, side="right")
    for bit in range(n_bits):
        flag = ((mask >> bit) & 1).astype(np.int64)
        c = np.concatenate([[0], np.cumsum(flag)])
        out |= (c[b] - c[a] > 0).astype(np.int64) << bit
    return out


def _window_count(key: np.ndarray, flag: np.ndarray, lo: int, hi: int) -> np.ndarray:
    c = np.concatenate([[0], np.cumsum(flag.astype(np.int64))])
    return (c[np.searchsorted(key, key + hi, side="right")] - c[np.searchsorted(key, key + lo, side="left")]).astype(
        float
    )


def _masks_of(names, vocab: list[str]) -> np.int64:
    pos = {v: i for i, v in enumerate(vocab)}
    m = 0
    for n in names:
        if n in pos:
            m |= 1 << pos[n]
    return np.int64(m)


def _shift(values: np.ndarray, new_person: np.ndarray, fill, step: int = 1) -> np.ndarray:
    """values of the previous (step=1) / next (step=-1) day of the same person, `fill` across persons."""
    out = np.full(len(values), fill, dtype=np.result_type(values.dtype, np.asarray(fill).dtype))
    if step == 1:
        out[1:] = values[:-1]
        out[new_person] = fill
    else:
        out[:-1] = values[1:]
        last = np.zeros(len(values), bool)
        last[:-1] = new_person[1:]
        if len(values):
            last[-1] = True
        out[last] = fill
    return out


def rule_rows(days: Days, exposures, persons, chemo_sessions, params: LineParams) -> tuple[pd.DataFrame, np.ndarray]:
    """The rule engine's lines (pandas) and, for each day, the line row it belongs to (-1: none yet).

    Days the engine did not assign (sessions without drugs, rows it filtered) take the row of the previous
    assigned day of the same person."""
    lines, assign = reconstruct_with_assignment(exposures, persons, chemo_sessions, params)
    rl = lines.to_pandas()
    n = len(days.table)
    ed = days.exposure_day
    ok = (ed >= 0) & (assign >= 0)
    row = pd.Series(assign[ok]).groupby(ed[ok]).max().reindex(np.arange(n))
    row = row.groupby(days.table["pcode"].to_numpy()).ffill().fillna(-1).to_numpy(np.int64)
    return rl, row


@dataclass
class _DayArrays:
    """The columns of `days.table` the feature groups share, as arrays."""

    days: Days
    key: np.ndarray  # person code * DAY_SHIFT + date
    pcode: np.ndarray
    date: np.ndarray
    mask: np.ndarray  # ingredient bits of the day
    drug: np.ndarray  # a day with a drug (not a session only)
    new_person: np.ndarray  # the person's first day

    @classmethod
    def of(cls, days: Days) -> _DayArrays:
        t = days.table
        pcode = t["pcode"].to_numpy(np.int64)
        new_person = np.ones(len(t), bool)
        new_person[1:] = pcode[1:] != pcode[:-1]
        return cls(
            days,
            days.key,
            pcode,
            t["date"].to_numpy(np.int64),
            t["mask"].to_numpy(np.int64),
            t["drug_day"].to_numpy(bool),
            new_person,
        )


def _timing(a: _DayArrays, f: dict) -> None:
    """First day, days between treatment days, after the previous supply, since diagnosis, to death / follow-up."""
    date, pcode, new_person = a.date, a.pcode, a.new_person
    f["first_day"] = new_person.astype(float)
    f["day_index"] = pd.Series(np.ones(len(date))).groupby(pcode).cumsum().to_numpy() - 1
    prev_date = _shift(date.astype(float), new_person, np.nan)
    f["days_since_prev_day"] = date - prev_date
    drug_date = pd.Series(np.where(a.drug, date, np.nan)).groupby(pcode).ffill().to_numpy()
    f["days_since_prev_drug_day"] = date - _shift(drug_date, new_person, np.nan)
    f["days_to_next_day"] = _shift(date.astype(float), new_person, np.nan, step=-1) - date
    cover = pd.Series(a.days.table["dend"].to_numpy(float)).groupby(pcode).cummax().to_numpy()
    f["days_after_supply_end"] = date - _shift(cover, new_person, np.nan)
    pinfo = a.days.persons
    f["days_since_diagnosis"] = date - pinfo["diagnosis"].to_numpy()[pcode]
    f["days_to_death"] = pinfo["death"].to_numpy()[pcode] - date
    f["days_to_end_of_followup"] = pinfo["eof"].to_numpy()[pcode] - date


def _drug_changes(a: _DayArrays, f: dict, params: LineParams, recent_days: int) -> None:
    """Drugs versus the recent past (and future), by ingredient bits and by drug class."""
    key, mask, drug, vocab = a.key, a.mask, a.drug, a.days.vocab
    nb = len(vocab)
    recent = _window_or(key, mask, nb, -recent_days, -1)
    ever = _window_or(key, mask, nb, -(key % DAY_SHIFT), -1)  # the person's whole past
    ahead = _window_or(key, mask, nb, 1, recent_days)
    prev_drug_mask = _shift(
        pd.Series(np.where(drug, mask, np.nan)).groupby(a.pcode).ffill().to_numpy(), a.new_person, np.nan
    )
    pdm = np.nan_to_num(prev_drug_mask, nan=0).astype(np.int64)
    new_recent = mask & ~recent
    f["n_drugs"] = _popcount(mask)
    f["drug_day"] = drug.astype(float)
    f["n_new_recent"] = _popcount(new_recent)
    f["n_new_ever"] = _popcount(mask & ~ever)
    f["n_dropped_recent"] = np.where(drug, _popcount(recent & ~mask), np.nan)
    f["n_dropped_prev_day"] = np.where(drug, _popcount(pdm & ~mask), np.nan)
    f["n_added_prev_day"] = np.where(drug, _popcount(mask & ~pdm), np.nan)
    partner = np.zeros(len(key), np.int64)
    for x, y in params.substitutions:
        mx, my = _masks_of([x], vocab), _masks_of([y], vocab)
        partner |= np.where((new_recent & mx) != 0, my, 0) | np.where((new_recent & my) != 0, mx, 0)
    f["n_substitutions"] = _popcount(partner & recent)
    f["n_new_given_again"] = _popcount(new_recent & ahead)
    f["n_dropped_coming_back"] = np.where(drug, _popcount(recent & ~mask & ahead), np.nan)
    cls_of = drugs.ingredient_class()
    for c in CLASSES:
        cm = _masks_of([v for v in vocab if cls_of.get(v, "trial") == c], vocab)
        f[f"has_{c}"] = ((mask & cm) != 0).astype(float)
        f[f"new_{c}"] = ((new_recent & cm) != 0).astype(float)


def _sessions_and_protocol(a: _DayArrays, f: dict, recent_days: int) -> None:
    """Chemotherapy sessions without a drug name around the day; ODH cycle number and protocol change."""
    t = a.days.table
    ses = t["session"].to_numpy(bool)
    f["session"] = ses.astype(float)
    f["sessions_before"] = _window_count(a.key, ses, -recent_days, -1)
    f["sessions_after"] = _window_count(a.key, ses, 1, recent_days)
    cyc = t["cycle"].to_numpy(float)
    f["cycle_number"] = cyc
    f["cycle_one"] = np.where(np.isnan(cyc), np.nan, (cyc == 1).astype(float))
    proto = t["proto"].to_numpy(np.int64)
    last_proto = _shift(
        pd.Series(np.where(proto >= 0, proto, np.nan)).groupby(a.pcode).ffill().to_numpy(), a.new_person, np.nan
    )
    f["protocol_changed"] = np.where((proto >= 0) & ~np.isnan(last_proto), (proto != last_proto).astype(float), np.nan)


def _rule_decisions(a: _DayArrays, f: dict, exposures, persons, chemo_sessions, params: LineParams) -> None:
    """The rule engine's own decisions on the day and the state of its line."""
    date, mask, n = a.date, a.mask, len(a.date)
    rl, row = rule_rows(a.days, exposures, persons, chemo_sessions, params)
    has = row >= 0
    r = np.where(has, row, 0)
    prev_row = _shift(row, a.new_person, -1)
    boundary = has & (row != prev_row)
    r_maint = rl["is_maintenance"].to_numpy(bool) if len(rl) else np.zeros(1, bool)
    r_start = (
        (pd.to_datetime(rl["start_date"]) - pd.Timestamp("1970-01-01")).dt.days.to_numpy(float)
        if len(rl)
        else np.zeros(1)
    )
    r_line = rl["line_number"].to_numpy(float) if len(rl) else np.zeros(1)
    reasons = rl["end_reason"].map(REASON_CODE).fillna(-1).to_numpy(float) if len(rl) else np.zeros(1)
    f["rule_new_line"] = (boundary & ~r_maint[r]).astype(float)
    f["rule_maintenance_start"] = (boundary & r_maint[r]).astype(float)
    closed = np.where(prev_row >= 0, reasons[np.maximum(prev_row, 0)], FIRST_CODE)
    f["rule_reason"] = np.where(boundary, closed, -1.0)
    f["rule_line_number"] = np.where(has, r_line[r], 0.0)
    f["rule_days_in_line"] = np.where(has, date - r_start[r], np.nan)
    f["rule_days_count_in_line"] = pd.Series(np.ones(n)).groupby(a.pcode * (1 << 20) + row).cumsum().to_numpy() - 1
    f["rule_is_maintenance"] = np.where(has, r_maint[r].astype(float), np.nan)
    reg_mask = _regimen_masks(rl, a.days.vocab)
    prm = np.where(prev_row >= 0, reg_mask[np.maximum(prev_row, 0)], 0)
    f["n_new_vs_rule_regimen"] = np.where(prev_row >= 0, _popcount(mask & ~prm), np.nan)
    f["n_missing_vs_rule_regimen"] = np.where((prev_row >= 0) & a.drug, _popcount(prm & ~mask), np.nan)


def build_features(
    days: Days, exposures, persons, chemo_sessions, params: LineParams, recent_days: int
) -> pd.DataFrame:
    """Feature matrix (one row per day of `days.table`, columns `feature_names()`; groups in the module docstring)."""
    a = _DayArrays.of(days)
    f: dict[str, np.ndarray] = {}
    _timing(a, f)
    _drug_changes(a, f, params, recent_days)
    _sessions_and_protocol(a, f, recent_days)
    _rule_decisions(a, f, exposures, persons, chemo_sessions, params)
    return pd.DataFrame({k: np.asarray(f[k], dtype=float) for k in feature_names()})


def _regimen_masks(rl: pd.DataFrame, vocab: list[str]) -> np.ndarray:
    if not len(rl):
        return np.zeros(1, np.int64)
    uniq, inv = np.unique(rl["regimen"].astype(str).to_numpy(), return_inverse=True)
    m = np.array([_masks_of(u.split("+"), vocab) for u in uniq], dtype=np.int64)
    return m[inv]
