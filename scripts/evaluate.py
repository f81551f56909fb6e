"""Step `evaluate`: score every algorithm x scenario on the gold test split (see lotluca.evaluation)."""

import json
from pathlib import Path

import pyarrow as pa

from lotluca.evaluation import evaluate_many, readme_table, settings_from_config, summary
from lotluca.evaluation.submission import load_gold, read_table, validate_lines
from lotluca.io import write_parquet
from lotluca.steps import run_step


def main(smk):
    settings = settings_from_config(smk.params.evaluation, smk.params.seed)
    gold, _ = load_gold(smk.input.gold, smk.params.evaluation["split"])
    # results/lines/{scenario}/{algorithm}.parquet
    preds = {(Path(f).parent.name, Path(f).stem): validate_lines(read_table(f), f) for f in smk.input.lines}
    metrics, per_patient = evaluate_many(preds, gold, settings)
    out = smk.output
    Path(out.metrics_csv).parent.mkdir(parents=True, exist_ok=True)
    metrics.to_csv(out.metrics_csv, index=False, float_format="%.6g", lineterminator="\n")
    write_parquet(pa.Table.from_pandas(metrics, preserve_index=False), out.metrics_parquet)
    write_parquet(pa.Table.from_pandas(per_patient, preserve_index=False), out.per_patient)
    doc = summary(metrics, settings, gold["person_id"].nunique())
    Path(out.summary).write_text(json.dumps(doc, indent=2, allow_nan=False) + "\n", encoding="utf-8")
    Path(out.readme_table).write_text(
        readme_table(metrics, smk.params.scenarios, smk.params.algorithms), encoding="utf-8"
    )


run_step(snakemake, main)
