"""Probabilistic ODH <-> SNDS linkage with Splink (DuckDB backend), m/u estimated by EM.

Each record carries its demographics (sex, birth year and month, departement, death day) and:
- the set of its stay keys (centre, day) at the ODH centres, encoded as integers centre_index * 1e6 +
  day number: ODH records hold their exact centre-stay days (null when the patient has none); SNDS
  records hold their PMSI stay days at those FINESS expanded by +/- 1 day (`stay_keys_1`) and +/-
  `day_window` days (`stay_keys_w`), so the size of the intersection of two records' key sets is the
  number of ODH stay days matched by a PMSI stay;
- the ODH diagnosis day, and for SNDS persons the admission day of their first stay with a C34 main
  diagnosis (the diagnosis stay), compared within a window.
Pairs are blocked on a shared stay key (plus one demographic field), on identical demographics, on
birth year and death day, or on the diagnosis week (plus demographic fields). The model is trained on
all records (u by random sampling, m by EM over three demographic blocking rules, each leaving other
fields free; EM cannot block on exploded arrays), then scores the records the deterministic step left.
Whether a pair shares an event (a stay, the diagnosis stay or the death) is returned with its score:
the resolution step can require it, so that identical demographics alone never make a link.
"""

from __future__ import annotations

import copy
import logging
import time

import duckdb
import numpy as np
import pandas as pd

from lotluca.errors import InputError

log = logging.getLogger(__name__)

RECORD_COLUMNS = [
    "unique_id",
    "sex",
    "birth_year",
    "birth_month",
    "residence_dpt",
    "death_day",
    "stay_keys_1",
    "stay_keys_w",
]


def stay_key_records(
    name: str,
    persons: pd.DataFrame,
    stays: pd.DataFrame,
    centres: list[str],
    expand: tuple[int, int],
    con: duckdb.DuckDBPyConnection,
    role: str = "odh",
    diagnosis_window: tuple[int, int] = (-3, 30),
) -> int:
    """Create table `name` in `con`: Splink input records, persons with their stay-key lists at `centres`.

    `expand` = (days for stay_keys_1, days for stay_keys_w) added on both sides of each stay day.
    `role` "odh": the record carries the diagnosis day (diag_day), and null stay lists when the patient
    has no stay at the centre (no information, the comparison's null level); "snds": the admission day
    of the person's first stay with a lung-cancer main diagnosis (first_c34_day), at any hospital, and
    empty lists when the person has no stay at a centre (evidence against an ODH patient with stays).
    Returns the number of records. The records never leave DuckDB (no pandas list columns).
    """
    con.register("p_in", persons)
    con.register("st_in", stays)
    # centres numbered in sorted order, so that both sources share the numbering
    con.register(
        "c_in",
        pd.DataFrame(
            {"hospital": pd.Series(sorted(centres), dtype="object"), "c_idx": np.arange(len(centres), dtype="int64")}
        ),
    )
    e1, ew = expand
    lo, hi = diagnosis_window
    # week buckets for blocking on the diagnosis: the ODH diagnosis week; the weeks an ODH diagnosis
    # matching the person's first C34 stay can fall in
    if role == "odh":
        diag_weeks = "CASE WHEN p.diag_day IS NULL THEN []::INTEGER[] ELSE [CAST(floor(p.diag_day / 7) AS INTEGER)] END"
    else:
        diag_weeks = (
            "CASE WHEN c34.first_c34_day IS NULL THEN []::INTEGER[] ELSE "
            f"list_transform(range(CAST(floor((c34.first_c34_day + {int(lo)}) / 7) AS BIGINT), "
            f"CAST(floor((c34.first_c34_day + {int(hi)}) / 7) AS BIGINT) + 1), lambda x: CAST(x AS INTEGER)) END"
        )

    def keys(e: int, col: str) -> str:
        return f"""SELECT person_id, list(DISTINCT key ORDER BY key) AS {col} FROM (
            SELECT s.person_id, c_in.c_idx * 1000000 + s.day + d AS key
            FROM st_in s JOIN c_in USING (hospital) CROSS JOIN (SELECT unnest(range(-{e}, {e + 1})) AS d)
        ) GROUP BY person_id"""

    _run(
        con,
        f"""
    CREATE OR REPLACE TABLE {name} AS
    WITH k1 AS ({keys(e1, "stay_keys_1")}), kw AS ({keys(ew, "stay_keys_w")}),
    c34 AS (SELECT person_id, min(day) AS first_c34_day FROM st_in WHERE lung_cancer GROUP BY person_id)
    SELECT CAST(p.person_id AS VARCHAR) AS unique_id, CAST(p.sex AS VARCHAR) AS sex,
           CAST(p.birth_year AS INTEGER) AS birth_year, CAST(p.birth_month AS INTEGER) AS birth_month,
           CAST(p.residence_dpt AS VARCHAR) AS residence_dpt, CAST(p.death_day AS INTEGER) AS death_day,
           {"CAST(p.diag_day AS INTEGER)" if role == "odh" else "CAST(NULL AS INTEGER)"} AS diag_day,
           {"CAST(NULL AS INTEGER)" if role == "odh" else "CAST(c34.first_c34_day AS INTEGER)"} AS first_c34_day,
           {diag_weeks} AS diag_weeks,
           {"k1.stay_keys_1" if role == "odh" else "coalesce(k1.stay_keys_1, []::BIGINT[])"} AS stay_keys_1,
           {"kw.stay_keys_w" if role == "odh" else "coalesce(kw.stay_keys_w, []::BIGINT[])"} AS stay_keys_w
    FROM p_in p LEFT JOIN k1 ON k1.person_id = p.person_id LEFT JOIN kw ON kw.person_id = p.person_id
    LEFT JOIN c34 ON c34.person_id = p.person_id
    ORDER BY unique_id
    """,
    )
    for t in ("p_in", "st_in", "c_in"):
        con.unregister(t)
    return int(con.execute(f"SELECT count(*) FROM {name}").fetchall()[0][0])


