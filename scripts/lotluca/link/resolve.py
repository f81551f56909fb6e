"""One-to-one resolution of scored candidate pairs: mutual best matches, ambiguous ones left unlinked.

Rounds over all pairs at once (vectorised): each round takes, for every ODH patient and every SNDS
person still free, its best remaining pair; a pair that is best for both sides is accepted when its
match weight beats each side's runner-up by at least `margin` (log2 Bayes factor); a mutual best
that does not is *ambiguous* and both its records are withdrawn. Ends when no pair is left.
"""

from __future__ import annotations

import pandas as pd


def one_to_one(pairs: pd.DataFrame, margin: float, max_rounds: int = 1000) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Resolve `pairs` (odh_id, snds_id, match_weight, ...) to at most one link per record.

    Returns (accepted pairs, ambiguous pairs withdrawn).
    """
    cols = list(pairs.columns)
    rem = pairs.sort_values(["match_weight", "odh_id", "snds_id"], ascending=[False, True, True], ignore_index=True)
    accepted, ambiguous = [], []
    for _ in range(max_rounds):
        if rem.empty:
            break
        rank_o = rem.groupby("odh_id", sort=False).cumcount()
        rank_s = rem.groupby("snds_id", sort=False).cumcount()
        second_o = rem[rank_o == 1].set_index("odh_id")["match_weight"]
        second_s = rem[rank_s == 1].set_index("snds_id")["match_weight"]
        best = rem[(rank_o == 0) & (rank_s == 0)]
        gap_o = best["match_weight"] - best["odh_id"].map(second_o).fillna(-float("inf"))
        gap_s = best["match_weight"] - best["snds_id"].map(second_s).fillna(-float("inf"))
        ok = (gap_o >= margin) & (gap_s >= margin)
        accepted.append(best[ok])
        ambiguous.append(best[~ok])
        done_o = set(best["odh_id"])
        done_s = set(best["snds_id"])
        rem = rem[~rem["odh_id"].isin(done_o) & ~rem["snds_id"].isin(done_s)]
    acc = pd.concat(accepted, ignore_index=True) if accepted else pairs.iloc[:0]
    amb = pd.concat(ambiguous, ignore_index=True) if ambiguous else pairs.iloc[:0]
    return acc[cols].sort_values(["odh_id"], ignore_index=True), amb[cols].sort_values(["odh_id"], ignore_index=True)
