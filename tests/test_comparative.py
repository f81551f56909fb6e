"""Comparative effectiveness with adjustment (lotluca.effectiveness.comparative) against the confounding the
simulator knows (lotluca.simulate.confounding), and the disclosure control of its export tables."""

import numpy as np
import pandas as pd
import pytest

from lotluca.config import default_config
from lotluca.effectiveness.comparative import (
    COMPARATIVE_COUNTS,
    comparative_export,
    comparative_tables,
    compare,
    stabilised_weights,
)
from lotluca.effectiveness.settings import ComparativeSettings
from lotluca.privacy import assert_exportable
from lotluca.simulate.confounding import ConfoundingSettings, confounded_cohort, deescalation_probability


def _settings(**over) -> ConfoundingSettings:
    cfg = default_config()["simulate"]["confounding"]
    return ConfoundingSettings.from_config({**cfg, "enabled": True, **over})


@pytest.fixture(scope="module")
def confounded():
    """3000 first lines, frail persons de-escalated to carboplatin, true conditional HR 1.0 (seeded)."""
    s = _settings(or_ecog=4.0, hr_ecog=1.8, carboplatin_hr=1.0)
    df = confounded_cohort(np.random.default_rng(20), 3000, s)
    df["person_id"] = np.arange(len(df)).astype(str)
    return df, s


def test_adjustment_recovers_the_known_hazard_ratio(confounded):
    df, s = confounded
    rows, balance, _ = compare(df, ["charlson"], ["ecog"], alpha=0.05)
    r = {x["method"]: x for x in rows}
    truth = s.carboplatin_hr
    assert not (r["unadjusted"]["ci_low"] <= truth <= r["unadjusted"]["ci_high"])  # confounded: CI misses it
    assert r["unadjusted"]["ci_low"] > truth  # frail persons get carboplatin and do worse
    for method in ("cox_adjusted", "iptw"):
        assert r[method]["ci_low"] <= truth <= r[method]["ci_high"], (method, r[method])
    assert balance["smd_unadjusted"].abs().max() > 0.2
    assert balance["smd_iptw"].abs().max() < 0.05


def test_stabilised_weights_keep_each_arm_size():
    rng = np.random.default_rng(1)
    ps = rng.uniform(0.1, 0.9, 5000)
    t = (rng.random(5000) < ps).astype(int)
    w = stabilised_weights(ps, t)
    assert w[t == 1].sum() / (t == 1).sum() == pytest.approx(1.0, abs=0.05)
    assert w[t == 0].sum() / (t == 0).sum() == pytest.approx(1.0, abs=0.05)
    assert deescalation_probability([0, 3], [0, 0], _settings()).tolist()[0] == pytest.approx(0.1)


