"""Step `effectiveness`: per-line endpoints (private) and the suppressed KM, log-rank and Cox tables."""

from lotluca.effectiveness.stage import run_effectiveness
from lotluca.steps import run_step


def main(smk):
    line_files = [(alg, scen, path) for (alg, scen), path in zip(smk.params.sources, smk.input.lines, strict=True)]
    outputs = {name: smk.output[name] for name in ("endpoints", "km_summary", "km_curves", "at_risk", "logrank", "cox")}
    run_effectiveness(
        smk.input.gold,
        smk.input.persons,
        line_files,
        outputs,
        settings=dict(smk.params.effectiveness),
        privacy=dict(smk.params.privacy),
        seed=smk.params.seed,
        study_end_date=smk.params.study_end_date,
    )


run_step(snakemake, main)
