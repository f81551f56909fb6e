"""The chart-abstraction layer of the gold standard: what an ESME-trained technician records from the chart, its
errors, and the written definition that turns the records into lines (docs/gold-standard.md).

Three pure, vectorised steps over every person at once:

- `chart_episodes(lines, events, ...)`: the true chart, one row per treatment episode (a period of a line with the
  same drugs), with the reason that opened it (initial, progression, toxicity, other), whether it is maintenance,
  where the line was given, and, for a line's last episode, why the line stopped. The reasons come from the
  simulator's truth: a table of the regimen changes inside lines (`changes_from_truth`) when the simulator
  gives one, else derived from the traps (`changes_of_traps`: toxicity drop / swap, maintenance, restart after
  a holiday).
- `abstract(rng, episodes, settings)`: the records as abstracted, with errors at the configured rates
  (`Abstraction`): a short line missed, a reason misclassified, a drug omitted, a line given elsewhere dated to the
  month, a date wrong by a few days; returns the records and, per record, which error touched it.
- `build_lines(records)`: the definition: a change at progression opens a new line, every other change (toxicity,
  planned switch, maintenance, restart after a break) stays in the line; one row per line in the layout of the
  simulator's lines (first, last, reg_mask, ma_first, ma_last, ma_mask, end_reason), which `gold.line_rows` names.

`lotluca.simulate.gold.gold_standard` chains them for the gold persons of a block and measures the gold's agreement
with the truth (`agreement`, per person; `agreement_table` for the whole cohort).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa

from lotluca.config import Settings

# recorded reason of the change that opened an episode
INITIAL, PROGRESSION, TOXICITY, OTHER = range(4)
CHANGE_REASONS = np.array(["initial", "progression", "toxicity", "other"])
ERROR_TYPES = ("missed_short_line", "reason_error", "drug_missed", "elsewhere_month", "date_error")
NEVER = np.int64(2**30)
PROG = 0  # the code of progression in treatment.REASONS (not imported: params imports this module)
_BEV_LIKE = ("bevacizumab", "ramucirumab")  # added at cycle 2 as planned: no change of regimen


@dataclass(frozen=True)
class Abstraction(Settings):
    """Abstraction noise (`simulate.abstraction`): each error type happens with probability error_rate x its
    weight (capped at 1) per unit named in the config schema; error_rate 0 gives the definition's lines exactly."""

    error_rate: float
    date_error: float
    date_error_days: int
    missed_short_line: float
    short_line_days: int
    reason_error: float
    drug_missed: float
    elsewhere_month: float

    def rate(self, error: str) -> float:
        return float(min(1.0, self.error_rate * getattr(self, error)))


def _group_or(keys: np.ndarray, values: np.ndarray, n: int) -> np.ndarray:
    out = np.zeros(n, np.uint64)
    np.bitwise_or.at(out, keys, values)
    return out


