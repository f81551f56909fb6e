"""Censoring at the last date seen alive (effectiveness.censoring) and the last-seen dates of the sources."""

import pandas as pd
import pytest

from lotluca.effectiveness import compute_endpoints
from lotluca.errors import InputError
from test_survival import ENDPOINT_OPTIONS, D, line, months, person


def _persons():
    a = person("A", eof="2025-12-31") | {"last_seen_date": D("2021-03-01")}  # lost to follow-up, death unknown
    b = person("B", death="2022-01-01", eof="2022-01-01") | {"last_seen_date": D("2021-03-01")}  # death recorded
    c = person("C", eof="2025-12-31") | {"last_seen_date": pd.NaT}  # never seen: keeps the end of data
    return pd.DataFrame([a, b, c])


@pytest.fixture
def lines():
    return pd.DataFrame([line(p, 1, "2020-06-01", "2020-09-01") for p in "ABC"])


def test_last_seen_censors_persons_without_a_death(lines):
    ep = compute_endpoints(lines, _persons(), **ENDPOINT_OPTIONS, censoring="last_seen").set_index("person_id")
    assert ep.loc["A", "rwOS_months"] == pytest.approx(months("2020-06-01", "2021-03-01"))
    assert ep.loc["A", "rwOS_event"] == 0
    assert ep.loc["B", "rwOS_months"] == pytest.approx(months("2020-06-01", "2022-01-01"))  # the death ends it
    assert ep.loc["B", "rwOS_event"] == 1
    assert ep.loc["C", "rwOS_months"] == pytest.approx(months("2020-06-01", "2025-12-31"))
    # the line stopped 2020-09-01 and A was last seen 2021-03-01: 181 days >= 120, a discontinuation
    assert ep.loc["A", "rwTTD_event"] == 1 and ep.loc["A", "end_of_followup"] == D("2021-03-01")


def test_end_of_data_keeps_the_former_behaviour(lines):
    ep = compute_endpoints(lines, _persons(), **ENDPOINT_OPTIONS, censoring="end_of_data").set_index("person_id")
    assert ep.loc["A", "rwOS_months"] == pytest.approx(months("2020-06-01", "2025-12-31"))
    with pytest.raises(InputError, match="censoring"):
        compute_endpoints(lines, _persons(), **ENDPOINT_OPTIONS, censoring="whenever")


def test_a_line_after_the_last_contact_is_excluded_not_dropped():
    lines = pd.DataFrame([line("A", 1, "2020-06-01", "2020-09-01"), line("A", 2, "2021-06-01", "2021-08-01")])
    ep = compute_endpoints(lines, _persons().iloc[:1], **ENDPOINT_OPTIONS, censoring="last_seen")
    assert list(ep["exclusion"].fillna("")) == ["", "starts_after_end_of_followup"]
    assert ep.loc[0, "rwTTNT_months"] == pytest.approx(months("2020-06-01", "2021-03-01"))
    assert ep.loc[0, "rwTTNT_event"] == 0  # the next line is after the end of follow-up: not observed


def test_delayed_entry_of_a_referred_person():
    """A's first line was given elsewhere: the centre first saw A at the start of line 2."""
    from lotluca.effectiveness import endpoints_long

    lines = pd.DataFrame([line("A", 1, "2020-06-01", "2020-09-01"), line("A", 2, "2020-11-01", "2021-01-01")])
    persons = pd.DataFrame([person("A", death="2021-06-01", eof="2021-06-01") | {"first_seen_date": D("2020-11-01")}])
    ep = compute_endpoints(lines, persons, **ENDPOINT_OPTIONS, delayed_entry=True)
    assert ep["entry_months"].tolist() == pytest.approx([months("2020-06-01", "2020-11-01"), 0.0])
    long = endpoints_long(ep, entry=True)
    first = long[long["line_number"] == 1].set_index("endpoint")
    # line 1's time to next treatment ends when A is first seen: never at risk while observed, left out
    assert "rwTTNT" not in first.index and "rwOS" in first.index
    assert first.loc["rwOS", "entry"] == pytest.approx(months("2020-06-01", "2020-11-01"))
    plain = compute_endpoints(lines, persons, **ENDPOINT_OPTIONS)
    assert plain["entry_months"].eq(0).all() and len(endpoints_long(plain, entry=True)) == 8


def test_km_with_delayed_entry_removes_the_immortal_time_bias():
    """Exponential survival (median 10 months) observed only for persons alive at a random referral time:
    the KM that ignores the entry overstates the median, the left-truncated KM recovers it; the at-risk
    count at 0 excludes the late entrants."""
    import numpy as np

    from lotluca.effectiveness.km import km_tables

    rng = np.random.default_rng(3)
    t = rng.exponential(10 / np.log(2), 20000)
    entry = rng.uniform(0, 8, t.size)
    seen = t > entry
    long = pd.DataFrame({"months": t[seen], "event": 1, "entry": entry[seen], "endpoint": "rwOS"})
    long = long.assign(person_id=np.arange(len(long)), line_number=1, line_group="1", regimen_class="x")
    summary, _, at_risk = km_tables(long, times=[0, 6], curve_step=1.0, alpha=0.05, min_at_risk=5)
    naive, *_ = km_tables(long.drop(columns="entry"), times=[0], curve_step=1.0, alpha=0.05, min_at_risk=5)
    med = summary.loc[summary["stratum_type"] == "line", "median_months"].iloc[0]
    assert med == pytest.approx(10, rel=0.05)
    assert naive.loc[naive["stratum_type"] == "line", "median_months"].iloc[0] > 12
    line_risk = at_risk[at_risk["stratum_type"] == "line"].set_index("months")["at_risk"]
    assert line_risk[0] == 0 and line_risk[6] == ((long["entry"] < 6) & (long["months"] >= 6)).sum()


