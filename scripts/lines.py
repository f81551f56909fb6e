"""Step `lines`: reconstruct the lines of therapy of one scenario (one patient shard) with every algorithm
of config lines.algorithms, the inputs read once (see lotluca.lines)."""

from lotluca.lines.cli import run_lines_many
from lotluca.steps import run_step


def main(smk):
    run_lines_many(
        exposures_path=smk.input.exposures,
        outputs=dict(zip(smk.params.algorithms, smk.output, strict=True)),
        persons_path=smk.input.persons,
        sessions_path=smk.input.chemo_sessions,
        overrides=smk.params.overrides,
    )


run_step(snakemake, main)
