"""Deterministic ODH <-> SNDS linkage: exact demographics plus a shared centre stay, unique both ways.

A pair (ODH patient, SNDS person) is a deterministic link when sex, birth year and birth month are equal
(all non-null), at least `min_stays` ODH stays at the centre match a PMSI stay at the same FINESS within
+/- `day_tolerance` days, and neither side has another such candidate.
"""

from __future__ import annotations

import logging

import duckdb
import pandas as pd

log = logging.getLogger(__name__)


def stay_match_counts(
    odh_persons: pd.DataFrame,
    odh_stays: pd.DataFrame,
    snds_persons: pd.DataFrame,
    snds_stays: pd.DataFrame,
    day_tolerance: int,
    same_demographics: bool,
    con: duckdb.DuckDBPyConnection | None = None,
) -> pd.DataFrame:
    """Candidate pairs sharing at least one stay day (+/- tolerance) at the same FINESS.

    Returns odh_id, snds_id, n_stays (number of distinct ODH stay days with a matching SNDS stay).
    With `same_demographics`, only pairs with equal sex, birth year and birth month are considered
    (joined inside the stay join, so the candidate set stays small).
    """
    con = con or duckdb.connect()
    con.register("op", odh_persons)
    con.register("os_", odh_stays)
    con.register("sp", snds_persons)
    con.register("ss", snds_stays)
    demo_o = ", p.sex, p.birth_year, p.birth_month" if same_demographics else ""
    demo_join = (
        "AND o.sex = s.sex AND o.birth_year = s.birth_year AND o.birth_month = s.birth_month"
        if same_demographics
        else ""
    )
    sql = f"""
    WITH o AS (
        SELECT DISTINCT st.person_id AS odh_id, st.hospital, st.day{demo_o}
        FROM os_ st JOIN op p ON p.person_id = st.person_id
        {"WHERE p.sex IS NOT NULL AND p.birth_year IS NOT NULL AND p.birth_month IS NOT NULL" if same_demographics else ""}
    ),
    centres AS (SELECT DISTINCT hospital FROM o),
    s AS (
        SELECT DISTINCT st.person_id AS snds_id, st.hospital, st.day + k.d AS day{demo_o}
        FROM ss st JOIN sp p ON p.person_id = st.person_id
        JOIN centres c ON c.hospital = st.hospital
        CROSS JOIN (SELECT unnest(range(-{int(day_tolerance)}, {int(day_tolerance) + 1})) AS d) k
    )
    SELECT o.odh_id, s.snds_id, count(DISTINCT o.day) AS n_stays
    FROM o JOIN s ON o.hospital = s.hospital AND o.day = s.day {demo_join}
    GROUP BY o.odh_id, s.snds_id
    ORDER BY o.odh_id, s.snds_id
    """
    out = con.execute(sql).df()
    for name in ("op", "os_", "sp", "ss"):
        con.unregister(name)
    out["n_stays"] = out["n_stays"].astype("int64")
    return out


def deterministic_links(
    odh_persons: pd.DataFrame,
    odh_stays: pd.DataFrame,
    snds_persons: pd.DataFrame,
    snds_stays: pd.DataFrame,
    day_tolerance: int = 1,
    min_stays: int = 1,
    con: duckdb.DuckDBPyConnection | None = None,
) -> tuple[pd.DataFrame, dict]:
    """Deterministic links (odh_id, snds_id, n_stays) and counts of candidates and non-unique ones."""
    cand = stay_match_counts(odh_persons, odh_stays, snds_persons, snds_stays, day_tolerance, True, con)
    cand = cand[cand["n_stays"] >= min_stays]
    n_o = cand.groupby("odh_id")["snds_id"].transform("size")
    n_s = cand.groupby("snds_id")["odh_id"].transform("size")
    unique = (n_o == 1) & (n_s == 1)
    links = cand[unique].reset_index(drop=True)
    stats = {
        "candidate_pairs": int(len(cand)),
        "links": int(len(links)),
        "odh_with_several_candidates": int(cand.loc[n_o > 1, "odh_id"].nunique()),
        "snds_with_several_candidates": int(cand.loc[n_s > 1, "snds_id"].nunique()),
    }
    log.info("deterministic: %s", stats)
    return links, stats
