"""De-identification of the participant tables (docs/challenge.md "What participants receive"):

- study pseudonyms: ODH patient -> "P" + keyed hash, linked SNDS person -> "S" + keyed hash (HMAC-SHA256 with
  the study's pseudonym key, lotluca.privacy.pseudonym, under a challenge-specific derived key);
- one date shift per study person, applied to every date of every table of that person (ODH and linked SNDS
  rows, gold lines): intervals are kept. The shift is drawn from the key (secret on the platform) in
  [-date_shift_days, +date_shift_days] and is never a multiple of 7 or 30 days, so that weekly cycles and
  monthly refills do not land a shifted date on another original date of the same person;
- FINESS (hospital, centre) -> "H" + keyed hash, stable across tables; raw row keys (`origin`) -> table name;
- coarsening: birth_year -> 5-year band, birth_month dropped, main_diagnosis -> ICD-10 category (3 characters),
  then values of residence_dpt, main_diagnosis, ghm, protocol_label and hospital pseudonyms seen in fewer than
  `rare_min_persons` persons -> "other" (protocol_label: null).
"""

from __future__ import annotations

import hashlib
import hmac

import numpy as np
import pandas as pd

from lotluca.privacy.pseudonym import pseudonymise

PERIODS = (7, 30)  # shifts that are multiples of these are never drawn
DATE_COLUMNS = {
    "persons": ("death_date", "diagnosis_date", "end_of_followup"),
    "exposures": ("date", "end_date"),
    "chemo_sessions": ("date",),
    "stays": ("admission_date", "discharge_date"),
    "lines": ("start_date", "end_date"),
}
FINESS_COLUMNS = ("hospital", "centre")
RARE_COLUMNS = {"persons": ("residence_dpt",), "stays": ("main_diagnosis", "ghm"), "exposures": ("protocol_label",)}
OTHER = "other"


def challenge_key(key: bytes) -> bytes:
    """The challenge's own key, derived from the study pseudonym key."""
    return hmac.new(key, b"lotluca-challenge", hashlib.sha256).digest()


def allowed_shifts(max_days: int) -> np.ndarray:
    days = np.arange(-max_days, max_days + 1)
    keep = np.ones(len(days), dtype=bool)
    for p in PERIODS:
        keep &= days % p != 0
    return days[keep]


def person_shifts(ids, key: bytes, max_days: int) -> pd.Series:
    """Shift in days of each id (keyed hash -> one of `allowed_shifts`)."""
    choices = allowed_shifts(max_days)
    ids = pd.Index(pd.unique(pd.Series(ids, dtype="string").dropna()))
    draw = [int.from_bytes(hmac.new(key, b"shift:" + i.encode(), hashlib.sha256).digest()[:8], "big") for i in ids]
    return pd.Series(choices[np.asarray(draw, dtype=np.uint64) % np.uint64(len(choices))], index=ids, dtype="int64")


def key_table(persons: pd.Index, links: pd.DataFrame, key: bytes, max_days: int) -> pd.DataFrame:
    """One row per challenge person (ODH id): odh_id, snds_id (linked SNDS person or null), pseudonyms, shift."""
    k = challenge_key(key)
    out = pd.DataFrame({"odh_id": pd.Index(persons, dtype=str)})
    link_map = links.drop_duplicates("odh_patient_id").set_index("odh_patient_id")["snds_person_id"]
    out["snds_id"] = out["odh_id"].map(link_map)
    out["odh_pseudonym"] = pseudonymise(out["odh_id"], k, length=12)
    out["snds_pseudonym"] = pseudonymise(out["snds_id"], k, length=12).map(lambda v: None if v is None else "S" + v[1:])
    out["shift_days"] = person_shifts(out["odh_id"], k, max_days).reindex(out["odh_id"]).to_numpy()
    return out


def finess_map(values: pd.Series, key: bytes) -> dict:
    uniq = pd.Series(pd.unique(values.dropna().astype(str)))
    pseudo = pseudonymise(uniq, challenge_key(key) + b"finess", length=8).map(lambda v: "H" + v[1:])
    return dict(zip(uniq, pseudo, strict=True))


def shift_table(df: pd.DataFrame, table: str, ids: pd.Series, pseudo: pd.Series, shifts: pd.Series) -> pd.DataFrame:
    """Rows of the persons of `ids` (original id -> pseudonym, shift): person_id replaced, dates shifted."""
    out = df[df["person_id"].isin(ids.index)].copy()
    shift = pd.to_timedelta(out["person_id"].map(shifts).to_numpy(), unit="D")
    for col in DATE_COLUMNS[table]:
        if col in out.columns:
            out[col] = pd.to_datetime(out[col]) + shift
    out["person_id"] = out["person_id"].map(pseudo)
    return out


def coarsen(tables: dict[str, pd.DataFrame], fin: dict) -> dict[str, pd.DataFrame]:
    """Identifiers replaced and rare values coarsened in the shifted tables of one source (name -> frame)."""
    out = {}
    for name, df in tables.items():
        df = df.copy()
        for col in FINESS_COLUMNS:
            if col in df.columns:
                df[col] = df[col].map(fin, na_action="ignore")
        if "origin" in df.columns:
            df["origin"] = df["origin"].astype("string").map(_origin_tables, na_action="ignore")
        if name == "persons":
            df["birth_year"] = (pd.to_numeric(df["birth_year"]) // 5 * 5).astype("Int16")
            df["birth_month"] = pd.array([pd.NA] * len(df), dtype="Int16")
        if name == "stays":
            df["main_diagnosis"] = df["main_diagnosis"].astype("string").str[:3]
        out[name] = df
    return out


def _origin_tables(origin: str) -> str:
    """The raw tables of an origin ("TABLE:key|TABLE:key" -> "TABLE|TABLE"), keys dropped."""
    return "|".join(dict.fromkeys(part.split(":", 1)[0] for part in origin.split("|")))


def rare_values(frames: list[tuple[str, pd.DataFrame]], persons_of, min_persons: int) -> dict[str, set]:
    """(table, column) values seen in fewer than `min_persons` distinct persons across both sources; also the
    hospital pseudonyms (hospital, centre). `persons_of(df)` gives the person key of each row."""
    counts: dict[str, pd.Series] = {}
    for table, df in frames:
        cols = list(RARE_COLUMNS.get(table, ())) + [c for c in FINESS_COLUMNS if c in df.columns]
        for col in cols:
            group = "finess" if col in FINESS_COLUMNS else f"{table}.{col}"
            pairs = pd.DataFrame({"v": df[col].astype("string"), "p": persons_of(df)}).dropna().drop_duplicates()
            n = pairs.groupby("v")["p"].nunique()
            counts[group] = n if group not in counts else counts[group].add(n, fill_value=0)
    return {g: set(n.index[n < min_persons]) for g, n in counts.items()}


def apply_rare(tables: dict[str, pd.DataFrame], rare: dict[str, set]) -> dict[str, pd.DataFrame]:
    for name, df in tables.items():
        for col in RARE_COLUMNS.get(name, ()):
            bad = df[col].isin(rare.get(f"{name}.{col}", set()))
            df[col] = df[col].astype(object).where(~bad, None if col == "protocol_label" else OTHER)
        for col in FINESS_COLUMNS:
            if col in df.columns:
                bad = df[col].isin(rare.get("finess", set()))
                df[col] = df[col].astype(object).where(~bad, "H" + OTHER)
    return tables
