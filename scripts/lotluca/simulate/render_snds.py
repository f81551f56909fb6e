"""Render the clinical truth as the SNDS observes it: IR_BEN_R, KI_CCI_R, DCIR (ER_PRS_F, ER_PHA_F,
ER_UCD_F, ER_ETE_F) and PMSI MCO (T_MCOaaB, T_MCOaaC, T_MCOaaD, T_MCOaaMED, T_MCOaaFH; the outpatient T_MCOaaCSTC and
T_MCOaaFHSTC by `lotluca.simulate.outpatient`), with the data
noise of `Noise`. Returns Arrow tables with the exact schemas of `lotluca.snds_schema` and, per truth
event, the raw keys it was rendered to (the mapping: docs/simulate.md).
"""

from __future__ import annotations

import logging
import time

import numpy as np
import pandas as pd
import pyarrow as pa

from lotluca import drugs, snds_schema
from lotluca.simulate import arrowcols as A
from lotluca.simulate import comorbidity, nomenclature, outpatient
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
EXTRA_GHM = np.array(["28Z11Z", "04C022"])  # stays of `extra_stays` (identification decoys): radiotherapy, surgery
# early access (ATU, until 2021; read from T_MCOaaMEDATU) of the en-sus drugs, approximate periods before
# their listing for lung cancer: a public-hospital administration dated inside is written to MEDATU
EARLY_ACCESS = {
    "nivolumab": ("2015-01-01", "2015-12-31"),
    "pembrolizumab": ("2016-01-01", "2017-06-30"),
    "atezolizumab": ("2017-01-01", "2018-06-30"),
    "durvalumab": ("2018-01-01", "2019-06-30"),
    "amivantamab": ("2021-01-01", "2021-12-31"),
}
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
    dc = nomenclature.study_codes(system)
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


def _month_start_next(days: np.ndarray) -> np.ndarray:
    m = (EPOCH + days.astype("timedelta64[D]")).astype("datetime64[M]") + 1
    return (m.astype("datetime64[D]") - EPOCH).astype(np.int64)