def _long(df: pd.DataFrame, n_small_arm: int) -> pd.DataFrame:
    """The confounded cohort as endpoints_long rows: carboplatin / cisplatin-pemetrexed first lines, plus
    a tiny pembrolizumab arm against chemo-IO (n_small_arm lines)."""
    reg = np.where(df["treatment"] == 1, "carboplatin+pemetrexed", "cisplatin+pemetrexed")
    long = pd.DataFrame(
        {
            "person_id": df["person_id"],
            "line_number": 1,
            "regimen": reg,
            "regimen_class": "chemo_doublet",
            "age": 65.0,
            "sex": "M",
            "ecog": df["ecog"].where(df.index % 3 > 0),  # ECOG recorded for two thirds
            "charlson": df["charlson"].where(df.index % 5 > 0),  # the SNDS proxies: no SNDS person for a fifth
            "prior_stays": (df["charlson"] // 2).where(df.index % 5 > 0),
            "endpoint": "rwTTNT",
            "months": df["months"],
            "event": df["event"],
        }
    )
    io = long.iloc[: 40 + n_small_arm].copy()
    io["person_id"] = "io" + io["person_id"]
    io["regimen"] = ["pembrolizumab"] * n_small_arm + ["carboplatin+pemetrexed+pembrolizumab"] * 40
    io["regimen_class"] = ["io_mono"] * n_small_arm + ["chemo_io"] * 40
    return pd.concat([long, io], ignore_index=True)


def test_export_tables_suppress_small_arms(confounded):
    df, s = confounded
    cfg = default_config()["effectiveness"]["comparative"]
    settings = ComparativeSettings.from_config({**cfg, "endpoints": ["rwTTNT"], "categorical": ["sex", "ecog"]})
    truth = {("first_line_carboplatin_vs_cisplatin_pemetrexed", "rwTTNT"): 1.0}
    k = 11
    raw = comparative_tables(_long(df, n_small_arm=4), settings, 0.05, k, truth)
    out = comparative_export(raw, k, "suppress")
    for name, table in out.items():
        assert_exportable(table, COMPARATIVE_COUNTS[name], k, name)  # no count in [1, k)
    hr = out["comparative"].set_index(["comparison", "method"])
    carbo = hr.loc["first_line_carboplatin_vs_cisplatin_pemetrexed"]
    assert carbo["true_hr"].eq(1.0).all() and carbo["estimate"].notna().all()
    assert set(carbo.index) == {"unadjusted", "cox_adjusted", "iptw"}
    io = hr.loc["first_line_io_alone_vs_chemo_io"]
    assert io["estimate"].isna().all() and io["n_treatment"].isna().all() and io["n_reference"].eq(40).all()
    assert "first_line_io_alone_vs_chemo_io" not in set(out["balance"]["comparison"])
    assert out["balance"]["covariate"].str.startswith("ecog[").any()  # ECOG with its "unknown" level
    assert {"charlson", "charlson[missing]", "prior_stays"} <= set(out["balance"]["covariate"])
    km = out["comparative_km"]
    assert set(km["method"]) == {"unadjusted", "iptw"} and km["median_months"].notna().all()


def test_several_lines_per_person_get_cluster_robust_variance(confounded):
    """Each person twice (identical lines): a naive CI would shrink by sqrt(2); clustered on the person
    it stays that of one line per person."""
    from lotluca.concomitant.models import cox_exposure

    df = confounded[0].iloc[:800]
    once = {r["method"]: r for r in compare(df, ["charlson"], ["ecog"], 0.05)[0]}
    twice = {r["method"]: r for r in compare(pd.concat([df, df]), ["charlson"], ["ecog"], 0.05)[0]}
    for m in ("unadjusted", "cox_adjusted", "iptw"):
        width = np.log(twice[m]["ci_high"] / twice[m]["ci_low"]) / np.log(once[m]["ci_high"] / once[m]["ci_low"])
        assert width == pytest.approx(1.0, abs=0.05), m
        assert "clustered" in twice[m]["note"]
    lines = df.assign(exposed=df["treatment"], rwTTNT_months=df["months"], rwTTNT_event=df["event"])
    one = cox_exposure(lines, "rwTTNT", [], {}, 0.05, 0.0)
    two = cox_exposure(pd.concat([lines, lines]), "rwTTNT", [], {}, 0.05, 0.0)
    assert two["hr"] == pytest.approx(one["hr"], rel=1e-3)
    assert np.log(two["upper_95"] / two["lower_95"]) == pytest.approx(
        np.log(one["upper_95"] / one["lower_95"]), rel=0.05
    )


def test_grow_page_is_filled_from_the_run_outputs():
    from lotluca.effectiveness.grow import grow_page

    km = pd.DataFrame(
        [
            {"algorithm": "gold", "scenario": "gold", "endpoint": ep, "stratum_type": "line", "stratum": "1",
             "n_persons": 123, "n_lines": 123, "n_events": 90, "median_months": m, "median_lower_95": m - 1.5,
             "median_upper_95": m + 1.5}
            for ep, m in (("rwOS", 11.23), ("rwTTNT", 6.61))
        ]
    )  # fmt: skip
    comparative = pd.DataFrame(
        [{"comparison": "c", "endpoint": "rwTTNT", "method": "iptw", "estimate": 0.97, "ci_low": 0.9,
          "ci_high": 1.05, "true_hr": 1.0}]
    )  # fmt: skip
    balance = pd.DataFrame({"comparison": "c", "endpoint": "rwTTNT", "covariate": ["a", "b"],
                            "smd_unadjusted": [0.31, -0.2], "smd_iptw": [0.02, -0.04]})  # fmt: skip
    n = 40
    endpoints = pd.DataFrame(
        {"algorithm": "gold", "line_number": 1, "exclusion": None, "person_id": [f"p{i}" for i in range(n)],
         "pdl1": ["unknown"] * 3 + [">=50%"] * (n - 3), "histology": "squamous",
         "ecog": [None] * 20 + [1.0] * 20}
    )  # fmt: skip
    eff = default_config()["effectiveness"]
    page = grow_page(km, comparative, balance, endpoints, eff, min_cell=11)
    for text in ("ESMO-GROW", "123", "11.2", "6.6", "0.97", "0.31", "| ecog | 20 | 50.0 |", "| pdl1 | <11 | - |"):
        assert text in page, text
    assert "last date seen alive" in page and "Delayed entry" in page
    assert "456" in grow_page(km.assign(n_persons=456), comparative, balance, endpoints, eff, min_cell=11)


def test_confounding_settings_are_the_schema_keys_and_the_block_is_on_by_default():
    import dataclasses

    from lotluca.config import schema
    from lotluca.simulate import sim_settings

    spec = schema()["properties"]["simulate"]["properties"]["confounding"]["properties"]
    assert {f.name for f in dataclasses.fields(ConfoundingSettings)} == set(spec)
    assert all(f.default is dataclasses.MISSING for f in dataclasses.fields(ConfoundingSettings))
    s = sim_settings({}).confounding
    for name, p in spec.items():
        want = tuple(p["default"]) if isinstance(p["default"], list) else p["default"]
        assert getattr(s, name) == want, name
    assert s.enabled


def test_centred_mapping_keeps_the_average_survival_and_gives_proportional_hazards():
    """centred_factor: the population-average survival of a group stays its baseline, and two frailty
    levels of one group have exactly the hazard ratio of their multipliers (Cox on the moved times)."""
    from lifelines import CoxPHFitter

    from lotluca.simulate.confounding import centred_factor

    rng = np.random.default_rng(3)
    n = 20000
    t0 = np.rint(np.exp(np.log(180) + 0.8 * rng.standard_normal(n)))  # whole days: ties
    hr = np.where(rng.random(n) < 0.4, 2.0, 1.0) * np.where(rng.random(n) < 0.5, 1.5, 1.0)
    t = t0 * centred_factor(np.random.default_rng(4), t0, hr, np.zeros(n, int))
    # the population-average survival is the baseline: same quantiles (KS distance small)
    grid = np.quantile(t0, np.linspace(0.05, 0.95, 19))
    s0 = (t0[:, None] > grid).mean(axis=0)
    s1 = (t[:, None] > grid).mean(axis=0)
    assert np.abs(s1 - s0).max() < 0.02
    f = pd.DataFrame({"T": t, "E": 1, "x": np.log(hr)})
    coef = CoxPHFitter().fit(f, "T", "E").params_["x"]
    assert abs(coef - 1.0) < 0.05  # HR per unit of log(hr): 1 means exactly hr
    # uncentred (concomitant.rwttnt_factor) the survival shortens; centred it does not
    from lotluca.simulate.concomitant import rwttnt_factor

    short = t0 * rwttnt_factor(np.random.default_rng(4), t0, hr, np.zeros(n, int))
    assert np.median(short) < 0.8 * np.median(t0) and abs(np.median(t) / np.median(t0) - 1) < 0.05


def test_simulator_hooks_confound_the_carboplatin_comparison():
    """The whole generator with the block on: first-line carboplatin-pemetrexed persons are frailer than
    cisplatin-pemetrexed ones; off, the persons carry no ECOG."""
    from lotluca.simulate import regimens as R
    from lotluca.simulate import sim_settings, simulate

    r = simulate(sim_settings({"patients": 1500, "block_size": 1500, "confounding": {"enabled": True}}), 5)
    lines, persons = r["_lines"], r["_persons"]
    first = lines[lines["line_number"] == 1]
    ecog = persons["ecog"].to_numpy()[first["pid"].to_numpy()]
    carbo = ecog[first["regimen"].to_numpy() == R.INDEX["carbo_pem"]].mean()
    cis = ecog[first["regimen"].to_numpy() == R.INDEX["cis_pem"]].mean()
    assert carbo > cis + 0.1
    odh = r["odh"]["odh_patients"].column("ecog").to_pandas()
    assert 0.5 < odh.notna().mean() < 0.7 and odh.dropna().between(0, 3).all()
    off = simulate(sim_settings({"patients": 200, "block_size": 200, "confounding": {"enabled": False}}), 5)
    assert (off["_persons"]["ecog"] == -1).all() and off["odh"]["odh_patients"].column("ecog").null_count == 200


def test_delayed_entry_with_lines_ending_on_their_start_day_is_fitted(confounded):
    """A line with no delayed entry that ends on its start day (months 0, e.g. a one-day rwTTD) beside
    delayed entries: lifelines refuses entry >= duration, the analysis must still fit and agree with the
    Efron fit of lotluca.effectiveness.cox (tested against lifelines), which keeps such a line at risk at 0."""
    from lotluca.effectiveness.cox import fit_cox

    df = confounded[0].iloc[:600].copy()
    df["entry"] = np.where(np.arange(len(df)) % 7 == 0, df["months"] * 0.3, 0.0)
    zero = (np.arange(len(df)) % 11 == 1) & (df["entry"] == 0).to_numpy()  # late entrants: left out upstream
    df.loc[zero, "months"] = 0.0
    assert ((df["entry"] == 0) & (df["months"] == 0)).sum() > 40
    rows = {r["method"]: r for r in compare(df, ["charlson"], ["ecog"], alpha=0.05)[0]}
    assert np.isfinite(rows["unadjusted"]["estimate"]), rows["unadjusted"]["note"]
    assert all(np.isfinite(r["estimate"]) for r in rows.values())
    beta, ok = fit_cox(df[["treatment"]].to_numpy(float), df["months"], df["event"], entry=df["entry"])
    assert ok and rows["unadjusted"]["estimate"] == pytest.approx(float(np.exp(beta[0])), rel=1e-4)
