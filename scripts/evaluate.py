"""Step `evaluate`: gather the per-person tables of every algorithm x scenario (rule `score_shard`) and
compute strata, metrics and bootstrap CIs on the gold test split (see lotluca.evaluate)."""

import json
from pathlib import Path

import pyarrow as pa

from lotluca.evaluate import readme_table, settings_from_config, summary
from lotluca.evaluate.persons import PER_PATIENT_OUTPUT, evaluate_persons_many, group_shard_files, read_gathered
from lotluca.io import write_parquet
from lotluca.steps import run_step


def main(smk):
    settings = settings_from_config(smk.params.evaluation, smk.params.seed)
    # results/shards/n{N}/evaluation/{scenario}/{algorithm}/{shard}.parquet
    metrics, per_patient, n_persons = evaluate_persons_many(
        read_gathered(group_shard_files(smk.input.persons)), settings
    )
    out = smk.output
    Path(out.metrics_csv).parent.mkdir(parents=True, exist_ok=True)
    metrics.to_csv(out.metrics_csv, index=False, float_format="%.6g", lineterminator="\n")
    write_parquet(pa.Table.from_pandas(metrics, preserve_index=False), out.metrics_parquet)
    write_parquet(pa.Table.from_pandas(per_patient, schema=PER_PATIENT_OUTPUT, preserve_index=False), out.per_patient)
    doc = summary(metrics, settings, n_persons)
    Path(out.summary).write_text(json.dumps(doc, indent=2, allow_nan=False) + "\n", encoding="utf-8")
    Path(out.readme_table).write_text(
        readme_table(metrics, smk.params.scenarios, smk.params.algorithms), encoding="utf-8"
    )


run_step(snakemake, main)
