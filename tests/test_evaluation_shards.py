"""Evaluation per patient shard: scoring each shard's persons and gathering the per-person tables gives
exactly the one-shot evaluation (metrics, bootstrap CIs, per-patient rows) for any number of shards;
the step functions and the scoring kit agree; the workflow scatters `evaluate_shard` over the shards."""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

import lotluca.cli
from conftest import REPO, run_snakemake
from lotluca.config import default_config
from lotluca.errors import InputError
from lotluca.evaluate import EvaluateSettings, evaluate
from lotluca.evaluate.persons import (
    PERSON_SCORES,
    gather_persons,
    metrics_from_persons,
    restrict_to_shard,
    score_persons,
    score_shard_file,
)
from lotluca.evaluate.submission import validate_lines
from lotluca.sharding import shard_of

EVALUATE = default_config()["evaluate"]  # the schema's defaults of the `evaluate` block


def eval_settings(seed: int = 0, **block) -> EvaluateSettings:
    """EvaluateSettings of the default `evaluate` block updated by `block`, bootstrap seed `seed`."""
    return EvaluateSettings.from_config({**EVALUATE, **block}, seed=seed)


REGIMENS = [
    ("carboplatin+pemetrexed", "chemo_doublet"),
    ("pemetrexed", "single_agent_chemo"),
    ("docetaxel", "single_agent_chemo"),
    ("osimertinib", "egfr_tki"),
    ("pembrolizumab", "immunotherapy"),
]
CI = eval_settings(bootstrap=40, seed=7)