def changes_of_traps(lines: pd.DataFrame, events: pd.DataFrame, ing_index: dict) -> pd.DataFrame:
    """Within-line regimen changes of the current simulator (line_id, date, reason, substitute): the drugs given
    at a cycle differ from the previous cycle's (toxicity for a drop or a same-line swap, whose new drug is the
    `substitute` bit mask; other for a drug added, except bevacizumab / ramucirumab added at cycle 2 as planned),
    the start of maintenance (other), and the restart after a holiday (other). Oral drugs change nothing but
    their restart after a holiday."""
    iv = events[~events["oral"].to_numpy() & (events["day"].to_numpy() == 0)]
    key = iv["line_id"].to_numpy().astype(np.int64) * 100_000 + iv["cycle"].to_numpy().astype(np.int64)
    uk, inv = np.unique(key, return_inverse=True)
    bit = np.left_shift(np.uint64(1), iv["ing"].to_numpy().astype(np.uint64))
    mask = _group_or(inv, bit, uk.size)
    sw = iv["swapped"].to_numpy()
    swapped = _group_or(inv[sw], bit[sw], uk.size)
    maint = np.zeros(uk.size, bool)
    np.logical_or.at(maint, inv, iv["is_maint"].to_numpy())
    date = np.full(uk.size, NEVER)
    np.minimum.at(date, inv, iv["date"].to_numpy().astype(np.int64))
    line, cycle = uk // 100_000, uk % 100_000
    same_line = np.zeros(uk.size, bool)
    same_line[1:] = line[1:] == line[:-1]
    prev, prev_swapped, prev_maint = np.roll(mask, 1), np.roll(swapped, 1), np.roll(maint, 1)
    bev = np.uint64(0)
    for name in _BEV_LIKE:
        bev |= np.left_shift(np.uint64(1), np.uint64(ing_index[name]))
    planned_bev = (cycle == 2) & (((mask & ~prev) & ~bev) == 0) & ((prev & ~mask) == 0)
    to_maint = same_line & maint & ~prev_maint
    changed = (same_line & (mask != prev) & ~planned_bev) | to_maint
    subst = swapped & ~prev_swapped
    tox = changed & ~to_maint & ((subst != 0) | ((mask & ~prev) == 0))
    out = [
        pd.DataFrame(
            {
                "line_id": line[changed],
                "date": date[changed],
                "reason": np.where(tox, TOXICITY, OTHER)[changed],
                "substitute": np.where(tox, subst, np.uint64(0))[changed],
            }
        )
    ]
    # restart after a holiday: the first administration of the cycle (IV) or dispensation (oral) after the pause
    hol = lines.set_index("line_id")["hol_after"].reindex(events["line_id"].to_numpy()).to_numpy()
    oral = events["oral"].to_numpy()
    k = np.where(oral, events["phase_cycle"].to_numpy(), events["cycle"].to_numpy()).astype(np.int64) - 1
    rs = events[(k == hol) & (hol < 10_000) & (oral | (events["day"].to_numpy() == 0))]
    rs = rs.groupby("line_id", as_index=False)["date"].min()
    out.append(rs.assign(reason=OTHER, substitute=np.uint64(0)))
    ch = pd.concat(out, ignore_index=True)
    ch = ch[ch["line_id"].isin(lines["line_id"])]
    return unique_changes(ch)


def changes_from_truth(
    changes_truth: pd.DataFrame, lines: pd.DataFrame, person_ids: np.ndarray, ing_index: dict
) -> pd.DataFrame:
    """Within-line changes (line_id, date, reason, substitute) from a truth table of regimen changes (one row per
    change inside a line: truth_person_id, line_number, date, kind, reason, ingredient_to): reason toxicity ->
    TOXICITY, any other -> OTHER; a drug swapped for toxicity brings its ingredient_to as a substitute. Rows of
    lines absent from `lines` are dropped. `person_ids`: the truth_person_id of each pid."""
    ch = changes_truth
    key = pd.MultiIndex.from_arrays([person_ids[lines["pid"].to_numpy()], lines["line_number"].to_numpy()])
    at = key.get_indexer(pd.MultiIndex.from_arrays([ch["truth_person_id"].to_numpy(), ch["line_number"].to_numpy()]))
    ok = at >= 0
    tox = ch["reason"].to_numpy() == "toxicity"
    to = ch["ingredient_to"].to_numpy()
    swap = tox & (ch["kind"].to_numpy() == "drug_swapped") & pd.notna(to)
    code = np.where(swap, pd.Series(to).map(ing_index).fillna(-1).to_numpy(), -1).astype(np.int64)
    sub = np.where(code >= 0, np.left_shift(np.uint64(1), code.clip(0).astype(np.uint64)), np.uint64(0))
    days = pd.to_datetime(ch["date"]).to_numpy().astype("datetime64[D]").astype(np.int64)
    out = pd.DataFrame(
        {
            "line_id": lines["line_id"].to_numpy()[at[ok]],
            "date": days[ok],
            "reason": np.where(tox, TOXICITY, OTHER)[ok],
            "substitute": sub[ok].astype(np.uint64),
        }
    )
    return unique_changes(out)


def unique_changes(changes: pd.DataFrame) -> pd.DataFrame:
    """One change per line and date (toxicity before other; substitutes merged), sorted by line and date."""
    ch = changes.astype({"line_id": np.int64, "date": np.int64, "reason": np.int8, "substitute": np.uint64})
    ch = ch.sort_values(["line_id", "date", "reason"], kind="stable").reset_index(drop=True)
    key = ch["line_id"].to_numpy() * (NEVER * 2) + ch["date"].to_numpy()
    first = np.flatnonzero(np.r_[True, key[1:] != key[:-1]]) if len(ch) else np.zeros(0, np.int64)
    sub = np.bitwise_or.reduceat(ch["substitute"].to_numpy(), first) if len(ch) else ch["substitute"].to_numpy()
    out = ch.iloc[first].reset_index(drop=True)
    out["substitute"] = sub.astype(np.uint64)
    return out


