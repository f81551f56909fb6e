"""Diagnosis codes of the SNDS for the SNDS-only identification (lotluca.identify): every ICD-10 code of the
PMSI MCO stays (T_MCOaaB main and related diagnoses, T_MCOaaD associated diagnoses, with the stay's GHM and
date; yearly tables too) and the ALD registrations (IR_IMB_R), as the canonical tables `diagnoses` and `ald`
(lotluca.contracts). Separate from the main extraction (lotluca.extract.snds): the identification needs
the look-back year and the registrations older than the study, which the exposures do not keep.

Rules (docs/extract.md, "Diagnoses and ALD"): a stay is kept when its T_MCOaaC return codes are all 0 and
its GHM is not an error GHM (90...), its admission date within [study start - lookback, study end]; a NIR is
resolved to BEN_IDT_ANO through IR_BEN_R (a NIR of several persons is dropped, counted); an ALD keeps its
own dates (no window). Vectorised over all rows.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from lotluca import contracts, snds_schema
from lotluca.extract.common import ExtractSettings, finess, strip_zeros, to_table
from lotluca.extract.readers import read_table
from lotluca.extract.tables import generic, pmsi_table, table_name

log = logging.getLogger(__name__)

RETURN_CODES = ["NIR_RET", "NAI_RET", "SEX_RET", "SEJ_RET", "FHO_RET", "PMS_RET", "DAT_RET"]
COLUMNS = {
    "IR_BEN_R": ["BEN_NIR_PSA", "BEN_IDT_ANO"],
    "T_MCOaaB": ["ETA_NUM", "RSA_NUM", "GRG_GHM", "DGN_PAL", "DGN_REL"],
    "T_MCOaaC": ["ETA_NUM", "RSA_NUM", "NIR_ANO_17", "EXE_SOI_DTD", "ENT_DAT", *RETURN_CODES],
    "T_MCOaaD": ["ETA_NUM", "RSA_NUM", "ASS_DGN"],
    "IR_IMB_R": ["BEN_NIR_PSA", "IMB_ALD_DTD", "IMB_ALD_DTF", "IMB_ALD_NUM", "MED_MTF_COD"],
}
OPTIONAL = {"T_MCOaaB": ("DGN_REL",), "T_MCOaaC": ("ENT_DAT", *RETURN_CODES), "IR_IMB_R": ("IMB_ALD_DTF",)}
NAMES = ("IR_BEN_R", "T_MCOaaB", "T_MCOaaC", "T_MCOaaD", "IR_IMB_R")


def _read(path: Path, name: str, settings: ExtractSettings) -> pd.DataFrame:
    table = generic(name)
    kinds = {c: "string" for c in RETURN_CODES} if table == "T_MCOaaC" else {}
    kinds |= {"ETA_NUM": "string", "RSA_NUM": "string"} if pmsi_table(name) else {}
    raw = read_table(
        path,
        name,
        snds_schema.arrow_schema(table),
        COLUMNS[table],
        settings.read,
        column_formats=snds_schema.column_formats(table),
        optional=OPTIONAL.get(table, ()),
        kinds=kinds or None,
        allow_empty=True,
    )
    df = raw.data
    if len(raw.bad):  # rows with an unparseable value are left out here (the main extraction quarantines them)
        df = df[~df["_row"].isin(raw.bad["_row"])]
    return df


def stay_key(eta: pd.Series, rsa: pd.Series) -> pd.Series:
    """ETA_NUM (as a FINESS text) + RSA_NUM (leading zeros stripped): the stay of a PMSI period."""
    return (
        finess(eta.astype("string").str.strip().str.upper()).astype(str)
        + "/"
        + strip_zeros(rsa.astype("string")).astype(str)
    )


def files_by_table(files: Iterable[str | Path]) -> dict[str, list[Path]]:
    """The raw files of the tables read here (every shard, every PMSI period), by table name."""
    out: dict[str, list[Path]] = {}
    for f in map(Path, files):
        name = table_name(f.name.split(".")[0], NAMES)
        if name and not f.name.endswith(".rows.parquet"):
            out.setdefault(name, []).append(f)
    return out


def _concat(paths: list[Path], name: str, settings: ExtractSettings) -> pd.DataFrame:
    frames = [_read(p, name, settings) for p in paths]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=COLUMNS[generic(name)])


def nir_map(ben: pd.DataFrame) -> pd.Series:
    """BEN_NIR_PSA -> BEN_IDT_ANO; a NIR of several persons is left out (logged)."""
    pairs = ben[["BEN_NIR_PSA", "BEN_IDT_ANO"]].dropna().drop_duplicates()
    n_per = pairs.groupby("BEN_NIR_PSA")["BEN_IDT_ANO"].transform("size")
    if (n_per > 1).any():
        log.warning("diagnoses: %d NIR of several persons left out", pairs.loc[n_per > 1, "BEN_NIR_PSA"].nunique())
    pairs = pairs[n_per == 1]
    return pd.Series(pairs["BEN_IDT_ANO"].to_numpy(), index=pairs["BEN_NIR_PSA"].to_numpy())


def _valid_stays(b: pd.DataFrame, c: pd.DataFrame, nir: pd.Series, settings: ExtractSettings) -> pd.DataFrame:
    """B + C of one period, valid (return codes 0, no GHM 90, NIR resolved, in the window)."""
    for df in (b, c):
        df["_key"] = stay_key(df["ETA_NUM"], df["RSA_NUM"])
    m = b.drop(columns="_row").merge(c.drop(columns=["_row", "ETA_NUM", "RSA_NUM"]), on="_key", how="inner")
    ok = np.ones(len(m), bool)
    for col in RETURN_CODES:
        ok &= m[col].isna().to_numpy() | (m[col].astype(str).str.strip() == "0").to_numpy()
    ok &= ~m["GRG_GHM"].astype(str).str.startswith("90").to_numpy()
    m["person_id"] = m["NIR_ANO_17"].map(nir)
    m["date"] = m["EXE_SOI_DTD"].fillna(m["ENT_DAT"])
    ok &= m["person_id"].notna().to_numpy() & m["date"].notna().to_numpy()
    ok &= ((m["date"] >= settings.period_start) & (m["date"] <= settings.study_end)).to_numpy()
    return m[ok]


def _period_codes(period: str, kinds: dict, files: dict, nir: pd.Series, settings: ExtractSettings) -> pd.DataFrame:
    """The diagnosis rows of one PMSI period: main, related and associated codes of its valid stays."""
    b = _concat(files[kinds["B"]], kinds["B"], settings)
    c = _concat(files[kinds["C"]], kinds["C"], settings)
    stays = _valid_stays(b, c, nir, settings)
    origin = kinds["B"] + ":" + stays["ETA_NUM"].astype(str) + ":" + stays["RSA_NUM"].astype(str)
    base = pd.DataFrame(
        {"person_id": stays["person_id"], "date": stays["date"], "ghm": stays["GRG_GHM"], "origin": origin}
    )
    parts = [
        base.assign(code=stays["DGN_PAL"].to_numpy(), position="main"),
        base.assign(code=stays["DGN_REL"].to_numpy(), position="related"),
    ]
    if "D" in kinds:
        d = _concat(files[kinds["D"]], kinds["D"], settings)
        d["_key"] = stay_key(d["ETA_NUM"], d["RSA_NUM"])
        keyed = base.assign(_key=stays["_key"].to_numpy())
        dd = d[["_key", "ASS_DGN"]].merge(keyed, on="_key", how="inner")
        parts.append(dd.drop(columns="_key").rename(columns={"ASS_DGN": "code"}).assign(position="associated"))
    out = pd.concat(parts, ignore_index=True)
    out["code"] = out["code"].astype("string").str.strip().str.upper().str.replace(".", "", regex=False)
    return out[out["code"].notna() & (out["code"] != "")]


def extract_diagnoses(files: Iterable[str | Path], settings: ExtractSettings) -> tuple[pa.Table, pa.Table]:
    """The `diagnoses` and `ald` tables of the SNDS raw files `files` (every shard and period)."""
    by = files_by_table(files)
    if "IR_BEN_R" not in by:
        raise FileNotFoundError("extract_diagnoses: no IR_BEN_R among the SNDS files")
    nir = nir_map(_concat(by["IR_BEN_R"], "IR_BEN_R", settings))
    periods: dict[str, dict[str, str]] = {}
    for name in by:
        pk = pmsi_table(name) or (("aa", name[7:]) if name.startswith("T_MCOaa") else None)
        if pk:
            periods.setdefault(pk[0], {})[pk[1]] = name
    parts = [_period_codes(p, k, by, nir, settings) for p, k in sorted(periods.items()) if {"B", "C"} <= set(k)]
    cols = ["person_id", "date", "code", "position", "ghm", "origin"]
    diag = pd.concat(parts, ignore_index=True)[cols] if parts else pd.DataFrame(columns=cols)
    diag = diag.sort_values(
        ["person_id", "date", "position", "code", "ghm", "origin"], kind="stable", ignore_index=True
    )
    imb = _concat(by.get("IR_IMB_R", []), "IR_IMB_R", settings)
    ald = pd.DataFrame(
        {
            "person_id": imb["BEN_NIR_PSA"].map(nir),
            "start_date": imb["IMB_ALD_DTD"],
            "end_date": imb["IMB_ALD_DTF"],
            "code": imb["MED_MTF_COD"].astype("string").str.strip().str.upper().str.replace(".", "", regex=False),
            "ald_number": pd.to_numeric(imb["IMB_ALD_NUM"], errors="coerce"),
            # the registration's own key (not the file row: the same for any number of shards)
            "origin": "IR_IMB_R:"
            + imb["IMB_ALD_NUM"].astype("string").fillna("")
            + ":"
            + imb["IMB_ALD_DTD"].astype(str),
        }
    )
    ald = ald[ald["person_id"].notna() & ald["start_date"].notna()]
    ald = ald.sort_values(list(ald.columns), kind="stable", ignore_index=True)
    log.info(
        "diagnoses: %d codes of %d persons; ALD: %d registrations", len(diag), diag["person_id"].nunique(), len(ald)
    )
    return (
        to_table(diag, contracts.DIAGNOSES, "snds diagnoses"),
        to_table(ald, contracts.ALD, "snds ald"),
    )
