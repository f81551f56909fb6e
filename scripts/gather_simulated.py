"""Step `gather_simulated`: gold standard and truth tables of every simulated shard, sorted canonically,
and the cohort's calibration table (see lotluca.simulate.gather_shards)."""

from lotluca.simulate import gather_shards
from lotluca.steps import run_step


def main(smk):
    gather_shards(
        smk.params.shard_dirs,
        str(smk.output.gold).rsplit("/gold/", 1)[0],
        settings=smk.params.simulate,
        study=smk.params.study,
    )


run_step(snakemake, main)
