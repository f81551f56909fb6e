# figures: the paper's figures (PNG + PDF) and tables (CSV + Markdown), each a report item, suppressed
# per `privacy` (the person-level swimmer plot stays in the private folder). The algorithm shown next
# to gold is chosen inside the steps from the evaluation metrics. docs/figures.md
FIG_LINES = lines_files(FIG_SCENARIO)
FIG_PERSONS = path("merge.table", scenario=FIG_SCENARIO, table="persons")
METRICS = path("evaluate.metrics_parquet")


rule figures_cohort:
    input:
        snds_persons=path("extract.table", source="snds", name="persons.parquet"),
        links=path("link.links"),
        persons=FIG_PERSONS,
        metrics=METRICS,
        lines=FIG_LINES,
        gold=gold_lines(),
        # the SNDS-only cohort beside the ODH-based one (when the snds_only scenario is studied)
        identified=[path("identify.identified")] if "snds_only" in SCENARIOS else [],
        identify_report=[path("identify.report")] if "snds_only" in SCENARIOS else [],
        snds_lines=lines_files("snds_only") if "snds_only" in SCENARIOS else [],
    output:
        **figure_outputs("cohort", "Fig 1. Cohort flow"),
    log:
        log_file("figures_cohort"),
    conda:
        "../../envs/figures.yaml"
    params:
        figures=config["figures"],
        privacy=config["privacy"],
        algorithms=ALGORITHMS,
    script:
        STEP


rule figures_accuracy:
    input:
        metrics=METRICS,
    output:
        **figure_outputs("accuracy", "Fig 2. Accuracy"),
    log:
        log_file("figures_accuracy"),
    conda:
        "../../envs/figures.yaml"
    params:
        figures=config["figures"],
        privacy=config["privacy"],
        scenarios=SCENARIOS,
        algorithms=ALGORITHMS,
    script:
        STEP


rule figures_pathways:
    input:
        metrics=METRICS,
        lines=FIG_LINES,
        gold=gold_lines(),
    output:
        **figure_outputs("pathways", "Fig 3. Treatment pathways"),
    log:
        log_file("figures_pathways"),
    conda:
        "../../envs/figures.yaml"
    params:
        figures=config["figures"],
        privacy=config["privacy"],
        evaluate=config["evaluate"],
        algorithms=ALGORITHMS,
    script:
        STEP


rule figures_km:
    input:
        metrics=METRICS,
        km_curves=path("effectiveness.table", name="km_curves"),
        at_risk=path("effectiveness.table", name="at_risk"),
    output:
        **figure_outputs("km", "Fig 4. Kaplan-Meier"),
    log:
        log_file("figures_km"),
    conda:
        "../../envs/figures.yaml"
    params:
        figures=config["figures"],
        privacy=config["privacy"],
    script:
        STEP


rule figures_swimmer:
    input:
        metrics=METRICS,
        lines=FIG_LINES,
        gold=gold_lines(),
        persons=FIG_PERSONS,
    output:
        **figure_outputs("swimmer", "Fig 5. Swimmer plot"),
    log:
        log_file("figures_swimmer"),
    conda:
        "../../envs/figures.yaml"
    params:
        figures=config["figures"],
        privacy=config["privacy"],
        seed=config["seed"],
        evaluate=config["evaluate"],
        algorithms=ALGORITHMS,
    script:
        STEP


rule figures_bias:
    input:
        bias=path("effectiveness.bias_csv"),
    output:
        **figure_outputs("bias", "Fig 6. Bias of effectiveness estimates"),
    log:
        log_file("figures_bias"),
    conda:
        "../../envs/figures.yaml"
    params:
        figures=config["figures"],
        privacy=config["privacy"],
        scenarios=SCENARIOS,
        algorithms=ALGORITHMS,
    script:
        STEP


rule figures_table_baseline:
    input:
        persons=FIG_PERSONS,
        gold=gold_lines(),
    output:
        **table_outputs("baseline", "Table 1. Baseline characteristics"),
    log:
        log_file("figures_table_baseline"),
    conda:
        "../../envs/figures.yaml"
    params:
        figures=config["figures"],
        privacy=config["privacy"],
        evaluate=config["evaluate"],
        effectiveness=config["effectiveness"],
    script:
        STEP


rule figures_table_accuracy:
    input:
        metrics=METRICS,
    output:
        **table_outputs("accuracy", "Table 2. Accuracy"),
    log:
        log_file("figures_table_accuracy"),
    conda:
        "../../envs/figures.yaml"
    params:
        figures=config["figures"],
        privacy=config["privacy"],
        scenarios=SCENARIOS,
        algorithms=ALGORITHMS,
    script:
        STEP


rule figures_table_medians:
    input:
        metrics=METRICS,
        km_summary=path("effectiveness.table", name="km_summary"),
    output:
        **table_outputs("medians", "Table 3. Medians by line and regimen class"),
    log:
        log_file("figures_table_medians"),
    conda:
        "../../envs/figures.yaml"
    params:
        figures=config["figures"],
        privacy=config["privacy"],
    script:
        STEP


rule figures_table_calibration:
    input:
        calibration=path("simulate.calibration"),
    output:
        **table_outputs("calibration", "Table 4. Synthetic-cohort calibration"),
    log:
        log_file("figures_table_calibration"),
    conda:
        "../../envs/figures.yaml"
    params:
        figures=config["figures"],
        privacy=config["privacy"],
    script:
        STEP