def test_fast_km_median_and_cox_with_delayed_entry_match_lifelines():
    """The bootstrap's numpy KM median and Efron Cox take the delayed entry as lifelines does (at risk
    from entry < t), with ties and integer case weights."""
    import warnings

    import numpy as np
    from lifelines import CoxPHFitter, KaplanMeierFitter

    from lotluca.effectiveness import fit_cox, km_median

    rng = np.random.default_rng(1)
    x = rng.normal(size=(600, 2))
    t = np.rint(rng.exponential(10 * np.exp(-0.5 * x[:, 0]))) + 1
    a = np.where(rng.random(600) < 0.4, np.rint(rng.uniform(0, 8, 600)), 0.0)
    ok = a < t
    x, t, a = x[ok], t[ok], a[ok]
    e = (rng.random(ok.sum()) < 0.8).astype(int)
    w = rng.integers(0, 3, ok.sum())
    df = pd.DataFrame({"x0": x[:, 0], "x1": x[:, 1], "T": t, "E": e, "a": a}).loc[np.repeat(np.arange(len(t)), w)]
    with warnings.catch_warnings():  # case weights: lifelines on the repeated rows
        warnings.simplefilter("ignore")
        ref = CoxPHFitter().fit(df, "T", "E", entry_col="a").params_.to_numpy()
        kmf = KaplanMeierFitter().fit(df["T"], df["E"], entry=df["a"])
    beta, converged = fit_cox(x, t, e, w, entry=a)
    assert converged and beta == pytest.approx(ref, abs=1e-5)
    assert km_median(t, e, w, entry=a) == kmf.median_survival_time_


def test_bias_bootstrap_uses_the_delayed_entry_of_the_main_analysis():
    """effectiveness.delayed_entry true: the bias table's gold median is the left-truncated KM median of
    the main analysis (km_summary), not the naive one; false: the naive one."""
    import numpy as np

    from lotluca.config import default_config
    from lotluca.effectiveness.analysis import bias_tables, export_tables
    from lotluca.effectiveness.settings import EffectivenessSettings
    from lotluca.privacy import PrivacySettings

    rng = np.random.default_rng(5)
    n = 400
    rows = []
    for i in range(n):
        t = float(np.rint(rng.exponential(12)) + 1)
        a = float(np.rint(rng.uniform(0, 10))) if i % 3 == 0 else 0.0
        if a >= t:
            a = 0.0
        rows.append({"person_id": f"P{i:04d}", "t": t, "a": a, "cls": "chemo_io" if i % 2 else "chemo_doublet"})
    base = {
        "line_number": 1,
        "line_group": "1",
        "regimen": "r",
        "age": 65.0,
        "sex": "M",
        "histology": "non_squamous",
        "pdl1": "unknown",
        "era": "2019+",
        "ecog": pd.NA,
        "exclusion": None,
    }
    ep = pd.DataFrame(
        [
            {**base, "person_id": r["person_id"], "regimen_class": r["cls"], "entry_months": r["a"]}
            | {f"{e}_months": r["t"] for e in ("rwTTNT", "rwTTNT_dc", "rwTTD", "rwOS")}
            | {f"{e}_event": 1 for e in ("rwTTNT", "rwTTNT_dc", "rwTTD", "rwOS")}
            for r in rows
        ]
    )
    ep = pd.concat([ep.assign(algorithm="gold", scenario="gold"), ep.assign(algorithm="a", scenario="linked")])
    p = PrivacySettings.from_config(default_config()["privacy"])
    medians = {}
    for delayed in (True, False):
        cfg = default_config(effectiveness={"delayed_entry": delayed, "bootstrap": 5})["effectiveness"]
        s = EffectivenessSettings.from_config(cfg)
        bias, _ = bias_tables(ep, s, p, seed=1)
        km = export_tables(ep[ep["algorithm"] == "gold"], s, p)["km_summary"]
        row = bias[(bias["endpoint"] == "rwOS") & (bias["line_group"] == "1")].iloc[0]
        main = km[(km["endpoint"] == "rwOS") & (km["stratum"].astype(str) == "1")]["median_months"].iloc[0]
        assert row["median_gold"] == pytest.approx(main)
        assert row["median_diff"] == 0 and row[[c for c in bias.columns if c.startswith("hr_ratio_l")]].iloc[0] == 1
        medians[delayed] = row["median_gold"]
    assert medians[True] < medians[False]  # the immortal time before the entry no longer counts
