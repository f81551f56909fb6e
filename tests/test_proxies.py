"""Confounder proxies from the SNDS (lotluca.effectiveness.proxies) on the simulator's PMSI comorbidities
(lotluca.simulate.comorbidity): the Charlson index and prior stays computed from the extracted diagnoses
track the simulated Charlson index, and adjusting for them moves the confounded carboplatin- vs
cisplatin-pemetrexed hazard ratio toward the known truth."""

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from lotluca.config import default_config
from lotluca.effectiveness.comparative import compare
from lotluca.effectiveness.proxies import code_conditions, line_proxies
from lotluca.effectiveness.settings import ComparativeSettings
from lotluca.simulate import comorbidity
from lotluca.simulate import regimens as R

# stronger confounding than the default, so that 6,000 patients show it (the knobs of the effect sizes only)
STRONG = {"deescalation": 0.2, "or_ecog": 4.0, "or_charlson": 2.0, "hr_ecog": 2.0, "hr_charlson": 1.4}
SETTINGS = ComparativeSettings.from_config(default_config()["effectiveness"]["comparative"])


def test_rendered_codes_map_back_to_their_condition_and_scores_split_exactly():
    for cond, codes in comorbidity.CODES.items():
        assert code_conditions(pd.Series(codes)).eq(cond).all(), cond
    assert code_conditions(pd.Series(["C341", "J189", "E112", "I64"])).tolist()[1] is np.nan
    names, weight, _ = comorbidity.conditions()
    score = np.arange(9).repeat(50)
    has = comorbidity.split_score(np.random.default_rng(1), score)
    assert (has @ weight == score).all()
    pos = {c: i for i, c in enumerate(names)}
    for a, b in comorbidity.EXCLUSIVE:
        assert not (has[:, pos[a]] & has[:, pos[b]]).any()


def test_charlson_hierarchy_window_and_exclusions():
    d = pd.DataFrame(
        {
            "person_id": "S1",
            "date": pd.to_datetime(
                ["2020-01-10", "2020-02-01", "2020-03-01", "2018-01-01", "2020-03-05", "2020-06-01"]
            ),
            "code": ["E119", "E112", "C787", "I500", "J449", "I219"],
            "position": "main",
            "ghm": ["23M20T", "23M20T", "28Z07Z", "23M20T", "23M20T", "23M20T"],
            "origin": ["a", "b", "c", "d", "e", "f"],
        }
    )
    lines = pd.DataFrame({"person_id": ["O1", "O2"], "start_date": pd.to_datetime(["2020-04-01", "2020-04-01"])})
    links = pd.DataFrame({"odh_patient_id": ["O1"], "snds_person_id": ["S1"]})
    out = line_proxies(lines, d, links, SETTINGS)
    # diabetes with complication (2) replaces the uncomplicated one, COPD 1; the metastasis is excluded, the
    # heart failure of 2018 is out of the window, the infarction after the index too; the session is no stay
    assert out.loc[0, "charlson"] == 3 and out.loc[0, "prior_stays"] == 3
    assert out.loc[1].isna().all()  # no SNDS person: missing


@pytest.fixture(scope="module")
def cohort(tmp_path_factory):
    """A simulated cohort (default knobs) with its SNDS diagnoses extracted the way the workflow does."""
    from lotluca.extract.common import ExtractSettings
    from lotluca.extract.diagnoses import extract_diagnoses
    from lotluca.simulate import sim_settings, simulate

    s = sim_settings(
        {
            "patients": 6000,
            "block_size": 6000,
            "decoy_ratio": 0,
            "identification_decoys": {"enabled": False},
            "confounding": STRONG,
        }
    )
    r = simulate(s, 11)
    tmp = tmp_path_factory.mktemp("proxies")
    files = []
    for name in ("IR_BEN_R", "T_MCOaaB", "T_MCOaaC", "T_MCOaaD"):
        pq.write_table(r["snds"][name], tmp / f"{name}.parquet")
        files.append(tmp / f"{name}.parquet")
    cfg = default_config()
    diag, _ = extract_diagnoses(files, ExtractSettings.for_study(cfg["study"], cfg["extract"]))
    return r, diag.to_pandas(), s


