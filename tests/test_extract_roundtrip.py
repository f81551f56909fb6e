"""Extraction (issue 3): round trip simulate -> extract recovers the simulated exposures exactly.

The simulator's clinical truth (results/simulated/truth/clinical_truth.parquet) records, for every
true administration or dispensation, the source channel it was rendered to and the key of its raw row.
Per the visibility rules: every event observed in ODH is one ODH exposure with its row id, ingredient
and ODH date; every event observed in the SNDS is one SNDS exposure (pharmacy: ER_PHA_F row by
DCT_ORD_NUM; en-sus: the T_MCOaaMED / T_MCOaaFH row of its stay; DCIR copies of private-clinic drugs:
ER_UCD_F) or one 28Z07Z chemo session (cheap IV chemotherapy); nothing else is extracted except the
documented noise (non-cancer pharmacy boxes, duplicated ODH rows, sessions of stays whose drug row is
missing).
"""

from __future__ import annotations

import pandas as pd
import pytest

from lotluca.extract import accounting, pipeline

pytestmark = pytest.mark.workflow


@pytest.fixture(scope="module")
def cohort(tmp_path_factory):
    from lotluca.simulate import simulate_to_files

    root = tmp_path_factory.mktemp("roundtrip")
    # the identification decoys (small-cell, adjuvant, stage III...: lotluca.simulate.decoys) are rendered
    # without clinical-truth rows; their extraction is checked by tests/test_identify.py
    simulate_to_files({"patients": 400, "identification_decoys": {"enabled": False}}, {}, 7, root / "sim", "parquet")
    acc_s = pipeline.run_snds(
        pipeline.find_tables(root / "sim" / "snds", pipeline.SNDS_TABLES), root / "out" / "snds", {}
    )
    acc_o = pipeline.run_odh(pipeline.find_tables(root / "sim" / "odh", pipeline.ODH_TABLES), root / "out" / "odh", {})
    truth = pd.read_parquet(root / "sim" / "truth" / "clinical_truth.parquet")
    for c in ("date", "odh_date", "snds_date"):
        truth[c] = truth[c].astype(str)
    return {"truth": truth, "out": root / "out", "acc": pd.concat([acc_s, acc_o])}


def _snds_exposures(out) -> pd.DataFrame:
    e = pd.read_parquet(out / "snds" / "exposures.parquet")
    table, rest = e["origin"].str.split(":", n=1).str[0], e["origin"].str.split(":", n=1).str[1]
    parts = rest.str.split("/")
    e["table"] = table
    e["key"] = parts.str[0]  # ER_PHA_F / ER_UCD_F: DCT_ORD_NUM first of the 9 DCIR keys
    stay = table.isin(["T_MCOaaMED", "T_MCOaaMEDATU", "T_MCOaaFH"])
    e.loc[stay, "key"] = parts[stay].str[0] + ":" + parts[stay].str[1]  # ETA_NUM:RSA_NUM of the stay
    e["date"] = e["date"].astype(str)
    return e


def test_accounting_balances(cohort):
    assert accounting.balance(cohort["acc"])["balanced"].all()


def test_odh_round_trip_exact(cohort):
    t = cohort["truth"]
    o = pd.read_parquet(cohort["out"] / "odh" / "exposures.parquet")
    obs = t[t["observed_odh"]]
    truth = set(
        zip(
            obs["odh_patient_id"],
            obs["odh_table"] + ":" + obs["odh_row_id"],
            obs["ingredient"],
            obs["odh_date"],
            strict=True,
        )
    )
    got = set(zip(o["person_id"], o["origin"], o["ingredient"], o["date"].astype(str), strict=True))
    assert truth <= got
    duplicates = set(obs["odh_extra_keys"].dropna()) - {""}
    assert {x for x in got - truth if x[1] not in duplicates} == set()
    assert len(o) == len(got)


