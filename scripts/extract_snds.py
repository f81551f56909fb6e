"""Step `extract_snds` (one job per patient shard): SNDS table files -> canonical persons, exposures,
chemo_sessions, stays (lotluca.sources)."""

from pathlib import Path

from lotluca.sources.pipeline import SNDS_TABLES, paths_from_files, row_numbers_from_files, run_snds
from lotluca.steps import run_step


def main(smk):
    files = list(smk.input.tables)
    run_snds(
        paths_from_files(files, SNDS_TABLES),
        Path(smk.output.persons).parent,
        {"study": smk.params.study, "extract": smk.params.extract},
        row_numbers=row_numbers_from_files(files, SNDS_TABLES),
        part=smk.params.part,
    )


run_step(snakemake, main)