def _year_month(days: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    d = EPOCH + days.astype("timedelta64[D]")
    y = d.astype("datetime64[Y]").astype(int) + 1970
    m = d.astype("datetime64[M]").astype(int) % 12 + 1
    return y, m


def _emit(emit, name: str, table: pa.Table):
    """Hand a finished table to the sink (it may write it and drop it) as soon as it is built."""
    return table if emit is None else emit("snds", name, table)


class _Laps:
    """Debug log of the CPU time and memory of each rendering step."""

    def __init__(self):
        self.t = time.process_time()

    def __call__(self, what: str) -> None:
        now = time.process_time()
        with open("/proc/self/statm") as fh:
            rss = int(fh.read().split()[1]) * 4096 / 2**20
        log.debug("render_snds: before %s: %.1f s CPU, RSS %.0f MB", what, now - self.t, rss)
        self.t = now


PERSON = ("sex", "birth_year", "birth_month", "dpt", "nir1", "nir2", "ben_idt_ano", "icd", "diag", "home_centre")
PERSON_COLUMNS = (*PERSON, "is_decoy")


def _person_view(rng, persons: pd.DataFrame, death: np.ndarray, hosp: Hospitals, s: SimSettings) -> dict:
    """The persons as the SNDS sees them: identifiers (one or two NIR), diagnosis codes, birth month and
    departement with their noise against ODH, death, and the follow-up in months."""
    nz = s.noise
    end = to_days(s.end_date)
    n_p = len(persons)
    P = {c: persons[c].to_numpy() for c in PERSON_COLUMNS}
    icd_codes, icd_idx = np.unique(P["icd"], return_inverse=True)
    snds_month = P["birth_month"].astype(np.int64).copy()
    err = (~P["is_decoy"]) & (rng.random(n_p) < nz.birth_month_error)
    snds_month[err] = (snds_month[err] + rng.integers(1, 12, int(err.sum())) - 1) % 12 + 1
    snds_dpt = P["dpt"].copy()
    moved = (~P["is_decoy"]) & (rng.random(n_p) < nz.moved_department)
    snds_dpt[moved] = hosp.dpts[rng.integers(0, hosp.dpts.size, int(moved.sum()))]
    stop = np.minimum(death, end)
    # per person: share of stays with a metastasis code, secondary code and its share (identification decoys)
    P["met_rate"] = persons["met_rate"].to_numpy() if "met_rate" in persons else np.full(n_p, 0.33)
    P["ass_icd"] = persons["ass_icd"].to_numpy().astype(str) if "ass_icd" in persons else np.full(n_p, "")
    P["ass_rate"] = persons["ass_rate"].to_numpy() if "ass_rate" in persons else np.zeros(n_p)
    return {
        "P": P,
        "n_p": n_p,
        "has2": P["nir2"] != "",
        "NIR": A.vocab(np.concatenate([P["nir1"], P["nir2"]])),  # index pid (first NIR) or n_p + pid (second)
        "icd_idx": icd_idx,
        # 0: Z511, 1 + icd_idx: the person's C34x, last: Z510 (radiotherapy session)
        "DGN": A.vocab(np.concatenate([["Z511"], icd_codes, ["Z510"]])),
        "snds_month": snds_month,
        "snds_dpt": snds_dpt,
        "DPT": A.vocab(snds_dpt),
        "DPT3": A.vocab(np.char.add("0", snds_dpt)),  # IR_BEN_R / DCIR: the departement on 3 characters ("069")
        "ORG": A.vocab(np.char.add("01", np.char.add(snds_dpt, "000"))),
        "dead": death <= end,
        "stop": stop,
        "months": np.maximum(1, (stop - P["diag"]) / 30.4375),
        "dpt_idx": np.searchsorted(hosp.dpts, P["dpt"]),
    }


def _event_view(rng, events: pd.DataFrame, persons: pd.DataFrame, hosp: Hospitals, V: dict, s: SimSettings) -> dict:
    """Per truth event: its SNDS channel and hospital, whether its row goes missing, its date jitter and
    which of the person's NIR bills it."""
    nz = s.noise
    end = to_days(s.end_date)
    m = len(events)
    pid = events["pid"].to_numpy().astype(np.int64)
    ing = events["ing"].to_numpy().astype(np.int64)
    oral = events["oral"].to_numpy()
    setting = events["setting"].to_numpy()
    ev_date = events["date"].to_numpy().astype(np.int64)
    vis = visibility()[ing]
    trial = ing == ING[drugs.TRIAL_DRUG]
    channel = np.select(
        [trial, oral, (vis == "en_sus") & (setting == PRIVATE), vis == "en_sus", vis == "session"],
        [CH_NONE, CH_PHARMACY, CH_FH, CH_MED, CH_SESSION],
        CH_NONE,
    ).astype(np.int8)
    first = events["first_of_line"].to_numpy()
    missing = np.isin(channel, [CH_PHARMACY, CH_MED, CH_FH]) & (rng.random(m) < nz.snds_missing) & ~first
    jitter = np.where(rng.random(m) < nz.date_jitter, rng.choice([-1, 1], m), 0)
    jitter = np.where(ev_date + jitter > end, 0, jitter)  # never pushed past the end of the data
    ev_nir = pid + np.where(V["has2"][pid] & (rng.random(m) < 0.5), V["n_p"], 0)
    hidx = hospital_index(events, persons, hosp)
    return dict(
        m=m,
        pid=pid,
        ing=ing,
        oral=oral,
        ev_date=ev_date,
        trial=trial,
        hidx=hidx,
        channel=channel,
        first=first,
        missing=missing,
        jitter=jitter,
        ev_nir=ev_nir,
    )


def _stay_rows(rng, E: dict, V: dict, s: SimSettings) -> dict:
    """Every PMSI stay before numbering: one per (person, day, hospital) of IV administration (trial drugs
    excluded; its admission date jittered for the whole stay), a diagnosis stay per person near diagnosis
    (GHM 04M13x, DGN_PAL C34x), other stays (complications, palliative care), then error stays (GHM
    90...) duplicating random stays."""
    nz = s.noise
    P, n_p, pid, hidx, ev_date = V["P"], V["n_p"], E["pid"], E["hidx"], E["ev_date"]
    iv_idx = np.flatnonzero(~E["oral"] & ~E["trial"])
    key = (pid[iv_idx] << 24) | (ev_date[iv_idx] << 9) | hidx[iv_idx]
    ukey, first_pos, inv = np.unique(key, return_index=True, return_inverse=True)
    n_st = ukey.size
    fp = iv_idx[first_pos]
    st_pid, st_h = pid[fp], hidx[fp]
    st_date = ev_date[fp] + E["jitter"][fp]  # the SNDS admission date (jittered for the whole stay)
    nc = len(CENTRES)
    dpt_idx = V["dpt_idx"]
    dg_h = np.where(P["is_decoy"] | (rng.random(n_p) < 0.5), nc + dpt_idx, P["home_centre"].astype(np.int64))
    dg_date = P["diag"].astype(np.int64) - rng.integers(0, 15, n_p)
    dg_len = rng.integers(2, 9, n_p)
    stop = V["stop"]
    n_other = rng.poisson(nz.other_stays * V["months"])
    o_pid = np.repeat(np.arange(n_p), n_other)
    o_date = P["diag"][o_pid] + (rng.random(o_pid.size) * (stop[o_pid] - P["diag"][o_pid])).astype(np.int64)
    o_len = rng.integers(1, 12, o_pid.size)
    o_h = np.where(rng.random(o_pid.size) < 0.3, P["home_centre"][o_pid].astype(np.int64), nc + dpt_idx[o_pid])
    o_h = np.where(P["is_decoy"][o_pid], nc + dpt_idx[o_pid], o_h)
    n_o = o_pid.size
    icd_idx = V["icd_idx"]
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
        "nir": np.concatenate([E["ev_nir"][fp], np.arange(n_p), o_pid]),
    }
    _extra_stays(S, V, nc)
    # error stays (GHM 90...) duplicating a random stay
    n_err = rng.binomial(S["pid"].size, nz.error_ghm)
    e_src = rng.integers(0, S["pid"].size, n_err)
    for k in S:
        S[k] = np.concatenate([S[k], S[k][e_src]])
    if n_err:
        S["ghm"][-n_err:] = 1 + OTHER_GHM.size + rng.integers(0, ERROR_GHM.size, n_err)
    return {"S": S, "n_st": n_st, "iv_idx": iv_idx, "inv": inv, "st_date": st_date}


