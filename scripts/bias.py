"""Step `bias`: gold vs each algorithm's lines on the same persons, paired patient-bootstrap CIs (suppressed)."""

from lotluca.effectiveness.stage import run_bias
from lotluca.steps import run_step


def main(smk):
    outputs = {"csv": smk.output.csv, "parquet": smk.output.parquet, "summary": smk.output.summary}
    run_bias(
        smk.input.endpoints,
        outputs,
        settings=dict(smk.params.effectiveness),
        privacy=dict(smk.params.privacy),
        seed=smk.params.seed,
    )


run_step(snakemake, main)
