"""The `effectiveness` config block as a frozen settings dataclass (endpoints, KM, Cox, bias bootstrap)."""

from __future__ import annotations

from dataclasses import dataclass

from lotluca.config import Settings


@dataclass(frozen=True)
class CoxSettings(Settings):
    """Config block `effectiveness.cox`: the first-line Cox model of treatment vs reference classes."""

    treatment_classes: tuple[str, ...]  # regimen classes of the treatment arm
    reference_classes: tuple[str, ...]  # regimen classes of the reference arm
    era_start_years: tuple[int, ...]  # first year of each era of line start (a covariate)
    penalizer: float  # ridge penalty of the lifelines fit


@dataclass(frozen=True)
class Comparison(Settings):
    """One comparison of `effectiveness.comparative.comparisons`: treatment vs reference lines."""

    name: str  # identifier (the simulator's known-truth comparison has its own name)
    line: int  # line number of the compared lines (0: every line)
    treatment: tuple[str, ...]  # regimens or regimen classes of the treatment arm
    reference: tuple[str, ...]  # regimens or regimen classes of the reference arm


@dataclass(frozen=True)
class ComparativeSettings(Settings):
    """Config block `effectiveness.comparative`: propensity score, IPTW and adjusted Cox (gold lines)."""

    endpoints: tuple[str, ...]  # endpoints compared
    numeric: tuple[str, ...]  # numeric covariates of the propensity and adjusted models
    categorical: tuple[str, ...]  # categorical covariates (missing = level "unknown")
    comparisons: tuple[Comparison, ...]
    charlson_lookback_days: int  # proxies: Charlson index from the PMSI diagnoses of these days before the index
    prior_stays_days: int  # proxies: prior hospital stays counted over these days before the index
    charlson_exclude: tuple[str, ...]  # proxies: Charlson conditions left out (the cancer under study)


@dataclass(frozen=True)
class EffectivenessSettings(Settings):
    """Config block `effectiveness` (defaults and descriptions in the config schema; see docs/effectiveness.md)."""

    vital_status_scenario: str  # merged scenario whose persons give death and end of follow-up
    gold_splits: tuple[str, ...]  # gold-standard splits forming the analysis cohort
    ttd_gap_days: int  # rwTTD: days without the line's drugs that make a discontinuation
    pooled_line_from: int  # lines >= this are pooled into one line group ("3+")
    at_risk_months: tuple[float, ...]  # times of the at-risk table
    curve_step_months: float  # grid of the exported KM curves
    alpha: float  # 1 - confidence level of every CI
    cox: CoxSettings
    bootstrap: int  # replicates of the paired patient bootstrap of the bias table
    comparative: ComparativeSettings
    censoring: str  # end of follow-up without a recorded death: "last_seen" or "end_of_data"
    delayed_entry: bool  # left truncation at the first date the centre saw the person (KM, Cox, comparative)

    def endpoint_options(self) -> dict:
        """The keyword arguments of `endpoints.compute_endpoints` that this block sets (shared with the
        concomitant stage, whose endpoints are the effectiveness stage's)."""
        return {
            "ttd_gap_days": self.ttd_gap_days,
            "pooled_line_from": self.pooled_line_from,
            "era_start_years": list(self.cox.era_start_years),
            "censoring": self.censoring,
            "delayed_entry": self.delayed_entry,
        }
