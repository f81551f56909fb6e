"""Synthetic cohort generator: a faithful synthetic ODH + SNDS + gold-standard cohort of advanced NSCLC.

The clinical truth is drawn first (`cohort` persons, `treatment` lines, cycles, dispensations,
progression, death), then rendered per source (`render_odh`, `render_snds`), then the gold standard and
truth tables (`gold`), the calibration table (`calibration`), and written (`write`). Settings and every
knob: `params` (config.yaml `simulate:` block). Entry points: `simulate(settings, seed)` returns the
tables in memory; `simulate_to_files(settings, study, seed, out_dir, fmt)` writes them.

Blocks and shards (`blocks`): the cohort is drawn block by block (`block_size` ODH patients and their
decoys each), every block from its own random streams and identifier ranges, so the cohort depends on
the seed and block_size only. `simulate(..., shard=k, n_shards=N)` / `simulate_to_files(...)` draw the
blocks of shard k (block b -> shard b mod N) and `gather_shards` gathers the gold and truth tables of
the N shard folders (sorted canonically) and computes the calibration: identical for any N.

Output layout under OUT (default results/simulated; in the workflow one OUT per shard,
results/simulated/n{N}/{shard}/, the gathered gold/, truth/ and calibration.csv in results/simulated/):
  snds/{IR_BEN_R,KI_CCI_R,ER_PRS_F,ER_PHA_F,ER_UCD_F,ER_ETE_F,T_MCOaaB,T_MCOaaC,T_MCOaaD,T_MCOaaMED,T_MCOaaFH}.<fmt>
  odh/{odh_patients,odh_administrations,odh_stays,odh_prescriptions}.<fmt>
  gold/gold_lines.parquet, truth/linkage_truth.parquet, truth/clinical_truth.parquet, calibration.csv
  (calibration.csv of a whole cohort only: with n_shards > 1 it is written by gather_shards)
  truth/persons_truth.parquet (one row per person, decoys included: demographics, tumour, death) and
  truth/lines_truth.parquet (every true line of every person; the gold standard abstracts a sample);
  see `calibration.PERSONS_TRUTH` / `LINES_TRUTH`
  truth/concomitant_truth.parquet (per line: concomitant exposure flags and the hazard ratio applied; all
  false when simulate.concomitant.enabled is false) (see `concomitant`; its boxes are rendered in ER_PRS_F + ER_PHA_F; the
  per-box truth stays in memory: simulate()["concomitant"][1])

Clinical truth <-> raw rows (truth/clinical_truth.parquet, one row per true administration or
dispensation, decoys included):
  - observed_odh: the event has an ODH row; odh_table = odh_administrations | odh_prescriptions,
    odh_row_id = its administration_id / prescription_id, odh_date = the ODH date of that row
    (administration_date; for prescriptions the prescription_date, 0-3 days before the dispensation).
    odh_extra_keys: "odh_administrations:<id>" of a duplicated copy (noise), else "".
  - snds_channel: where the SNDS would show it: pharmacy (ER_PRS_F + ER_PHA_F, CIP13), en_sus_pmsi_med
    (T_MCOaaMED of the stay), en_sus_fh (T_MCOaaFH of a private-clinic stay, plus by default a DCIR copy
    in ER_UCD_F with UCD_TOP_UCD = 1), session_only (a T_MCOaaB GHM 28Z07Z stay, no drug name), none
    (trial drugs). en_sus_ucd (retrocession) is not drawn by this version.
  - snds_table/snds_key: the raw row: ER_PHA_F -> key = DCT_ORD_NUM (unique; the 8 other DCIR keys are
    those of that ER_PRS_F row); T_MCOaaMED / T_MCOaaFH -> key "ETA_NUM:RSA_NUM" of the stay, the row
    being the one of that stay with the event's ingredient (one row per ingredient per stay);
    T_MCOaaB -> "ETA_NUM:RSA_NUM" of the 28Z07Z session stay. snds_date = the date the SNDS shows (care
    date EXE_SOI_DTD, or stay admission + DELAI / DEL_DAT_ENT), which differs from `date` by one day
    under date jitter. snds_extra_keys: "ER_UCD_F:<DCT_ORD_NUM>" of the DCIR copy of a private-clinic
    en-sus drug. Keys are filled whenever a raw row exists; empty when the row is missing (noise).
  - observed_snds: a correct extractor applying the documented rules keeps a row for the event: the
    raw row exists and its stay has no return-code error.
  Several events of one day at one hospital share one stay (one 28Z07Z session).
  Noise rows with no truth event: pharmacy reversal pairs (+1 then -1 box, same person, care date
  and CIP13 as a true dispensation), DPN_QLF = 71 information copies, ACE copies of en-sus drugs
  flagged ETE_IND_TAA = 1 in ER_ETE_F, error stays (GHM 90...), unrelated care (consultations, biology,
  PPI / corticosteroid / antibiotic boxes when simulate.concomitant is disabled), diagnosis and
  complication stays. With simulate.concomitant enabled (default) the PPI / corticosteroid / antibiotic
  boxes are the concomitant dispensations of `concomitant` (their truth per line in
  truth/concomitant_truth.parquet, with the effect they had on the line's time to next treatment or death).

Rendering conventions (what a reader of the raw tables must know):
  - SNDS: ER_ETE_F is written too (ETE_IND_TAA lives there, joined to ER_PRS_F on the 9 DCIR keys).
    DCIR DCT_ORD_NUM is unique per ER_PRS_F row (the 9-key tuple is therefore unique). BEN_RES_DPT is
    written on 3 characters ("069") in IR_BEN_R / ER_PRS_F, on 2 in KI_CCI_R and T_MCOaaB.BDI_DEP.
    ER_PRS_F.ETB_PRE_FIN of a dispensed cancer drug = FINESS of the hospital where its line was decided.
    Chemotherapy sessions: GRG_GHM 28Z07Z, DGN_PAL Z511 (the PMSI coding rule for sessions), DGN_REL
    = the C34x; diagnosis stays (GHM 04M132) and complication stays carry DGN_PAL C34x; T_MCOaaD holds
    metastasis codes (C77-C79). Error stays: GHM 90Z0xZ copies of real stays. Return-code errors: one
    of NIR/SEX/SEJ/FHO/PMS_RET true or NAI/DAT_RET "1". FINESS never start with 0, so the integer
    ETA_NUM of T_MCOaaB/C and the string ETA_NUM of T_MCOaaD/MED/FH carry the same 9 digits.
    Parquet has no second-resolution timestamp: EXE_SOI_DTD/DTF read back as timestamp[ms] (same
    instants); CSV writes them as SAS datetimes (01JAN2020:00:00:00).
  - ODH: drug_label = an INN or brand stem from drug_codes.csv LABEL rows, upper-case with "450MG" or
    capitalised with " 450 mg", 10% without dose; trial drugs "ESSAI CLINIQUE" without dose. Protocol
    label and cycle label filled for a `protocol_label` / `cycle_label` share of line phases (minus 5%
    of rows); cycle numbers count within the phase, so they restart at C1 when maintenance starts.
    One HDJ stay per administration day. Oral prescriptions: one per dispensation of a line decided at
    the centre, dated 0-3 days before it, duration = days of the box.
  - A line's first administration/dispensation is never removed by missing-record or return-code
    noise, so every gold line has at least one observed exposure or chemotherapy session.

Assumptions (each with its knob in `params`, defaults in config.yaml; calibration targets and sources
in `calibration`: ESME-AMLC real-world cohort and IFCT Biomarqueurs-France (Barlesi et al., Lancet
2016) figures of BRIEF section 5; medians of time to progression from the pivotal trials: KEYNOTE-189
/ -407 / -024, CheckMate 017/057, FLAURA, ALEX, CROWN, ALTA-1L, PROFILE 1014, REVEL, LUME-Lung 1,
PARAMOUNT, CodeBreaK 100, VISION, GEOMETRY, as listed in `regimens`):
  - Persons: ODH patients of `centres` illustrative CLCC, plus `decoy_ratio` x as many SNDS-only
    lung-cancer beneficiaries (a `decoy_twin` share with identical sex, birth year/month and
    departement to a patient; `decoy_at_centre` of their lines at a centre's FINESS). Diagnoses
    uniform over the study period (the last 60 days excluded). 2/3 male, age ~ N(65, 9.5).
  - Histology 70% non-squamous / 25% squamous / 5% NOS; drivers mutually exclusive, drawn among
    tested non-squamous (squamous: 5x rarer, tested a third as often); PD-L1 classes 25 / 30 / 45%.
  - First line: biomarker- and era-driven (osimertinib from 2018 else gefitinib/erlotinib/afatinib;
    alectinib/brigatinib/lorlatinib from 2018 else crizotinib; crizotinib/entrectinib for ROS1;
    dabrafenib-trametinib for BRAF; before 2017 platinum doublets +/- bevacizumab with optional
    pemetrexed continuation maintenance; 2017-2018 pembrolizumab for TPS >= 50%; 2019+
    platinum-pemetrexed-pembrolizumab (non-squamous), carboplatin-paclitaxel-pembrolizumab
    (squamous), pembrolizumab alone for TPS >= 50%, a platinum doublet alone for 10-20%
    (contra-indication)); cisplatin 5x rarer at 75+; `treated` (92%) receive a first line.
  - Later lines: T790M (`t790m`) -> osimertinib, next ALK TKI, nivolumab / pembrolizumab /
    atezolizumab if IO-naive (from 2015 / 2017 / 2018), docetaxel (+/- nintedanib / ramucirumab),
    pemetrexed, platinum re-challenge, gemcitabine, oral vinorelbine, sotorasib / MET inhibitors from
    2022, amivantamab-carboplatin-pemetrexed from 2024; after a planned stop and progression off
    treatment, `rechallenge` gives the same regimen again (a new line). A line at the centre is an
    unnamed clinical trial with probability `clinical_trial`.
  - Time to progression: lognormal (sigma 1.1) around the regimen's median, x 0.92 per line beyond the
    second; 20% of immunotherapy lines are durable responders (x 5). Death on a line before
    progression 15 / 18 / 22% (lines 1 / 2 / 3+), plus `early_death` after one cycle in first line;
    after progression, the next line with probability next_line[k] after a median 24-day gap, else
    death after a median 120 days of supportive care. Treatment stops for toxicity (`toxicity_stop`)
    without ending the line clinically (the next line still starts at progression).
  - IV cycles every 21 days (nivolumab 14, or 28 from 2019 with `nivolumab_q4w`), day-8 doses of
    gemcitabine and IV vinorelbine; `dose_delay` of 1-3 weeks, `skipped_cycle`; platinum induction 4
    (`induction_cycles_6`: 6) cycles then continuation maintenance (always with IO / bevacizumab,
    `continuation_maintenance` for platinum-pemetrexed) or stop (planned_stop); pembrolizumab /
    atezolizumab capped at `io_max_cycles`; docetaxel at 8 cycles; `toxicity_drop` of a non-platinum
    drug, `platinum_swap`, `taxane_swap`, `bevacizumab_cycle2`, `treatment_holiday` (2-4 months, then
    the same drugs) all stay in the same line. Oral drugs: one box of days_per_pack (drugs.csv) per
    dispensation (`two_boxes`: two boxes, a two-month supply), the next one when the supply runs out
    +-3 days, `tki_gap` gaps of 2-6 weeks. Day-hospital administrations falling on
    a weekend move to the Monday; dispensations falling on a Sunday to the Monday.
  - Setting: ODH patients' lines at their centre unless `line_elsewhere` (public hospital or, with
    `private_clinic_share`, private clinic of the home departement); `cycle_elsewhere` single cycles.
    Oral drugs are dispensed by community pharmacies (prescriptions visible in ODH when the line is
    decided at the centre). Retrocession (ER_UCD_F UCD_TOP_UCD = 0 without ETE_IND_TAA) is not drawn:
    the shipped drug reference has no UCD codes for oral drugs.
"""

