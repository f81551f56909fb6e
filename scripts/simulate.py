"""Step `simulate`: draw one shard of the synthetic cohort and write its source tables (see lotluca.simulate)."""

from lotluca.simulate import simulate_to_files
from lotluca.steps import run_step


def main(smk):
    simulate_to_files(
        settings=smk.params.simulate,
        study=smk.params.study,
        seed=smk.params.seed,
        out_dir=str(smk.output.gold).rsplit("/gold/", 1)[0],
        fmt=smk.params.fmt,
        shard=int(smk.wildcards.shard),
        n_shards=smk.params.n_shards,
    )


run_step(snakemake, main)
