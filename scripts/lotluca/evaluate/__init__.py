"""Evaluation of reconstructed lines of therapy against the gold standard (BRIEF section 5).

`matching` (optimal one-to-one matching of line starts within a tolerance), `metrics` (per-person
sufficient statistics, metric definitions, strata), `bootstrap` (seeded patient bootstrap, vectorised),
`submission` (reading and validating line tables: the scoring kit's format and errors), `persons`
(the per-person table: scored per patient shard, gathered, turned into metrics), `scoring`
(orchestration: tidy metrics, per-patient table, JSON summary), `readme` (the README table: `readme_table`),
`cli` (`lotluca evaluate`).
"""

from lotluca.evaluate.metrics import METRICS, Settings
from lotluca.evaluate.scoring import evaluate, evaluate_many, settings_from_config, summary

__all__ = ["METRICS", "Settings", "evaluate", "evaluate_many", "readme_table", "settings_from_config", "summary"]


def __getattr__(name):
    # lazy, so that `python -m lotluca.evaluate.readme` does not import its own module twice
    if name == "readme_table":
        from lotluca.evaluate.readme import readme_table

        return readme_table
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
