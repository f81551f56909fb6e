"""Lines of therapy (contracts.LINES) of the learned model from predicted boundary days (vectorised).

`decide(proba, threshold, first_day)`: a day is a boundary when P(line start) + P(maintenance start)
>= threshold; its kind is the more likely of the two. A person's first treatment day always starts
line 1; a maintenance start while a maintenance phase is already open (no line start since the last
one) is not a boundary. `build_lines(days, decision, ...)` then cuts each person's days at the
boundaries: a line start increments the line number, a maintenance start opens the maintenance row of
the current line. Regimen = the drugs of the row's days within `regimen_window_days` after its start
(all its days if none; "unnamed_chemotherapy" for rows of chemotherapy sessions only). Dates: start =
first day; end = end of the last supply, cut the day before the next row and at death, never before
the row's last day. end_reason (END_REASONS vocabulary): maintenance (a maintenance row follows), gap
(next line after more than GAP_DAYS without supply), new_drug (the next line holds a drug this row
never had), restart (otherwise), and for the last row death / end_of_data / discontinued as the engine.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa

from lotluca import drugs
from lotluca.contracts import LINES
from lotluca.learned.candidates import LINE, MAINT, Days

UNNAMED = "unnamed_chemotherapy"


def decide(proba: np.ndarray, threshold: float, first_day: np.ndarray) -> np.ndarray:
    """Boundary class of each day (0 none, LINE, MAINT) from class probabilities (n x 3)."""
    score = proba[:, 1] + proba[:, 2]
    cls = np.where(score >= threshold, np.where(proba[:, 2] > proba[:, 1], MAINT, LINE), 0).astype(np.int8)
    cls[first_day] = LINE
    # a maintenance start when the last boundary of the person was already a maintenance start: none
    prev = pd.Series(np.where(cls > 0, cls, np.nan)).ffill().shift(1).to_numpy()
    prev[first_day] = np.nan
    cls[(cls == MAINT) & (prev == MAINT)] = 0
    return cls


def _or_by(group: np.ndarray, values: np.ndarray, n: int) -> np.ndarray:
    out = np.zeros(n, np.int64)
    np.bitwise_or.at(out, group, values)
    return out


GAP_DAYS = 120  # end_reason "gap": the next line starts after more than this many days without supply
DEATH_WINDOW_DAYS = 120  # end_reason "death": death within this many days of the last row's end


def build_lines(days: Days, decision: np.ndarray, *, regimen_window_days: int, algorithm: str) -> pa.Table:
    """contracts.LINES table (algorithm `algorithm`) from the boundary class of each day of `days.table`
    (see the module docstring)."""
    gap_days, death_window_days = GAP_DAYS, DEATH_WINDOW_DAYS
    t = days.table
    n = len(t)
    if n == 0:
        return LINES.empty_table()
    pcode = t["pcode"].to_numpy(np.int64)
    date = t["date"].to_numpy(np.int64)
    mask = t["mask"].to_numpy(np.int64)
    dend = t["dend"].to_numpy(np.int64)
    first = np.ones(n, bool)
    first[1:] = pcode[1:] != pcode[:-1]
    cls = decision.astype(np.int8).copy()
    cls[first] = LINE
    seg = np.cumsum(cls > 0) - 1
    ns = int(seg[-1]) + 1
    heads = np.flatnonzero(cls > 0)
    s_p = pcode[heads]
    s_start = date[heads]
    s_maint = cls[heads] == MAINT
    s_line = pd.Series((cls[heads] == LINE).astype(np.int64)).groupby(s_p).cumsum().to_numpy()
    s_last = np.maximum.reduceat(date, heads)
    s_cover = np.maximum.reduceat(dend, heads)
    in_win = date <= s_start[seg] + regimen_window_days
    s_reg = _or_by(seg[in_win], mask[in_win], ns)
    s_all = _or_by(seg, mask, ns)
    s_reg = np.where(s_reg == 0, s_all, s_reg)

    same_next = np.zeros(ns, bool)
    same_next[:-1] = s_p[1:] == s_p[:-1]
    nxt = np.minimum(np.arange(ns) + 1, ns - 1)
    end = np.where(same_next, np.minimum(s_cover, s_start[nxt] - 1), s_cover).astype(float)
    death = days.persons["death"].to_numpy(float)[s_p]
    eof = days.persons["eof"].to_numpy(float)[s_p]
    end = np.where(~np.isnan(death) & (end > death), death, end)
    end = np.maximum(end, s_last).astype(np.int64)

    reason = np.full(ns, "discontinued", dtype=object)
    last = ~same_next
    reason[last & ~np.isnan(eof) & (eof - end <= gap_days)] = "end_of_data"
    reason[last & np.isnan(eof)] = "end_of_data"
    reason[last & ~np.isnan(death) & (death - end <= death_window_days)] = "death"
    nx_maint = same_next & s_maint[nxt]
    nx_line = same_next & ~s_maint[nxt]
    reason[nx_line] = "restart"
    reason[nx_line & ((s_reg[nxt] & ~s_all) != 0)] = "new_drug"
    reason[nx_line & (s_start[nxt] - s_cover > gap_days)] = "gap"
    reason[nx_maint] = "maintenance"

    vocab = days.vocab
    masks, inv = np.unique(s_reg, return_inverse=True)
    names, classes = [], []
    for m in masks.tolist():
        ingr = [vocab[b] for b in range(len(vocab)) if (m >> b) & 1]
        names.append(drugs.regimen_name(ingr) if ingr else UNNAMED)
        classes.append(drugs.regimen_class(ingr) if ingr else "other")
    ids = days.persons["person_id"].to_numpy(object)
    cols = {
        "person_id": pa.array(ids[s_p].tolist(), pa.string()),
        "line_number": pa.array(s_line.astype(np.int16), pa.int16()),
        "start_date": pa.array(s_start.astype(np.int32), pa.int32()).cast(pa.date32()),
        "end_date": pa.array(end.astype(np.int32), pa.int32()).cast(pa.date32()),
        "regimen": pa.array(names, pa.string()).take(pa.array(inv.astype(np.int32))),
        "regimen_class": pa.array(classes, pa.string()).take(pa.array(inv.astype(np.int32))),
        "is_maintenance": pa.array(s_maint, pa.bool_()),
        "end_reason": pa.array(reason.tolist(), pa.string()),
        "algorithm": pa.array([algorithm] * ns, pa.string()),
    }
    return pa.Table.from_arrays([cols[f.name] for f in LINES], schema=LINES)
