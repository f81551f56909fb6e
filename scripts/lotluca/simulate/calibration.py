"""Calibration table: each simulated figure next to the published target range it imitates, source named.

Targets are published figures with their citation (authors, year, journal, the table/figure or abstract
figure; full references and what was verified: docs/simulate.md#calibration-targets); a row without a
verified published figure says so in its source ("no verified published figure") and its range is an
assumption. Tolerances are the published ranges (or +/- about 15% of a point estimate).
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
from lotluca.simulate.cohort import DRIVERS, EPOCH, HISTOLOGY, to_days
from lotluca.simulate.params import SimSettings
from lotluca.simulate.treatment import MONTH, NEVER

# source texts as written in calibration.csv (its bytes are part of the study's reproducible outputs)
BARLESI = "Barlesi et al. 2016, Lancet 387:1415-26, abstract (IFCT Biomarqueurs-France, 17,664 patients)"
ROS1_SRC = "Bubendorf et al. 2016, Virchows Arch 469(5), abstract: ROS1 in 1-2% of NSCLC (IFCT did not test ROS1)"
MET_SRC = "Awad et al. 2016, J Clin Oncol 34(7):721-30, abstract: 28/933 non-squamous (IFCT did not test MET)"
G12C = "Lim et al. 2023, Lung Cancer 184:107293, abstract: KRAS G12C in 9.3-18.4% of advanced NSCLC in Europe"
PDL1 = "Dietel et al. 2019, Lung Cancer 134:174-9 (EXPRESS), abstract: TPS>=50% 22% (27% EGFR/ALK-), <1% 48%"
GRIESINGER = "Griesinger et al. 2022, Lung Cancer 172:65-74, abstract (ESME-AMLC 2015-2018, no EGFR/ALK)"
ESME_1L = (
    "ESME-AMLC first-line chemotherapy vs immunotherapy 2015-2018 (median OS 11.6 mo; authors, journal unverified)"
)
UNIVOC = "Assie et al. 2020, Ther Adv Med Oncol 12:1758835920967237 (UNIVOC, SNDS), abstract: 2.8 mo, OS 11.7 mo"
NYEN = "Nyen et al. 2025, Front Oncol 15:1506041 (Norway 2015-2022), abstract: median first-line ToT"
NONE = "no verified published figure (range assumed; docs/simulate.md#calibration-targets)"
IO_INGREDIENTS = {"pembrolizumab", "nivolumab", "atezolizumab", "durvalumab", "ipilimumab"}
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

    add("male_fraction", (P["sex"] == 1).mean(), 0.60, 0.72, BARLESI)
    add("median_age_at_advanced_diagnosis", float(np.median(P["age"])), 63.0, 67.0, BARLESI)
    add("non_squamous_fraction", (P["histology"] == 0).mean(), 0.65, 0.75, NONE)
    ns_tested = P[(P["histology"] == 0) & (P["driver"] >= 0)]
    for code, name, lo, hi, src in ((1, "egfr", 0.10, 0.16, BARLESI), (2, "alk", 0.025, 0.055, BARLESI),
                                    (3, "ros1", 0.008, 0.025, ROS1_SRC), (4, "kras", 0.29, 0.39, BARLESI),
                                    (5, "braf", 0.015, 0.05, BARLESI), (6, "met", 0.025, 0.05, MET_SRC)):  # fmt: skip
        add(f"{name}_among_tested_non_squamous", (ns_tested["driver"] == code).mean(), lo, hi, src)
    add(
        "kras_g12c_among_tested_non_squamous",
        ((ns_tested["driver"] == 4) & ns_tested["kras_g12c"]).mean(),
        0.093,
        0.184,
        G12C,
    )
    tested = P[P["pdl1"] >= 0]
    add("pdl1_tps_50_plus_among_tested", (tested["pdl1"] == 2).mean(), 0.19, 0.28, PDL1)
    add("pdl1_tps_1_49_among_tested", (tested["pdl1"] == 1).mean(), 0.26, 0.34, PDL1)
    add("pdl1_tps_below_1_among_tested", (tested["pdl1"] == 0).mean(), 0.40, 0.52, PDL1)

    L = lines[pat[lines["pid"].to_numpy()]]
    l1 = L[L["line_number"] == 1]
    old = l1[l1["first"] <= end - 730]
    reached = L.groupby("pid")["line_number"].max()
    r_old = reached.reindex(old["pid"]).to_numpy()
    add("reach_second_line_among_first_line", (r_old >= 2).mean() if r_old.size else np.nan, 0.35, 0.60, NONE)
    add("reach_third_line_among_first_line", (r_old >= 3).mean() if r_old.size else np.nan, 0.15, 0.25, NONE)
    d = death[l1["pid"].to_numpy()]
    t_os = (np.minimum(d, end) - l1["first"].to_numpy()) / MONTH
    ev = d <= end
    add("os_2y_from_first_line_start", km(t_os, ev, at=24.0), 0.30, 0.42, NONE)
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
    add("median_os_first_line_chemotherapy_months", km(t_os[chemo], ev[chemo]), 9.8, 13.4, ESME_1L)
    nivo = L[(L["regimen"] == R.INDEX["nivo"]) & (L["line_number"] >= 2)]
    dur = (nivo["last"].to_numpy() - nivo["first"].to_numpy() + 1) / MONTH
    add("median_nivolumab_duration_later_lines_months", float(np.median(dur)) if dur.size else np.nan, 1.8, 3.5, UNIVOC)
    dn = death[nivo["pid"].to_numpy()]
    add(
        "median_os_from_nivolumab_later_lines_months",
        km((np.minimum(dn, end) - nivo["first"].to_numpy()) / MONTH, dn <= end),
        8.0,
        13.5,
        UNIVOC,
    )
    _era_rows(add, P, L, death, end)
    _tki_rows(add, L, end)
    out = pd.DataFrame(rows, columns=COLUMNS)
    _ = NEVER
    return out


def _era_rows(add, P: pd.DataFrame, L: pd.DataFrame, death: np.ndarray, end: int) -> None:
    """Era-specific targets with a published figure (Griesinger et al. 2022, ESME-AMLC 2015-2018, patients
    without a known EGFR/ALK alteration): 2-year OS from first-line start, pembrolizumab alone among first
    lines of 2018, an immune checkpoint inhibitor in any line among non-squamous/other patients whose first
    line started in 2018. The immunotherapy-era figures after 2018, TKI durations and time to first line
    have no verified published figure: docs/simulate.md#calibration-targets."""
    drv = P["driver"].reindex(L["pid"]).to_numpy()
    l1 = L[(L["line_number"] == 1).to_numpy() & ~np.isin(drv, [1, 2])]
    year = (EPOCH + l1["first"].to_numpy().astype("timedelta64[D]")).astype("datetime64[Y]").astype(int) + 1970
    era = l1[(year >= 2015) & (year <= 2018)]
    d = death[era["pid"].to_numpy()]
    t = (np.minimum(d, end) - era["first"].to_numpy()) / MONTH
    add("os_2y_from_first_line_start_2015_2018_no_egfr_alk", km(t, d <= end, at=24.0), 0.31, 0.42, GRIESINGER)
    y18 = l1[year == 2018]
    pem = (y18["regimen"].to_numpy() == R.INDEX["pembro"]).mean() if len(y18) else np.nan
    add("pembrolizumab_alone_among_first_lines_2018_no_egfr_alk", pem, 0.15, 0.25, GRIESINGER)
    io_regs = [R.INDEX[r.key] for r in R.REGIMENS if {d[0] for d in r.drugs} & IO_INGREDIENTS]
    io_pids = set(L.loc[L["regimen"].isin(io_regs), "pid"])
    nsq = y18[P["histology"].reindex(y18["pid"]).to_numpy() != 1]
    share = nsq["pid"].isin(io_pids).mean() if len(nsq) else np.nan
    add("ici_any_line_non_squamous_first_line_2018_no_egfr_alk", share, 0.44, 0.60, GRIESINGER)


def _tki_rows(add, L: pd.DataFrame, end: int) -> None:
    """First-line time on treatment of osimertinib (EGFR) and alectinib (ALK): first to last exposure day
    (the end of the last supply), Kaplan-Meier median, a line still given in the last month of the data
    censored. Targets: Nyen et al. 2025 (Norwegian registries, the last dispensing depleted, 11 and 20
    months), +/- 15%. docs/simulate.md#calibration-targets."""
    for key, point in (("osimertinib", 11.0), ("alectinib", 20.0)):
        x = L[(L["line_number"] == 1).to_numpy() & (L["regimen"] == R.INDEX[key]).to_numpy()]
        dur = (x["last"].to_numpy() - x["first"].to_numpy() + 1) / MONTH
        value = km(dur, x["last"].to_numpy() < end - 31) if len(x) else np.nan
        add(
            f"median_{key}_first_line_time_on_treatment_months",
            value,
            round(point * 0.85, 1),
            round(point * 1.15, 1),
            NYEN,
        )
