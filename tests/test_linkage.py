"""Link and merge stages: deterministic and Splink linkage, one-to-one resolution, quality, the link step,
merge scenarios and the merge steps."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lotluca.config import default_config
from lotluca.contracts import CHEMO_SESSIONS, EXPOSURES, LINKS, PERSONS, STAYS, conform
from lotluca.errors import InputError
from lotluca.io import write_parquet
from lotluca.link import steps as link_steps
from lotluca.link.deterministic import deterministic_links
from lotluca.link.inputs import normalise_dpt, prepare_persons, prepare_stays
from lotluca.link.pipeline import LinkSettings, link_records, resolve_links, run_linkage, score_candidates
from lotluca.link.quality import linkage_quality
from lotluca.link.resolve import one_to_one
from lotluca.link.synthetic import Noise, synthetic_linkage_inputs
from lotluca.merge import steps as merge_steps
from lotluca.merge.scenarios import MergeSettings, dedup_exposures, merge_scenario, run_merge
from lotluca.sharding import shard_of

D = dt.date
REPO = Path(__file__).resolve().parents[1]
CONFIG = default_config()
FAST = LinkSettings.from_config(
    {**CONFIG["link"], "u_max_pairs": 1e5, "em_max_odh_patients": 1000}, seed=CONFIG["seed"]
)
MERGE = MergeSettings.from_config(CONFIG["merge"])


def persons(rows):
    cols = ["person_id", "sex", "birth_year", "birth_month", "residence_dpt", "death_date", "centre", "end_of_followup"]
    return pd.DataFrame(rows, columns=cols)


def stays(rows):
    return pd.DataFrame(rows, columns=["person_id", "hospital", "admission_date"])


C = "010000001"  # the centre's FINESS


def _prep(op, os_, sp, ss):
    a, _ = prepare_persons(op, "odh", "ODH")
    b, _ = prepare_persons(sp, "snds", "SNDS")
    return a, prepare_stays(os_, "odh", "ODH"), b, prepare_stays(ss, "snds", "SNDS")


# --- inputs ---------------------------------------------------------------------------------------
def test_normalise_dpt():
    got = normalise_dpt(pd.Series(["075", "75", "2a", "971", "", None, "5"])).tolist()
    assert got == ["75", "75", "2A", "971", pd.NA, pd.NA, "05"]


def test_prepare_persons_collapses_duplicate_rows_and_names_bad_rows():
    sp = persons([["B1", "1", 1950, 3, "075", None, None, None], ["B1", "M", 1950, 3, None, D(2020, 1, 1), None, None]])
    out, n_dup = prepare_persons(sp, "snds.parquet", "SNDS")
    assert n_dup == 1 and len(out) == 1
    assert out.loc[0, "sex"] == "M" and out.loc[0, "residence_dpt"] == "75" and out.loc[0, "death_day"] == 18262
    with pytest.raises(InputError, match="snds.parquet.*person_id.*rows 1"):
        prepare_persons(
            persons([["B1", "M", 1950, 3, "75", None, None, None], [None, "M", 1950, 3, "75", None, None, None]]),
            "snds.parquet",
            "SNDS",
        )


def test_missing_stay_date_is_an_input_error():
    with pytest.raises(InputError, match="stays.parquet.*admission_date.*rows 0"):
        prepare_stays(stays([["A", C, None]]), "stays.parquet", "ODH")


# --- deterministic --------------------------------------------------------------------------------
def test_deterministic_needs_demographics_and_a_stay_within_one_day_and_uniqueness():
    op = persons(
        [
            ["A", "M", 1950, 3, "75", None, C, None],  # matches B1 (stay one day later)
            ["B", "F", 1960, 5, "75", None, C, None],  # twin decoys B2, B3 both match: not unique
            ["E", "F", 1970, 7, "75", None, C, None],  # B4 stay 2 days off: no link
            ["G", "M", 1940, 1, "75", None, C, None],  # B5 differs in birth month: no link
        ]
    )
    os_ = stays([["A", C, D(2020, 1, 10)], ["B", C, D(2020, 2, 1)], ["E", C, D(2020, 3, 1)], ["G", C, D(2020, 4, 1)]])
    sp = persons(
        [
            ["B1", "M", 1950, 3, "13", None, None, None],
            ["B2", "F", 1960, 5, "75", None, None, None],
            ["B3", "F", 1960, 5, "75", None, None, None],
            ["B4", "F", 1970, 7, "75", None, None, None],
            ["B5", "M", 1940, 2, "75", None, None, None],
        ]
    )
    ss = stays(
        [
            ["B1", C, D(2020, 1, 11)],
            ["B2", C, D(2020, 2, 1)],
            ["B3", C, D(2020, 1, 31)],
            ["B4", C, D(2020, 3, 3)],
            ["B5", C, D(2020, 4, 1)],
        ]
    )
    links, stats = deterministic_links(*_prep(op, os_, sp, ss))
    assert links[["odh_id", "snds_id"]].values.tolist() == [["A", "B1"]]
    assert stats["odh_with_several_candidates"] == 1


def test_stays_at_another_finess_do_not_count():
    op = persons([["A", "M", 1950, 3, "75", None, C, None]])
    sp = persons([["B1", "M", 1950, 3, "75", None, None, None]])
    links, _ = deterministic_links(
        *_prep(op, stays([["A", C, D(2020, 1, 10)]]), sp, stays([["B1", "990000001", D(2020, 1, 10)]]))
    )
    assert links.empty


# --- one-to-one -----------------------------------------------------------------------------------
def test_one_to_one_mutual_best_and_ambiguity():
    pairs = pd.DataFrame(
        {
            "odh_id": ["A", "A", "B", "C", "C"],
            "snds_id": ["X", "Y", "X", "Z", "W"],
            "match_weight": [20.0, 5.0, 10.0, 8.0, 7.5],  # A-X wins; B loses X; C ambiguous between Z and W
        }
    )
    acc, amb = one_to_one(pairs, margin=1.0)
    assert acc[["odh_id", "snds_id"]].values.tolist() == [["A", "X"]]
    assert amb["odh_id"].tolist() == ["C"]
    acc0, _ = one_to_one(pairs, margin=0.0)
    assert acc0[["odh_id", "snds_id"]].values.tolist() == [["A", "X"], ["C", "Z"]]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 6), st.integers(0, 6), st.floats(-5, 30)), max_size=30), st.floats(0, 3))
def test_one_to_one_is_one_to_one_subset(rows, margin):
    pairs = pd.DataFrame(rows, columns=["o", "s", "match_weight"]).drop_duplicates(["o", "s"])
    pairs = pd.DataFrame(
        {
            "odh_id": "o" + pairs["o"].astype(str),
            "snds_id": "s" + pairs["s"].astype(str),
            "match_weight": pairs["match_weight"],
        }
    )
    acc, amb = one_to_one(pairs, margin)
    assert acc["odh_id"].is_unique and acc["snds_id"].is_unique
    assert set(map(tuple, acc[["odh_id", "snds_id"]].values)) <= set(map(tuple, pairs[["odh_id", "snds_id"]].values))
    # every accepted pair beats every other pair of its two records that was still competing at its round
    if len(pairs):
        top = pairs["match_weight"].max()
        best = pairs[pairs["match_weight"] == top]
        if len(best) == 1 and (pairs["match_weight"] >= top - margin).sum() == 1:
            assert tuple(best[["odh_id", "snds_id"]].values[0]) in set(map(tuple, acc[["odh_id", "snds_id"]].values))


# --- quality --------------------------------------------------------------------------------------
def test_quality_hand_computed():
    links = pd.DataFrame(
        {
            "odh_patient_id": ["A", "B", "C"],
            "snds_person_id": ["X", "Y", "Q"],
            "method": ["deterministic", "deterministic", "probabilistic"],
            "match_probability": [1, 1, 0.99],
        }
    )
    truth = pd.DataFrame({"odh_patient_id": ["A", "B", "C", "D"], "ben_idt_ano": ["X", "Y", "Z", "W"]})
    q = linkage_quality(links, pd.Series(["A", "B", "C", "D", "E"]), truth)
    assert q["link_rate"] == pytest.approx(3 / 5) and q["unlinked_odh_patients"] == 2
    assert q["overall"]["precision"] == pytest.approx(2 / 3) and q["overall"]["recall"] == pytest.approx(2 / 4)
    assert q["overall"]["f1"] == pytest.approx(2 * (2 / 3) * 0.5 / (2 / 3 + 0.5))
    assert q["by_method"]["deterministic"]["precision"] == 1.0 and q["by_method"]["probabilistic"]["precision"] == 0.0
    assert "overall" not in linkage_quality(links, pd.Series(["A"]), None)


# --- end to end on synthetic canonical inputs ------------------------------------------------------
@pytest.fixture(scope="module")
def cohort():
    return synthetic_linkage_inputs(2500, 7500, seed=7)


@pytest.fixture(scope="module")
def scored(cohort):
    d = cohort
    return score_candidates(d["odh_persons"], d["odh_stays"], d["snds_persons"], d["snds_stays"], FAST)


def _quality(links, cohort):
    return linkage_quality(links, cohort["odh_persons"]["person_id"], cohort["truth"])


def test_default_noise_precision_and_recall(scored, cohort):
    det, pairs, _ = scored
    links, _ = resolve_links(det, pairs, FAST.match_probability_threshold, FAST.ambiguity_margin)
    q = _quality(links, cohort)
    assert q["overall"]["precision"] >= 0.995, q["overall"]
    assert q["overall"]["recall"] >= 0.98, q["overall"]
    assert q["links_by_method"]["probabilistic"] > 0 and q["links_by_method"]["deterministic"] > 0
    assert links["odh_patient_id"].is_unique and links["snds_person_id"].is_unique


def test_threshold_moves_precision_and_recall_in_the_expected_direction():
    # a fifth of the ODH patients have no SNDS counterpart: a low threshold links some to decoys
    noisy = synthetic_linkage_inputs(
        1500, 4500, seed=11, noise=Noise(in_snds=0.8, birth_month_error=0.1, dpt_moved=0.3)
    )
    det, pairs, _ = score_candidates(
        noisy["odh_persons"], noisy["odh_stays"], noisy["snds_persons"], noisy["snds_stays"], FAST
    )
    qs = []
    for thr in (0.0, 0.5, 0.95, 0.999999):
        links, _ = resolve_links(det, pairs, thr, 0.0)
        qs.append(_quality(links, noisy)["by_method"]["probabilistic"])
    n_links = [q["links"] for q in qs]
    recalls = [q["recall"] for q in qs]
    precisions = [q["precision"] for q in qs]
    assert n_links == sorted(n_links, reverse=True) and n_links[0] > n_links[-1]
    assert recalls == sorted(recalls, reverse=True) and recalls[0] > recalls[-1]
    assert precisions == sorted(precisions) and precisions[0] < precisions[-1]


@pytest.fixture(scope="module")
def traps(cohort, scored):
    """One linkage run of the cohort with two traps: patient A's true SNDS person replaced by a decoy with
    identical demographics but no shared event; patient B's SNDS person seen through three BEN_NIR_PSA rows."""
    d = cohort
    truth = set(zip(d["truth"]["odh_patient_id"], d["truth"]["ben_idt_ano"], strict=True))
    true_det = [(o, b) for o, b in zip(scored[0]["odh_id"], scored[0]["snds_id"], strict=True) if (o, b) in truth]
    (pid_a, ben_a), (pid_b, ben_b) = true_det[0], true_det[1]
    me = d["odh_persons"].set_index("person_id").loc[pid_a]
    my_stays = d["odh_stays"][d["odh_stays"]["person_id"] == pid_a]
    far = my_stays["admission_date"].min() - pd.Timedelta(days=400)  # same centre, never near a stay of A
    decoy = persons(
        [
            [
                "DECOY1",
                me["sex"],
                me["birth_year"],
                me["birth_month"],
                me["residence_dpt"],
                None,
                None,
                me["end_of_followup"],
            ]
        ]
    )
    # stays at the centre far from any of A's stays, and one the same day as A's first at another FINESS
    decoy_stays = stays([["DECOY1", me["centre"], far], ["DECOY1", "990000001", my_stays["admission_date"].iloc[0]]])
    twin = d["snds_persons"][d["snds_persons"]["person_id"] == ben_b].copy()
    twin["residence_dpt"] = "2B"  # the other BEN_NIR_PSA rows disagree on the residence
    sp = d["snds_persons"][d["snds_persons"]["person_id"] != ben_a]
    sp = pd.concat([sp, decoy.astype(sp.dtypes.to_dict()), twin, twin], ignore_index=True)
    ss = pd.concat([d["snds_stays"][d["snds_stays"]["person_id"] != ben_a], decoy_stays], ignore_index=True)
    links, stats = link_records(d["odh_persons"], d["odh_stays"], sp, ss, FAST)
    return links, stats, pid_a, pid_b, ben_b


