"""The SNDS-only identification (lotluca.identify): every rule on small hand-made tables, a property test,
the quality computation, the docs table and the tiny study's outputs."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lotluca.config import default_config
from lotluca.identify import rules
from lotluca.identify.quality import quality
from lotluca.identify.readme import BEGIN, END, quality_table, splice
from lotluca.identify.settings import IdentifySettings
from lotluca.layout import path as layout_path

S = IdentifySettings.from_config(default_config()["identify"])
START, END_ = pd.Timestamp("2018-01-01"), pd.Timestamp("2024-12-31")
D = pd.Timestamp


def diag(rows):
    return pd.DataFrame(rows, columns=["person_id", "date", "code", "position", "ghm", "origin"]).astype(
        {"date": "datetime64[ns]"}
    )


def ald(rows=()):
    return pd.DataFrame(list(rows), columns=["person_id", "start_date", "code"]).astype(
        {"start_date": "datetime64[ns]"}
    )


def expo(rows=()):
    return pd.DataFrame(list(rows), columns=["person_id", "date", "ingredient"]).astype({"date": "datetime64[ns]"})


def sess(rows=()):
    return pd.DataFrame(list(rows), columns=["person_id", "date"]).astype({"date": "datetime64[ns]"})


def stay(p, day, code, pos="main", ghm="04M132", origin=None):
    return [p, D(day), code, pos, ghm, origin or f"B:{p}:{day}:{ghm}"]


def test_c34_main_related_or_ald_and_share():
    d = diag(
        [
            stay("a", "2019-01-01", "C341"),
            stay("b", "2019-01-01", "C509"),
            stay("b", "2019-02-01", "C780", "associated"),
            stay("b", "2019-03-01", "C349", "associated"),  # secondary C34 only: not lung cancer
            stay("c", "2019-01-01", "C509"),
            stay("c", "2019-02-01", "C509"),
            stay("c", "2019-03-01", "C341", "related"),  # a third of cancer stays: below the share
            stay("e", "2019-01-01", "C450"),  # mesothelioma
        ]
    )
    out = rules.c34_evidence(d, ald([["d", "2019-05-01", "C343"]]), S)
    assert sorted(out.index) == ["a", "d"]
    assert out.loc["d", "first_c34"] == D("2019-05-01")


def test_metastasis_codes_are_distant_only():
    d = diag([stay("a", "2019-01-01", "C771", "associated"), stay("b", "2019-01-01", "C787", "associated")])
    assert list(rules.metastasis_evidence(d, S)["person_id"]) == ["b"]


def test_prevalent_by_lookback_stay_ald_or_drug():
    c34 = pd.DataFrame({"first_c34": [D("2017-06-01"), D("2019-01-01"), D("2019-01-01")]}, index=["a", "b", "c"])
    e = expo([["c", "2017-12-01", "osimertinib"], ["b", "2019-02-01", "pembrolizumab"]])
    assert sorted(rules.prevalent(c34, e, START, S)) == ["a", "c"]


def test_consolidation_and_adjuvant_are_not_evidence():
    rt = sess([["a", "2019-01-10"]])
    surgery = sess([["b", "2019-01-10"]])
    e = expo(
        [
            ["a", "2019-03-01", "durvalumab"],  # consolidation
            ["a", "2021-06-01", "pembrolizumab"],  # progression: evidence
            ["b", "2019-03-01", "osimertinib"],  # adjuvant
            ["c", "2019-03-01", "osimertinib"],  # no surgery: evidence
        ]
    )
    ev = rules.drug_evidence(e, rt, surgery, S)
    assert sorted(map(tuple, ev[["person_id", "date"]].astype(str).to_numpy())) == [
        ("a", "2021-06-01"),
        ("c", "2019-03-01"),
    ]


def test_chemotherapy_sessions_away_from_curative_context():
    s = sess([["a", "2019-01-01"], ["a", "2019-01-22"], ["b", "2019-01-01"], ["b", "2019-01-22"]])
    rt = sess([["b", "2019-01-05"]])
    ev = rules.chemo_evidence(s, rt, sess(), S)
    assert list(ev["person_id"]) == ["a"] and ev["date"].iloc[0] == D("2019-01-22")


def test_small_cell_pattern():
    e = expo(
        [
            ["sc", "2019-01-01", "atezolizumab"],
            ["nsclc", "2019-01-01", "atezolizumab"],
            ["peme", "2019-01-01", "atezolizumab"],
            ["peme", "2019-05-01", "pemetrexed"],
        ]
    )
    s = sess(
        [["sc", "2019-01-01"], ["sc", "2019-01-02"], ["sc", "2019-01-03"], ["nsclc", "2019-01-01"]]
        + [["peme", "2019-01-01"], ["peme", "2019-01-02"]]
    )
    assert list(rules.small_cell(e, s, S)) == ["sc"]


def test_date_and_histology():
    d = diag([stay("a", "2019-01-01", "C341"), stay("a", "2018-01-01", "C341", ghm="x", origin="o")])
    c34 = rules.c34_evidence(d, ald(), S)
    first_adv = pd.Series([D("2019-02-01")], index=pd.Index(["a"], name="person_id"))
    assert rules.diagnosis_date(c34, d, first_adv, S)["a"] == D("2019-01-01")
    e = expo([["a", "2019-02-01", "osimertinib"], ["b", "2019-02-01", "pemetrexed"]])
    h = rules.histology(e, pd.Index(["a", "b", "c"]), S)
    assert list(h["histology"]) == ["non_squamous", "non_squamous", "nos"]
    assert list(h["egfr"]) == ["mutated", "unknown", "unknown"]


def test_identify_end_to_end_and_quality():
    d = diag(
        [
            stay("a", "2019-01-01", "C341"),
            stay("a", "2019-01-15", "C787", "associated"),
            stay("p", "2017-05-01", "C341"),
        ]
        + [stay("p", "2019-05-01", "C787", "associated")]
    )
    out, counts = rules.identify(d, ald(), expo(), sess(), START, END_, S)
    assert list(out["person_id"]) == ["a"] and counts["prevalent_excluded"] == 1
    truth = pd.DataFrame(
        {
            "ben_idt_ano": ["a", "p", "x"],
            "person_type": ["odh_patient", "prevalent", "snds_patient"],
            "advanced_nsclc": [True, False, True],
            "diagnosis_date": pd.to_datetime(["2019-01-03", "2017-05-01", "2019-01-01"]),
        }
    )
    q = quality(out, truth)
    assert q["sensitivity"] == 0.5 and q["ppv"] == 1.0 and q["diagnosis_date_median_abs_days"] == 2.0
    assert q["by_type"]["prevalent"]["identified"] == 0 and q["false_positives_by_decoy_type"] == {}
    text = splice(f"x\n{BEGIN}\nold\n{END}\ny", quality_table(q))
    assert "| odh_patient | yes | 1 | 1 |" in text and "old" not in text


@settings(max_examples=30, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["a", "b", "c", "d"]),
            st.integers(0, 2500),
            st.sampled_from(["C341", "C787", "C509", "C771", "Z511"]),
            st.sampled_from(["main", "related", "associated"]),
        ),
        max_size=25,
    ),
    st.lists(st.tuples(st.sampled_from(["a", "b", "c", "d"]), st.integers(0, 2500)), max_size=10),
)
def test_property_identified_are_lung_cancers_dated_before_their_evidence(rows, drugs):
    base = D("2017-01-01")
    d = diag([[p, base + pd.Timedelta(days=k), c, pos, "04M132", f"o{i}"] for i, (p, k, c, pos) in enumerate(rows)])
    e = expo([[p, base + pd.Timedelta(days=k), "pembrolizumab"] for p, k in drugs])
    out, counts = rules.identify(d, ald(), e, sess(), START, END_, S)
    c34 = rules.c34_evidence(d, ald(), S)
    assert set(out["person_id"]) <= set(c34.index)
    assert (out["diagnosis_date"] <= END_).all()
    assert (out["first_c34_date"] >= START).all()  # prevalent excluded
    assert counts["identified"] == len(out) == out["person_id"].nunique()
    shuffled, _ = rules.identify(d.sample(frac=1, random_state=1), ald(), e[::-1], sess(), START, END_, S)
    pd.testing.assert_frame_equal(
        out.sort_values("person_id", ignore_index=True), shuffled.sort_values("person_id", ignore_index=True)
    )


@pytest.mark.workflow
def test_tiny_study_identification(tiny_study):
    q = json.loads((tiny_study / layout_path("identify.quality")).read_text())
    assert 0 <= q["sensitivity"] <= 1 and q["identified"] > 0
    assert {"small_cell", "prevalent", "odh_patient"} <= set(q["by_type"])
    persons = pd.read_parquet(tiny_study / layout_path("merge.table", scenario="snds_only", table="persons"))
    assert len(persons) == q["identified"]


def test_snds_cohort_rekeys_gold_persons_only():
    from lotluca.merge.scenarios import snds_cohort

    ident = pd.DataFrame(
        {
            "person_id": ["s1", "s2"],
            "diagnosis_date": pd.to_datetime(["2019-01-01", "2019-02-01"]),
            "histology": ["nos", "non_squamous"],
            "egfr": ["unknown", "mutated"],
            "alk": ["unknown", "unknown"],
        }
    )
    sp = pd.DataFrame(
        {
            "person_id": ["s1", "s2", "s3"],
            "sex": ["M", "F", "M"],
            "death_date": pd.to_datetime([None, "2020-01-01", None]),
            "end_of_followup": pd.to_datetime(["2024-12-31", "2024-12-31", "2024-12-31"]),
        }
    )
    links = pd.DataFrame({"odh_patient_id": ["C01-1"], "snds_person_id": ["s2"]})
    p, sid, stats = snds_cohort(ident, sp, links)
    assert list(p["person_id"]) == ["s1", "C01-1"] and dict(sid) == {"s1": "s1", "s2": "C01-1"}
    assert p["end_of_followup"].iloc[1] == pd.Timestamp("2020-01-01") and stats["identified_persons_with_odh_id"] == 1


def test_snds_only_scored_on_the_gold_persons_of_the_cohort(tmp_path):
    from lotluca.config import default_config as cfg
    from lotluca.evaluate.persons import score_shard_file
    from lotluca.evaluate.settings import EvaluateSettings

    line = {
        "line_number": 1,
        "start_date": pd.Timestamp("2019-01-01").date(),
        "end_date": pd.Timestamp("2019-03-01").date(),
        "regimen": "pembrolizumab",
        "regimen_class": "io_mono",
        "is_maintenance": False,
        "end_reason": "next_line",
    }
    gold = pd.DataFrame([{**line, "person_id": p, "algorithm": "gold", "split": "test"} for p in ("g1", "g2")])
    pred = pd.DataFrame([{**line, "person_id": "g1", "algorithm": "x"}])
    gold.to_parquet(tmp_path / "gold.parquet")
    pred.to_parquet(tmp_path / "lines.parquet")
    pd.DataFrame({"person_id": ["g1", "s9"]}).to_parquet(tmp_path / "persons.parquet")
    s = EvaluateSettings.from_config(cfg()["evaluate"], seed=1)
    every = score_shard_file(tmp_path / "lines.parquet", tmp_path / "gold.parquet", tmp_path / "a.parquet", s)
    inside = score_shard_file(
        tmp_path / "lines.parquet",
        tmp_path / "gold.parquet",
        tmp_path / "b.parquet",
        s,
        cohort_path=tmp_path / "persons.parquet",
    )
    assert every.num_rows == 2 and inside.column("person_id").to_pylist() == ["g1"]