from __future__ import annotations

import logging
import resource
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from lotluca.io import read_parquet, write_parquet
from lotluca.sharding import gather
from lotluca.simulate import arrowcols as A
from lotluca.simulate import blocks, calibration, cohort, concomitant, gold, render_odh, render_snds, treatment
from lotluca.simulate.blocks import Block
from lotluca.simulate.params import SimSettings, from_config
from lotluca.simulate.write import TableAppender, write_table

log = logging.getLogger(__name__)

SNDS_OUT = [
    "IR_BEN_R",
    "KI_CCI_R",
    "ER_PRS_F",
    "ER_PHA_F",
    "ER_UCD_F",
    "ER_ETE_F",
    "T_MCOaaB",
    "T_MCOaaC",
    "T_MCOaaD",
    "T_MCOaaMED",
    "T_MCOaaFH",
]
ODH_OUT = ["odh_patients", "odh_administrations", "odh_stays", "odh_prescriptions"]
CONCOMITANT_OUT = "concomitant_truth"  # truth/<name>.parquet (exposure flags false when concomitant disabled)
# truth/<name>.parquet gathered over shards, sorted by these keys (then every other column)
TRUTH_SORT_KEYS = {
    "linkage_truth": ["odh_patient_id"],
    "clinical_truth": ["truth_person_id", "date"],
    CONCOMITANT_OUT: ["truth_person_id", "line_number"],
    "persons_truth": ["truth_person_id"],
    "lines_truth": ["truth_person_id", "line_number"],
}
GOLD_SORT_KEYS = ["person_id", "line_number", "is_maintenance", "start_date"]