def test_decoys_with_identical_demographics_are_not_linked_without_stay_evidence(traps):
    links, _, pid_a, _, _ = traps
    assert pid_a not in set(links["odh_patient_id"])
    assert "DECOY1" not in set(links["snds_person_id"])


def test_a_person_with_two_ben_nir_psa_is_linked_once(traps):
    links, stats, _, pid_b, ben_b = traps
    assert (links["snds_person_id"] == ben_b).sum() == 1
    assert links.loc[links["snds_person_id"] == ben_b, "odh_patient_id"].tolist() == [pid_b]
    assert stats["snds_duplicate_person_rows_collapsed"] >= 2
    assert links["odh_patient_id"].is_unique and links["snds_person_id"].is_unique


def _write_link_inputs(tmp_path, d) -> dict:
    """The synthetic frames `d` as canonical Parquet files; returns odh/snds persons/stays -> file."""
    for src, p, s in (("odh", "odh_persons", "odh_stays"), ("snds", "snds_persons", "snds_stays")):
        write_parquet(
            conform(pa.Table.from_pandas(d[p], preserve_index=False), PERSONS, p, tuple(PERSONS.names)),
            tmp_path / src / "persons.parquet",
        )
        write_parquet(
            conform(pa.Table.from_pandas(d[s], preserve_index=False), STAYS, s, tuple(STAYS.names)),
            tmp_path / src / "stays.parquet",
        )
    write_parquet(pa.Table.from_pandas(d["truth"], preserve_index=False), tmp_path / "truth.parquet")
    return {f"{src}_{t}": tmp_path / src / f"{t}.parquet" for src in ("odh", "snds") for t in ("persons", "stays")}