def test_snds_pharmacy_round_trip_exact(cohort):
    t, e = cohort["truth"], _snds_exposures(cohort["out"])
    obs = t[t["observed_snds"] & (t["snds_table"] == "ER_PHA_F")]
    truth = set(zip(obs["ben_idt_ano"], obs["snds_key"], obs["ingredient"], obs["snds_date"], strict=True))
    ph = e[e["source"] == "snds_pharmacy"]
    got = set(zip(ph["person_id"], ph["key"], ph["ingredient"], ph["date"], strict=True))
    assert truth <= got
    extra = ph[
        ~pd.Series(
            [x in truth for x in zip(ph["person_id"], ph["key"], ph["ingredient"], ph["date"], strict=True)],
            index=ph.index,
        )
    ]
    assert set(extra["drug_class"]) <= {"ppi", "corticosteroid", "antibiotic"}  # unrelated-care noise only
    # days of supply: end_date - date as in the truth (one box of days_per_pack)
    m = obs.merge(ph, left_on=["ben_idt_ano", "snds_key"], right_on=["person_id", "key"])
    span = pd.to_datetime(m["end_date_y"]) - pd.to_datetime(m["date_y"])
    assert (span == pd.to_datetime(m["end_date_x"]) - pd.to_datetime(m["date_x"])).all()


@pytest.mark.parametrize("table", ["T_MCOaaMED", "T_MCOaaMEDATU", "T_MCOaaFH"])
def test_snds_en_sus_round_trip_exact(cohort, table):
    t, e = cohort["truth"], _snds_exposures(cohort["out"])
    obs = t[t["observed_snds"] & (t["snds_table"] == table)]
    truth = set(zip(obs["ben_idt_ano"], obs["snds_key"], obs["ingredient"], obs["snds_date"], strict=True))
    sub = e[e["table"] == table]
    got = set(zip(sub["person_id"], sub["key"], sub["ingredient"], sub["date"], strict=True))
    assert len(obs) > 0 and got == truth and len(sub) == len(obs)  # date = stay admission + DELAI / DEL_DAT_ENT


def test_snds_dcir_ucd_copies(cohort):
    t, e = cohort["truth"], _snds_exposures(cohort["out"])
    copies = t[t["snds_extra_keys"].fillna("").str.startswith("ER_UCD_F:")]
    truth = set(
        zip(
            copies["ben_idt_ano"],
            copies["snds_extra_keys"].str.slice(9),
            copies["ingredient"],
            copies["snds_date"],
            strict=True,
        )
    )
    u = e[e["table"] == "ER_UCD_F"]
    assert set(zip(u["person_id"], u["key"], u["ingredient"], u["date"], strict=True)) == truth
    assert set(u["source"]) <= {"snds_en_sus"}


def test_snds_chemo_sessions(cohort):
    t = cohort["truth"]
    s = pd.read_parquet(cohort["out"] / "snds" / "chemo_sessions.parquet")
    s_keys = set(zip(s["person_id"], s["origin"].str.slice(len("T_MCOaaB:")).str.replace("/", ":"), strict=True))
    obs = t[t["observed_snds"] & (t["snds_table"] == "T_MCOaaB")]
    assert set(zip(obs["ben_idt_ano"], obs["snds_key"], strict=True)) <= s_keys  # cheap IV chemo: one session per stay
    s_dated = set(
        zip(
            s["person_id"],
            s["origin"].str.slice(len("T_MCOaaB:")).str.replace("/", ":"),
            s["date"].astype(str),
            strict=True,
        )
    )
    assert set(zip(obs["ben_idt_ano"], obs["snds_key"], obs["snds_date"], strict=True)) <= s_dated
    # every session is the stay of some true IV administration of that person (observed or not)
    iv = t[(t["route"] == "iv") & (t["ingredient"] != "trial_drug")]
    days = set(zip(iv["ben_idt_ano"], iv["date"], strict=True))
    per_session = [
        any((p, str((pd.Timestamp(d) + pd.Timedelta(days=k)).date())) in days for k in (-1, 0, 1))
        for p, d in zip(s["person_id"], s["date"], strict=True)
    ]
    assert all(per_session), f"{per_session.count(False)} of {len(s)} sessions without a true IV administration"


def test_nothing_from_filtered_noise(cohort):
    acc = cohort["acc"]
    rules = set(acc.loc[acc["outcome"] == "filtered", "rule"])
    assert {"dpn_qlf_71", "ete_ind_taa_1", "pharmacy_reversal", "ghm_90_error", "return_code_not_0"} <= rules
    # the simulated cohort is clean data: the only quarantine is of rows dated after study.end_date
    assert set(acc.loc[acc["outcome"] == "rejected", "rule"]) <= {"date_out_of_study_period", "parent_rejected"}
