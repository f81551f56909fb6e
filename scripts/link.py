"""Step `link`: ODH <-> SNDS linkage (see lotluca.linkage.pipeline)."""

from lotluca.linkage.pipeline import LinkageParams, run_linkage
from lotluca.steps import run_step


def main(smk):
    run_linkage(
        odh_dir=smk.params.odh_dir,
        snds_dir=smk.params.snds_dir,
        truth_path=smk.params.truth or None,
        params=LinkageParams.from_config(smk.params.linkage, smk.params.seed),
        links_out=smk.output.links,
        report_out=smk.output.report,
        quality_csv=smk.output.quality,
    )


run_step(snakemake, main)
