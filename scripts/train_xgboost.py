"""Step `learned_train`: train the xgboost line-boundary model of one scenario on the gold train split."""

import json
from pathlib import Path

import pyarrow as pa

from lotluca.io import read_parquet, write_parquet
from lotluca.learned.model import LearnedSettings
from lotluca.learned.pipeline import train
from lotluca.steps import run_step


def main(smk):
    s = LearnedSettings.from_config(smk.params.learned, smk.params.seed)
    inp = smk.input
    booster, summary, oof = train(
        read_parquet(inp.exposures).to_pandas(),
        read_parquet(inp.persons).to_pandas(),
        read_parquet(inp.chemo_sessions).to_pandas(),
        read_parquet(inp.gold).to_pandas(),
        s,
        int(smk.params.tolerance_days),
    )
    Path(smk.output.model).parent.mkdir(parents=True, exist_ok=True)
    booster.save_model(smk.output.model)
    Path(smk.output.summary).write_text(json.dumps(summary, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    write_parquet(pa.Table.from_pandas(oof, preserve_index=False), smk.output.oof)


run_step(snakemake, main)
