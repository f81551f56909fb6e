"""The concomitant analysis on whole tables: exposure cohorts and Cox models on the gold lines and every
algorithm's lines, the private per-line table and the suppressed export table (the step function
`lotluca.concomitant.steps.concomitant` reads the files, writes them and draws the forest plot).

Every lines source shares one cohort of persons (the gold persons of `gold_splits`), one persons table
(death, follow-up: the effectiveness `vital_status_scenario`) and one exposures table (the merged
exposures of `exposure_scenario`, which holds the SNDS pharmacy dispensations), so only the lines
differ.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

import numpy as np
import pandas as pd

from lotluca.concomitant.models import DESIGNS, design_levels, exposure_cohort, fit_exposure_models
from lotluca.concomitant.settings import ConcomitantSettings
from lotluca.effectiveness.endpoints import compute_endpoints
from lotluca.effectiveness.settings import EffectivenessSettings
from lotluca.errors import InputError
from lotluca.io import read_parquet
from lotluca.privacy import PrivacySettings, pseudonym_key, pseudonymise, suppress_counts

log = logging.getLogger(__name__)
GOLD = "gold"
EXPORT_COUNTS = ["n_lines", "n_exposed", "n_events", "n_events_exposed"]
PRIVATE_COLUMNS = [
    "algorithm",
    "scenario",
    "exposure",
    "person_id",
    "line_number",
    "regimen",
    "start_date",
    "exposed",
    "pdc",
    "covered_days",
]


def read_frame(path) -> pd.DataFrame:
    try:
        return read_parquet(path).to_pandas()
    except FileNotFoundError as exc:
        raise InputError(path, "file not found") from exc


def designed_exposures(s: ConcomitantSettings) -> list[tuple]:
    """(name, exposure settings, design) of every model: each exposure in the main `design`, and with
    `sensitivity` in the other design too, named "<name>_<design>"."""
    out = [(name, cfg, s.design) for name, cfg in s.exposures.items()]
    if s.sensitivity:
        other = DESIGNS[1 - DESIGNS.index(s.design)]
        out += [(f"{name}_{other}", cfg, other) for name, cfg in s.exposures.items()]
    return out


def analyse(
    sources,
    persons,
    exposures,
    settings: ConcomitantSettings,
    effectiveness: EffectivenessSettings,
    study_end_date=None,
):
    """`sources`: [(algorithm, scenario, lines DataFrame)] (gold first). Returns (cohorts, results):
    cohorts = one row per (source, exposure, line) with the exposure and endpoints; results = the Cox
    table of `fit_exposure_models` (raw counts: suppress before export). The endpoints, line groups
    and eras are those of the effectiveness stage (`effectiveness`)."""
    s = settings
    parts = []
    for alg, scen, lines in sources:
        ep = compute_endpoints(
            lines,
            persons,
            **effectiveness.endpoint_options(),
            study_end_date=study_end_date,
            lines_name=f"{alg}/{scen}",
        )
        n_excl = int(ep["exclusion"].notna().sum())
        for name, cfg, design in designed_exposures(s):
            coh = exposure_cohort(ep, exposures, name, cfg, design)
            coh.insert(0, "scenario", scen)
            coh.insert(0, "algorithm", alg)
            parts.append(coh)
            log.info(
                "%s/%s %s: %d lines of type %s (%d exposed); %d lines excluded from every cohort",
                *(alg, scen, name, len(coh), cfg.line_type, int(coh["exposed"].sum()), n_excl),
            )
    cohorts = pd.concat(parts, ignore_index=True)
    gold = cohorts[cohorts["algorithm"] == GOLD]
    covariates = list(s.covariates)
    levels = design_levels(gold if len(gold) else cohorts, covariates)
    res = fit_exposure_models(cohorts, list(s.endpoints), covariates, s.alpha, s.penalizer, levels=levels)
    return cohorts, res


def export_table(results: pd.DataFrame, min_cell: int, method: str, reference_hr=None) -> pd.DataFrame:
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
        base = out["exposure"].str.replace(f"_({'|'.join(DESIGNS)})$", "", regex=True)  # sensitivity rows too
        out["simulated_hr"] = base.map(reference_hr).astype(float)
    out = suppress_counts(out, EXPORT_COUNTS, min_cell, method)
    for c in EXPORT_COUNTS:
        out[c] = out[c].astype("Int64")
    return out


def read_inputs(gold_path, persons_path, exposures_path, line_files, gold_splits):
    """(sources, persons, exposures) of the analysis: the gold lines and every (algorithm, scenario, path)
    of `line_files` restricted to the gold persons of `gold_splits` (gold first), the persons table
    (vital status) and the exposures table."""
    gold = read_frame(gold_path)
    if "split" not in gold.columns:
        raise InputError(gold_path, "missing column", column="split")
    cohort = set(gold.loc[gold["split"].isin(list(gold_splits)), "person_id"])
    if not cohort:
        raise InputError(gold_path, f"no person in splits {list(gold_splits)}", column="split")
    sources = [(GOLD, GOLD, gold[gold["person_id"].isin(cohort)])]
    for alg, scen, path in line_files:
        df = read_frame(path)
        sources.append((alg, scen, df[df["person_id"].isin(cohort)]))
    return sources, read_frame(persons_path), read_frame(exposures_path)


def private_cohorts(cohorts: pd.DataFrame, privacy: PrivacySettings, seed: int) -> pd.DataFrame:
    """The per-line cohort table to keep in the private folder: PRIVATE_COLUMNS, pseudonymised person ids."""
    priv = cohorts[PRIVATE_COLUMNS].copy()
    priv["person_id"] = pseudonymise(priv["person_id"], pseudonym_key(privacy.pseudonym_key_env, seed))
    return priv


def reference_hr(simulate_block: Mapping | None) -> dict | None:
    """Hazard ratios the generator applied (config `simulate.concomitant`, validated), or None on real data
    (simulator or its concomitant block disabled)."""
    sim = dict(simulate_block or {})
    c = sim.get("concomitant") or {}
    if not sim.get("enabled", False) or not c.get("enabled", False):
        return None
    return {
        "ppi": float(c["hr_ppi_egfr_tki"]),
        "antibiotic": float(c["hr_abx_io"]),
        "corticosteroid": float(c["hr_corticosteroid"]),
    }