def test_adjusting_for_the_data_proxies_reduces_the_confounding_bias(cohort):
    """First-line carboplatin- vs cisplatin-pemetrexed on the true rwTTNT (true HR 1.0, conditional on ECOG
    and Charlson). Covariates from the data only: the ECOG the centre recorded (missing indicator) and the
    Charlson index and prior stays computed from the extracted PMSI diagnoses (the SNDS person from the
    simulation's identifiers, not the probabilistic linkage). One seed, no tuning on it."""
    r, diag, s = cohort
    P, L = r["_persons"], r["_lines"].sort_values(["pid", "line_number"])
    end = int((np.datetime64(s.end_date) - np.datetime64("1970-01-01")).astype(int))
    nxt = L.groupby("pid")["first"].shift(-1).to_numpy(float)
    death = r["_death"][L["pid"].to_numpy()].astype(float)
    ev = np.fmin(np.where(np.isnan(nxt), np.inf, nxt), np.where(death <= end, death, np.inf))
    first = (L["line_number"] == 1).to_numpy() & np.isin(L["regimen"], [R.INDEX["carbo_pem"], R.INDEX["cis_pem"]])
    first &= ~P["is_decoy"].to_numpy()[L["pid"].to_numpy()]
    sub = L[first]
    pid = sub["pid"].to_numpy()
    odh = r["odh"]["odh_patients"].to_pandas().set_index("odh_patient_id")["ecog"]
    df = pd.DataFrame(
        {
            "person_id": P["ben_idt_ano"].to_numpy()[pid],
            "start_date": pd.to_datetime(
                np.datetime64("1970-01-01") + sub["first"].to_numpy().astype("timedelta64[D]")
            ),
            "treatment": (sub["regimen"].to_numpy() == R.INDEX["carbo_pem"]).astype(int),
            "months": (np.where(np.isfinite(ev[first]), ev[first], end) - sub["first"].to_numpy()) / 30.4375,
            "event": np.isfinite(ev[first]).astype(int),
            "ecog": odh.reindex(P["odh_patient_id"].to_numpy()[pid]).to_numpy(),
        }
    )
    df["true_charlson"] = P["charlson"].to_numpy()[pid]
    df = df[df["months"] > 0].reset_index(drop=True)
    df[["charlson", "prior_stays"]] = line_proxies(df, diag, None, SETTINGS).to_numpy()
    # the data's Charlson index tracks the simulated one (coded conditions only, so never above it)
    assert df["charlson"].notna().all() and (df["charlson"] <= df["true_charlson"]).all()
    assert np.corrcoef(df["charlson"].astype(float), df["true_charlson"])[0, 1] > 0.6
    full = compare(df, ["charlson", "prior_stays"], ["ecog"], 0.05)[0]
    est = {r["method"]: r for r in full}
    bias = {m: abs(np.log(r["estimate"])) for m, r in est.items()}
    # measured (seed 11): unadjusted 1.11 (0.94-1.30); ECOG only: adjusted Cox 1.01, IPTW 1.01;
    # ECOG + Charlson + prior stays: adjusted Cox 1.00 (0.85-1.18), IPTW 0.99 (0.85-1.16)
    assert est["unadjusted"]["estimate"] > 1.05  # frail persons get carboplatin: confounded
    for m in ("cox_adjusted", "iptw"):
        assert bias[m] < 0.5 * bias["unadjusted"], (m, est[m], est["unadjusted"])
        assert est[m]["ci_low"] <= 1.0 <= est[m]["ci_high"]


def test_prior_stays_are_appended_without_changing_any_other_row():
    """simulate.comorbidity draws from its own stream: with it off, every table is the same, and the PMSI
    tables are the rows of the stays before it (the prior stays come after, numbered after them)."""
    from lotluca.simulate import sim_settings, simulate

    on = simulate(sim_settings({"patients": 300, "block_size": 300}), 4)
    off = simulate(sim_settings({"patients": 300, "block_size": 300, "comorbidity": {"enabled": False}}), 4)
    for name, table in off["snds"].items():
        if name in ("T_MCOaaB", "T_MCOaaC", "T_MCOaaD"):
            extra = on["snds"][name].slice(table.num_rows)
            assert on["snds"][name].slice(0, table.num_rows).equals(table) and extra.num_rows > 0, name
        else:
            assert on["snds"][name].equals(table), name
    b = on["snds"]["T_MCOaaB"].slice(off["snds"]["T_MCOaaB"].num_rows).to_pandas()
    assert (b["GRG_GHM"] == comorbidity.GHM).all() and b["RSA_NUM"].min() > off["snds"]["T_MCOaaB"][
        "RSA_NUM"
    ].to_numpy().max()
    assert off["gold"].equals(on["gold"]) and off["odh"]["odh_patients"].equals(on["odh"]["odh_patients"])
