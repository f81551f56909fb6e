"""Step `shard_raw_{snds,odh}`: split a user's raw tables into patient shards (lotluca.extract.split)."""

from pathlib import Path

from lotluca.extract.pipeline import paths_from_files
from lotluca.extract.split import SPLIT_TABLES, split_source
from lotluca.steps import run_step


def main(smk):
    source = smk.params.source
    split_source(
        source,
        paths_from_files(smk.input.tables, tuple(SPLIT_TABLES[source])),
        [Path(d) for d in smk.params.shard_dirs],
        {"study": smk.params.study, "extract": smk.params.extract},
    )


run_step(snakemake, main)
