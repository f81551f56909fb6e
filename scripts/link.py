"""Step `link`: ODH <-> SNDS linkage (see lotluca.link.pipeline)."""

from lotluca.link.pipeline import LinkageParams, run_linkage
from lotluca.steps import run_step


def main(smk):
    truth = getattr(smk.input, "truth", [])
    truth = [truth] if isinstance(truth, str) else list(truth)
    run_linkage(
        files={k: getattr(smk.input, k) for k in ("odh_persons", "odh_stays", "snds_persons", "snds_stays")},
        truth_path=truth[0] if truth else None,
        params=LinkageParams.from_config(smk.params.linkage, smk.params.seed),
        links_out=smk.output.links,
        report_out=smk.output.report,
        quality_csv=smk.output.quality,
    )


run_step(snakemake, main)
