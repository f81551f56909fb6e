"""The analyses of the effectiveness stage on whole tables: the per-line endpoints of every lines source
(private, pseudonymised), the suppressed export tables (KM, log-rank, Cox) and the suppressed bias
table with its ranking. The step functions (`lotluca.effectiveness.steps`) read and write the files.
"""

from __future__ import annotations

import logging

import pandas as pd
import pyarrow as pa

from lotluca.contracts import GOLD_LINES
from lotluca.effectiveness.bias import GOLD, bias_ranking, bias_table
from lotluca.effectiveness.cox import cox_data, cox_table
from lotluca.effectiveness.endpoints import compute_endpoints, endpoints_long
from lotluca.effectiveness.km import km_tables, logrank_tables
from lotluca.effectiveness.proxies import line_proxies
from lotluca.effectiveness.settings import EffectivenessSettings
from lotluca.errors import InputError
from lotluca.io import read_parquet
from lotluca.privacy import PrivacySettings, pseudonym_key, pseudonymise, suppress_counts
from lotluca.privacy.suppress import complementary_suppress

log = logging.getLogger(__name__)


def read_table(path) -> pa.Table:
    try:
        return read_parquet(path)
    except FileNotFoundError as exc:
        raise InputError(path, "file not found") from exc


def build_endpoints(
    gold_path,
    persons_path,
    line_files,
    settings: EffectivenessSettings,
    privacy: PrivacySettings,
    seed: int,
    study_end_date=None,
    diagnoses_path=None,
    links_path=None,
) -> pd.DataFrame:
    """Endpoints of the gold lines and of every (algorithm, scenario, path) in `line_files`.

    The cohort is the gold persons of the configured splits; every lines source is restricted to it,
    with death and follow-up from `persons_path`. With `diagnoses_path` (the SNDS diagnoses) and
    `links_path` (ODH-SNDS links), every line gets the confounder proxies `charlson` and `prior_stays`
    at its start (`lotluca.effectiveness.proxies`; null columns without them). Returns the per-line
    table with `algorithm`, `scenario` and pseudonymised `person_id` (patient-level: write it only to
    the private folder).
    """
    s = settings
    gold = read_table(gold_path)
    if "split" not in gold.column_names:
        raise InputError(
            gold_path, "missing column", column="split", expected=f"the gold_lines contract {GOLD_LINES.names}"
        )
    gold_df = gold.to_pandas()
    cohort = set(gold_df.loc[gold_df["split"].isin(s.gold_splits), "person_id"])
    if not cohort:
        raise InputError(gold_path, f"no person in splits {list(s.gold_splits)}", column="split")
    persons = read_table(persons_path)
    diagnoses = None if diagnoses_path is None else read_table(diagnoses_path).to_pandas()
    links = None if links_path is None else read_table(links_path).to_pandas()
    sources = [(GOLD, GOLD, gold_path, gold_df)] + [(a, sc, path, None) for a, sc, path in line_files]
    parts = []
    for alg, scen, path, df in sources:
        df = read_table(path).to_pandas() if df is None else df
        n_in = len(df)
        df = df[df["person_id"].isin(cohort)]
        if n_in and df.empty:
            raise InputError(
                path, "no line of a gold-cohort person: are person ids ODH patient ids?", column="person_id"
            )
        ep = compute_endpoints(
            df,
            persons,
            **s.endpoint_options(),
            study_end_date=study_end_date,
            lines_name=str(path),
            persons_name=str(persons_path),
        )
        excl = ep["exclusion"].value_counts().to_dict()
        log.info(
            "%s/%s: %d line rows in, %d of cohort persons -> %d lines (%d persons of %d); excluded: %s",
            *(alg, scen, n_in, len(df), len(ep), ep["person_id"].nunique(), len(cohort), excl or "none"),
        )
        if ep.empty:
            log.warning("%s/%s: no line for any cohort person (%s): this source has no estimate", alg, scen, path)
        if diagnoses is not None:  # the SNDS proxies of the confounders (comparative analysis)
            ep[["charlson", "prior_stays"]] = line_proxies(ep, diagnoses, links, s.comparative)
        else:
            ep[["charlson", "prior_stays"]] = pd.DataFrame({"c": pd.NA, "p": pd.NA}, index=ep.index, dtype="Int64")
        ep.insert(0, "scenario", scen)
        ep.insert(0, "algorithm", alg)
        parts.append(ep)
    out = pd.concat(parts, ignore_index=True)
    key = pseudonym_key(privacy.pseudonym_key_env, seed)
    out["person_id"] = pseudonymise(out["person_id"], key)
    return out


def _blank_estimates(df: pd.DataFrame, count: str, columns, min_cell: int) -> pd.DataFrame:
    small = pd.to_numeric(df[count], errors="coerce").lt(min_cell)
    for c in columns:
        df[c] = df[c].mask(small)
    return df