def _extra_stays(S: dict, V: dict, nc: int) -> None:
    """Append the stays of `V["extra_stays"]` (pid, date, len, ghm of EXTRA_GHM) to S: at the public
    hospital of the person's departement; a radiotherapy session has DGN_PAL Z510 and the person's code
    as DGN_REL, a surgery stay the person's code as DGN_PAL."""
    X = V.get("extra_stays")
    if X is None or not len(X):
        return
    pid = X["pid"].to_numpy().astype(np.int64)
    g = np.searchsorted(EXTRA_GHM, X["ghm"].to_numpy().astype(str), sorter=np.argsort(EXTRA_GHM))
    g = np.argsort(EXTRA_GHM)[g]
    rt = g == 0
    z510 = len(V["DGN"]) - 1
    own = 1 + V["icd_idx"][pid]
    add = {
        "pid": pid,
        "date": X["date"].to_numpy().astype(np.int64),
        "len": X["len"].to_numpy().astype(np.int64),
        "h": nc + V["dpt_idx"][pid],
        "ghm": 1 + OTHER_GHM.size + ERROR_GHM.size + g,
        "dgn": np.where(rt, z510, own),
        "rel": np.where(rt, own, -1),
        "nir": pid,
    }
    for k in S:
        S[k] = np.concatenate([S[k], add[k].astype(S[k].dtype)])


def _stays(rng, E: dict, V: dict, s: SimSettings, rsa_base: int) -> dict:
    """The PMSI stays numbered (RSA_NUM in order of hospital, date, person, within the study window) and
    their return-code errors (never on a stay holding a line's first administration)."""
    ST = _stay_rows(rng, E, V, s)
    S, n_st = ST["S"], ST["n_st"]
    n_all = S["pid"].size
    keep = (S["date"] >= to_days(s.start_date) - 365) & (S["date"] <= to_days(s.end_date))
    keep[:n_st] = True
    order = np.flatnonzero(keep)
    order = order[np.lexsort((S["pid"][order], S["date"][order], S["h"][order]))]
    rsa = np.zeros(n_all, np.int64)
    check_capacity(order.size, ROW_STRIDE, "PMSI stays")
    rsa[order] = rsa_base + np.arange(1, order.size + 1)
    ret_err = rng.random(n_all) < s.noise.pmsi_return_error
    ret_err[ST["inv"][E["first"][ST["iv_idx"]]]] = False  # a stay holding a line's first administration stays valid
    ST.update(order=order, rsa=rsa, ret_err=ret_err, B={k: v[order] for k, v in S.items()})
    return ST


def _pmsi_tables(rng, ST: dict, V: dict, FIN, FIN_INT, emit) -> dict:
    """T_MCOaaB (stays), T_MCOaaC (identifiers, dates, return codes) and T_MCOaaD (metastases on a third
    of the stays)."""
    P, B, order = V["P"], ST["B"], ST["order"]
    n_b = order.size
    b_rsa = ST["rsa"][order]
    sor = B["date"] + B["len"]
    sy, sm = _year_month(sor)
    GHM = A.vocab(np.concatenate([["28Z07Z"], OTHER_GHM, ERROR_GHM, EXTRA_GHM]))
    DGN = V["DGN"]
    T = {}
    columns = {
        "ETA_NUM": FIN_INT[B["h"]],
        "RSA_NUM": b_rsa,
        "GRG_GHM": A.take(GHM, B["ghm"]),
        "DGN_PAL": A.take(DGN, B["dgn"]),
        "DGN_REL": A.take(DGN, B["rel"]),
        "SEJ_NBJ": B["len"],
        "NBR_SEA": ((B["ghm"] == 0) | (B["ghm"] == 1 + OTHER_GHM.size + ERROR_GHM.size)).astype(np.int64),
        "AGE_ANN": (sy - P["birth_year"][B["pid"]]).astype(np.int64),
        "COD_SEX": A.take(A.vocab(["", "1", "2"]), P["sex"][B["pid"]]),
        "SOR_ANN": sy.astype(np.int16),
        "SOR_MOI": A.month_text(sm),
        "BDI_DEP": A.take(V["DPT"], B["pid"]),
        "NBR_RUM": np.ones(n_b, np.int64),
    }
    T["T_MCOaaB"] = _emit(emit, "T_MCOaaB", A.build_snds("T_MCOaaB", columns, n_b))
    err_o = ST["ret_err"][order]
    which = rng.integers(0, 7, n_b)
    bool_ret = {
        name: err_o & (which == i) for i, name in enumerate(["NIR_RET", "SEX_RET", "SEJ_RET", "FHO_RET", "PMS_RET"])
    }
    ZO = A.vocab(["0", "1"])
    columns = {
        "ETA_NUM": FIN_INT[B["h"]],
        "RSA_NUM": b_rsa,
        "NIR_ANO_17": A.take(V["NIR"], B["nir"]),
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
    }
    T["T_MCOaaC"] = _emit(emit, "T_MCOaaC", A.build_snds("T_MCOaaC", columns, n_b))
    # associated diagnoses: metastases on a third of the stays (a person's met_rate), then the secondary
    # codes of identification decoys (ass_icd on ass_rate of their stays)
    dsel = np.flatnonzero(rng.random(n_b) < P["met_rate"][B["pid"]])
    ass_dgn = A.take(A.vocab(METASTASIS_ICD), rng.integers(0, METASTASIS_ICD.size, dsel.size))
    if (P["ass_rate"] > 0).any():
        asel = np.flatnonzero(rng.random(n_b) < P["ass_rate"][B["pid"]])
        ass_dgn = pa.concat_arrays([ass_dgn, pa.array(P["ass_icd"][B["pid"][asel]], pa.string())])
        dsel = np.concatenate([dsel, asel])
    columns = {
        "ETA_NUM": A.take(FIN, B["h"][dsel]),
        "RSA_NUM": A.int_text(b_rsa[dsel]),
        "ASS_DGN": ass_dgn,
        "DGN_ASS_NUM": np.ones(dsel.size, np.int64),
    }
    T["T_MCOaaD"] = _emit(emit, "T_MCOaaD", A.build_snds("T_MCOaaD", columns, dsel.size))
    return T


