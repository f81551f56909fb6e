"""Step `extract_odh` (one job per patient shard): ODH table files -> canonical persons, exposures,
stays (lotluca.sources)."""

from pathlib import Path

from lotluca.sources.pipeline import ODH_TABLES, paths_from_files, row_numbers_from_files, run_odh
from lotluca.steps import run_step


def main(smk):
    files = list(smk.input.tables)
    run_odh(
        paths_from_files(files, ODH_TABLES),
        Path(smk.output.persons).parent,
        {"study": smk.params.study, "extract": smk.params.extract},
        row_numbers=row_numbers_from_files(files, ODH_TABLES),
        part=smk.params.part,
    )


run_step(snakemake, main)