def chart_episodes(
    lines: pd.DataFrame, events: pd.DataFrame, changes: pd.DataFrame, death: np.ndarray, end_day: int, centre: int
) -> pd.DataFrame:
    """The true chart: one row per episode (a line cut at each within-line change date of `changes`), with pid,
    line_id, line_number (true), start, end (last administration or end of supply, cut at the line's stop, death
    and end of data), mask (ingredient bits), reason (INITIAL / PROGRESSION on a line's first episode, the
    change's reason on the others), substitute (drugs that replaced others for toxicity), maintenance,
    elsewhere (line not given at the centre), stop_reason (the line's end_reason code on its last episode, -1 on
    the others). Sorted by pid, start."""
    lid = lines["line_id"].to_numpy()
    row_of = pd.Index(lid)
    ev = events[np.isin(events["line_id"].to_numpy(), lid)]
    ev_line = row_of.get_indexer(ev["line_id"].to_numpy()).astype(np.int64)
    ev_date = ev["date"].to_numpy().astype(np.int64)
    ch = unique_changes(changes[changes["line_id"].isin(lid)])
    ch_line = row_of.get_indexer(ch["line_id"].to_numpy()).astype(np.int64)
    ck = ch_line * (NEVER * 2) + ch["date"].to_numpy()
    order = np.argsort(ck, kind="stable")
    ck, ch = ck[order], ch.iloc[order].reset_index(drop=True)
    # segment of an event: number of change dates of its line on or before its date
    line0 = np.searchsorted(ck, ev_line * (NEVER * 2))
    seg = np.searchsorted(ck, ev_line * (NEVER * 2) + ev_date, side="right") - line0
    uk, inv = np.unique(ev_line * 4096 + seg, return_inverse=True)
    line, sg = uk // 4096, uk % 4096
    n = uk.size
    start = np.full(n, NEVER)
    np.minimum.at(start, inv, ev_date)
    end = np.full(n, -1, np.int64)
    np.maximum.at(end, inv, ev["end_date"].to_numpy().astype(np.int64))
    mask = _group_or(inv, np.left_shift(np.uint64(1), ev["ing"].to_numpy().astype(np.uint64)), n)
    maint = np.zeros(n, bool)
    np.logical_or.at(maint, inv, ev["is_maint"].to_numpy())
    pid = lines["pid"].to_numpy()[line]
    stop_day = np.minimum(lines["stop"].to_numpy()[line], death[pid]) - 1
    end = np.minimum(np.maximum(np.minimum(end, stop_day), start), end_day)
    first_seg = np.r_[True, line[1:] != line[:-1]] if n else np.zeros(0, bool)
    last_seg = np.r_[line[:-1] != line[1:], True] if n else np.zeros(0, bool)
    at = np.clip(np.searchsorted(ck, line * (NEVER * 2)) + sg - 1, 0, max(len(ch) - 1, 0))
    ch_reason = ch["reason"].to_numpy() if len(ch) else np.zeros(1, np.int8)
    ch_sub = ch["substitute"].to_numpy() if len(ch) else np.zeros(1, np.uint64)
    number = lines["line_number"].to_numpy()[line]
    reason = np.where(first_seg, np.where(number == 1, INITIAL, PROGRESSION), ch_reason[at])
    out = pd.DataFrame(
        {
            "pid": pid.astype(np.int64),
            "line_id": lid[line].astype(np.int64),
            "line_number": number.astype(np.int16),
            "start": start,
            "end": end,
            "mask": mask,
            "reason": reason.astype(np.int8),
            "substitute": np.where(first_seg, np.uint64(0), ch_sub[at]).astype(np.uint64),
            "maintenance": maint,
            "elsewhere": lines["setting"].to_numpy()[line] != centre,
            "stop_reason": np.where(last_seg, lines["end_reason"].to_numpy()[line], -1).astype(np.int8),
        }
    )
    return out.sort_values(["pid", "start", "line_id"], kind="stable").reset_index(drop=True)