CLINICAL_TRUTH = pa.schema(
    [
        ("truth_person_id", pa.string()),
        ("odh_patient_id", pa.string()),
        ("ben_idt_ano", pa.string()),
        ("date", pa.date32()),
        ("end_date", pa.date32()),
        ("ingredient", pa.string()),
        ("route", pa.string()),
        ("setting", pa.string()),
        ("hospital", pa.string()),
        ("line_number", pa.int16()),
        ("is_maintenance", pa.bool_()),
        ("cycle", pa.int16()),
        ("observed_odh", pa.bool_()),
        ("odh_table", pa.string()),
        ("odh_row_id", pa.string()),
        ("odh_date", pa.date32()),
        ("odh_extra_keys", pa.string()),
        ("observed_snds", pa.bool_()),
        ("snds_channel", pa.string()),
        ("snds_table", pa.string()),
        ("snds_key", pa.string()),
        ("snds_date", pa.date32()),
        ("snds_extra_keys", pa.string()),
    ]
)
LINKAGE_TRUTH = pa.schema([("odh_patient_id", pa.string()), ("ben_idt_ano", pa.string())])


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _progress(what: str, t0: float) -> None:
    log.info(
        "%s at %.1f s (CPU %.1f s, peak RSS %.0f MB)", what, time.perf_counter() - t0, time.process_time(), _rss_mb()
    )


