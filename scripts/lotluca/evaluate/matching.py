"""One-to-one matching of predicted to gold line starts within a date tolerance, per person.

Method (optimal, not greedy): for each person, predicted and gold rows are sorted by start date and
aligned by dynamic programming (an edit-distance-like alignment) that

1. maximises the number of matched pairs, a pair being allowed when |pred start - gold start| <=
   tolerance_days, then
2. among those, minimises the total absolute start-date error.

For points on a line with a symmetric window an optimal matching can always be taken order-preserving
(crossing pairs can be swapped without losing a match or increasing the error), so the alignment is
optimal over all one-to-one matchings, and matched lines keep their chronological order. Ties
(equal count and equal total error) are broken deterministically (skip a predicted row first, then a
gold row). The per-person alignment is a small sequential computation, compiled with numba and run over
all persons in one call (CSR-style person offsets); there is no Python loop over persons.
"""

from __future__ import annotations

import numba
import numpy as np
import pandas as pd


@numba.njit(cache=True)
def _align(p_start, p_off, g_start, g_off, tol):  # pragma: no cover - compiled
    """Return, for every (sorted) predicted row, the index of its matched (sorted) gold row or -1."""
    match = np.full(p_start.shape[0], -1, dtype=np.int64)
    n_persons = p_off.shape[0] - 1
    for k in range(n_persons):
        p0, p1 = p_off[k], p_off[k + 1]
        g0, g1 = g_off[k], g_off[k + 1]
        n, m = p1 - p0, g1 - g0
        if n == 0 or m == 0:
            continue
        cnt = np.zeros((n + 1, m + 1), dtype=np.int64)
        cost = np.zeros((n + 1, m + 1), dtype=np.int64)
        choice = np.zeros((n + 1, m + 1), dtype=np.int8)  # 1 skip pred, 2 skip gold, 3 match
        for i in range(1, n + 1):
            choice[i, 0] = 1
        for j in range(1, m + 1):
            choice[0, j] = 2
        for i in range(1, n + 1):
            for j in range(1, m + 1):
                bc, bk, ch = cnt[i - 1, j], cost[i - 1, j], 1
                c2, k2 = cnt[i, j - 1], cost[i, j - 1]
                if c2 > bc or (c2 == bc and k2 < bk):
                    bc, bk, ch = c2, k2, 2
                d = abs(p_start[p0 + i - 1] - g_start[g0 + j - 1])
                if d <= tol:
                    c3, k3 = cnt[i - 1, j - 1] + 1, cost[i - 1, j - 1] + d
                    if c3 > bc or (c3 == bc and k3 < bk):
                        bc, bk, ch = c3, k3, 3
                cnt[i, j], cost[i, j], choice[i, j] = bc, bk, ch
        i, j = n, m
        while i > 0 and j > 0:
            ch = choice[i, j]
            if ch == 3:
                match[p0 + i - 1] = g0 + j - 1
                i -= 1
                j -= 1
            elif ch == 1:
                i -= 1
            else:
                j -= 1
    return match


def _days(dates: pd.Series) -> np.ndarray:
    return pd.to_datetime(dates).to_numpy(dtype="datetime64[D]").astype(np.int64)


def _sorted_by_person(df: pd.DataFrame, codes: np.ndarray, n_persons: int, tie_cols: list[str]):
    """Row order sorted by (person code, start date, tie columns) and the CSR person offsets."""
    ties = [
        df[c].to_numpy() if pd.api.types.is_numeric_dtype(df[c]) else df[c].astype(str).to_numpy()
        for c in reversed(tie_cols)
    ]
    keys = [*ties, _days(df["start_date"]), codes]
    order = np.lexsort(keys) if len(df) else np.zeros(0, dtype=np.int64)
    offsets = np.zeros(n_persons + 1, dtype=np.int64)
    np.cumsum(np.bincount(codes, minlength=n_persons), out=offsets[1:])
    return order, offsets


def match_starts(pred: pd.DataFrame, gold: pd.DataFrame, persons: pd.Index, tolerance_days: int) -> pd.DataFrame:
    """Match `pred` rows to `gold` rows of the same person whose start dates differ by <= tolerance_days.

    Both frames need person_id and start_date (and line_number, used only to order equal starts);
    every person_id must be in `persons`. Returns one row per matched pair with the positional row
    numbers `pred_row`, `gold_row` (into the frames as given), the person's position `person` in
    `persons`, and `delta_days` = pred start - gold start.
    """
    if tolerance_days < 0:
        raise ValueError(f"tolerance_days must be >= 0, got {tolerance_days}")
    n_persons = len(persons)
    p_codes = persons.get_indexer(pred["person_id"])
    g_codes = persons.get_indexer(gold["person_id"])
    if (p_codes < 0).any() or (g_codes < 0).any():
        raise ValueError("match_starts: every person_id must be listed in `persons`")
    ties = [c for c in ("line_number", "regimen") if c in pred.columns and c in gold.columns]
    p_order, p_off = _sorted_by_person(pred, p_codes, n_persons, ties)
    g_order, g_off = _sorted_by_person(gold, g_codes, n_persons, ties)
    p_days = _days(pred["start_date"])[p_order]
    g_days = _days(gold["start_date"])[g_order]
    match = _align(p_days, p_off, g_days, g_off, np.int64(tolerance_days))
    hit = match >= 0
    pred_row = p_order[hit]
    gold_row = g_order[match[hit]]
    return pd.DataFrame(
        {
            "person": p_codes[pred_row].astype(np.int64),
            "pred_row": pred_row.astype(np.int64),
            "gold_row": gold_row.astype(np.int64),
            "delta_days": (p_days[hit] - g_days[match[hit]]).astype(np.int64),
        }
    )
