"""Candidate line boundaries: one row per treatment day of a person, and its gold label.

A treatment day is a (person, date) with an antineoplastic exposure or a chemotherapy session (merged
tables of one scenario). Exposures are filtered as the rule engine does (antineoplastic drug class,
not earlier than the advanced diagnosis minus `lookback_days`); days closer than `same_day_tolerance`
days to the previous day of the person form one day (date jitter between ODH and SNDS copies), dated
by its first date. Each day carries the bit mask of its ingredients (bit b = `vocab[b]`), the latest
end of supply, whether a chemotherapy session falls on it, the lowest ODH cycle number and the
protocol label code.

Labels (`label_days`): 1 when a gold line starts on the day, 2 when a gold maintenance phase starts,
0 otherwise. Each gold start is given to the nearest candidate day within `tolerance_days` (ties: the
earlier day); a gold start with no day that close is counted as unreachable, never silently lost.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd

from lotluca import drugs
from lotluca.errors import InputError

log = logging.getLogger(__name__)

MAX_INGREDIENTS = 63
DAY_SHIFT = 1 << 21  # person code * DAY_SHIFT + day number: one sortable key, persons never overlap
LINE, MAINT = 1, 2  # label classes (0: no boundary)


@dataclass
class Days:
    """Treatment days of every person (sorted by person, date) and the ingredient vocabulary."""

    table: pd.DataFrame  # person_id, pcode, date (int days since epoch), mask, dend, session, drug_day, cycle, proto
    vocab: list[str]  # ingredient of each bit
    persons: pd.DataFrame  # person_id, pcode, diagnosis, death, eof (int days or NaN)
    exposure_day: np.ndarray  # for each input exposure row: index of its day in `table` (-1: not used)

    @property
    def key(self) -> np.ndarray:
        return self.table["pcode"].to_numpy(np.int64) * DAY_SHIFT + self.table["date"].to_numpy(np.int64)


def _days_of(series: pd.Series) -> np.ndarray:
    """Dates (date32 objects, datetime64 or strings) -> float days since 1970-01-01 (NaN for missing)."""
    d = pd.to_datetime(series, errors="coerce")
    out = (d - pd.Timestamp("1970-01-01")).dt.days.to_numpy(dtype=float)
    return out


def _require(df: pd.DataFrame, cols, name: str) -> None:
    for c in cols:
        if c not in df.columns:
            raise InputError(name, "missing column", column=c, expected=f"columns {list(cols)}")
    for c in cols:
        bad = df[c].isna().to_numpy()
        if bad.any():
            raise InputError(name, "null values", column=c, rows=np.flatnonzero(bad)[:20].tolist())


def _person_info(exp: pd.DataFrame, persons: pd.DataFrame, chemo_sessions, sname: str):
    """Sorted distinct person ids (of the exposures and sessions), their index, and per person the
    diagnosis, death and end-of-follow-up days (NaN when unknown)."""
    per = persons.drop_duplicates("person_id").copy()
    per["person_id"] = per["person_id"].astype(str)
    ids = pd.Index(exp["person_id"].astype(str))
    if chemo_sessions is not None and len(chemo_sessions):
        _require(chemo_sessions, ("person_id", "date"), sname)
        ids = ids.append(pd.Index(chemo_sessions["person_id"].astype(str)))
    uniq = np.array(sorted(set(ids)), dtype=object)
    pinfo = pd.DataFrame({"person_id": uniq, "pcode": np.arange(len(uniq), dtype=np.int64)})
    for col, out in (("diagnosis_date", "diagnosis"), ("death_date", "death"), ("end_of_followup", "eof")):
        vals = _days_of(per[col]) if col in per.columns else np.full(len(per), np.nan)
        pinfo[out] = pd.Series(vals, index=per["person_id"].to_numpy()).reindex(uniq).to_numpy()
    return uniq, pd.Index(uniq), pinfo


def _exposure_events(
    exp: pd.DataFrame, ingr: pd.Series, rows: np.ndarray, pcode: np.ndarray, date: np.ndarray, ename: str
) -> tuple[pd.DataFrame, list[str]]:
    """One event per used exposure row (ingredient bit, end of supply, cycle, protocol code) and the vocabulary."""
    vocab = sorted(set(ingr.to_numpy()[rows]))
    if len(vocab) > MAX_INGREDIENTS:
        raise InputError(
            ename,
            f"{len(vocab)} distinct antineoplastic ingredients",
            column="ingredient",
            expected=f"at most {MAX_INGREDIENTS}",
        )
    bit = pd.Series(np.left_shift(1, np.arange(len(vocab), dtype=np.int64)), index=vocab)
    emask = bit.reindex(ingr.to_numpy()[rows]).to_numpy(np.int64)
    if "end_date" in exp.columns:
        end = _days_of(exp["end_date"])[rows]
        end = np.where(np.isnan(end), date[rows], np.maximum(end, date[rows]))
    else:
        end = date[rows]
    cyc = (
        pd.to_numeric(exp["cycle_number"], errors="coerce").to_numpy(float)[rows]
        if "cycle_number" in exp.columns
        else np.full(len(rows), np.nan)
    )
    if "protocol_label" in exp.columns:
        lab = exp["protocol_label"].astype("string").str.upper().str.split().str.join(" ").to_numpy()[rows]
        labs = pd.Series(lab).dropna()
        canon = {v: i for i, v in enumerate(sorted(set(labs)))}
        proto = pd.Series(lab).map(canon).fillna(-1).to_numpy(np.int64)
    else:
        proto = np.full(len(rows), -1, np.int64)
    ev = pd.DataFrame({
        "pcode": pcode[rows].astype(np.int64), "date": date[rows].astype(np.int64), "mask": emask,
        "dend": end.astype(np.int64), "session": False, "cycle": cyc, "proto": proto, "row": rows,
    })  # fmt: skip
    return ev, vocab


def _session_events(
    chemo_sessions: pd.DataFrame, pidx: pd.Index, pinfo: pd.DataFrame, lookback_days: int | None, sname: str
) -> pd.DataFrame:
    """One event per chemotherapy session not earlier than the diagnosis minus the lookback (no drug)."""
    sd = _days_of(chemo_sessions["date"])
    if np.isnan(sd).any():
        raise InputError(sname, "unparseable dates", column="date", rows=np.flatnonzero(np.isnan(sd))[:20].tolist())
    sp = pidx.get_indexer(chemo_sessions["person_id"].astype(str))
    ok = np.ones(len(sd), bool)
    if lookback_days is not None:
        diag = pinfo["diagnosis"].to_numpy()[sp]
        ok = ~(~np.isnan(diag) & (sd < diag - lookback_days))
    return pd.DataFrame({
        "pcode": sp[ok].astype(np.int64), "date": sd[ok].astype(np.int64), "mask": np.int64(0),
        "dend": sd[ok].astype(np.int64), "session": True, "cycle": np.nan, "proto": np.int64(-1), "row": -1,
    })  # fmt: skip


def _reduce_days(ev: pd.DataFrame, uniq: np.ndarray, same_day_tolerance: int) -> pd.DataFrame:
    """Events sorted by (person, date) and reduced to days (events closer than the tolerance: one day);
    adds each event's `day` to `ev`."""
    ev.sort_values(["pcode", "date", "row"], kind="stable", inplace=True)
    ev.reset_index(drop=True, inplace=True)
    key = ev["pcode"].to_numpy() * DAY_SHIFT + ev["date"].to_numpy()
    new = np.ones(len(ev), bool)
    if len(ev) > 1:
        new[1:] = (ev["pcode"].to_numpy()[1:] != ev["pcode"].to_numpy()[:-1]) | (np.diff(key) > same_day_tolerance)
    ev["day"] = np.cumsum(new) - 1
    g = ev.groupby("day", sort=True)
    table = pd.DataFrame({
        "pcode": g["pcode"].first(), "date": g["date"].first(),
        "mask": g["mask"].agg(np.bitwise_or.reduce).astype(np.int64), "dend": g["dend"].max(),
        "session": g["session"].any(), "cycle": g["cycle"].min(), "proto": g["proto"].max(),
    }).reset_index(drop=True)  # fmt: skip
    table["drug_day"] = table["mask"] != 0
    table.insert(0, "person_id", uniq[table["pcode"].to_numpy()] if len(table) else pd.Series([], dtype=object))
    return table


