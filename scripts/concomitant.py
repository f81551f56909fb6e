"""Step `concomitant`: exposure cohorts and Cox models of concomitant medications per lines source."""

from lotluca.concomitant.stage import reference_hr, run_concomitant
from lotluca.steps import run_step


def main(smk):
    line_files = [(alg, scen, path) for (alg, scen), path in zip(smk.params.sources, smk.input.lines, strict=True)]
    outputs = {name: smk.output[name] for name in ("cohorts", "table", "figure_png", "figure_pdf")}
    run_concomitant(
        smk.input.gold,
        smk.input.persons,
        smk.input.exposures,
        line_files,
        outputs,
        block=dict(smk.params.concomitant),
        privacy=dict(smk.params.privacy),
        seed=smk.params.seed,
        study_end_date=smk.params.study_end_date,
        era_start_years=list(smk.params.era_start_years),
        reference_hr=reference_hr(smk.params.simulate),
        dpi=smk.params.dpi,
    )


run_step(snakemake, main)
