"""The step functions of the figures stage, one per rule: the paper's figures (PNG + PDF) and tables
(CSV + Markdown). Each reads the stage outputs it is given, chooses the "best" algorithm shown next to
gold (`figures.best_algorithm`, else the highest `figures.best_metric` of the evaluation in
`figures.scenario`) and calls the plotting or table function of its module (docs/figures.md).

Where a rule takes `lines` (a list), it is one file per algorithm of `algorithms` (the lines of the
figures scenario), in that order."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from pathlib import Path

import pandas as pd

from lotluca.errors import InputError
from lotluca.figures import accuracy, cohort, forest, km, pathways, swimmer, tables
from lotluca.figures.settings import FiguresSettings
from lotluca.privacy import PrivacySettings

log = logging.getLogger(__name__)


def read(path) -> pd.DataFrame:
    """A Parquet or CSV table as a DataFrame (InputError naming the file when missing or unreadable)."""
    p = Path(path)
    if not p.exists():
        raise InputError(p, "file not found")
    try:
        return pd.read_parquet(p) if p.suffix == ".parquet" else pd.read_csv(p)
    except (OSError, ValueError) as exc:
        raise InputError(p, f"cannot be read ({exc})") from exc


def _settings(figures: Mapping, privacy: Mapping) -> tuple[FiguresSettings, PrivacySettings]:
    return FiguresSettings.from_config(figures), PrivacySettings.from_config(privacy)


def best(metrics_path, fig: FiguresSettings) -> str:
    """The algorithm shown next to gold: figures.best_algorithm, else the best `best_metric` in `scenario`."""
    alg = accuracy.best_algorithm(read(metrics_path), fig.scenario, fig.best_metric, fig.best_algorithm or None)
    how = "configured" if fig.best_algorithm else f"highest {fig.best_metric} in {fig.scenario}"
    log.info("best algorithm: %s (%s)", alg, how)
    return alg


def lines_of(line_files: Sequence[str], algorithms: Sequence[str], algorithm: str) -> pd.DataFrame:
    """The lines of `algorithm`: its file among `line_files` (one per algorithm of `algorithms`, in order)."""
    files = [str(f) for f in line_files]
    if len(files) != len(algorithms):
        raise InputError("lines", f"{len(files)} lines file(s) for {len(algorithms)} algorithm(s) {list(algorithms)}")
    by_algorithm = dict(zip(map(str, algorithms), files, strict=True))
    if algorithm not in by_algorithm:
        raise InputError("lines", f"no lines file for algorithm {algorithm!r} among {files}")
    return read(by_algorithm[algorithm])


def gold_persons(gold: pd.DataFrame, split: str | None) -> set:
    """Ids of the gold persons of `split` (every gold person when None or without a split column)."""
    g = gold if not split or "split" not in gold.columns else gold[gold["split"] == split]
    return set(g["person_id"].astype(str))


def _restrict(df: pd.DataFrame, ids: set) -> pd.DataFrame:
    return df[df["person_id"].astype(str).isin(ids)]


def _figure_paths(outputs: Mapping) -> list[str]:
    return [str(outputs["png"]), str(outputs["pdf"])]


def _panel_label(algorithm: str, scenario: str) -> str:
    return f"{algorithm} ({scenario.replace('_', ' ')})"


def figures_cohort(
    inputs: Mapping, outputs: Mapping, *, figures: Mapping, privacy: Mapping, algorithms: Sequence[str]
) -> None:
    """Fig 1, cohort flow. inputs: snds_persons, links, persons, metrics, lines (list), gold; outputs: png, pdf."""
    fig, priv = _settings(figures, privacy)
    alg = best(inputs["metrics"], fig)
    counts = cohort.cohort_flow_counts(
        read(inputs["snds_persons"]),
        read(inputs["links"]),
        read(inputs["persons"]),
        lines_of(inputs["lines"], algorithms, alg),
        read(inputs["gold"]),
        alg,
        fig.scenario,
    )
    log.info("cohort flow (before suppression): %s", counts[["step", "n", "n_excluded"]].to_dict("records"))
    counts = cohort.suppress_flow(counts, priv.min_cell, priv.method)
    note = f"Lines: algorithm {alg}, scenario {fig.scenario}. Counts of 1-{priv.min_cell - 1} persons suppressed."
    if not inputs.get("identified"):
        cohort.plot_cohort_flow(counts, _figure_paths(outputs), dpi=fig.dpi, min_cell=priv.min_cell, note=note)
        return
    snds = cohort.snds_flow_counts(  # the SNDS-only cohort (lotluca.identify), lines of its own scenario
        read(inputs["snds_persons"]),
        json.loads(Path(_one(inputs["identify_report"])).read_text(encoding="utf-8")),
        read(_one(inputs["identified"])),
        lines_of(inputs["snds_lines"], algorithms, alg),
        read(inputs["gold"]),
    )
    log.info("SNDS-only cohort flow (before suppression): %s", snds[["step", "n", "n_excluded"]].to_dict("records"))
    snds = cohort.suppress_flow(snds, priv.min_cell, priv.method)
    cohort.plot_cohort_flows(counts, snds, _figure_paths(outputs), dpi=fig.dpi, min_cell=priv.min_cell, note=note)


def _one(value):
    """A named input given as one file or a one-file list."""
    return value if isinstance(value, str | Path) else list(value)[0]


def figures_accuracy(
    inputs: Mapping,
    outputs: Mapping,
    *,
    figures: Mapping,
    privacy: Mapping,
    scenarios: Sequence[str],
    algorithms: Sequence[str],
) -> None:
    """Fig 2, line F1 and full-sequence match by algorithm and scenario. inputs: metrics; outputs: png, pdf."""
    fig, priv = _settings(figures, privacy)
    accuracy.plot_accuracy(
        read(inputs["metrics"]),
        _figure_paths(outputs),
        dpi=fig.dpi,
        min_cell=priv.min_cell,
        scenarios=scenarios,
        algorithms=algorithms,
    )


def figures_pathways(
    inputs: Mapping,
    outputs: Mapping,
    *,
    figures: Mapping,
    privacy: Mapping,
    evaluate: Mapping,
    algorithms: Sequence[str],
) -> None:
    """Fig 3, 1L -> 2L -> 3L pathways: gold next to the best algorithm, both on the gold persons of the
    evaluated split (evaluate.split). inputs: metrics, lines (list), gold; outputs: png, pdf."""
    fig, priv = _settings(figures, privacy)
    alg = best(inputs["metrics"], fig)
    g = read(inputs["gold"])
    ids = gold_persons(g, evaluate["split"])
    panels = {
        "Gold standard": _restrict(g, ids),
        _panel_label(alg, fig.scenario): _restrict(lines_of(inputs["lines"], algorithms, alg), ids),
    }
    pathways.plot_pathways(
        panels, _figure_paths(outputs), dpi=fig.dpi, max_line=fig.max_line, min_cell=priv.min_cell, method=priv.method
    )


def figures_km(inputs: Mapping, outputs: Mapping, *, figures: Mapping, privacy: Mapping) -> None:
    """Fig 4, Kaplan-Meier curves by line with at-risk tables. inputs: metrics, km_curves, at_risk;
    outputs: png, pdf."""
    fig, priv = _settings(figures, privacy)
    alg = best(inputs["metrics"], fig)
    km.plot_km(
        read(inputs["km_curves"]),
        read(inputs["at_risk"]),
        alg,
        fig.scenario,
        _figure_paths(outputs),
        dpi=fig.dpi,
        endpoints=fig.km_endpoints,
        min_cell=priv.min_cell,
    )


def figures_swimmer(
    inputs: Mapping,
    outputs: Mapping,
    *,
    figures: Mapping,
    privacy: Mapping,
    seed: int,
    evaluate: Mapping,
    algorithms: Sequence[str],
) -> None:
    """Fig 5, swimmer plot of seeded random gold persons (patient-level: a private output). inputs:
    metrics, lines (list), gold, persons; outputs: png, pdf."""
    fig, _ = _settings(figures, privacy)
    alg = best(inputs["metrics"], fig)
    g = read(inputs["gold"])
    s = fig.seed if fig.seed is not None else seed
    ids = swimmer.sample_persons(g, int(fig.swimmer_persons), int(s), fig.swimmer_split or evaluate["split"])
    swimmer.plot_swimmer(
        g,
        lines_of(inputs["lines"], algorithms, alg),
        read(inputs["persons"]),
        ids,
        _figure_paths(outputs),
        dpi=fig.dpi,
        algorithm=_panel_label(alg, fig.scenario),
    )


def figures_bias(
    inputs: Mapping,
    outputs: Mapping,
    *,
    figures: Mapping,
    privacy: Mapping,
    scenarios: Sequence[str],
    algorithms: Sequence[str],
) -> None:
    """Fig 6, forest plot of the bias of effectiveness estimates. inputs: bias; outputs: png, pdf."""
    fig, _ = _settings(figures, privacy)
    forest.plot_bias_forest(
        read(inputs["bias"]),
        _figure_paths(outputs),
        dpi=fig.dpi,
        endpoints=fig.bias_endpoints,
        scenarios=scenarios,
        algorithms=algorithms,
    )


def figures_table_baseline(
    inputs: Mapping,
    outputs: Mapping,
    *,
    figures: Mapping,
    privacy: Mapping,
    evaluate: Mapping,
    effectiveness: Mapping,
) -> None:
    """Table 1, baseline characteristics of the merged persons with a known advanced diagnosis: all, the
    gold-standard subset and its evaluated split (evaluate.split); eras from effectiveness.cox.era_start_years.
    inputs: persons, gold; outputs: csv, md."""
    _, priv = _settings(figures, privacy)
    split = evaluate["split"]
    p = read(inputs["persons"])
    p = p[p["diagnosis_date"].notna()]
    g = read(inputs["gold"])
    groups = {"Advanced NSCLC": None, "Gold-standard subset": gold_persons(g, None)}
    if split:
        groups[f"Gold-standard {split} split"] = gold_persons(g, split)
    era_start_years = effectiveness["cox"]["era_start_years"]
    t = tables.baseline_table(p, groups, priv.min_cell, priv.method, era_start_years)
    note = (
        f"n (%) or median (IQR). 'suppressed': 1-{priv.min_cell - 1} persons, or blanked so that such a count "
        "cannot be recovered."
    )
    title = "Table 1. Baseline characteristics"
    tables.write_table(t, outputs["csv"], outputs["md"], ["n"], priv.min_cell, title, note, tables.baseline_wide(t))


def figures_table_accuracy(
    inputs: Mapping,
    outputs: Mapping,
    *,
    figures: Mapping,
    privacy: Mapping,
    scenarios: Sequence[str],
    algorithms: Sequence[str],
) -> None:
    """Table 2, accuracy of every algorithm x scenario. inputs: metrics; outputs: csv, md."""
    _, priv = _settings(figures, privacy)
    t = accuracy.accuracy_table(
        read(inputs["metrics"]), min_cell=priv.min_cell, method=priv.method, scenarios=scenarios, algorithms=algorithms
    )
    note = (
        "Estimate (95% patient-bootstrap CI) on the gold-standard persons of the headline stratum "
        "several_or_maintenance (two or more gold lines or a maintenance phase); n_persons, n_gold_lines: persons "
        "and gold lines scored."
    )
    title = "Table 2. Accuracy of line reconstruction"
    tables.write_table(t, outputs["csv"], outputs["md"], ["n_persons", "n_gold_lines"], priv.min_cell, title, note)


def figures_table_medians(inputs: Mapping, outputs: Mapping, *, figures: Mapping, privacy: Mapping) -> None:
    """Table 3, KM medians by line and regimen class, gold vs the best algorithm. inputs: metrics,
    km_summary; outputs: csv, md."""
    fig, priv = _settings(figures, privacy)
    alg = best(inputs["metrics"], fig)
    t = tables.medians_table(
        read(inputs["km_summary"]), alg, fig.scenario, fig.median_endpoints, priv.min_cell, priv.method
    )
    counts = [c for c in t.columns if c.startswith("n_")]
    note = f"Kaplan-Meier median in months (95% CI); gold-standard lines vs {alg} ({fig.scenario}) on the same persons."
    title = "Table 3. Median real-world endpoints by line and regimen class"
    display = t.drop(columns=["stratum_type"])
    tables.write_table(t, outputs["csv"], outputs["md"], counts, priv.min_cell, title, note, display=display)


def figures_table_calibration(inputs: Mapping, outputs: Mapping, *, figures: Mapping, privacy: Mapping) -> None:
    """Table 4, synthetic-cohort calibration against published figures. inputs: calibration; outputs: csv, md."""
    _, priv = _settings(figures, privacy)
    t = tables.calibration_table(read(inputs["calibration"]), priv.min_cell, priv.method)
    title = "Table 4. Synthetic-cohort calibration"
    note = "Simulated cohort figures next to the published targets they imitate."
    tables.write_table(t, outputs["csv"], outputs["md"], tables.count_columns(t), priv.min_cell, title, note)
