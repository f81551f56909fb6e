# Evaluation of every algorithm x data-source scenario against the gold standard (test split).
# Wiring only: matching, metrics and bootstrap live in lotluca.evaluation. The per-person part
# (matching, per-person statistics, per-patient rows) runs per patient shard (score_shard, temp
# tables under results/shards/n{N}/evaluation/); `evaluate` gathers them (sorted by person) and
# computes strata, metrics and bootstrap CIs, identical for any number of shards.
EVALUATION_REPORT = "5. Evaluation against the gold standard"


rule score_shard:
    input:
        gold=config["inputs"]["gold_lines"],
        # a rule preset's lines shard; the learned model's lines are not sharded (filtered to the shard)
        lines=lambda wc: (
            f"results/lines/{wc.scenario}/xgboost.parquet"
            if wc.algorithm == "xgboost"
            else shard_file(f"lines/{wc.scenario}/{wc.algorithm}").format(
                shard=wc.shard
            )
        ),
    output:
        shard_output("evaluation/{scenario}/{algorithm}"),
    log:
        "results/logs/score_shard/{scenario}/{algorithm}/{shard}.log",
    benchmark:
        "results/benchmarks/score_shard/{scenario}/{algorithm}/{shard}.tsv"
    wildcard_constraints:
        scenario="|".join(config["scenarios"]),
        algorithm="|".join(evaluated_algorithms()),
    conda:
        "../../envs/evaluate.yaml"
    params:
        evaluation=config["evaluation"],
        seed=config["seed"],
        n_shards=N_SHARDS,
        lines_sharded=lambda wc: wc.algorithm != "xgboost",
    script:
        "../../scripts/score_shard.py"


rule evaluate:
    input:
        persons=expand(
            shard_files("evaluation/{scenario}/{algorithm}"),
            scenario=config["scenarios"],
            algorithm=evaluated_algorithms(),
        ),
    output:
        metrics_csv=report(
            "results/evaluation/metrics.csv",
            caption="../report/evaluation_metrics.rst",
            category=EVALUATION_REPORT,
        ),
        metrics_parquet="results/evaluation/metrics.parquet",
        summary=report(
            "results/evaluation/summary.json",
            caption="../report/evaluation_summary.rst",
            category=EVALUATION_REPORT,
        ),
        # patient-level: private, never in the report (BRIEF privacy rule)
        per_patient="results/private/evaluation/per_patient.parquet",
        readme_table=report(
            "results/evaluation/README_table.md",
            caption="../report/evaluation_readme_table.rst",
            category=EVALUATION_REPORT,
        ),
    log:
        "results/logs/evaluate.log",
    benchmark:
        "results/benchmarks/evaluate.tsv"
    conda:
        "../../envs/evaluate.yaml"
    params:
        evaluation=config["evaluation"],
        seed=config["seed"],
        scenarios=config["scenarios"],
        algorithms=evaluated_algorithms(),
    script:
        "../../scripts/evaluate.py"
