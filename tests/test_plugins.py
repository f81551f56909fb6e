"""Plug-in line algorithms (lotluca.lines.plugins, docs/plugins.md): config module:function, file paths, the
entry point group lotluca.algorithms, the output checks, and the example plug-in through the tiny study."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pyarrow as pa
import pytest

from lotluca.contracts import EXPOSURES, LINES, PERSONS
from lotluca.errors import InputError
from lotluca.lines.algorithms import LineInputs, algorithms
from lotluca.lines.plugins import installed_plugins, normalise_lines

EXAMPLE = "tests/data/plugin_example/example_lines.py:build_lines"


def _exposures(rows):
    cols = {f.name: [] for f in EXPOSURES}
    for pid, day, ingredient in rows:
        d = dt.date(2020, 1, 1) + dt.timedelta(days=day)
        vals = {"person_id": pid, "date": d, "end_date": d, "ingredient": ingredient, "route": "iv"}
        for c in cols:
            cols[c].append(vals.get(c))
    return pa.table(cols, schema=EXPOSURES)


def _persons(ids):
    return pa.table({f.name: [i if f.name == "person_id" else None for i in ids] for f in PERSONS}, schema=PERSONS)


HISTORY = [
    ("A", 0, "cisplatin"),
    ("A", 0, "pemetrexed"),
    ("A", 21, "pemetrexed"),
    ("A", 300, "docetaxel"),
    ("B", 5, "osimertinib"),
]


def test_example_plugin_from_a_file_gives_hand_computed_lines(repo, monkeypatch):
    monkeypatch.chdir(repo)
    run = algorithms(["example"], plugins={"example": EXAMPLE})["example"]
    lines = run(LineInputs(_exposures(HISTORY), None, _persons(["A", "B"]))).to_pandas()
    assert list(lines["person_id"]) == ["A", "A", "B"]
    assert list(lines["line_number"]) == [1, 2, 1]
    assert list(lines["regimen"]) == ["cisplatin+pemetrexed", "docetaxel", "osimertinib"]
    assert list(lines["regimen_class"]) == ["chemo_doublet", "single_agent_chemo", "egfr_tki"]
    assert set(lines["algorithm"]) == {"example"}
    assert lines["end_date"].iloc[0] == dt.date(2020, 1, 22)


def test_plugin_from_an_importable_module(repo, monkeypatch):
    monkeypatch.syspath_prepend(str(repo / "tests" / "data" / "plugin_example"))
    run = algorithms(["ex"], plugins={"ex": "example_lines:build_lines"})["ex"]
    out = run(LineInputs(_exposures(HISTORY), None, _persons(["A", "B"])))
    assert out.schema == LINES and out.num_rows == 3


def test_installed_entry_point_is_found(tmp_path, monkeypatch, repo):
    dist = tmp_path / "lotluca_example-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: lotluca-example\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text("[lotluca.algorithms]\nexample_ep = example_lines:build_lines\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.syspath_prepend(str(repo / "tests" / "data" / "plugin_example"))
    assert installed_plugins()["example_ep"] == "example_lines:build_lines"
    out = algorithms(["example_ep"])["example_ep"](LineInputs(_exposures(HISTORY), None, _persons(["A", "B"])))
    assert set(out.column("algorithm").to_pylist()) == {"example_ep"}


@pytest.mark.parametrize(
    "frame,problem",
    [
        (pd.DataFrame({"person_id": ["A"], "line_number": [1], "start_date": ["2020-01-01"]}), "missing column"),
        (
            pd.DataFrame(
                {
                    "person_id": ["A", "A"],
                    "line_number": [1, 1],
                    "start_date": ["2020-01-01"] * 2,
                    "regimen": ["x"] * 2,
                    "is_maintenance": [False, False],
                }
            ),
            "duplicate",
        ),
        (
            pd.DataFrame(
                {
                    "person_id": ["Z"],
                    "line_number": [1],
                    "start_date": ["2020-01-01"],
                    "regimen": ["x"],
                    "is_maintenance": [False],
                }
            ),
            "not in the input persons",
        ),
        (
            pd.DataFrame(
                {
                    "person_id": ["A"],
                    "line_number": [1],
                    "start_date": ["2020-02-01"],
                    "end_date": ["2020-01-01"],
                    "regimen": ["x"],
                    "is_maintenance": [False],
                }
            ),
            "end_date before start_date",
        ),
    ],
)
def test_bad_plugin_output_is_named(frame, problem):
    with pytest.raises(InputError, match=problem):
        normalise_lines(frame, "bad", _persons(["A"]))


def test_a_plugin_cannot_replace_a_preset():
    with pytest.raises(InputError, match="is a rule preset"):
        algorithms(["meng2021"], plugins={"meng2021": EXAMPLE})


def test_unknown_module_is_a_clear_error():
    with pytest.raises(InputError, match="cannot import"):
        algorithms(["x"], plugins={"x": "no_such_module_xyz:f"})


@pytest.mark.workflow
def test_example_plugin_runs_through_the_tiny_study(tiny_study):
    """The plug-in of tests/data/tiny_config.yaml gets lines in every scenario, evaluation metrics, effectiveness
    and bias rows, like a preset."""
    for scenario in ("odh_only", "snds_only", "linked"):
        lines = pd.read_parquet(tiny_study / "results" / "lines" / scenario / "example.parquet")
        assert len(lines) > 0 and set(lines["algorithm"]) == {"example"}
    metrics = pd.read_csv(tiny_study / "results" / "evaluation" / "metrics.csv")
    assert "example" in set(metrics["algorithm"])
    bias = pd.read_csv(tiny_study / "results" / "export" / "bias" / "bias.csv")
    assert "example" in set(bias.astype(str).stack())
    km = pd.read_csv(tiny_study / "results" / "export" / "effectiveness" / "km_summary.csv")
    assert "example" in set(km.astype(str).stack())