def truth_table(persons: pd.DataFrame, events: pd.DataFrame, snds_cols: dict, odh_cols: dict) -> pa.Table:
    """truth/clinical_truth: one row per true event with its ODH and SNDS rendering (see module docstring)."""
    pid = events["pid"].to_numpy().astype(np.int64)
    m = pid.size
    odh_id = persons["odh_patient_id"].to_numpy()
    never = treatment.NEVER
    adm, presc, dup = odh_cols["adm_num"], odh_cols["presc_num"], odh_cols["dup_num"]
    null = pa.nulls(m, pa.string())
    odh_row = A.where(adm > 0, A.int_text(adm, 9, "A"), A.where(presc > 0, A.int_text(presc, 9, "P"), null))
    odh_tab = A.take(
        A.vocab(["odh_administrations", "odh_prescriptions"]), np.where(adm > 0, 0, np.where(presc > 0, 1, -1))
    )
    odh_extra = A.where(dup > 0, A.int_text(dup, 9, "odh_administrations:A"), null)
    oral = events["oral"].to_numpy()
    return pa.Table.from_arrays(
        [
            A.take(A.vocab(persons["truth_person_id"].to_numpy()), pid),
            A.take(A.vocab(odh_id), pid, null_mask=(odh_id == "")[pid]),
            A.take(A.vocab(persons["ben_idt_ano"].to_numpy()), pid),
            A.date32(events["date"].to_numpy()),
            A.date32(events["end_date"].to_numpy()),
            A.take(A.vocab(treatment.ING_NAMES), events["ing"].to_numpy()),
            A.take(A.vocab(["iv", "oral"]), oral.astype(np.int64)),
            A.take(A.vocab(treatment.SETTING_NAMES), events["setting"].to_numpy()),
            snds_cols["hospital"],
            pa.array(events["line_number"].to_numpy(), type=pa.int16()),
            pa.array(events["is_maint"].to_numpy()),
            pa.array(events["cycle"].to_numpy().astype(np.int16), mask=oral),
            pa.array((adm > 0) | (presc > 0)),
            odh_tab,
            odh_row,
            A.date32(odh_cols["odh_date"], mask=odh_cols["odh_date"] == never),
            odh_extra,
            pa.array(snds_cols["observed_snds"]),
            snds_cols["snds_channel"],
            snds_cols["snds_table"],
            snds_cols["snds_key"],
            snds_cols["snds_date"],
            snds_cols["snds_extra_keys"],
        ],
        schema=CLINICAL_TRUTH,
    )


