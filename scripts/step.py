"""The one step script of every rule: runs lotluca.<stage>.steps.<rule> (see lotluca.steps.run_rule)."""

from lotluca.steps import run_rule

run_rule(snakemake)
