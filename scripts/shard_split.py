"""Step `shard_merged`: split a scenario's merged per-person tables into patient shards (see lotluca.sharding)."""

from lotluca.sharding import split_files
from lotluca.steps import run_step


def main(smk):
    tables = smk.params.tables
    split_files(
        inputs={t: getattr(smk.input, t) for t in tables},
        outputs={t: list(getattr(smk.output, t)) for t in tables},
    )


run_step(snakemake, main)