def _run(con: duckdb.DuckDBPyConnection, sql: str) -> None:
    """Execute a statement and consume its result (DuckDB 2 refuses new work on an unfinished result)."""
    con.execute(sql).fetchall()


def _stay_level(n: int, col: str = "stay_keys_1"):
    from splink.comparison_level_library import CustomLevel

    return CustomLevel(
        f"len(list_intersect({col}_l, {col}_r)) >= {n}", label_for_charts=f"{n}+ stay days matched ({col})"
    )


def model_settings(
    prior: float, day_window: int, blocking_rules: list, diagnosis_window: tuple[int, int] = (-3, 30)
) -> dict:
    """Splink settings: comparisons on stays, birth year/month, sex, departement, death date and the
    ODH diagnosis date against the first lung-cancer stay in the PMSI."""
    import splink.comparison_level_library as cll
    from splink import SettingsCreator
    from splink.comparison_library import CustomComparison, ExactMatch

    stays = CustomComparison(
        output_column_name="stay_overlap",
        comparison_levels=[
            cll.CustomLevel(
                "stay_keys_1_l IS NULL OR stay_keys_1_r IS NULL", label_for_charts="no centre stay in ODH"
            ).configure(is_null_level=True),
            _stay_level(8),
            _stay_level(4),
            _stay_level(2),
            _stay_level(1),
            _stay_level(1, "stay_keys_w").configure(label_for_charts=f"a stay within {day_window} days"),
            cll.ElseLevel(),
        ],
    )
    birth_year = CustomComparison(
        output_column_name="birth_year",
        comparison_levels=[
            cll.NullLevel("birth_year"),
            cll.ExactMatchLevel("birth_year"),
            cll.CustomLevel("abs(birth_year_l - birth_year_r) <= 1", label_for_charts="1 year apart"),
            cll.ElseLevel(),
        ],
    )
    death = CustomComparison(
        output_column_name="death_day",
        comparison_levels=[
            cll.NullLevel("death_day"),
            cll.ExactMatchLevel("death_day"),
            cll.CustomLevel("abs(death_day_l - death_day_r) <= 7", label_for_charts="within 7 days"),
            cll.ElseLevel(),
        ],
    )
    gap = "coalesce(diag_day_l - first_c34_day_r, diag_day_r - first_c34_day_l)"
    lo, hi = diagnosis_window
    diagnosis = CustomComparison(
        output_column_name="diagnosis",
        comparison_levels=[
            cll.CustomLevel(f"{gap} IS NULL", label_for_charts="no diagnosis or no C34 stay").configure(
                is_null_level=True
            ),
            cll.CustomLevel(
                f"{gap} BETWEEN {int(lo)} AND {int(hi)}", label_for_charts="first C34 stay near the ODH diagnosis"
            ),
            cll.ElseLevel(),
        ],
    )
    return SettingsCreator(
        link_type="link_only",
        unique_id_column_name="unique_id",
        probability_two_random_records_match=prior,
        comparisons=[
            stays,
            ExactMatch("sex"),
            birth_year,
            ExactMatch("birth_month"),
            ExactMatch("residence_dpt"),
            death,
            diagnosis,
        ],
        blocking_rules_to_generate_predictions=blocking_rules,
        retain_matching_columns=False,
        retain_intermediate_calculation_columns=True,
        additional_columns_to_retain=[],
    )


