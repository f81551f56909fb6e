"""Step `figure_km`: Fig 4, Kaplan-Meier rwTTNT and rwOS by line with at-risk tables (see lotluca.figures.km)."""

from lotluca.figures.stage import figure_km
from lotluca.steps import run_step


def main(smk):
    i = smk.input
    figure_km(
        i.metrics,
        i.km_curves,
        i.at_risk,
        list(smk.output),
        figures=dict(smk.params.figures),
        privacy=dict(smk.params.privacy),
    )


run_step(snakemake, main)
