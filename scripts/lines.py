"""Step `lines`: reconstruct the lines of therapy of one scenario with one algorithm (see lotluca.lines)."""

from lotluca.lines.cli import run_lines
from lotluca.steps import run_step


def main(smk):
    run_lines(
        input_path=smk.input.exposures,
        algorithm=smk.wildcards.algorithm,
        output_path=smk.output.lines,
        input_format="exposures",
        persons_path=smk.input.persons,
        sessions_path=smk.input.chemo_sessions,
        overrides=smk.params.overrides,
    )


run_step(snakemake, main)
