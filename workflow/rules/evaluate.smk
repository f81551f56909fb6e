# Evaluation of every algorithm x data-source scenario against the gold standard (test split).
# Wiring only: matching, metrics and bootstrap live in lotluca.evaluate. The per-person part
# (matching, per-person statistics, per-patient rows) runs per patient shard (score_shard, temp
# tables under results/shards/n{N}/evaluation/); `evaluate` gathers them (sorted by person) and
# computes strata, metrics and bootstrap CIs, identical for any number of shards.
EVALUATION_REPORT = "5. Evaluation against the gold standard"
# (scenario, algorithm) of every evaluated prediction; one score_shard job per shard scores them all
EVALUATED_PAIRS = [(s, a) for s in config["scenarios"] for a in evaluated_algorithms()]


rule score_shard:
    input:
        gold=config["inputs"]["gold_lines"],
        # per scenario x algorithm: a rule preset's lines shard; the learned model's lines are not
        # sharded (the whole file, filtered to the shard)
        lines=lambda wc: [
            (
                f"results/lines/{s}/xgboost.parquet"
                if a == "xgboost"
                else shard_file(f"lines/{s}/{a}").format(shard=wc.shard)
            )
            for s, a in EVALUATED_PAIRS
        ],
    output:
        temp([shard_file(f"evaluation/{s}/{a}") for s, a in EVALUATED_PAIRS]),
    log:
        "results/logs/score_shard/{shard}.log",
    benchmark:
        "results/benchmarks/score_shard/{shard}.tsv"
    conda:
        "../../envs/evaluate.yaml"
    params:
        evaluation=config["evaluate"],
        seed=config["seed"],
        n_shards=N_SHARDS,
        pairs=EVALUATED_PAIRS,
        lines_sharded=[a != "xgboost" for _, a in EVALUATED_PAIRS],
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
        evaluation=config["evaluate"],
        seed=config["seed"],
        scenarios=config["scenarios"],
        algorithms=evaluated_algorithms(),
    script:
        "../../scripts/evaluate.py"