def simulate_block(
    s: SimSettings, seed: int, block: Block, hosp: cohort.Hospitals, odh_key: tuple[int, int], emit=None
) -> dict:
    """Draw one block of the cohort (its own random streams and id ranges, see `blocks`) and render every
    table. Returns {"snds": {...}, "odh": {...}, "gold", "linkage_truth", "clinical_truth", "concomitant",
    "persons_truth", "lines_truth", "counts", "_persons", "_lines", "_death"}; with `emit(group, name,
    table)` every table is handed over as soon as it is built and the result holds what emit returned."""
    t0 = time.perf_counter()
    rng = blocks.block_streams(seed, block)  # the 10th: concomitant dispensations
    s = block.settings(s)
    persons = cohort.draw_persons(rng[0], s)
    persons = cohort.make_twins(rng[1], persons, s)
    persons = cohort.assign_identifiers(rng[2], persons, s, first_person=block.first_person, odh_key=odh_key)
    lines, death = treatment.draw_lines(rng[4], persons, s)
    events = treatment.draw_events(rng[5], lines, persons, death, s)
    lines = treatment.finalise_lines(lines, events, death, s)
    conc = None
    if s.concomitant.enabled:
        conc = concomitant.draw_dispensations(rng[9], persons, lines, death, cohort.to_days(s.end_date),
                                              s.concomitant.background_rate)  # fmt: skip
    _progress(
        f"block {block.index}: truth drawn ({len(persons)} persons, {len(lines)} lines, {len(events)} events)", t0
    )
    snds_tables, snds_cols, _ = render_snds.render(
        rng[6], persons, events, death, hosp, s, emit, conc, rsa_base=block.row_base, dct_base=block.dct_base
    )
    odh_tables, odh_cols = render_odh.render(rng[7], persons, events, lines, death, s, emit, row_base=block.row_base)
    in_gold, test = gold.gold_persons(rng[8], persons, s)
    gold_t = gold.gold_table(lines, persons, in_gold, test, cohort.to_days(s.end_date))

    truth = truth_table(persons, events, snds_cols, odh_cols)
    del snds_cols, odh_cols
    pat = ~persons["is_decoy"].to_numpy()
    odh_id = persons["odh_patient_id"].to_numpy()
    linkage = pa.Table.from_arrays(
        [pa.array(odh_id[pat]), pa.array(persons["ben_idt_ano"].to_numpy()[pat])], schema=LINKAGE_TRUTH
    )
    persons_t = calibration.persons_truth(persons, death, s.end_date)
    lines_t = calibration.lines_truth(lines, persons)
    conc_t = concomitant.truth_tables(persons, lines, conc, cohort.EPOCH)  # flags all false when disabled
    out = {"gold": gold_t, "linkage_truth": linkage, "clinical_truth": truth, CONCOMITANT_OUT: conc_t[0],
           "persons_truth": persons_t, "lines_truth": lines_t}  # fmt: skip
    if emit is not None:
        out = {name: emit("gold" if name == "gold" else "truth", name if name != "gold" else "gold_lines", t)
               for name, t in out.items()}  # fmt: skip
    _progress(f"block {block.index}: all tables built", t0)
    return {
        "snds": snds_tables,
        "odh": odh_tables,
        "gold": out["gold"],
        "linkage_truth": out["linkage_truth"],
        "clinical_truth": out["clinical_truth"],
        "concomitant": (out[CONCOMITANT_OUT], conc_t[1]),
        "persons_truth": out["persons_truth"],
        "lines_truth": out["lines_truth"],
        "counts": {"patients": int(pat.sum()), "decoys": int((~pat).sum()), "lines": len(lines), "events": len(events)},
        "_persons": persons,
        "_lines": lines,
        "_death": death,
    }


