"""Step `figure_accuracy`: Fig 2, line F1 and full-sequence match by algorithm and scenario (see lotluca.figures.accuracy)."""

from lotluca.figures.stage import figure_accuracy
from lotluca.steps import run_step


def main(smk):
    figure_accuracy(smk.input.metrics, list(smk.output), smk.params.scenarios, smk.params.algorithms,
                    figures=dict(smk.params.figures), privacy=dict(smk.params.privacy))  # fmt: skip


run_step(snakemake, main)
