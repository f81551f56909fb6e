"""Step `table_medians`: Table 3, KM medians by line and regimen class, gold vs best algorithm (see lotluca.figures.tables)."""

from lotluca.figures.stage import table_medians
from lotluca.steps import run_step


def main(smk):
    table_medians(smk.input.metrics, smk.input.km_summary, list(smk.output), figures=dict(smk.params.figures),
                  privacy=dict(smk.params.privacy))  # fmt: skip


run_step(snakemake, main)
