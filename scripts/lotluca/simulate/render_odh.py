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
from lotluca.simulate import regimens as R
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


def _ids(prefix: str, n: int, start: int = 1) -> pa.Array:
    nums = pa.array(np.arange(start, start + n, dtype=np.int64)).cast(pa.string())
    return pc.binary_join_element_wise(pa.scalar(prefix), pc.utf8_lpad(nums, 9, "0"), "")


def _d32(days) -> pa.Array:
    return pa.array(np.asarray(days, dtype=np.int64).astype("datetime64[D]"), type=pa.date32())


def render(rng: np.random.Generator, persons: pd.DataFrame, events: pd.DataFrame, lines: pd.DataFrame, death: np.ndarray, s: SimSettings):
    """ODH tables (dict name -> pa.Table) and per-event ODH rendering columns (aligned on events)."""
    nz, t = s.noise, s.traps
    end = to_days(s.end_date)
    m = len(events)
    pid = events["pid"].to_numpy()
    is_pat = ~persons["is_decoy"].to_numpy()
    ing = events["ing"].to_numpy().astype(np.int64)
    date = events["date"].to_numpy().astype(np.int64)
    lid = events["line_id"].to_numpy()
    line_setting = lines.set_index("line_id")["setting"].reindex(np.arange(lid.max() + 1 if m else 0)).to_numpy() if m else np.array([])

    at_centre = is_pat[pid] & (events["setting"].to_numpy() == CENTRE)
    presc = is_pat[pid] & (events["setting"].to_numpy() == PHARMACY) & (line_setting[lid] == CENTRE)
    miss = rng.random(m) < nz.odh_missing
    adm = np.flatnonzero(at_centre & ~miss)
    prs = np.flatnonzero(presc & ~miss)
    dup = adm[rng.random(adm.size) < nz.odh_duplicate]

    # ---- administrations ---------------------------------------------------------------------------
    lab, cnt = _labels()
    a_rows = np.concatenate([adm, dup])
    k = a_rows.size
    a_ing = ing[a_rows]
    pick = (rng.random(k) * np.maximum(cnt[a_ing], 1)).astype(np.int64)
    stem = lab[a_ing, pick].astype(str)
    title = rng.random(k) < 0.35
    stem_arr = pa.array(stem)
    stem_arr = pc.if_else(pa.array(title), pc.utf8_capitalize(stem_arr), stem_arr)
    dose_med = np.array([R.DOSE_MG.get(n, (0, 0))[0] for n in ING_NAMES], float)
    dose_sd = np.array([R.DOSE_MG.get(n, (0, 0))[1] for n in ING_NAMES], float)
    dose = np.round(dose_med[a_ing] * (1 + dose_sd[a_ing] * rng.standard_normal(k)) / 10) * 10
    dose = np.where(dose_sd[a_ing] == 0, dose_med[a_ing], np.maximum(dose, 10))
    is_trial = a_ing == ING[drugs.TRIAL_DRUG]
    dose_txt = pa.array(dose.astype(np.int64)).cast(pa.string())
    unit = pa.array(np.where(title, " mg", "MG"))
    with_dose = pc.binary_join_element_wise(stem_arr, pa.scalar(" "), dose_txt, unit, "")
    with_dose = pc.replace_substring(with_dose, "  ", " ")
    no_dose = pa.array(is_trial | (rng.random(k) < 0.1))
    label = pc.if_else(no_dose, stem_arr, with_dose)
    # protocol label and cycle number: filled for some line phases only
    lines_n = int(lines["line_id"].max()) + 1 if len(lines) else 0
    proto_ok = rng.random((lines_n, 2)) < t.protocol_label
    cyc_ok = rng.random((lines_n, 2)) < t.cycle_label
    reg_of_line = lines.set_index("line_id")["regimen"].reindex(np.arange(lines_n)).to_numpy()
    maint = events["is_maint"].to_numpy()[a_rows].astype(np.int64)
    a_lid = lid[a_rows]
    protos = np.array([r.protocol for r in R.REGIMENS] + [""], dtype=object)
    mprotos = np.array([r.maint_protocol for r in R.REGIMENS] + [""], dtype=object)
    a_reg = reg_of_line[a_lid]
    proto = np.where(maint == 1, mprotos[a_reg], protos[a_reg])
    proto_fill = proto_ok[a_lid, maint] & (proto != "") & (rng.random(k) > 0.05)
    cyc_fill = cyc_ok[a_lid, maint] & (rng.random(k) > 0.05)
    cyc_txt = np.char.add("C", events["phase_cycle"].to_numpy()[a_rows].astype(str))
    stay_key = pid[a_rows].astype(np.int64) * 100_000 + date[a_rows]
    ukey, inv = np.unique(stay_key, return_inverse=True)
    n_stays = ukey.size
    stay_ids = _ids("S", n_stays)
    odh_id = persons["odh_patient_id"].to_numpy()
    order = np.lexsort((a_ing, date[a_rows], pid[a_rows]))
    adm_ids = _ids("A", k)
    adm_table = pa.Table.from_arrays(
        [
            adm_ids,
            pa.array(odh_id[pid[a_rows]][order]),
            stay_ids.take(pa.array(inv[order])),
            _d32(date[a_rows][order]),
            label.take(pa.array(order)),
            pa.array(np.where(is_trial, np.nan, dose)[order], mask=is_trial[order]),
            pa.array(np.full(k, "IV")),
            pa.array(proto[order].astype(object), type=pa.string(), mask=~proto_fill[order]),
            pa.array(cyc_txt[order], mask=~cyc_fill[order]),
        ],
        schema=contracts.ODH_ADMINISTRATIONS,
    )
    # the administration id of each (first-copy) rendered event
    adm_id_of = np.full(m, "", dtype=object)
    pos = np.empty(k, np.int64)
    pos[order] = np.arange(k)
    adm_ids_np = np.asarray(adm_ids.to_pylist(), dtype=object) if k else np.array([], dtype=object)
    adm_id_of[adm] = adm_ids_np[pos[: adm.size]]
    extra = np.full(m, "", dtype=object)
    extra[dup] = np.char.add("odh_administrations:", adm_ids_np[pos[adm.size :]].astype(str)) if dup.size else extra[dup]

    # ---- stays (day hospital per administration day) -------------------------------------------------
    st_pid = (ukey // 100_000).astype(np.int64)
    st_date = ukey % 100_000
    centre_f = np.array([c[1] for c in CENTRES])[persons["centre"].to_numpy().clip(0)]
    stays = pa.Table.from_arrays(
        [
            stay_ids,
            pa.array(odh_id[st_pid]),
            pa.array(centre_f[st_pid]),
            _d32(st_date),
            _d32(st_date),
            pa.array(np.full(n_stays, "HDJ")),
            pa.array(persons["icd"].to_numpy()[st_pid]),
        ],
        schema=contracts.ODH_STAYS,
    )

    # ---- oral prescriptions written at the centre -------------------------------------------------------
    p_ing = ing[prs]
    p_pick = (rng.random(prs.size) * np.maximum(cnt[p_ing], 1)).astype(np.int64)
    p_date = date[prs] - rng.integers(0, 4, prs.size)
    p_order = np.lexsort((p_ing, p_date, pid[prs]))
    p_ids = _ids("P", prs.size)
    dur = (events["end_date"].to_numpy()[prs] - date[prs] + 1).astype(np.int32)
    presc_t = pa.Table.from_arrays(
        [
            p_ids,
            pa.array(odh_id[pid[prs]][p_order]),
            _d32(p_date[p_order]),
            pa.array(lab[p_ing, p_pick].astype(str)[p_order]),
            pa.array(dur[p_order]),
        ],
        schema=contracts.ODH_PRESCRIPTIONS,
    )
    p_pos = np.empty(prs.size, np.int64)
    p_pos[p_order] = np.arange(prs.size)
    presc_id_of = np.full(m, "", dtype=object)
    if prs.size:
        presc_id_of[prs] = np.asarray(p_ids.to_pylist(), dtype=object)[p_pos]

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
    patients = pa.Table.from_arrays(
        [
            pa.array(odh_id[pat]),
            pa.array(centre_f[pat]),
            pa.array(np.where(P["sex"].to_numpy() == 1, "M", "F")),
            _d32(birth),
            pa.array(postcode),
            _d32(P["diag"].to_numpy()),
            pa.array(htxt, type=pa.string()),
            status(1, "muté", "non muté"),
            status(2, "réarrangé", "non réarrangé"),
            status(3, "réarrangé", "non réarrangé"),
            status(4, "muté", "non muté", (drv == 4) & g12c),
            status(5, "muté", "non muté"),
            status(6, "muté", "non muté"),
            pa.array(tps, mask=np.isnan(tps)),
            pa.array(np.where(known, dd, 0).astype("datetime64[D]"), type=pa.date32(), mask=~known),
            _d32(np.minimum(last_contact, end)),
        ],
        schema=contracts.ODH_PATIENTS,
    )
    tables = {"odh_patients": patients, "odh_administrations": adm_table, "odh_stays": stays, "odh_prescriptions": presc_t}
    odh_table = np.where(adm_id_of != "", "odh_administrations", np.where(presc_id_of != "", "odh_prescriptions", ""))
    odh_row = np.where(adm_id_of != "", adm_id_of, presc_id_of)
    odh_date = np.full(m, NEVER, np.int64)
    odh_date[adm] = date[adm]
    odh_date[prs] = p_date
    cols = pd.DataFrame({"observed_odh": odh_table != "", "odh_table": odh_table, "odh_row_id": odh_row, "odh_date": odh_date, "odh_extra_keys": extra})
    return tables, cols
