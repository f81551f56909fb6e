"""lotluca.effectiveness: endpoints on hand-written persons, KM against lifelines, Cox against lifelines,
log-rank, the bias of gold vs itself, and the effectiveness/bias steps end to end on small tables."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lifelines import CoxPHFitter, KaplanMeierFitter
from lifelines.datasets import load_rossi, load_waltons

from lotluca.config import default_config
from lotluca.effectiveness import DAYS_PER_MONTH, compute_endpoints, endpoints_long, fit_cox, km_median, km_tables
from lotluca.effectiveness.bias import bias_table
from lotluca.errors import InputError

EFFECTIVENESS = default_config()["effectiveness"]  # the schema's defaults of the block
ENDPOINT_OPTIONS = {
    "ttd_gap_days": EFFECTIVENESS["ttd_gap_days"],
    "pooled_line_from": EFFECTIVENESS["pooled_line_from"],
    "era_start_years": EFFECTIVENESS["cox"]["era_start_years"],
}


def endpoints(lines, persons, **options):
    """compute_endpoints with the default effectiveness options, updated by `options`."""
    return compute_endpoints(lines, persons, **{**ENDPOINT_OPTIONS, **options})


D = pd.Timestamp


def line(pid, n, start, end, regimen="carboplatin+pemetrexed", cls="chemo_doublet", maint=False):
    return {
        "person_id": pid, "line_number": n, "start_date": D(start), "end_date": D(end), "regimen": regimen,
        "regimen_class": cls, "is_maintenance": maint, "end_reason": None, "algorithm": "gold",
    }  # fmt: skip


def person(pid, death=None, eof="2025-12-31", birth=1955, sex="M", hist="non_squamous", pdl1=">=50%"):
    return {
        "person_id": pid, "sex": sex, "birth_year": birth, "birth_month": 6, "residence_dpt": "75",
        "death_date": D(death) if death else pd.NaT, "diagnosis_date": D("2020-01-01"), "histology": hist,
        "egfr": "wild_type", "alk": "wild_type", "pdl1": pdl1, "centre": "750000000",
        "end_of_followup": D(eof) if eof else pd.NaT,
    }  # fmt: skip


def months(a, b):
    return (D(b) - D(a)).days / DAYS_PER_MONTH


@pytest.fixture
def hand_written():
    lines = pd.DataFrame(
        [
            # A: line 1 with a maintenance phase, line 2, then dies before any third line
            line("A", 1, "2020-01-10", "2020-03-20"),
            line("A", 1, "2020-04-10", "2020-09-01", regimen="pemetrexed", maint=True),
            line("A", 2, "2020-11-01", "2021-02-01", regimen="docetaxel", cls="single_agent_chemo"),
            # B: one line, last administration 2 months before the end of follow-up, alive: still running
            line("B", 1, "2025-01-15", "2025-10-31", regimen="pembrolizumab", cls="io_mono"),
            # C: one line stopped long before the end of data, alive, no next line (gap >= 120 days)
            line("C", 1, "2021-05-01", "2021-08-01"),
        ]
    )
    persons = pd.DataFrame(
        [
            person("A", death="2021-06-15", eof="2021-06-15"),
            person("B", eof="2025-12-31"),
            person("C", eof="2025-12-31"),
        ]
    )
    return lines, persons


def test_endpoints_hand_written(hand_written):
    lines, persons = hand_written
    ep = endpoints(lines, persons, ttd_gap_days=120).set_index(["person_id", "line_number"])
    assert len(ep) == 4 and ep["exclusion"].isna().all()
    a1, a2, b1, c1 = ep.loc[("A", 1)], ep.loc[("A", 2)], ep.loc[("B", 1)], ep.loc[("C", 1)]
    # maintenance folded into line 1: it ends at the end of the maintenance phase
    assert a1["end_date"] == D("2020-09-01") and a1["has_maintenance"] and a1["regimen"] == "carboplatin+pemetrexed"
    # A line 1: next line before death -> TTNT event at line 2 start
    assert a1["rwTTNT_months"] == pytest.approx(months("2020-01-10", "2020-11-01")) and a1["rwTTNT_event"] == 1
    assert a1["rwTTNT_dc_event"] == 1 and a1["rwOS_months"] == pytest.approx(months("2020-01-10", "2021-06-15"))
    assert a1["rwTTD_months"] == pytest.approx(months("2020-01-10", "2020-09-01")) and a1["rwTTD_event"] == 1
    # A line 2: death before any next line -> TTNT event at death; death-censored TTNT censored at death
    assert a2["rwTTNT_months"] == pytest.approx(months("2020-11-01", "2021-06-15")) and a2["rwTTNT_event"] == 1
    assert a2["rwTTNT_dc_months"] == pytest.approx(months("2020-11-01", "2021-06-15")) and a2["rwTTNT_dc_event"] == 0
    assert a2["rwOS_event"] == 1 and a2["rwTTD_event"] == 1
    # B: a last line still running -> TTNT and OS censored at end of follow-up, TTD censored at last administration
    assert b1["rwTTNT_months"] == pytest.approx(months("2025-01-15", "2025-12-31")) and b1["rwTTNT_event"] == 0
    assert b1["rwOS_months"] == pytest.approx(months("2025-01-15", "2025-12-31")) and b1["rwOS_event"] == 0
    assert b1["rwTTD_months"] == pytest.approx(months("2025-01-15", "2025-10-31")) and b1["rwTTD_event"] == 0
    # C: alive, no next line, stopped > 120 days before end of data -> TTD event, TTNT censored at end of follow-up
    assert c1["rwTTD_event"] == 1 and c1["rwTTD_months"] == pytest.approx(months("2021-05-01", "2021-08-01"))
    assert c1["rwTTNT_event"] == 0 and c1["rwTTNT_months"] == pytest.approx(months("2021-05-01", "2025-12-31"))
    # covariates
    assert (
        a1["line_group"] == "1"
        and a1["era"] == "2019+"
        and a1["age"] == pytest.approx((D("2020-01-10") - D("1955-07-01")).days / 365.25)
    )


def test_endpoints_line_groups_and_censoring_at_end_of_followup():
    lines = pd.DataFrame([line("X", k, f"{2014 + k}-01-01", f"{2014 + k}-03-01") for k in range(1, 6)])
    persons = pd.DataFrame([person("X", eof="2018-06-30")])  # line 5 starts after end of follow-up
    ep = endpoints(lines, persons, pooled_line_from=3).set_index("line_number")
    assert list(ep["line_group"]) == ["1", "2", "3+", "3+", "3+"]
    assert list(ep["era"]) == ["2012-2016", "2012-2016", "2017-2018", "2017-2018", "2019+"]
    assert ep.loc[5, "exclusion"] == "starts_after_end_of_followup" and np.isnan(ep.loc[5, "rwOS_months"])
    assert ep["exclusion"].iloc[:4].isna().all()
    # line 4 starts 2018-01-01; line 5 (2019) is after end of follow-up: censored at end of follow-up
    assert ep.loc[4, "rwTTNT_event"] == 0 and ep.loc[4, "rwTTNT_months"] == pytest.approx(
        months("2018-01-01", "2018-06-30")
    )
    assert ep.loc[4, "rwTTD_event"] == 1  # last dose 2018-03-01, 121 days before end of follow-up
    assert ep.loc[3, "rwTTNT_event"] == 1 and ep.loc[3, "rwTTNT_months"] == pytest.approx(
        months("2017-01-01", "2018-01-01")
    )


def test_endpoints_exclusions_and_bad_input():
    lines = pd.DataFrame([line("A", 1, "2020-01-01", "2020-02-01"), line("Z", 1, "2020-01-01", "2020-02-01"),
                          line("D", 1, "2021-01-01", "2021-02-01")])  # fmt: skip
    persons = pd.DataFrame([person("A"), person("D", death="2020-06-01", eof="2020-06-01")])
    ep = endpoints(lines, persons).set_index("person_id")
    assert ep.loc["Z", "exclusion"] == "no_person_record"
    assert ep.loc["D", "exclusion"] == "starts_after_death"
    assert pd.isna(ep.loc["A", "exclusion"])
    bad = lines.copy()
    bad.loc[1, "start_date"] = pd.NaT
    with pytest.raises(InputError, match="start_date"):
        endpoints(bad, persons)
    with pytest.raises(InputError, match="person_id"):
        endpoints(lines, pd.concat([persons, persons]))


def test_km_median_equals_lifelines_on_waltons():
    df = load_waltons()
    for _, g in [("all", df), *df.groupby("group")]:
        kmf = KaplanMeierFitter().fit(g["T"], g["E"])
        assert km_median(g["T"], g["E"]) == kmf.median_survival_time_
    long = df.rename(columns={"T": "months", "E": "event"}).assign(
        algorithm="gold", scenario="gold", endpoint="rwOS", line_number=1, line_group="1",
        regimen_class=df["group"], person_id=[f"p{i}" for i in range(len(df))],
    )  # fmt: skip
    summary, curves, at_risk = km_tables(long, times=[0, 30, 60], curve_step=1.0, alpha=0.05, min_at_risk=10)
    whole = summary[summary["stratum_type"] == "line"].iloc[0]
    kmf = KaplanMeierFitter().fit(df["T"], df["E"])
    assert whole["median_months"] == kmf.median_survival_time_ == 56.0
    assert (whole["median_lower_95"], whole["median_upper_95"]) == (53.0, 58.0)
    ar = at_risk[at_risk["stratum_type"] == "line"].set_index("months")["at_risk"]
    assert list(ar) == [len(df), int((df["T"] >= 30).sum()), int((df["T"] >= 60).sum())]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 30), st.booleans(), st.integers(1, 3)), min_size=1, max_size=40))
def test_km_median_equals_lifelines_weighted(rows):
    t = np.array([r[0] for r in rows], float)
    e = np.array([r[1] for r in rows], int)
    w = np.array([r[2] for r in rows], int)
    kmf = KaplanMeierFitter().fit(np.repeat(t, w), np.repeat(e, w))
    assert km_median(t, e, w) == kmf.median_survival_time_


def test_fit_cox_equals_lifelines():
    r = load_rossi()
    X = r.drop(columns=["week", "arrest"]).to_numpy(float)
    beta, ok = fit_cox(X, r["week"], r["arrest"])
    ref = CoxPHFitter().fit(r, "week", "arrest").params_.to_numpy()
    assert ok and np.max(np.abs(beta - ref)) < 1e-6
    w = np.random.default_rng(3).multinomial(len(r), np.full(len(r), 1 / len(r)))
    beta_w, _ = fit_cox(X, r["week"], r["arrest"], w)
    ref_w = CoxPHFitter().fit(r.loc[np.repeat(r.index, w)], "week", "arrest").params_.to_numpy()
    assert np.max(np.abs(beta_w - ref_w)) < 1e-6


def synthetic_cohort(n=300, seed=1):
    """Gold lines for n persons: first line chemo+IO or chemo, 0-3 later lines, deaths and censoring."""
    rng = np.random.default_rng(seed)
    lines, persons = [], []
    for i in range(n):
        pid = f"odh{i:04d}"
        start = D("2016-01-01") + pd.Timedelta(days=int(rng.integers(0, 2500)))
        io = rng.random() < 0.5
        eof = D("2025-12-31")
        death = start + pd.Timedelta(days=int(rng.exponential(500 if io else 330)))
        dead = death < eof
        t = start
        for k in range(1, 1 + int(rng.integers(1, 4))):
            if t >= (death if dead else eof):
                break
            dur = int(rng.exponential(150)) + 1
            cls = ("chemo_io" if io else "chemo_doublet") if k == 1 else "single_agent_chemo"
            lines.append(line(pid, k, str(t.date()), str(min(t + pd.Timedelta(days=dur), eof).date()), cls=cls))
            t = t + pd.Timedelta(days=dur + int(rng.integers(20, 200)))
        persons.append(
            person(pid, death=str(death.date()) if dead else None, eof=str(min(death, eof).date()),
                   birth=int(rng.integers(1940, 1975)), sex="MF"[int(rng.random() < 0.35)],
                   hist=["non_squamous", "squamous"][int(rng.random() < 0.3)],
                   pdl1=["<1%", "1-49%", ">=50%"][int(rng.integers(0, 3))])
        )  # fmt: skip
    gold = pd.DataFrame(lines)
    gold["split"] = np.where(gold["person_id"].str[-1].isin(list("01234")), "train", "test")
    return gold, pd.DataFrame(persons)


def _long(gold, persons, algo_lines=None, algorithm="algo", scenario="linked"):
    parts = [endpoints(gold, persons).assign(algorithm="gold", scenario="gold")]
    if algo_lines is not None:
        parts.append(endpoints(algo_lines, persons).assign(algorithm=algorithm, scenario=scenario))
    return endpoints_long(pd.concat(parts, ignore_index=True))


def test_bias_of_gold_vs_itself_is_exactly_zero():
    gold, persons = synthetic_cohort(200)
    long = _long(gold, persons, gold.assign(algorithm="copy"))
    b = bias_table(long, ["chemo_io"], ["chemo_doublet"], bootstrap=20, seed=7, alpha=0.05)
    assert set(b["endpoint"]) == {"rwTTNT", "rwTTNT_dc", "rwTTD", "rwOS"} and set(b["line_group"]) == {"1", "2", "3+"}
    assert (b["median_diff"].dropna() == 0).all() and b["median_diff"].notna().sum() >= 8
    assert (b["median_diff_lower_95"].dropna() == 0).all() and (b["median_diff_upper_95"].dropna() == 0).all()
    first = b[b["line_group"] == "1"]
    assert first["hr_ratio"].notna().all() and (first["hr_ratio"] == 1.0).all()
    assert (first["hr_ratio_lower_95"] == 1.0).all() and (first["hr_ratio_upper_95"] == 1.0).all()
    assert (first["hr_ratio_boot_valid"] == 20).all()


def test_bias_detects_a_shifted_algorithm_and_is_seeded():
    gold, persons = synthetic_cohort(200)
    # an algorithm that splits every first line in two (a false new line 60 days in): shorter TTNT in line 1
    first = gold[gold["line_number"] == 1].copy()
    extra = first.copy()
    extra["start_date"] = first["start_date"] + pd.Timedelta(days=60)
    extra = extra[extra["start_date"] <= extra["end_date"]]
    algo = pd.concat([gold.assign(line_number=gold["line_number"] + (gold["line_number"] > 1)),
                      extra.assign(line_number=2)], ignore_index=True)  # fmt: skip
    algo.loc[algo["line_number"] == 1, "end_date"] = algo["start_date"]
    long = _long(gold, persons, algo)
    b1 = bias_table(long, ["chemo_io"], ["chemo_doublet"], bootstrap=30, seed=11, alpha=0.05)
    b2 = bias_table(long, ["chemo_io"], ["chemo_doublet"], bootstrap=30, seed=11, alpha=0.05)
    pd.testing.assert_frame_equal(b1, b2)
    ttnt1 = b1[(b1["endpoint"] == "rwTTNT") & (b1["line_group"] == "1")].iloc[0]
    assert ttnt1["median_diff"] < 0 and ttnt1["median_diff_upper_95"] < 0
    os1 = b1[(b1["endpoint"] == "rwOS") & (b1["line_group"] == "1")].iloc[0]
    assert os1["median_diff"] == 0  # same first-line starts, same deaths: OS from line 1 unchanged


def test_fit_cox_drops_a_level_without_events():
    r = load_rossi()
    X = r.drop(columns=["week", "arrest"]).to_numpy(float)
    no_event_level = ((r["arrest"] == 0) & (r.index % 7 == 0)).to_numpy(float)  # a level nobody in which has an event
    beta, ok = fit_cox(np.column_stack([X, no_event_level]), r["week"], r["arrest"])
    ref = CoxPHFitter().fit(r, "week", "arrest").params_.to_numpy()
    assert ok and np.isnan(beta[-1]) and np.max(np.abs(beta[:-1] - ref)) < 1e-6


def test_bias_ranking_compares_algorithms_on_common_cells():
    from lotluca.effectiveness.bias import bias_ranking

    b = pd.DataFrame(
        {
            "algorithm": ["a", "a", "b", "b"],
            "scenario": "linked",
            "endpoint": ["rwOS", "rwTTNT", "rwOS", "rwTTNT"],
            "line_group": "1",
            "median_diff": [0.5, 9.0, 1.0, np.nan],  # b has no rwTTNT median: the comparison uses rwOS only
            "hr_ratio": [1.1, 1.0, 1 / 1.5, 1.0],
        }
    )
    r = bias_ranking(b).set_index("algorithm")
    assert r.loc["a", "rank_in_scenario"] == 1 and r.loc["a", "mean_abs_median_diff_months"] == 0.5
    assert r.loc["b", "common_cells"] == 1 and r.loc["b", "cells_with_median"] == 1
    assert r.loc["b", "mean_abs_log_hr_ratio"] == pytest.approx(np.log(1.5) / 2)


@settings(max_examples=25, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 5), st.integers(0, 3000), st.integers(0, 400), st.booleans()), min_size=1, max_size=25
    ),
    st.lists(st.one_of(st.none(), st.integers(0, 3500)), min_size=6, max_size=6),
    st.randoms(use_true_random=False),
)
def test_endpoint_invariants(raw, deaths, rnd):
    base = D("2015-01-01")
    rows, seen = [], {}
    for pid, start, dur, maint in raw:
        n = seen.get(pid, 0) + (0 if maint and seen.get(pid) else 1)
        seen[pid] = n
        s = base + pd.Timedelta(days=start + 500 * n)
        rows.append(line(f"p{pid}", n, str(s.date()), str((s + pd.Timedelta(days=dur)).date()), maint=maint and n > 0))
    lines = pd.DataFrame(rows)
    persons = pd.DataFrame(
        [
            person(f"p{i}", death=str((base + pd.Timedelta(days=d)).date()) if d is not None else None,
                   eof=str((base + pd.Timedelta(days=d)).date()) if d is not None else "2025-12-31")
            for i, d in enumerate(deaths)
        ]
    )  # fmt: skip
    ep = endpoints(lines, persons)
    ok = ep[ep["exclusion"].isna()]
    for e in ("rwTTNT", "rwTTNT_dc", "rwTTD", "rwOS"):
        assert (ok[f"{e}_months"] >= 0).all() and ok[f"{e}_event"].isin([0, 1]).all()
        assert (ok[f"{e}_months"] <= ok["rwOS_months"] + 1e-9).all()
    assert (ok["rwTTNT_dc_months"] >= ok["rwTTNT_months"] - 1e-9).all()
    assert (ok["rwTTNT_event"] >= ok["rwTTNT_dc_event"]).all()
    assert (ok["rwTTNT_event"] >= ok["rwOS_event"]).all()  # a death is an rwTTNT event unless a next line came first
    shuffled = lines.sample(frac=1.0, random_state=rnd.randint(0, 10**6))
    pd.testing.assert_frame_equal(endpoints(shuffled, persons), ep)


def test_fit_cox_without_any_estimable_column_is_not_converged():
    """Every column constant among the events (a bootstrap sample whose events all share one level):
    nothing to estimate, NaN coefficients, not an error."""
    t = np.array([1.0, 2.0, 3.0, 4.0])
    e = np.array([1.0, 1.0, 0.0, 0.0])
    X = np.array([[1.0], [1.0], [0.0], [1.0]])  # level 1 holds every event
    beta, ok = fit_cox(X, t, e)
    assert not ok and np.isnan(beta).all() and beta.shape == (1,)
