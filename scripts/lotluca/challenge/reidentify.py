"""The re-identification check of the participant tables (docs/challenge.md "Re-identification check"):

1. identifiers: no string value of a participant table is an original identifier (a person id of either
   source, a FINESS, a raw row key);
2. dates: no participant row holds its own original date (each row is mapped back to its person's original
   rows through the organisers' key table);
3. attack: an attacker holding the original tables joins every participant exposure and stay to them on
   exact dates (and ingredient); the original person with most matches is the guess for each participant
   person. The share of participant persons whose guess is right with at least half their rows matched is the
   re-identification rate; the step fails above `challenge.reidentification_max`.
"""

from __future__ import annotations

import pandas as pd

from lotluca.challenge.deidentify import DATE_COLUMNS
from lotluca.errors import LotlucaError

ATTACK_KEYS = {"exposures": ["date", "ingredient"], "stays": ["admission_date", "discharge_date"]}


def original_identifiers(original: dict[str, dict[str, pd.DataFrame]]) -> set[str]:
    ids: set[str] = set()
    for tables in original.values():
        for df in tables.values():
            for col in ("person_id", "hospital", "centre", "origin"):
                if col in df.columns:
                    ids.update(df[col].dropna().astype(str))
    return ids


def identifier_hits(participant: dict[str, pd.DataFrame], ids: set[str]) -> dict[str, int]:
    """file -> number of cells holding an original identifier."""
    hits = {}
    for name, df in participant.items():
        n = 0
        for col in df.columns:
            if df[col].dtype == object or pd.api.types.is_string_dtype(df[col]):
                values = df[col].dropna().astype(str)
                found = set(pd.unique(values)) & ids  # distinct values first: the id set is large
                n += int(values.isin(found).sum()) if found else 0
        hits[name] = n
    return hits


def rows_with_original_date(participant: dict[str, pd.DataFrame], keys: pd.DataFrame) -> int:
    """Participant rows whose date equals the same row's original date (the shift of its person is 0)."""
    shifts = pd.concat(
        [
            keys.set_index("odh_pseudonym")["shift_days"],
            keys.dropna(subset=["snds_pseudonym"]).set_index("snds_pseudonym")["shift_days"],
        ]
    )
    n = 0
    for name, df in participant.items():
        table = name.split("/")[-1]
        if table in DATE_COLUMNS and "person_id" in df.columns:
            dated = df[[c for c in DATE_COLUMNS[table] if c in df.columns]].notna().any(axis=1)
            n += int((dated & (df["person_id"].map(shifts) == 0)).sum())
    return n


def attack(participant: dict[str, pd.DataFrame], original: dict[str, dict[str, pd.DataFrame]], keys: pd.DataFrame):
    """(re-identified persons, attacked persons): the exact-date join of every participant exposure and stay to
    every original row of the same table."""
    truth = pd.concat(
        [
            keys.set_index("odh_pseudonym")["odh_id"],
            keys.dropna(subset=["snds_pseudonym"]).set_index("snds_pseudonym")["snds_id"],
        ]
    )
    hits = []
    for name, df in participant.items():
        source, table = name.split("/") if "/" in name else ("", name)
        if table not in ATTACK_KEYS or source not in original:
            continue
        on = ATTACK_KEYS[table]
        left = _dates(df[["person_id", *on]]).dropna().drop_duplicates().reset_index(drop=True)
        left["_row"] = left.index.astype(str) + name
        right = _dates(original[source][table][["person_id", *on]]).dropna().drop_duplicates()
        m = left.merge(right.rename(columns={"person_id": "candidate"}), on=on)
        m = m.drop_duplicates(["_row", "candidate"])
        hits.append(m[["person_id", "candidate", "_row"]])
        hits.append(left[["person_id", "_row"]].assign(candidate=None))  # row counts
    if not hits:
        return 0, 0
    allh = pd.concat(hits, ignore_index=True)
    n_rows = allh[allh["candidate"].isna()].groupby("person_id")["_row"].nunique()
    matched = allh.dropna(subset=["candidate"]).groupby(["person_id", "candidate"])["_row"].nunique()
    if matched.empty:
        return 0, len(n_rows)
    best = matched.sort_values(ascending=False).groupby(level=0).head(1).reset_index(name="n")
    best = best[best["candidate"] == best["person_id"].map(truth)]
    best = best[best["n"] >= 0.5 * best["person_id"].map(n_rows)]
    return int(best["person_id"].nunique()), int(len(n_rows))


def _dates(df: pd.DataFrame) -> pd.DataFrame:
    """Date columns as datetime64[ns] (exact-day comparison whatever the reader gave)."""
    df = df.copy()
    for col in df.columns:
        if "date" in col:
            df[col] = pd.to_datetime(df[col]).astype("datetime64[ns]")
    return df


def check(participant, original, keys, max_rate: float) -> dict:
    """The three checks as a JSON-ready report; LotlucaError when one fails."""
    hits = identifier_hits(participant, original_identifiers(original))
    same_date = rows_with_original_date(participant, keys)
    reidentified, attacked = attack(participant, original, keys)
    rate = reidentified / attacked if attacked else 0.0
    report = {
        "identifier_cells": hits,
        "rows_with_original_date": same_date,
        "attack": {"persons_attacked": attacked, "persons_reidentified": reidentified, "rate": rate},
        "reidentification_max": max_rate,
    }
    problems = [f"{k}: {v} cell(s) hold an original identifier" for k, v in hits.items() if v]
    if same_date:
        problems.append(f"{same_date} row(s) keep their original date")
    if rate > max_rate:
        problems.append(f"the exact-date attack re-identifies {reidentified} of {attacked} persons ({rate:.1%})")
    report["passed"] = not problems
    if problems:
        raise LotlucaError("re-identification check failed: " + "; ".join(problems))
    return report
