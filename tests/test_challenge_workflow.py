"""The challenge kit built by the tiny study: the Codabench bundle (competition.yaml against the structure
Codabench documents, score.py run as the platform runs it on the starting kit's baseline, the same numbers as
`lotluca evaluate`), the participant data (no original identifier or date) and the report's privacy."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pandas as pd
import pytest
import yaml

from conftest import TINY_CONFIG, run_env, snakemake_exe, snakemake_in
from lotluca.layout import path

pytestmark = pytest.mark.workflow

# Codabench competition.yaml v2 (docs.codabench.org, Organizers > Competition YAML): required keys
REQUIRED = {
    "competition": ("version", "title", "image", "terms"),
    "page": ("title", "file"),
    "phase": ("name", "start", "tasks"),
    "task": ("index", "name", "scoring_program"),
    "solution": ("index", "tasks", "path"),
    "leaderboard": ("title", "key", "columns"),
    "column": ("title", "key", "index"),
}
OPTIONAL = {
    "competition": {
        "description",
        "registration_auto_approve",
        "docker_image",
        "make_programs_available",
        "make_input_data_available",
        "queue",
        "enable_detailed_results",
        "contact_email",
        "reward",
        "pages",
        "phases",
        "tasks",
        "solutions",
        "leaderboards",
        "fact_sheet",
        "auto_run_submissions",
        "can_participants_make_submissions_public",
        "forum_enabled",
    },
    "phase": {
        "index",
        "description",
        "end",
        "max_submissions",
        "max_submissions_per_day",
        "auto_migrate_to_this_phase",
        "execution_time_limit",
        "hide_output",
        "hide_prediction_output",
        "hide_score_output",
        "starting_kit",
        "public_data",
        "accepts_only_result_submissions",
    },
    "task": {"description", "input_data", "reference_data", "ingestion_program", "ingestion_only_during_scoring"},
    "leaderboard": {"submission_rule", "hidden"},
    "column": {"sorting", "computation", "computation_indexes", "precision", "hidden"},
}


def _keys_ok(doc: dict, kind: str) -> None:
    missing = [k for k in REQUIRED[kind] if k not in doc]
    unknown = set(doc) - set(REQUIRED[kind]) - OPTIONAL.get(kind, set())
    assert not missing and not unknown, (kind, missing, unknown)


@pytest.fixture(scope="module")
def bundle(tiny_study, tmp_path_factory) -> Path:
    dest = tmp_path_factory.mktemp("bundle")
    with zipfile.ZipFile(tiny_study / path("challenge.bundle")) as zf:
        zf.extractall(dest)
    return dest


def test_competition_yaml_follows_the_codabench_structure(bundle):
    doc = yaml.safe_load((bundle / "competition.yaml").read_text())
    _keys_ok(doc, "competition")
    assert doc["version"] == 2
    for f in [doc["image"], doc["terms"], *(p["file"] for p in doc["pages"])]:
        assert (bundle / f).is_file(), f
    for p in doc["pages"]:
        _keys_ok(p, "page")
    tasks = {t["index"]: t for t in doc["tasks"]}
    for t in doc["tasks"]:
        _keys_ok(t, "task")
        assert zipfile.is_zipfile(bundle / t["scoring_program"]) and zipfile.is_zipfile(bundle / t["reference_data"])
    public, private = doc["phases"]
    for ph in doc["phases"]:
        _keys_ok(ph, "phase")
        assert set(ph["tasks"]) <= set(tasks) and (bundle / ph["starting_kit"]).is_dir()
    assert public["end"] <= private["start"] and private.get("auto_migrate_to_this_phase") is True
    assert "public" in tasks[public["tasks"][0]]["reference_data"]
    assert "private" in tasks[private["tasks"][0]]["reference_data"]
    for s in doc["solutions"]:
        _keys_ok(s, "solution")
        assert zipfile.is_zipfile(bundle / s["path"])
    (board,) = doc["leaderboards"]
    _keys_ok(board, "leaderboard")
    for c in board["columns"]:
        _keys_ok(c, "column")
    assert board["columns"][0]["key"] == "line_f1_several_or_maintenance"
    with zipfile.ZipFile(bundle / "scoring_program.zip") as zf:
        assert {"score.py", "metadata.yaml", "requirements.txt"} <= set(zf.namelist())
        assert "command" in yaml.safe_load(zf.read("metadata.yaml"))


def _unzip(archive: Path, dest: Path) -> Path:
    with zipfile.ZipFile(archive) as zf:
        zf.extractall(dest)
    return dest


@pytest.mark.parametrize("phase", ["public", "private"])
def test_score_py_on_the_baseline_as_the_platform_runs_it(bundle, tmp_path, tiny_study, phase):
    program = _unzip(bundle / "scoring_program.zip", tmp_path / "program")
    _unzip(bundle / f"reference_data_{phase}.zip", tmp_path / "input" / "ref")
    _unzip(bundle / "baseline_submission.zip", tmp_path / "input" / "res")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}  # the copy in program/ only
    res = subprocess.run(
        [sys.executable, str(program / "score.py"), str(tmp_path / "input"), str(tmp_path / "output")],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert res.returncode == 0, res.stderr[-3000:]
    scores = json.loads((tmp_path / "output" / "scores.json").read_text())
    board = yaml.safe_load((bundle / "competition.yaml").read_text())["leaderboards"][0]
    assert set(scores) == {c["key"] for c in board["columns"]}
    assert 0 <= scores["line_f1_several_or_maintenance"] <= 1
    # lotluca evaluate on the same files gives the same numbers
    ref = json.loads((tmp_path / "input" / "ref" / "scoring.json").read_text())
    cmd = [
        sys.executable,
        "-m",
        "lotluca",
        "evaluate",
        "--pred",
        str(tmp_path / "input" / "res" / "lines.csv"),
        "--gold",
        str(tmp_path / "input" / "ref" / "gold_lines.csv"),
        "--split",
        "all",
        "--ignore-unknown-persons",
        "--bootstrap",
        str(ref["bootstrap"]),
        "--seed",
        str(ref["seed"]),
        "--tolerance-days",
        str(ref["tolerance_days"]),
        "--output",
        str(tmp_path / "evaluate.json"),
    ]
    res = subprocess.run(
        cmd,
        cwd=tiny_study,
        capture_output=True,
        text=True,
        timeout=300,
        env=os.environ | {"PYTHONPATH": str(tiny_study / "scripts")},
    )
    assert res.returncode == 0, res.stderr[-3000:]
    ev = json.loads((tmp_path / "evaluate.json").read_text())["metrics"]
    detail = json.loads((tmp_path / "output" / "metrics.json").read_text())["metrics"]
    assert ev == detail
    assert scores["line_f1_several_or_maintenance"] == ev["several_or_maintenance"]["line_f1"]["estimate"]
    assert scores["line_f1"] == ev["all"]["line_f1"]["estimate"]


def test_participant_tables_hold_no_original_identifier_or_date(tiny_study):
    part = tiny_study / path("challenge.participant")
    keys = pd.read_parquet(tiny_study / path("challenge.key_table"))
    report = json.loads((tiny_study / path("challenge.reidentification")).read_text())
    assert (
        report["passed"] and report["attack"]["persons_reidentified"] == 0 and report["attack"]["persons_attacked"] > 0
    )
    originals = set()
    for source in ("odh", "snds"):
        for t in ("persons", "exposures", "stays"):
            df = pd.read_parquet(tiny_study / path("extract.table", source=source, name=f"{t}.parquet"))
            originals |= set(df["person_id"].dropna()) | set(df.get("hospital", pd.Series(dtype=str)).dropna())
    files = sorted(part.rglob("*.parquet"))
    assert len(files) >= 11
    for f in files:
        df = pd.read_parquet(f)
        for col in df.columns:
            if df[col].dtype == object:
                assert not set(df[col].dropna().astype(str)) & originals, (f, col)
    # exact-date join of the participant's ODH exposures to the original ones: no person keeps its rows
    orig = pd.read_parquet(tiny_study / path("extract.table", source="odh", name="exposures.parquet"))
    mine = pd.read_parquet(part / "odh" / "exposures.parquet")
    back = mine.assign(person_id=mine["person_id"].map(keys.set_index("odh_pseudonym")["odh_id"]))
    same = back.merge(orig, on=["person_id", "date", "ingredient"])
    assert len(same) < 0.05 * len(mine)
    labels = pd.read_parquet(part / "train_labels.parquet")
    assert set(labels["person_id"]) <= set(keys["odh_pseudonym"])


def test_report_holds_no_patient_level_item_unless_private(tiny_study):
    res = snakemake_in(tiny_study, ["--report", "report_default.html"])
    assert res.returncode == 0, res.stderr[-4000:]
    html = (tiny_study / "report_default.html").read_text(errors="replace")
    # a report item is embedded as a data URI naming its file; the rule list still names every output path
    assert "filename=fig5_swimmer.png" not in html and "PRIVATE REPORT" not in html
    assert "filename=fig2_accuracy.png" in html
    private = tiny_study / "private_report.yaml"  # the tiny config with privacy.private_report: true
    private.write_text(TINY_CONFIG.read_text() + "privacy:\n  private_report: true\n")
    cmd = [snakemake_exe(), "--report", "report_private.html", "--configfile", str(private)]
    res = subprocess.run(cmd, cwd=tiny_study, env=run_env(tiny_study), capture_output=True, text=True, timeout=900)
    assert res.returncode == 0, res.stderr[-4000:]
    html = (tiny_study / "report_private.html").read_text(errors="replace")
    assert "filename=fig5_swimmer.png" in html and "PRIVATE REPORT" in html
