"""Step `learned_predict`: lines (algorithm xgboost) of every person of one scenario from the trained model."""

import json
from pathlib import Path

import xgboost as xgb

from lotluca.io import read_parquet, write_parquet
from lotluca.learned.model import LearnedSettings
from lotluca.learned.pipeline import predict
from lotluca.steps import run_step


def main(smk):
    s = LearnedSettings.from_config(smk.params.learned, smk.params.seed)
    inp = smk.input
    booster = xgb.Booster()
    booster.load_model(inp.model)
    summary = json.loads(Path(inp.summary).read_text(encoding="utf-8"))
    lines = predict(
        read_parquet(inp.exposures).to_pandas(),
        read_parquet(inp.persons).to_pandas(),
        read_parquet(inp.chemo_sessions).to_pandas(),
        booster,
        summary,
        read_parquet(inp.oof).to_pandas(),
        s,
    )
    write_parquet(lines, smk.output.lines)


run_step(snakemake, main)
