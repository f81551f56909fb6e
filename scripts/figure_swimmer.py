"""Step `figure_swimmer`: Fig 5, swimmer plot of seeded random test persons (patient-level: results/private/)."""

from lotluca.figures.stage import figure_swimmer
from lotluca.steps import run_step


def main(smk):
    i = smk.input
    figure_swimmer(i.metrics, list(i.lines), i.gold, i.persons, list(smk.output), seed=smk.params.seed, split=smk.params.split,
                   figures=dict(smk.params.figures), privacy=dict(smk.params.privacy))  # fmt: skip


run_step(snakemake, main)
