"""The chart-abstraction layer of the gold standard (lotluca.simulate.abstraction, docs/gold-standard.md): the
written definition on hand-built records, its properties on random records, the error rates honoured within
sampling error, and, on the simulator, a perfect abstraction reproducing the truth and errors explaining every
difference."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lotluca.config import default_config
from lotluca.simulate import abstraction as AB
from lotluca.simulate import simulate, treatment
from lotluca.simulate.params import SimSettings

ING = treatment.ING


def _bits(*names: str) -> np.uint64:
    return np.uint64(sum(1 << ING[n] for n in names))


def _settings(**sim) -> SimSettings:
    cfg = default_config(simulate=sim)
    return SimSettings.from_config(cfg["simulate"], study=cfg["study"])


def _abstraction(error_rate: float, **weights) -> AB.Abstraction:
    cfg = default_config(simulate={"abstraction": {"error_rate": error_rate, **weights}})
    return AB.Abstraction.from_config(cfg["simulate"]["abstraction"])


def _records(rows: list[tuple]) -> pd.DataFrame:
    cols = ["pid", "start", "end", "mask", "reason", "substitute", "maintenance", "stop_reason"]
    df = pd.DataFrame(rows, columns=cols)
    return df.astype({"mask": np.uint64, "substitute": np.uint64, "reason": np.int8, "stop_reason": np.int8})


PERFECT = _abstraction(0.0)
P, D, EOD, PLANNED = 0, 1, 2, 3  # treatment.REASONS codes: progression, death, end_of_data, planned_stop
IN, PR, TX, OT = AB.INITIAL, AB.PROGRESSION, AB.TOXICITY, AB.OTHER


def test_reason_codes_match_the_simulator():
    assert treatment.REASONS[AB.PROG] == "progression"
    assert [treatment.REASONS[c] for c in (P, D, EOD, PLANNED)] == [
        "progression",
        "death",
        "end_of_data",
        "planned_stop",
    ]


def test_definition_on_hand_built_records():
    """Maintenance (continuation), restart after a holiday, toxicity swap, re-challenge after progression, an
    episode flagged maintenance that opens a line, and the end reason of each line."""
    cpp, pp, doce = (
        _bits("carboplatin", "pemetrexed", "pembrolizumab"),
        _bits("pemetrexed", "pembrolizumab"),
        _bits("docetaxel"),
    )
    cis_pem, carbo_pem, carbo = (
        _bits("cisplatin", "pemetrexed"),
        _bits("carboplatin", "pemetrexed"),
        _bits("carboplatin"),
    )
    rec = _records(
        [
            (0, 0, 80, cpp, IN, 0, False, -1),  # induction
            (0, 101, 300, pp, OT, 0, True, -1),  # continuation maintenance: same line, maintenance phase
            (0, 400, 500, pp, OT, 0, True, P),  # restart after a holiday without progression: same line
            (0, 520, 600, doce, PR, 0, False, D),  # progression: line 2, died on it
            (1, 0, 60, cis_pem, IN, 0, False, -1),
            (1, 63, 120, carbo_pem, TX, carbo, False, -1),  # toxicity swap: same line, carboplatin a substitute
            (1, 300, 400, cis_pem, PR, 0, False, PLANNED),  # the same drugs after progression: a new line
            (2, 10, 50, pp, IN, 0, True, EOD),  # an episode opening a line is never maintenance
        ]
    )
    got = AB.build_lines(rec.sample(frac=1, random_state=1))  # any order
    never = AB.NEVER
    want = pd.DataFrame(
        {
            "pid": [0, 0, 1, 1, 2],
            "line_number": np.array([1, 2, 1, 2, 1], np.int16),
            "first": [0, 520, 0, 300, 10],
            "last": [500, 600, 120, 400, 50],
            "reg_mask": np.array([cpp, doce, cis_pem, cis_pem, pp], np.uint64),
            "ma_first": [101, never, never, never, never],
            "ma_last": [500, -1, -1, -1, -1],
            "ma_mask": np.array([pp, 0, 0, 0, 0], np.uint64),
            "end_reason": np.array([P, D, P, PLANNED, EOD], np.int8),
        }
    )
    pd.testing.assert_frame_equal(got, want, check_dtype=False)


_episode = st.tuples(
    st.integers(0, 3),  # pid
    st.integers(0, 2000),  # start
    st.integers(0, 300),  # duration
    st.integers(1, 2**20 - 1),  # drugs
    st.sampled_from([PR, TX, OT]),
    st.booleans(),  # maintenance
    st.sampled_from([-1, P, D, EOD, PLANNED]),
)


@settings(max_examples=100, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.lists(_episode, min_size=1, max_size=30, unique_by=lambda e: (e[0], e[1])))
def test_property_definition_on_random_records(eps):
    rec = _records([(p, s, s + d, m, r, 0, mt, sr) for p, s, d, m, r, mt, sr in eps])
    got = AB.build_lines(rec)
    srt = rec.sort_values(["pid", "start"])
    for pid, grp in srt.groupby("pid"):
        lines = got[got["pid"] == pid]
        # one line for the first episode, one more per later episode opened at progression
        assert len(lines) == 1 + int((grp["reason"].to_numpy()[1:] == PR).sum())
        assert list(lines["line_number"]) == list(range(1, len(lines) + 1))
        assert (lines["first"].to_numpy() <= lines["last"].to_numpy()).all()
        assert lines["first"].is_monotonic_increasing
        assert (lines["reg_mask"] != 0).all()
        union = np.bitwise_or.reduce(grp["mask"].to_numpy())
        assert ((lines["reg_mask"].to_numpy() | lines["ma_mask"].to_numpy()) & ~union == 0).all()
        assert lines["first"].iloc[0] == grp["start"].min() and lines["last"].max() == grp["end"].max()
    # a perfect abstraction records the chart as it is
    ep = rec.assign(line_id=np.arange(len(rec)), elsewhere=False)
    out, err = AB.abstract(np.random.default_rng(0), ep, PERFECT)
    assert err.empty
    pd.testing.assert_frame_equal(AB.build_lines(out), got)


def _big_chart(n_persons: int, rng) -> pd.DataFrame:
    """A synthetic chart: every person 3 lines of 2 episodes (the second a toxicity or other change)."""
    rows = []
    drugs = [_bits("carboplatin", "pemetrexed", "pembrolizumab"), _bits("docetaxel"), _bits("nivolumab")]
    for p in range(n_persons):
        day = 0
        for k in range(3):
            long = rng.random() < 0.5
            for e in range(2):
                length = 60 if long else 15
                reason = (IN if k == 0 else PR) if e == 0 else (TX if rng.random() < 0.5 else OT)
                rows.append((p, 10 * p + k, k + 1, day, day + length, drugs[k], reason, 0, False, False, -1))
                day += length + 10
    cols = ["pid", "line_id", "line_number", "start", "end", "mask", "reason", "substitute", "maintenance"]
    df = pd.DataFrame(rows, columns=[*cols, "elsewhere", "stop_reason"])
    df["start"] += 20000
    df["end"] += 20000
    df["eid"] = np.arange(len(df))
    return df.astype({"mask": np.uint64, "substitute": np.uint64, "reason": np.int8, "stop_reason": np.int8})


def _within(k: int, n: int, p: float) -> bool:
    return abs(k / n - p) <= 4 * np.sqrt(p * (1 - p) / n) + 1e-9


@pytest.mark.parametrize("rate", [0.02, 0.1])
def test_error_rates_are_honoured_within_sampling_error(rate):
    rng = np.random.default_rng(3)
    chart = _big_chart(4000, rng)
    a = _abstraction(rate, date_error=1.0, missed_short_line=2.0, reason_error=1.0, drug_missed=0.5)
    rec, err = AB.abstract(np.random.default_rng(4), chart, a)
    both = chart.merge(rec, on="eid", suffixes=("", "_rec"), how="left")
    # short lines (< 42 days) of persons with other lines missed at rate x 2; long lines never
    span = chart.groupby("line_id")["end"].max() - chart.groupby("line_id")["start"].min()
    short = span.index[span < 42]
    missed = both.groupby("line_id")["start_rec"].apply(lambda s: s.isna().all())
    assert not missed[~missed.index.isin(short)].any()
    assert _within(int(missed[short].sum()), len(short), min(1, 2 * rate))
    kept = both[both["start_rec"].notna()]
    kept = kept.sort_values(["pid", "start"])
    change = kept[kept["pid"].duplicated()]  # every recorded episode after a person's first
    assert _within(int((change["reason"] != change["reason_rec"]).sum()), len(change), rate)
    multi = kept[kept["mask"] == _bits("carboplatin", "pemetrexed", "pembrolizumab")]
    assert _within(int((multi["mask"] != multi["mask_rec"]).sum()), len(multi), 0.5 * rate)
    shift = kept["start_rec"] - kept["start"]
    assert _within(int((shift != 0).sum()), len(kept), rate)
    assert shift.abs().max() <= a.date_error_days
    # the errors table names every person an error touched
    touched = set(kept.loc[(shift != 0) | (kept["reason"] != kept["reason_rec"]), "pid"])
    assert touched <= set(err["pid"])


def test_missed_line_never_the_only_one_and_month_dates():
    chart = _big_chart(50, np.random.default_rng(5))
    one = chart[chart["line_number"] == 1].assign(elsewhere=True)  # one (two-episode) line per person
    a = _abstraction(1.0, missed_short_line=1.0, elsewhere_month=1.0, date_error=0.0, reason_error=0.0, drug_missed=0.0)
    rec, err = AB.abstract(np.random.default_rng(0), one, a)
    assert rec["pid"].nunique() == 50  # a person's only line is never missed
    days = rec["start"].to_numpy().astype("datetime64[D]")
    assert (days.astype(object)[0].day == 15) and all(d.day == 15 for d in days.astype(object))
    assert set(err["error"]) == {"elsewhere_month"}


def _cohort(seed: int, **sim):
    return simulate(_settings(patients=60, block_size=60, **sim), seed)


@settings(max_examples=5, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
@given(
    seed=st.integers(0, 2**31),
    traps=st.fixed_dictionaries(
        {
            k: st.floats(0, 1)
            for k in (
                "toxicity_drop",
                "toxicity_stop",
                "platinum_swap",
                "taxane_swap",
                "bevacizumab_cycle2",
                "continuation_maintenance",
                "treatment_holiday",
                "rechallenge",
                "line_elsewhere",
                "clinical_trial",
            )
        }
    ),
)
def test_property_perfect_abstraction_is_the_truth_on_the_simulator(seed, traps):
    r = _cohort(seed, traps=traps, abstraction={"error_rate": 0.0})
    agree = r["gold_agreement"].to_pandas()
    assert len(agree) == r["gold"].column("person_id").to_pandas().nunique() > 0
    assert not agree["differs"].any()
    assert not agree[list(AB.ERROR_TYPES)].to_numpy().any()


def test_errors_explain_every_difference_and_the_share_follows_the_knob():
    shares = []
    for rate in (0.0, 0.05, 0.3):
        r = simulate(_settings(patients=300, abstraction={"error_rate": rate}), 9)
        agree = r["gold_agreement"].to_pandas()
        table = AB.agreement_table(agree).set_index("group")
        assert table.loc["no_error", "persons_differing"] == 0  # no error, no difference
        assert table.loc["all", "persons"] == len(agree)
        shares.append(table.loc["all", "share_differing"])
        gold = r["gold"].to_pandas()
        assert (gold["start_date"] <= gold["end_date"]).all() and (gold["regimen"] != "").all()
        main = gold[~gold["is_maintenance"]]
        assert (main.groupby("person_id")["line_number"].agg(lambda s: list(s) == list(range(1, len(s) + 1)))).all()
    assert shares[0] == 0 < shares[1] < shares[2]


def test_new_drugs_pass_through_generically():
    """Any ingredient the simulator knows (the masks hold every one) reaches the gold regimen by name."""
    assert len(treatment.ING_NAMES) <= 64
    names = list(treatment.ING_NAMES[-3:])
    rec = _records([(0, 0, 30, _bits(*names), IN, 0, False, EOD)])
    line = AB.build_lines(rec)
    regimen, _ = treatment.mask_names(line["reg_mask"].to_numpy())
    assert set(regimen[0].split("+")) == set(names)


def test_changes_from_a_truth_table_of_changes():
    """The simulator's table of in-line changes (truth_person_id, line_number, date, kind, reason, ingredient_to)
    as the abstraction reads it: toxicity or other, the substitute of a toxicity swap, unknown lines dropped."""
    lines = pd.DataFrame({"pid": [0, 0, 1], "line_number": [1, 2, 1], "line_id": [10, 11, 12]})
    ids = np.array(["P0", "P1"])
    day = lambda d: pd.Timestamp("2020-01-01") + pd.Timedelta(days=d)  # noqa: E731
    ch = pd.DataFrame(
        {
            "truth_person_id": ["P0", "P0", "P1", "P1", "P9"],
            "line_number": [1, 2, 1, 1, 1],
            "date": [day(21), day(400), day(42), day(42), day(5)],
            "kind": ["drug_swapped", "maintenance", "drug_dropped", "drug_added", "restart"],
            "reason": ["toxicity", "planned_switch", "toxicity", "other", "other"],
            "ingredient_to": ["carboplatin", None, None, "pembrolizumab", None],
        }
    )
    got = AB.changes_from_truth(ch, lines, ids, ING)
    d0 = int(np.datetime64("2020-01-01", "D").astype(np.int64))
    assert got["line_id"].tolist() == [10, 11, 12]  # P9 unknown; two changes on one date: one, toxicity first
    assert got["date"].tolist() == [d0 + 21, d0 + 400, d0 + 42]
    assert got["reason"].tolist() == [TX, OT, TX]
    assert got["substitute"].tolist() == [_bits("carboplatin"), 0, 0]
