"""Exposure of each line to a concomitant drug class in a window defined relative to the line start.

Window of a line starting on day S: [S - before, S + after], both boundary days included, so it has
before + after + 1 days. A dispensation covers [date, end_date] (end_date = date + days of supply - 1;
a null end_date covers its date only). covered_days = distinct days of the window covered by at least
one dispensation (overlapping boxes are not double-counted); pdc = covered_days / window days.
A line is exposed when covered_days >= 1 and pdc >= min_pdc (min_pdc = 0: any covered day).
Vectorised: one merge of lines with the dispensations of their person, then a sorted union of
intervals per line (running maximum of the previous ends), no loop over persons.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from lotluca.errors import InputError


def _days(s: pd.Series) -> np.ndarray:
    return pd.to_datetime(s).to_numpy().astype("datetime64[D]").astype(np.int64)


def window_coverage(lines: pd.DataFrame, dispensations: pd.DataFrame, before: int, after: int) -> pd.DataFrame:
    """Per line (index of `lines`, columns person_id + start_date): window_days, covered_days,
    n_dispensations (overlapping the window) and pdc. `dispensations`: person_id, date, end_date."""
    if before < 0 or after < 0:
        raise InputError("concomitant", f"window before/after must be >= 0, got {before}/{after}")
    for col in ("person_id", "start_date"):
        if col not in lines.columns:
            raise InputError("lines", "missing column", column=col)
    for col in ("person_id", "date"):
        if col not in dispensations.columns:
            raise InputError("exposures", "missing column", column=col)
    start = _days(lines["start_date"])
    win = pd.DataFrame(
        {
            "row": np.arange(len(lines)),
            "person_id": lines["person_id"].to_numpy(),
            "ws": start - int(before),
            "we": start + int(after),
        }
    )
    d0 = _days(dispensations["date"])
    end = dispensations["end_date"] if "end_date" in dispensations.columns else dispensations["date"]
    d1 = np.where(pd.isna(end).to_numpy(), d0, _days(end.fillna(dispensations["date"])))
    bad = np.flatnonzero(d1 < d0)
    if bad.size:
        raise InputError("exposures", "end_date before date", column="end_date", rows=bad)
    disp = pd.DataFrame({"person_id": dispensations["person_id"].to_numpy(), "d0": d0, "d1": d1})
    m = win.merge(disp, on="person_id", how="inner")
    m = m[(m["d0"].to_numpy() <= m["we"].to_numpy()) & (m["d1"].to_numpy() >= m["ws"].to_numpy())]
    a = np.maximum(m["d0"].to_numpy(), m["ws"].to_numpy())
    b = np.minimum(m["d1"].to_numpy(), m["we"].to_numpy())
    iv = pd.DataFrame({"row": m["row"].to_numpy(), "a": a, "b": b}).sort_values(["row", "a", "b"], kind="stable")
    # union of intervals: new days of an interval = those after the furthest end seen so far in the line
    prev = iv.groupby("row", sort=False)["b"].cummax().groupby(iv["row"], sort=False).shift(1)
    lo = np.maximum(iv["a"].to_numpy(), prev.fillna(-(2**40)).to_numpy() + 1)
    iv["new"] = np.maximum(iv["b"].to_numpy() - lo + 1, 0)
    g = iv.groupby("row", sort=True)
    covered = np.zeros(len(lines), np.int64)
    ndisp = np.zeros(len(lines), np.int64)
    covered[g["new"].sum().index.to_numpy()] = g["new"].sum().to_numpy()
    ndisp[g.size().index.to_numpy()] = g.size().to_numpy()
    wdays = int(before) + int(after) + 1
    return pd.DataFrame(
        {
            "window_days": np.full(len(lines), wdays),
            "covered_days": covered,
            "n_dispensations": ndisp,
            "pdc": covered / wdays,
        },
        index=lines.index,
    )


def line_exposure(
    lines: pd.DataFrame,
    exposures: pd.DataFrame,
    drug_classes,
    before: int,
    after: int,
    min_pdc: float = 0.0,
) -> pd.DataFrame:
    """`window_coverage` of the `exposures` rows whose drug_class is in `drug_classes`, plus `exposed`."""
    if "drug_class" not in exposures.columns:
        raise InputError("exposures", "missing column", column="drug_class", expected="the exposures contract")
    if not 0.0 <= float(min_pdc) <= 1.0:
        raise InputError("concomitant", f"min_pdc must be in [0, 1], got {min_pdc}")
    sub = exposures[exposures["drug_class"].isin(list(drug_classes))]
    cov = window_coverage(lines, sub, before, after)
    cov["exposed"] = (cov["covered_days"] >= 1) & (cov["pdc"] >= float(min_pdc))
    return cov