def early_access(ing: np.ndarray, days: np.ndarray) -> np.ndarray:
    """Whether each administration (ingredient index, day) falls in its drug's early-access period."""
    out = np.zeros(ing.size, bool)
    for name, (start, end) in EARLY_ACCESS.items():
        if name in ING:
            out |= (ing == ING[name]) & (days >= to_days(start)) & (days <= to_days(end))
    return out


def _en_sus(rng, E: dict, ST: dict, FIN, emit) -> tuple[dict, dict]:
    """T_MCOaaMED (en-sus drugs of public hospitals and centres), T_MCOaaMEDATU (the same, in a drug's
    early-access period) and T_MCOaaFH (of private clinics), one row per drug of a stay; returns the
    tables and, per event, its UCD code, stay number, stay date, stay error and early-access flag."""
    m, ing, iv_idx, inv = E["m"], E["ing"], ST["iv_idx"], ST["inv"]
    ucd_a, ucd_b = _codes("UCD13")
    UCD = A.vocab(np.char.zfill(np.concatenate([ucd_a, ucd_b]).astype(str), 13))  # index ing or n_ing + ing
    UCD7 = A.vocab(np.char.lstrip(np.concatenate([ucd_a, ucd_b]).astype(str), "0"))
    ev_ucd = ing + np.where(rng.random(m) < 0.5, 0, len(ING_NAMES))
    ev_rsa = np.zeros(m, np.int64)
    ev_rsa[iv_idx] = ST["rsa"][: ST["n_st"]][inv]
    ev_stay_date = E["ev_date"] + E["jitter"]
    ev_stay_date[iv_idx] = ST["st_date"][inv]
    ev_stay_err = np.zeros(m, bool)
    ev_stay_err[iv_idx] = ST["ret_err"][: ST["n_st"]][inv]
    med_all = np.flatnonzero((E["channel"] == CH_MED) & ~E["missing"])
    ev_atu = np.zeros(m, bool)
    ev_atu[med_all] = early_access(ing[med_all], ev_stay_date[med_all])
    med, atu = med_all[~ev_atu[med_all]], med_all[ev_atu[med_all]]
    med, ace = outpatient.split_ace(outpatient.stream(rng), med, E["ace_share"])  # ACE: FHSTC
    fh = np.flatnonzero((E["channel"] == CH_FH) & ~E["missing"])
    ey, em = _year_month(ev_stay_date)
    units = rng.integers(1, 5, m).astype(float)
    hidx = E["hidx"]
    T = {}
    for table, rows in (("T_MCOaaMEDATU", atu), ("T_MCOaaMED", med)):  # MEDATU has MED's layout (snds_schema)
        renamed = snds_schema.DERIVED.get(table, (table, {}))[1]
        columns = {
            "ETA_NUM": A.take(FIN, hidx[rows]),
            "RSA_NUM": A.int_text(ev_rsa[rows]),
            "UCD_UCD_COD": A.take(UCD, ev_ucd[rows]),
            "UCD_COD": A.take(UCD7, ev_ucd[rows]),
            "ADM_NBR": units[rows],
            "DELAI": np.zeros(rows.size, np.int64),
            "ANN": ey[rows].astype(np.int16),
            "MOI": A.month_text(em[rows]),
            "ADM_MOIS": A.month_text(em[rows]),
            "NBR_SEJ": np.ones(rows.size, np.int64),
        }
        columns = {renamed.get(k, k): v for k, v in columns.items()}
        T[table] = _emit(emit, table, A.build_snds(table, columns, rows.size))
    columns = {
        "ETA_NUM": A.take(FIN, hidx[fh]),
        "RSA_NUM": A.int_text(ev_rsa[fh]),
        "UCD_UCD_COD": A.take(UCD, ev_ucd[fh]),
        "COD_UCD": A.take(UCD, ev_ucd[fh]),
        "QUA_COD": units[fh].astype(np.int64),
        "DEL_DAT_ENT": np.zeros(fh.size, np.int64),
        "ENT_ANN": ey[fh].astype(np.int16),
        "ENT_MOI": A.month_text(em[fh]),
    }
    T["T_MCOaaFH"] = _emit(emit, "T_MCOaaFH", A.build_snds("T_MCOaaFH", columns, fh.size))
    EN = dict(
        UCD=UCD, ev_ucd=ev_ucd, ev_rsa=ev_rsa, ev_stay_date=ev_stay_date, ev_stay_err=ev_stay_err, med=med_all, fh=fh
    )
    EN["ev_atu"] = ev_atu
    EN.update(ace=ace, units=units)  # the en-sus drugs billed in ACE (lotluca.simulate.outpatient)
    return T, EN


