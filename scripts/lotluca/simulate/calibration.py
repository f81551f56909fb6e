"""Calibration table: each simulated figure next to the published target range it imitates, source named.

Targets are published real-world figures (ESME-AMLC, IFCT Biomarqueurs-France, PD-L1 screening; see
docs/simulate.md); tolerances are the published ranges (or +/- about 15% of a point estimate).
Time-to-event figures are Kaplan-Meier medians / survival with administrative censoring at the end of
the data. Line attrition is measured on
first lines started at least two years before the end of the data, so censoring does not bias it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa

from lotluca.simulate import arrowcols as A
from lotluca.simulate import changes
from lotluca.simulate import regimens as R
from lotluca.simulate.cohort import DRIVERS, HISTOLOGY, to_days
from lotluca.simulate.params import SimSettings
from lotluca.simulate.treatment import MONTH, NEVER

# source texts as written in calibration.csv (its bytes are part of the study's reproducible outputs)
ESME = "ESME-AMLC (Unicancer real-world lung cohort)"
IFCT = "IFCT Biomarqueurs-France (Barlesi et al., Lancet 2016)"
PDL1 = "PD-L1 TPS distribution in advanced NSCLC (KEYNOTE-024/042 screening; French RWE)"
COLUMNS = ["metric", "simulated", "target_low", "target_high", "source", "within"]

# truth/persons_truth.parquet: one row per person (decoys included), what the calibration needs
PERSONS_TRUTH = pa.schema(
    [
        ("truth_person_id", pa.string()),
        ("odh_patient_id", pa.string()),  # null for SNDS-only decoys
        ("ben_idt_ano", pa.string()),
        ("is_decoy", pa.bool_()),
        ("sex", pa.int8()),  # 1 male, 2 female
        ("age", pa.float64()),  # at advanced diagnosis (years)
        ("histology", pa.string()),  # non_squamous | squamous | nos
        ("driver", pa.string()),  # none | egfr | alk | ros1 | kras | braf | met; null: not tested
        ("kras_g12c", pa.bool_()),
        ("pdl1_class", pa.int8()),  # 0: TPS < 1%, 1: 1-49%, 2: >= 50%; null: not tested
        ("diagnosis_date", pa.date32()),
        ("death_date", pa.date32()),  # null: alive at the end of the data
    ]
)
# truth/lines_truth.parquet: every true line of every person (the gold standard holds a sample of them)
LINES_TRUTH = pa.schema(
    [
        ("truth_person_id", pa.string()),
        ("line_number", pa.int16()),
        ("start_date", pa.date32()),
        ("end_date", pa.date32()),
        ("regimen", pa.string()),  # regimens.REGIMENS key
        *changes.LINE_REASON_FIELDS,  # why the line opened and stopped, rechallenge, situation, setting
    ]
)


def _days(col: pa.ChunkedArray | pa.Array, missing: int) -> np.ndarray:
    arr = col.cast(pa.int32()).to_numpy(zero_copy_only=False)
    return np.where(np.isnan(arr.astype(float)), missing, arr).astype(np.int64)


def persons_truth(persons: pd.DataFrame, death: np.ndarray, end_date) -> pa.Table:
    """truth/persons_truth of one block (PERSONS_TRUTH): demographics, tumour and death of every person."""
    odh = persons["odh_patient_id"].to_numpy()
    drv = persons["driver"].to_numpy().astype(np.int64)
    pdl1 = persons["pdl1"].to_numpy().astype(np.int64)
    alive = np.asarray(death) > to_days(end_date)
    return pa.Table.from_arrays(
        [
            pa.array(persons["truth_person_id"].to_numpy(), pa.string()),
            pa.array(odh, pa.string(), mask=odh == ""),
            pa.array(persons["ben_idt_ano"].to_numpy(), pa.string()),
            pa.array(persons["is_decoy"].to_numpy()),
            pa.array(persons["sex"].to_numpy().astype(np.int8)),
            pa.array(persons["age"].to_numpy().astype(np.float64)),
            pa.array(np.array(HISTOLOGY)[persons["histology"].to_numpy()], pa.string()),
            pa.array(np.array(DRIVERS)[np.clip(drv, 0, None)], pa.string(), mask=drv < 0),
            pa.array(persons["kras_g12c"].to_numpy().astype(bool)),
            pa.array(np.clip(pdl1, 0, None).astype(np.int8), mask=pdl1 < 0),
            A.date32(persons["diag"].to_numpy()),
            A.date32(death, mask=alive),
        ],
        schema=PERSONS_TRUTH,
    )


def lines_truth(lines: pd.DataFrame, persons: pd.DataFrame) -> pa.Table:
    """truth/lines_truth of one block (LINES_TRUTH); lines.pid indexes the block's persons."""
    keys = np.array([r.key for r in R.REGIMENS])
    return pa.Table.from_arrays(
        [
            pa.array(persons["truth_person_id"].to_numpy()[lines["pid"].to_numpy()], pa.string()),
            pa.array(lines["line_number"].to_numpy().astype(np.int16)),
            A.date32(lines["first"].to_numpy()),
            A.date32(lines["last"].to_numpy()),
            pa.array(keys[lines["regimen"].to_numpy().astype(np.int64)], pa.string()),
            *changes.line_reason_columns(lines),
        ],
        schema=LINES_TRUTH,
    )


def from_truth(persons_t: pa.Table, lines_t: pa.Table, s: SimSettings) -> pd.DataFrame:
    """The calibration table computed from the truth tables (any row order, any number of blocks)."""
    n = persons_t.num_rows
    drv = persons_t.column("driver").to_pandas()
    pdl1 = persons_t.column("pdl1_class").to_pandas()
    persons = pd.DataFrame(
        {
            "pid": np.arange(n),
            "is_decoy": persons_t.column("is_decoy").to_numpy(zero_copy_only=False),
            "sex": persons_t.column("sex").to_numpy(zero_copy_only=False),
            "age": persons_t.column("age").to_numpy(zero_copy_only=False),
            "histology": pd.Index(HISTOLOGY).get_indexer(persons_t.column("histology").to_pandas()),
            "driver": np.where(drv.isna(), -1, pd.Index(DRIVERS).get_indexer(drv.fillna("none"))),
            "kras_g12c": persons_t.column("kras_g12c").to_numpy(zero_copy_only=False),
            "pdl1": np.where(pdl1.isna(), -1, pdl1.fillna(0)).astype(np.int64),
        }
    )
    death = _days(persons_t.column("death_date"), NEVER)
    pid = pd.Index(persons_t.column("truth_person_id").to_pandas()).get_indexer(
        lines_t.column("truth_person_id").to_pandas()
    )
    if (pid < 0).any():
        raise ValueError(f"lines_truth: {(pid < 0).sum()} lines of persons absent from persons_truth")
    lines = pd.DataFrame(
        {
            "pid": pid,
            "line_number": lines_t.column("line_number").to_numpy(zero_copy_only=False),
            "first": _days(lines_t.column("start_date"), NEVER),
            "last": _days(lines_t.column("end_date"), NEVER),
            "regimen": pd.Index([r.key for r in R.REGIMENS]).get_indexer(lines_t.column("regimen").to_pandas()),
        }
    )
    return calibration_table(persons, lines, death, s)


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
    add(
        "median_os_from_nivolumab_later_lines_months",
        km((np.minimum(dn, end) - nivo["first"].to_numpy()) / MONTH, dn <= end),
        8.0,
        12.5,
        ESME,
    )
    out = pd.DataFrame(rows, columns=COLUMNS)
    _ = NEVER
    return out
