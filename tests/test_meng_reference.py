"""`meng2021` against the committed outputs of Merck's reference implementation (tests/data/meng_reference).

The reference itself is not installed: its output on a fixed simulated input of 300 patients is data in
the repository (README there). `meng2021` runs the reference's scan (`line_scan: segments`, its two-cycle
rule, its maintenance checks), so at least 99% of the patients must get the same line starts, and the
same rows with their maintenance phases (docs/lines.md "meng2021 and the reference implementation");
the classes of the disagreeing patients are listed in the failure message.
"""

from __future__ import annotations

import importlib.util

import pandas as pd
import pytest


@pytest.fixture(scope="module")
def oracle(repo):
    spec = importlib.util.spec_from_file_location("meng_oracle", repo / "tools" / "meng_oracle.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def fixture_data(repo):
    folder = repo / "tests" / "data" / "meng_reference"
    rows = pd.read_csv(folder / "input.csv", dtype={"PATIENT_ID": "int64"})
    return rows, pd.read_csv(folder / "output_lot.csv")


def _compare(oracle, rows, ref, algorithm):
    ours = oracle.run_lotluca(rows, algorithm)
    diff = oracle.classify(rows, ours, ref)
    return ours, diff, oracle.summarise(rows, ref, diff, algorithm)


def _classes(summary):
    return "\n".join(f"{c['patients']:4d}  {c['class']}  e.g. {c['examples']}" for c in summary["classes"])


def test_fixture_is_the_documented_one(fixture_data):
    rows, ref = fixture_data
    assert rows["PATIENT_ID"].nunique() == 300
    assert set(ref["PATIENT_ID"]) <= set(rows["PATIENT_ID"])
    assert list(ref.columns[:5]) == ["PATIENT_ID", "LINE_NUMBER", "LINE_NAME", "START_DATE", "END_DATE"]


def test_meng2021_reproduces_the_reference(oracle, fixture_data):
    rows, ref = fixture_data
    ours, _, summary = _compare(oracle, rows, ref, "meng2021")
    assert summary["agreement"] >= 0.99, f"classes of difference:\n{_classes(summary)}"
    # including the patients whose reference output shows the two-cycle rule (about 8% of this input)
    assert summary["patients_with_reference_bug"] >= 15
    assert summary["same_starts_reference_bug_patients"] >= 0.99 * summary["patients_with_reference_bug"] - 1
    # and the rows with their maintenance phases (line number, start, maintenance flag)
    a, b = oracle.line_rows(ours, ref)
    same = sum(a.get(str(p), []) == b.get(str(p), []) for p in rows["PATIENT_ID"].unique())
    assert same >= 0.99 * summary["patients"]


def test_without_the_two_cycle_rule_the_agreement_drops(oracle, fixture_data, tmp_path):
    """The two-cycle rule is what the remaining patients need: switched off, their starts differ."""
    rows, ref = fixture_data
    import yaml

    from lotluca.lines import load_params

    off = load_params("meng2021").to_dict() | {"two_cycle_rule": False}
    path = tmp_path / "no_two_cycle.yaml"
    path.write_text(yaml.safe_dump(off), encoding="utf-8")
    _, diff, summary = _compare(oracle, rows, ref, str(path))
    assert summary["agreement"] < 0.97
    assert diff["two_cycle_signature"].str.startswith("reference bug").mean() > 0.8


def test_paper_reading_differs_by_switch_maintenance(oracle, fixture_data):
    rows, ref = fixture_data
    _, diff, _ = _compare(oracle, rows, ref, "meng2021_paper")
    switch = diff["class"].str.contains("inside maintenance phase")
    assert switch.sum() > 0  # docetaxel / pemetrexed after a line: a new line for the reference
