"""Step `merge`: the merged history of one data-source scenario (see lotluca.merge.scenarios)."""

from lotluca.merge.scenarios import run_merge
from lotluca.steps import run_step

INPUTS = ("odh_persons", "odh_exposures", "snds_persons", "snds_exposures", "snds_chemo_sessions", "links")


def main(smk):
    run_merge(
        scenario=smk.wildcards.scenario,
        files={k: getattr(smk.input, k) for k in INPUTS},
        out={k: getattr(smk.output, k) for k in ("persons", "exposures", "chemo_sessions")},
        report_path=smk.output.report,
        drop_sessions_covered_by_odh=smk.params.drop_sessions_covered_by_odh,
        dedup_day_tolerance=smk.params.merge_day_tolerance,
    )


run_step(snakemake, main)
