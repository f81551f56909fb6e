# evaluate: every algorithm x scenario against the gold standard (split evaluate.split). The per-person
# part runs per patient shard (evaluate_shard), `evaluate` gathers it and computes strata, metrics and
# bootstrap CIs (identical for any number of shards). docs/evaluate.md


rule evaluate_shard:
    input:
        gold=gold_lines(),
        lines=[path("lines.shard", scenario=s, algorithm=a) for s, a in PAIRS],
        # snds_only is scored on the gold persons the SNDS-only cohort contains
        snds_cohort=(
            [path("merge.table", scenario="snds_only", table="persons")]
            if "snds_only" in SCENARIOS
            else []
        ),
    output:
        persons=temp(
            [path("evaluate.shard", scenario=s, algorithm=a) for s, a in PAIRS]
        ),
    log:
        log_file("evaluate_shard", "shard"),
    benchmark:
        bench_file("evaluate_shard", "shard")
    conda:
        "../../envs/evaluate.yaml"
    params:
        evaluate=config["evaluate"],
        seed=config["seed"],
        pairs=PAIRS,
        shard="{shard}",
        n_shards=N_SHARDS,
    script:
        STEP


rule evaluate:
    input:
        persons=[
            path("evaluate.shard", scenario=s, algorithm=a, shard=k)
            for s, a in PAIRS
            for k in SHARDS
        ],
    output:
        metrics_csv=report(
            path("evaluate.metrics_csv"),
            caption="../report/evaluation_metrics.rst",
            category=category("evaluate"),
        ),
        metrics_parquet=path("evaluate.metrics_parquet"),
        summary=report(
            path("evaluate.summary"),
            caption="../report/evaluation_summary.rst",
            category=category("evaluate"),
        ),
        # person-level: private, never in the report
        per_patient=path("evaluate.per_patient"),
        readme_table=report(
            path("evaluate.readme_table"),
            caption="../report/evaluation_readme_table.rst",
            category=category("evaluate"),
        ),
    log:
        log_file("evaluate"),
    benchmark:
        bench_file("evaluate")
    conda:
        "../../envs/evaluate.yaml"
    params:
        evaluate=config["evaluate"],
        seed=config["seed"],
        pairs=PAIRS,
        n_shards=N_SHARDS,
        scenarios=SCENARIOS,
        algorithms=ALGORITHMS,
    script:
        STEP
