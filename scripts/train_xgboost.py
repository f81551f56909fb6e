"""Step `learned_train`: train the xgboost line-boundary model of one scenario on the gold train split."""

from lotluca.learned.model import LearnedSettings
from lotluca.learned.pipeline import train_files
from lotluca.steps import run_step


def main(smk):
    inp, out = smk.input, smk.output
    train_files(
        inp.exposures,
        inp.persons,
        inp.chemo_sessions,
        inp.gold,
        out.model,
        out.summary,
        out.oof,
        LearnedSettings.from_config(smk.params.learned, smk.params.seed, smk.params.rule_overrides),
        int(smk.params.tolerance_days),
    )


run_step(snakemake, main)
