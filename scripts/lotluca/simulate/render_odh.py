"""Render the clinical truth as a cancer centre's warehouse (ODH) observes it: patients, administrations
given inside the centre (every drug, cheap IV chemotherapy and trial drugs included), day-hospital stays
and oral prescriptions written at the centre, with prescription-software free text (drug labels with
doses, protocol labels, cycle numbers restarting at C1 when a maintenance protocol starts).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from lotluca import contracts, drugs
from lotluca.simulate import arrowcols as A
from lotluca.simulate import regimens as R
from lotluca.simulate.blocks import ROW_STRIDE, check_capacity
from lotluca.simulate.cohort import CENTRES, to_days
from lotluca.simulate.params import SimSettings
from lotluca.simulate.treatment import CENTRE, ING, ING_NAMES, NEVER, PHARMACY

HISTO_TEXT = (
    ("Adénocarcinome", "ADK pulmonaire", "Carcinome non à petites cellules non épidermoïde"),
    ("Carcinome épidermoïde", "Carcinome malpighien", "CE bronchique"),
    ("Carcinome non à petites cellules", "CBNPC NOS", "Carcinome bronchique NOS"),
)
MAX_LABELS = 3


def _labels():
    """Per ingredient code: up to MAX_LABELS free-text label stems (INN and brands), and their count."""
    dc = drugs.drug_labels()
    lab = np.full((len(ING_NAMES), MAX_LABELS), "", dtype=object)
    cnt = np.zeros(len(ING_NAMES), np.int64)
    for name, grp in dc.groupby("ingredient", sort=True):
        if name in ING:
            vals = grp["label"].tolist()[:MAX_LABELS]
            lab[ING[name], : len(vals)] = vals
            cnt[ING[name]] = len(vals)
    lab[ING[drugs.TRIAL_DRUG], 0] = "ESSAI CLINIQUE"
    cnt[ING[drugs.TRIAL_DRUG]] = 1
    return lab, cnt


def _labels_and_doses(rng, ing: np.ndarray, cnt: np.ndarray) -> dict:
    """Per administration: the label stem picked, title case or not, the dose (mg, rounded to 10) and
    whether the label carries no dose (trial drugs, 10%)."""
    n0 = ing.size
    pick = (rng.random(n0) * np.maximum(cnt[ing], 1)).astype(np.int64)
    title = rng.random(n0) < 0.35
    dose_med = np.array([R.DOSE_MG.get(n, (0, 0))[0] for n in ING_NAMES], float)
    dose_sd = np.array([R.DOSE_MG.get(n, (0, 0))[1] for n in ING_NAMES], float)
    dose = np.round(dose_med[ing] * (1 + dose_sd[ing] * rng.standard_normal(n0)) / 10) * 10
    dose = np.where(dose_sd[ing] == 0, dose_med[ing], np.maximum(dose, 10))
    is_trial = ing == ING[drugs.TRIAL_DRUG]
    no_dose = is_trial | (rng.random(n0) < 0.1)
    return {"li": ing * MAX_LABELS + pick, "title": title, "dose": dose, "is_trial": is_trial, "no_dose": no_dose}


def _protocol_fill(rng, events: pd.DataFrame, lines: pd.DataFrame, adm: np.ndarray, t):
    """Protocol label (index into the protocols) and whether the protocol and cycle labels are filled,
    per administration: per line phase with `protocol_label` / `cycle_label`, minus 5% of rows."""
    n0 = adm.size
    maint = events["is_maint"].to_numpy()[adm].astype(np.int64)
    lines_n = int(lines["line_id"].max()) + 1 if len(lines) else 0
    proto_ok = rng.random((lines_n, 2)) < t.protocol_label
    cyc_ok = rng.random((lines_n, 2)) < t.cycle_label
    reg_of_line = np.zeros(lines_n, np.int64)
    reg_of_line[lines["line_id"].to_numpy()] = lines["regimen"].to_numpy()
    e_lid = events["line_id"].to_numpy()[adm]
    protos = [r.protocol for r in R.REGIMENS] + [r.maint_protocol for r in R.REGIMENS]
    p_idx = reg_of_line[e_lid] + maint * R.N_REGIMENS
    proto_fill = proto_ok[e_lid, maint] & (np.array(protos, dtype=object)[p_idx] != "") & (rng.random(n0) > 0.05)
    cyc_fill = cyc_ok[e_lid, maint] & (rng.random(n0) > 0.05)
    return pa.array(protos), p_idx, proto_fill, cyc_fill


def _administrations(rng, persons, events, lines, adm, dup, s: SimSettings, row_base: int, LAB, cnt):
    """odh_administrations (label and dose drawn once per event; a duplicated copy repeats them), ordered
    by patient, date, drug; returns the table, the row ids of every event and duplicate, and the
    (patient, day) keys of the day-hospital stays."""
    m = len(events)
    pid = events["pid"].to_numpy()
    ing = events["ing"].to_numpy().astype(np.int64)
    date = events["date"].to_numpy().astype(np.int64)
    n0 = adm.size
    lab = _labels_and_doses(rng, ing[adm], cnt)
    PROTO, p_idx, proto_fill, cyc_fill = _protocol_fill(rng, events, lines, adm, s.traps)
    # rows: every observed event, plus duplicated copies, ordered by patient, date, drug
    src = np.concatenate([np.arange(n0), np.searchsorted(adm, dup)])
    rows = adm[src]
    k = rows.size
    order = np.lexsort((src >= n0, ing[rows], date[rows], pid[rows]))
    so = src[order]
    title = lab["title"][so]
    stem = A.where(title, pc.utf8_capitalize(LAB).take(pa.array(lab["li"][so])), LAB.take(pa.array(lab["li"][so])))
    unit = A.take(A.vocab(["MG", " mg"]), title.astype(np.int64))
    dose = lab["dose"][so]
    with_dose = A.join(stem, pa.scalar(" "), A.int_text(dose.astype(np.int64)), unit, sep="")
    label = A.where(lab["no_dose"][so], stem, with_dose)
    stay_key = pid[rows[order]].astype(np.int64) * 100_000 + date[rows[order]]
    ukey, inv = np.unique(stay_key, return_inverse=True)
    check_capacity(k, ROW_STRIDE, "ODH administrations")
    ODH = A.vocab(persons["odh_patient_id"].to_numpy())
    cycle_label = A.int_text(events["phase_cycle"].to_numpy()[rows[order]], prefix="C")
    table = pa.Table.from_arrays(
        [
            A.int_text(row_base + np.arange(1, k + 1), 9, "A"),
            A.take(ODH, pid[rows[order]]),
            A.int_text(row_base + inv + 1, 9, "S"),
            A.date32(date[rows[order]]),
            label,
            pa.array(dose, mask=lab["is_trial"][so]),
            pa.array(np.full(k, "IV")),
            A.take(PROTO, p_idx[so], null_mask=~proto_fill[so]),
            pc.if_else(pa.array(~cyc_fill[so]), pa.scalar(None, pa.string()), cycle_label),
        ],
        schema=contracts.ODH_ADMINISTRATIONS,
    )
    pos = np.empty(k, np.int64)
    pos[order] = np.arange(k)  # output position of each row
    adm_num = np.full(m, -1, np.int64)
    adm_num[adm] = row_base + pos[:n0] + 1
    dup_num = np.full(m, -1, np.int64)
    dup_num[dup] = row_base + pos[n0:] + 1
    return table, adm_num, dup_num, ukey


def _stays(persons: pd.DataFrame, ukey: np.ndarray, row_base: int) -> pa.Table:
    """odh_stays: one day-hospital stay per (patient, administration day), at the patient's centre."""
    n_stays = ukey.size
    st_pid = (ukey // 100_000).astype(np.int64)
    st_date = ukey % 100_000
    CF = A.vocab(np.array([c[1] for c in CENTRES]))
    centre_of = persons["centre"].to_numpy().clip(0).astype(np.int64)
    icd_codes, icd_idx = np.unique(persons["icd"].to_numpy(), return_inverse=True)
    return pa.Table.from_arrays(
        [
            A.int_text(row_base + np.arange(1, n_stays + 1), 9, "S"),
            A.take(A.vocab(persons["odh_patient_id"].to_numpy()), st_pid),
            A.take(CF, centre_of[st_pid]),
            A.date32(st_date),
            A.date32(st_date),
            pa.array(np.full(n_stays, "HDJ")),
            A.take(A.vocab(icd_codes), icd_idx[st_pid]),
        ],
        schema=contracts.ODH_STAYS,
    )


def _prescriptions(rng, persons, events, prs: np.ndarray, row_base: int, LAB, cnt):
    """odh_prescriptions: one per dispensation of a line decided at the centre, dated 0-3 days before it,
    duration = the days of the box; returns the table, the row id and the ODH date of every event."""
    m = len(events)
    pid = events["pid"].to_numpy()
    ing = events["ing"].to_numpy().astype(np.int64)
    date = events["date"].to_numpy().astype(np.int64)
    p_ing = ing[prs]
    p_pick = (rng.random(prs.size) * np.maximum(cnt[p_ing], 1)).astype(np.int64)
    p_date = date[prs] - rng.integers(0, 4, prs.size)
    p_order = np.lexsort((p_ing, p_date, pid[prs]))
    dur = (events["end_date"].to_numpy()[prs] - date[prs] + 1).astype(np.int32)
    table = pa.Table.from_arrays(
        [
            A.int_text(row_base + np.arange(1, prs.size + 1), 9, "P"),
            A.take(A.vocab(persons["odh_patient_id"].to_numpy()), pid[prs][p_order]),
            A.date32(p_date[p_order]),
            LAB.take(pa.array((p_ing * MAX_LABELS + p_pick)[p_order])),
            pa.array(dur[p_order]),
        ],
        schema=contracts.ODH_PRESCRIPTIONS,
    )
    p_pos = np.empty(prs.size, np.int64)
    p_pos[p_order] = np.arange(prs.size)
    presc_num = np.full(m, -1, np.int64)
    presc_num[prs] = row_base + p_pos + 1
    return table, presc_num, p_date


def _birth_dates(P: pd.DataFrame) -> np.ndarray:
    ymd = {
        "year": P["birth_year"].astype(int),
        "month": P["birth_month"].astype(int),
        "day": P["birth_day"].astype(int),
    }
    return pd.to_datetime(pd.DataFrame(ymd)).to_numpy().astype("datetime64[D]").astype(np.int64)


def _patients(rng, persons, events, death, adm_rows, prs, s: SimSettings) -> pa.Table:
    """odh_patients: demographics, free-text histology, biomarker statuses, PD-L1, the death date when
    known to the centre, and the last contact (last administration or prescription, diagnosis, death)."""
    end = to_days(s.end_date)
    pid = events["pid"].to_numpy()
    date = events["date"].to_numpy().astype(np.int64)
    pat = np.flatnonzero(~persons["is_decoy"].to_numpy())
    P = persons.iloc[pat]
    birth = _birth_dates(P)
    htxt = np.array(HISTO_TEXT, dtype=object)[P["histology"].to_numpy(), rng.integers(0, 3, pat.size)]
    drv = P["driver"].to_numpy()
    tested = drv >= 0

    def status(code, pos_txt, neg_txt, extra_mask=None):
        val = np.where(drv == code, pos_txt, neg_txt).astype(object)
        if extra_mask is not None:
            val = np.where(extra_mask, "muté G12C", val)
        return pa.array(val, type=pa.string(), mask=~tested)

    g12c = P["kras_g12c"].to_numpy()
    dd = death[pat]
    known = (dd <= end) & (rng.random(pat.size) < s.noise.death_known_to_centre)
    last_ev = np.full(len(persons), -1, np.int64)
    np.maximum.at(last_ev, pid[adm_rows], date[adm_rows])
    np.maximum.at(last_ev, pid[prs], date[prs])
    last_contact = np.maximum(last_ev[pat], P["diag"].to_numpy().astype(np.int64))
    last_contact = np.where(known, np.maximum(last_contact, dd), last_contact)
    postcode = np.char.add(P["dpt"].to_numpy().astype(str), np.char.zfill(rng.integers(0, 10, pat.size).astype(str), 2))
    postcode = np.char.add(postcode, "0")
    tps = P["pdl1_tps"].to_numpy()
    centre_f = np.array([c[1] for c in CENTRES])[persons["centre"].to_numpy().clip(0).astype(np.int64)]
    return pa.Table.from_arrays(
        [
            pa.array(persons["odh_patient_id"].to_numpy()[pat]),
            pa.array(centre_f[pat]),
            pa.array(np.where(P["sex"].to_numpy() == 1, "M", "F")),
            A.date32(birth),
            pa.array(postcode),
            A.date32(P["diag"].to_numpy()),
            pa.array(htxt, type=pa.string()),
            status(1, "muté", "non muté"),
            status(2, "réarrangé", "non réarrangé"),
            status(3, "réarrangé", "non réarrangé"),
            status(4, "muté", "non muté", (drv == 4) & g12c),
            status(5, "muté", "non muté"),
            status(6, "muté", "non muté"),
            pa.array(tps, mask=np.isnan(tps)),
            pa.array(np.where(known, dd, 0).astype("datetime64[D]"), type=pa.date32(), mask=~known),
            A.date32(np.minimum(last_contact, end)),
            _ecog(P),
        ],
        schema=contracts.ODH_PATIENTS,
    )


def _ecog(P: pd.DataFrame) -> pa.Array:
    """odh_patients.ecog: the ECOG drawn by `confounding` where the centre recorded it, else null."""
    if "ecog" not in P:
        return pa.nulls(len(P), pa.int16())
    e = P["ecog"].to_numpy().astype(np.int16)
    return pa.array(e, type=pa.int16(), mask=(e < 0) | ~P["ecog_recorded"].to_numpy(bool))


def render(
    rng: np.random.Generator,
    persons: pd.DataFrame,
    events: pd.DataFrame,
    lines: pd.DataFrame,
    death: np.ndarray,
    s: SimSettings,
    emit=None,
    row_base: int = 0,
):
    """ODH tables (dict name -> pa.Table) and per-event ODH rendering columns (aligned on events).
    Administration, stay and prescription ids are numbered from row_base + 1 (a block's id range)."""
    nz = s.noise
    m = len(events)
    pid = events["pid"].to_numpy()
    is_pat = ~persons["is_decoy"].to_numpy()
    date = events["date"].to_numpy().astype(np.int64)
    lid = events["line_id"].to_numpy()
    line_setting = np.full(int(lines["line_id"].max()) + 1 if len(lines) else 0, -1, np.int64)
    line_setting[lines["line_id"].to_numpy()] = lines["setting"].to_numpy()

    at_centre = is_pat[pid] & (events["setting"].to_numpy() == CENTRE)
    presc = is_pat[pid] & (events["setting"].to_numpy() == PHARMACY) & (line_setting[lid] == CENTRE)
    miss = (rng.random(m) < nz.odh_missing) & ~events["first_of_line"].to_numpy()
    adm = np.flatnonzero(at_centre & ~miss)
    prs = np.flatnonzero(presc & ~miss)
    dup = adm[rng.random(adm.size) < nz.odh_duplicate]

    lab, cnt = _labels()
    LAB = pa.array(lab.ravel().astype(str))
    adm_table, adm_num, dup_num, stay_keys = _administrations(
        rng, persons, events, lines, adm, dup, s, row_base, LAB, cnt
    )
    stays = _stays(persons, stay_keys, row_base)
    presc_t, presc_num, p_date = _prescriptions(rng, persons, events, prs, row_base, LAB, cnt)
    a_rows = adm[np.concatenate([np.arange(adm.size), np.searchsorted(adm, dup)])]
    patients = _patients(rng, persons, events, death, a_rows, prs, s)
    tables = {
        "odh_patients": patients,
        "odh_administrations": adm_table,
        "odh_stays": stays,
        "odh_prescriptions": presc_t,
    }
    if emit is not None:
        tables = {name: emit("odh", name, t) for name, t in tables.items()}
    odh_date = np.full(m, NEVER, np.int64)
    odh_date[adm] = date[adm]
    odh_date[prs] = p_date
    cols = {"adm_num": adm_num, "presc_num": presc_num, "dup_num": dup_num, "odh_date": odh_date}
    return tables, cols