def _clamped(model: dict, m_floor: float, floor: float = 1e-10) -> dict:
    """The trained model with every m probability at least `m_floor` and every u at least `floor`.

    EM happily drives the m of a level never seen among its matches to ~1e-35 (even 1e-312, which
    Splink refuses to load): one disagreeing field would then veto any amount of agreeing evidence.
    A floor bounds the penalty of a disagreement (m_floor = 1e-3: at most ~10 bits).
    """
    out = copy.deepcopy(model)
    for comp in out.get("comparisons", []):
        for lev in comp.get("comparison_levels", []):
            for key, low in (("m_probability", m_floor), ("u_probability", floor)):
                v = lev.get(key)
                if isinstance(v, int | float) and v < low:
                    lev[key] = low
    return out


def _prediction_rules():
    from splink import block_on

    # a shared stay key within the window, plus demographic fields chosen so that a single error
    # in sex, birth year or birth month still leaves the true pair in one of the blocks; then, for
    # patients never seen in a stay at the centre, identical demographics, birth year and death day, or
    # the diagnosis week (ODH diagnosis near the first C34 stay) with two demographic fields
    return [
        block_on("stay_keys_w", "birth_year", arrays_to_explode=["stay_keys_w"]),
        block_on("stay_keys_w", "sex", "birth_month", arrays_to_explode=["stay_keys_w"]),
        block_on("sex", "birth_year", "birth_month", "residence_dpt"),
        block_on("birth_year", "death_day"),
        block_on("diag_weeks", "sex", "birth_year", arrays_to_explode=["diag_weeks"]),
        block_on("diag_weeks", "birth_month", "residence_dpt", arrays_to_explode=["diag_weeks"]),
    ]


EMPTY_PAIRS = {
    "odh_id": str,
    "snds_id": str,
    "match_probability": float,
    "match_weight": float,
    "stay_weight": float,
    "evidence": bool,
}


