"""Step `extract_odh`: ODH table files -> canonical persons, exposures, stays (lotluca.sources)."""

from pathlib import Path

from lotluca.sources.pipeline import ODH_TABLES, paths_from_files, run_odh
from lotluca.steps import run_step


def main(smk):
    paths = paths_from_files(smk.input.tables, ODH_TABLES)
    run_odh(paths, Path(smk.output.persons).parent, {"study": smk.params.study, "extract": smk.params.extract})


run_step(snakemake, main)