def test_run_linkage_writes_contract_outputs(tmp_path):
    d = synthetic_linkage_inputs(300, 900, seed=3)
    files = _write_link_inputs(tmp_path, d)
    rep = run_linkage(
        files,
        str(tmp_path / "truth.parquet"),
        FAST,
        tmp_path / "out/links.parquet",
        tmp_path / "out/report.json",
        tmp_path / "out/q.csv",
    )
    assert pa.parquet.read_schema(tmp_path / "out/links.parquet").equals(LINKS)
    assert (
        json.loads((tmp_path / "out/report.json").read_text())["quality"]["overall"]["precision"]
        == rep["quality"]["overall"]["precision"]
    )
    q = pd.read_csv(tmp_path / "out/q.csv")
    assert q["scope"].tolist() == ["all", "deterministic", "probabilistic"]
    with pytest.raises(InputError, match="persons.parquet"):
        run_linkage(
            {**files, "odh_persons": tmp_path / "nowhere/persons.parquet"},
            "",
            FAST,
            tmp_path / "o3/l.parquet",
            tmp_path / "o3/r.json",
            tmp_path / "o3/q.csv",
        )


# --- merge ----------------------------------------------------------------------------------------
def _exp(rows):
    cols = ["person_id", "date", "end_date", "ingredient", "atc", "drug_class", "route", "source", "origin", "hospital"]
    df = pd.DataFrame(rows, columns=cols)
    return conform(
        pa.Table.from_pandas(df, preserve_index=False),
        EXPOSURES,
        "exposures",
        ("hospital", "protocol_label", "cycle_number"),
    )