def train_and_predict(
    con: duckdb.DuckDBPyConnection,
    odh_table: str,
    snds_table: str,
    odh_predict_ids: np.ndarray,
    snds_predict_ids: np.ndarray,
    day_window: int,
    seed: int,
    u_max_pairs: float,
    em_max_odh: int,
    floor_match_weight: float = -10.0,
    m_floor: float = 1e-3,
) -> tuple[pd.DataFrame, dict]:
    """Train on all records of `odh_table` x `snds_table` (in `con`), score the pairs among the `*_predict_ids`.

    Returns (pairs: odh_id, snds_id, match_probability, match_weight, stay_weight (the stay comparison's
    match weight), evidence (a shared centre stay, diagnosis stay or death agrees); only pairs with
    match weight >= `floor_match_weight`; model info).
    """
    from splink import Linker, block_on
    from splink.backends.duckdb import DuckDBAPI

    logging.getLogger("splink").setLevel(logging.ERROR)
    empty = pd.DataFrame({k: pd.Series(dtype=v) for k, v in EMPTY_PAIRS.items()})
    n_odh = con.execute(f"SELECT count(*) FROM {odh_table}").fetchall()[0][0]
    n_snds = con.execute(f"SELECT count(*) FROM {snds_table}").fetchall()[0][0]
    if min(n_odh, n_snds, len(odh_predict_ids), len(snds_predict_ids)) == 0:
        return empty, {"trained": False}
    t0 = time.perf_counter()
    # EM sample of ODH patients (deterministic given the seed)
    _run(con, f"SELECT setseed({(seed % 1000) / 1000.0})")
    _run(
        con,
        f"CREATE OR REPLACE TABLE odh_train AS SELECT * FROM {odh_table} ORDER BY hash(unique_id || '{seed}') LIMIT {int(em_max_odh)}",
    )
    db = DuckDBAPI(connection=con)
    settings = model_settings(1.0 / max(n_snds, 2), day_window, _prediction_rules())
    linker = Linker(
        [db.register("odh_train", table_name="odh"), db.register(snds_table, table_name="snds")],
        settings,
        log_level=logging.ERROR,
    )
    linker.training.estimate_u_using_random_sampling(max_pairs=u_max_pairs, seed=seed)
    log.info("u estimated at %.1f s", time.perf_counter() - t0)
    # EM cannot block on exploded arrays: two demographic rules, each leaving the other fields free
    em_failures = []
    # EM cannot block on exploded arrays: three demographic rules, each leaving other fields free
    for rule in (
        block_on("birth_month", "residence_dpt"),
        block_on("sex", "birth_year", "residence_dpt"),
        block_on("sex", "birth_year", "birth_month"),
    ):
        try:
            linker.training.estimate_parameters_using_expectation_maximisation(
                rule, fix_probability_two_random_records_match=True
            )
        except ValueError as exc:  # Splink refuses m values underflowing on tiny or degenerate data
            log.warning("EM session %s failed (%s); keeping the other session's estimates", rule, exc)
            em_failures.append(str(exc))
    if len(em_failures) == 2:
        raise InputError(
            "linkage", "Splink EM failed on both training sessions (too few records?)", expected="a larger cohort"
        )
    log.info("EM done at %.1f s", time.perf_counter() - t0)
    model = linker.misc.save_model_to_json()

    con.register("odh_ids_in", pd.DataFrame({"unique_id": pd.Series(odh_predict_ids, dtype=object)}))
    con.register("snds_ids_in", pd.DataFrame({"unique_id": pd.Series(snds_predict_ids, dtype=object)}))
    _run(con, f"CREATE OR REPLACE TABLE odh_pred AS SELECT * FROM {odh_table} SEMI JOIN odh_ids_in USING (unique_id)")
    _run(
        con, f"CREATE OR REPLACE TABLE snds_pred AS SELECT * FROM {snds_table} SEMI JOIN snds_ids_in USING (unique_id)"
    )
    n_snds_p = con.execute("SELECT count(*) FROM snds_pred").fetchall()[0][0]
    model_p = _clamped(model, m_floor)
    # prior: each ODH patient left has at most one counterpart among the SNDS persons left
    model_p["probability_two_random_records_match"] = 1.0 / max(n_snds_p, 2)
    db2 = DuckDBAPI(connection=con)
    linker2 = Linker(
        [db2.register("odh_pred", table_name="odh_p"), db2.register("snds_pred", table_name="snds_p")],
        model_p,
        log_level=logging.ERROR,
    )
    pred = linker2.inference.predict(threshold_match_weight=floor_match_weight).as_pandas_dataframe()
    log.info("predicted %d pairs at %.1f s", len(pred), time.perf_counter() - t0)
    if pred.empty:
        return empty, {"trained": True, "model": model, "em_failures": em_failures}
    left_is_odh = pred["source_dataset_l"] == "odh_p"
    pairs = pd.DataFrame(
        {
            "odh_id": np.where(left_is_odh, pred["unique_id_l"], pred["unique_id_r"]),
            "snds_id": np.where(left_is_odh, pred["unique_id_r"], pred["unique_id_l"]),
            "match_probability": pred["match_probability"].astype(float),
            "match_weight": pred["match_weight"].astype(float),
            "stay_weight": pred["mw_stay_overlap"].astype(float),
            # an event shared by both records: a centre stay, the diagnosis stay, or the death
            "evidence": (pred["mw_stay_overlap"] > 0) | (pred["mw_diagnosis"] > 0) | (pred["mw_death_day"] > 0),
        }
    )
    for col in pred.columns:
        if col.startswith("mw_"):
            pairs[col] = pred[col].astype(float).to_numpy()
    pairs = pairs.drop_duplicates(["odh_id", "snds_id"]).sort_values(["odh_id", "snds_id"], ignore_index=True)
    return pairs, {"trained": True, "model": model, "pairs_scored": int(len(pairs)), "em_failures": em_failures}
