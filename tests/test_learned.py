"""Tests of lotluca.learned: candidates, labels, features, lines from boundaries, the estimator (honest
training, determinism, one model file: fit/save/load/predict round trip, shard = whole-cohort rows), the
step functions learned_fit, learned_card and lines with the learned algorithm."""

from __future__ import annotations

import time
from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest

from lotluca.config import default_config
from lotluca.errors import InputError
from lotluca.learned import LearnedLines, LearnedSettings
from lotluca.learned.build_lines import UNNAMED, build_lines, decide
from lotluca.learned.candidates import LINE, MAINT, build_days, label_days
from lotluca.learned.estimator import split_persons
from lotluca.learned.features import build_features, feature_names
from lotluca.learned.model import person_folds
from lotluca.learned.model_card import render
from lotluca.lines import load_params

D0 = date(2020, 1, 1)


def d(k: int) -> date:
    return D0 + timedelta(days=k)


def _exp(rows):
    """rows: (person, day offset, ingredient[, end offset])"""
    cls = {"carboplatin": "platinum", "cisplatin": "platinum", "pemetrexed": "antimetabolite",
           "pembrolizumab": "pd1_pdl1", "docetaxel": "taxane", "osimertinib": "egfr_tki", "omeprazole": "other"}  # fmt: skip
    out = []
    for r in rows:
        p, k, ing = r[:3]
        e = r[3] if len(r) > 3 else k
        out.append(
            {
                "person_id": p,
                "date": d(k),
                "end_date": d(e),
                "ingredient": ing,
                "drug_class": cls[ing],
                "route": "oral" if ing == "osimertinib" else "iv",
            }
        )
    return pd.DataFrame(out)


def _persons(ids, death=None):
    death = death or {}
    return pd.DataFrame({
        "person_id": ids, "diagnosis_date": [d(-10)] * len(ids), "death_date": [death.get(i) for i in ids],
        "end_of_followup": [d(2000)] * len(ids),
    })  # fmt: skip


NO_SESSIONS = pd.DataFrame({"person_id": pd.Series([], dtype=str), "date": pd.Series([], dtype="datetime64[ns]")})


# ------------------------------------------------------------------------------------------------
# candidates and labels
# ------------------------------------------------------------------------------------------------
def test_days_merge_jitter_filter_non_antineoplastic_and_sessions():
    exp = _exp([("A", 0, "carboplatin"), ("A", 1, "pemetrexed"), ("A", 0, "omeprazole"), ("A", 21, "pemetrexed"),
                ("A", -100, "docetaxel")])  # fmt: skip
    ses = pd.DataFrame({"person_id": ["A", "A"], "date": [d(21), d(42)]})
    days = build_days(exp, _persons(["A"]), ses, lookback_days=30, same_day_tolerance=2)
    t = days.table
    # day 0 and day 1 are one day (jitter), day -100 is before diagnosis - 30, omeprazole is no antineoplastic
    assert t["date"].tolist() == [(d(k) - date(1970, 1, 1)).days for k in (0, 21, 42)]
    assert days.vocab == ["carboplatin", "pemetrexed"]
    assert t["mask"].tolist() == [3, 2, 0]
    assert t["session"].tolist() == [False, True, True]
    assert t["drug_day"].tolist() == [True, True, False]
    assert days.exposure_day.tolist() == [0, 0, -1, 1, -1]


def test_labels_nearest_day_within_tolerance():
    exp = _exp([("A", k, "carboplatin") for k in (0, 21, 42)] + [("A", 100, "docetaxel"), ("A", 121, "docetaxel")])
    days = build_days(exp, _persons(["A"]), None)
    gold = pd.DataFrame({
        "person_id": ["A", "A", "A", "A"], "start_date": [d(2), d(95), d(300), d(40)],
        "is_maintenance": [False, False, False, True],
    })  # fmt: skip
    y, counts = label_days(days, gold, tolerance_days=30)
    assert y.tolist() == [LINE, 0, MAINT, LINE, 0]
    assert counts["placed"] == 3 and counts["unreachable_no_day_within_tolerance"] == 1


