"""Probabilistic ODH <-> SNDS linkage with Splink (DuckDB backend), m/u estimated by EM.

Each record carries its demographics and the set of its stay keys "FINESS:day" at the ODH centres:
ODH records hold their exact centre-stay days; SNDS records hold their PMSI stay days at those FINESS
expanded by +/- 1 day (`stay_keys_1`) and +/- `day_window` days (`stay_keys_w`), so the size of the
intersection of two records' key sets is the number of ODH stay days matched by a PMSI stay. Pairs are
blocked on a shared stay key (plus one demographic field, to keep blocks tight), so only pairs with
stay evidence are ever scored: demographic twins without a shared stay are never candidates.
The model is trained on all records (u by random sampling, m by EM over two demographic blocking
rules, each leaving different comparisons free) and then scores the records the deterministic step left.
"""

from __future__ import annotations

import logging

import duckdb
import numpy as np
import pandas as pd

log = logging.getLogger(__name__)

RECORD_COLUMNS = ["unique_id", "sex", "birth_year", "birth_month", "residence_dpt", "death_day", "stay_keys_1", "stay_keys_w"]


def stay_key_records(persons: pd.DataFrame, stays: pd.DataFrame, centres: list[str], expand: tuple[int, int], con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Splink input records: persons with their stay-key lists at `centres` (expanded by `expand` days)."""
    con.register("p", persons)
    con.register("st", stays)
    con.register("c", pd.DataFrame({"hospital": pd.Series(centres, dtype="object")}))
    e1, ew = expand
    sql = f"""
    WITH s AS (SELECT st.person_id, st.hospital, st.day FROM st JOIN c USING (hospital)),
    k1 AS (SELECT person_id, list(DISTINCT hospital || ':' || CAST(day + d AS VARCHAR) ORDER BY hospital || ':' || CAST(day + d AS VARCHAR)) AS stay_keys_1
           FROM s CROSS JOIN (SELECT unnest(range(-{e1}, {e1 + 1})) AS d) GROUP BY person_id),
    kw AS (SELECT person_id, list(DISTINCT hospital || ':' || CAST(day + d AS VARCHAR) ORDER BY hospital || ':' || CAST(day + d AS VARCHAR)) AS stay_keys_w
           FROM s CROSS JOIN (SELECT unnest(range(-{ew}, {ew + 1})) AS d) GROUP BY person_id)
    SELECT p.person_id AS unique_id, p.sex, CAST(p.birth_year AS INTEGER) AS birth_year,
           CAST(p.birth_month AS INTEGER) AS birth_month, p.residence_dpt,
           CAST(p.death_day AS INTEGER) AS death_day,
           coalesce(k1.stay_keys_1, []::VARCHAR[]) AS stay_keys_1, coalesce(kw.stay_keys_w, []::VARCHAR[]) AS stay_keys_w
    FROM p LEFT JOIN k1 ON k1.person_id = p.person_id LEFT JOIN kw ON kw.person_id = p.person_id
    ORDER BY p.person_id
    """
    out = con.execute(sql).df()
    for name in ("p", "st", "c"):
        con.unregister(name)
    return out


def _stay_level(n: int, col: str = "stay_keys_1"):
    from splink.comparison_level_library import CustomLevel

    return CustomLevel(f"len(list_intersect({col}_l, {col}_r)) >= {n}", label_for_charts=f"{n}+ stay days matched ({col})")


def model_settings(prior: float, day_window: int, blocking_rules: list) -> dict:
    """Splink settings: comparisons on stays, birth year/month, sex, departement and death date."""
    import splink.comparison_level_library as cll
    from splink import SettingsCreator
    from splink.comparison_library import CustomComparison, ExactMatch

    stays = CustomComparison(
        output_column_name="stay_overlap",
        comparison_levels=[
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
    return SettingsCreator(
        link_type="link_only",
        unique_id_column_name="unique_id",
        probability_two_random_records_match=prior,
        comparisons=[stays, ExactMatch("sex"), birth_year, ExactMatch("birth_month"), ExactMatch("residence_dpt"), death],
        blocking_rules_to_generate_predictions=blocking_rules,
        retain_matching_columns=False,
        retain_intermediate_calculation_columns=True,
        additional_columns_to_retain=[],
    )


def _prediction_rules():
    from splink import block_on

    # a shared stay key within the window, plus one demographic field so that a single error in
    # any other field is still blocked together
    return [
        block_on("stay_keys_w", "sex", arrays_to_explode=["stay_keys_w"]),
        block_on("stay_keys_w", "birth_year", arrays_to_explode=["stay_keys_w"]),
    ]


def train_and_predict(
    odh_records: pd.DataFrame,
    snds_records: pd.DataFrame,
    odh_predict_ids: np.ndarray,
    snds_predict_ids: np.ndarray,
    day_window: int,
    seed: int,
    u_max_pairs: float,
    em_max_odh: int,
) -> tuple[pd.DataFrame, dict]:
    """Train on all records, score the pairs among the `*_predict_ids` records.

    Returns (pairs: odh_id, snds_id, match_probability, match_weight, stay_weight (the stay comparison's match weight); model info).
    """
    import splink.internals.logging_messages  # noqa: F401  (keeps splink's logger names importable)
    from splink import Linker, block_on
    from splink.backends.duckdb import DuckDBAPI

    logging.getLogger("splink").setLevel(logging.ERROR)
    empty = pd.DataFrame({"odh_id": pd.Series(dtype=str), "snds_id": pd.Series(dtype=str), "match_probability": pd.Series(dtype=float), "match_weight": pd.Series(dtype=float), "stay_weight": pd.Series(dtype=float)})
    if len(odh_records) == 0 or len(snds_records) == 0 or len(odh_predict_ids) == 0 or len(snds_predict_ids) == 0:
        return empty, {"trained": False}
    rng = np.random.default_rng(seed)
    train_odh = odh_records
    if len(train_odh) > em_max_odh:
        train_odh = odh_records.iloc[np.sort(rng.choice(len(odh_records), em_max_odh, replace=False))].reset_index(drop=True)
    prior = 1.0 / max(len(snds_records), 2)
    db = DuckDBAPI()
    settings = model_settings(prior, day_window, _prediction_rules())
    linker = Linker([db.register(train_odh, table_name="odh"), db.register(snds_records, table_name="snds")], settings, log_level=logging.ERROR)
    linker.training.estimate_u_using_random_sampling(max_pairs=u_max_pairs, seed=seed)
    # EM cannot block on exploded arrays: two demographic rules, each leaving the other fields free
    for rule in (block_on("birth_month", "residence_dpt"), block_on("sex", "birth_year", "birth_month")):
        linker.training.estimate_parameters_using_expectation_maximisation(rule, fix_probability_two_random_records_match=True)
    model = linker.misc.save_model_to_json()

    odh_p = odh_records[odh_records["unique_id"].isin(odh_predict_ids)].reset_index(drop=True)
    snds_p = snds_records[snds_records["unique_id"].isin(snds_predict_ids)].reset_index(drop=True)
    if len(odh_p) == 0 or len(snds_p) == 0:
        return empty, {"trained": True, "model": model}
    model_p = dict(model)
    model_p["probability_two_random_records_match"] = 1.0 / max(len(snds_p), 2)
    db2 = DuckDBAPI()
    linker2 = Linker([db2.register(odh_p, table_name="odh"), db2.register(snds_p, table_name="snds")], model_p, log_level=logging.ERROR)
    pred = linker2.inference.predict().as_pandas_dataframe()
    if pred.empty:
        return empty, {"trained": True, "model": model}
    log.debug("predict columns: %s", list(pred.columns))
    left_is_odh = pred["source_dataset_l"] == "odh"
    pairs = pd.DataFrame(
        {
            "odh_id": np.where(left_is_odh, pred["unique_id_l"], pred["unique_id_r"]),
            "snds_id": np.where(left_is_odh, pred["unique_id_r"], pred["unique_id_l"]),
            "match_probability": pred["match_probability"].astype(float),
            "match_weight": pred["match_weight"].astype(float),
            "stay_weight": pred["mw_stay_overlap"].astype(float),
        }
    )
    pairs = pairs.drop_duplicates(["odh_id", "snds_id"]).sort_values(["odh_id", "snds_id"], ignore_index=True)
    return pairs, {"trained": True, "model": model, "pairs_scored": int(len(pairs))}