def _tbl(df, schema):
    return conform(pa.Table.from_pandas(df, preserve_index=False), schema, "t", tuple(schema.names))


@pytest.fixture()
def merge_inputs():
    odh_p = _tbl(
        persons(
            [
                ["A", "M", 1950, 3, "75", None, C, D(2021, 6, 30)],
                ["B", "F", 1960, 5, "75", D(2021, 1, 1), C, D(2021, 1, 1)],
                ["U", "F", 1961, 5, "75", None, C, D(2022, 1, 1)],
            ]
        ),
        PERSONS,
    )
    snds_p = _tbl(
        persons(
            [
                ["X", "M", 1950, 3, "75", D(2023, 2, 1), None, D(2023, 2, 1)],
                ["Y", "F", 1960, 5, "75", D(2021, 1, 3), None, D(2021, 1, 3)],
                ["Z", "M", 1930, 1, "13", None, None, D(2025, 12, 31)],
            ]
        ),
        PERSONS,
    )
    odh_e = _exp(
        [
            [
                "A",
                D(2020, 1, 1),
                D(2020, 1, 1),
                "pembrolizumab",
                "L01FF02",
                "immunotherapy",
                "iv",
                "odh_admin",
                "odh_administrations:1",
                C,
            ],
            [
                "A",
                D(2020, 1, 1),
                D(2020, 1, 1),
                "carboplatin",
                "L01XA02",
                "platinum",
                "iv",
                "odh_admin",
                "odh_administrations:2",
                C,
            ],
            [
                "U",
                D(2020, 3, 1),
                D(2020, 3, 1),
                "docetaxel",
                "L01CD02",
                "taxane",
                "iv",
                "odh_admin",
                "odh_administrations:3",
                C,
            ],
        ]
    )
    snds_e = _exp(
        [
            [
                "X",
                D(2020, 1, 1),
                D(2020, 1, 1),
                "pembrolizumab",
                "L01FF02",
                "immunotherapy",
                "iv",
                "snds_en_sus",
                "T_MCOaaMED:9",
                C,
            ],
            [
                "X",
                D(2020, 2, 1),
                D(2020, 3, 1),
                "osimertinib",
                "L01EB04",
                "egfr_tki",
                "oral",
                "snds_pharmacy",
                "ER_PHA_F:5",
                None,
            ],
            [
                "Z",
                D(2020, 2, 1),
                D(2020, 3, 1),
                "osimertinib",
                "L01EB04",
                "egfr_tki",
                "oral",
                "snds_pharmacy",
                "ER_PHA_F:6",
                None,
            ],
        ]
    )
    sess = _tbl(
        pd.DataFrame(
            {
                "person_id": ["X", "X", "Z"],
                "date": [D(2020, 1, 1), D(2020, 1, 22), D(2020, 1, 1)],
                "hospital": [C, "990000001", C],
                "origin": ["T_MCOaaC:1", "T_MCOaaC:2", "T_MCOaaC:3"],
            }
        ),
        CHEMO_SESSIONS,
    )
    links = _tbl(
        pd.DataFrame(
            {
                "odh_patient_id": ["A", "B"],
                "snds_person_id": ["X", "Y"],
                "method": ["deterministic", "probabilistic"],
                "match_probability": [1.0, 0.99],
            }
        ),
        LINKS,
    )
    return odh_p, odh_e, snds_p, snds_e, sess, links


