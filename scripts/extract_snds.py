"""Step `extract_snds`: SNDS table files -> canonical persons, exposures, chemo_sessions, stays (lotluca.sources)."""

from pathlib import Path

from lotluca.sources.pipeline import SNDS_TABLES, paths_from_files, run_snds
from lotluca.steps import run_step


def main(smk):
    paths = paths_from_files(smk.input.tables, SNDS_TABLES)
    run_snds(paths, Path(smk.output.persons).parent, {"study": smk.params.study, "extract": smk.params.extract})


run_step(snakemake, main)
