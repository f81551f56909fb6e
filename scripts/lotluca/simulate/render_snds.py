"""Render the clinical truth as the SNDS observes it: IR_BEN_R, KI_CCI_R, DCIR (ER_PRS_F, ER_PHA_F,
ER_UCD_F, ER_ETE_F) and PMSI MCO (T_MCOaaB, T_MCOaaC, T_MCOaaD, T_MCOaaMED, T_MCOaaFH), with the data
noise of `Noise`. Returns Arrow tables with the exact schemas of `lotluca.snds_schema` and, per truth
event, the raw keys it was rendered to (see the package docstring for the mapping).
"""

from __future__ import annotations

import logging
import time

import numpy as np
import pandas as pd
import pyarrow as pa

from lotluca import drugs
from lotluca.simulate import arrowcols as A
from lotluca.simulate.blocks import DCT_STRIDE, ROW_STRIDE, check_capacity
from lotluca.simulate.cohort import CENTRES, EPOCH, Hospitals, to_days
from lotluca.simulate.params import SimSettings
from lotluca.simulate.treatment import CENTRE, ING, ING_NAMES, PRIVATE, PUBLIC

log = logging.getLogger(__name__)

# SNDS channel codes of a truth event
CH_NONE, CH_PHARMACY, CH_MED, CH_FH, CH_UCD, CH_SESSION = range(6)
CHANNEL_NAMES = np.array(["none", "pharmacy", "en_sus_pmsi_med", "en_sus_fh", "en_sus_ucd", "session_only"])
# DCIR natures of service (PRS_NAT_REF): illustrative codes of the SNDS nomenclature
NAT_PHARMACY, NAT_UCD, NAT_CONSULT, NAT_BIOLOGY = 3317, 3336, 1111, 9110
OTHER_GHM = np.array(["04M132", "04M133", "04M053", "23Z02Z", "04M07T", "17M06T"])
ERROR_GHM = np.array(["90Z00Z", "90Z01Z", "90Z03Z"])
METASTASIS_ICD = np.array(["C787", "C793", "C795", "C780", "C771"])
NONCANCER = (
    "omeprazole",
    "esomeprazole",
    "pantoprazole",
    "prednisolone",
    "amoxicillin",
    "levofloxacin",
    "azithromycin",
)


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
    return np.select([st == CENTRE, st == PUBLIC, st == PRIVATE], [centre, nc + dpt_idx, nc + nd + dpt_idx], -1).astype(
        np.int64
    )


def _date32(days) -> pa.Array:
    return pa.array(np.asarray(days, dtype=np.int64).astype("datetime64[D]"), type=pa.date32())


def _ts(days) -> pa.Array:
    return pa.array(
        np.asarray(days, dtype=np.int64).astype("datetime64[D]").astype("datetime64[s]"), type=pa.timestamp("s")
    )


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


def _emit(emit, name: str, table: pa.Table):
    """Hand a finished table to the sink (it may write it and drop it) as soon as it is built."""
    return table if emit is None else emit("snds", name, table)