def _cohort_draws(seed: int) -> tuple[cohort.Hospitals, tuple[int, int]]:
    """The draws shared by every block: hospitals outside the centres and the ODH id bijection."""
    rng = blocks.cohort_stream(seed)
    hosp = cohort.Hospitals.draw(rng)
    return hosp, cohort.odh_id_key(rng)


def _concat(tables: list[pa.Table]) -> pa.Table:
    return pa.concat_tables(tables).combine_chunks()


def _empty_block(s: SimSettings) -> Block:
    """A one-patient block whose tables, emptied, give the schemas of a shard that has no block."""
    return Block(index=0, patients=1, decoys=blocks.n_decoys(1, s), first_person=0)


def simulate(settings: SimSettings, seed: int, emit=None, shard: int = 0, n_shards: int = 1) -> dict:
    """Draw the blocks of shard `shard` of `n_shards` (the whole cohort by default) and render every table;
    returns {"snds": {...}, "odh": {...}, "gold", "linkage_truth", "clinical_truth", "concomitant",
    "persons_truth", "lines_truth", "calibration" (DataFrame), "counts", "_persons", "_lines", "_death"},
    tables concatenated over the blocks in block order. With `emit(group, name, table)`, every table of
    every block is handed over as soon as it is built and only "counts" is returned (simulate_to_files
    appends and drops the tables that way, keeping memory at one block). A shard without blocks emits
    empty tables with the right schemas."""
    s = settings
    hosp, odh_key = _cohort_draws(seed)
    todo = blocks.shard_blocks(s, shard, n_shards)
    counts = {"patients": 0, "decoys": 0, "lines": 0, "events": 0}
    if not todo:  # the tables of a one-patient block, emptied
        if emit is not None:
            simulate_block(s, seed, _empty_block(s), hosp, odh_key, lambda g, n, t: emit(g, n, t.slice(0, 0)))
            return {"counts": counts}
        results = [_empty_result(simulate_block(s, seed, _empty_block(s), hosp, odh_key))]
    else:
        results = []
        for b in todo:
            r = simulate_block(s, seed, b, hosp, odh_key, emit)
            counts = {k: counts[k] + r["counts"][k] for k in counts}
            if emit is None:
                results.append(r)
        if emit is not None:
            return {"counts": counts}
    out = {"counts": counts}
    for name in ("gold", "linkage_truth", "clinical_truth", "persons_truth", "lines_truth"):
        out[name] = _concat([r[name] for r in results])
    out["calibration"] = calibration.from_truth(out["persons_truth"], out["lines_truth"], s)
    out["snds"] = {n: _concat([r["snds"][n] for r in results]) for n in results[0]["snds"]}
    out["odh"] = {n: _concat([r["odh"][n] for r in results]) for n in results[0]["odh"]}
    out["concomitant"] = tuple(_concat([r["concomitant"][i] for r in results]) for i in (0, 1))
    offsets = np.cumsum([0] + [len(r["_persons"]) for r in results])
    out["_persons"] = pd.concat([r["_persons"] for r in results], ignore_index=True)
    out["_persons"]["pid"] = np.arange(len(out["_persons"]), dtype=np.int32)
    out["_lines"] = pd.concat(
        [r["_lines"].assign(pid=r["_lines"]["pid"].to_numpy() + off) for r, off in zip(results, offsets, strict=False)],
        ignore_index=True,
    )
    out["_death"] = np.concatenate([r["_death"] for r in results])
    return out