def _dcir_block(bpid, bnir, bdate, nat, qty, cip=None, ucd=None, top=-1, ete=-1, eta=None, event=None, dpn=0, trt=0):
    """A batch of DCIR rows in compact dtypes (the table of DCIR rows is the generator's largest
    intermediate): person, NIR, care date, nature of service, quantity, CIP13 / UCD, UCD_TOP_UCD,
    ETE_IND_TAA, executing establishment, truth event, DPN_QLF, shift of the processing date."""
    k = bpid.size

    def full(v, dtype=np.int32):
        return np.broadcast_to(np.asarray(v, dtype), (k,)).copy()

    return {
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
        "trt": full(trt, np.int16),
    }


def _dcir_drug_rows(rng, E: dict, EN: dict, events: pd.DataFrame, cip_int, nz) -> list[dict]:
    """DCIR rows of the cancer drugs: pharmacy dispensations, private-clinic en-sus drugs billed in DCIR
    (UCD_TOP_UCD = 1), ACE copies of public en-sus drugs (ETE_IND_TAA = 1), and reversal pairs (an
    erroneous extra box billed then reversed: same person, care date, CIP13)."""
    m, pid, ev_nir, ev_date, jitter, ing = E["m"], E["pid"], E["ev_nir"], E["ev_date"], E["jitter"], E["ing"]
    ev_ucd, ev_stay_date, hidx = EN["ev_ucd"], EN["ev_stay_date"], E["hidx"]
    ph = np.flatnonzero((E["channel"] == CH_PHARMACY) & ~E["missing"])
    ev_cip = cip_int[ing + np.where(rng.random(m) < 0.5, 0, len(ING_NAMES))]
    boxes = events["boxes"].to_numpy()
    rows = [
        _dcir_block(pid[ph], ev_nir[ph], ev_date[ph] + jitter[ph], NAT_PHARMACY, boxes[ph], cip=ev_cip[ph], event=ph)
    ]
    fh = EN["fh"]
    f = fh[rng.random(fh.size) < nz.private_ucd_dcir]
    ucd = {"ucd": ev_ucd[f], "top": 1, "ete": 0, "eta": hidx[f], "event": f}
    rows.append(_dcir_block(pid[f], ev_nir[f], ev_stay_date[f], NAT_UCD, 1, **ucd))
    med = EN["med"]
    ace = med[rng.random(med.size) < nz.ete_ind_taa]
    ucd = {"ucd": ev_ucd[ace], "top": 0, "ete": 1, "eta": hidx[ace]}
    rows.append(_dcir_block(pid[ace], ev_nir[ace], ev_stay_date[ace], NAT_UCD, 1, **ucd))
    rv = ph[rng.random(ph.size) < nz.reversal]
    rows.append(_dcir_block(pid[rv], ev_nir[rv], ev_date[rv] + jitter[rv], NAT_PHARMACY, 1, cip=ev_cip[rv]))
    rows.append(_dcir_block(pid[rv], ev_nir[rv], ev_date[rv] + jitter[rv], NAT_PHARMACY, -1, cip=ev_cip[rv], trt=30))
    return rows


