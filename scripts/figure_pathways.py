"""Step `figure_pathways`: Fig 3, 1L -> 2L -> 3L treatment pathways, gold vs best algorithm (see lotluca.figures.pathways)."""

from lotluca.figures.stage import figure_pathways
from lotluca.steps import run_step


def main(smk):
    i = smk.input
    figure_pathways(i.metrics, list(i.lines), i.gold, list(smk.output), smk.params.split,
                    figures=dict(smk.params.figures), privacy=dict(smk.params.privacy))  # fmt: skip


run_step(snakemake, main)
