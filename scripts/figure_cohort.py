"""Step `figure_cohort`: Fig 1, cohort flow (see lotluca.figures.cohort)."""

from lotluca.figures.stage import figure_cohort
from lotluca.steps import run_step


def main(smk):
    i = smk.input
    figure_cohort(i.snds_persons, i.links, i.persons, i.metrics, list(i.lines), i.gold, list(smk.output),
                  figures=dict(smk.params.figures), privacy=dict(smk.params.privacy))  # fmt: skip


run_step(snakemake, main)
