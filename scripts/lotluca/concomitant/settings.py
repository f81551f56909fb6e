"""The `concomitant` config block as a frozen settings dataclass (exposures, endpoints, Cox covariates)."""

from __future__ import annotations

from dataclasses import dataclass

from lotluca.config import Settings


@dataclass(frozen=True)
class ExposureSettings(Settings):
    """One exposure of `concomitant.exposures`: drug classes dispensed in a window around a line's start."""

    drug_classes: tuple[str, ...]  # drug_class values of the exposures table that count
    line_type: str  # lines analysed: egfr_tki | io | any
    window_before: int  # days before the line start (boundary included)
    window_after: int  # days after the line start (boundary included)
    min_pdc: float  # proportion of the window's days covered needed to be exposed (0: any covered day)


@dataclass(frozen=True)
class ConcomitantSettings(Settings):
    """Config block `concomitant` (defaults and descriptions in the config schema; see docs/concomitant.md)."""

    enabled: bool  # run the analysis (the workflow's switch)
    gold_splits: tuple[str, ...]  # gold-standard splits forming the cohort
    exposure_scenario: str  # merged scenario whose exposures hold the pharmacy dispensations
    exposures: dict[str, ExposureSettings]  # name -> exposure, in the config's order
    endpoints: tuple[str, ...]  # endpoints modelled (lotluca.effectiveness.endpoints)
    covariates: tuple[str, ...]  # adjustment covariates of the Cox models
    alpha: float  # 1 - confidence level of the CIs
    penalizer: float  # ridge penalty of the lifelines fit
    design: str  # before_index: exposure measured up to the line start; window: the configured windows
    sensitivity: bool  # also fit the other design (its exposures named "<name>_window" / "<name>_before_index")
