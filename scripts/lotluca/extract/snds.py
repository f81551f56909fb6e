"""SNDS extraction: the documented cleaning rules, from raw SNDS tables (IR_BEN_R, KI_CCI_R, DCIR ER_*_F,
PMSI T_MCOaa*) to canonical persons, exposures, chemo_sessions and stays.

Each rule is named as it appears in the accounting and the rejects table; the rules, the structural
errors (InputError) and the columns read are specified in docs/extract.md ("Cleaning rules", "Bad
input", "Data contract"); the tables written: docs/contracts.md. Every raw row read is accounted for
(lotluca.extract.accounting).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import partial
from typing import NamedTuple

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from lotluca import contracts, snds_schema
from lotluca.errors import InputError
from lotluca.extract import chunks, tables
from lotluca.extract import drug_matching as dm
from lotluca.extract.accounting import Ledger, Tracker
from lotluca.extract.common import (
    FILTERED,
    REJECTED,
    ExtractSettings,
    KeyIndex,
    TextIndex,
    arrow_text,
    check_unique,
    exposure_frame,
    finess,
    join_key,
    link_children,
    outside_period,
    per_distinct,
    read_tracked,
    settle,
    strip_zeros,
    text,
    to_table,
)
from lotluca.extract.readers import arrow_series

log = logging.getLogger(__name__)

# the 9 DCIR join keys: the primary key of ER_PRS_F in the real schema
DCIR_KEYS = snds_schema.primary_key("ER_PRS_F")
RETURN_CODES = ["NIR_RET", "NAI_RET", "SEX_RET", "SEJ_RET", "FHO_RET", "PMS_RET", "DAT_RET"]
VISIT_RETURN_CODES = ["NIR_RET", "NAI_RET", "SEX_RET", "IAS_RET", "ENT_DAT_RET"]  # of T_MCOaaCSTC
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
    "T_MCOaaMEDATU": [*STAY_KEYS, "UCD_UCD_COD", "UCD_COD", "ADM_NBR", "DAT_DELAI"],
    "T_MCOaaFH": [*STAY_KEYS, "UCD_UCD_COD", "COD_UCD", "QUA_COD", "DEL_DAT_ENT"],
    "T_MCOaaCSTC": ["ETA_NUM", "SEQ_NUM", "NIR_ANO_17", "EXE_SOI_DTD", "ENT_DAT", *VISIT_RETURN_CODES],
    "T_MCOaaFHSTC": ["ETA_NUM", "SEQ_NUM", "UCD_UCD_COD", "UCD_COD", "QUA", "DEL_DAT_ENT"],
}
# columns a real extract may lack without harm
OPTIONAL = {
    "ER_PRS_F": ("PRS_DPN_QLP", "DPN_QLF"),
    "ER_PHA_F": ("PHA_ORD_NUM",),
    "ER_UCD_F": ("UCD_DLV_NBR", "UCD_ORD_NUM"),
    "T_MCOaaC": ("ENT_DAT", "SOR_DAT", "EXE_SOI_DTF"),
    "T_MCOaaMED": ("UCD_COD", "ADM_NBR"),
    "T_MCOaaMEDATU": ("UCD_COD", "ADM_NBR"),
    "T_MCOaaFH": ("COD_UCD", "UCD_UCD_COD", "QUA_COD"),
    "T_MCOaaB": ("DGN_PAL",),
    "T_MCOaaCSTC": ("EXE_SOI_DTD", "ENT_DAT"),
    "T_MCOaaFHSTC": ("UCD_COD", "UCD_UCD_COD", "QUA"),
}
# the SNDS nomenclatures the drug reference is built from (not per person: read whole, not accounted)
NOMENCLATURES = tuple(dm.NOMENCLATURE_COLUMNS)
REQUIRED_TABLES = tables.REQUIRED["snds"]
OPTIONAL_TABLES = (
    "KI_CCI_R",
    "ER_ETE_F",
    "ER_UCD_F",
    "T_MCOaaFH",
    "T_MCOaaMEDATU",
    "T_MCOaaCSTC",
    "T_MCOaaFHSTC",
    *NOMENCLATURES,
)
NONEMPTY = ("IR_BEN_R", "ER_PRS_F", "T_MCOaaB", "T_MCOaaC")  # an empty one is a broken extract
# PMSI MCO tables: one set per period, "aa" (all years in one file) or a two-digit year (T_MCO19B, ...)
pmsi_table, table_name, generic, pmsi_periods = (
    tables.pmsi_table,
    tables.table_name,
    tables.generic,
    tables.pmsi_periods,
)
SEX = {1: "M", 2: "F"}
# the en-sus drug tables of a stay: their code columns (first non-empty wins) and their delay column
STAY_DRUGS = {
    "MED": (["UCD_UCD_COD", "UCD_COD"], "DELAI"),
    "MEDATU": (["UCD_UCD_COD", "UCD_COD"], "DAT_DELAI"),  # early access (ATU, then AAP / AAC)
    "FH": (["UCD_UCD_COD", "COD_UCD"], "DEL_DAT_ENT"),
    "FHSTC": (["UCD_UCD_COD", "UCD_COD"], "DEL_DAT_ENT"),  # outpatient visits (ACE) of public hospitals
}
# the parent of each drug table: its kind and the raw key columns (stays: B + C; outpatient visits: CSTC)
PARENT = {"MED": ("B", "RSA_NUM"), "MEDATU": ("B", "RSA_NUM"), "FH": ("B", "RSA_NUM"), "FHSTC": ("CSTC", "SEQ_NUM")}


def missing_tables(paths) -> list[str]:
    """The required SNDS tables absent from `paths` (`lotluca.extract.tables.missing_tables`)."""
    return tables.missing_tables("snds", paths)


def eta_text(s: pd.Series) -> pd.Series:
    """ETA_NUM (a FINESS: 9 characters, `2A` / `2B` in Corsica) as upper-case text, the leading zero an
    integer column lost restored; the join key of PMSI tables, whatever the type of the column."""
    return finess(arrow_series(pc.utf8_upper(arrow_text(s)), s.index))


@dataclass
class SndsResult:
    persons: object
    exposures: object
    chemo_sessions: object
    stays: object
    rejects: object
    accounting: pd.DataFrame
    unknown_codes: pd.DataFrame


def read_options(name: str, settings: ExtractSettings) -> dict:
    """The reader's arguments for table `name` (schema, columns, formats, kinds; `readers.read_table`)."""
    table = generic(name)
    kinds = {c: "string" for c in RETURN_CODES} if table == "T_MCOaaC" else {}
    if table == "T_MCOaaCSTC":
        kinds = {c: "string" for c in VISIT_RETURN_CODES}
    if pmsi_table(name):
        kinds["ETA_NUM"] = "string"  # a FINESS is text (the HDH schema's Oracle type), whatever the file holds
    return {
        "schema": snds_schema.arrow_schema(table),
        "columns": COLUMNS[table],
        "column_formats": snds_schema.column_formats(table),
        "optional": OPTIONAL.get(table, ()),
        "kinds": kinds or None,
        "allow_empty": table not in NONEMPTY or settings.part,
    }


