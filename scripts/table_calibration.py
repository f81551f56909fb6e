"""Step `table_calibration`: Table 4, synthetic-cohort calibration against published figures (see lotluca.figures.tables)."""

from lotluca.figures.stage import table_calibration
from lotluca.steps import run_step


def main(smk):
    table_calibration(
        smk.input.calibration, list(smk.output), figures=dict(smk.params.figures), privacy=dict(smk.params.privacy)
    )


run_step(snakemake, main)
