"""The chart-abstracted gold standard (ESME-like): the gold persons, and their gold_lines built from the records
of a simulated abstraction layer (lotluca.simulate.abstraction) by the written definition of docs/gold-standard.md.

gold_lines (contracts.GOLD_LINES): for a random `gold_fraction` of ODH patients, the lines the definition gives
from what an abstractor records (drugs and dates of each treatment episode, the reason of each change),
abstraction errors included (`simulate.abstraction`); with error_rate 0 they are the true lines exactly
(`gold_table`): start_date = first administration/dispensation of the line; end_date = last administration (or
end of the last dispensation's supply) of the line, maintenance included; regimen = ingredients given in the
line's non-maintenance phase, without the substitutes of a toxicity switch (cisplatin -> carboplatin,
paclitaxel -> nab-paclitaxel); a maintenance phase is an extra row (is_maintenance true, same line_number);
end_reason in progression | death | end_of_data | planned_stop | toxicity. split: train | test per person.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa

from lotluca import contracts
from lotluca.simulate import abstraction as AB
from lotluca.simulate.cohort import to_days
from lotluca.simulate.params import SimSettings
from lotluca.simulate.treatment import CENTRE, ING, NEVER, REASONS, mask_names


def _d32(days) -> pa.Array:
    return pa.array(np.asarray(days, dtype=np.int64).astype("datetime64[D]"), type=pa.date32())


def gold_persons(rng: np.random.Generator, persons: pd.DataFrame, s: SimSettings) -> tuple[np.ndarray, np.ndarray]:
    """Boolean mask of persons in the gold standard and their split (True = test)."""
    n = len(persons)
    u = rng.random(n)
    v = rng.random(n)
    in_gold = ~persons["is_decoy"].to_numpy() & (u < s.gold_fraction)
    return in_gold, v < s.test_fraction


def line_rows(lines: pd.DataFrame, person_ids: np.ndarray) -> pd.DataFrame:
    """Line rows plus maintenance rows for the given lines (person_ids aligned on lines.pid)."""
    names, classes = mask_names(lines["reg_mask"].to_numpy())
    main = pd.DataFrame(
        {
            "pid": lines["pid"].to_numpy(),
            "person_id": person_ids,
            "line_number": lines["line_number"].to_numpy().astype(np.int16),
            "start": lines["first"].to_numpy(),
            "end": lines["last"].to_numpy(),
            "regimen": names,
            "regimen_class": classes,
            "is_maintenance": False,
            "end_reason": REASONS[lines["end_reason"].to_numpy()],
        }
    )
    has_m = lines["ma_first"].to_numpy() < NEVER
    ml = lines[has_m]
    mnames, mclasses = mask_names(ml["ma_mask"].to_numpy())
    maint = pd.DataFrame(
        {
            "pid": ml["pid"].to_numpy(),
            "person_id": person_ids[has_m],
            "line_number": ml["line_number"].to_numpy().astype(np.int16),
            "start": ml["ma_first"].to_numpy(),
            "end": ml["ma_last"].to_numpy(),
            "regimen": mnames,
            "regimen_class": mclasses,
            "is_maintenance": True,
            "end_reason": REASONS[ml["end_reason"].to_numpy()],
        }
    )
    out = pd.concat([main, maint], ignore_index=True)
    return out.sort_values(["pid", "line_number", "is_maintenance"], kind="stable").reset_index(drop=True)


def gold_table(
    lines: pd.DataFrame, persons: pd.DataFrame, in_gold: np.ndarray, test: np.ndarray, end_day: int
) -> pa.Table:
    """The true lines of the gold persons in the gold_lines layout (what a perfect abstraction would give)."""
    return rows_table(truth_rows(lines, persons, in_gold, end_day), test)


def truth_rows(lines: pd.DataFrame, persons: pd.DataFrame, in_gold: np.ndarray, end_day: int) -> pd.DataFrame:
    """`line_rows` of the true lines of the gold persons, ends cut at the end of the data."""
    # line 0 (durvalumab consolidation of a stage III cancer) is history, not a line of the advanced disease
    sel = lines[in_gold[lines["pid"].to_numpy()] & (lines["line_number"].to_numpy() >= 1)].copy()
    for col in ("last", "ma_last"):  # a dispensation's supply is cut at the end of the data
        sel[col] = np.minimum(sel[col].to_numpy(), end_day)
    odh = persons["odh_patient_id"].to_numpy()
    return line_rows(sel, odh[sel["pid"].to_numpy()])


def rows_table(rows: pd.DataFrame, test: np.ndarray) -> pa.Table:
    """`line_rows` as a gold_lines table, each person in the split `test` says (True = test)."""
    split = np.where(test[rows["pid"].to_numpy()], "test", "train")
    return pa.Table.from_arrays(
        [
            pa.array(rows["person_id"].to_numpy().astype(str)),
            pa.array(rows["line_number"].to_numpy(), type=pa.int16()),
            _d32(rows["start"].to_numpy()),
            _d32(rows["end"].to_numpy()),
            pa.array(rows["regimen"].to_numpy().astype(str)),
            pa.array(rows["regimen_class"].to_numpy().astype(str)),
            pa.array(rows["is_maintenance"].to_numpy().astype(bool)),
            pa.array(rows["end_reason"].to_numpy().astype(str)),
            pa.array(np.full(len(rows), "gold")),
            pa.array(split),
        ],
        schema=contracts.GOLD_LINES,
    )


def gold_standard(
    rng: np.random.Generator,
    lines: pd.DataFrame,
    events: pd.DataFrame,
    persons: pd.DataFrame,
    death: np.ndarray,
    in_gold: np.ndarray,
    test: np.ndarray,
    s: SimSettings,
    changes_truth: pa.Table | None = None,
) -> tuple[pa.Table, pa.Table]:
    """The gold standard of the gold persons as abstracted from their chart (lotluca.simulate.abstraction: the
    chart's episodes, the abstraction errors of `s.abstraction`, the definition's lines) and its agreement
    with the truth, one row per gold person (abstraction.AGREEMENT). `changes_truth`: the block's regimen
    changes inside lines (truth_person_id, line_number, date, kind, reason, ingredient_to), when the simulator
    draws them; without it they are derived from the traps."""
    end_day = to_days(s.end_date)
    lines = lines[lines["line_number"].to_numpy() >= 1]  # line 0: not a line of the advanced disease
    sel = lines[in_gold[lines["pid"].to_numpy()]]
    truth = truth_rows(lines, persons, in_gold, end_day)
    if changes_truth is None:
        changes = AB.changes_of_traps(sel, events, ING)
    else:
        ids = persons["truth_person_id"].to_numpy()
        changes = AB.changes_from_truth(changes_truth.to_pandas(), sel, ids, ING)
    episodes = AB.chart_episodes(sel, events, changes, death, end_day, CENTRE)
    records, errors = AB.abstract(rng, episodes, s.abstraction)
    for col in ("start", "end"):  # a wrong date stays within the data
        records[col] = np.minimum(records[col].to_numpy(), end_day)
    built = AB.build_lines(records)
    odh = persons["odh_patient_id"].to_numpy()
    rows = line_rows(built, odh[built["pid"].to_numpy()])
    pids = np.unique(sel["pid"].to_numpy())
    per = AB.agreement(truth, rows, errors, pids)
    agree = pa.Table.from_arrays(
        [
            pa.array(odh[pids].astype(str)),
            pa.array(np.where(test[pids], "test", "train")),
            *[pa.array(per[c].to_numpy(), type=AB.AGREEMENT.field(c).type) for c in AB.AGREEMENT.names[2:]],
        ],
        schema=AB.AGREEMENT,
    )
    return rows_table(rows, test), agree