def _dcir_other_rows(rng, V: dict, cip_int, concomitant, nz) -> list[dict]:
    """DCIR rows of unrelated care (consultations, biology, drug boxes: of the concomitant classes when
    there are no concomitant dispensations, else of background drugs outside the study) and of the
    concomitant dispensations (one box per row)."""
    P, n_p, has2, months, stop = V["P"], V["n_p"], V["has2"], V["months"], V["stop"]
    n_oc = rng.poisson(nz.other_care * months)
    oc_pid = np.repeat(np.arange(n_p), n_oc)
    span = stop[oc_pid] - P["diag"][oc_pid] + 30
    oc_date = P["diag"][oc_pid] - 30 + (rng.random(oc_pid.size) * span).astype(np.int64)
    oc_nir = oc_pid + np.where(has2[oc_pid] & (rng.random(oc_pid.size) < 0.5), n_p, 0)
    kind = rng.integers(0, 3, oc_pid.size)
    nc_draw = rng.integers(0, len(NONCANCER), oc_pid.size)
    nc_ing = np.array([ING[x] for x in NONCANCER])[nc_draw]
    rows = []
    for kk, nat in ((0, NAT_CONSULT), (1, NAT_BIOLOGY)):
        sel = kind == kk
        rows.append(_dcir_block(oc_pid[sel], oc_nir[sel], oc_date[sel], nat, 1))
    sel = kind == 2
    if concomitant is None:  # study drugs of the concomitant classes
        oc_cip = cip_int[nc_ing[sel]]
    else:  # background drugs outside the study (the concomitant classes are drawn by their block)
        bg = nomenclature.background_cips()
        oc_cip = bg[nc_draw[sel] % bg.size]
    rows.append(_dcir_block(oc_pid[sel], oc_nir[sel], oc_date[sel], NAT_PHARMACY, 1, cip=oc_cip))
    if concomitant is not None and len(concomitant):  # concomitant drugs: one box per row
        cp = concomitant["pid"].to_numpy()
        cnir = cp + np.where(has2[cp] & (rng.random(cp.size) < 0.5), n_p, 0)
        rows.append(
            _dcir_block(cp, cnir, concomitant["date"].to_numpy(), NAT_PHARMACY, 1, cip=concomitant["cip"].to_numpy())
        )
    return rows


def _dcir_rows(rng, E, EN, V, events, concomitant, s: SimSettings, dct_base: int) -> tuple[dict, np.ndarray]:
    """Every DCIR row (drugs, unrelated care, DPN_QLF = 71 information copies) within the study window,
    ordered by care date, person and nature of service, and their DCT_ORD_NUM."""
    nz = s.noise
    cip_a, cip_b = _codes("CIP13")
    cip_int = np.array([int(x) if x else 0 for x in np.concatenate([cip_a, cip_b])], np.int64)
    rows = _dcir_drug_rows(rng, E, EN, events, cip_int, nz) + _dcir_other_rows(rng, V, cip_int, concomitant, nz)
    D = {k: np.concatenate([b[k] for b in rows]) for k in rows[0]}
    del rows
    # information-only copies (DPN_QLF = 71)
    cp = np.flatnonzero(rng.random(D["pid"].size) < nz.dpn_qlf_71)
    for k in D:
        D[k] = np.concatenate([D[k], D[k][cp]])
    if cp.size:
        D["dpn"][-cp.size :] = 71
        D["event"][-cp.size :] = -1
    start, end = to_days(s.start_date), to_days(s.end_date)
    ok = ((D["date"] >= start - 365) & (D["date"] <= end)) | (D["event"] >= 0)
    order = np.flatnonzero(ok)
    sort_key = (
        (D["date"][order].astype(np.int64) << 40)
        | (D["pid"][order].astype(np.int64) << 16)
        | D["nat"][order].astype(np.int64)
    )
    order = order[np.argsort(sort_key, kind="stable")]  # by care date, person, nature of service
    D = {k: v[order] for k, v in D.items()}
    check_capacity(D["pid"].size, DCT_STRIDE, "DCIR rows")
    return D, dct_base + np.arange(1, D["pid"].size + 1, dtype=np.int64)