def test_merge_linked_dedups_keeping_both_origins(merge_inputs):
    out, stats = merge_scenario("linked", *merge_inputs, MERGE)
    e = out["exposures"].to_pandas()
    pem = e[e["ingredient"] == "pembrolizumab"]
    assert (
        len(pem) == 1
        and pem["origin"].iloc[0] == "odh_administrations:1|T_MCOaaMED:9"
        and pem["source"].iloc[0] == "odh_admin"
    )
    assert sorted(e["person_id"]) == ["A", "A", "A", "U"]  # Z is not linked: none of its rows
    assert stats["exposure_rows_merged_across_sources"] == 1 and stats["unlinked_odh_patients"] == 1
    s = out["chemo_sessions"].to_pandas()
    assert s["origin"].tolist() == ["T_MCOaaC:2"]  # the session on an ODH administration day is the same event
    p = out["persons"].to_pandas().set_index("person_id")
    assert p.loc["A", "death_date"] == D(2023, 2, 1) and p.loc["A", "end_of_followup"] == D(
        2023, 2, 1
    )  # filled from SNDS
    assert p.loc["B", "death_date"] == D(2021, 1, 1) and p.loc["B", "end_of_followup"] == D(2021, 1, 1)  # ODH kept
    assert out["persons"].schema.equals(PERSONS) and out["exposures"].schema.equals(EXPOSURES)


def test_merge_odh_only_and_snds_only(merge_inputs):
    out, _ = merge_scenario("odh_only", *merge_inputs, MERGE)
    assert out["exposures"].num_rows == 3 and out["chemo_sessions"].num_rows == 0
    assert out["persons"].column("person_id").to_pylist() == ["A", "B", "U"]
    out, stats = merge_scenario("snds_only", *merge_inputs, MERGE)
    e = out["exposures"].to_pandas()
    assert e["person_id"].tolist() == ["A", "A"] and set(e["source"]) == {"snds_en_sus", "snds_pharmacy"}
    assert out["chemo_sessions"].num_rows == 2 and stats["snds_exposure_rows_of_unlinked_persons"] == 1
    p = out["persons"].to_pandas().set_index("person_id")
    assert p.loc["B", "death_date"] == D(2021, 1, 3)  # SNDS death wins in snds_only
    assert pd.isna(p.loc["U", "death_date"]) and len(p) == 3
    with pytest.raises(InputError, match="scenario"):
        merge_scenario("both", *merge_inputs, MERGE)


