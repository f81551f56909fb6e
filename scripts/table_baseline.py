"""Step `table_baseline`: Table 1, baseline characteristics (see lotluca.figures.tables)."""

from lotluca.figures.stage import table_baseline
from lotluca.steps import run_step


def main(smk):
    table_baseline(smk.input.persons, smk.input.gold, list(smk.output), smk.params.split, smk.params.era_start_years,
                   figures=dict(smk.params.figures), privacy=dict(smk.params.privacy))  # fmt: skip


run_step(snakemake, main)
