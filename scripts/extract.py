"""Step `extract_snds` / `extract_odh` (one job per patient shard): the table files of one source (params
`source`: snds | odh) -> canonical persons, exposures, (chemo_sessions,) stays (lotluca.extract)."""

from pathlib import Path

from lotluca.extract.pipeline import (
    ODH_TABLES,
    SNDS_TABLES,
    paths_from_files,
    row_numbers_from_files,
    run_odh,
    run_snds,
)
from lotluca.steps import run_step

SOURCES = {"snds": (SNDS_TABLES, run_snds), "odh": (ODH_TABLES, run_odh)}


def main(smk):
    tables, run = SOURCES[smk.params.source]
    files = list(smk.input.tables)
    run(
        paths_from_files(files, tables),
        Path(smk.output.persons).parent,
        {"study": smk.params.study, "extract": smk.params.extract},
        row_numbers=row_numbers_from_files(files, tables),
        part=smk.params.part,
    )


run_step(snakemake, main)