def export_tables(
    endpoints: pd.DataFrame, settings: EffectivenessSettings, privacy: PrivacySettings
) -> dict[str, pd.DataFrame]:
    """The suppressed export tables km_summary, km_curves, at_risk, logrank, cox (docs/effectiveness.md)."""
    s = settings
    k, method = int(privacy.min_cell), privacy.method
    long = endpoints_long(endpoints, entry=s.delayed_entry)
    summary, curves, at_risk = _km_export(long, s, k, method)
    logrank, cox = _first_line_export(long, s, k)
    return {"km_summary": summary, "km_curves": curves, "at_risk": at_risk, "logrank": logrank, "cox": cox}


def _km_export(long: pd.DataFrame, s: EffectivenessSettings, k: int, method: str):
    """KM summary, curves and at-risk tables with small counts suppressed (and the estimates they carry)."""
    summary, curves, at_risk = km_tables(
        long, times=list(s.at_risk_months), curve_step=float(s.curve_step_months), alpha=s.alpha, min_at_risk=k
    )
    est = [c for c in summary.columns if c.startswith("median")]
    summary = _blank_estimates(summary, "n_lines", est, k)  # no estimate from fewer than min_cell lines
    counts = ["n_persons", "n_lines", "n_events"]
    for c in counts:
        summary[f"{c}_raw"] = summary[c]
    summary = suppress_counts(summary, counts, k, method)
    at_risk["at_risk_raw"] = at_risk["at_risk"]
    at_risk = suppress_counts(at_risk, ["at_risk"], k, method)
    if method == "suppress":
        # first-line regimen classes partition the published first-line total: secondary suppression
        cls = summary["stratum_type"].eq("first_line_regimen_class")
        for c in counts:
            summary.loc[cls] = complementary_suppress(summary.loc[cls], c, ["algorithm", "scenario", "endpoint"], k)
        cls = at_risk["stratum_type"].eq("first_line_regimen_class")
        at_risk.loc[cls] = complementary_suppress(
            at_risk.loc[cls], "at_risk", ["algorithm", "scenario", "endpoint", "months"], k
        )
    summary = summary.drop(columns=[f"{c}_raw" for c in counts])
    at_risk = at_risk.drop(columns=["at_risk_raw"])
    for c in counts:
        summary[c] = summary[c].astype("Int64")
    at_risk["at_risk"] = at_risk["at_risk"].astype("Int64")
    return summary, curves, at_risk


def _first_line_export(long: pd.DataFrame, s: EffectivenessSettings, k: int):
    """First-line log-rank and Cox tables: estimates of arms under k lines blanked, counts dropped."""
    treatment, reference = list(s.cox.treatment_classes), list(s.cox.reference_classes)
    logrank = logrank_tables(long, treatment, reference)
    logrank = _blank_estimates(logrank, "n_lines", ["statistic", "p_value"], k)
    cox = cox_table(cox_data(long, treatment, reference), alpha=s.alpha, penalizer=s.cox.penalizer)
    level = int(round((1 - s.alpha) * 100))
    small_arm = cox["n_treatment"].lt(k) | cox["n_reference"].lt(k)
    cox.loc[small_arm, ["hr", f"lower_{level}", f"upper_{level}", "p_value"]] = float("nan")
    # the counts of these two tables are sums of first-line regimen-class strata: exported, they would let
    # a suppressed class count be recovered by subtraction, so arm and event counts are read in km_summary
    logrank = logrank.drop(columns=["n_lines", "n_events"])
    cox = cox.drop(columns=["n_lines", "n_events", "n_treatment", "n_reference"])
    return logrank, cox


EXPORT_COUNTS = {
    "km_summary": ["n_persons", "n_lines", "n_events"],
    "km_curves": [],
    "at_risk": ["at_risk"],
    "logrank": [],
    "cox": [],
    "bias": ["n_lines_gold", "n_events_gold", "n_lines_algo", "n_events_algo"],
    "bias_summary": [],
}


def bias_tables(
    endpoints: pd.DataFrame, settings: EffectivenessSettings, privacy: PrivacySettings, seed: int
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The suppressed bias table (gold vs each lines source, paired bootstrap CIs; the master `seed`
    seeds the bootstrap) and its ranking of the algorithms. Delayed entry as in the main analysis
    (`delayed_entry`)."""
    k = int(privacy.min_cell)
    long = endpoints_long(endpoints, entry=settings.delayed_entry)
    table = bias_table(
        long,
        list(settings.cox.treatment_classes),
        list(settings.cox.reference_classes),
        bootstrap=int(settings.bootstrap),
        seed=int(seed),
        alpha=settings.alpha,
    )
    est_cols = [c for c in table.columns if c.startswith(("median", "hr"))]
    small = table["n_lines_gold"].lt(k) | table["n_lines_algo"].lt(k)
    table.loc[small, est_cols] = float("nan")  # no comparison on fewer than min_cell lines
    ranking = bias_ranking(table)
    table = suppress_counts(table, EXPORT_COUNTS["bias"], k, privacy.method)
    return table, ranking