# ------------------------------------------------------------------------------------------------
# features
# ------------------------------------------------------------------------------------------------
def test_features_hand_computed():
    exp = _exp([("A", 0, "cisplatin"), ("A", 0, "pemetrexed"), ("A", 21, "carboplatin"), ("A", 21, "pemetrexed"),
                ("A", 42, "pemetrexed"), ("A", 250, "docetaxel"), ("B", 0, "osimertinib", 29)])  # fmt: skip
    per = _persons(["A", "B"], death={"A": d(300)})
    params = load_params("lotluca")
    days = build_days(exp, per, None, params.diagnosis_lookback_days, params.same_day_tolerance_days)
    X = build_features(days, exp, per, None, params, recent_days=default_config()["learned"]["recent_days"])
    assert list(X.columns) == feature_names()
    a = X.iloc[:4]
    assert a["first_day"].tolist() == [1, 0, 0, 0]
    assert a["days_since_prev_day"].tolist()[1:] == [21, 21, 208]
    assert a["n_new_recent"].tolist() == [2, 1, 0, 1]
    assert a["n_substitutions"].tolist() == [0, 1, 0, 0]  # carboplatin replaces cisplatin
    assert a["n_dropped_prev_day"].tolist()[1:] == [1, 1, 1]
    assert a["days_to_death"].tolist() == [300, 279, 258, 50]
    assert a["new_taxane"].tolist() == [0, 0, 0, 1]
    # the rule engine: line 1 on day 0, a new line on day 250 (docetaxel); cisplatin -> carboplatin is no new line
    assert a["rule_new_line"].tolist() == [1, 0, 0, 1]
    assert a["rule_line_number"].tolist() == [1, 1, 1, 2]
    assert X.iloc[4]["days_after_supply_end"] != X.iloc[4]["days_after_supply_end"]  # NaN: B's first day


# ------------------------------------------------------------------------------------------------
# lines from boundaries
# ------------------------------------------------------------------------------------------------
def test_decide_first_day_and_repeated_maintenance():
    proba = np.array([[1, 0, 0], [0.2, 0.1, 0.7], [0.2, 0.1, 0.7], [0.1, 0.8, 0.1], [0.6, 0.1, 0.3], [0.9, 0, 0.1]])
    first = np.array([True, False, False, False, False, True])
    assert decide(proba, 0.5, first).tolist() == [LINE, MAINT, 0, LINE, 0, LINE]


def test_build_lines_hand_computed():
    exp = _exp([("A", 0, "carboplatin"), ("A", 0, "pemetrexed"), ("A", 21, "carboplatin"), ("A", 21, "pemetrexed"),
                ("A", 42, "pemetrexed"), ("A", 63, "pemetrexed"), ("A", 200, "docetaxel")])  # fmt: skip
    ses = pd.DataFrame({"person_id": ["B"], "date": [d(10)]})
    per = _persons(["A", "B"], death={"A": d(230)})
    days = build_days(exp, per, ses)
    lines = build_lines(
        days, np.array([LINE, 0, MAINT, 0, LINE, LINE], np.int8), regimen_window_days=28, algorithm="xgboost"
    ).to_pandas()
    assert lines["person_id"].tolist() == ["A", "A", "A", "B"]
    assert lines["line_number"].tolist() == [1, 1, 2, 1]
    assert lines["is_maintenance"].tolist() == [False, True, False, False]
    assert lines["regimen"].tolist() == ["carboplatin+pemetrexed", "pemetrexed", "docetaxel", UNNAMED]
    assert lines["start_date"].tolist() == [d(0), d(42), d(200), d(10)]
    assert lines["end_date"].tolist() == [d(21), d(63), d(200), d(10)]
    assert lines["end_reason"].tolist() == ["maintenance", "gap", "death", "discontinued"]
    assert set(lines["algorithm"]) == {"xgboost"}


# ------------------------------------------------------------------------------------------------
# training: honesty, determinism, speed
# ------------------------------------------------------------------------------------------------
def _cohort(n: int = 60, seed: int = 0):
    """Synthetic cohort: carboplatin-pemetrexed x4 (+ pemetrexed maintenance for half), then docetaxel at
    progression for two thirds; one cycle in six delayed a week. Gold = the truth; half train, half test."""
    rng = np.random.default_rng(seed)
    exp, gold = [], []
    for i in range(n):
        p = f"P{i:03d}"
        split = "train" if i % 2 == 0 else "test"
        k = int(rng.integers(0, 30))
        gold.append((p, 1, d(k), False, "carboplatin+pemetrexed", split))
        for _ in range(4):
            exp += [(p, k, "carboplatin"), (p, k, "pemetrexed")]
            k += 21 + 7 * int(rng.random() < 1 / 6)
        if i % 2 == 1 or rng.random() < 0.5:
            gold.append((p, 1, d(k), True, "pemetrexed", split))
            for _ in range(int(rng.integers(2, 8))):
                exp.append((p, k, "pemetrexed"))
                k += 21
        if rng.random() < 2 / 3:
            k += int(rng.integers(20, 90))
            gold.append((p, 2, d(k), False, "docetaxel", split))
            for _ in range(int(rng.integers(1, 5))):
                exp.append((p, k, "docetaxel"))
                k += 21
    g = pd.DataFrame(gold, columns=["person_id", "line_number", "start_date", "is_maintenance", "regimen", "split"])
    g["end_date"] = g["start_date"]
    g["regimen_class"], g["end_reason"], g["algorithm"] = "x", "progression", "gold"
    ids = sorted({r[0] for r in exp})
    return _exp(exp), _persons(ids), g