def build_days(
    exposures: pd.DataFrame,
    persons: pd.DataFrame,
    chemo_sessions: pd.DataFrame | None = None,
    lookback_days: int | None = 30,
    same_day_tolerance: int = 2,
    names: tuple[str, str, str] = ("exposures", "persons", "chemo_sessions"),
) -> Days:
    """Treatment days of every person of `exposures` / `chemo_sessions` (see the module docstring)."""
    ename, pname, sname = names
    _require(exposures, ("person_id", "date", "ingredient"), ename)
    _require(persons, ("person_id",), pname)
    exp = exposures.reset_index(drop=True)
    n_in = len(exp)
    ingr = exp["ingredient"].astype(str).str.strip().str.lower()
    ref = drugs.ingredient_class()
    if "drug_class" in exp.columns:
        cls = exp["drug_class"].astype("string").str.strip().str.lower()
        cls = cls.fillna(ingr.map(lambda i: ref.get(i, "trial")))
    else:
        cls = ingr.map(lambda i: ref.get(i, "trial"))
    keep = cls.isin(drugs.ANTINEOPLASTIC_CLASSES).to_numpy()
    uniq, pidx, pinfo = _person_info(exp, persons, chemo_sessions, sname)

    pcode = pidx.get_indexer(exp["person_id"].astype(str))
    date = _days_of(exp["date"])
    if np.isnan(date).any():
        raise InputError(ename, "unparseable dates", column="date", rows=np.flatnonzero(np.isnan(date))[:20].tolist())
    if lookback_days is not None:
        diag = pinfo["diagnosis"].to_numpy()[pcode]
        keep &= ~(~np.isnan(diag) & (date < diag - lookback_days))
    rows = np.flatnonzero(keep)
    ev, vocab = _exposure_events(exp, ingr, rows, pcode, date, ename)
    if chemo_sessions is not None and len(chemo_sessions):
        ev = pd.concat([ev, _session_events(chemo_sessions, pidx, pinfo, lookback_days, sname)], ignore_index=True)
    table = _reduce_days(ev, uniq, same_day_tolerance)
    exposure_day = np.full(n_in, -1, np.int64)
    used = ev["row"].to_numpy() >= 0
    exposure_day[ev["row"].to_numpy()[used]] = ev["day"].to_numpy()[used]
    log.info(
        "%s: %d treatment days of %d persons (%d of %d exposure rows used, %d ingredients)",
        ename,
        len(table),
        table["pcode"].nunique(),
        int(used.sum()),
        n_in,
        len(vocab),
    )
    return Days(table=table, vocab=vocab, persons=pinfo, exposure_day=exposure_day)


