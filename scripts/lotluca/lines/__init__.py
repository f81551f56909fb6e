"""Lines of therapy: a parameterised rule engine (numba state machine) with published rule sets as presets,
and a registry of line algorithms (presets and trainable estimators). See docs/lines.md.

`reconstruct(exposures, persons, chemo_sessions, params)` -> canonical `lines` table. Presets live in
`presets/*.yaml` and are loaded with `load_params(name)`; `LinesSettings` is the `lines` config block;
`algorithms` builds the algorithm registry of a run; `steps` holds the rules `lines` and `lines_gather`;
readers for the Merck reference CSV format (`merck.read_merck`) and an OMOP CDM v5.4 EPISODE /
EPISODE_EVENT export (`omop.to_omop`).
"""

from lotluca.lines.engine import END_REASONS, reconstruct, reconstruct_with_assignment
from lotluca.lines.params import LineParams, LinesSettings, available_presets, load_params

__all__ = [
    "END_REASONS",
    "LineParams",
    "LinesSettings",
    "available_presets",
    "load_params",
    "reconstruct",
    "reconstruct_with_assignment",
]