def _config(**learned):
    """The schema's defaults with a small, fast learned block."""
    small = {
        "folds": 3,
        "grid": {"max_depth": [2, 3], "learning_rate": [0.3], "n_estimators": [20]},
        "thresholds": [0.3, 0.5],
        "seed": 7,
    }
    return default_config(learned={**small, **learned})


def _settings(**learned) -> LearnedSettings:
    cfg = _config(**learned)
    return LearnedSettings.from_blocks(cfg["learned"], cfg["lines"], cfg["evaluate"], cfg["seed"])


SMALL = _settings()


def test_split_persons_rejects_overlap():
    g = pd.DataFrame({"person_id": ["A", "A", "B"], "split": ["train", "test", "test"]})
    with pytest.raises(InputError, match="both train and test"):
        split_persons(g)
    assert split_persons(g.iloc[1:].assign(split=["train", "test"])) == ({"A"}, {"B"})


def test_person_folds_deterministic_partition():
    f1 = person_folds([f"P{i}" for i in range(20)] * 3, 4, seed=3)
    f2 = person_folds([f"P{i}" for i in reversed(range(20))], 4, seed=3)
    assert f1.equals(f2) and len(f1) == 20 and sorted(f1.value_counts().tolist()) == [5, 5, 5, 5]


def test_settings_from_blocks_seed_overrides_and_round_trip():
    cfg = default_config(lines={"overrides": {"lotluca": {"gap_days": 90}}})
    s = LearnedSettings.from_blocks(cfg["learned"], cfg["lines"], cfg["evaluate"], cfg["seed"])
    assert s.seed == cfg["seed"] and s.algorithm == cfg["learned"]["algorithm"]  # learned.seed null: master seed
    assert s.rule_overrides == {"gap_days": 90} and s.tolerance_days == cfg["evaluate"]["tolerance_days"]
    assert LearnedSettings.from_config(s.to_dict()) == s
    s2 = LearnedSettings.from_blocks({**cfg["learned"], "seed": 3}, cfg["lines"], cfg["evaluate"], cfg["seed"])
    assert s2.seed == 3


def test_estimator_is_honest_deterministic_and_fast(tmp_path):
    exp, per, gold = _cohort()
    t0 = time.perf_counter()
    model = LearnedLines(SMALL).fit(exp, NO_SESSIONS, per, gold)
    lines = model.predict(exp, NO_SESSIONS, per)
    assert time.perf_counter() - t0 < 60
    oof, summary = model.oof_, model.summary_
    train_ids, test_ids = split_persons(gold)
    # out-of-fold rows are train persons only; no test person was used
    assert set(oof["person_id"]) <= train_ids and not set(oof["person_id"]) & test_ids
    assert summary["data"]["train_persons_gold"] == len(train_ids)
    assert 0 < summary["cv"][summary["chosen"]["grid_index"]]["oof_line_f1"] <= 1
    assert set(lines.column("person_id").to_pylist()) == set(per["person_id"])  # every person gets lines
    assert set(lines.column("algorithm").to_pylist()) == {SMALL.algorithm}

    # determinism: byte-identical model file and lines
    model.save(tmp_path / "a.model.json")
    m2 = LearnedLines(SMALL).fit(exp, NO_SESSIONS, per, gold)
    m2.save(tmp_path / "b.model.json")
    assert (tmp_path / "a.model.json").read_bytes() == (tmp_path / "b.model.json").read_bytes()
    assert m2.predict(exp, NO_SESSIONS, per).equals(lines)

    # honesty: changing the test persons' gold changes neither the model nor the train persons' lines
    g3 = gold.copy()
    test_rows = g3["split"] == "test"
    g3.loc[test_rows, "start_date"] = g3.loc[test_rows, "start_date"].map(lambda x: x + timedelta(days=400))
    m3 = LearnedLines(SMALL).fit(exp, NO_SESSIONS, per, g3)
    assert m3.booster_.save_raw("json") == model.booster_.save_raw("json")
    assert m3.oof_.equals(oof)


