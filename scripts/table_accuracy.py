"""Step `table_accuracy`: Table 2, accuracy of every algorithm x scenario (see lotluca.figures.accuracy)."""

from lotluca.figures.stage import table_accuracy
from lotluca.steps import run_step


def main(smk):
    table_accuracy(smk.input.metrics, list(smk.output), smk.params.scenarios, smk.params.algorithms,
                   figures=dict(smk.params.figures), privacy=dict(smk.params.privacy))  # fmt: skip


run_step(snakemake, main)
