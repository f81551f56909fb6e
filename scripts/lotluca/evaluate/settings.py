"""The `evaluate` config block as a frozen settings dataclass (scoring against the gold standard)."""

from __future__ import annotations

from dataclasses import dataclass

from lotluca.config import Settings
from lotluca.evaluate.bootstrap import derive_seed

SEED_LABEL = "evaluation"  # label of the bootstrap seed derived from the master seed (keep: it fixes the CIs)


@dataclass(frozen=True)
class EvaluateSettings(Settings):
    """Config block `evaluate` (defaults and descriptions in the config schema; see docs/evaluate.md),
    plus `seed`, the bootstrap seed: build with
    `EvaluateSettings.from_config(config["evaluate"], seed=bootstrap_seed(config["seed"]))`."""

    split: str  # gold split scored (train | test); "all" (command line only) scores every person
    tolerance_days: int  # a predicted line matches a gold line starting within +/- this many days
    bootstrap: int  # patient-bootstrap replicates of the CIs (0: no CI)
    ci_level: float  # confidence level of the percentile intervals
    kappa_weights: str  # linear | quadratic
    kappa_max_lines: int  # line counts >= this form one category of the kappa
    seed: int  # the bootstrap seed (derived from the master seed, `bootstrap_seed`)

    def __post_init__(self):
        if self.tolerance_days < 0:
            raise ValueError(f"evaluate.tolerance_days must be >= 0, got {self.tolerance_days}")
        if self.kappa_weights not in ("linear", "quadratic"):
            raise ValueError(f"evaluate.kappa_weights must be linear or quadratic, got {self.kappa_weights!r}")
        if self.kappa_max_lines < 1:
            raise ValueError(f"evaluate.kappa_max_lines must be >= 1, got {self.kappa_max_lines}")
        if self.bootstrap < 0 or not 0 < self.ci_level < 1:
            raise ValueError("evaluate.bootstrap must be >= 0 and ci_level in (0, 1)")


def bootstrap_seed(master_seed: int) -> int:
    """The evaluation's bootstrap seed, derived from the study's master seed (label "evaluation")."""
    return derive_seed(master_seed, SEED_LABEL)