def _empty_result(r: dict) -> dict:
    """The result of a block with every table emptied (a shard without blocks)."""
    out = dict(r)
    out["snds"] = {n: t.slice(0, 0) for n, t in r["snds"].items()}
    out["odh"] = {n: t.slice(0, 0) for n, t in r["odh"].items()}
    for name in ("gold", "linkage_truth", "clinical_truth", "persons_truth", "lines_truth"):
        out[name] = r[name].slice(0, 0)
    out["concomitant"] = tuple(t.slice(0, 0) for t in r["concomitant"])
    out["_persons"] = r["_persons"].iloc[:0]
    out["_lines"] = r["_lines"].iloc[:0]
    out["_death"] = r["_death"][:0]
    return out


def _path(out: Path, group: str, name: str, fmt: str) -> tuple[Path, str]:
    """File of a table: SNDS and ODH tables in `fmt`, gold and truth tables always Parquet."""
    if group in ("gold", "truth"):
        return out / group / f"{name}.parquet", "parquet"
    return out / group / f"{name}.{fmt}", fmt


def _write_calibration(calib: pd.DataFrame, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "calibration.csv").write_text(
        calib.to_csv(index=False, lineterminator="\n", float_format="%.4f"), encoding="utf-8"
    )


def write_outputs(result: dict, out_dir: str | Path, fmt: str = "parquet") -> dict:
    """Write the in-memory tables of `simulate` under out_dir; returns rows per table."""
    if fmt not in ("parquet", "csv"):
        raise ValueError(f"format must be parquet or csv, got {fmt!r}")
    out = Path(out_dir)
    groups = [("snds", n, t) for n, t in result["snds"].items()] + [("odh", n, t) for n, t in result["odh"].items()]
    groups += [("gold", "gold_lines", result["gold"]), ("truth", "linkage_truth", result["linkage_truth"])]
    groups += [("truth", "clinical_truth", result["clinical_truth"])]
    groups += [("truth", CONCOMITANT_OUT, result["concomitant"][0])]
    groups += [("truth", "persons_truth", result["persons_truth"]), ("truth", "lines_truth", result["lines_truth"])]
    for group, name, table in groups:
        path, f = _path(out, group, name, fmt)
        write_table(table, path, f, snds_table=name if group == "snds" else None)
    _write_calibration(result["calibration"], out)
    return {name: table.num_rows for _, name, table in groups}