def derive_keys(df: pd.DataFrame, name: str) -> pd.DataFrame:
    """The join keys of a PMSI table read: eta (ETA_NUM as text), rsa (RSA_NUM as integer), seq."""
    if pmsi_table(name):
        df["eta"] = eta_text(df["ETA_NUM"])
        if "RSA_NUM" in df:
            df["rsa"] = _int_key(df["RSA_NUM"])
        if "SEQ_NUM" in df:
            df["seq"] = strip_zeros(df["SEQ_NUM"])
    return df


def _read(
    paths: dict, name: str, ledger: Ledger, settings: ExtractSettings, row_numbers: dict | None = None
) -> tuple[pd.DataFrame, Tracker]:
    opts = read_options(name, settings)
    df, tracker = read_tracked(
        paths[name],
        name,
        opts.pop("schema"),
        opts.pop("columns"),
        ledger,
        settings,
        (row_numbers or {}).get(name),
        **opts,
    )
    return derive_keys(df, name), tracker


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
def _last_activity(person_id: pd.Series, parts, settings) -> pd.Series:
    """Last SNDS care activity of each person (latest dispensation or administration date, hospital
    discharge; `parts`: (Arrow table, its date column)), capped at the study end: where follow-up is
    censored when no death is known."""
    tabs = [
        pa.table({"person_id": t.column("person_id"), "date": t.column(col).cast(pa.date32())})
        for t, col in parts
        if t.num_rows
    ]
    if not tabs:
        return pd.Series(pd.NaT, index=person_id.index, dtype="datetime64[ns]")
    last = pa.concat_tables(tabs).group_by("person_id").aggregate([("date", "max")])
    by_person = pd.Series(
        pd.to_datetime(last.column("date_max").to_pandas()).to_numpy(), index=last.column("person_id").to_pandas()
    )
    return person_id.map(by_person.clip(upper=pd.Timestamp(settings.study_end)))