def test_dedup_exposures_counts_each_cross_source_pair_once():
    cols = ["person_id", "date", "end_date", "ingredient", "source", "origin"]
    t = pd.Timestamp
    odh = pd.DataFrame([["A", t("2020-01-01"), t("2020-01-01"), "x", "odh_admin", "o1"]], columns=cols)
    snds = pd.DataFrame(
        [
            ["A", t("2020-01-01"), t("2020-01-10"), "x", "snds_pharmacy", "s2"],
            ["A", t("2020-01-01"), t("2020-01-05"), "x", "snds_pharmacy", "s1"],
            ["A", t("2020-01-02"), t("2020-01-02"), "x", "snds_pharmacy", "s3"],
        ],
        columns=cols,
    )
    out, n = dedup_exposures(odh, snds, 0)
    assert n == 2 and out["origin"].tolist() == ["o1|s1|s2", "s3"]
    assert out["end_date"].iloc[0] == t("2020-01-10")


def test_run_merge_writes_files(tmp_path, merge_inputs):
    odh_p, odh_e, snds_p, snds_e, sess, links = merge_inputs
    for src, tabs in (
        ("odh", {"persons": odh_p, "exposures": odh_e}),
        ("snds", {"persons": snds_p, "exposures": snds_e, "chemo_sessions": sess}),
    ):
        for name, tab in tabs.items():
            write_parquet(tab, tmp_path / src / f"{name}.parquet")
    write_parquet(links, tmp_path / "links.parquet")
    files = {f"odh_{t}": tmp_path / "odh" / f"{t}.parquet" for t in ("persons", "exposures")}
    files |= {f"snds_{t}": tmp_path / "snds" / f"{t}.parquet" for t in ("persons", "exposures", "chemo_sessions")}
    files["links"] = tmp_path / "links.parquet"
    out = {t: tmp_path / "m" / f"{t}.parquet" for t in ("persons", "exposures", "chemo_sessions")}
    stats = run_merge("linked", files, out, tmp_path / "m/report.json")
    assert stats["unlinked_odh_patients"] == 1
    assert pa.parquet.read_table(tmp_path / "m/exposures.parquet").num_rows == 4
    assert np.all([(tmp_path / "m" / f"{n}.parquet").exists() for n in ("persons", "exposures", "chemo_sessions")])


def test_dedup_tolerance_absorbs_a_day_of_jitter_but_not_more():
    cols = ["person_id", "date", "end_date", "ingredient", "source", "origin"]
    t = pd.Timestamp
    odh = pd.DataFrame([["A", t("2020-01-01"), t("2020-01-01"), "x", "odh_admin", "o1"]], columns=cols)
    snds = pd.DataFrame(
        [
            ["A", t("2020-01-02"), t("2020-01-02"), "x", "snds_en_sus", "s1"],
            ["A", t("2020-01-04"), t("2020-01-04"), "x", "snds_en_sus", "s2"],
            ["A", t("2020-01-02"), t("2020-01-02"), "y", "snds_en_sus", "s3"],
        ],
        columns=cols,
    )
    out0, n0 = dedup_exposures(odh, snds, 0)
    assert n0 == 0 and len(out0) == 4
    out1, n1 = dedup_exposures(odh, snds, 1)
    assert n1 == 1 and out1["origin"].tolist() == ["o1|s1", "s3", "s2"]


