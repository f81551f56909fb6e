"""Lines of therapy: a parameterised rule engine (numba state machine) with published rule sets as presets.

`reconstruct(exposures, persons, chemo_sessions, params)` -> canonical `lines` table. Presets live in
`presets/*.yaml` and are loaded with `load_params(name)`; readers for the Merck reference CSV format
(`merck.read_merck`) and an OMOP CDM v5.4 EPISODE / EPISODE_EVENT export (`omop.to_omop`).
"""

from lotluca.lines.engine import END_REASONS, reconstruct, reconstruct_with_assignment
from lotluca.lines.params import LineParams, available_presets, load_params

__all__ = [
    "END_REASONS",
    "LineParams",
    "available_presets",
    "load_params",
    "reconstruct",
    "reconstruct_with_assignment",
]
