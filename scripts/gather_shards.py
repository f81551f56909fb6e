"""Step `gather_*`: concatenate the per-shard outputs of a step, sorted canonically (see lotluca.sharding)."""

from lotluca.sharding import gather_files
from lotluca.steps import run_step


def main(smk):
    gather_files(list(smk.input.shards), smk.output[0], keys=smk.params.sort_by)


run_step(snakemake, main)