def render(
    rng: np.random.Generator,
    persons: pd.DataFrame,
    events: pd.DataFrame,
    death: np.ndarray,
    hosp: Hospitals,
    s: SimSettings,
    emit=None,
    concomitant=None,
    rsa_base: int = 0,
    dct_base: int = 0,
):
    """SNDS tables (dict name -> pa.Table, or what `emit("snds", name, table)` returns) and the per-event
    rendering columns (dict of Arrow arrays / numpy arrays aligned on events). `concomitant`: the boxes of
    `simulate.concomitant.draw_dispensations` (they then replace the PPI / antibiotic noise boxes).
    RSA_NUM are numbered from rsa_base + 1 and DCT_ORD_NUM from dct_base + 1 (a block's id range)."""
    nz = s.noise
    end = to_days(s.end_date)
    start = to_days(s.start_date)
    n_p = len(persons)
    clock = [time.process_time()]

    def _lap(what):
        now = time.process_time()
        with open("/proc/self/statm") as fh:
            rss = int(fh.read().split()[1]) * 4096 / 2**20 if fh else 0
        log.debug("render_snds: before %s: %.1f s CPU, RSS %.0f MB", what, now - clock[0], rss)
        clock[0] = now

    finess = hospital_table(hosp)
    FIN = A.vocab(finess)
    FIN_INT = finess.astype(np.int64)
    P = {
        c: persons[c].to_numpy()
        for c in (
            "sex",
            "birth_year",
            "birth_month",
            "dpt",
            "nir1",
            "nir2",
            "ben_idt_ano",
            "icd",
            "diag",
            "home_centre",
            "is_decoy",
        )
    }
    has2 = P["nir2"] != ""
    NIR = A.vocab(np.concatenate([P["nir1"], P["nir2"]]))  # index pid (first NIR) or n_p + pid (second)
    icd_codes, icd_idx = np.unique(P["icd"], return_inverse=True)
    DGN = A.vocab(np.concatenate([["Z511"], icd_codes]))  # 0: Z511, 1 + icd_idx: the person's C34x

    # ---- SNDS view of demographics (noise vs ODH) ------------------------------------------------
    snds_month = P["birth_month"].astype(np.int64).copy()
    err = (~P["is_decoy"]) & (rng.random(n_p) < nz.birth_month_error)
    snds_month[err] = (snds_month[err] + rng.integers(1, 12, int(err.sum())) - 1) % 12 + 1
    snds_dpt = P["dpt"].copy()
    moved = (~P["is_decoy"]) & (rng.random(n_p) < nz.moved_department)
    snds_dpt[moved] = hosp.dpts[rng.integers(0, hosp.dpts.size, int(moved.sum()))]
    DPT = A.vocab(snds_dpt)
    snds_dpt3 = np.char.add("0", snds_dpt)  # IR_BEN_R / DCIR write the departement on 3 characters ("069")
    DPT3 = A.vocab(snds_dpt3)
    ORG = A.vocab(np.char.add("01", np.char.add(snds_dpt, "000")))
    dead = death <= end

    _lap("per-event channel and hospital")
    # ---- per-event channel and hospital ----------------------------------------------------------
    ev = events
    m = len(ev)
    pid = ev["pid"].to_numpy().astype(np.int64)
    ing = ev["ing"].to_numpy().astype(np.int64)
    oral = ev["oral"].to_numpy()
    setting = ev["setting"].to_numpy()
    ev_date = ev["date"].to_numpy().astype(np.int64)
    vis = visibility()[ing]
    hidx = hospital_index(ev, persons, hosp)
    trial = ing == ING[drugs.TRIAL_DRUG]
    channel = np.select(
        [trial, oral, (vis == "en_sus") & (setting == PRIVATE), vis == "en_sus", vis == "session"],
        [CH_NONE, CH_PHARMACY, CH_FH, CH_MED, CH_SESSION],
        CH_NONE,
    ).astype(np.int8)
    first = ev["first_of_line"].to_numpy()
    missing = np.isin(channel, [CH_PHARMACY, CH_MED, CH_FH]) & (rng.random(m) < nz.snds_missing) & ~first
    jitter = np.where(rng.random(m) < nz.date_jitter, rng.choice([-1, 1], m), 0)
    jitter = np.where(ev_date + jitter > end, 0, jitter)  # never pushed past the end of the data
    ev_nir = pid + np.where(has2[pid] & (rng.random(m) < 0.5), n_p, 0)

    _lap("PMSI stays: one per (person, d")
    # ---- PMSI stays: one per (person, day, hospital) of IV administration (trial drugs excluded) ----
    iv_idx = np.flatnonzero(~oral & ~trial)
    key = (pid[iv_idx] << 24) | (ev_date[iv_idx] << 9) | hidx[iv_idx]
    ukey, first_pos, inv = np.unique(key, return_index=True, return_inverse=True)
    n_st = ukey.size
    fp = iv_idx[first_pos]
    st_pid, st_h = pid[fp], hidx[fp]
    st_date = ev_date[fp] + jitter[fp]  # the SNDS admission date (jittered for the whole stay)
    # every lung-cancer person also has a diagnosis stay (GHM 04M13x, DGN_PAL C34x) near diagnosis
    nc = len(CENTRES)
    dpt_idx = np.searchsorted(hosp.dpts, P["dpt"])
    dg_h = np.where(P["is_decoy"] | (rng.random(n_p) < 0.5), nc + dpt_idx, P["home_centre"].astype(np.int64))
    dg_date = P["diag"].astype(np.int64) - rng.integers(0, 15, n_p)
    dg_len = rng.integers(2, 9, n_p)
    # other stays (complications, palliative care)
    stop = np.minimum(death, end)
    months = np.maximum(1, (stop - P["diag"]) / 30.4375)
    n_other = rng.poisson(nz.other_stays * months)
    o_pid = np.repeat(np.arange(n_p), n_other)
    o_date = P["diag"][o_pid] + (rng.random(o_pid.size) * (stop[o_pid] - P["diag"][o_pid])).astype(np.int64)
    o_len = rng.integers(1, 12, o_pid.size)
    o_h = np.where(rng.random(o_pid.size) < 0.3, P["home_centre"][o_pid].astype(np.int64), nc + dpt_idx[o_pid])
    o_h = np.where(P["is_decoy"][o_pid], nc + dpt_idx[o_pid], o_h)
    GHM = A.vocab(np.concatenate([["28Z07Z"], OTHER_GHM, ERROR_GHM]))
    n_o = o_pid.size
    S = {
        "pid": np.concatenate([st_pid, np.arange(n_p), o_pid]),
        "date": np.concatenate([st_date, dg_date, o_date]),
        "len": np.concatenate([np.zeros(n_st, np.int64), dg_len, o_len]),
        "h": np.concatenate([st_h, dg_h, o_h]),
        "ghm": np.concatenate(
            [np.zeros(n_st, np.int64), np.ones(n_p, np.int64), 1 + rng.integers(0, OTHER_GHM.size, n_o)]
        ),
        "dgn": np.concatenate([np.zeros(n_st, np.int64), 1 + icd_idx, 1 + icd_idx[o_pid]]),
        "rel": np.concatenate([1 + icd_idx[st_pid], np.full(n_p, -1), np.full(n_o, -1)]),
        "nir": np.concatenate([ev_nir[fp], np.arange(n_p), o_pid]),
    }
    # error stays (GHM 90...) duplicating a random stay
    n_err = rng.binomial(S["pid"].size, nz.error_ghm)
    e_src = rng.integers(0, S["pid"].size, n_err)
    for k in S:
        S[k] = np.concatenate([S[k], S[k][e_src]])
    if n_err:
        S["ghm"][-n_err:] = 1 + OTHER_GHM.size + rng.integers(0, ERROR_GHM.size, n_err)
    n_all = S["pid"].size
    keep = (S["date"] >= start - 365) & (S["date"] <= end)
    keep[:n_st] = True
    order = np.flatnonzero(keep)
    order = order[np.lexsort((S["pid"][order], S["date"][order], S["h"][order]))]
    rsa = np.zeros(n_all, np.int64)
    check_capacity(order.size, ROW_STRIDE, "PMSI stays")
    rsa[order] = rsa_base + np.arange(1, order.size + 1)
    ret_err = rng.random(n_all) < nz.pmsi_return_error
    ret_err[inv[first[iv_idx]]] = False  # a stay holding a line's first administration stays valid
    stay_rsa = rsa[:n_st]
    stay_ret_err = ret_err[:n_st]
    B = {k: v[order] for k, v in S.items()}
    n_b = order.size
    b_rsa = rsa[order]
    sor = B["date"] + B["len"]
    sy, sm = _year_month(sor)
    T = {}
    T["T_MCOaaB"] = _emit(
        emit,
        "T_MCOaaB",
        A.build_snds(
            "T_MCOaaB",
            {
                "ETA_NUM": FIN_INT[B["h"]],
                "RSA_NUM": b_rsa,
                "GRG_GHM": A.take(GHM, B["ghm"]),
                "DGN_PAL": A.take(DGN, B["dgn"]),
                "DGN_REL": A.take(DGN, B["rel"]),
                "SEJ_NBJ": B["len"],
                "NBR_SEA": (B["ghm"] == 0).astype(np.int64),
                "AGE_ANN": (sy - P["birth_year"][B["pid"]]).astype(np.int64),
                "COD_SEX": A.take(A.vocab(["", "1", "2"]), P["sex"][B["pid"]]),
                "SOR_ANN": sy.astype(np.int16),
                "SOR_MOI": A.month_text(sm),
                "BDI_DEP": A.take(DPT, B["pid"]),
                "NBR_RUM": np.ones(n_b, np.int64),
            },
            n_b,
        ),
    )
    err_o = ret_err[order]
    which = rng.integers(0, 7, n_b)
    bool_ret = {
        name: err_o & (which == i) for i, name in enumerate(["NIR_RET", "SEX_RET", "SEJ_RET", "FHO_RET", "PMS_RET"])
    }
    ZO = A.vocab(["0", "1"])
    T["T_MCOaaC"] = _emit(
        emit,
        "T_MCOaaC",
        A.build_snds(
            "T_MCOaaC",
            {
                "ETA_NUM": FIN_INT[B["h"]],
                "RSA_NUM": b_rsa,
                "NIR_ANO_17": A.take(NIR, B["nir"]),
                "EXE_SOI_DTD": A.ts(B["date"]),
                "EXE_SOI_DTF": A.ts(sor),
                "ENT_DAT": A.date32(B["date"]),
                "SOR_DAT": A.date32(sor),
                "SOR_ANN": sy.astype(np.int16),
                "SOR_MOI": A.month_text(sm),
                "NAI_RET": A.take(ZO, (err_o & (which == 5)).astype(np.int64)),
                "DAT_RET": A.take(ZO, (err_o & (which == 6)).astype(np.int64)),
                **bool_ret,
                "SEJ_NUM": np.ones(n_b, np.int64),
            },
            n_b,
        ),
    )
    # associated diagnoses: metastases on a third of the stays
    dsel = np.flatnonzero(rng.random(n_b) < 0.33)
    T["T_MCOaaD"] = _emit(
        emit,
        "T_MCOaaD",
        A.build_snds(
            "T_MCOaaD",
            {
                "ETA_NUM": A.take(FIN, B["h"][dsel]),
                "RSA_NUM": A.int_text(b_rsa[dsel]),
                "ASS_DGN": A.take(A.vocab(METASTASIS_ICD), rng.integers(0, METASTASIS_ICD.size, dsel.size)),
                "DGN_ASS_NUM": np.ones(dsel.size, np.int64),
            },
            dsel.size,
        ),
    )

    _lap("en-sus drugs of PMSI stays")
    # ---- en-sus drugs of PMSI stays ---------------------------------------------------------------
    ucd_a, ucd_b = _codes("UCD13")
    UCD = A.vocab(np.char.zfill(np.concatenate([ucd_a, ucd_b]).astype(str), 13))  # index ing or n_ing + ing
    UCD7 = A.vocab(np.char.lstrip(np.concatenate([ucd_a, ucd_b]).astype(str), "0"))
    n_ing = len(ING_NAMES)
    ev_ucd = ing + np.where(rng.random(m) < 0.5, 0, n_ing)
    ev_rsa = np.zeros(m, np.int64)
    ev_rsa[iv_idx] = stay_rsa[inv]
    ev_stay_date = ev_date + jitter
    ev_stay_date[iv_idx] = st_date[inv]
    ev_stay_err = np.zeros(m, bool)
    ev_stay_err[iv_idx] = stay_ret_err[inv]
    med = np.flatnonzero((channel == CH_MED) & ~missing)
    fh = np.flatnonzero((channel == CH_FH) & ~missing)
    ey, em = _year_month(ev_stay_date)
    units = rng.integers(1, 5, m).astype(float)
    T["T_MCOaaMED"] = _emit(
        emit,
        "T_MCOaaMED",
        A.build_snds(
            "T_MCOaaMED",
            {
                "ETA_NUM": A.take(FIN, hidx[med]),
                "RSA_NUM": A.int_text(ev_rsa[med]),
                "UCD_UCD_COD": A.take(UCD, ev_ucd[med]),
                "UCD_COD": A.take(UCD7, ev_ucd[med]),
                "ADM_NBR": units[med],
                "DELAI": np.zeros(med.size, np.int64),
                "ANN": ey[med].astype(np.int16),
                "MOI": A.month_text(em[med]),
                "ADM_MOIS": A.month_text(em[med]),
                "NBR_SEJ": np.ones(med.size, np.int64),
            },
            med.size,
        ),
    )
    T["T_MCOaaFH"] = _emit(
        emit,
        "T_MCOaaFH",
        A.build_snds(
            "T_MCOaaFH",
            {
                "ETA_NUM": A.take(FIN, hidx[fh]),
                "RSA_NUM": A.int_text(ev_rsa[fh]),
                "UCD_UCD_COD": A.take(UCD, ev_ucd[fh]),
                "COD_UCD": A.take(UCD, ev_ucd[fh]),
                "QUA_COD": units[fh].astype(np.int64),
                "DEL_DAT_ENT": np.zeros(fh.size, np.int64),
                "ENT_ANN": ey[fh].astype(np.int16),
                "ENT_MOI": A.month_text(em[fh]),
            },
            fh.size,
        ),
    )

    _lap("DCIR")
    # ---- DCIR ------------------------------------------------------------------------------------
    cip_a, cip_b = _codes("CIP13")
    cip_int = np.array([int(x) if x else 0 for x in np.concatenate([cip_a, cip_b])], np.int64)
    blocks = []

    def block(
        bpid, bnir, bdate, nat, qty, cip=None, ucd=None, top=-1, ete=-1, eta=None, event=None, dpn=0, trt_shift=0
    ):
        k = bpid.size

        def full(v, dtype=np.int32):
            return np.broadcast_to(np.asarray(v, dtype), (k,)).copy()

        # compact dtypes: this table of DCIR rows is the largest intermediate of the generator
        blocks.append(
            {
                "pid": bpid.astype(np.int32),
                "nir": bnir.astype(np.int32),
                "date": bdate.astype(np.int32),
                "nat": full(nat, np.int16),
                "qty": full(qty, np.int8),
                "cip": np.zeros(k, np.int64) if cip is None else cip.astype(np.int64),
                "ucd": np.full(k, -1, np.int16) if ucd is None else ucd.astype(np.int16),
                "top": full(top, np.int8),
                "ete": full(ete, np.int8),
                "eta": np.full(k, -1, np.int32) if eta is None else eta.astype(np.int32),
                "event": np.full(k, -1, np.int32) if event is None else event.astype(np.int32),
                "dpn": full(dpn, np.int8),
                "trt": full(trt_shift, np.int16),
            }
        )

    ph = np.flatnonzero((channel == CH_PHARMACY) & ~missing)
    ev_cip = cip_int[ing + np.where(rng.random(m) < 0.5, 0, n_ing)]
    boxes = ev["boxes"].to_numpy()
    block(pid[ph], ev_nir[ph], ev_date[ph] + jitter[ph], NAT_PHARMACY, boxes[ph], cip=ev_cip[ph], event=ph)
    # private-clinic en-sus drugs are also billed in DCIR (UCD_TOP_UCD = 1)
    fh_dcir = fh[rng.random(fh.size) < nz.private_ucd_dcir]
    block(
        pid[fh_dcir],
        ev_nir[fh_dcir],
        ev_stay_date[fh_dcir],
        NAT_UCD,
        1,
        ucd=ev_ucd[fh_dcir],
        top=1,
        ete=0,
        eta=hidx[fh_dcir],
        event=fh_dcir,
    )
    # public-hospital / centre en-sus drugs: an ACE copy flagged ETE_IND_TAA = 1 (already in PMSI)
    ace = med[rng.random(med.size) < nz.ete_ind_taa]
    block(pid[ace], ev_nir[ace], ev_stay_date[ace], NAT_UCD, 1, ucd=ev_ucd[ace], top=0, ete=1, eta=hidx[ace])
    # reversal noise: an erroneous extra box billed then reversed (same person, care date, CIP13)
    rv = ph[rng.random(ph.size) < nz.reversal]
    block(pid[rv], ev_nir[rv], ev_date[rv] + jitter[rv], NAT_PHARMACY, 1, cip=ev_cip[rv])
    block(pid[rv], ev_nir[rv], ev_date[rv] + jitter[rv], NAT_PHARMACY, -1, cip=ev_cip[rv], trt_shift=30)
    # unrelated care: consultations, biology, non-cancer drugs
    n_oc = rng.poisson(nz.other_care * months)
    oc_pid = np.repeat(np.arange(n_p), n_oc)
    oc_date = (
        P["diag"][oc_pid] - 30 + (rng.random(oc_pid.size) * (stop[oc_pid] - P["diag"][oc_pid] + 30)).astype(np.int64)
    )
    oc_nir = oc_pid + np.where(has2[oc_pid] & (rng.random(oc_pid.size) < 0.5), n_p, 0)
    kind = rng.integers(0, 3, oc_pid.size)
    nc_ing = np.array([ING[x] for x in NONCANCER])[rng.integers(0, len(NONCANCER), oc_pid.size)]
    for kk, nat in ((0, NAT_CONSULT), (1, NAT_BIOLOGY)):
        sel = kind == kk
        block(oc_pid[sel], oc_nir[sel], oc_date[sel], nat, 1)
    sel = (kind == 2) & (concomitant is None)
    block(oc_pid[sel], oc_nir[sel], oc_date[sel], NAT_PHARMACY, 1, cip=cip_int[nc_ing[sel]])
    if concomitant is not None and len(concomitant):  # concomitant drugs: one box per row
        cp = concomitant["pid"].to_numpy()
        cnir = cp + np.where(has2[cp] & (rng.random(cp.size) < 0.5), n_p, 0)
        block(cp, cnir, concomitant["date"].to_numpy(), NAT_PHARMACY, 1, cip=concomitant["cip"].to_numpy())
    D = {k: np.concatenate([b[k] for b in blocks]) for k in blocks[0]}
    del blocks
    # information-only copies (DPN_QLF = 71)
    cp = np.flatnonzero(rng.random(D["pid"].size) < nz.dpn_qlf_71)
    for k in D:
        D[k] = np.concatenate([D[k], D[k][cp]])
    if cp.size:
        D["dpn"][-cp.size :] = 71
        D["event"][-cp.size :] = -1
    ok = ((D["date"] >= start - 365) & (D["date"] <= end)) | (D["event"] >= 0)
    order = np.flatnonzero(ok)
    sort_key = (
        (D["date"][order].astype(np.int64) << 40)
        | (D["pid"][order].astype(np.int64) << 16)
        | D["nat"][order].astype(np.int64)
    )
    order = order[np.argsort(sort_key, kind="stable")]  # by care date, person, nature of service
    D = {k: v[order] for k, v in D.items()}
    n_d = D["pid"].size
    check_capacity(n_d, DCT_STRIDE, "DCIR rows")
    dct = dct_base + np.arange(1, n_d + 1, dtype=np.int64)
    trt = D["date"] + 3 + (dct % 17) + D["trt"]
    dis = _month_start_next(trt)
    keys_np = {
        "DCT_ORD_NUM": dct,
        "FLX_DIS_DTD": dis,
        "FLX_EMT_NUM": (dct % 13 + 1).astype(np.int64),
        "FLX_EMT_ORD": np.zeros(n_d, np.int64),
        "FLX_EMT_TYP": np.where(D["nat"] == NAT_UCD, 2, 1).astype(np.int64),
        "FLX_TRT_DTD": trt,
        "ORG_CLE_NUM": D["pid"],
        "PRS_ORD_NUM": np.zeros(n_d, np.int64),
        "REM_TYP_AFF": np.zeros(n_d, np.int64),
    }

    def keys(rows=None):
        out = {}
        for k, v in keys_np.items():
            v = v if rows is None else v[rows]
            out[k] = (
                A.date32(v) if k in ("FLX_DIS_DTD", "FLX_TRT_DTD") else (A.take(ORG, v) if k == "ORG_CLE_NUM" else v)
            )
        return out

    dp = D["pid"]
    # prescribing establishment of a dispensed cancer drug: the hospital where its line was decided
    presc_h = np.full(m, -1, np.int64)
    presc_h[oral] = hospital_index(ev.assign(setting=ev["line_setting"]), persons, hosp)[oral]
    drug_presc = np.where((D["event"] >= 0) & (D["nat"] == NAT_PHARMACY), presc_h[np.maximum(D["event"], 0)], -1)
    T["ER_PRS_F"] = _emit(
        emit,
        "ER_PRS_F",
        A.build_snds(
            "ER_PRS_F",
            {
                **keys(),
                "BEN_NIR_PSA": A.take(NIR, D["nir"]),
                "BEN_RNG_GEM": np.ones(n_d, np.int64),
                "BEN_SEX_COD": P["sex"][dp].astype(np.int64),
                "BEN_NAI_ANN": P["birth_year"][dp].astype(np.int16),
                "BEN_RES_DPT": A.take(DPT3, dp),
                "EXE_SOI_DTD": A.date32(D["date"]),
                "EXE_SOI_DTF": A.date32(D["date"]),
                "PRS_NAT_REF": D["nat"],
                "DPN_QLF": D["dpn"],
                "PRS_DPN_QLP": D["dpn"],
                "PRS_ACT_QTE": D["qty"].astype(float),
                "PRS_ACT_NBR": D["qty"].astype(float),
                "ETB_PRE_FIN": A.take(FIN, drug_presc),
            },
            n_d,
        ),
    )
    pha = np.flatnonzero(D["cip"] > 0)
    T["ER_PHA_F"] = _emit(
        emit,
        "ER_PHA_F",
        A.build_snds(
            "ER_PHA_F",
            {
                **keys(pha),
                "PHA_PRS_C13": D["cip"][pha],
                "PHA_ACT_QSN": D["qty"][pha],
                "PHA_ORD_NUM": np.ones(pha.size, np.int64),
            },
            pha.size,
        ),
    )
    ucd = np.flatnonzero(D["ucd"] >= 0)
    T["ER_UCD_F"] = _emit(
        emit,
        "ER_UCD_F",
        A.build_snds(
            "ER_UCD_F",
            {
                **keys(ucd),
                "UCD_UCD_COD": A.take(UCD, D["ucd"][ucd]),
                "UCD_TOP_UCD": D["top"][ucd],
                "UCD_DLV_NBR": D["qty"][ucd],
                "UCD_ORD_NUM": np.ones(ucd.size, np.int64),
            },
            ucd.size,
        ),
    )
    T["ER_ETE_F"] = _emit(
        emit,
        "ER_ETE_F",
        A.build_snds(
            "ER_ETE_F", {**keys(ucd), "ETE_IND_TAA": D["ete"][ucd], "ETB_EXE_FIN": A.take(FIN, D["eta"][ucd])}, ucd.size
        ),
    )

    _lap("beneficiaries and deaths")
    # ---- beneficiaries and deaths ------------------------------------------------------------------
    two = np.flatnonzero(has2)
    ben_pid = np.concatenate([np.arange(n_p), two])
    T["IR_BEN_R"] = _emit(
        emit,
        "IR_BEN_R",
        A.build_snds(
            "IR_BEN_R",
            {
                "BEN_NIR_PSA": A.take(NIR, np.concatenate([np.arange(n_p), n_p + two])),
                "BEN_RNG_GEM": np.ones(ben_pid.size, np.int64),
                "BEN_IDT_ANO": P["ben_idt_ano"][ben_pid],
                "BEN_SEX_COD": P["sex"][ben_pid].astype(np.int64),
                "BEN_NAI_ANN": P["birth_year"][ben_pid].astype(np.int16),
                "BEN_NAI_MOI": A.month_text(snds_month[ben_pid]),
                "BEN_RES_DPT": A.take(DPT3, ben_pid),
                "BEN_DCD_DTE": A.date32(death[ben_pid], mask=~dead[ben_pid]),
            },
            ben_pid.size,
        ),
    )
    dth = np.flatnonzero(dead & (rng.random(n_p) >= nz.cepidc_missing))
    T["KI_CCI_R"] = _emit(
        emit,
        "KI_CCI_R",
        A.build_snds(
            "KI_CCI_R",
            {
                "BEN_IDT_ANO": P["ben_idt_ano"][dth],
                "BEN_DCD_DTE": A.date32(death[dth]),
                "DCD_CIM_COD": P["icd"][dth],
                "BEN_SEX_COD": P["sex"][dth].astype(np.int64),
                "BEN_NAI_ANN": P["birth_year"][dth].astype(np.int16),
                "BEN_NAI_MOI": A.month_text(snds_month[dth]),
                "BEN_RES_DPT": A.take(DPT, dth),
                "FLX_PER_ANN": _year_month(death[dth])[0].astype(np.int16),
            },
            dth.size,
        ),
    )

    _lap("per-event rendering record")
    # ---- per-event rendering record ------------------------------------------------------------------
    ev_dct = np.full(m, -1, np.int64)
    main = (D["event"] >= 0) & (D["dpn"] == 0)
    ev_dct[D["event"][main]] = dct[main]
    ev_ucd_dct = np.full(m, -1, np.int64)
    mu = main & (D["nat"] == NAT_UCD)
    ev_ucd_dct[D["event"][mu]] = dct[mu]
    observed = np.select(
        [channel == CH_PHARMACY, channel == CH_MED, channel == CH_FH, channel == CH_SESSION],
        [ev_dct >= 0, ~missing & ~ev_stay_err, ~missing & ~ev_stay_err, ~ev_stay_err],
        False,
    )
    # table code: 0 none, 1 ER_PHA_F, 2 T_MCOaaMED, 3 T_MCOaaFH, 4 T_MCOaaB
    tcode = np.select(
        [
            (channel == CH_PHARMACY) & (ev_dct >= 0),
            (channel == CH_MED) & ~missing,
            (channel == CH_FH) & ~missing,
            channel == CH_SESSION,
        ],
        [1, 2, 3, 4],
        0,
    )
    stay_key = A.join(A.take(FIN, np.clip(hidx, 0, None)), A.int_text(ev_rsa), sep=":")
    key = A.where(tcode == 1, A.int_text(ev_dct), stay_key)
    key = A.where(tcode == 0, pa.nulls(m, pa.string()), key)
    snds_date = np.where(tcode == 1, ev_date + jitter, ev_stay_date)
    cols = {
        "snds_channel": A.take(A.vocab(CHANNEL_NAMES), channel.astype(np.int64)),
        "observed_snds": observed.astype(bool),
        "snds_table": A.take(
            A.vocab(["", "ER_PHA_F", "T_MCOaaMED", "T_MCOaaFH", "T_MCOaaB"]), tcode, null_mask=tcode == 0
        ),
        "snds_key": key,
        "snds_date": A.date32(snds_date, mask=tcode == 0),
        "snds_extra_keys": A.int_text(ev_ucd_dct, prefix="ER_UCD_F:") if m else pa.array([], pa.string()),
        "hospital": A.take(FIN, hidx),
    }
    cols["snds_extra_keys"] = A.where(ev_ucd_dct < 0, pa.nulls(m, pa.string()), cols["snds_extra_keys"])
    _lap("end")
    return T, cols, {"snds_month": snds_month, "snds_dpt": snds_dpt}
