"""The reason of every regimen change in the truth: truth/changes_truth (one row per change inside a line) and
the reason columns of truth/lines_truth (the change that opened each line, the reason each line stopped).

A chart abstractor reads these reasons from the notes (lotluca.gold builds its abstraction from them).
Reasons: progression | toxicity | other | planned_switch. Inside a line: a drug dropped for toxicity, a
same-line swap or switch for toxicity (cisplatin -> carboplatin, paclitaxel -> nab-paclitaxel, the
situations' switches), a drug added later for another reason (bevacizumab from cycle 2, immunotherapy
when the PD-L1 result arrives), and the planned switch to the maintenance phase. Between lines: the line
opened by progression (after a progression, or after a planned stop then progression off treatment) or
after a toxicity stop. Definitions: docs/simulate.md#reasons-of-regimen-changes.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa

from lotluca.simulate import arrowcols as A
from lotluca.simulate.treatment import ING_NAMES, NEVER, REASONS, SETTING_NAMES, SLOT_ING, SLOT_ORAL, SLOT_PHASE

ORAL_KEY = 1_000_000_000_000  # offset of the oral dispensations' keys in _cycle_dates
CHANGES_TRUTH = pa.schema(
    [
        ("truth_person_id", pa.string()),
        ("line_number", pa.int16()),
        ("date", pa.date32()),  # first administration after the change (the maintenance phase's first)
        ("kind", pa.string()),  # drug_dropped | drug_swapped | drug_added | maintenance | restart
        ("reason", pa.string()),  # toxicity | other | planned_switch
        ("ingredient_from", pa.string()),  # null when a drug is added or at a restart; "+"-joined for maintenance
        ("ingredient_to", pa.string()),  # null when a drug is dropped, for the maintenance switch and a restart
    ]
)
# the reason columns added to truth/lines_truth (in this order, after its first columns)
LINE_REASON_FIELDS = [
    ("change_reason", pa.string()),  # why the change that opened the line happened; null for a first line
    ("end_reason", pa.string()),  # progression | toxicity | death | planned_stop | end_of_data
    ("rechallenge", pa.bool_()),  # documented rechallenge (same regimen again after a stop)
    ("situation", pa.string()),  # situation drawn for the line ("" none), docs/simulate.md#situations
    ("setting", pa.string()),  # centre | other_public_hospital | private_clinic: where the line was decided
]


def line_reason_columns(lines: pd.DataFrame) -> list[pa.Array]:
    """The LINE_REASON_FIELDS arrays of finalised lines (sorted by person and line number)."""
    pid = lines["pid"].to_numpy()
    end = lines["end_reason"].to_numpy().astype(np.int64)
    first = np.r_[True, pid[1:] != pid[:-1]] | (lines["line_number"].to_numpy() <= 1)  # line 0: stage III history
    # every line of the advanced disease after the first opens at a progression (a line stopped for toxicity
    # leaves the patient off treatment until progression; its end_reason says so)
    change = np.full(pid.size, "progression", dtype=object)
    return [
        pa.array(change, pa.string(), mask=first),
        pa.array(REASONS[end], pa.string()),
        pa.array(lines["rechallenge"].to_numpy().astype(bool)),
        pa.array(lines["situation"].to_numpy().astype(str), pa.string()),
        pa.array(SETTING_NAMES[lines["setting"].to_numpy().astype(np.int64)], pa.string()),
    ]


def _cycle_dates(events: pd.DataFrame) -> pd.Series:
    """First date of every (line_id, cycle) of the IV administrations, keyed line_id * 4096 + cycle (1-based),
    and of every oral dispensation, keyed 1_000_000_000_000 + line_id * 4096 + dispensation (1-based)."""
    oral = events["oral"].to_numpy()
    num = np.where(oral, events["phase_cycle"].to_numpy(), events["cycle"].to_numpy()).astype(np.int64)
    key = events["line_id"].to_numpy().astype(np.int64) * 4096 + num + np.where(oral, ORAL_KEY, 0)
    return pd.Series(events["date"].to_numpy()).groupby(key).min()


def _given(L: dict, slot: np.ndarray, cyc: np.ndarray) -> np.ndarray:
    """Whether drug slot `slot` of each line is planned at cycle index `cyc` (its phase)."""
    ph = SLOT_PHASE[L["regimen"], slot.clip(0)]
    maint = L["has_maint"] & (cyc >= L["n_ind"])
    return (slot >= 0) & np.where(ph == 0, ~maint & (cyc < L["n_ind"]), np.where(ph == 1, maint, True))


def changes_truth(lines: pd.DataFrame, events: pd.DataFrame, person_ids: np.ndarray) -> pa.Table:
    """truth/changes_truth of one block (CHANGES_TRUTH): the changes inside each finalised line that happened
    (their cycle was given); person_ids indexed by lines.pid."""
    L = {c: lines[c].to_numpy() for c in lines.columns}
    reg = L["regimen"].astype(np.int64)
    n = reg.size
    never = np.full(n, 10_000, np.int64)
    ing = SLOT_ING[reg]
    rows = []  # (line index, cycle index, kind, reason, from ingredient code, to ingredient code)

    def add(mask, cyc, kind, reason, frm, to):
        i = np.flatnonzero(mask)
        rows.append((i, np.asarray(cyc)[i], kind, reason, np.asarray(frm)[i], np.asarray(to)[i]))

    none = np.full(n, -1)
    drop = L["drop_slot"].astype(np.int64)
    add(
        _given(L, drop, L["drop_cycle"]),
        L["drop_cycle"],
        "drug_dropped",
        "toxicity",
        ing[np.arange(n), drop.clip(0)],
        none,
    )
    cis, pac = ING_NAMES.tolist().index("cisplatin"), ING_NAMES.tolist().index("paclitaxel")
    has = {c: (ing == c).any(axis=1) for c in (cis, pac)}
    carbo, nab = ING_NAMES.tolist().index("carboplatin"), ING_NAMES.tolist().index("nab-paclitaxel")
    ind = L["swap_cycle"] < np.where(L["n_ind"] < 10_000, L["n_ind"], never)
    add(
        L["swap_plat"] & has[cis] & ind, L["swap_cycle"], "drug_swapped", "toxicity", np.full(n, cis), np.full(n, carbo)
    )
    add(L["swap_tax"] & has[pac] & ind, L["swap_cycle"], "drug_swapped", "toxicity", np.full(n, pac), np.full(n, nab))
    sw = L["switch_slot"].astype(np.int64)
    frm = ing[np.arange(n), sw.clip(0)]
    add(_given(L, sw, L["switch_cycle"]), L["switch_cycle"], "drug_swapped", "toxicity", frm, L["switch_to"])
    bev = np.where(np.isin(ING_NAMES[ing.clip(0)], ["bevacizumab", "ramucirumab"]) & (ing >= 0), ing, -1).max(axis=1)
    add(L["bev_cycle2"] & (bev >= 0), np.ones(n, np.int64), "drug_added", "other", none, bev)
    io = np.isin(ING_NAMES[ing.clip(0)], ["pembrolizumab", "nivolumab", "atezolizumab"]) & (ing >= 0)
    io_ing = np.where(io, ing, -1).max(axis=1)
    add((L["io_from"] > 0) & (io_ing >= 0), L["io_from"], "drug_added", "other", none, io_ing)
    # restart after a treatment holiday (same drugs, same line): the cycle / dispensation after the pause
    hol = L["hol_after"] < 10_000
    add(hol, L["hol_after"], "restart", "other", none, none)
    out = _rows(rows, L, _cycle_dates(events), person_ids)
    ma = L["ma_first"] < NEVER
    ind_only = [
        "+".join(sorted({ING_NAMES[i] for i, p in zip(ing[r], SLOT_PHASE[reg[r]], strict=True) if i >= 0 and p == 0}))
        for r in np.flatnonzero(ma)
    ]
    maint = pd.DataFrame(
        {
            "truth_person_id": person_ids[L["pid"][ma]],
            "line_number": L["line_number"][ma],
            "date": L["ma_first"][ma],
            "kind": "maintenance",
            "reason": "planned_switch",
            "ingredient_from": ind_only,
            "ingredient_to": None,
        }
    )
    df = pd.concat([out, maint], ignore_index=True)
    df = df.sort_values(["truth_person_id", "line_number", "date", "kind"], kind="stable")
    return pa.Table.from_arrays(
        [
            pa.array(df["truth_person_id"].to_numpy().astype(str), pa.string()),
            pa.array(df["line_number"].to_numpy().astype(np.int16)),
            A.date32(df["date"].to_numpy().astype(np.int64)),
            pa.array(df["kind"].to_numpy().astype(str), pa.string()),
            pa.array(df["reason"].to_numpy().astype(str), pa.string()),
            pa.array(df["ingredient_from"].to_numpy(), pa.string(), from_pandas=True),
            pa.array(df["ingredient_to"].to_numpy(), pa.string(), from_pandas=True),
        ],
        schema=CHANGES_TRUTH,
    )


def _rows(rows: list, L: dict, dates: pd.Series, person_ids: np.ndarray) -> pd.DataFrame:
    """The in-line changes whose cycle was given, dated by that cycle's first administration."""
    i = np.concatenate([r[0] for r in rows])
    cyc = np.concatenate([r[1] for r in rows]).astype(np.int64)
    kind = np.concatenate([np.full(r[0].size, r[2], object) for r in rows])
    reason = np.concatenate([np.full(r[0].size, r[3], object) for r in rows])
    frm = np.concatenate([r[4] for r in rows]).astype(np.int64)
    to = np.concatenate([r[5] for r in rows]).astype(np.int64)
    oral_only = ~((SLOT_ING[L["regimen"][i]] >= 0) & ~SLOT_ORAL[L["regimen"][i]]).any(axis=1)
    key = L["line_id"][i].astype(np.int64) * 4096 + cyc + 1 + np.where(oral_only, ORAL_KEY, 0)  # 1-based
    date = dates.reindex(key).to_numpy()
    ok = ~np.isnan(date)
    names = np.append(ING_NAMES, None).astype(object)
    return pd.DataFrame(
        {
            "truth_person_id": person_ids[L["pid"][i[ok]]],
            "line_number": L["line_number"][i[ok]],
            "date": date[ok].astype(np.int64),
            "kind": kind[ok],
            "reason": reason[ok],
            "ingredient_from": names[np.where(frm[ok] >= 0, frm[ok], -1)],
            "ingredient_to": names[np.where(to[ok] >= 0, to[ok], -1)],
        }
    )