def _persons(ben: pd.DataFrame, ben_t: Tracker, cci: pd.DataFrame | None, cci_t: Tracker | None, paths, settings):
    missing = ben["BEN_NIR_PSA"].isna() | ben["BEN_IDT_ANO"].isna()
    ben_t.reject(ben.loc[missing, "_row"].to_numpy(), "missing_identifier", "BEN_NIR_PSA or BEN_IDT_ANO is empty")
    ben = ben[~missing]
    check_unique(ben, ["BEN_NIR_PSA", "BEN_RNG_GEM"], paths["IR_BEN_R"], "IR_BEN_R")
    ben_t.use(ben["_row"].to_numpy())
    ben = ben.sort_values("_row")
    for col in ("BEN_NIR_PSA", "BEN_IDT_ANO", "BEN_NAI_MOI", "BEN_RES_DPT"):  # object text: fast groupby.first
        ben[col] = ben[col].astype(object).where(ben[col].notna(), None)
    ids, codes = _sorted_codes(ben["BEN_IDT_ANO"])
    g = ben.groupby(codes, sort=True)  # by person, in person_id order (integer codes group fast)
    persons = pd.DataFrame(
        {
            "sex": g["BEN_SEX_COD"].first().map(SEX),
            "birth_year": g["BEN_NAI_ANN"].first(),
            "birth_month": _month(g["BEN_NAI_MOI"].first()),
            "residence_dpt": normalise_dpt(g["BEN_RES_DPT"].first()),
            "death_ben": g["BEN_DCD_DTE"].min(),
        }
    )
    persons.index = pd.Index(ids[persons.index.to_numpy()], name="person_id")
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
    per_nir = ben.groupby("BEN_NIR_PSA", sort=False)["BEN_IDT_ANO"].nunique()
    ambiguous = sorted(per_nir[per_nir > 1].index)
    shared = ben[ben["BEN_NIR_PSA"].isin(ambiguous)]  # the numbers that need BEN_RNG_GEM
    by_nir_rng = shared.set_index(["BEN_NIR_PSA", "BEN_RNG_GEM"])["BEN_IDT_ANO"]  # keys unique (checked)
    by_nir = (
        ben[ben["BEN_NIR_PSA"].isin(per_nir[per_nir == 1].index)]
        .drop_duplicates("BEN_NIR_PSA")
        .set_index("BEN_NIR_PSA")["BEN_IDT_ANO"]
    )
    return persons, Beneficiaries(by_nir_rng, TextIndex(by_nir.index), arrow_text(by_nir), TextIndex(ambiguous))


class Beneficiaries(NamedTuple):
    """From the pseudonymised NIR (BEN_NIR_PSA, NIR_ANO_17) to the person: `by_nir_rng` (NIR, BEN_RNG_GEM)
    -> person; `nir` -> position in `person_of_nir` for the numbers of one person; `ambiguous`: numbers
    shared by several persons."""

    by_nir_rng: pd.Series
    nir: TextIndex
    person_of_nir: pa.Array
    ambiguous: TextIndex


