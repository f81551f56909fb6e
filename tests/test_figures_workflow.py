"""The figure and table rules on the tiny study (tests/data/tiny_config.yaml), in a scratch copy of the
repository: every figure (PNG + PDF) and table (CSV + Markdown) is written and non-empty, the exported
tables hold no count of 1..min_cell-1, and `snakemake --report` builds the HTML report with them."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from conftest import snakemake_in
from lotluca.config import load_config
from lotluca.figures.tables import count_columns
from lotluca.privacy import assert_exportable

pytestmark = pytest.mark.workflow

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
def tiny_run(tiny_study) -> Path:
    """The whole tiny study (shared session run): `--report` needs every report() output."""
    return tiny_study


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
    k = int(load_config(tiny_run / "config.yaml")["privacy"]["min_cell"])
    for t in TABLES:
        df = pd.read_csv(tiny_run / f"{t}.csv")
        cols = count_columns(df)
        assert cols or t.endswith("calibration"), f"{t}: no count column found"
        assert_exportable(df, cols, k, name=t)


def test_report_builds(tiny_run):
    res = snakemake_in(tiny_run, ["--report", "results/report.html"])
    assert res.returncode == 0, res.stderr[-4000:]
    html = (tiny_run / "results" / "report.html").read_text(errors="replace")
    from lotluca.steps import STAGES  # report categories: "<place in the pipeline>. <stage>"

    cats = [f"{STAGES.index(st) + 1}. {st}" for st in ("figures", "evaluate")]
    for needle in (*cats, "fig4_kaplan_meier.png", "table1_baseline.csv"):
        assert needle in html, needle