def _month_15th(days: np.ndarray) -> np.ndarray:
    """The 15th of the month of each day (days since 1970-01-01): a date known to the month only."""
    m = days.astype("datetime64[D]").astype("datetime64[M]")
    return (m.astype("datetime64[D]") + np.timedelta64(14, "D")).astype(np.int64)


def _missed_short_lines(rng, ep: pd.DataFrame, p: float, short_days: int) -> tuple[pd.DataFrame, np.ndarray]:
    span = ep.groupby("line_id", sort=False)["end"].transform("max") - ep.groupby("line_id", sort=False)[
        "start"
    ].transform("min")
    several = ep.groupby("pid", sort=False)["line_id"].transform("nunique").to_numpy() > 1
    short_line = ep.loc[(span.to_numpy() < short_days) & several, "line_id"].unique()
    missed = short_line[rng.random(short_line.size) < p]
    hit = ep["line_id"].isin(missed).to_numpy()
    return ep[~hit].reset_index(drop=True), np.unique(ep["pid"].to_numpy()[hit])


def abstract(rng: np.random.Generator, episodes: pd.DataFrame, a: Abstraction) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The records an abstractor writes from `episodes` (chart_episodes), with errors drawn at the rates of `a`,
    in this order: a short line (< short_line_days from first to last treatment day) missed; the reason of a
    change (any episode but a person's first) replaced by one of the two others; a drug of a multi-drug episode
    omitted; the dates of a line given elsewhere known to the month (the 15th); each recorded date (an
    episode's start, its end) shifted by 1..date_error_days days either way. Returns the records (the columns of
    `episodes`, sorted by pid and recorded start) and the errors: one row per (pid, error type) drawn."""
    errors = []
    ep, hit = _missed_short_lines(rng, episodes, a.rate("missed_short_line"), a.short_line_days)
    errors.append(pd.DataFrame({"pid": hit, "error": "missed_short_line"}))
    ep = ep.copy()
    n = len(ep)
    pid = ep["pid"].to_numpy()
    change = np.r_[False, pid[1:] == pid[:-1]] if n else np.zeros(0, bool)
    flip = change & (rng.random(n) < a.rate("reason_error"))
    reason = ep["reason"].to_numpy().astype(np.int64)
    reason = np.where(reason == INITIAL, PROGRESSION, reason)  # a person's later episode never is "initial"
    shift = rng.integers(1, 3, n)  # one of the two other reasons among progression, toxicity, other
    new_reason = (reason - 1 + shift) % 3 + 1
    ep["reason"] = np.where(flip, new_reason, ep["reason"].to_numpy()).astype(np.int8)
    # the substitutes follow the recorded reason: none unless toxicity; a change recorded as toxicity brings as
    # substitutes the drugs the previous episode did not have
    prev_mask = np.r_[np.uint64(0), ep["mask"].to_numpy()[:-1]] if n else ep["mask"].to_numpy()
    sub = np.where(flip, ep["mask"].to_numpy() & ~prev_mask, ep["substitute"].to_numpy())
    ep["substitute"] = np.where(ep["reason"].to_numpy() == TOXICITY, sub, np.uint64(0)).astype(np.uint64)
    errors.append(pd.DataFrame({"pid": pid[flip], "error": "reason_error"}))
    mask = ep["mask"].to_numpy()
    bits = np.unpackbits(mask.view(np.uint8).reshape(n, 8), axis=1, bitorder="little").astype(bool)
    nbits = bits.sum(axis=1)
    omit = (nbits >= 2) & (rng.random(n) < a.rate("drug_missed"))
    pick = np.floor(rng.random(n) * np.maximum(nbits, 1)).astype(np.int64)  # which of its drugs
    pos = np.argmax(np.cumsum(bits, axis=1) > pick[:, None], axis=1).astype(np.uint64)
    ep["mask"] = np.where(omit, mask & ~np.left_shift(np.uint64(1), pos), mask)
    errors.append(pd.DataFrame({"pid": pid[omit], "error": "drug_missed"}))
    lines_else = ep.loc[ep["elsewhere"].to_numpy(), "line_id"].unique()
    month_lines = lines_else[rng.random(lines_else.size) < a.rate("elsewhere_month")]
    month = ep["line_id"].isin(month_lines).to_numpy()
    start, end = ep["start"].to_numpy().copy(), ep["end"].to_numpy().copy()
    start[month], end[month] = _month_15th(start[month]), _month_15th(end[month])
    errors.append(pd.DataFrame({"pid": np.unique(pid[month]), "error": "elsewhere_month"}))
    p = a.rate("date_error")
    wrong = rng.random((n, 2)) < p
    delta = rng.integers(1, max(a.date_error_days, 1) + 1, (n, 2)) * np.where(rng.random((n, 2)) < 0.5, -1, 1)
    delta = np.where(wrong, delta, 0)
    start, end = start + delta[:, 0], end + delta[:, 1]
    ep["start"], ep["end"] = start, np.maximum(end, start)
    errors.append(pd.DataFrame({"pid": pid[wrong.any(axis=1)], "error": "date_error"}))
    ep = ep.sort_values(["pid", "start", "line_id"], kind="stable").reset_index(drop=True)
    err = pd.concat(errors, ignore_index=True).drop_duplicates().reset_index(drop=True)
    return ep, err


def build_lines(records: pd.DataFrame) -> pd.DataFrame:
    """The definition (docs/gold-standard.md) applied to abstraction records (pid, start, end, mask, reason,
    substitute, maintenance, stop_reason; any order): per person in order of start, the first episode and
    every episode opened at progression open a new line; any other change (toxicity, other) continues the line.
    A line: first = first start of its episodes, last = last end; reg_mask = drugs of its non-maintenance
    episodes but the substitutes of a toxicity switch; its maintenance episodes (an episode opening a line is
    never maintenance) form its maintenance phase (ma_first, ma_last, ma_mask; NEVER / -1 / 0 without);
    end_reason = the stop reason recorded on its last episode, else progression (the next line opened at
    progression). One row per line: pid, line_number, first, last, reg_mask, ma_first, ma_last, ma_mask,
    end_reason (a treatment.REASONS code)."""
    ep = records.sort_values(["pid", "start"], kind="stable").reset_index(drop=True)
    n = len(ep)
    pid = ep["pid"].to_numpy()
    first_of_pid = np.r_[True, pid[1:] != pid[:-1]] if n else np.zeros(0, bool)
    new_line = first_of_pid | (ep["reason"].to_numpy() == PROGRESSION)
    line = np.cumsum(new_line) - 1
    heads = np.flatnonzero(new_line)
    n_lines = heads.size
    mask = ep["mask"].to_numpy().astype(np.uint64)
    maint = ep["maintenance"].to_numpy() & ~new_line
    start, end = ep["start"].to_numpy().astype(np.int64), ep["end"].to_numpy().astype(np.int64)
    subst = _group_or(line, ep["substitute"].to_numpy().astype(np.uint64), n_lines)
    given = _group_or(line[~maint], mask[~maint], n_lines)
    reg = np.where((given & ~subst) != 0, given & ~subst, given)
    first = np.full(n_lines, NEVER)
    np.minimum.at(first, line, start)
    last = np.full(n_lines, -1, np.int64)
    np.maximum.at(last, line, end)
    ma_first = np.full(n_lines, NEVER)
    np.minimum.at(ma_first, line[maint], start[maint])
    ma_last = np.full(n_lines, -1, np.int64)
    np.maximum.at(ma_last, line[maint], end[maint])
    last_ep = np.r_[heads[1:] - 1, n - 1] if n else heads
    stop = ep["stop_reason"].to_numpy()[last_ep]
    person_head = np.maximum.accumulate(np.where(first_of_pid, line, 0)) if n else line
    return pd.DataFrame(
        {
            "pid": pid[heads],
            "line_number": (np.arange(n_lines) - person_head[heads] + 1).astype(np.int16),
            "first": first,
            "last": last,
            "reg_mask": reg,
            "ma_first": ma_first,
            "ma_last": ma_last,
            "ma_mask": _group_or(line[maint], mask[maint], n_lines),
            "end_reason": np.where(stop < 0, PROG, stop).astype(np.int8),
        }
    )


ASPECTS = ("start_date", "end_date", "regimen", "maintenance", "end_reason")  # compared line by line


def agreement(
    truth_rows: pd.DataFrame, gold_rows: pd.DataFrame, errors: pd.DataFrame, pids: np.ndarray
) -> pd.DataFrame:
    """Per gold person (pids): whether their gold rows differ from their true rows (gold.line_rows frames:
    line_number, is_maintenance, start, end, regimen, end_reason), the number of true and gold lines, what
    differs when the numbers agree (ASPECTS, lines paired by line_number; a maintenance phase present in one
    only, or with other dates or drugs, is `maintenance`), and a flag per error type drawn for them."""
    cols = ["pid", "line_number", "is_maintenance", "start", "end", "regimen", "end_reason"]
    m = truth_rows[cols].merge(gold_rows[cols], how="outer", on=cols, indicator=True)
    bad = np.unique(m.loc[m["_merge"] != "both", "pid"].to_numpy())
    out = pd.DataFrame({"pid": pids})
    out["differs"] = np.isin(pids, bad)
    size = int(pids.max()) + 1 if pids.size else 0
    for name, rows in (("n_lines_truth", truth_rows), ("n_lines_gold", gold_rows)):
        main = rows[~rows["is_maintenance"].to_numpy()]
        out[name] = np.bincount(main["pid"].to_numpy(), minlength=size)[pids].astype(np.int16)
    same_n = out["n_lines_truth"].to_numpy() == out["n_lines_gold"].to_numpy()
    key = ["pid", "line_number"]
    t_main, g_main = (r[~r["is_maintenance"].to_numpy()] for r in (truth_rows, gold_rows))
    pair = t_main[cols].merge(g_main[cols], on=key, suffixes=("_t", "_g"))
    for aspect, col in (
        ("start_date", "start"),
        ("end_date", "end"),
        ("regimen", "regimen"),
        ("end_reason", "end_reason"),
    ):
        who = pair.loc[pair[f"{col}_t"].to_numpy() != pair[f"{col}_g"].to_numpy(), "pid"].to_numpy()
        out[aspect] = same_n & np.isin(pids, who)
    t_ma, g_ma = (r[r["is_maintenance"].to_numpy()] for r in (truth_rows, gold_rows))
    ma = t_ma[cols].merge(g_ma[cols], how="outer", on=["pid", "line_number", "start", "end", "regimen"], indicator=True)
    out["maintenance"] = same_n & np.isin(pids, ma.loc[ma["_merge"] != "both", "pid"].to_numpy())
    for e in ERROR_TYPES:
        out[e] = np.isin(pids, errors.loc[errors["error"] == e, "pid"].to_numpy())
    return out


AGREEMENT = pa.schema(
    [
        ("person_id", pa.string()),
        ("split", pa.string()),
        ("differs", pa.bool_()),
        ("n_lines_truth", pa.int16()),
        ("n_lines_gold", pa.int16()),
        *[(a, pa.bool_()) for a in ASPECTS],
        *[(e, pa.bool_()) for e in ERROR_TYPES],
    ]
)


def agreement_table(per_person: pd.DataFrame) -> pd.DataFrame:
    """The gold standard's agreement with the truth over a cohort (the gold_agreement CSV), one row per group of
    gold persons: `all` (every gold person: share_differing is the share whose gold lines differ from the
    truth), `any_error` (at least one abstraction error), `no_error` (none: a difference there would be one of
    the definition itself), each error type (kind error: the persons it touched, and those of them whose gold
    differs), and what differs (kind aspect: `line_count`, another number of lines; else, lines paired by
    number, another start_date, end_date, regimen, maintenance phase or end_reason). Shares are of all gold
    persons."""
    n = max(len(per_person), 1)
    d = per_person["differs"].to_numpy()
    anyerr = per_person[list(ERROR_TYPES)].to_numpy().any(axis=1)
    groups = [("total", "all", np.ones(len(per_person), bool)), ("total", "any_error", anyerr)]
    groups += [("total", "no_error", ~anyerr)] + [("error", e, per_person[e].to_numpy()) for e in ERROR_TYPES]
    lc = (per_person["n_lines_truth"] != per_person["n_lines_gold"]).to_numpy()
    groups += [("aspect", "line_count", lc)] + [("aspect", a, per_person[a].to_numpy()) for a in ASPECTS]
    rows = [(kind, name, int(g.sum()), int((g & d).sum())) for kind, name, g in groups]
    out = pd.DataFrame(rows, columns=["kind", "group", "persons", "persons_differing"])
    out["share_persons"] = out["persons"] / n
    out["share_differing"] = out["persons_differing"] / n
    return out[["kind", "group", "persons", "share_persons", "persons_differing", "share_differing"]]
