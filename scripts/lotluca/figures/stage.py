"""File-level entry points of the figure and table steps: read the stage outputs, choose the "best"
algorithm, call the plotting / table functions, write PNG + PDF or CSV + Markdown.

Used by the step scripts (scripts/figure_*.py, scripts/table_*.py); every function takes plain paths
and the validated `figures` and `privacy` config blocks, so they also run without Snakemake.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd

from lotluca.errors import InputError
from lotluca.figures import accuracy, cohort, forest, km, pathways, swimmer, tables

log = logging.getLogger(__name__)

DEFAULTS = {
    "scenario": "linked",
    "best_algorithm": "",
    "best_metric": "line_f1",
    "swimmer_persons": 30,
    "swimmer_split": "test",
    "seed": None,
    "km_endpoints": ["rwTTNT", "rwOS"],
    "bias_endpoints": ["rwTTNT", "rwOS"],
    "median_endpoints": ["rwTTNT", "rwTTD", "rwOS"],
    "max_line": 3,
    "dpi": 150,
}
PRIVACY_DEFAULTS = {"min_cell": 10, "method": "suppress"}


def settings(figures: dict | None = None, privacy: dict | None = None) -> tuple[dict, dict]:
    """The figures and privacy config blocks with defaults filled."""
    return {**DEFAULTS, **(figures or {})}, {**PRIVACY_DEFAULTS, **(privacy or {})}


def read(path) -> pd.DataFrame:
    """A Parquet or CSV table as a DataFrame (InputError naming the file when missing or unreadable)."""
    p = Path(path)
    if not p.exists():
        raise InputError(p, "file not found")
    try:
        return pd.read_parquet(p) if p.suffix == ".parquet" else pd.read_csv(p)
    except (OSError, ValueError) as exc:
        raise InputError(p, f"cannot be read ({exc})") from exc


def best(metrics_path, fig: dict) -> str:
    """The algorithm shown next to gold: figures.best_algorithm, else the best `best_metric` in `scenario`."""
    alg = accuracy.best_algorithm(
        read(metrics_path), fig["scenario"], fig["best_metric"], fig["best_algorithm"] or None
    )
    log.info(
        "best algorithm: %s (%s)",
        alg,
        "configured" if fig["best_algorithm"] else f"highest {fig['best_metric']} in {fig['scenario']}",
    )
    return alg


def lines_of(line_files, algorithm: str, scenario: str) -> pd.DataFrame:
    """The lines of `algorithm` among `line_files` (results/lines/{scenario}/{algorithm}.parquet)."""
    for f in line_files:
        p = Path(f)
        if p.stem == algorithm and p.parent.name == scenario:
            return read(p)
    raise InputError(
        "lines",
        f"no lines file for algorithm {algorithm!r} in scenario {scenario!r} among {list(map(str, line_files))}",
    )


def gold_persons(gold: pd.DataFrame, split: str | None) -> set:
    g = gold if not split or "split" not in gold.columns else gold[gold["split"] == split]
    return set(g["person_id"].astype(str))


def _restrict(df: pd.DataFrame, ids: set) -> pd.DataFrame:
    return df[df["person_id"].astype(str).isin(ids)]


def figure_cohort(snds_persons, links, persons, metrics, line_files, gold, outputs, figures=None, privacy=None):
    fig, priv = settings(figures, privacy)
    alg = best(metrics, fig)
    counts = cohort.cohort_flow_counts(read(snds_persons), read(links), read(persons), lines_of(line_files, alg, fig["scenario"]),
                                       read(gold), alg, fig["scenario"])  # fmt: skip
    log.info("cohort flow (before suppression): %s", counts[["step", "n", "n_excluded"]].to_dict("records"))
    counts = cohort.suppress_flow(counts, priv["min_cell"], priv["method"])
    note = f"Lines: algorithm {alg}, scenario {fig['scenario']}. Counts of 1-{priv['min_cell'] - 1} persons suppressed."
    cohort.plot_cohort_flow(counts, outputs, fig["dpi"], priv["min_cell"], note)


def figure_accuracy(metrics, outputs, scenarios=None, algorithms=None, figures=None, privacy=None):
    fig, priv = settings(figures, privacy)
    accuracy.plot_accuracy(read(metrics), outputs, fig["dpi"], scenarios, algorithms, min_cell=priv["min_cell"])


def figure_pathways(metrics, line_files, gold, outputs, split=None, figures=None, privacy=None):
    """Gold lines next to the best algorithm's, both on the gold persons of `split` (all when None)."""
    fig, priv = settings(figures, privacy)
    alg = best(metrics, fig)
    g = read(gold)
    ids = gold_persons(g, split)
    panels = {
        "Gold standard": _restrict(g, ids),
        f"{alg} ({fig['scenario'].replace('_', ' ')})": _restrict(lines_of(line_files, alg, fig["scenario"]), ids),
    }
    pathways.plot_pathways(panels, outputs, fig["dpi"], fig["max_line"], priv["min_cell"], priv["method"])


