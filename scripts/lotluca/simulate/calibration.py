"""Calibration table: each simulated figure next to the published target range it imitates, source named.

Targets are the figures of BRIEF section 5 ("Treatment patterns to simulate"); tolerances are the
published ranges (or +/- about 15% of a point estimate). Time-to-event figures are Kaplan-Meier
medians / survival with administrative censoring at the end of the data. Line attrition is measured on
first lines started at least two years before the end of the data, so censoring does not bias it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from lotluca.simulate import regimens as R
from lotluca.simulate.cohort import to_days
from lotluca.simulate.params import SimSettings
from lotluca.simulate.treatment import MONTH, NEVER

ESME = "ESME-AMLC (Unicancer real-world lung cohort), BRIEF s.5"
IFCT = "IFCT Biomarqueurs-France (Barlesi et al., Lancet 2016), BRIEF s.5"
PDL1 = "PD-L1 TPS distribution in advanced NSCLC (KEYNOTE-024/042 screening; French RWE), BRIEF s.5"
COLUMNS = ["metric", "simulated", "target_low", "target_high", "source", "within"]


def km(time: np.ndarray, event: np.ndarray, at: float | None = None) -> float:
    """Kaplan-Meier median (at=None) or survival at time `at`."""
    if time.size == 0:
        return float("nan")
    order = np.lexsort((~event, time))
    t, e = time[order], event[order]
    n = t.size
    at_risk = n - np.arange(n)
    surv = np.cumprod(np.where(e, 1 - 1 / at_risk, 1.0))
    if at is not None:
        idx = np.searchsorted(t, at, side="right") - 1
        return float(surv[idx]) if idx >= 0 else 1.0
    below = np.flatnonzero(surv <= 0.5)
    return float(t[below[0]]) if below.size else float("nan")


def calibration_table(persons: pd.DataFrame, lines: pd.DataFrame, death: np.ndarray, s: SimSettings) -> pd.DataFrame:
    end = to_days(s.end_date)
    pat = ~persons["is_decoy"].to_numpy()
    P = persons[pat]
    rows = []

    def add(metric, value, lo, hi, source):
        rows.append((metric, round(float(value), 4), lo, hi, source, bool(lo <= value <= hi)))

    add("male_fraction", (P["sex"] == 1).mean(), 0.60, 0.72, ESME)
    add("median_age_at_advanced_diagnosis", float(np.median(P["age"])), 63.0, 67.0, ESME)
    add("non_squamous_fraction", (P["histology"] == 0).mean(), 0.65, 0.75, ESME)
    ns_tested = P[(P["histology"] == 0) & (P["driver"] >= 0)]
    for code, name, lo, hi in ((1, "egfr", 0.10, 0.16), (2, "alk", 0.025, 0.055), (3, "ros1", 0.008, 0.025),
                               (4, "kras", 0.29, 0.39), (5, "braf", 0.015, 0.05), (6, "met", 0.025, 0.05)):  # fmt: skip
        add(f"{name}_among_tested_non_squamous", (ns_tested["driver"] == code).mean(), lo, hi, IFCT)
    add(
        "kras_g12c_among_tested_non_squamous",
        ((ns_tested["driver"] == 4) & ns_tested["kras_g12c"]).mean(),
        0.12,
        0.20,
        IFCT,
    )
    tested = P[P["pdl1"] >= 0]
    add("pdl1_tps_50_plus_among_tested", (tested["pdl1"] == 2).mean(), 0.22, 0.28, PDL1)
    add("pdl1_tps_1_49_among_tested", (tested["pdl1"] == 1).mean(), 0.26, 0.34, PDL1)
    add("pdl1_tps_below_1_among_tested", (tested["pdl1"] == 0).mean(), 0.40, 0.52, PDL1)

    L = lines[pat[lines["pid"].to_numpy()]]
    l1 = L[L["line_number"] == 1]
    old = l1[l1["first"] <= end - 730]
    reached = L.groupby("pid")["line_number"].max()
    r_old = reached.reindex(old["pid"]).to_numpy()
    add("reach_second_line_among_first_line", (r_old >= 2).mean() if r_old.size else np.nan, 0.35, 0.60, ESME)
    add("reach_third_line_among_first_line", (r_old >= 3).mean() if r_old.size else np.nan, 0.15, 0.25, ESME)
    d = death[l1["pid"].to_numpy()]
    t_os = (np.minimum(d, end) - l1["first"].to_numpy()) / MONTH
    ev = d <= end
    add("os_2y_from_first_line_start", km(t_os, ev, at=24.0), 0.30, 0.42, ESME)
    chemo_regs = [
        R.INDEX[k]
        for k in (
            "cis_pem",
            "carbo_pem",
            "carbo_pacli",
            "cis_gem",
            "carbo_gem",
            "cis_vino",
            "carbo_pem_bev",
            "carbo_pacli_bev",
        )
    ]
    chemo = np.isin(l1["regimen"].to_numpy(), chemo_regs)
    add("median_os_first_line_chemotherapy_months", km(t_os[chemo], ev[chemo]), 9.8, 13.4, ESME)
    nivo = L[(L["regimen"] == R.INDEX["nivo"]) & (L["line_number"] >= 2)]
    dur = (nivo["last"].to_numpy() - nivo["first"].to_numpy() + 1) / MONTH
    add("median_nivolumab_duration_later_lines_months", float(np.median(dur)) if dur.size else np.nan, 1.8, 3.5, ESME)
    dn = death[nivo["pid"].to_numpy()]
    add("median_os_from_nivolumab_later_lines_months",
        km((np.minimum(dn, end) - nivo["first"].to_numpy()) / MONTH, dn <= end), 8.0, 12.5, ESME)  # fmt: skip
    out = pd.DataFrame(rows, columns=COLUMNS)
    _ = NEVER
    return out
