# learned: fit each trainable line algorithm (config learned) per scenario on the gold TRAIN split; its
# lines are then built like any algorithm's by rule `lines`; learned_card documents the fitted model.
# docs/learned.md


rule learned_fit:
    input:
        **{t: path("merge.table", table=t) for t in MERGED},
        gold=gold_lines(),
    output:
        model=path("learned.model"),
    log:
        log_file("learned_fit", "scenario", "algorithm"),
    benchmark:
        bench_file("learned_fit", "scenario", "algorithm")
    conda:
        "../../envs/learned.yaml"
    threads: config["learned"]["threads"]
    params:
        learned=config["learned"],
        lines=config["lines"],
        evaluate=config["evaluate"],
        seed=config["seed"],
        algorithm="{algorithm}",
    script:
        STEP


rule learned_card:
    input:
        model=path("learned.model"),
        metrics=path("evaluate.metrics_csv"),
    output:
        card=report(
            path("learned.card"),
            caption="../report/learned_model_card.rst",
            category=category("learned"),
            subcategory="{scenario}",
        ),
    log:
        log_file("learned_card", "scenario", "algorithm"),
    conda:
        "../../envs/learned.yaml"
    params:
        scenario="{scenario}",
        algorithm="{algorithm}",
    script:
        STEP
