"""The figure and table rules on the tiny study (tests/data/tiny_config.yaml), in a scratch copy of the
repository: every figure (PNG + PDF) and table (CSV + Markdown) is written and non-empty, the exported
tables hold no count of 1..min_cell-1, and `snakemake --report` builds the HTML report with them."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

from conftest import REPO, snakemake_exe
from lotluca.figures.tables import count_columns
from lotluca.privacy import assert_exportable

pytestmark = pytest.mark.workflow

COPY = ["Snakefile", "config.yaml", "workflow", "scripts", "envs", "tests/data"]
IGNORE = shutil.ignore_patterns("__pycache__", "*.egg-info", ".snakemake", "results")
FIGURES = [
    "results/export/figures/fig1_cohort_flow",
    "results/export/figures/fig2_accuracy",
    "results/export/figures/fig3_pathways",
    "results/export/figures/fig4_kaplan_meier",
    "results/private/figures/fig5_swimmer",
    "results/export/figures/fig6_bias_forest",
]
TABLES = [
    f"results/export/tables/{t}" for t in ("table1_baseline", "table2_accuracy", "table3_medians", "table4_calibration")
]


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory) -> Path:
    dest = tmp_path_factory.mktemp("figures_tiny")
    for name in COPY:
        src = REPO / name
        (dest / name).parent.mkdir(parents=True, exist_ok=True)
        if src.is_dir():
            shutil.copytree(src, dest / name, ignore=IGNORE)
        else:
            shutil.copy2(src, dest / name)
    # the whole study (default target): `--report` needs every report() output, not only the figures
    res = _snakemake(dest, ["--cores", "2"])
    assert res.returncode == 0, res.stderr[-4000:]
    return dest


def _snakemake(copy: Path, args: list[str]) -> subprocess.CompletedProcess:
    """Snakemake in the copy, with the test's virtualenv first on PATH and the copy's library first on sys.path."""
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(copy / "scripts"), env.get("PYTHONPATH", "")) if p)
    cmd = [snakemake_exe(), *args, "--configfile", "tests/data/tiny_config.yaml"]
    return subprocess.run(cmd, cwd=copy, env=env, capture_output=True, text=True, timeout=1500)


def test_every_figure_and_table_written(tiny_run):
    for f in FIGURES:
        for ext in ("png", "pdf"):
            p = tiny_run / f"{f}.{ext}"
            assert p.exists() and p.stat().st_size > 5000, p
    for t in TABLES:
        for ext in ("csv", "md"):
            p = tiny_run / f"{t}.{ext}"
            assert p.exists() and p.stat().st_size > 100, p


def test_tables_respect_suppression(tiny_run):
    cfg = yaml.safe_load((tiny_run / "config.yaml").read_text())
    k = int(cfg["privacy"]["min_cell"])
    for t in TABLES:
        df = pd.read_csv(tiny_run / f"{t}.csv")
        cols = count_columns(df)
        assert cols or t.endswith("calibration"), f"{t}: no count column found"
        assert_exportable(df, cols, k, name=t)


def test_report_builds(tiny_run):
    res = _snakemake(tiny_run, ["--report", "results/report.html"])
    assert res.returncode == 0, res.stderr[-4000:]
    html = (tiny_run / "results" / "report.html").read_text(errors="replace")
    for needle in ("Paper figures", "Paper tables", "fig4_kaplan_meier.png", "table1_baseline.csv"):
        assert needle in html, needle
