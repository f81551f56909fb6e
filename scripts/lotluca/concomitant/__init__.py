"""Concomitant medications and outcomes of each line of therapy (docs/concomitant.md).

`windows`: exposure of each line to a drug class in a window around its start (days covered, proportion
of days covered, boundary days included). `models`: cohorts per line type and Cox models of the line's
endpoints (`lotluca.effectiveness.endpoints`) with the exposure and the usual covariates. `settings`:
the `concomitant` config block. `analysis`: cohorts and models of the gold lines and every algorithm's
lines, the private and the suppressed tables. `figure`: the forest plot. `steps`: the `concomitant`
rule. `truthcheck`: recovery of the simulated hazard ratios (benchmark, tests).
"""

from lotluca.concomitant.models import fit_exposure_models, line_types
from lotluca.concomitant.windows import line_exposure, window_coverage

__all__ = ["fit_exposure_models", "line_exposure", "line_types", "window_coverage"]
