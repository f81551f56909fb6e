"""Step `figure_bias`: Fig 6, forest plot of the bias of effectiveness estimates (see lotluca.figures.forest)."""

from lotluca.figures.stage import figure_bias
from lotluca.steps import run_step


def main(smk):
    figure_bias(smk.input.bias, list(smk.output), smk.params.scenarios, smk.params.algorithms,
                figures=dict(smk.params.figures), privacy=dict(smk.params.privacy))  # fmt: skip


run_step(snakemake, main)
