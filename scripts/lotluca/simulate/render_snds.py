"""Render the clinical truth as the SNDS observes it: IR_BEN_R, KI_CCI_R, DCIR (ER_PRS_F, ER_PHA_F,
ER_UCD_F, ER_ETE_F) and PMSI MCO (T_MCOaaB, T_MCOaaC, T_MCOaaD, T_MCOaaMED, T_MCOaaFH), with the data
noise of `Noise`. Returns Arrow tables with the exact schemas of `lotluca.snds_schema` and, per truth
event, the raw keys it was rendered to (see the package docstring for the mapping).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa

from lotluca import drugs, snds_schema
from lotluca.simulate.cohort import CENTRES, EPOCH, Hospitals, to_days
from lotluca.simulate.params import SimSettings
from lotluca.simulate.treatment import CENTRE, ING, ING_NAMES, NEVER, PHARMACY, PRIVATE, PUBLIC

# SNDS channel codes of a truth event
CH_NONE, CH_PHARMACY, CH_MED, CH_FH, CH_UCD, CH_SESSION = range(6)
CHANNEL_NAMES = np.array(["none", "pharmacy", "en_sus_pmsi_med", "en_sus_fh", "en_sus_ucd", "session_only"])
# DCIR natures of service (PRS_NAT_REF): illustrative codes of the SNDS nomenclature
NAT_PHARMACY, NAT_UCD, NAT_CONSULT, NAT_BIOLOGY = 3317, 3336, 1111, 9110
OTHER_GHM = np.array(["04M132", "04M133", "04M053", "23Z02Z", "04M07T", "17M06T"])
ERROR_GHM = np.array(["90Z00Z", "90Z01Z", "90Z03Z"])
METASTASIS_ICD = np.array(["C787", "C793", "C795", "C780", "C771"])
NONCANCER = ("omeprazole", "esomeprazole", "pantoprazole", "prednisolone", "amoxicillin", "levofloxacin", "azithromycin")


def _codes(system: str) -> tuple[np.ndarray, np.ndarray]:
    """Per ingredient code: (first code, second code) of a code system ("" when none)."""
    dc = drugs.drug_codes()
    dc = dc[dc["code_system"] == system]
    a = np.full(len(ING_NAMES), "", dtype=object)
    b = np.full(len(ING_NAMES), "", dtype=object)
    for name, grp in dc.groupby("ingredient", sort=True):
        if name in ING:
            codes = grp["code"].tolist()
            a[ING[name]] = codes[0]
            b[ING[name]] = codes[-1]
    return a, b


def visibility() -> np.ndarray:
    """SNDS visibility of each IV ingredient code ("en_sus" | "session" | "none")."""
    d = drugs.drugs()
    iv = d[d["route"] == "iv"].drop_duplicates("ingredient").set_index("ingredient")["snds_visibility"]
    return np.array([iv.get(n, "none") for n in ING_NAMES], dtype=object)


def hospital_table(hosp: Hospitals) -> np.ndarray:
    """FINESS of every hospital index: centres first, then public hospitals, then private clinics."""
    return np.concatenate([np.array([c[1] for c in CENTRES]), hosp.public, hosp.private]).astype(str)


def hospital_index(events: pd.DataFrame, persons: pd.DataFrame, hosp: Hospitals) -> np.ndarray:
    pid = events["pid"].to_numpy()
    dpt_idx = np.searchsorted(hosp.dpts, persons["dpt"].to_numpy())[pid]
    centre = persons["home_centre"].to_numpy()[pid].astype(np.int64)
    st = events["setting"].to_numpy()
    nc, nd = len(CENTRES), hosp.dpts.size
    return np.select([st == CENTRE, st == PUBLIC, st == PRIVATE], [centre, nc + dpt_idx, nc + nd + dpt_idx], -1).astype(np.int64)


def _date32(days) -> pa.Array:
    return pa.array(np.asarray(days, dtype=np.int64).astype("datetime64[D]"), type=pa.date32())


def _ts(days) -> pa.Array:
    return pa.array(np.asarray(days, dtype=np.int64).astype("datetime64[D]").astype("datetime64[s]"), type=pa.timestamp("s"))


def _month_start_next(days: np.ndarray) -> np.ndarray:
    m = (EPOCH + days.astype("timedelta64[D]")).astype("datetime64[M]") + 1
    return (m.astype("datetime64[D]") - EPOCH).astype(np.int64)


def _year_month(days: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    d = EPOCH + days.astype("timedelta64[D]")
    y = d.astype("datetime64[Y]").astype(int) + 1970
    m = d.astype("datetime64[M]").astype(int) % 12 + 1
    return y, m


def _mm(m: np.ndarray) -> np.ndarray:
    return np.char.zfill(m.astype(str), 2)


def render(rng: np.random.Generator, persons: pd.DataFrame, events: pd.DataFrame, death: np.ndarray, hosp: Hospitals, s: SimSettings):
    """SNDS tables (dict name -> pa.Table) and the per-event rendering columns (DataFrame aligned on events)."""
    nz = s.noise
    end = to_days(s.end_date)
    start = to_days(s.start_date)
    n_p = len(persons)
    finess = hospital_table(hosp)
    P = {c: persons[c].to_numpy() for c in ("sex", "birth_year", "birth_month", "dpt", "nir1", "nir2", "ben_idt_ano", "icd", "diag", "age", "home_centre", "is_decoy")}
    has2 = P["nir2"] != ""

    # ---- SNDS view of demographics (noise vs ODH) ------------------------------------------------
    snds_month = P["birth_month"].astype(np.int64).copy()
    err = (~P["is_decoy"]) & (rng.random(n_p) < nz.birth_month_error)
    snds_month[err] = (snds_month[err] + rng.integers(1, 12, int(err.sum())) - 1) % 12 + 1
    snds_dpt = P["dpt"].copy()
    moved = (~P["is_decoy"]) & (rng.random(n_p) < nz.moved_department)
    snds_dpt[moved] = hosp.dpts[rng.integers(0, hosp.dpts.size, int(moved.sum()))]
    snds_dpt3 = np.char.add("0", snds_dpt)  # IR_BEN_R writes the departement on 3 characters ("069")
    dead = death <= end

    # ---- per-event channel and hospital ----------------------------------------------------------
    ev = events
    m = len(ev)
    pid = ev["pid"].to_numpy()
    ing = ev["ing"].to_numpy().astype(np.int64)
    oral = ev["oral"].to_numpy()
    setting = ev["setting"].to_numpy()
    vis = visibility()[ing]
    hidx = hospital_index(ev, persons, hosp)
    trial = ing == ING[drugs.TRIAL_DRUG]
    channel = np.select(
        [trial, oral, (vis == "en_sus") & (setting == PRIVATE), vis == "en_sus", vis == "session"],
        [CH_NONE, CH_PHARMACY, CH_FH, CH_MED, CH_SESSION],
        CH_NONE,
    ).astype(np.int8)
    missing = np.isin(channel, [CH_PHARMACY, CH_MED, CH_FH]) & (rng.random(m) < nz.snds_missing)
    jitter = np.where(rng.random(m) < nz.date_jitter, rng.choice([-1, 1], m), 0)
    ev_nir_second = has2[pid] & (rng.random(m) < 0.5)
    nir_ev = np.where(ev_nir_second, P["nir2"][pid], P["nir1"][pid])

    # ---- PMSI stays: one per (person, day, hospital) of IV administration (trial drugs excluded) ----
    iv_idx = np.flatnonzero(~oral & ~trial)
    key = (pid[iv_idx].astype(np.int64) << 24) | (ev["date"].to_numpy()[iv_idx].astype(np.int64) << 9) | hidx[iv_idx]
    ukey, first_pos, inv = np.unique(key, return_index=True, return_inverse=True)
    n_st = ukey.size
    st_pid = pid[iv_idx][first_pos]
    st_date = ev["date"].to_numpy()[iv_idx][first_pos].astype(np.int64)
    st_h = hidx[iv_idx][first_pos]
    st_set = setting[iv_idx][first_pos]
    st_jit = jitter[iv_idx][first_pos]
    st_nir = nir_ev[iv_idx][first_pos]
    # every lung-cancer person also has a diagnosis stay (GHM 04M13x, DGN_PAL C34x) near diagnosis
    nc, nd = len(CENTRES), hosp.dpts.size
    dpt_idx = np.searchsorted(hosp.dpts, P["dpt"])
    dg_h = np.where(P["is_decoy"] | (rng.random(n_p) < 0.5), nc + dpt_idx, P["home_centre"].astype(np.int64))
    dg_date = P["diag"].astype(np.int64) - rng.integers(0, 15, n_p)
    dg_len = rng.integers(2, 9, n_p)
    # other stays (complications, palliative care) and error stays
    months = np.maximum(1, (np.minimum(death, end) - P["diag"]) / 30.4375)
    n_other = rng.poisson(nz.other_stays * months)
    o_pid = np.repeat(np.arange(n_p), n_other)
    o_date = P["diag"][o_pid] + (rng.random(o_pid.size) * (np.minimum(death, end)[o_pid] - P["diag"][o_pid])).astype(np.int64)
    o_len = rng.integers(1, 12, o_pid.size)
    o_h = np.where(rng.random(o_pid.size) < 0.3, P["home_centre"][o_pid].astype(np.int64), nc + dpt_idx[o_pid])
    o_h = np.where(P["is_decoy"][o_pid], nc + dpt_idx[o_pid], o_h)
    all_pid = np.concatenate([st_pid, np.arange(n_p), o_pid])
    all_date = np.concatenate([st_date + st_jit, dg_date, o_date])
    all_len = np.concatenate([np.zeros(n_st, np.int64), dg_len, o_len])
    all_h = np.concatenate([st_h, dg_h, o_h])
    all_ghm = np.concatenate([np.full(n_st, "28Z07Z"), np.full(n_p, "04M132"), OTHER_GHM[rng.integers(0, OTHER_GHM.size, o_pid.size)]])
    all_dgn = np.concatenate([np.full(n_st, "Z511"), P["icd"], P["icd"][o_pid]])
    all_rel = np.concatenate([P["icd"][st_pid], np.full(n_p, ""), np.full(o_pid.size, "")])
    all_nir = np.concatenate([st_nir, P["nir1"], P["nir1"][o_pid]])
    # error stays (GHM 90...) duplicating a random stay
    n_err = rng.binomial(all_pid.size, nz.error_ghm)
    e_src = rng.integers(0, all_pid.size, n_err)
    all_pid = np.concatenate([all_pid, all_pid[e_src]])
    all_date = np.concatenate([all_date, all_date[e_src]])
    all_len = np.concatenate([all_len, all_len[e_src]])
    all_h = np.concatenate([all_h, all_h[e_src]])
    all_ghm = np.concatenate([all_ghm, ERROR_GHM[rng.integers(0, ERROR_GHM.size, n_err)]])
    all_dgn = np.concatenate([all_dgn, all_dgn[e_src]])
    all_rel = np.concatenate([all_rel, all_rel[e_src]])
    all_nir = np.concatenate([all_nir, all_nir[e_src]])
    keep = (all_date >= start - 365) & (all_date <= end)
    keep[:n_st] = True
    n_all = all_pid.size
    order = np.flatnonzero(keep)
    order = order[np.lexsort((all_pid[order], all_date[order], all_h[order]))]
    rsa = np.zeros(n_all, np.int64)
    rsa[order] = np.arange(1, order.size + 1)
    ret_err = rng.random(n_all) < nz.pmsi_return_error
    stay_rsa = rsa[:n_st]
    stay_ret_err = ret_err[:n_st]

    b_eta = finess[all_h[order]]
    b_date = all_date[order]
    b_len = all_len[order]
    sor = b_date + b_len
    sy, sm = _year_month(sor)
    b_pid = all_pid[order]
    age_ann = (sy - P["birth_year"][b_pid]).astype(np.int64)
    n_b = order.size
    T = {}
    T["T_MCOaaB"] = snds_schema.build_table(
        "T_MCOaaB",
        {
            "ETA_NUM": b_eta.astype(np.int64),
            "RSA_NUM": rsa[order],
            "GRG_GHM": all_ghm[order],
            "DGN_PAL": all_dgn[order],
            "DGN_REL": np.where(all_rel[order] == "", None, all_rel[order]),
            "SEJ_NBJ": b_len,
            "NBR_SEA": (all_ghm[order] == "28Z07Z").astype(np.int64),
            "AGE_ANN": age_ann,
            "COD_SEX": P["sex"][b_pid].astype(str),
            "SOR_ANN": sy.astype(np.int16),
            "SOR_MOI": _mm(sm),
            "BDI_DEP": snds_dpt[b_pid],
            "NBR_RUM": np.ones(n_b, np.int64),
        },
        n_b,
    )
    err_o = ret_err[order]
    which = rng.integers(0, 7, n_b)
    bool_ret = {name: err_o & (which == i) for i, name in enumerate(["NIR_RET", "SEX_RET", "SEJ_RET", "FHO_RET", "PMS_RET"])}
    T["T_MCOaaC"] = snds_schema.build_table(
        "T_MCOaaC",
        {
            "ETA_NUM": b_eta.astype(np.int64),
            "RSA_NUM": rsa[order],
            "NIR_ANO_17": all_nir[order],
            "EXE_SOI_DTD": _ts(b_date),
            "EXE_SOI_DTF": _ts(sor),
            "ENT_DAT": _date32(b_date),
            "SOR_DAT": _date32(sor),
            "SOR_ANN": sy.astype(np.int16),
            "SOR_MOI": _mm(sm),
            "NAI_RET": np.where(err_o & (which == 5), "1", "0"),
            "DAT_RET": np.where(err_o & (which == 6), "1", "0"),
            **bool_ret,
            "SEJ_NUM": np.ones(n_b, np.int64),
        },
        n_b,
    )
    # associated diagnoses: metastases on a third of the stays
    dsel = np.flatnonzero(rng.random(n_b) < 0.33)
    T["T_MCOaaD"] = snds_schema.build_table(
        "T_MCOaaD",
        {
            "ETA_NUM": b_eta[dsel],
            "RSA_NUM": rsa[order][dsel].astype(str),
            "ASS_DGN": METASTASIS_ICD[rng.integers(0, METASTASIS_ICD.size, dsel.size)],
            "DGN_ASS_NUM": np.ones(dsel.size, np.int64),
        },
        dsel.size,
    )

    # ---- en-sus drugs of PMSI stays ---------------------------------------------------------------
    ucd_a, ucd_b = _codes("UCD13")
    ev_ucd = np.where(rng.random(m) < 0.5, ucd_a[ing], ucd_b[ing]).astype(str)
    ev_rsa = np.zeros(m, np.int64)
    ev_rsa[iv_idx] = stay_rsa[inv]
    ev_eta = np.where(hidx >= 0, finess[np.clip(hidx, 0, None)], "")
    ev_stay_err = np.zeros(m, bool)
    ev_stay_err[iv_idx] = stay_ret_err[inv]
    med = np.flatnonzero((channel == CH_MED) & ~missing)
    fh = np.flatnonzero((channel == CH_FH) & ~missing)
    ey, em = _year_month(ev["date"].to_numpy().astype(np.int64) + jitter)
    units = rng.integers(1, 5, m).astype(float)
    T["T_MCOaaMED"] = snds_schema.build_table(
        "T_MCOaaMED",
        {
            "ETA_NUM": ev_eta[med],
            "RSA_NUM": ev_rsa[med].astype(str),
            "UCD_UCD_COD": ev_ucd[med],
            "UCD_COD": np.char.lstrip(ev_ucd[med].astype(str), "0"),
            "ADM_NBR": units[med],
            "DELAI": np.zeros(med.size, np.int64),
            "ANN": ey[med].astype(np.int16),
            "MOI": _mm(em[med]),
            "ADM_MOIS": _mm(em[med]),
            "NBR_SEJ": np.ones(med.size, np.int64),
        },
        med.size,
    )
    T["T_MCOaaFH"] = snds_schema.build_table(
        "T_MCOaaFH",
        {
            "ETA_NUM": ev_eta[fh],
            "RSA_NUM": ev_rsa[fh].astype(str),
            "UCD_UCD_COD": ev_ucd[fh],
            "COD_UCD": ev_ucd[fh],
            "QUA_COD": units[fh].astype(np.int64),
            "DEL_DAT_ENT": np.zeros(fh.size, np.int64),
            "ENT_ANN": ey[fh].astype(np.int16),
            "ENT_MOI": _mm(em[fh]),
        },
        fh.size,
    )

    # ---- DCIR ------------------------------------------------------------------------------------
    cip_a, cip_b = _codes("CIP13")
    blocks = []  # dicts of arrays: pid, nir, date, nat, dpn, qty, cip, ucd, top, ete, eta, event, trt_shift

    def block(bpid, bnir, bdate, nat, qty, cip=None, ucd=None, top=None, ete=None, eta=None, event=None, dpn=0, trt_shift=0):
        k = bpid.size
        blocks.append(
            {
                "pid": bpid.astype(np.int64),
                "nir": bnir.astype(object),
                "date": bdate.astype(np.int64),
                "nat": np.full(k, nat, np.int64),
                "qty": np.broadcast_to(np.asarray(qty, np.int64), (k,)).copy(),
                "cip": (np.zeros(k, np.int64) if cip is None else cip.astype(np.int64)),
                "ucd": (np.full(k, "", dtype=object) if ucd is None else ucd.astype(object)),
                "top": (np.full(k, -1, np.int64) if top is None else np.broadcast_to(np.asarray(top, np.int64), (k,)).copy()),
                "ete": (np.full(k, -1, np.int64) if ete is None else np.broadcast_to(np.asarray(ete, np.int64), (k,)).copy()),
                "eta": (np.full(k, "", dtype=object) if eta is None else eta.astype(object)),
                "event": (np.full(k, -1, np.int64) if event is None else event.astype(np.int64)),
                "dpn": np.broadcast_to(np.asarray(dpn, np.int64), (k,)).copy(),
                "trt": np.broadcast_to(np.asarray(trt_shift, np.int64), (k,)).copy(),
            }
        )

    ev_date = ev["date"].to_numpy().astype(np.int64)
    ph = np.flatnonzero((channel == CH_PHARMACY) & ~missing)
    ev_cip = np.where(rng.random(m) < 0.5, cip_a[ing], cip_b[ing])
    ev_cip = np.where(ev_cip == "", "0", ev_cip).astype(np.int64)
    block(pid[ph], nir_ev[ph], ev_date[ph] + jitter[ph], NAT_PHARMACY, 1, cip=ev_cip[ph], event=ph)
    # private-clinic en-sus drugs are also billed in DCIR (UCD_TOP_UCD = 1)
    fh_dcir = fh[rng.random(fh.size) < nz.private_ucd_dcir]
    block(pid[fh_dcir], nir_ev[fh_dcir], ev_date[fh_dcir] + jitter[fh_dcir], NAT_UCD, 1, ucd=ev_ucd[fh_dcir], top=1, ete=0,
          eta=ev_eta[fh_dcir], event=fh_dcir)  # fmt: skip
    # public-hospital / centre en-sus drugs: an ACE copy flagged ETE_IND_TAA = 1 (already in PMSI)
    ace = med[rng.random(med.size) < nz.ete_ind_taa]
    block(pid[ace], nir_ev[ace], ev_date[ace] + jitter[ace], NAT_UCD, 1, ucd=ev_ucd[ace], top=0, ete=1, eta=ev_eta[ace])
    # reversal noise: an erroneous extra box billed then reversed (same person, care date, CIP13)
    rv = ph[rng.random(ph.size) < nz.reversal]
    block(pid[rv], nir_ev[rv], ev_date[rv] + jitter[rv], NAT_PHARMACY, 1, cip=ev_cip[rv])
    block(pid[rv], nir_ev[rv], ev_date[rv] + jitter[rv], NAT_PHARMACY, -1, cip=ev_cip[rv], trt_shift=30)
    # unrelated care: consultations, biology, non-cancer drugs
    months = np.maximum(1, (np.minimum(death, end) - P["diag"]) / 30.4375)
    n_oc = rng.poisson(nz.other_care * months)
    oc_pid = np.repeat(np.arange(n_p), n_oc)
    oc_date = P["diag"][oc_pid] - 30 + (rng.random(oc_pid.size) * (np.minimum(death, end)[oc_pid] - P["diag"][oc_pid] + 30)).astype(np.int64)
    oc_nir = np.where(has2[oc_pid] & (rng.random(oc_pid.size) < 0.5), P["nir2"][oc_pid], P["nir1"][oc_pid])
    kind = rng.integers(0, 3, oc_pid.size)
    nc_ing = np.array([ING[x] for x in NONCANCER])[rng.integers(0, len(NONCANCER), oc_pid.size)]
    nc_cip = cip_a[nc_ing].astype(np.int64)
    for kk, nat in ((0, NAT_CONSULT), (1, NAT_BIOLOGY)):
        sel = kind == kk
        block(oc_pid[sel], oc_nir[sel], oc_date[sel], nat, 1)
    sel = kind == 2
    block(oc_pid[sel], oc_nir[sel], oc_date[sel], NAT_PHARMACY, 1, cip=nc_cip[sel])
    D = {k: np.concatenate([b[k] for b in blocks]) for k in blocks[0]}
    # information-only copies (DPN_QLF = 71)
    cp = np.flatnonzero(rng.random(D["pid"].size) < nz.dpn_qlf_71)
    for k in D:
        D[k] = np.concatenate([D[k], D[k][cp]])
    D["dpn"][-cp.size :] = 71
    D["event"][-cp.size :] = -1
    ok = (D["date"] >= start - 365) & (D["date"] <= end)
    ok |= D["event"] >= 0
    D = {k: v[ok] for k, v in D.items()}
    order = np.lexsort((D["nat"], D["pid"], D["date"]))
    D = {k: v[order] for k, v in D.items()}
    n_d = D["pid"].size
    dct = np.arange(1, n_d + 1, dtype=np.int64)
    trt = D["date"] + 3 + (dct % 17) + D["trt"]
    dis = _month_start_next(trt)
    keys = {
        "DCT_ORD_NUM": dct,
        "FLX_DIS_DTD": _date32(dis),
        "FLX_EMT_NUM": (dct % 13 + 1).astype(np.int64),
        "FLX_EMT_ORD": np.zeros(n_d, np.int64),
        "FLX_EMT_TYP": np.where(D["nat"] == NAT_UCD, 2, 1).astype(np.int64),
        "FLX_TRT_DTD": _date32(trt),
        "ORG_CLE_NUM": np.char.add("01", np.char.add(snds_dpt[D["pid"]], "000")),
        "PRS_ORD_NUM": np.zeros(n_d, np.int64),
        "REM_TYP_AFF": np.zeros(n_d, np.int64),
    }
    dp = D["pid"]
    pres_fin = np.where((D["event"] >= 0) & (D["nat"] == NAT_PHARMACY), finess[P["home_centre"][dp].astype(np.int64)], None)
    T["ER_PRS_F"] = snds_schema.build_table(
        "ER_PRS_F",
        {
            **keys,
            "BEN_NIR_PSA": D["nir"],
            "BEN_RNG_GEM": np.ones(n_d, np.int64),
            "BEN_SEX_COD": P["sex"][dp].astype(np.int64),
            "BEN_NAI_ANN": P["birth_year"][dp].astype(np.int16),
            "BEN_RES_DPT": snds_dpt3[dp],
            "EXE_SOI_DTD": _date32(D["date"]),
            "EXE_SOI_DTF": _date32(D["date"]),
            "PRS_NAT_REF": D["nat"],
            "DPN_QLF": D["dpn"],
            "PRS_DPN_QLP": D["dpn"],
            "PRS_ACT_QTE": D["qty"].astype(float),
            "PRS_ACT_NBR": D["qty"].astype(float),
            "ETB_PRE_FIN": pres_fin,
        },
        n_d,
    )
    pha = np.flatnonzero(D["cip"] > 0)
    T["ER_PHA_F"] = snds_schema.build_table(
        "ER_PHA_F",
        {
            **{k: (v.take(pa.array(pha)) if isinstance(v, pa.Array) else v[pha]) for k, v in keys.items()},
            "PHA_PRS_C13": D["cip"][pha],
            "PHA_ACT_QSN": D["qty"][pha],
            "PHA_ORD_NUM": np.ones(pha.size, np.int64),
        },
        pha.size,
    )
    ucd = np.flatnonzero(D["ucd"] != "")
    T["ER_UCD_F"] = snds_schema.build_table(
        "ER_UCD_F",
        {
            **{k: (v.take(pa.array(ucd)) if isinstance(v, pa.Array) else v[ucd]) for k, v in keys.items()},
            "UCD_UCD_COD": np.char.zfill(D["ucd"][ucd].astype(str), 13),
            "UCD_TOP_UCD": D["top"][ucd],
            "UCD_DLV_NBR": D["qty"][ucd],
            "UCD_ORD_NUM": np.ones(ucd.size, np.int64),
        },
        ucd.size,
    )
    ete = ucd
    T["ER_ETE_F"] = snds_schema.build_table(
        "ER_ETE_F",
        {
            **{k: (v.take(pa.array(ete)) if isinstance(v, pa.Array) else v[ete]) for k, v in keys.items()},
            "ETE_IND_TAA": D["ete"][ete],
            "ETB_EXE_FIN": D["eta"][ete],
        },
        ete.size,
    )

    # ---- beneficiaries and deaths ------------------------------------------------------------------
    two = np.flatnonzero(has2)
    ben_pid = np.concatenate([np.arange(n_p), two])
    ben_nir = np.concatenate([P["nir1"], P["nir2"][two]])
    dd = np.where(dead[ben_pid], death[ben_pid], 0)
    T["IR_BEN_R"] = snds_schema.build_table(
        "IR_BEN_R",
        {
            "BEN_NIR_PSA": ben_nir,
            "BEN_RNG_GEM": np.ones(ben_pid.size, np.int64),
            "BEN_IDT_ANO": P["ben_idt_ano"][ben_pid],
            "BEN_SEX_COD": P["sex"][ben_pid].astype(np.int64),
            "BEN_NAI_ANN": P["birth_year"][ben_pid].astype(np.int16),
            "BEN_NAI_MOI": _mm(snds_month[ben_pid]),
            "BEN_RES_DPT": snds_dpt3[ben_pid],
            "BEN_DCD_DTE": pa.array(dd.astype("datetime64[D]"), type=pa.date32(), mask=~dead[ben_pid]),
        },
        ben_pid.size,
    )
    dth = np.flatnonzero(dead & (rng.random(n_p) >= nz.cepidc_missing))
    T["KI_CCI_R"] = snds_schema.build_table(
        "KI_CCI_R",
        {
            "BEN_IDT_ANO": P["ben_idt_ano"][dth],
            "BEN_DCD_DTE": _date32(death[dth]),
            "DCD_CIM_COD": P["icd"][dth],
            "BEN_SEX_COD": P["sex"][dth].astype(np.int64),
            "BEN_NAI_ANN": P["birth_year"][dth].astype(np.int16),
            "BEN_NAI_MOI": _mm(snds_month[dth]),
            "BEN_RES_DPT": snds_dpt[dth],
            "FLX_PER_ANN": _year_month(death[dth])[0].astype(np.int16),
        },
        dth.size,
    )

    # ---- per-event rendering record ------------------------------------------------------------------
    ev_dct = np.full(m, -1, np.int64)
    main = (D["event"] >= 0) & (D["dpn"] == 0)
    ev_dct[D["event"][main]] = dct[main]
    observed = np.select(
        [channel == CH_PHARMACY, channel == CH_MED, channel == CH_FH, channel == CH_SESSION],
        [ev_dct >= 0, ~missing & ~ev_stay_err, ~missing & ~ev_stay_err, ~ev_stay_err],
        False,
    )
    snds_table = np.select(
        [(channel == CH_PHARMACY) & (ev_dct >= 0), (channel == CH_MED) & ~missing, (channel == CH_FH) & ~missing, channel == CH_SESSION],
        ["ER_PHA_F", "T_MCOaaMED", "T_MCOaaFH", "T_MCOaaB"],
        "",
    )
    stay_key = np.char.add(np.char.add(ev_eta.astype(str), ":"), ev_rsa.astype(str))
    snds_key = np.where(snds_table == "ER_PHA_F", ev_dct.astype(str), np.where(snds_table != "", stay_key, ""))
    dup_key = np.full(m, "", dtype=object)
    dup_key[D["event"][main & (D["nat"] == NAT_UCD)]] = np.char.add("ER_UCD_F:", dct[main & (D["nat"] == NAT_UCD)].astype(str))
    render_cols = pd.DataFrame(
        {
            "snds_channel": CHANNEL_NAMES[channel],
            "observed_snds": observed,
            "snds_table": snds_table,
            "snds_key": snds_key,
            "snds_date": np.where(snds_table != "", ev_date + jitter, NEVER),
            "snds_extra_keys": dup_key,
            "hospital": np.where(hidx >= 0, ev_eta, ""),
            "nir": nir_ev,
        }
    )
    return T, render_cols, {"snds_month": snds_month, "snds_dpt": snds_dpt}
