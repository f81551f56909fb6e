"""Step `simulate`: draw the synthetic cohort and write every source table (see lotluca.simulate)."""

from lotluca.simulate import simulate_to_files
from lotluca.steps import run_step


def main(smk):
    simulate_to_files(
        settings=smk.params.simulate,
        study=smk.params.study,
        seed=smk.params.seed,
        out_dir=str(smk.output.gold).rsplit("/gold/", 1)[0],
        fmt=smk.params.fmt,
    )


run_step(snakemake, main)