def label_days(days: Days, gold: pd.DataFrame, tolerance_days: int) -> tuple[np.ndarray, dict]:
    """Label (0, LINE, MAINT) of each day of `days` from the gold lines (persons absent from `gold`
    get 0: restrict to gold persons before training) and counts of the gold starts placed."""
    t = days.table
    label = np.zeros(len(t), np.int8)
    pidx = pd.Index(days.persons["person_id"])
    g = gold[["person_id", "start_date", "is_maintenance"]].copy()
    g["pcode"] = pidx.get_indexer(g["person_id"].astype(str))
    no_days = int((g["pcode"] < 0).sum())
    g = g[g["pcode"] >= 0]
    g["gkey"] = g["pcode"].to_numpy(np.int64) * DAY_SHIFT + _days_of(g["start_date"]).astype(np.int64)
    g["cls"] = np.where(g["is_maintenance"].astype(bool), MAINT, LINE).astype(np.int8)
    g = g.sort_values("gkey", kind="stable")
    cand = pd.DataFrame({"dkey": days.key, "pcode": t["pcode"].to_numpy(np.int64), "i": np.arange(len(t))})
    m = pd.merge_asof(
        g, cand, left_on="gkey", right_on="dkey", by="pcode", direction="nearest", tolerance=int(tolerance_days)
    )
    placed = m.dropna(subset=["i"])
    # a day given both a line and a maintenance start keeps the line start
    best = placed.groupby("i")["cls"].min()
    label[best.index.to_numpy(np.int64)] = best.to_numpy(np.int8)
    counts = {
        "gold_starts": int(len(gold)),
        "placed": int(best.size),
        "merged_on_one_day": int(len(placed) - best.size),
        "unreachable_no_day_within_tolerance": int(len(m) - len(placed)),
        "unreachable_person_without_days": no_days,
    }
    return label, counts