def _calibrate(persons_t: pa.Table, lines_t: pa.Table, s: SimSettings, out: Path) -> None:
    """Write OUT/calibration.csv of a whole cohort (its truth tables) and log the figures off target."""
    calib = calibration.from_truth(persons_t, lines_t, s)
    _write_calibration(calib, out)
    level = logging.WARNING if s.patients >= 2000 else logging.INFO  # small cohorts are too noisy to calibrate
    for _, r in calib[~calib["within"]].iterrows():
        log.log(level, "calibration: %s = %s outside [%s, %s] (%s)",
                r["metric"], r["simulated"], r["target_low"], r["target_high"], r["source"])  # fmt: skip


def _settings(settings, study) -> SimSettings:
    """A SimSettings as given, or built from the config's simulate: and study: blocks (dicts)."""
    return settings if isinstance(settings, SimSettings) else from_config(dict(settings or {}), dict(study or {}))


def simulate_to_files(
    settings, study, seed: int, out_dir: str | Path, fmt: str = "parquet", shard: int = 0, n_shards: int = 1
) -> dict:
    """Build settings from the config blocks (dicts) or take a SimSettings, simulate shard `shard` of
    `n_shards` (the whole cohort by default), write. Returns a summary.

    Each block's tables are appended to their files by a background thread as soon as they are built,
    then dropped, so the peak memory is about one block; Arrow releases the GIL while encoding, so
    writing overlaps with drawing the next tables. The bytes of a file do not depend on timing.
    calibration.csv (cohort-level figures) is written for the whole cohort (n_shards 1) only; for a
    sharded run `gather_shards` computes it from the gathered truth tables."""
    if fmt not in ("parquet", "csv"):
        raise ValueError(f"format must be parquet or csv, got {fmt!r}")
    s = _settings(settings, study)
    out = Path(out_dir)
    rows: dict[str, int] = {}
    writers: dict[str, TableAppender] = {}
    kept: dict[str, list] = {"persons_truth": [], "lines_truth": []}
    futures = []
    with ThreadPoolExecutor(max_workers=1) as pool:  # one thread: appends to a file stay in block order

        def emit(group, name, table):
            path, f = _path(out, group, name, fmt)
            if name not in writers:
                writers[name] = TableAppender(path, f, name if group == "snds" else None)
            rows[name] = rows.get(name, 0) + table.num_rows
            if name in kept:
                kept[name].append(table)
            futures.append(pool.submit(writers[name].append, table))
            return table.num_rows

        try:
            result = simulate(s, seed, emit, shard=shard, n_shards=n_shards)
            for fut in futures:
                fut.result()  # re-raise any writing error
        finally:
            for fut in futures:
                fut.cancel()
            for w in writers.values():
                pool.submit(w.close).result()
    if n_shards == 1:
        _calibrate(_concat(kept["persons_truth"]), _concat(kept["lines_truth"]), s, out)
    return {**result["counts"], "rows": rows}


def gather_shards(shard_dirs: list[str | Path], out_dir: str | Path, settings, study=None) -> dict:
    """Gather the gold and truth tables of simulated shards into out_dir (gold/, truth/), each sorted
    canonically so the files do not depend on the number of shards, and compute calibration.csv over the
    whole cohort. The SNDS and ODH tables stay in their shards (extraction reads them per shard)."""
    s = _settings(settings, study)
    out = Path(out_dir)
    dirs = [Path(d) for d in shard_dirs]
    names = [("gold", "gold_lines", GOLD_SORT_KEYS)] + [("truth", n, k) for n, k in TRUTH_SORT_KEYS.items()]
    kept = {}  # what the calibration needs
    rows = {}
    for group, name, keys in names:
        files = [d / group / f"{name}.parquet" for d in dirs]
        table = gather([read_parquet(f) for f in files], keys, sources=[str(f) for f in files])
        write_parquet(table, out / group / f"{name}.parquet")
        if name in ("persons_truth", "lines_truth"):
            kept[name] = table
        rows[name] = table.num_rows
    _calibrate(kept["persons_truth"], kept["lines_truth"], s, out)
    return rows


__all__ = ["SimSettings", "from_config", "gather_shards", "simulate", "simulate_to_files", "write_outputs"]
