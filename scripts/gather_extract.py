"""Step `gather_extract_{snds,odh}`: the per-shard extraction outputs of a source gathered into the
cohort's files, identical for any number of shards (lotluca.extract.gather)."""

from pathlib import Path

from lotluca.extract.gather import gather_source
from lotluca.steps import run_step


def main(smk):
    tables = list(smk.params.tables)
    gather_source(
        [Path(p).parent for p in smk.input.persons],
        {name: getattr(smk.output, name) for name in [*tables, "accounting", "unknown_codes"]},
        tables,
    )


run_step(snakemake, main)