def test_estimator_save_load_round_trip_and_shards(tmp_path):
    """One model file; the loaded estimator predicts the same lines; a subset of persons (a shard) gets
    exactly the rows the whole cohort gives them (train persons from the stored out-of-fold predictions)."""
    import pyarrow as pa

    from lotluca.sharding import shard_of

    exp, per, gold = _cohort(n=40)
    model = LearnedLines(SMALL).fit(pa.Table.from_pandas(exp), NO_SESSIONS, per, gold)  # Arrow or pandas
    whole = model.predict(exp, NO_SESSIONS, per)
    model.save(tmp_path / "m.model.json")
    assert [p.name for p in tmp_path.iterdir()] == ["m.model.json"]
    back = LearnedLines.load(tmp_path / "m.model.json")
    assert back.settings == model.settings and back.oof_.equals(model.oof_)
    assert back.predict(exp, NO_SESSIONS, per).equals(whole)
    shard = shard_of(per["person_id"], 3)
    parts = []
    for k in range(3):
        ids = set(per.loc[shard == k, "person_id"])
        got = back.predict(exp[exp["person_id"].isin(ids)], NO_SESSIONS, per[per["person_id"].isin(ids)])
        want = whole.filter(pa.array([p in ids for p in whole.column("person_id").to_pylist()]))
        assert got.equals(want), k
        parts.append(got)
    assert sum(p.num_rows for p in parts) == whole.num_rows
    with pytest.raises(RuntimeError, match="fit"):
        LearnedLines(SMALL).predict(exp, NO_SESSIONS, per)
    (tmp_path / "bad.json").write_text('{"estimator": "other"}')
    with pytest.raises(InputError, match="not a learned line model"):
        LearnedLines.load(tmp_path / "bad.json")


def test_model_card_renders_with_metrics():
    exp, per, gold = _cohort(n=30)
    summary = LearnedLines(SMALL).fit(exp, NO_SESSIONS, per, gold).summary_
    rows = []
    for algo, f1 in (("xgboost", 0.9), ("lotluca", 0.8), ("meng2021", 0.7)):
        for metric in ("line_f1", "regimen_exact", "sequence_exact"):
            rows.append(("linked", algo, metric, "all", f1, f1 - 0.02, f1 + 0.02, 10))
            # the headline stratum ranks meng2021 above lotluca: the card's best rule set follows it
            f1h = {"xgboost": 0.85, "lotluca": 0.6, "meng2021": 0.65}[algo]
            rows.append(("linked", algo, metric, "several_or_maintenance", f1h, f1h - 0.02, f1h + 0.02, 5))
    m = pd.DataFrame(rows, columns=["scenario", "algorithm", "metric", "stratum", "estimate", "ci_low", "ci_high", "n"])
    card = render(summary, m, "linked")
    assert "best rule set by line F1 (`meng2021`)" in card and "stratum `several_or_maintenance`" in card
    assert "| all | line_f1 | 0.900 (0.880-0.920) | 0.700 (0.680-0.720) | +0.200 * |" in card
    assert "## Known failure modes" in card


def _write_cohort(folder, n=30):
    import pyarrow as pa

    from lotluca.io import write_parquet

    exp, per, gold = _cohort(n=n)
    paths = {}
    for name, df in (("exposures", exp), ("persons", per), ("chemo_sessions", NO_SESSIONS), ("gold", gold)):
        paths[name] = str(folder / f"{name}.parquet")
        write_parquet(pa.Table.from_pandas(df, preserve_index=False), paths[name])
    return paths, per