def synthetic(n_persons: int, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A gold standard (test/train split, lines and maintenance phases) and a perturbed prediction
    (shifted starts, dropped and extra lines, other regimens, persons without gold)."""
    rng = np.random.default_rng(seed)
    gold, pred = [], []
    for i in range(n_persons):
        pid = f"P{i:04d}-{rng.integers(1e6)}"
        day = pd.Timestamp("2018-01-01") + pd.Timedelta(days=int(rng.integers(0, 900)))
        split = "train" if rng.random() < 0.25 else "test"
        ln = 0
        for _ in range(int(rng.integers(0, 4))):
            ln += 1
            reg, cls = REGIMENS[rng.integers(len(REGIMENS))]
            gold.append((pid, ln, day, reg, cls, False, split))
            if rng.random() < 0.3:
                gold.append((pid, ln, day + pd.Timedelta(days=80), "pemetrexed", "single_agent_chemo", True, split))
            if rng.random() < 0.8:
                shift = int(rng.integers(-45, 46))
                preg, pcls = (reg, cls) if rng.random() < 0.8 else REGIMENS[rng.integers(len(REGIMENS))]
                pred.append((pid, ln, day + pd.Timedelta(days=shift), preg, pcls, False, None))
            day += pd.Timedelta(days=int(rng.integers(60, 400)))
        if rng.random() < 0.3:
            pred.append((pid, 9, day, "docetaxel", "single_agent_chemo", False, None))  # extra line
    for i in range(n_persons // 5):  # predicted persons absent from the gold standard
        pred.append((f"X{i:03d}", 1, pd.Timestamp("2019-06-01"), "docetaxel", None, False, None))
    cols = ["person_id", "line_number", "start_date", "regimen", "regimen_class", "is_maintenance", "split"]
    g, p = pd.DataFrame(gold, columns=cols), pd.DataFrame(pred, columns=cols).drop(columns="split")
    g["end_reason"], p["end_reason"] = None, rng.choice(["gap", "new_drug", "death"], len(p))
    p = p.drop_duplicates(["person_id", "line_number", "is_maintenance"])
    return g, p


def test_gold(g: pd.DataFrame) -> pd.DataFrame:
    return validate_lines(g[g["split"] == "test"], "gold")


test_gold.__test__ = False  # a helper, not a test


def sharded(pred: pd.DataFrame, gold: pd.DataFrame, n: int, s: EvaluateSettings):
    tables = [score_persons(restrict_to_shard(pred, k, n), restrict_to_shard(gold, k, n), s) for k in range(n)]
    return metrics_from_persons(gather_persons(tables), s)


@pytest.fixture(scope="module")
def example():
    g, p = synthetic(90, seed=3)
    return validate_lines(p, "pred"), test_gold(g)


@pytest.mark.parametrize("n", [1, 2, 3])
def test_sharded_scoring_equals_one_shot(example, n):
    pred, gold = example
    m0, pp0 = evaluate(pred, gold, CI)
    m, pp = sharded(pred, gold, n, CI)
    pd.testing.assert_frame_equal(m, m0, check_exact=True)
    pd.testing.assert_frame_equal(pp, pp0, check_exact=True)
    assert m["ci_low"].notna().any() and (m["ci_low"] < m["ci_high"]).any()  # CIs exist and are compared
    assert pp["person_id"].is_monotonic_increasing and len(pp) == gold["person_id"].nunique()


def test_every_shard_holds_gold_persons_and_strata_cover_the_cohort(example):
    pred, gold = example
    counts = np.bincount(shard_of(pa.array(gold["person_id"].unique()), 3), minlength=3)
    assert (counts > 0).all()  # the N = 3 case really splits the persons
    m, _ = sharded(pred, gold, 3, CI)
    assert {"all", "one_line", "several_or_maintenance"} <= set(m["stratum"])
    assert any(s.startswith("first_line_class=") for s in m["stratum"])


def test_row_order_of_the_per_person_table_does_not_matter(example):
    pred, gold = example
    table = score_persons(pred, gold, CI)
    shuffled = table.take(pa.array(np.random.default_rng(0).permutation(table.num_rows)))
    m0, pp0 = metrics_from_persons(table, CI)
    m1, pp1 = metrics_from_persons(shuffled, CI)
    pd.testing.assert_frame_equal(m1, m0, check_exact=True)
    pd.testing.assert_frame_equal(pp1, pp0, check_exact=True)


def test_per_person_table_schema_and_empty_shard(example):
    pred, gold = example
    table = score_persons(pred, gold, CI)
    assert table.schema.equals(PERSON_SCORES)
    matched = table.column("n_matched_lines").to_numpy()
    deltas = table.column("start_deltas_days")
    assert (pc.list_value_length(deltas).to_numpy() == matched).all()
    assert table.column("sum_delta").to_numpy().sum() == pc.sum(deltas.combine_chunks().flatten()).as_py()
    empty = score_persons(pred.iloc[0:0], gold.iloc[0:0], CI)  # a shard with no gold person
    assert empty.num_rows == 0 and empty.schema.equals(PERSON_SCORES)
    m0, _ = evaluate(pred, gold, CI)
    m, _ = metrics_from_persons(gather_persons([empty, table]), CI)
    pd.testing.assert_frame_equal(m, m0, check_exact=True)


def test_person_scored_in_two_shards_is_an_error(example):
    pred, gold = example
    table = score_persons(pred, gold, CI)
    with pytest.raises(InputError, match="person scored more than once"):
        gather_persons([table, table.slice(0, 1)])


def test_lines_shard_holding_another_shards_person_is_an_error(tmp_path, example):
    pred, gold = example
    gpath, lpath = tmp_path / "gold.parquet", tmp_path / "lines.parquet"
    gold.assign(split="test").to_parquet(gpath)
    pred.to_parquet(lpath)  # the whole prediction, not shard 0 of 3
    with pytest.raises(InputError, match="hashed to another shard than 0 of 3"):
        score_shard_file(lpath, gpath, tmp_path / "s.parquet", CI, 0, 3)
    keep = shard_of(pa.array(pred["person_id"].astype(str).tolist(), pa.string()), 3) == 0
    pred[keep].to_parquet(lpath)  # shard 0 of 3, as the lines step writes it
    t = score_shard_file(lpath, gpath, tmp_path / "s.parquet", CI, 0, 3)
    assert (shard_of(t.column("person_id"), 3) == 0).all() and t.num_rows > 0


@settings(max_examples=25, deadline=None)
@given(
    n_persons=st.integers(1, 25),
    seed=st.integers(0, 10_000),
    n=st.integers(1, 5),
    tol=st.sampled_from([0, 15, 30]),
)
def test_property_any_number_of_shards_gives_the_one_shot_evaluation(n_persons, seed, n, tol):
    g, p = synthetic(n_persons, seed)
    gold = test_gold(g)
    if gold.empty:
        return
    pred = validate_lines(p, "pred") if len(p) else validate_lines(g.iloc[0:0], "pred")
    s = eval_settings(tolerance_days=tol, bootstrap=15, seed=seed)
    m0, pp0 = evaluate(pred, gold, s)
    m, pp = sharded(pred, gold, n, s)
    pd.testing.assert_frame_equal(m, m0, check_exact=True)
    pd.testing.assert_frame_equal(pp, pp0, check_exact=True)


def run_steps(tmp_path, gold_path, preds: dict, n: int, evaluation: dict, seed: int):
    """The step functions as the workflow runs them: every prediction split into shards as the lines step
    writes them, `evaluate_shard` per shard (every pair at once), then `evaluate`; returns the output folder."""
    from lotluca.evaluate import steps
    from lotluca.sharding import split_files

    pairs = [list(k) for k in preds]
    shard_lines = {}
    for (scen, algo), path in preds.items():
        parts = [tmp_path / f"n{n}" / "lines" / scen / algo / f"{k}.parquet" for k in range(n)]
        split_files({"lines": path}, {"lines": parts})
        shard_lines[(scen, algo)] = parts
    persons = {
        key: [tmp_path / f"n{n}" / "evaluation" / key[0] / key[1] / f"{k}.parquet" for k in range(n)] for key in preds
    }
    for k in range(n):
        steps.evaluate_shard(
            {"gold": str(gold_path), "lines": [str(shard_lines[key][k]) for key in preds]},
            {"persons": [str(persons[key][k]) for key in preds]},
            evaluate=evaluation,
            seed=seed,
            pairs=pairs,
            shard=str(k),
            n_shards=n,
        )
    out = tmp_path / f"n{n}" / "results"
    names = ["metrics_csv", "metrics_parquet", "summary", "per_patient", "readme_table"]
    files = ["metrics.csv", "metrics.parquet", "summary.json", "per_patient.parquet", "README_table.md"]
    steps.evaluate(
        {"persons": [str(f) for key in preds for f in persons[key]]},  # pair-major, then shard order
        {a: str(out / f) for a, f in zip(names, files, strict=True)},
        evaluate=evaluation,
        seed=seed,
        pairs=pairs,
        n_shards=n,
        scenarios=sorted({s for s, _ in preds}, reverse=True),
        algorithms=sorted({a for _, a in preds}),
    )
    return out


@pytest.fixture(scope="module")
def step_runs(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("steps")
    g, p = synthetic(70, seed=11)
    gold_path = tmp / "gold.parquet"
    g.assign(algorithm="gold").to_parquet(gold_path)
    preds = {}
    for scen, algo, drop in [("odh_only", "lotluca", 0.0), ("odh_only", "xgboost", 0.2), ("linked", "lotluca", 0.1)]:
        rng = np.random.default_rng(len(preds))
        path = tmp / "lines" / scen / f"{algo}.parquet"
        path.parent.mkdir(parents=True, exist_ok=True)
        p[rng.random(len(p)) >= drop].assign(algorithm=algo).to_parquet(path)
        preds[(scen, algo)] = path
    evaluation = {**EVALUATE, "split": "test", "tolerance_days": 30, "bootstrap": 30, "ci_level": 0.9}
    return {n: run_steps(tmp, gold_path, preds, n, evaluation, seed=5) for n in (1, 3)}, gold_path, preds


def test_step_outputs_are_identical_for_1_and_3_shards(step_runs):
    runs, _, _ = step_runs
    for f in ("metrics.csv", "summary.json", "README_table.md"):
        assert (runs[1] / f).read_bytes() == (runs[3] / f).read_bytes(), f
    for f in ("metrics.parquet", "per_patient.parquet"):
        a, b = pq.read_table(runs[1] / f), pq.read_table(runs[3] / f)
        assert a.equals(b) and a.schema.equals(b.schema), f
    metrics = pd.read_csv(runs[3] / "metrics.csv")
    assert list(metrics[["scenario", "algorithm"]].drop_duplicates().itertuples(index=False, name=None)) == [
        ("odh_only", "lotluca"),
        ("odh_only", "xgboost"),
        ("linked", "lotluca"),
    ]
    assert metrics["ci_low"].notna().any()


def test_scoring_kit_gives_the_workflow_numbers(step_runs, tmp_path, monkeypatch):
    """`lotluca evaluate` on one prediction = the evaluate step's metrics and CIs (3 shards)."""
    monkeypatch.setattr(lotluca.cli, "STAGE_MODULES", ["lotluca.evaluate.cli"])  # other stages may be mid-work
    runs, gold_path, preds = step_runs
    out = tmp_path / "kit.json"
    argv = ["evaluate", "--pred", str(preds[("odh_only", "xgboost")]), "--gold", str(gold_path)]
    argv += ["--output", str(out), "--bootstrap", "30", "--ci-level", "0.9", "--seed", "5"]
    assert lotluca.cli.main([*argv, "--ignore-unknown-persons"]) == 0
    kit = json.loads(out.read_text())["metrics"]
    wf = pd.read_parquet(runs[3] / "metrics.parquet")  # full precision; the kit rounds to 6 decimals
    wf = wf[(wf["scenario"] == "odh_only") & (wf["algorithm"] == "xgboost")]
    assert len(wf) == sum(len(v) for v in kit.values())
    for r in wf.itertuples():
        k = kit[r.stratum][r.metric]
        for col in ("estimate", "ci_low", "ci_high"):
            v = getattr(r, col)
            assert (k[col] is None and np.isnan(v)) or k[col] == pytest.approx(v, rel=0, abs=5e-7), (r, col)
        assert k["n"] == r.n


def test_workflow_scatters_scoring_over_the_shards():
    res = run_snakemake(["-n", "--quiet", "rules", "--forceall", "--config", "shards=3"])
    assert res.returncode == 0, res.stderr
    cfg = yaml.safe_load((REPO / "config.yaml").read_text())
    n_algos = len(cfg["lines"]["algorithms"]) + bool(cfg["learned"]["enabled"])
    counts = dict(re.findall(r"^(\w+)\s+(\d+)$", res.stdout + res.stderr, flags=re.M))
    assert int(counts["evaluate_shard"]) == 3  # one job per shard scores every scenario x algorithm
    assert n_algos * len(cfg["scenarios"]) > 3
    assert int(counts["evaluate"]) == 1


def test_scenarios_may_score_different_persons_but_not_the_algorithms_of_one_scenario(example):
    """snds_only scores only the gold persons its SNDS-only cohort holds: fewer persons than odh_only is
    fine, two algorithms of one scenario scored on different persons is an error."""
    from lotluca.evaluate.persons import evaluate_persons_many

    pred, gold = example
    full = score_persons(pred, gold, CI)
    part = full.slice(0, full.num_rows - 3)
    items = [(("odh_only", "a"), full), (("odh_only", "b"), full), (("snds_only", "a"), part)]
    _, _, n = evaluate_persons_many(items, CI)
    assert n == {"odh_only": full.num_rows, "snds_only": part.num_rows}
    with pytest.raises(ValueError, match="snds_only"):
        evaluate_persons_many([*items, (("snds_only", "b"), full)], CI)
