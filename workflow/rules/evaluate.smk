# Evaluation of every algorithm x data-source scenario against the gold standard (test split).
# Wiring only: matching, metrics and bootstrap live in lotluca.evaluation.
EVALUATION_REPORT = "5. Evaluation against the gold standard"


rule evaluate:
    input:
        gold=config["inputs"]["gold_lines"],
        lines=expand(
            "results/lines/{scenario}/{algorithm}.parquet",
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
