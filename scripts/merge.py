"""Step `merge`: the merged history of one data-source scenario (see lotluca.linkage.merge)."""

from lotluca.linkage.merge import run_merge
from lotluca.steps import run_step


def main(smk):
    run_merge(
        scenario=smk.wildcards.scenario,
        odh_dir=smk.params.odh_dir,
        snds_dir=smk.params.snds_dir,
        links_path=smk.input.links,
        out_dir=str(smk.output.persons).rsplit("/", 1)[0],
        report_path=smk.output.report,
        drop_sessions_covered_by_odh=smk.params.drop_sessions_covered_by_odh,
    )


run_step(snakemake, main)
