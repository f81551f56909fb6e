# Learned line-boundary model (xgboost): trained per scenario on the gold TRAIN split, lines of every
# person written next to the rule presets' (results/lines/{scenario}/xgboost.parquet) so that the
# evaluation, effectiveness and figures take it as one more algorithm (config learned.enabled).
# Wiring only: candidates, features, model, lines and model card live in lotluca.learned.
LEARNED_REPORT = "5b. Learned line model"


rule learned_train:
    input:
        exposures="results/merged/{scenario}/exposures.parquet",
        chemo_sessions="results/merged/{scenario}/chemo_sessions.parquet",
        persons="results/merged/{scenario}/persons.parquet",
        gold=config["inputs"]["gold_lines"],
    output:
        model="results/learned/{scenario}/model.json",
        summary="results/learned/{scenario}/training.json",
        oof="results/learned/{scenario}/oof_predictions.parquet",
    log:
        "results/logs/learned/{scenario}/train.log",
    benchmark:
        "results/benchmarks/learned/{scenario}/train.tsv"
    wildcard_constraints:
        scenario="|".join(config["scenarios"]),
    conda:
        "../../envs/learned.yaml"
    threads: config["learned"]["threads"]
    params:
        learned=config["learned"],
        seed=config["seed"],
        rule_overrides=config["lines"]["overrides"].get(
            config["learned"]["rule_preset"], {}
        ),
        tolerance_days=config["evaluate"]["tolerance_days"],
    script:
        "../../scripts/train_xgboost.py"


rule learned_predict:
    input:
        exposures="results/merged/{scenario}/exposures.parquet",
        chemo_sessions="results/merged/{scenario}/chemo_sessions.parquet",
        persons="results/merged/{scenario}/persons.parquet",
        model="results/learned/{scenario}/model.json",
        summary="results/learned/{scenario}/training.json",
        oof="results/learned/{scenario}/oof_predictions.parquet",
    output:
        lines="results/lines/{scenario}/xgboost.parquet",
    log:
        "results/logs/learned/{scenario}/predict.log",
    benchmark:
        "results/benchmarks/learned/{scenario}/predict.tsv"
    wildcard_constraints:
        scenario="|".join(config["scenarios"]),
    conda:
        "../../envs/learned.yaml"
    threads: config["learned"]["threads"]
    params:
        learned=config["learned"],
        seed=config["seed"],
        rule_overrides=config["lines"]["overrides"].get(
            config["learned"]["rule_preset"], {}
        ),
    script:
        "../../scripts/predict_xgboost.py"


rule learned_model_card:
    input:
        summary="results/learned/{scenario}/training.json",
        metrics="results/evaluation/metrics.csv",
    output:
        card=report(
            "results/learned/{scenario}/model_card.md",
            caption="../report/learned_model_card.rst",
            category=LEARNED_REPORT,
            subcategory="{scenario}",
        ),
    log:
        "results/logs/learned/{scenario}/model_card.log",
    wildcard_constraints:
        scenario="|".join(config["scenarios"]),
    conda:
        "../../envs/learned.yaml"
    script:
        "../../scripts/model_card_xgboost.py"
