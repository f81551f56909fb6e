"""The `concomitant` step: exposure cohorts and Cox models on the gold lines and every algorithm's lines,
written as a private per-line table, a suppressed export table and a forest plot.

Every lines source shares one cohort of persons (the gold persons of `gold_splits`), one persons table
(death, follow-up: the effectiveness `vital_status_scenario`) and one exposures table (the merged
exposures of `exposure_scenario`, which holds the SNDS pharmacy dispensations), so only the lines
differ. Used by scripts/concomitant.py and importable without Snakemake.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import pyarrow as pa

from lotluca.concomitant.models import design_levels, exposure_cohort, fit_exposure_models
from lotluca.effectiveness.endpoints import compute_endpoints
from lotluca.errors import InputError
from lotluca.io import read_parquet, write_parquet
from lotluca.privacy import pseudonym_key, pseudonymise, suppress_counts, write_export

log = logging.getLogger(__name__)
GOLD = "gold"
DEFAULTS = {
    "gold_splits": ["test"],
    "exposure_scenario": "linked",
    "exposures": {
        "ppi": {"drug_classes": ["ppi"], "line_type": "egfr_tki", "window_before": 30, "window_after": 30,
                "min_pdc": 0.5},
        "antibiotic": {"drug_classes": ["antibiotic"], "line_type": "io", "window_before": 60, "window_after": 42,
                       "min_pdc": 0.0},
        "corticosteroid": {"drug_classes": ["corticosteroid"], "line_type": "any", "window_before": 30,
                           "window_after": 30, "min_pdc": 0.0},
    },
    "endpoints": ["rwTTNT", "rwOS"],
    "covariates": ["age", "sex", "histology", "pdl1", "era", "line_group", "regimen_class"],
    "alpha": 0.05,
    "penalizer": 0.0,
}  # fmt: skip
EXPORT_COUNTS = ["n_lines", "n_exposed", "n_events", "n_events_exposed"]
PRIVATE_COLUMNS = ["algorithm", "scenario", "exposure", "person_id", "line_number", "regimen", "start_date",
                   "exposed", "pdc", "covered_days"]  # fmt: skip


def settings(block: dict | None) -> dict:
    s = {**DEFAULTS, **(block or {})}
    s["exposures"] = dict(s.get("exposures") or DEFAULTS["exposures"])
    return s


def _read(path) -> pd.DataFrame:
    try:
        return read_parquet(path).to_pandas()
    except FileNotFoundError as exc:
        raise InputError(path, "file not found") from exc


def analyse(sources, persons, exposures, block=None, era_start_years=None, study_end_date=None):
    """`sources`: [(algorithm, scenario, lines DataFrame)] (gold first). Returns (cohorts, results):
    cohorts = one row per (source, exposure, line) with the exposure and endpoints; results = the Cox
    table of `fit_exposure_models` (raw counts: suppress before export)."""
    s = settings(block)
    parts = []
    for alg, scen, lines in sources:
        ep = compute_endpoints(lines, persons, era_start_years=era_start_years, study_end_date=study_end_date,
                               lines_name=f"{alg}/{scen}")  # fmt: skip
        n_excl = int(ep["exclusion"].notna().sum())
        for name, cfg in s["exposures"].items():
            coh = exposure_cohort(ep, exposures, name, cfg)
            coh.insert(0, "scenario", scen)
            coh.insert(0, "algorithm", alg)
            parts.append(coh)
            log.info("%s/%s %s: %d lines of type %s (%d exposed); %d lines excluded from every cohort",
                     alg, scen, name, len(coh), cfg.get("line_type"), int(coh["exposed"].sum()), n_excl)  # fmt: skip
    cohorts = pd.concat(parts, ignore_index=True)
    gold = cohorts[cohorts["algorithm"] == GOLD]
    levels = design_levels(gold if len(gold) else cohorts, s["covariates"])
    res = fit_exposure_models(cohorts, s["endpoints"], s["covariates"], s["alpha"], s["penalizer"], levels=levels)
    return cohorts, res


def export_table(results: pd.DataFrame, min_cell: int, method: str = "suppress", reference_hr=None) -> pd.DataFrame:
    """Suppressed copy: estimates blanked when fewer than min_cell exposed or unexposed lines (or events
    in either arm); counts suppressed/coarsened with `lotluca.privacy`. `reference_hr`: {exposure: HR}
    simulated on rwTTNT (synthetic data only), added as a column."""
    out = results.copy()
    est = [c for c in out.columns if c.startswith(("hr", "lower_", "upper_", "p_value"))]
    unexp = out["n_lines"] - out["n_exposed"]
    small = out["n_exposed"].lt(min_cell) | unexp.lt(min_cell) | out["n_events_exposed"].lt(min_cell)
    small |= (out["n_events"] - out["n_events_exposed"]).lt(min_cell)
    out.loc[small, est] = np.nan
    # fixed precision: byte-identical exports across reruns and platforms
    for c in est:
        out[c] = out[c].astype(float).map(lambda v: float(f"{v:.4g}") if np.isfinite(v) else np.nan)
    if reference_hr:
        out["simulated_hr"] = out["exposure"].map(reference_hr).astype(float)
    out = suppress_counts(out, EXPORT_COUNTS, min_cell, method)
    for c in EXPORT_COUNTS:
        out[c] = out[c].astype("Int64")
    return out


def run_concomitant(gold_path, persons_path, exposures_path, line_files, outputs: dict, block=None, privacy=None,
                    seed=0, study_end_date=None, era_start_years=None, reference_hr=None, dpi=150):  # fmt: skip
    """Read the inputs, analyse, write outputs["cohorts"] (private Parquet), outputs["table"] (CSV export)
    and outputs["figure_png"/"figure_pdf"] (forest plot)."""
    from lotluca.concomitant.figure import plot_forest

    s = settings(block)
    p = {"min_cell": 10, "method": "suppress", "pseudonym_key_env": "LOTLUCA_PSEUDONYM_KEY", **(privacy or {})}
    gold = _read(gold_path)
    if "split" not in gold.columns:
        raise InputError(gold_path, "missing column", column="split")
    cohort = set(gold.loc[gold["split"].isin(s["gold_splits"]), "person_id"])
    if not cohort:
        raise InputError(gold_path, f"no person in splits {s['gold_splits']}", column="split")
    persons = _read(persons_path)
    exposures = _read(exposures_path)
    sources = [(GOLD, GOLD, gold[gold["person_id"].isin(cohort)])]
    for alg, scen, path in line_files:
        df = _read(path)
        sources.append((alg, scen, df[df["person_id"].isin(cohort)]))
    cohorts, res = analyse(sources, persons, exposures, s, era_start_years, study_end_date)
    priv = cohorts[PRIVATE_COLUMNS].copy()
    priv["person_id"] = pseudonymise(priv["person_id"], pseudonym_key(p["pseudonym_key_env"], seed))
    write_parquet(pa.Table.from_pandas(priv, preserve_index=False), outputs["cohorts"])
    table = export_table(res, int(p["min_cell"]), p["method"], reference_hr)
    write_export(table, outputs["table"], EXPORT_COUNTS, int(p["min_cell"]))
    plot_forest(table, [outputs["figure_png"], outputs["figure_pdf"]], dpi=dpi)
    return table


def reference_hr(simulate_block: dict | None) -> dict | None:
    """Hazard ratios the generator applied (config simulate.concomitant), or None on real data."""
    sim = dict(simulate_block or {})
    if not sim.get("enabled", False):
        return None
    from lotluca.simulate.concomitant import settings_from_config

    c = settings_from_config(sim.get("concomitant"))
    if not c.enabled:
        return None
    return {"ppi": c.hr_ppi_egfr_tki, "antibiotic": c.hr_abx_io, "corticosteroid": c.hr_corticosteroid}