def figure_km(metrics, km_curves, at_risk, outputs, figures=None, privacy=None):
    fig, priv = settings(figures, privacy)
    alg = best(metrics, fig)
    km.plot_km(read(km_curves), read(at_risk), alg, fig["scenario"], outputs, fig["dpi"], fig["km_endpoints"],
               min_cell=priv["min_cell"])  # fmt: skip


def figure_swimmer(metrics, line_files, gold, persons, outputs, seed: int = 0, split=None, figures=None, privacy=None):
    fig, _ = settings(figures, privacy)
    alg = best(metrics, fig)
    g = read(gold)
    s = fig["seed"] if fig["seed"] is not None else seed
    ids = swimmer.sample_persons(g, int(fig["swimmer_persons"]), int(s), fig["swimmer_split"] or split)
    swimmer.plot_swimmer(g, lines_of(line_files, alg, fig["scenario"]), read(persons), ids, outputs, fig["dpi"],
                         algorithm=f"{alg} ({fig['scenario'].replace('_', ' ')})")  # fmt: skip


def figure_bias(bias, outputs, scenarios=None, algorithms=None, figures=None, privacy=None):
    fig, _ = settings(figures, privacy)
    forest.plot_bias_forest(read(bias), outputs, fig["dpi"], fig["bias_endpoints"], scenarios, algorithms)


def _md(outputs) -> tuple[str, str]:
    csv = next(str(p) for p in outputs if str(p).endswith(".csv"))
    md = next(str(p) for p in outputs if str(p).endswith(".md"))
    return csv, md


def table_baseline(persons, gold, outputs, split=None, era_start_years=(2012, 2017, 2019), figures=None, privacy=None):
    """Table 1 on the merged persons (advanced diagnosis known): all, and the gold-standard subset."""
    _, priv = settings(figures, privacy)
    p = read(persons)
    p = p[p["diagnosis_date"].notna()]
    g = read(gold)
    groups = {"Advanced NSCLC": None, "Gold-standard subset": gold_persons(g, None)}
    if split:
        groups[f"Gold-standard {split} split"] = gold_persons(g, split)
    t = tables.baseline_table(p, groups, priv["min_cell"], priv["method"], era_start_years)
    csv, md = _md(outputs)
    note = f"n (%) or median (IQR). 'suppressed': 1-{priv['min_cell'] - 1} persons, or blanked so that such a count cannot be recovered."
    tables.write_table(
        t, csv, md, ["n"], priv["min_cell"], "Table 1. Baseline characteristics", note, tables.baseline_wide(t)
    )


def table_accuracy(metrics, outputs, scenarios=None, algorithms=None, figures=None, privacy=None):
    _, priv = settings(figures, privacy)
    t = accuracy.accuracy_table(read(metrics), scenarios, algorithms, "all", priv["min_cell"], priv["method"])
    csv, md = _md(outputs)
    note = "Estimate (95% patient-bootstrap CI) on the gold-standard persons; n_persons, n_gold_lines: persons and gold lines scored."
    tables.write_table(
        t, csv, md, ["n_persons", "n_gold_lines"], priv["min_cell"], "Table 2. Accuracy of line reconstruction", note
    )


def table_medians(metrics, km_summary, outputs, figures=None, privacy=None):
    fig, priv = settings(figures, privacy)
    alg = best(metrics, fig)
    t = tables.medians_table(
        read(km_summary), alg, fig["scenario"], fig["median_endpoints"], priv["min_cell"], priv["method"]
    )
    csv, md = _md(outputs)
    counts = [c for c in t.columns if c.startswith("n_")]
    note = (
        f"Kaplan-Meier median in months (95% CI); gold-standard lines vs {alg} ({fig['scenario']}) on the same persons."
    )
    title = "Table 3. Median real-world endpoints by line and regimen class"
    tables.write_table(t, csv, md, counts, priv["min_cell"], title, note, display=t.drop(columns=["stratum_type"]))


def table_calibration(calibration, outputs, figures=None, privacy=None):
    _, priv = settings(figures, privacy)
    t = tables.calibration_table(read(calibration), priv["min_cell"], priv["method"])
    csv, md = _md(outputs)
    tables.write_table(t, csv, md, tables.count_columns(t), priv["min_cell"], "Table 4. Synthetic-cohort calibration",
                       "Simulated cohort figures next to the published targets they imitate.")  # fmt: skip
