"""Evaluation of reconstructed lines of therapy against the gold standard (docs/evaluate.md).

`settings` (the `evaluate` config block: `EvaluateSettings`), `matching` (optimal one-to-one matching of
line starts within a tolerance), `metrics` (per-person sufficient statistics, metric definitions,
strata), `bootstrap` (seeded patient bootstrap, vectorised), `submission` (reading and validating line
tables: the scoring kit's format and errors), `persons` (the per-person table: scored per patient
shard, gathered, turned into metrics), `scoring` (tidy metrics, per-patient table, JSON summary),
`readme` (the README table: `readme_table`), `steps` (the rules `evaluate_shard` and `evaluate`),
`cli` (`lotluca evaluate`, the scoring kit).
"""

from lotluca.evaluate.metrics import METRICS
from lotluca.evaluate.scoring import evaluate, evaluate_many, summary
from lotluca.evaluate.settings import EvaluateSettings, bootstrap_seed

__all__ = ["METRICS", "EvaluateSettings", "bootstrap_seed", "evaluate", "evaluate_many", "readme_table", "summary"]


def __getattr__(name):
    # lazy, so that `python -m lotluca.evaluate.readme` does not import its own module twice
    if name == "readme_table":
        from lotluca.evaluate.readme import readme_table

        return readme_table
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