# --- step functions -------------------------------------------------------------------------------
def test_link_step_writes_exactly_the_given_paths(tmp_path):
    files = _write_link_inputs(tmp_path / "in", synthetic_linkage_inputs(200, 600, seed=5))
    block = {**CONFIG["link"], "u_max_pairs": 1e5, "em_max_odh_patients": 1000}
    outputs = {"links": tmp_path / "out/l.pq", "report": tmp_path / "out/r.json", "quality": tmp_path / "out/q.csv"}
    truth = [str(tmp_path / "in" / "truth.parquet")]
    link_steps.link({**files, "truth": truth}, outputs, link=block, seed=CONFIG["seed"], threads=1)
    assert {p for p in (tmp_path / "out").iterdir()} == set(outputs.values())
    report = json.loads(outputs["report"].read_text())
    assert report["params"]["seed"] == CONFIG["seed"] and report["params"]["threads"] == CONFIG["link"]["threads"]
    assert report["quality"]["overall"]["precision"] > 0.9
    again = {k: tmp_path / "lib" / v.name for k, v in outputs.items()}
    run_linkage(files, truth[0], FAST, again["links"], again["report"], again["quality"], threads=1)
    for name in outputs:  # the step is the library function: same bytes
        assert outputs[name].read_bytes() == again[name].read_bytes(), name


def _write_merge_inputs(tmp_path, merge_inputs) -> dict:
    odh_p, odh_e, snds_p, snds_e, sess, links = merge_inputs
    tables = {
        "odh_persons": odh_p,
        "odh_exposures": odh_e,
        "snds_persons": snds_p,
        "snds_exposures": snds_e,
        "snds_chemo_sessions": sess,
        "links": links,
    }
    for name, table in tables.items():
        write_parquet(table, tmp_path / f"{name}.parquet")
    return {name: str(tmp_path / f"{name}.parquet") for name in tables}


def test_merge_step_writes_exactly_the_given_paths(tmp_path, merge_inputs):
    inputs = _write_merge_inputs(tmp_path / "in", merge_inputs)
    names = ("persons", "exposures", "chemo_sessions")
    outputs = {t: str(tmp_path / "out" / f"linked_{t}.pq") for t in names} | {"report": str(tmp_path / "out/r.json")}
    merge_steps.merge(inputs, outputs, merge=CONFIG["merge"], scenario="linked")
    assert {str(p) for p in (tmp_path / "out").iterdir()} == set(outputs.values())
    assert json.loads((tmp_path / "out/r.json").read_text())["exposure_rows_merged_across_sources"] == 1
    tables, _ = merge_scenario("linked", *merge_inputs, MERGE)
    for t in names:
        assert pa.parquet.read_table(outputs[t]).equals(tables[t]), t


def test_merge_split_shards_each_table_by_person(tmp_path, merge_inputs):
    inputs = _write_merge_inputs(tmp_path / "in", merge_inputs)
    merged = {t: str(tmp_path / f"{t}.parquet") for t in ("persons", "exposures", "chemo_sessions")}
    merge_steps.merge(inputs, merged | {"report": str(tmp_path / "r.json")}, merge=CONFIG["merge"], scenario="linked")
    n = 3
    outputs = {t: [str(tmp_path / "shards" / t / f"{k}.parquet") for k in range(n)] for t in merged}
    merge_steps.merge_split(merged, outputs)
    for t, files in outputs.items():
        parts = [pa.parquet.read_table(f) for f in files]
        assert sum(p.num_rows for p in parts) == pa.parquet.read_table(merged[t]).num_rows
        for k, part in enumerate(parts):
            assert (shard_of(part.column("person_id"), n) == k).all(), (t, k)


# --- command line ---------------------------------------------------------------------------------
def _run_cli(module, argv):
    import argparse

    parser = argparse.ArgumentParser()
    module.register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return args.func(args)


def test_merge_cli_writes_the_scenario_folders(tmp_path, merge_inputs, capsys):
    from lotluca.merge import cli

    inputs = _write_merge_inputs(tmp_path / "in", merge_inputs)
    for src in ("odh", "snds"):
        (tmp_path / src).mkdir()
        for name, f in inputs.items():
            if name.startswith(src + "_"):
                Path(f).rename(tmp_path / src / f"{name[len(src) + 1 :]}.parquet")
    argv = ["merge", "--odh-dir", str(tmp_path / "odh"), "--snds-dir", str(tmp_path / "snds")]
    argv += ["--links", inputs["links"], "--config", str(REPO / "config.yaml"), "--out", str(tmp_path / "out")]
    assert _run_cli(cli, [*argv, "--scenario", "linked", "--scenario", "odh_only"]) == 0
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["linked", "odh_only"]
    for name in ("persons.parquet", "exposures.parquet", "chemo_sessions.parquet", "merge_report.json"):
        assert (tmp_path / "out" / "linked" / name).is_file()
    assert '"scenario": "linked"' in capsys.readouterr().out