def test_steps_fit_card_and_lines_with_the_learned_algorithm(tmp_path):
    """learned_fit writes one model file; learned_card renders it; rule `lines` predicts the learned
    algorithm from its model file next to a preset, and gives what the estimator gives."""
    import pyarrow.parquet as pq

    from lotluca.learned.steps import learned_card, learned_fit
    from lotluca.lines.steps import lines

    paths, per = _write_cohort(tmp_path)
    cfg = _config(algorithm="boosted")
    model = tmp_path / "learned" / "boosted.model.json"
    learned_fit(
        paths,
        {"model": str(model)},
        learned=cfg["learned"],
        lines=cfg["lines"],
        evaluate=cfg["evaluate"],
        seed=cfg["seed"],
        algorithm="boosted",
        threads=1,
    )
    assert [p.name for p in model.parent.iterdir()] == ["boosted.model.json"]
    est = LearnedLines.load(model)
    assert est.algorithm == "boosted" and est.settings.seed == 7

    rows = [
        ("linked", a, "line_f1", "all", f1, f1 - 0.02, f1 + 0.02, 10) for a, f1 in (("boosted", 0.9), ("lotluca", 0.8))
    ]
    metrics = pd.DataFrame(
        rows, columns=["scenario", "algorithm", "metric", "stratum", "estimate", "ci_low", "ci_high", "n"]
    )
    metrics.to_csv(tmp_path / "metrics.csv", index=False)
    card = tmp_path / "card.md"
    learned_card(
        {"model": str(model), "metrics": str(tmp_path / "metrics.csv")},
        {"card": str(card)},
        scenario="linked",
        algorithm="boosted",
    )
    assert "(`boosted`), scenario `linked`" in card.read_text() and "results/" not in card.read_text()

    outs = [str(tmp_path / "shard" / a / "0.parquet") for a in ("meng2021", "boosted")]
    inputs = {k: paths[k] for k in ("exposures", "chemo_sessions", "persons")}
    lines(
        {**inputs, "models": [str(model)]},
        {"lines": outs},
        lines=cfg["lines"],
        learned=cfg["learned"],
        algorithms=["meng2021", "boosted"],
    )
    got = pq.read_table(outs[1])
    assert set(got.column("algorithm").to_pylist()) == {"boosted"}
    assert got.equals(est.predict(*(pq.read_table(inputs[k]) for k in ("exposures", "chemo_sessions", "persons"))))
    assert set(pq.read_table(outs[0]).column("algorithm").to_pylist()) == {"meng2021"}


def test_cli_learn_writes_model_and_lines(tmp_path):
    from lotluca.cli import main
    from lotluca.evaluate.submission import read_table, validate_lines

    paths, per = _write_cohort(tmp_path / "merged")
    model = tmp_path / "learned" / "xgboost.model.json"
    rc = main(
        [
            "learn",
            "--merged-dir",
            str(tmp_path / "merged"),
            "--gold",
            paths["gold"],
            "--model",
            str(model),
            "--lines",
            str(tmp_path / "xgboost.parquet"),
            "--folds",
            "2",
            "--seed",
            "5",
        ]
    )
    assert rc == 0
    assert model.stat().st_size > 0 and LearnedLines.load(model).settings.folds == 2
    lines = validate_lines(read_table(tmp_path / "xgboost.parquet"), "xgboost.parquet")
    assert set(lines["person_id"]) == set(per["person_id"]) and set(lines["algorithm"]) == {"xgboost"}


@pytest.mark.workflow
def test_workflow_learned_and_lines_rules_small_cohort(tmp_path):
    """learned_fit, lines and lines_gather through Snakemake on a small synthetic merged cohort (upstream
    rules not allowed to run: the merged tables and gold file are given); paths from the layout."""
    import pyarrow as pa

    from conftest import copy_repo, run_snakemake
    from lotluca.evaluate.submission import read_table, validate_lines
    from lotluca.io import write_parquet
    from lotluca.layout import path

    copy_repo(tmp_path)
    exp, per, gold = _cohort(n=40)
    for name, df in (("exposures", exp), ("persons", per), ("chemo_sessions", NO_SESSIONS)):
        write_parquet(
            pa.Table.from_pandas(df, preserve_index=False),
            tmp_path / path("merge.table", scenario="linked", table=name),
        )
    write_parquet(pa.Table.from_pandas(gold, preserve_index=False), tmp_path / path("simulate.gold"))
    algo = default_config()["learned"]["algorithm"]
    target = path("lines.lines", scenario="linked", algorithm=algo)
    proc = run_snakemake(
        [
            "--cores",
            "1",
            target,
            "--config",
            "scenarios=[linked]",
            "shards=1",
            "--allowed-rules",
            "learned_fit",
            "lines",
            "lines_gather",
        ],
        cwd=tmp_path,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert (tmp_path / path("learned.model", scenario="linked", algorithm=algo)).exists()
    lines = validate_lines(read_table(tmp_path / target), target)
    assert set(lines["person_id"]) == set(per["person_id"]) and set(lines["algorithm"]) == {algo}
