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
    dc = drugs.drug_codes()
    dc = dc[dc["code_system"] == "LABEL"]
    lab = np.full((len(ING_NAMES), MAX_LABELS), "", dtype=object)
    cnt = np.zeros(len(ING_NAMES), np.int64)
    for name, grp in dc.groupby("ingredient", sort=True):
        if name in ING:
            vals = grp["code"].tolist()[:MAX_LABELS]
            lab[ING[name], : len(vals)] = vals
            cnt[ING[name]] = len(vals)
    lab[ING[drugs.TRIAL_DRUG], 0] = "ESSAI CLINIQUE"
    cnt[ING[drugs.TRIAL_DRUG]] = 1
    return lab, cnt


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
    nz, t = s.noise, s.traps
    end = to_days(s.end_date)
    m = len(events)
    pid = events["pid"].to_numpy()
    is_pat = ~persons["is_decoy"].to_numpy()
    ing = events["ing"].to_numpy().astype(np.int64)
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

    # ---- administrations (label and dose drawn once per event; a duplicated copy repeats them) ------
    lab, cnt = _labels()
    LAB = pa.array(lab.ravel().astype(str))
    LAB_T = pc.utf8_capitalize(LAB)
    n0 = adm.size
    e_ing = ing[adm]
    pick = (rng.random(n0) * np.maximum(cnt[e_ing], 1)).astype(np.int64)
    li = e_ing * MAX_LABELS + pick
    title = rng.random(n0) < 0.35
    dose_med = np.array([R.DOSE_MG.get(n, (0, 0))[0] for n in ING_NAMES], float)
    dose_sd = np.array([R.DOSE_MG.get(n, (0, 0))[1] for n in ING_NAMES], float)
    dose = np.round(dose_med[e_ing] * (1 + dose_sd[e_ing] * rng.standard_normal(n0)) / 10) * 10
    dose = np.where(dose_sd[e_ing] == 0, dose_med[e_ing], np.maximum(dose, 10))
    is_trial = e_ing == ING[drugs.TRIAL_DRUG]
    no_dose = is_trial | (rng.random(n0) < 0.1)
    maint = events["is_maint"].to_numpy()[adm].astype(np.int64)
    lines_n = int(lines["line_id"].max()) + 1 if len(lines) else 0
    proto_ok = rng.random((lines_n, 2)) < t.protocol_label
    cyc_ok = rng.random((lines_n, 2)) < t.cycle_label
    reg_of_line = np.zeros(lines_n, np.int64)
    reg_of_line[lines["line_id"].to_numpy()] = lines["regimen"].to_numpy()
    e_lid = lid[adm]
    protos = [r.protocol for r in R.REGIMENS] + [r.maint_protocol for r in R.REGIMENS]
    PROTO = pa.array(protos)
    p_idx = reg_of_line[e_lid] + maint * R.N_REGIMENS
    proto_fill = proto_ok[e_lid, maint] & (np.array(protos, dtype=object)[p_idx] != "") & (rng.random(n0) > 0.05)
    cyc_fill = cyc_ok[e_lid, maint] & (rng.random(n0) > 0.05)
    # rows: every observed event, plus duplicated copies, ordered by patient, date, drug
    src = np.concatenate([np.arange(n0), np.searchsorted(adm, dup)])
    rows = adm[src]
    k = rows.size
    order = np.lexsort((src >= n0, ing[rows], date[rows], pid[rows]))
    so = src[order]
    stem = A.where(title[so], LAB_T.take(pa.array(li[so])), LAB.take(pa.array(li[so])))
    unit = A.take(A.vocab(["MG", " mg"]), title[so].astype(np.int64))
    with_dose = A.join(stem, pa.scalar(" "), A.int_text(dose[so].astype(np.int64)), unit, sep="")
    label = A.where(no_dose[so], stem, with_dose)
    stay_key = pid[rows[order]].astype(np.int64) * 100_000 + date[rows[order]]
    ukey, inv = np.unique(stay_key, return_inverse=True)
    check_capacity(k, ROW_STRIDE, "ODH administrations")
    n_stays = ukey.size
    odh_id = persons["odh_patient_id"].to_numpy()
    ODH = A.vocab(odh_id)
    adm_table = pa.Table.from_arrays(
        [
            A.int_text(row_base + np.arange(1, k + 1), 9, "A"),
            A.take(ODH, pid[rows[order]]),
            A.int_text(row_base + inv + 1, 9, "S"),
            A.date32(date[rows[order]]),
            label,
            pa.array(dose[so], mask=is_trial[so]),
            pa.array(np.full(k, "IV")),
            A.take(PROTO, p_idx[so], null_mask=~proto_fill[so]),
            A.int_text(events["phase_cycle"].to_numpy()[rows[order]], prefix="C"),
        ],
        schema=contracts.ODH_ADMINISTRATIONS,
    )
    adm_table = adm_table.set_column(
        8, "cycle_label", pc.if_else(pa.array(~cyc_fill[so]), pa.scalar(None, pa.string()), adm_table.column(8))
    )
    pos = np.empty(k, np.int64)
    pos[order] = np.arange(k)  # output position of each row
    adm_num = np.full(m, -1, np.int64)
    adm_num[adm] = row_base + pos[:n0] + 1
    dup_num = np.full(m, -1, np.int64)
    dup_num[dup] = row_base + pos[n0:] + 1

    # ---- stays (day hospital per administration day) -------------------------------------------------
    st_pid = (ukey // 100_000).astype(np.int64)
    st_date = ukey % 100_000
    CF = A.vocab(np.array([c[1] for c in CENTRES]))
    centre_of = persons["centre"].to_numpy().clip(0).astype(np.int64)
    icd_codes, icd_idx = np.unique(persons["icd"].to_numpy(), return_inverse=True)
    stays = pa.Table.from_arrays(
        [
            A.int_text(row_base + np.arange(1, n_stays + 1), 9, "S"),
            A.take(ODH, st_pid),
            A.take(CF, centre_of[st_pid]),
            A.date32(st_date),
            A.date32(st_date),
            pa.array(np.full(n_stays, "HDJ")),
            A.take(A.vocab(icd_codes), icd_idx[st_pid]),
        ],
        schema=contracts.ODH_STAYS,
    )

    # ---- oral prescriptions written at the centre -------------------------------------------------------
    p_ing = ing[prs]
    p_pick = (rng.random(prs.size) * np.maximum(cnt[p_ing], 1)).astype(np.int64)
    p_date = date[prs] - rng.integers(0, 4, prs.size)
    p_order = np.lexsort((p_ing, p_date, pid[prs]))
    dur = (events["end_date"].to_numpy()[prs] - date[prs] + 1).astype(np.int32)
    presc_t = pa.Table.from_arrays(
        [
            A.int_text(row_base + np.arange(1, prs.size + 1), 9, "P"),
            A.take(ODH, pid[prs][p_order]),
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
    a_rows = rows

    # ---- patients ----------------------------------------------------------------------------------------
    pat = np.flatnonzero(is_pat)
    P = persons.iloc[pat]
    birth = (
        pd.to_datetime(
            pd.DataFrame({"year": P["birth_year"].astype(int), "month": P["birth_month"].astype(int), "day": P["birth_day"].astype(int)})
        ).to_numpy().astype("datetime64[D]").astype(np.int64)
    )  # fmt: skip
    hist = P["histology"].to_numpy()
    htxt = np.array(HISTO_TEXT, dtype=object)[hist, rng.integers(0, 3, pat.size)]
    drv = P["driver"].to_numpy()
    tested = drv >= 0

    def status(code, pos_txt, neg_txt, extra_mask=None):
        val = np.where(drv == code, pos_txt, neg_txt).astype(object)
        if extra_mask is not None:
            val = np.where(extra_mask, "muté G12C", val)
        return pa.array(val, type=pa.string(), mask=~tested)

    g12c = P["kras_g12c"].to_numpy()
    dd = death[pat]
    known = (dd <= end) & (rng.random(pat.size) < nz.death_known_to_centre)
    last_ev = np.full(len(persons), -1, np.int64)
    np.maximum.at(last_ev, pid[a_rows], date[a_rows])
    np.maximum.at(last_ev, pid[prs], date[prs])
    last_contact = np.maximum(last_ev[pat], P["diag"].to_numpy().astype(np.int64))
    last_contact = np.where(known, np.maximum(last_contact, dd), last_contact)
    postcode = np.char.add(P["dpt"].to_numpy().astype(str), np.char.zfill(rng.integers(0, 10, pat.size).astype(str), 2))
    postcode = np.char.add(postcode, "0")
    tps = P["pdl1_tps"].to_numpy()
    centre_f = np.array([c[1] for c in CENTRES])[centre_of]
    patients = pa.Table.from_arrays(
        [
            pa.array(odh_id[pat]),
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
        ],
        schema=contracts.ODH_PATIENTS,
    )
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