def _dcir_keys(D: dict, dct: np.ndarray, ORG):
    """The 9 DCIR join keys of the rows, as a function of a row selection (None: every row)."""
    n_d = dct.size
    trt = D["date"] + 3 + (dct % 17) + D["trt"]
    keys_np = {
        "DCT_ORD_NUM": dct,
        "FLX_DIS_DTD": _month_start_next(trt),
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

    return keys


def _dcir_tables(D, dct, E, V, events, persons, hosp, FIN, UCD, emit) -> dict:
    """ER_PRS_F (one row per service; ETB_PRE_FIN of a dispensed cancer drug = the hospital where its line
    was decided), ER_PHA_F (pharmacy rows), ER_UCD_F and ER_ETE_F (UCD rows)."""
    P, n_d, dp = V["P"], dct.size, D["pid"]
    keys = _dcir_keys(D, dct, V["ORG"])
    presc_h = np.full(E["m"], -1, np.int64)
    oral = E["oral"]
    presc_h[oral] = hospital_index(events.assign(setting=events["line_setting"]), persons, hosp)[oral]
    drug_presc = np.where((D["event"] >= 0) & (D["nat"] == NAT_PHARMACY), presc_h[np.maximum(D["event"], 0)], -1)
    T = {}
    columns = {
        **keys(),
        "BEN_NIR_PSA": A.take(V["NIR"], D["nir"]),
        "BEN_RNG_GEM": np.ones(n_d, np.int64),
        "BEN_SEX_COD": P["sex"][dp].astype(np.int64),
        "BEN_NAI_ANN": P["birth_year"][dp].astype(np.int16),
        "BEN_RES_DPT": A.take(V["DPT3"], dp),
        "EXE_SOI_DTD": A.date32(D["date"]),
        "EXE_SOI_DTF": A.date32(D["date"]),
        "PRS_NAT_REF": D["nat"],
        "DPN_QLF": D["dpn"],
        "PRS_DPN_QLP": D["dpn"],
        "PRS_ACT_QTE": D["qty"].astype(float),
        "PRS_ACT_NBR": D["qty"].astype(float),
        "ETB_PRE_FIN": A.take(FIN, drug_presc),
    }
    T["ER_PRS_F"] = _emit(emit, "ER_PRS_F", A.build_snds("ER_PRS_F", columns, n_d))
    pha = np.flatnonzero(D["cip"] > 0)
    columns = {
        **keys(pha),
        "PHA_PRS_C13": D["cip"][pha],
        "PHA_ACT_QSN": D["qty"][pha],
        "PHA_ORD_NUM": np.ones(pha.size, np.int64),
    }
    T["ER_PHA_F"] = _emit(emit, "ER_PHA_F", A.build_snds("ER_PHA_F", columns, pha.size))
    ucd = np.flatnonzero(D["ucd"] >= 0)
    columns = {
        **keys(ucd),
        "UCD_UCD_COD": A.take(UCD, D["ucd"][ucd]),
        "UCD_TOP_UCD": D["top"][ucd],
        "UCD_DLV_NBR": D["qty"][ucd],
        "UCD_ORD_NUM": np.ones(ucd.size, np.int64),
    }
    T["ER_UCD_F"] = _emit(emit, "ER_UCD_F", A.build_snds("ER_UCD_F", columns, ucd.size))
    columns = {
        **keys(ucd),
        "ETE_IND_TAA": D["ete"][ucd],
        "ETB_EXE_FIN": A.take(FIN, D["eta"][ucd]),
    }
    T["ER_ETE_F"] = _emit(emit, "ER_ETE_F", A.build_snds("ER_ETE_F", columns, ucd.size))
    return T


def _beneficiaries(V: dict, death: np.ndarray, emit) -> pa.Table:
    """IR_BEN_R: one row per NIR (a second row for persons with a second NIR), the SNDS birth month and
    departement, the death date."""
    P, n_p = V["P"], V["n_p"]
    two = np.flatnonzero(V["has2"])
    ben = np.concatenate([np.arange(n_p), two])
    dead = V["dead"]
    columns = {
        "BEN_NIR_PSA": A.take(V["NIR"], np.concatenate([np.arange(n_p), n_p + two])),
        "BEN_RNG_GEM": np.ones(ben.size, np.int64),
        "BEN_IDT_ANO": P["ben_idt_ano"][ben],
        "BEN_SEX_COD": P["sex"][ben].astype(np.int64),
        "BEN_NAI_ANN": P["birth_year"][ben].astype(np.int16),
        "BEN_NAI_MOI": A.month_text(V["snds_month"][ben]),
        "BEN_RES_DPT": A.take(V["DPT3"], ben),
        "BEN_DCD_DTE": A.date32(death[ben], mask=~dead[ben]),
    }
    return _emit(emit, "IR_BEN_R", A.build_snds("IR_BEN_R", columns, ben.size))


def _deaths(rng, V: dict, death: np.ndarray, s: SimSettings, emit) -> pa.Table:
    """KI_CCI_R: the causes of death of the dead, minus the CepiDc lag (`cepidc_missing`)."""
    P = V["P"]
    dth = np.flatnonzero(V["dead"] & (rng.random(V["n_p"]) >= s.noise.cepidc_missing))
    columns = {
        "BEN_IDT_ANO": P["ben_idt_ano"][dth],
        "BEN_DCD_DTE": A.date32(death[dth]),
        "DCD_CIM_COD": P["icd"][dth],
        "BEN_SEX_COD": P["sex"][dth].astype(np.int64),
        "BEN_NAI_ANN": P["birth_year"][dth].astype(np.int16),
        "BEN_NAI_MOI": A.month_text(V["snds_month"][dth]),
        "BEN_RES_DPT": A.take(V["DPT"], dth),
        "FLX_PER_ANN": _year_month(death[dth])[0].astype(np.int16),
    }
    return _emit(emit, "KI_CCI_R", A.build_snds("KI_CCI_R", columns, dth.size))


def _event_record(E: dict, EN: dict, D: dict, dct: np.ndarray, FIN) -> dict:
    """Per truth event: its SNDS channel, whether a correct extractor keeps it, the raw table, key and date
    it was rendered to, the ER_UCD_F copy of a private-clinic en-sus drug, and the hospital."""
    m, channel, missing, hidx = E["m"], E["channel"], E["missing"], E["hidx"]
    ev_dct = np.full(m, -1, np.int64)
    main = (D["event"] >= 0) & (D["dpn"] == 0)
    ev_dct[D["event"][main]] = dct[main]
    ev_ucd_dct = np.full(m, -1, np.int64)
    mu = main & (D["nat"] == NAT_UCD)
    ev_ucd_dct[D["event"][mu]] = dct[mu]
    stay_err = EN["ev_stay_err"]
    observed = np.select(
        [channel == CH_PHARMACY, channel == CH_MED, channel == CH_FH, channel == CH_SESSION],
        [ev_dct >= 0, ~missing & ~stay_err, ~missing & ~stay_err, ~stay_err],
        False,
    )
    # table code: 0 none, 1 ER_PHA_F, 2 T_MCOaaMED, 3 T_MCOaaFH, 4 T_MCOaaB, 5 T_MCOaaMEDATU, 6 T_MCOaaFHSTC
    tcode = np.select(
        [
            (channel == CH_PHARMACY) & (ev_dct >= 0),
            (channel == CH_MED) & ~missing & (EN["ev_seq"] >= 0),
            (channel == CH_MED) & ~missing & EN["ev_atu"],
            (channel == CH_MED) & ~missing,
            (channel == CH_FH) & ~missing,
            channel == CH_SESSION,
        ],
        [1, 6, 5, 2, 3, 4],
        0,
    )
    stay_key = A.join(A.take(FIN, np.clip(hidx, 0, None)), A.int_text(EN["ev_rsa"]), sep=":")
    key = A.where(tcode == 1, A.int_text(ev_dct), stay_key)
    key = A.where(tcode == 6, A.join(A.take(FIN, np.clip(hidx, 0, None)), A.int_text(EN["ev_seq"]), sep=":"), key)
    key = A.where(tcode == 0, pa.nulls(m, pa.string()), key)
    snds_date = np.where(tcode == 1, E["ev_date"] + E["jitter"], EN["ev_stay_date"])
    extra = A.int_text(ev_ucd_dct, prefix="ER_UCD_F:") if m else pa.array([], pa.string())
    tables = A.vocab(["", "ER_PHA_F", "T_MCOaaMED", "T_MCOaaFH", "T_MCOaaB", "T_MCOaaMEDATU", "T_MCOaaFHSTC"])
    return {
        "snds_channel": A.take(A.vocab(CHANNEL_NAMES), channel.astype(np.int64)),
        "observed_snds": observed.astype(bool),
        "snds_table": A.take(tables, tcode, null_mask=tcode == 0),
        "snds_key": key,
        "snds_date": A.date32(snds_date, mask=tcode == 0),
        "snds_extra_keys": A.where(ev_ucd_dct < 0, pa.nulls(m, pa.string()), extra),
        "hospital": A.take(FIN, hidx),
    }


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
    extra_stays: pd.DataFrame | None = None,
):
    """SNDS tables (dict name -> pa.Table, or what `emit("snds", name, table)` returns) and the per-event
    rendering columns (dict of Arrow arrays / numpy arrays aligned on events). `concomitant`: the boxes of
    `simulate.concomitant.draw_dispensations` (they then replace the PPI / antibiotic noise boxes).
    RSA_NUM are numbered from rsa_base + 1 and DCT_ORD_NUM from dct_base + 1 (a block's id range).
    One step per table family, in the order of their random draws: PMSI stays, en-sus drugs, DCIR,
    beneficiaries and deaths, then the per-event rendering record."""
    lap = _Laps()
    finess = hospital_table(hosp)
    FIN = A.vocab(finess)
    V = _person_view(rng, persons, death, hosp, s)
    V["extra_stays"] = extra_stays  # stays without a drug (identification decoys: radiotherapy, surgery)
    lap("per-event channel and hospital")
    E = _event_view(rng, events, persons, hosp, V, s)
    lap("PMSI stays")
    ST = _stays(rng, E, V, s, rsa_base)
    # the comorbidities' prior stays (own stream), appended to the PMSI tables after the other stays
    prior = comorbidity.pmsi_tables(
        comorbidity.stream(rng), persons, V, s, FIN, finess.astype(np.int64), rsa_base + ST["order"].size
    )
    T = _pmsi_tables(rng, ST, V, FIN, finess.astype(np.int64), comorbidity.appending(emit, prior))
    lap("en-sus drugs of PMSI stays")
    E["ace_share"] = s.outpatient.ace_drug_share  # lotluca.simulate.outpatient
    T_en_sus, EN = _en_sus(rng, E, ST, FIN, emit)
    T.update(T_en_sus)
    T_ace, EN["ev_seq"] = outpatient.tables(outpatient.stream(rng), E, EN, V, FIN, s, rsa_base, emit)
    T.update(T_ace)
    del ST
    lap("DCIR")
    D, dct = _dcir_rows(rng, E, EN, V, events, concomitant, s, dct_base)
    T.update(_dcir_tables(D, dct, E, V, events, persons, hosp, FIN, EN["UCD"], emit))
    lap("beneficiaries and deaths")
    T["IR_BEN_R"] = _beneficiaries(V, death, emit)
    T["KI_CCI_R"] = _deaths(rng, V, death, s, emit)
    lap("per-event rendering record")
    cols = _event_record(E, EN, D, dct, FIN)
    lap("end")
    return T, cols, {"snds_month": V["snds_month"], "snds_dpt": V["snds_dpt"]}