def _sorted_codes(s: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """(the distinct values of a text column without nulls, sorted; the position of each row's value
    among them), sorted by Arrow (UTF-8 byte order: the order of Python's str)."""
    arr = arrow_text(s)
    distinct = pc.unique(arr)
    distinct = distinct.take(pc.array_sort_indices(distinct))
    codes = pc.index_in(arr, value_set=distinct).to_numpy(zero_copy_only=False)
    return distinct.to_numpy(zero_copy_only=False).astype(object), codes


def _resolve(nir: pd.Series, rng: pd.Series | None, maps: Beneficiaries) -> tuple[pd.Series, np.ndarray]:
    """person_id per row (Arrow-backed text, null when unresolved) and the rule of unresolved rows (None when resolved).

    A BEN_NIR_PSA naming one person resolves directly; one shared by several persons (twins on one
    opener's number) needs BEN_RNG_GEM.
    """
    nir_arr = arrow_text(nir)
    pos = maps.nir.positions(nir_arr)
    pid = maps.person_of_nir.take(pa.array(pos, mask=pos < 0))
    amb = maps.ambiguous.positions(nir_arr) >= 0 if len(maps.ambiguous) else np.zeros(len(nir), bool)
    if rng is not None and amb.any():
        key = pd.MultiIndex.from_arrays([nir[amb].astype(object), rng[amb].astype("Int64")])
        obj = pid.to_numpy(zero_copy_only=False).astype(object)
        obj[amb] = maps.by_nir_rng.reindex(key).to_numpy(dtype=object)
        obj[pd.isna(obj)] = None
        pid = pa.array(obj, type=pa.string())
    missing = pc.is_null(pid).to_numpy(zero_copy_only=False)
    rule = np.full(len(nir), None, dtype=object)
    rule[missing & amb] = "ambiguous_beneficiary"
    rule[missing & ~amb] = "unknown_beneficiary"
    return arrow_series(pid, nir.index), rule


def _set(status: np.ndarray, rule: np.ndarray, mask, code: int, name) -> None:
    """Give still-OK rows in `mask` a status and a rule (first rule wins)."""
    sel = (status == 0) & np.asarray(mask, dtype=bool)
    status[sel] = code
    rule[sel] = name if isinstance(name, str) else np.asarray(name, dtype=object)[sel]


# --- DCIR ----------------------------------------------------------------------------------------------
def _dcir_parents(prs, ete, maps, settings, index: KeyIndex) -> pd.DataFrame:
    """ER_PRS_F rows with status (0 OK / FILTERED / REJECTED), rule, person and care date."""
    n = len(prs)
    status, rule = np.zeros(n, np.int8), np.full(n, None, dtype=object)
    info = (prs["DPN_QLF"] == 71).fillna(False).to_numpy(bool) | (prs["PRS_DPN_QLP"] == 71).fillna(False).to_numpy(bool)
    _set(status, rule, info, FILTERED, "dpn_qlf_71")
    if ete is not None:
        ppos = index.lookup(ete)
        flag = (ppos >= 0) & (ete["ETE_IND_TAA"] == 1).fillna(False).to_numpy(bool)
        public = np.zeros(n, bool)
        public[ppos[flag]] = True
        _set(status, rule, public, FILTERED, "ete_ind_taa_1")
    pid, unresolved = _resolve(prs["BEN_NIR_PSA"], prs["BEN_RNG_GEM"], maps)
    _set(status, rule, pd.notna(unresolved), REJECTED, unresolved)
    _set(status, rule, prs["EXE_SOI_DTD"].isna().to_numpy(), REJECTED, "missing_date")
    _set(status, rule, outside_period(prs["EXE_SOI_DTD"], settings).to_numpy(), REJECTED, "date_out_of_study_period")
    prs["status"], prs["rule"], prs["person_id"] = status, rule, pid  # in place: ER_PRS_F is the largest table
    return prs


def _settle_parents(parents: pd.DataFrame, tracker: Tracker, child_rows: list[np.ndarray]) -> None:
    """Give each parent row (ER_PRS_F, T_MCOaaCSTC) its outcome: filtered / rejected by its status, used if a
    child line points at it, else filtered as `no_drug_line`."""
    ok = settle(parents[["_prow", "status", "rule"]], "_prow", tracker)
    referenced = np.zeros(tracker.n, dtype=bool)
    for rows in child_rows:
        referenced[tracker.positions(rows)] = True
    ok_rows = ok["_prow"].to_numpy()
    hit = referenced[tracker.positions(ok_rows)]
    tracker.use(ok_rows[hit])
    tracker.filter(ok_rows[~hit], "no_drug_line")


def _reject_codes(
    df: pd.DataFrame, match: pd.DataFrame, tracker: Tracker, column: str, table: str, unknown: list, ref=None
) -> pd.Series:
    """Filter the out-of-scope codes (`out_of_scope`), quarantine the bad ones; returns the rows kept."""
    scope = (match["status"] == "out_of_scope").to_numpy()
    if scope.any():
        tracker.filter(df.loc[scope, "_row"].to_numpy(), "out_of_scope")
        in_class = scope & match["code"].isin(dm.unmatched_keys(ref, match.attrs["system"])).to_numpy()
        if in_class.any():  # a drug of the study's classes that no ingredient matched: listed for the user
            unknown.append(
                pd.DataFrame(
                    {
                        "source_table": table,
                        "code_system": column,
                        "code": match.loc[in_class, "code"].to_numpy(),
                        "status": "out_of_scope_unmatched",
                    }
                )
            )
    bad = ~match["status"].isin(["ok", "out_of_scope"])
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
    return ~bad & ~scope


def _match(codes: pd.Series, system: str, ref) -> pd.DataFrame:
    match = dm.match_codes(codes, system, ref)
    match.attrs["system"] = system
    return match


def _pharmacy(pha: pd.DataFrame, pha_t: Tracker, unknown: list, ref) -> pd.DataFrame:
    match = _match(pha["PHA_PRS_C13"], "CIP13", ref)
    keep = _reject_codes(pha, match, pha_t, "PHA_PRS_C13", "ER_PHA_F", unknown, ref)
    noqty = keep & pha["PHA_ACT_QSN"].isna()
    pha_t.reject(pha.loc[noqty, "_row"].to_numpy(), "missing_quantity", "PHA_ACT_QSN is empty")
    keep &= ~noqty
    df = pha[keep].assign(
        ingredient=match.loc[keep, "ingredient"], route=match.loc[keep, "route"], code=match.loc[keep, "code"]
    )
    df["qsn"] = df["PHA_ACT_QSN"].astype("int64")
    df["key"] = "ER_PHA_F:" + join_key(df, [*DCIR_KEYS, "PHA_ORD_NUM"])
    df = df[["_row", "person_id", "EXE_SOI_DTD", "code", "ingredient", "route", "qsn", "key"]]  # the raw keys: in key
    group = ["person_id", "EXE_SOI_DTD", "code"]
    gid = df.groupby(group, sort=False).ngroup().to_numpy()
    qsn = df["qsn"].to_numpy()
    net = pd.Series(np.bincount(gid, weights=qsn).astype(np.int64)[gid], index=df.index)
    zero, neg = net == 0, net < 0
    pha_t.filter(df.loc[zero, "_row"].to_numpy(), "pharmacy_reversal")
    pha_t.reject(
        df.loc[neg, "_row"].to_numpy(), "unmatched_reversal", ("boxes net to " + net[neg].astype(str)).to_numpy()
    )
    pos = df[net > 0].assign(net=net[net > 0], gid=gid[(net > 0).to_numpy()]).sort_values("_row", kind="stable")
    # the negative rows cancel the latest boxes of the group: the earliest positive rows holding the
    # net number of boxes are the dispensation, the other rows are reversed
    boxes = pos["qsn"].clip(lower=0)
    before = boxes.groupby(pos["gid"].to_numpy(), sort=False).cumsum() - boxes
    kept = (pos["qsn"] > 0) & (before < pos["net"])
    pha_t.filter(pos.loc[~kept, "_row"].to_numpy(), "pharmacy_reversal")
    used = pos[kept]
    pha_t.use(used["_row"].to_numpy())
    first = ~used["gid"].duplicated()
    disp = used[first].copy()
    multi = used["gid"].duplicated(keep=False)
    if multi.any():  # several rows make one dispensation: all their keys are the origin
        joined = used[multi].groupby("gid", sort=False)["key"].agg("|".join)
        disp["key"] = disp["gid"].map(joined).fillna(disp["key"])
    disp = disp.rename(columns={"key": "origin"})
    supply = days_of_supply(disp["code"], disp["ingredient"], disp["route"], disp["net"], ref)
    end = disp["EXE_SOI_DTD"] + pd.to_timedelta(supply - 1, unit="D")
    return exposure_frame(
        disp["person_id"], disp["EXE_SOI_DTD"], end, disp["ingredient"], disp["route"], "snds_pharmacy", disp["origin"]
    )


def days_of_supply(code: pd.Series, ingredient: pd.Series, route: pd.Series, boxes: pd.Series, ref) -> pd.Series:
    """Days covered by `boxes` packs of each presentation: boxes x units per pack (IR_PHA_R) / daily units
    of the ingredient (drugs.csv), rounded down, at least 1; else boxes x days_per_pack of the ingredient;
    else 1 (`code`: normalised CIP13 keys)."""
    attrs = dm.attributes(ingredient, route)
    units = code.map(dict(ref.units_per_pack)).astype("float64")
    by_units = np.floor(boxes * units / attrs["daily_units"])
    by_pack = boxes * attrs["days_per_pack"]
    days = by_units.where(by_units.notna() & (attrs["daily_units"] > 0), by_pack).fillna(1)
    return days.clip(lower=1).astype("int64")


def _ucd(ucd: pd.DataFrame, ucd_t: Tracker, unknown: list, ref) -> pd.DataFrame:
    match = _match(ucd["UCD_UCD_COD"], "UCD13", ref)
    keep = _reject_codes(ucd, match, ucd_t, "UCD_UCD_COD", "ER_UCD_F", unknown, ref)
    top = ucd["UCD_TOP_UCD"]
    badtop = keep & ~top.isin([0, 1]).fillna(False).astype(bool)
    ucd_t.reject(ucd.loc[badtop, "_row"].to_numpy(), "invalid_top_ucd", "UCD_TOP_UCD=" + text(top[badtop]))
    keep &= ~badtop
    df = ucd[keep]
    ucd_t.use(df["_row"].to_numpy())
    source = np.where(df["UCD_TOP_UCD"] == 1, "snds_en_sus", "snds_retrocession")
    origin = "ER_UCD_F:" + join_key(df, [*DCIR_KEYS, "UCD_ORD_NUM"])
    return exposure_frame(
        df["person_id"],
        df["EXE_SOI_DTD"],
        df["EXE_SOI_DTD"],
        match.loc[keep, "ingredient"],
        match.loc[keep, "route"],
        source,
        origin,
    )


# --- PMSI ----------------------------------------------------------------------------------------------
def _return_code_ok(s: pd.Series) -> np.ndarray:
    """Whether each return code says OK ("0", "false", "0.0", case and spaces ignored; null: not OK),
    decided once per distinct code."""

    def ok(codes: pa.Array) -> np.ndarray:
        codes = pc.utf8_lower(pc.utf8_trim_whitespace(codes))
        return pc.is_in(codes, pa.array(["0", "false", "0.0"])).to_numpy(zero_copy_only=False)

    return per_distinct(arrow_text(s.astype(object) if pd.api.types.is_bool_dtype(s) else s), ok, False)


def _stays(b, b_t, c, c_t, maps, settings, paths, names: dict[str, str]) -> pd.DataFrame:
    """B + C pairs of one PMSI period (`names`: kind -> table) with status, rule, person, admission /
    discharge dates; B and C rows settled. Stays are keyed by ETA_NUM (text) + RSA_NUM within the period."""
    tb, tc = names["B"], names["C"]
    KeyIndex(b, ["eta", "rsa"], paths[tb], tb)  # unique keys
    cpos_of_b = KeyIndex(c, ["eta", "rsa"], paths[tc], tc).lookup(b)
    bpos = np.flatnonzero(cpos_of_b >= 0)
    cpos = cpos_of_b[bpos]
    only_b = cpos_of_b < 0
    only_c = np.ones(len(c), bool)
    only_c[cpos] = False
    b_t.reject(b["_row"].to_numpy()[only_b], "orphan_row", f"no {tc} row with the same ETA_NUM+RSA_NUM")
    c_t.reject(c["_row"].to_numpy()[only_c], "orphan_row", f"no {tb} row with the same ETA_NUM+RSA_NUM")
    m = b.iloc[bpos].reset_index(drop=True).rename(columns={"_row": "_row_b"})
    cc = c.drop(columns=[*STAY_KEYS, "eta", "rsa"]).iloc[cpos].reset_index(drop=True).rename(columns={"_row": "_row_c"})
    m = pd.concat([m, cc], axis=1)
    n = len(m)
    status, rule = np.zeros(n, np.int8), np.full(n, None, dtype=object)
    codes_ok = np.logical_and.reduce([_return_code_ok(m[col]) for col in RETURN_CODES])
    _set(status, rule, ~codes_ok, FILTERED, "return_code_not_0")
    ghm90 = pc.fill_null(pc.starts_with(arrow_text(m["GRG_GHM"]), "90"), False).to_numpy(zero_copy_only=False)
    _set(status, rule, ghm90, FILTERED, "ghm_90_error")
    pid, unresolved = _resolve(m["NIR_ANO_17"], None, maps)
    _set(status, rule, pd.notna(unresolved), REJECTED, unresolved)
    admission = m["EXE_SOI_DTD"].fillna(m["ENT_DAT"])
    discharge = m["EXE_SOI_DTF"].fillna(m["SOR_DAT"]).fillna(admission)
    _set(status, rule, admission.isna().to_numpy(), REJECTED, "missing_date")
    _set(status, rule, outside_period(admission, settings).to_numpy(), REJECTED, "date_out_of_study_period")
    m["status"], m["rule"], m["person_id"] = status, rule, pid
    m["admission_date"], m["discharge_date"] = admission, discharge
    for tracker, rowcol in ((b_t, "_row_b"), (c_t, "_row_c")):
        ok = settle(m[[rowcol, "status", "rule"]], rowcol, tracker)  # the row numbers only: no copy of m
        tracker.use(ok[rowcol].to_numpy())
    return m


def _int_key(s: pd.Series) -> pd.Series:
    """RSA_NUM as an integer (an integer in T_MCOaaB/C, digit text in the drug tables; leading zeros do
    not matter); text that is not all digits cannot name a T_MCOaaB stay and becomes null."""
    if pd.api.types.is_integer_dtype(s):
        return s.astype("Int64", copy=False)
    t = pc.utf8_trim_whitespace(arrow_text(s))
    digits = pc.fill_null(pc.match_substring_regex(t, r"^\d{1,18}$"), False)
    num = pc.cast(pc.if_else(digits, t, pa.scalar(None, pa.string())), pa.int64())
    return pd.Series(num.to_numpy(zero_copy_only=False), index=s.index).astype("Int64")


def days(s: pd.Series) -> pd.Series:
    """A number of days (integer or float column, nulls kept) as a timedelta column (numpy: no per-value
    parsing; whole days, as the delays of the PMSI drug tables are)."""
    num = s.astype("float64").to_numpy()
    missing = np.isnan(num)
    ns = np.where(missing, 0, np.round(num * 86_400)).astype(np.int64) * 1_000_000_000  # whole seconds
    return pd.Series(np.where(missing, np.timedelta64("NaT", "ns"), ns.view("m8[ns]")), index=s.index)


def _stay_drugs(df, tracker, stays, index, names, kind, settings, unknown, ref) -> pd.DataFrame:
    """The en-sus drug lines (`kind` of STAY_DRUGS) of the stays (or outpatient visits, FHSTC) of one PMSI
    period (`names`: kind -> table)."""
    table, (code_cols, delay_col) = names[kind], STAY_DRUGS[kind]
    parent, key = PARENT[kind]
    child = df
    # origin "<table>:<ETA_NUM>/<RSA_NUM>/<n>": the n-th line of the stay in the file, not the file's
    # row number, so it is the same whether the stay is read from the whole extract or from one shard
    child["_line"] = child.groupby(join_key(child, ["ETA_NUM", key]).to_numpy(), sort=False).cumcount() + 1
    carry = ["person_id", "admission_date", "hospital"]
    linked = link_children(child, stays, index, tracker, names[parent], carry, f"ETA_NUM+{key}")
    code = linked[code_cols[0]]
    for extra in code_cols[1:]:
        code = code.fillna(linked[extra])
    match = _match(code, "UCD13", ref)
    keep = _reject_codes(linked, match, tracker, code_cols[0], table, unknown, ref)
    nodelay = keep & linked[delay_col].isna()
    tracker.reject(linked.loc[nodelay, "_row"].to_numpy(), "missing_delay", f"{delay_col} is empty")
    keep &= ~nodelay
    date = linked["admission_date"] + days(linked[delay_col])
    late = keep & outside_period(date, settings)
    tracker.reject(
        linked.loc[late, "_row"].to_numpy(),
        "date_out_of_study_period",
        ("admission + " + delay_col + " = " + date[late].astype(str)).to_numpy(),
    )
    keep &= ~late
    out = linked[keep]
    tracker.use(out["_row"].to_numpy())
    origin = join_key(out.assign(_t=table), ["_t", "ETA_NUM", key, "_line"])
    origin = origin.str.replace("/", ":", n=1, regex=False)
    return exposure_frame(
        out["person_id"],
        date[keep],
        date[keep],
        match.loc[keep, "ingredient"],
        match.loc[keep, "route"],
        "snds_en_sus",
        origin,
        out["hospital"],
    )


def _pmsi_period(read, paths, names, settings, maps, exposures, unknown, ref) -> pd.DataFrame:
    """The stays of one PMSI period (`names`: kind -> table of the period; `read`: table name -> (frame, tracker)) with their status; the en-sus
    drugs of its MED and FH tables appended to `exposures`."""
    b, b_t = read(names["B"])
    c, c_t = read(names["C"])
    stays = _stays(b, b_t, c, c_t, maps, settings, paths, names)
    del b, c
    stays["hospital"], stays["_t"] = stays["eta"], names["B"]
    stays.rename(columns={"_row_b": "_prow"}, inplace=True)
    stay_index = KeyIndex(stays, ["eta", "rsa"])
    for kind in (k for k in STAY_DRUGS if k in names and PARENT[k][0] == "B"):
        df, tracker = read(names[kind])
        exposures.append(_expo(_stay_drugs(df, tracker, stays, stay_index, names, kind, settings, unknown, ref)))
    if "CSTC" in names:
        visits, v_t = read(names["CSTC"])
        visits, index = _visits(visits, maps, settings, paths[names["CSTC"]], names["CSTC"])
        drug_rows = []
        if "FHSTC" in names:
            df, tracker = read(names["FHSTC"])
            ppos = index.lookup(df)
            drug_rows = [visits["_prow"].to_numpy()[ppos[ppos >= 0]]]
            exposures.append(_expo(_stay_drugs(df, tracker, visits, index, names, "FHSTC", settings, unknown, ref)))
        _settle_parents(visits, v_t, drug_rows)
    return stays


def _visits(v: pd.DataFrame, maps, settings, path, table: str) -> tuple[pd.DataFrame, KeyIndex]:
    """Outpatient visits (ACE, T_MCOaaCSTC) with status, rule, person and date (EXE_SOI_DTD, else ENT_DAT):
    `return_code_not_0` when a return code is not "0", then the person and date rules of the stays; and
    the index of their keys (ETA_NUM + SEQ_NUM, checked unique) for their drug lines."""
    index = KeyIndex(v, ["eta", "seq"], path, table)
    n = len(v)
    status, rule = np.zeros(n, np.int8), np.full(n, None, dtype=object)
    codes_ok = np.logical_and.reduce([_return_code_ok(v[col]) for col in VISIT_RETURN_CODES])
    _set(status, rule, ~codes_ok, FILTERED, "return_code_not_0")
    pid, unresolved = _resolve(v["NIR_ANO_17"], None, maps)
    _set(status, rule, pd.notna(unresolved), REJECTED, unresolved)
    date = v["EXE_SOI_DTD"].fillna(v["ENT_DAT"])
    _set(status, rule, date.isna().to_numpy(), REJECTED, "missing_date")
    _set(status, rule, outside_period(date, settings).to_numpy(), REJECTED, "date_out_of_study_period")
    v["status"], v["rule"], v["person_id"], v["admission_date"], v["hospital"] = status, rule, pid, date, v["eta"]
    return v.rename(columns={"_row": "_prow"}), index


def _expo(frame: pd.DataFrame) -> pa.Table:
    """Exposure rows of one table as a canonical Arrow table, built at once so that the pandas frame
    (Python text objects) is freed before the next table is read."""
    return to_table(frame, contracts.EXPOSURES, "snds exposures", optional=contracts.EXPOSURES_OPTIONAL)


def _concat(tables: list[pa.Table] | chunks.SortedOutput) -> pa.Table | chunks.SortedOutput:
    """The canonical tables of each source table (or PMSI period) as one table (spilled ones as they are)."""
    return pa.concat_tables(tables).combine_chunks() if isinstance(tables, list) else tables


def _outputs(persons: pd.DataFrame, families: chunks.Families) -> tuple:
    """Where exposures, stays and chemo_sessions gather: lists of Arrow tables, or, when the extract is
    read in chunks, tables spilled by ranges of persons (`chunks.SortedOutput`)."""
    n = families.largest
    if n == 1:
        return [], [], []
    ranges = chunks.PersonRanges(persons["person_id"], n)
    return (
        chunks.SortedOutput("exposures", ranges, "date"),
        chunks.SortedOutput("stays", ranges, "discharge_date"),
        chunks.SortedOutput("chemo_sessions", ranges),
    )


def _stay_tables(stays: pd.DataFrame, settings: ExtractSettings) -> tuple[pa.Table, pa.Table]:
    """The canonical stays and chemotherapy sessions of the OK stays of one PMSI period."""
    kept = stays[stays["status"].to_numpy() == 0]
    stays_out = pd.DataFrame(
        {
            "person_id": kept["person_id"],
            "hospital": kept["hospital"],
            "admission_date": kept["admission_date"],
            "discharge_date": kept["discharge_date"],
            "ghm": kept["GRG_GHM"],
            "main_diagnosis": kept["DGN_PAL"],
            "origin": join_key(kept, ["_t", "ETA_NUM", "RSA_NUM"]).str.replace("/", ":", n=1, regex=False),
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
    return (
        to_table(stays_out, contracts.STAYS, "snds stays"),
        to_table(sessions, contracts.CHEMO_SESSIONS, "snds chemo_sessions"),
    )


def _dcir(read, paths, maps, settings, exposures: list, unknown: list, ref) -> None:
    """The DCIR tables (`read`: table name -> (frame, tracker)): ER_PRS_F with ER_ETE_F, the pharmacy
    (ER_PHA_F) and retrocession / en-sus (ER_UCD_F) lines; their exposures appended to `exposures`."""
    prs, prs_t = read("ER_PRS_F")
    prs_index = KeyIndex(prs, DCIR_KEYS, paths["ER_PRS_F"], "ER_PRS_F")
    ete, ete_t = read("ER_ETE_F") if "ER_ETE_F" in paths else (None, None)
    if ete is not None:
        ete_t.use(ete["_row"].to_numpy())
    carry = ["person_id", "EXE_SOI_DTD"]
    parents = _dcir_parents(prs, ete, maps, settings, prs_index)
    parents = parents[["_row", "status", "rule", *carry]].rename(columns={"_row": "_prow"})  # keys: in prs_index
    del prs, ete
    children = []
    pha, pha_t = read("ER_PHA_F")
    pha = link_children(pha, parents, prs_index, pha_t, "ER_PRS_F", carry)
    children.append(pha["_prow"].to_numpy())
    exposures.append(_expo(_pharmacy(pha, pha_t, unknown, ref)))
    del pha
    if "ER_UCD_F" in paths:
        ucd, ucd_t = read("ER_UCD_F")
        ucd = link_children(ucd, parents, prs_index, ucd_t, "ER_PRS_F", carry)
        children.append(ucd["_prow"].to_numpy())
        exposures.append(_expo(_ucd(ucd, ucd_t, unknown, ref)))
        del ucd
    _settle_parents(parents, prs_t, children)


# --- driver --------------------------------------------------------------------------------------------
def extract_snds(paths: dict, settings: ExtractSettings, row_numbers: dict | None = None) -> SndsResult:
    """Extract canonical tables from SNDS table files (`paths`: SNDS table name -> file path).

    `row_numbers` (table name -> row-number file): the files are one patient shard of whole tables
    (`lotluca.extract.split`); rows are then named by their row in the whole file."""
    missing = missing_tables(paths)
    if missing:
        raise InputError(
            ", ".join(str(p) for p in paths.values()) or "SNDS input",
            f"SNDS tables missing: {missing}",
            expected=f"files for {list(REQUIRED_TABLES)}",
        )
    ledger = Ledger("snds")
    unknown: list[pd.DataFrame] = []
    ref = dm.reference_for(paths, settings)
    log.info("drug reference: %d codes of %d ingredients", len(ref.codes), ref.codes["ingredient"].nunique())
    ben, ben_t = _read(paths, "IR_BEN_R", ledger, settings, row_numbers)
    cci, cci_t = _read(paths, "KI_CCI_R", ledger, settings, row_numbers) if "KI_CCI_R" in paths else (None, None)
    persons, maps = _persons(ben, ben_t, cci, cci_t, paths, settings)
    log.info("SNDS persons: %d", len(persons))
    if "ER_ETE_F" not in paths:
        log.warning("ER_ETE_F not in the extract: rule ete_ind_taa_1 (public-hospital DCIR rows) cannot be applied")
    families = chunks.Families(paths, settings, ledger, row_numbers)
    groups = chunks.person_groups(ben) if families.dcir_chunks > 1 else None  # how the DCIR is routed
    del cci, ben  # before any worker process forks
    exposures, stays, sessions = _outputs(persons, families)

    def dcir() -> None:
        for read in families.dcir(lambda: groups):
            _dcir(read, paths, maps, settings, exposures, unknown, ref)

    def pmsi(names: dict[str, str]) -> None:
        for read in families.pmsi(names):
            period = _pmsi_period(read, paths, names, settings, maps, exposures, unknown, ref)
            period_stays, period_sessions = _stay_tables(period, settings)
            stays.append(period_stays)
            sessions.append(period_sessions)
            del period  # the B + C frame of the period: only its canonical tables are kept

    tasks = [dcir, *(partial(pmsi, names) for names in pmsi_periods(paths).values())]
    chunks.run_families(tasks, families, (exposures, stays, sessions), unknown, settings.threads)
    ledger.check()
    activity = (
        [(t, "date") for t in exposures] + [(t, "discharge_date") for t in stays]
        if isinstance(exposures, list)
        else exposures.parts() + stays.parts()
    )
    persons["last_seen_date"] = _last_activity(persons["person_id"], activity, settings)
    return SndsResult(
        persons=to_table(persons, contracts.PERSONS, "snds persons", optional=tuple(contracts.PERSONS.names)),
        # row order: source table, then raw row order (deterministic; sorting millions of rows by
        # person is left to the consumers that need it)
        exposures=_concat(exposures),
        chemo_sessions=_concat(sessions),
        stays=_concat(stays),
        rejects=ledger.rejects(),
        accounting=ledger.summary(),
        unknown_codes=dm.unknown_code_counts(unknown),
    )
