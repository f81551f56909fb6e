"""SNDS extraction: the documented cleaning rules, from raw SNDS tables to canonical persons, exposures,
chemo_sessions and stays (BRIEF sections 4-5).

Rules (each named as it appears in the accounting and the rejects table):
- persons through BEN_IDT_ANO: a person may have several BEN_NIR_PSA (IR_BEN_R rows); DCIR rows are
  resolved by BEN_NIR_PSA + BEN_RNG_GEM (falling back to BEN_NIR_PSA when it names one person), PMSI
  rows by NIR_ANO_17 = BEN_NIR_PSA (`unknown_beneficiary`, `ambiguous_beneficiary` otherwise);
  sex from BEN_SEX_COD (1 M, 2 F), birth year / month, residence département, death from KI_CCI_R
  (CépiDc, preferred) else IR_BEN_R.BEN_DCD_DTE; end_of_followup = min(death, study end);
- DCIR (ER_PRS_F): `dpn_qlf_71` drops information-only rows (DPN_QLF = 71 or PRS_DPN_QLP = 71);
  `ete_ind_taa_1` drops public-hospital rows already in PMSI (ETE_IND_TAA = 1, from ER_ETE_F when the
  extract holds it, joined on the 9 DCIR keys); service rows without a pharmacy or UCD line are
  `no_drug_line`;
- pharmacy (ER_PHA_F, CIP13): `pharmacy_reversal` nets the signed box counts PHA_ACT_QSN per person,
  care date and CIP13: a group netting to zero is dropped, a positive group is one dispensation of
  the net number of boxes (its negative rows are dropped), a negative group is `unmatched_reversal`;
  end_date = date + boxes x days_per_pack - 1; source snds_pharmacy;
- UCD lines (ER_UCD_F): UCD_TOP_UCD = 1 en sus (snds_en_sus), 0 hospital-pharmacy retrocession
  (snds_retrocession), anything else `invalid_top_ucd`;
- PMSI MCO stays (T_MCOaaB + T_MCOaaC on ETA_NUM + RSA_NUM): `return_code_not_0` keeps only stays whose
  return codes NIR_RET, NAI_RET, SEX_RET, SEJ_RET, FHO_RET, PMS_RET, DAT_RET are all "0";
  `ghm_90_error` drops GHM starting "90"; admission date EXE_SOI_DTD (else ENT_DAT);
  stays with GHM in `chemo_session_ghm` (28Z07Z) are also chemo_sessions (one per stay);
- en-sus drugs of PMSI stays: T_MCOaaMED (public, date = admission + DELAI) and T_MCOaaFH (private
  clinics, date = admission + DEL_DAT_ENT): source snds_en_sus, hospital = ETA_NUM; rows of filtered
  stays are filtered by the stay's rule;
- drug codes unknown to the reference (`unknown_drug_code`), not digits (`invalid_drug_code`) or missing
  (`missing_drug_code`), dates outside [study start - lookback, study end] (`date_out_of_study_period`)
  and values that cannot be parsed (`unparseable_value`) are quarantined in rejects.
Structural problems (missing table or columns, wrong types, empty core tables, duplicate keys) raise
InputError. Every raw row read is accounted for (lotluca.sources.accounting).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd

from lotluca import contracts, snds_schema
from lotluca.sources import drug_matching as dm
from lotluca.sources.accounting import Ledger, Tracker
from lotluca.sources.common import (
    OK,
    ExtractSettings,
    check_unique,
    finess,
    join_key,
    link_children,
    outside_period,
    read_tracked,
    text,
    to_table,
)

log = logging.getLogger(__name__)

DCIR_KEYS = [
    "DCT_ORD_NUM",
    "FLX_DIS_DTD",
    "FLX_EMT_NUM",
    "FLX_EMT_ORD",
    "FLX_EMT_TYP",
    "FLX_TRT_DTD",
    "ORG_CLE_NUM",
    "PRS_ORD_NUM",
    "REM_TYP_AFF",
]
RETURN_CODES = ["NIR_RET", "NAI_RET", "SEX_RET", "SEJ_RET", "FHO_RET", "PMS_RET", "DAT_RET"]
STAY_KEYS = ["ETA_NUM", "RSA_NUM"]

COLUMNS = {
    "IR_BEN_R": [
        "BEN_NIR_PSA",
        "BEN_RNG_GEM",
        "BEN_IDT_ANO",
        "BEN_SEX_COD",
        "BEN_NAI_ANN",
        "BEN_NAI_MOI",
        "BEN_RES_DPT",
        "BEN_DCD_DTE",
    ],
    "KI_CCI_R": ["BEN_IDT_ANO", "BEN_DCD_DTE"],
    "ER_PRS_F": [*DCIR_KEYS, "BEN_NIR_PSA", "BEN_RNG_GEM", "EXE_SOI_DTD", "DPN_QLF", "PRS_DPN_QLP"],
    "ER_ETE_F": [*DCIR_KEYS, "ETE_IND_TAA"],
    "ER_PHA_F": [*DCIR_KEYS, "PHA_PRS_C13", "PHA_ACT_QSN", "PHA_ORD_NUM"],
    "ER_UCD_F": [*DCIR_KEYS, "UCD_UCD_COD", "UCD_TOP_UCD", "UCD_DLV_NBR", "UCD_ORD_NUM"],
    "T_MCOaaB": [*STAY_KEYS, "GRG_GHM", "DGN_PAL"],
    "T_MCOaaC": [*STAY_KEYS, "NIR_ANO_17", "EXE_SOI_DTD", "EXE_SOI_DTF", "ENT_DAT", "SOR_DAT", *RETURN_CODES],
    "T_MCOaaMED": [*STAY_KEYS, "UCD_UCD_COD", "UCD_COD", "ADM_NBR", "DELAI"],
    "T_MCOaaFH": [*STAY_KEYS, "UCD_UCD_COD", "COD_UCD", "QUA_COD", "DEL_DAT_ENT"],
}
# columns a real extract may lack without harm
OPTIONAL = {
    "ER_PRS_F": ("PRS_DPN_QLP", "DPN_QLF"),
    "ER_PHA_F": ("PHA_ORD_NUM",),
    "ER_UCD_F": ("UCD_DLV_NBR", "UCD_ORD_NUM"),
    "T_MCOaaC": ("ENT_DAT", "SOR_DAT", "EXE_SOI_DTF"),
    "T_MCOaaMED": ("UCD_COD", "ADM_NBR"),
    "T_MCOaaFH": ("COD_UCD", "UCD_UCD_COD", "QUA_COD"),
    "T_MCOaaB": ("DGN_PAL",),
}
REQUIRED_TABLES = ("IR_BEN_R", "ER_PRS_F", "ER_PHA_F", "T_MCOaaB", "T_MCOaaC", "T_MCOaaMED")
OPTIONAL_TABLES = ("KI_CCI_R", "ER_ETE_F", "ER_UCD_F", "T_MCOaaFH")
NONEMPTY = ("IR_BEN_R", "ER_PRS_F", "T_MCOaaB", "T_MCOaaC")  # an empty one is a broken extract
SEX = {1: "M", 2: "F"}


@dataclass
class SndsResult:
    persons: object
    exposures: object
    chemo_sessions: object
    stays: object
    rejects: object
    accounting: pd.DataFrame
    unknown_codes: pd.DataFrame


def _read(paths: dict, name: str, ledger: Ledger, settings: ExtractSettings) -> tuple[pd.DataFrame, Tracker]:
    kinds = {c: "string" for c in RETURN_CODES} if name == "T_MCOaaC" else None
    return read_tracked(
        paths[name],
        name,
        snds_schema.arrow_schema(name),
        COLUMNS[name],
        ledger,
        settings,
        column_formats=snds_schema.column_formats(name),
        optional=OPTIONAL.get(name, ()),
        kinds=kinds,
        allow_empty=name not in NONEMPTY,
    )


def normalise_dpt(s: pd.Series) -> pd.Series:
    """Département code as INSEE writes it: "75", "2A", "971" ("075" / "02A" from SNDS lose the 0)."""
    t = text(s).str.strip().str.upper()
    three = (t.str.len() == 3) & t.str.startswith("0")
    t = t.where(~three, t.str.slice(1))
    return t.where(t != "", None)


def _month(s: pd.Series) -> pd.Series:
    """BEN_NAI_MOI ("01".."12") as a number; other values become null (logged, the person is kept)."""
    num = pd.to_numeric(s, errors="coerce")
    bad = s.notna() & ~num.between(1, 12)
    if bad.any():
        log.warning(
            "IR_BEN_R: %d persons with a birth month outside 01..12 (e.g. %r): birth_month left empty",
            int(bad.sum()),
            s[bad].iloc[0],
        )
    return num.where(~bad)


# --- persons -------------------------------------------------------------------------------------------
def _persons(ben: pd.DataFrame, ben_t: Tracker, cci: pd.DataFrame | None, cci_t: Tracker | None, paths, settings):
    missing = ben["BEN_NIR_PSA"].isna() | ben["BEN_IDT_ANO"].isna()
    ben_t.reject(ben.loc[missing, "_row"].to_numpy(), "missing_identifier", "BEN_NIR_PSA or BEN_IDT_ANO is empty")
    ben = ben[~missing]
    check_unique(ben, ["BEN_NIR_PSA", "BEN_RNG_GEM"], paths["IR_BEN_R"], "IR_BEN_R")
    ben_t.use(ben["_row"].to_numpy())
    ben = ben.sort_values("_row")
    g = ben.groupby("BEN_IDT_ANO", sort=True)
    persons = pd.DataFrame(
        {
            "sex": g["BEN_SEX_COD"].first().map(SEX),
            "birth_year": g["BEN_NAI_ANN"].first(),
            "birth_month": _month(g["BEN_NAI_MOI"].first()),
            "residence_dpt": normalise_dpt(g["BEN_RES_DPT"].first()),
            "death_ben": g["BEN_DCD_DTE"].min(),
        }
    )
    persons.index.name = "person_id"
    death = persons["death_ben"]
    if cci is not None:
        known = cci["BEN_IDT_ANO"].isin(persons.index)
        cci_t.reject(cci.loc[~known, "_row"].to_numpy(), "unknown_beneficiary", "BEN_IDT_ANO not in IR_BEN_R")
        nodate = known & cci["BEN_DCD_DTE"].isna()
        cci_t.reject(cci.loc[nodate, "_row"].to_numpy(), "missing_death_date", "BEN_DCD_DTE is empty")
        ok = cci[known & ~nodate]
        cci_t.use(ok["_row"].to_numpy())
        cepidc = ok.groupby("BEN_IDT_ANO")["BEN_DCD_DTE"].min()
        death = cepidc.reindex(persons.index).fillna(death)
    persons["death_date"] = death
    persons["end_of_followup"] = death.where(death.notna() & (death < settings.study_end), settings.study_end)
    persons = persons.drop(columns="death_ben").reset_index()
    # maps from the pseudonymised NIR to the person
    by_nir_rng = ben.drop_duplicates(["BEN_NIR_PSA", "BEN_RNG_GEM"]).set_index(["BEN_NIR_PSA", "BEN_RNG_GEM"])[
        "BEN_IDT_ANO"
    ]
    per_nir = ben.groupby("BEN_NIR_PSA")["BEN_IDT_ANO"].nunique()
    by_nir = (
        ben[ben["BEN_NIR_PSA"].isin(per_nir[per_nir == 1].index)]
        .drop_duplicates("BEN_NIR_PSA")
        .set_index("BEN_NIR_PSA")["BEN_IDT_ANO"]
    )
    return persons, by_nir_rng, by_nir, set(per_nir[per_nir > 1].index)


def _resolve(nir: pd.Series, rng: pd.Series | None, by_nir_rng, by_nir, ambiguous) -> tuple[pd.Series, pd.Series]:
    """person_id per row and the rule for unresolved rows ('' when resolved)."""
    pid = pd.Series(np.nan, index=nir.index, dtype=object)
    if rng is not None and len(nir):
        key = pd.MultiIndex.from_arrays([nir.astype(object), rng.astype("Int64")])
        pid = pd.Series(by_nir_rng.reindex(key).to_numpy(), index=nir.index, dtype=object)
    todo = pid.isna()
    pid[todo] = nir[todo].map(by_nir)
    rule = pd.Series("", index=nir.index, dtype=object)
    rule[pid.isna()] = "unknown_beneficiary"
    rule[pid.isna() & nir.isin(ambiguous)] = "ambiguous_beneficiary"
    return pid, rule


# --- DCIR ----------------------------------------------------------------------------------------------
def _dcir_parents(prs, prs_t, ete, ete_t, maps, settings) -> pd.DataFrame:
    """ER_PRS_F rows with their state (OK / filtered:<rule> / rejected:<rule>), person and care date."""
    state = pd.Series(OK, index=prs.index, dtype=object)
    info = (prs["DPN_QLF"] == 71).fillna(False) | (prs["PRS_DPN_QLP"] == 71).fillna(False)
    state[info] = "filtered:dpn_qlf_71"
    if ete is not None:
        ete_flag = (
            ete.assign(public=(ete["ETE_IND_TAA"] == 1).fillna(False))
            .groupby(DCIR_KEYS, dropna=False)["public"]
            .any()
            .reset_index()
        )
        m = prs[DCIR_KEYS].merge(ete_flag, on=DCIR_KEYS, how="left")
        public = m["public"].fillna(False).astype(bool).to_numpy()
        state[(state == OK) & public] = "filtered:ete_ind_taa_1"
    pid, rule = _resolve(prs["BEN_NIR_PSA"], prs["BEN_RNG_GEM"], *maps)
    ok = state == OK
    state[ok & (rule != "")] = "rejected:" + rule[ok & (rule != "")]
    ok = state == OK
    state[ok & prs["EXE_SOI_DTD"].isna()] = "rejected:missing_date"
    ok = state == OK
    state[ok & outside_period(prs["EXE_SOI_DTD"], settings)] = "rejected:date_out_of_study_period"
    return prs.assign(state=state, person_id=pid)


def _settle_parents(parents: pd.DataFrame, tracker: Tracker, child_rows: list[pd.Series]) -> None:
    """Give each ER_PRS_F row its outcome: filtered / rejected by its state, used if a child line points at it."""
    state = parents["state"]
    filt = state.str.startswith("filtered:")
    for rule, rows in parents.loc[filt, "_prow"].groupby(state[filt].str.slice(9)):
        tracker.filter(rows.to_numpy(), rule)
    rej = state.str.startswith("rejected:")
    for rule, rows in parents.loc[rej, "_prow"].groupby(state[rej].str.slice(9)):
        tracker.reject(rows.to_numpy(), rule)
    ok_rows = parents.loc[state == OK, "_prow"].to_numpy()
    referenced = np.zeros(len(ok_rows), dtype=bool)
    for rows in child_rows:
        referenced |= np.isin(ok_rows, rows.to_numpy())
    tracker.use(ok_rows[referenced])
    tracker.filter(ok_rows[~referenced], "no_drug_line")


def _reject_codes(
    df: pd.DataFrame, match: pd.DataFrame, tracker: Tracker, column: str, table: str, unknown: list
) -> pd.Series:
    bad = match["status"] != "ok"
    if bad.any():
        detail = column + "=" + match.loc[bad, "code"].astype(str)
        tracker.reject(
            df.loc[bad, "_row"].to_numpy(), (match.loc[bad, "status"] + "_drug_code").to_numpy(), detail.to_numpy()
        )
        unknown.append(
            pd.DataFrame(
                {
                    "source_table": table,
                    "code_system": column,
                    "code": match.loc[bad, "code"].to_numpy(),
                    "status": match.loc[bad, "status"].to_numpy(),
                }
            )
        )
    return ~bad


def _exposure_frame(person_id, date, end_date, ingredient, route, source, origin, hospital=None) -> pd.DataFrame:
    attrs = dm.attributes(ingredient, route)
    return pd.DataFrame(
        {
            "person_id": person_id,
            "date": date,
            "end_date": end_date,
            "ingredient": ingredient,
            "atc": attrs["atc"],
            "drug_class": attrs["drug_class"],
            "route": route,
            "source": source,
            "origin": origin,
            "hospital": hospital,
        }
    )


def _pharmacy(pha: pd.DataFrame, pha_t: Tracker, unknown: list) -> pd.DataFrame:
    match = dm.match_codes(pha["PHA_PRS_C13"], "CIP13")
    keep = _reject_codes(pha, match, pha_t, "PHA_PRS_C13", "ER_PHA_F", unknown)
    noqty = keep & pha["PHA_ACT_QSN"].isna()
    pha_t.reject(pha.loc[noqty, "_row"].to_numpy(), "missing_quantity", "PHA_ACT_QSN is empty")
    keep &= ~noqty
    df = pha[keep].assign(
        ingredient=match.loc[keep, "ingredient"], route=match.loc[keep, "route"], code=match.loc[keep, "code"]
    )
    df["qsn"] = df["PHA_ACT_QSN"].astype("int64")
    df["key"] = "ER_PHA_F:" + join_key(df, [*DCIR_KEYS, "PHA_ORD_NUM"])
    group = ["person_id", "EXE_SOI_DTD", "code"]
    net = df.groupby(group, sort=False)["qsn"].transform("sum")
    zero, neg = net == 0, net < 0
    pha_t.filter(df.loc[zero, "_row"].to_numpy(), "pharmacy_reversal")
    pha_t.reject(df.loc[neg, "_row"].to_numpy(), "unmatched_reversal", "boxes net to " + net[neg].astype(str))
    pos = df[net > 0].assign(net=net[net > 0]).sort_values("_row", kind="stable")
    # the negative rows cancel the latest boxes of the group: the earliest positive rows holding the
    # net number of boxes are the dispensation, the other rows are reversed
    boxes = pos["qsn"].clip(lower=0)
    before = pos.assign(b=boxes).groupby(group, sort=False)["b"].cumsum() - boxes
    kept = (pos["qsn"] > 0) & (before < pos["net"])
    pha_t.filter(pos.loc[~kept, "_row"].to_numpy(), "pharmacy_reversal")
    used = pos[kept]
    pha_t.use(used["_row"].to_numpy())
    disp = used.groupby(group, sort=False).agg(
        net=("net", "first"),
        ingredient=("ingredient", "first"),
        route=("route", "first"),
        origin=("key", "|".join),
        first=("_row", "min"),
    )
    disp = disp.reset_index().sort_values("first")
    days = dm.attributes(disp["ingredient"], disp["route"])["days_per_pack"]
    supply = (days.fillna(1) * disp["net"]).where(days.notna(), 1).astype("int64")
    end = disp["EXE_SOI_DTD"] + pd.to_timedelta(supply - 1, unit="D")
    return _exposure_frame(
        disp["person_id"], disp["EXE_SOI_DTD"], end, disp["ingredient"], disp["route"], "snds_pharmacy", disp["origin"]
    )


def _ucd(ucd: pd.DataFrame, ucd_t: Tracker, unknown: list) -> pd.DataFrame:
    match = dm.match_codes(ucd["UCD_UCD_COD"], "UCD13")
    keep = _reject_codes(ucd, match, ucd_t, "UCD_UCD_COD", "ER_UCD_F", unknown)
    top = ucd["UCD_TOP_UCD"]
    badtop = keep & ~top.isin([0, 1]).fillna(False).astype(bool)
    ucd_t.reject(ucd.loc[badtop, "_row"].to_numpy(), "invalid_top_ucd", "UCD_TOP_UCD=" + text(top[badtop]))
    keep &= ~badtop
    df = ucd[keep]
    ucd_t.use(df["_row"].to_numpy())
    source = np.where(df["UCD_TOP_UCD"] == 1, "snds_en_sus", "snds_retrocession")
    origin = "ER_UCD_F:" + join_key(df, [*DCIR_KEYS, "UCD_ORD_NUM"])
    return _exposure_frame(
        df["person_id"],
        df["EXE_SOI_DTD"],
        df["EXE_SOI_DTD"],
        match.loc[keep, "ingredient"],
        match.loc[keep, "route"],
        source,
        origin,
    )


# --- PMSI ----------------------------------------------------------------------------------------------
def _return_code_ok(s: pd.Series) -> pd.Series:
    t = text(s).str.strip().str.lower()
    return t.isin(["0", "false", "0.0"])


def _stays(b, b_t, c, c_t, maps, settings, paths) -> pd.DataFrame:
    check_unique(b, STAY_KEYS, paths["T_MCOaaB"], "T_MCOaaB")
    check_unique(c, STAY_KEYS, paths["T_MCOaaC"], "T_MCOaaC")
    m = b.merge(c, on=STAY_KEYS, how="outer", suffixes=("_b", "_c"), indicator=True)
    only_b, only_c = m["_merge"] == "left_only", m["_merge"] == "right_only"
    b_t.reject(
        m.loc[only_b, "_row_b"].astype("int64").to_numpy(),
        "orphan_row",
        "no T_MCOaaC row with the same ETA_NUM+RSA_NUM",
    )
    c_t.reject(
        m.loc[only_c, "_row_c"].astype("int64").to_numpy(),
        "orphan_row",
        "no T_MCOaaB row with the same ETA_NUM+RSA_NUM",
    )
    m = m[m["_merge"] == "both"].drop(columns="_merge").reset_index(drop=True)
    m["_row_b"] = m["_row_b"].astype("int64")
    m["_row_c"] = m["_row_c"].astype("int64")
    state = pd.Series(OK, index=m.index, dtype=object)
    codes_ok = np.logical_and.reduce([_return_code_ok(m[c]) for c in RETURN_CODES])
    state[~codes_ok] = "filtered:return_code_not_0"
    ghm = m["GRG_GHM"].astype(object)
    state[(state == OK) & ghm.fillna("").str.startswith("90")] = "filtered:ghm_90_error"
    pid, rule = _resolve(m["NIR_ANO_17"], None, *maps)
    ok = (state == OK) & (rule != "")
    state[ok] = "rejected:" + rule[ok]
    admission = m["EXE_SOI_DTD"].fillna(m["ENT_DAT"])
    discharge = m["EXE_SOI_DTF"].fillna(m["SOR_DAT"]).fillna(admission)
    ok = state == OK
    state[ok & admission.isna()] = "rejected:missing_date"
    ok = state == OK
    state[ok & outside_period(admission, settings)] = "rejected:date_out_of_study_period"
    m = m.assign(state=state, person_id=pid, admission_date=admission, discharge_date=discharge)
    for tracker, rowcol in ((b_t, "_row_b"), (c_t, "_row_c")):
        st = m["state"]
        for prefix, fn in (("filtered:", tracker.filter), ("rejected:", tracker.reject)):
            sel = st.str.startswith(prefix)
            for r, rows in m.loc[sel, rowcol].groupby(st[sel].str.slice(len(prefix))):
                fn(rows.to_numpy(), r)
        tracker.use(m.loc[st == OK, rowcol].to_numpy())
    return m


def _stay_drugs(df, tracker, stays, table, code_cols, delay_col, settings, unknown) -> pd.DataFrame:
    parent = stays[["eta", "rsa", "_row_b", "state", "person_id", "admission_date", "hospital"]].rename(
        columns={"_row_b": "_prow"}
    )
    child = df.assign(eta=_stay_key(df["ETA_NUM"]), rsa=_stay_key(df["RSA_NUM"]))
    linked = link_children(child, parent, ["eta", "rsa"], tracker, "T_MCOaaB", "ETA_NUM+RSA_NUM")
    code = linked[code_cols[0]]
    for extra in code_cols[1:]:
        code = code.fillna(linked[extra])
    match = dm.match_codes(code, "UCD13")
    keep = _reject_codes(linked, match, tracker, code_cols[0], table, unknown)
    nodelay = keep & linked[delay_col].isna()
    tracker.reject(linked.loc[nodelay, "_row"].to_numpy(), "missing_delay", f"{delay_col} is empty")
    keep &= ~nodelay
    date = linked["admission_date"] + pd.to_timedelta(linked[delay_col].astype("float64"), unit="D")
    late = keep & outside_period(date, settings)
    tracker.reject(
        linked.loc[late, "_row"].to_numpy(),
        "date_out_of_study_period",
        "admission + " + delay_col + " = " + date[late].astype(str),
    )
    keep &= ~late
    out = linked[keep]
    tracker.use(out["_row"].to_numpy())
    origin = f"{table}:" + join_key(out, ["ETA_NUM", "RSA_NUM"]) + "/row" + (out["_row"] + 1).astype(str)
    return _exposure_frame(
        out["person_id"],
        date[keep],
        date[keep],
        match.loc[keep, "ingredient"],
        match.loc[keep, "route"],
        "snds_en_sus",
        origin,
        out["hospital"],
    )


def _stay_key(s: pd.Series) -> pd.Series:
    """ETA_NUM / RSA_NUM as comparable text (integers in T_MCOaaB/C, text in the drug tables)."""
    t = text(s).str.strip()
    digits = t.str.fullmatch(r"\d+")
    return t.where(~digits, t.str.lstrip("0").replace("", "0"))


# --- driver --------------------------------------------------------------------------------------------
def extract_snds(paths: dict, settings: ExtractSettings) -> SndsResult:
    """Extract canonical tables from SNDS table files (`paths`: SNDS table name -> file path)."""
    missing = [t for t in REQUIRED_TABLES if t not in paths]
    if missing:
        from lotluca.errors import InputError

        raise InputError(
            ", ".join(str(p) for p in paths.values()) or "SNDS input",
            f"SNDS tables missing: {missing}",
            expected=f"files for {list(REQUIRED_TABLES)}",
        )
    ledger = Ledger("snds")
    unknown: list[pd.DataFrame] = []
    ben, ben_t = _read(paths, "IR_BEN_R", ledger, settings)
    cci, cci_t = _read(paths, "KI_CCI_R", ledger, settings) if "KI_CCI_R" in paths else (None, None)
    persons, *maps = _persons(ben, ben_t, cci, cci_t, paths, settings)
    log.info("SNDS persons: %d", len(persons))

    prs, prs_t = _read(paths, "ER_PRS_F", ledger, settings)
    check_unique(prs, DCIR_KEYS, paths["ER_PRS_F"], "ER_PRS_F")
    ete, ete_t = _read(paths, "ER_ETE_F", ledger, settings) if "ER_ETE_F" in paths else (None, None)
    if ete is None:
        log.warning("ER_ETE_F not in the extract: rule ete_ind_taa_1 (public-hospital DCIR rows) cannot be applied")
    parents = _dcir_parents(prs, prs_t, ete, ete_t, maps, settings).rename(columns={"_row": "_prow"})
    if ete is not None:
        ete_t.use(ete["_row"].to_numpy())
    carry = parents[[*DCIR_KEYS, "_prow", "state", "person_id", "EXE_SOI_DTD"]]
    exposures, children = [], []
    pha, pha_t = _read(paths, "ER_PHA_F", ledger, settings)
    pha = link_children(pha, carry, DCIR_KEYS, pha_t, "ER_PRS_F")
    children.append(pha["_prow"])
    exposures.append(_pharmacy(pha, pha_t, unknown))
    if "ER_UCD_F" in paths:
        ucd, ucd_t = _read(paths, "ER_UCD_F", ledger, settings)
        ucd = link_children(ucd, carry, DCIR_KEYS, ucd_t, "ER_PRS_F")
        children.append(ucd["_prow"])
        exposures.append(_ucd(ucd, ucd_t, unknown))
    _settle_parents(parents, prs_t, children)

    b, b_t = _read(paths, "T_MCOaaB", ledger, settings)
    c, c_t = _read(paths, "T_MCOaaC", ledger, settings)
    stays = _stays(b, b_t, c, c_t, maps, settings, paths)
    stays["eta"], stays["rsa"] = _stay_key(stays["ETA_NUM"]), _stay_key(stays["RSA_NUM"])
    stays["hospital"] = finess(stays["ETA_NUM"])
    med, med_t = _read(paths, "T_MCOaaMED", ledger, settings)
    exposures.append(
        _stay_drugs(med, med_t, stays, "T_MCOaaMED", ["UCD_UCD_COD", "UCD_COD"], "DELAI", settings, unknown)
    )
    if "T_MCOaaFH" in paths:
        fh, fh_t = _read(paths, "T_MCOaaFH", ledger, settings)
        exposures.append(
            _stay_drugs(fh, fh_t, stays, "T_MCOaaFH", ["UCD_UCD_COD", "COD_UCD"], "DEL_DAT_ENT", settings, unknown)
        )
    ledger.check()

    kept = stays[stays["state"] == OK].sort_values("_row_b")
    stay_origin = "T_MCOaaB:" + join_key(kept, STAY_KEYS)
    stays_out = pd.DataFrame(
        {
            "person_id": kept["person_id"],
            "hospital": kept["hospital"],
            "admission_date": kept["admission_date"],
            "discharge_date": kept["discharge_date"],
            "ghm": kept["GRG_GHM"],
            "main_diagnosis": kept["DGN_PAL"],
            "origin": stay_origin,
        }
    )
    chemo = stays_out[kept["GRG_GHM"].isin(settings.chemo_session_ghm).to_numpy()]
    sessions = pd.DataFrame(
        {
            "person_id": chemo["person_id"],
            "date": chemo["admission_date"],
            "hospital": chemo["hospital"],
            "origin": chemo["origin"],
        }
    )
    expo = (
        pd.concat([e for e in exposures if len(e)], ignore_index=True)
        if any(len(e) for e in exposures)
        else _exposure_frame(*(pd.Series([], dtype=object) for _ in range(7)))
    )
    expo = expo.sort_values(["person_id", "date", "ingredient", "origin"], kind="stable")
    return SndsResult(
        persons=to_table(
            persons, contracts.PERSONS, "snds persons", optional=tuple(n for n in contracts.PERSONS.names)
        ),
        exposures=to_table(expo, contracts.EXPOSURES, "snds exposures", optional=contracts.EXPOSURES_OPTIONAL),
        chemo_sessions=to_table(
            sessions.sort_values(["person_id", "date", "origin"], kind="stable"),
            contracts.CHEMO_SESSIONS,
            "snds chemo_sessions",
        ),
        stays=to_table(
            stays_out.sort_values(["person_id", "admission_date", "origin"], kind="stable"),
            contracts.STAYS,
            "snds stays",
        ),
        rejects=ledger.rejects(),
        accounting=ledger.summary(),
        unknown_codes=dm.unknown_code_counts(unknown),
    )
