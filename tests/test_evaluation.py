"""Evaluation against the gold standard: hand-computed metrics on small cases, matching optimality,
kappa against sklearn, the bootstrap, per-patient error analysis."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import linear_sum_assignment
from sklearn.metrics import cohen_kappa_score

from lotluca.config import default_config
from lotluca.evaluate import EvaluateSettings, evaluate
from lotluca.evaluate.bootstrap import bootstrap_metrics, derive_seed, replicate_weights
from lotluca.evaluate.matching import match_starts
from lotluca.evaluate.metrics import (
    METRICS,
    metrics_from_sums,
    prepare_lines,
    score,
    strata,
    weighted_kappa,
    weighted_median,
)

EVALUATE = default_config()["evaluate"]  # the schema's defaults of the `evaluate` block


def eval_settings(seed: int = 0, **block) -> EvaluateSettings:
    """EvaluateSettings of the default `evaluate` block updated by `block`, bootstrap seed `seed`."""
    return EvaluateSettings.from_config({**EVALUATE, **block}, seed=seed)


NO_CI = eval_settings(bootstrap=0)


def lines(rows, end_reasons=None):
    """rows: (person, line_number, start, regimen, is_maintenance[, regimen_class])."""
    df = pd.DataFrame(
        [r if len(r) == 6 else (*r, None) for r in rows],
        columns=["person_id", "line_number", "start_date", "regimen", "is_maintenance", "regimen_class"],
    )
    df["start_date"] = pd.to_datetime(df["start_date"])
    df["end_reason"] = end_reasons if end_reasons is not None else "gap"
    return df


# person a: carboplatin-pemetrexed, pemetrexed maintenance, then docetaxel; person b: osimertinib
GOLD = lines(
    [
        ("a", 1, "2020-01-01", "carboplatin+pemetrexed", False),
        ("a", 1, "2020-03-15", "pemetrexed", True),
        ("a", 2, "2020-09-01", "docetaxel", False),
        ("b", 1, "2021-02-01", "osimertinib", False),
    ]
)


def est(metrics, name, stratum="all"):
    row = metrics[(metrics["metric"] == name) & (metrics["stratum"] == stratum)]
    assert len(row) == 1, (name, stratum)
    return row["estimate"].iloc[0]


def n_of(metrics, name, stratum="all"):
    return metrics[(metrics["metric"] == name) & (metrics["stratum"] == stratum)]["n"].iloc[0]


# -- hand-computed small cases ----------------------------------------------------------------------


def test_perfect_prediction_scores_one():
    m, pp = evaluate(GOLD.copy(), GOLD, NO_CI)
    for name in (
        "line_precision",
        "line_recall",
        "line_f1",
        "regimen_exact",
        "regimen_class_match",
        "maintenance_precision",
        "maintenance_recall",
        "maintenance_f1",
        "count_exact",
        "count_within_1",
        "count_kappa_weighted",
        "sequence_exact",
    ):
        assert est(m, name) == 1.0, name
    assert est(m, "start_error_mae_days") == 0.0
    assert n_of(m, "line_recall") == 3 and n_of(m, "sequence_exact") == 2 and n_of(m, "maintenance_recall") == 1
    assert pp["first_disagreement"].isna().all()
    assert set(METRICS) == set(m["metric"])


def test_one_missing_line():
    pred = GOLD[GOLD["regimen"] != "docetaxel"]
    m, pp = evaluate(pred, GOLD, NO_CI)
    assert est(m, "line_precision") == 1.0
    assert est(m, "line_recall") == pytest.approx(2 / 3)
    assert est(m, "line_f1") == pytest.approx(2 * 2 / (2 + 3))
    assert est(m, "count_exact") == 0.5 and est(m, "count_within_1") == 1.0
    assert est(m, "sequence_exact") == 0.5
    a = pp.set_index("person_id").loc["a"]
    assert a["first_disagreement"] == "missing_line" and a["gold_line_number"] == 2
    # the predicted row running at the gold start is the maintenance phase: its end_reason produced the miss
    assert a["pred_line_number"] == 1 and a["end_reason"] == "gap"
    assert str(a["first_disagreement_date"]) == "2020-09-01"


def test_one_extra_line():
    extra = lines([("b", 2, "2021-10-01", "osimertinib+carboplatin", False)])
    pred = pd.concat(
        [GOLD.assign(end_reason=["new_drug", "gap", "death", "progression_rule"]), extra], ignore_index=True
    )
    m, pp = evaluate(pred, GOLD, NO_CI)
    assert est(m, "line_precision") == pytest.approx(3 / 4)
    assert est(m, "line_recall") == 1.0
    assert est(m, "line_f1") == pytest.approx(6 / 7)
    assert est(m, "count_exact") == 0.5 and est(m, "sequence_exact") == 0.5
    b = pp.set_index("person_id").loc["b"]
    # the extra line was opened by the rule that closed b's first predicted line
    assert (
        b["first_disagreement"] == "extra_line" and b["pred_line_number"] == 2 and b["end_reason"] == "progression_rule"
    )


@pytest.mark.parametrize(("shift", "matched"), [(30, True), (-30, True), (31, False), (-31, False)])
def test_start_shift_at_and_beyond_tolerance(shift, matched):
    pred = GOLD.copy()
    pred.loc[3, "start_date"] += pd.Timedelta(days=shift)  # b's only line
    m, _ = evaluate(pred, GOLD, NO_CI)
    if matched:
        assert est(m, "line_f1") == 1.0
        assert est(m, "start_error_mean_days") == pytest.approx(shift / 3)
        assert est(m, "start_error_mae_days") == pytest.approx(abs(shift) / 3)
        assert est(m, "start_error_median_abs_days") == 0.0
        assert est(m, "sequence_exact") == 1.0
    else:  # one missing and one extra line
        assert est(m, "line_precision") == pytest.approx(2 / 3)
        assert est(m, "line_recall") == pytest.approx(2 / 3)
        assert est(m, "count_exact") == 1.0  # same number of lines
        assert est(m, "sequence_exact") == 0.5


def test_tolerance_is_configurable():
    pred = GOLD.copy()
    pred.loc[3, "start_date"] += pd.Timedelta(days=10)
    assert est(evaluate(pred, GOLD, eval_settings(tolerance_days=10, bootstrap=0))[0], "line_recall") == 1.0
    assert est(evaluate(pred, GOLD, eval_settings(tolerance_days=9, bootstrap=0))[0], "line_recall") == pytest.approx(
        2 / 3
    )


def test_wrong_regimen():
    pred = GOLD.copy()
    pred.loc[0, "regimen"] = "cisplatin+pemetrexed"  # same class (chemo_doublet), other ingredients
    pred.loc[2, "regimen"] = "nivolumab"  # other class
    pred["regimen_class"] = None  # derived from the regimen
    m, pp = evaluate(pred, GOLD, NO_CI)
    assert est(m, "line_f1") == 1.0
    assert est(m, "regimen_exact") == pytest.approx(1 / 3)
    assert est(m, "regimen_class_match") == pytest.approx(2 / 3)
    assert est(m, "sequence_exact") == 0.5
    a = pp.set_index("person_id").loc["a"]
    assert a["first_disagreement"] == "regimen_mismatch" and a["gold_line_number"] == 1


def test_regimen_compared_as_ingredient_sets():
    pred = GOLD.copy()
    pred.loc[0, "regimen"] = " Pemetrexed + CARBOPLATIN+pemetrexed"
    assert est(evaluate(pred, GOLD, NO_CI)[0], "regimen_exact") == 1.0


def test_maintenance_scored_separately():
    missing = GOLD[~GOLD["is_maintenance"]]
    m, pp = evaluate(missing, GOLD, NO_CI)
    assert est(m, "line_f1") == 1.0 and est(m, "count_exact") == 1.0
    assert est(m, "maintenance_recall") == 0.0 and np.isnan(est(m, "maintenance_precision"))
    assert est(m, "sequence_exact") == 0.5
    assert pp.set_index("person_id").loc["a", "first_disagreement"] == "missing_maintenance"

    extra = pd.concat([GOLD, lines([("b", 1, "2021-08-01", "osimertinib", True)])], ignore_index=True)
    m, pp = evaluate(extra, GOLD, NO_CI)
    assert est(m, "maintenance_precision") == 0.5 and est(m, "maintenance_recall") == 1.0
    assert est(m, "maintenance_f1") == pytest.approx(2 / 3)
    assert est(m, "line_f1") == 1.0
    assert pp.set_index("person_id").loc["b", "first_disagreement"] == "extra_maintenance"


def test_person_without_prediction_counts_zero_lines_and_predictions_of_others_ignored():
    pred = pd.concat([GOLD[GOLD["person_id"] == "a"], lines([("zz", 1, "2020-01-01", "docetaxel", False)])])
    m, pp = evaluate(pred, GOLD, NO_CI)
    assert est(m, "line_recall") == pytest.approx(2 / 3) and est(m, "line_precision") == 1.0
    assert pp.set_index("person_id").loc["b", "n_pred_lines"] == 0
    assert "zz" not in set(pp["person_id"])


def test_strata_and_first_line_class():
    m, pp = evaluate(GOLD[GOLD["regimen"] != "docetaxel"], GOLD, NO_CI)
    assert est(m, "sequence_exact", "one_line") == 1.0 and n_of(m, "sequence_exact", "one_line") == 1
    assert est(m, "sequence_exact", "several_or_maintenance") == 0.0
    assert est(m, "line_recall", "first_line_class=chemo_doublet") == 0.5
    assert est(m, "line_recall", "first_line_class=egfr_tki") == 1.0
    assert dict(zip(pp["person_id"], pp["stratum"], strict=True)) == {"a": "several_or_maintenance", "b": "one_line"}


# -- matching ---------------------------------------------------------------------------------------


def test_matching_is_optimal_where_greedy_fails():
    # greedy-by-closest takes (10, 0) first and leaves gold 30 and pred -25 unmatched: 1 pair
    base = pd.Timestamp("2020-06-01")
    gold = pd.DataFrame({"person_id": "p", "start_date": [base, base + pd.Timedelta(days=30)]})
    pred = pd.DataFrame({"person_id": "p", "start_date": [base + pd.Timedelta(days=10), base - pd.Timedelta(days=25)]})
    pairs = match_starts(pred, gold, pd.Index(["p"]), 30)
    assert len(pairs) == 2
    assert sorted(zip(pairs["pred_row"], pairs["gold_row"], strict=True)) == [(0, 1), (1, 0)]


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 2), st.integers(0, 200)), max_size=8),
    st.lists(st.tuples(st.integers(0, 2), st.integers(0, 200)), max_size=8),
    st.integers(0, 40),
)
def test_matching_maximises_pairs_then_minimises_error(pred_rows, gold_rows, tol):
    day0 = pd.Timestamp("2020-01-01")

    def frame(rows):
        return pd.DataFrame(
            {"person_id": [f"p{p}" for p, _ in rows], "start_date": [day0 + pd.Timedelta(days=d) for _, d in rows]}
        )

    pred, gold = frame(pred_rows), frame(gold_rows)
    persons = pd.Index(["p0", "p1", "p2"])
    pairs = match_starts(pred, gold, persons, tol)
    # one-to-one, same person, within tolerance
    assert pairs["pred_row"].is_unique and pairs["gold_row"].is_unique
    assert (pairs["delta_days"].abs() <= tol).all()
    assert (pred["person_id"].to_numpy()[pairs["pred_row"]] == gold["person_id"].to_numpy()[pairs["gold_row"]]).all()
    # brute force: assignment maximising the pair count, then minimising the total |error|
    big = 10_000
    cost = np.zeros((len(pred_rows), len(gold_rows)))
    for i, (pp_, pd_) in enumerate(pred_rows):
        for j, (gp, gd) in enumerate(gold_rows):
            if pp_ == gp and abs(pd_ - gd) <= tol:
                cost[i, j] = abs(pd_ - gd) - big
    r, c = linear_sum_assignment(cost) if cost.size else (np.array([], int), np.array([], int))
    best = cost[r, c]
    best = best[best < 0]
    assert len(pairs) == len(best)
    assert pairs["delta_days"].abs().sum() == pytest.approx((best + big).sum())


# -- kappa, median, bootstrap --------------------------------------------------------------------------


@pytest.mark.parametrize("weights", ["linear", "quadratic"])
def test_weighted_kappa_equals_sklearn(weights):
    rng = np.random.default_rng(3)
    gold_n = rng.integers(1, 6, size=300)
    pred_n = np.clip(gold_n + rng.integers(-2, 3, size=300), 0, 7)
    cap = 4
    g, p = np.minimum(gold_n, cap), np.minimum(pred_n, cap)
    conf = np.zeros((cap + 1, cap + 1))
    np.add.at(conf, (g, p), 1)
    expected = cohen_kappa_score(g, p, labels=list(range(cap + 1)), weights=weights)
    assert weighted_kappa(conf, weights) == pytest.approx(expected, abs=1e-12)


def test_kappa_of_evaluate_equals_sklearn_on_line_counts():
    rng = np.random.default_rng(5)
    gold_rows, pred_rows = [], []
    for k in range(60):
        ng, npred = int(rng.integers(1, 5)), int(rng.integers(0, 6))
        gold_rows += [(f"p{k}", i + 1, f"2020-{i + 1:02d}-01", "docetaxel", False) for i in range(ng)]
        pred_rows += [(f"p{k}", i + 1, f"2021-{i + 1:02d}-01", "docetaxel", False) for i in range(npred)]
    gold, pred = lines(gold_rows), lines(pred_rows)
    s = eval_settings(bootstrap=0, kappa_weights="linear", kappa_max_lines=4)
    m, pp = evaluate(pred, gold, s)
    g, p = np.minimum(pp["n_gold_lines"], 4), np.minimum(pp["n_pred_lines"], 4)
    assert est(m, "count_kappa_weighted") == pytest.approx(
        cohen_kappa_score(g, p, labels=list(range(5)), weights="linear")
    )


def test_weighted_median_equals_numpy_median_of_repeated_values():
    rng = np.random.default_rng(0)
    v = np.sort(rng.integers(0, 30, size=25).astype(float))
    w = rng.integers(0, 4, size=(20, 25)).astype(float)
    w[:, 0] += 1  # no empty row
    got = weighted_median(v, w)
    for r in range(20):
        assert got[r] == np.median(np.repeat(v, w[r].astype(int)))


def noisy_cohort(n=150, seed=11):
    """Gold lines for n persons and a prediction that misses, adds and shifts some of them."""
    rng = np.random.default_rng(seed)
    regs = ["carboplatin+pemetrexed", "docetaxel", "nivolumab", "osimertinib", "pembrolizumab"]
    gold_rows, pred_rows = [], []
    for k in range(n):
        start = pd.Timestamp("2019-01-01") + pd.Timedelta(days=int(rng.integers(0, 300)))
        for i in range(int(rng.integers(1, 4))):
            reg = regs[int(rng.integers(0, 5))]
            gold_rows.append((f"p{k:03d}", i + 1, start, reg, False))
            u = rng.random()
            if u > 0.15:  # else missed
                shift = int(rng.integers(-45, 46)) if u > 0.8 else int(rng.integers(-5, 6))
                reg_p = reg if rng.random() > 0.1 else regs[int(rng.integers(0, 5))]
                pred_rows.append((f"p{k:03d}", i + 1, start + pd.Timedelta(days=shift), reg_p, False))
            if reg == "carboplatin+pemetrexed":  # pemetrexed maintenance after 4 cycles
                gold_rows.append((f"p{k:03d}", i + 1, start + pd.Timedelta(days=84), "pemetrexed", True))
                if rng.random() < 0.7:
                    pred_rows.append(
                        (f"p{k:03d}", i + 1, start + pd.Timedelta(days=int(rng.integers(70, 100))), "pemetrexed", True)
                    )
            elif rng.random() < 0.05:
                pred_rows.append((f"p{k:03d}", i + 1, start + pd.Timedelta(days=60), "pemetrexed", True))
            if rng.random() < 0.1:
                pred_rows.append((f"p{k:03d}", i + 11, start + pd.Timedelta(days=100), "docetaxel", False))
            start += pd.Timedelta(days=int(rng.integers(120, 400)))
    return lines(pred_rows), lines(gold_rows)


def test_bootstrap_ci_covers_estimate_and_is_deterministic():
    pred, gold = noisy_cohort()
    s = eval_settings(bootstrap=300, seed=derive_seed(20261123))
    m1, _ = evaluate(pred, gold, s)
    m2, _ = evaluate(pred, gold, s)
    pd.testing.assert_frame_equal(m1, m2)
    allm = m1[(m1["stratum"] == "all")].set_index("metric")
    for name in METRICS:
        r = allm.loc[name]
        assert r["ci_low"] <= r["estimate"] <= r["ci_high"], name
        if name in ("line_f1", "line_recall", "sequence_exact"):
            assert r["ci_low"] < r["ci_high"], name  # the data vary: a real interval
    other = evaluate(pred, gold, eval_settings(bootstrap=300, seed=derive_seed(1)))[0]
    assert not np.allclose(other["ci_low"].fillna(0), m1["ci_low"].fillna(0))
    assert derive_seed(20261123) == derive_seed(20261123) != derive_seed(20261124)


def test_bootstrap_replicate_equals_scoring_the_resampled_persons():
    """The vectorised replicate (weights @ per-person sums) equals re-scoring a resampled cohort."""
    pred, gold = noisy_cohort(n=40, seed=2)
    s = eval_settings(bootstrap=0)
    g, p = prepare_lines(gold), prepare_lines(pred)
    scored = score(p, g, s)
    w = next(replicate_weights(len(scored.persons), 1, seed=7)).astype(int)[0]
    fast = metrics_from_sums((w @ scored.stats.to_numpy(float))[None, :], s)
    copies = np.repeat(scored.persons.to_numpy(), w)
    suffix = pd.Series(copies).groupby(copies).cumcount().astype(str).to_numpy()
    ids = pd.DataFrame({"person_id": copies, "new_id": [f"{a}#{b}" for a, b in zip(copies, suffix, strict=True)]})

    def resample(df):
        return df.merge(ids, on="person_id").drop(columns="person_id").rename(columns={"new_id": "person_id"})

    slow = metrics_from_sums(score(resample(p), resample(g), s).stats.sum().to_numpy()[None, :], s)
    for name, value in fast.items():
        np.testing.assert_allclose(value, slow[name], equal_nan=True, err_msg=name)


def test_strata_masks_from_gold_only():
    g = prepare_lines(GOLD)
    masks = strata(g, pd.Index(["a", "b"]))
    assert masks.loc["a"].to_dict() == {
        "all": True,
        "one_line": False,
        "several_or_maintenance": True,
        "first_line_class=chemo_doublet": True,
        "first_line_class=egfr_tki": False,
    }
    assert masks.loc["b", "one_line"]


def test_bootstrap_metrics_table_shape():
    pred, gold = noisy_cohort(n=30)
    g, p = prepare_lines(gold), prepare_lines(pred)
    scored = score(p, g, eval_settings(bootstrap=20, seed=1))
    masks = strata(g, scored.persons)
    out = bootstrap_metrics(scored, masks, eval_settings(bootstrap=20, seed=1))
    assert list(out.columns) == ["stratum", "metric", "estimate", "ci_low", "ci_high", "n"]
    assert len(out) == masks.shape[1] * len(METRICS)


def test_bootstrap_does_not_depend_on_the_block_size(monkeypatch):
    from lotluca.evaluate import bootstrap

    pred, gold = noisy_cohort(n=60, seed=4)
    s = eval_settings(bootstrap=45, seed=9)
    ref = evaluate(pred, gold, s)[0]
    monkeypatch.setattr(bootstrap, "CHUNK", 7)
    pd.testing.assert_frame_equal(evaluate(pred, gold, s)[0], ref)


def test_empty_prediction_scores_zero_recall():
    m, pp = evaluate(GOLD.iloc[0:0], GOLD, eval_settings(bootstrap=20, seed=1))
    assert est(m, "line_recall") == 0.0 and np.isnan(est(m, "line_precision"))
    assert est(m, "count_exact") == 0.0 and est(m, "sequence_exact") == 0.0
    assert (pp["first_disagreement"] == "missing_line").all() and pp["end_reason"].isna().all()
