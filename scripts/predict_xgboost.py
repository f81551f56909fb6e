"""Step `learned_predict`: lines (algorithm xgboost) of every person of one scenario from the trained model."""

from lotluca.learned.model import LearnedSettings
from lotluca.learned.pipeline import predict_files
from lotluca.steps import run_step


def main(smk):
    inp = smk.input
    predict_files(
        inp.exposures,
        inp.persons,
        inp.chemo_sessions,
        inp.model,
        inp.summary,
        inp.oof,
        smk.output.lines,
        LearnedSettings.from_config(smk.params.learned, smk.params.seed, smk.params.rule_overrides),
    )


run_step(snakemake, main)
