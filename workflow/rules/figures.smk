# Paper figures (Figs 1-6) and tables (Tables 1-4) from the stage outputs, each a report() item.
# Wiring only: plotting and tables live in lotluca.figures (entry points in lotluca.figures.stage).
# The "best" algorithm shown next to gold is chosen inside the steps from the evaluation metrics
# (figures.best_algorithm overrides), so every lines file of the figures scenario is an input.
FIGURES_REPORT = "7. Paper figures"
TABLES_REPORT = "8. Paper tables"
FIG_DIR = "results/export/figures"
TAB_DIR = "results/export/tables"
FIG_SCENARIO = config["figures"]["scenario"]
FIG_LINES = expand(
    "results/lines/{scenario}/{algorithm}.parquet",
    scenario=FIG_SCENARIO,
    algorithm=evaluated_algorithms(),
)
FIG_METRICS = "results/evaluation/metrics.parquet"


rule figure_cohort:
    input:
        snds_persons="results/extract/snds/persons.parquet",
        links="results/linkage/links.parquet",
        persons=f"results/merged/{FIG_SCENARIO}/persons.parquet",
        metrics=FIG_METRICS,
        lines=FIG_LINES,
        gold=config["inputs"]["gold_lines"],
    output:
        png=report(
            f"{FIG_DIR}/fig1_cohort_flow.png",
            caption="../report/fig1_cohort_flow.rst",
            category=FIGURES_REPORT,
            subcategory="Fig 1. Cohort flow",
        ),
        pdf=f"{FIG_DIR}/fig1_cohort_flow.pdf",
    log:
        "results/logs/figures/figure_cohort.log",
    conda:
        "../../envs/figures.yaml"
    params:
        figures=config["figures"],
        privacy=config["privacy"],
    script:
        "../../scripts/figure_cohort.py"


rule figure_accuracy:
    input:
        metrics=FIG_METRICS,
    output:
        png=report(
            f"{FIG_DIR}/fig2_accuracy.png",
            caption="../report/fig2_accuracy.rst",
            category=FIGURES_REPORT,
            subcategory="Fig 2. Accuracy",
        ),
        pdf=f"{FIG_DIR}/fig2_accuracy.pdf",
    log:
        "results/logs/figures/figure_accuracy.log",
    conda:
        "../../envs/figures.yaml"
    params:
        figures=config["figures"],
        privacy=config["privacy"],
        scenarios=config["scenarios"],
        algorithms=evaluated_algorithms(),
    script:
        "../../scripts/figure_accuracy.py"


rule figure_pathways:
    input:
        metrics=FIG_METRICS,
        lines=FIG_LINES,
        gold=config["inputs"]["gold_lines"],
    output:
        png=report(
            f"{FIG_DIR}/fig3_pathways.png",
            caption="../report/fig3_pathways.rst",
            category=FIGURES_REPORT,
            subcategory="Fig 3. Treatment pathways",
        ),
        pdf=f"{FIG_DIR}/fig3_pathways.pdf",
    log:
        "results/logs/figures/figure_pathways.log",
    conda:
        "../../envs/figures.yaml"
    params:
        figures=config["figures"],
        privacy=config["privacy"],
        split=config["evaluate"]["split"],
    script:
        "../../scripts/figure_pathways.py"


rule figure_km:
    input:
        metrics=FIG_METRICS,
        km_curves="results/export/effectiveness/km_curves.csv",
        at_risk="results/export/effectiveness/at_risk.csv",
    output:
        png=report(
            f"{FIG_DIR}/fig4_kaplan_meier.png",
            caption="../report/fig4_kaplan_meier.rst",
            category=FIGURES_REPORT,
            subcategory="Fig 4. Kaplan-Meier",
        ),
        pdf=f"{FIG_DIR}/fig4_kaplan_meier.pdf",
    log:
        "results/logs/figures/figure_km.log",
    conda:
        "../../envs/figures.yaml"
    params:
        figures=config["figures"],
        privacy=config["privacy"],
    script:
        "../../scripts/figure_km.py"


rule figure_swimmer:
    input:
        metrics=FIG_METRICS,
        lines=FIG_LINES,
        gold=config["inputs"]["gold_lines"],
        persons=f"results/merged/{FIG_SCENARIO}/persons.parquet",
    output:
        png=report(
            "results/private/figures/fig5_swimmer.png",
            caption="../report/fig5_swimmer.rst",
            category=FIGURES_REPORT,
            subcategory="Fig 5. Swimmer plot",
        ),
        pdf="results/private/figures/fig5_swimmer.pdf",
    log:
        "results/logs/figures/figure_swimmer.log",
    conda:
        "../../envs/figures.yaml"
    params:
        figures=config["figures"],
        privacy=config["privacy"],
        seed=config["seed"],
        split=config["evaluate"]["split"],
    script:
        "../../scripts/figure_swimmer.py"


rule figure_bias:
    input:
        bias="results/export/bias/bias.csv",
    output:
        png=report(
            f"{FIG_DIR}/fig6_bias_forest.png",
            caption="../report/fig6_bias_forest.rst",
            category=FIGURES_REPORT,
            subcategory="Fig 6. Bias of effectiveness estimates",
        ),
        pdf=f"{FIG_DIR}/fig6_bias_forest.pdf",
    log:
        "results/logs/figures/figure_bias.log",
    conda:
        "../../envs/figures.yaml"
    params:
        figures=config["figures"],
        privacy=config["privacy"],
        scenarios=config["scenarios"],
        algorithms=evaluated_algorithms(),
    script:
        "../../scripts/figure_bias.py"


rule table_baseline:
    input:
        persons=f"results/merged/{FIG_SCENARIO}/persons.parquet",
        gold=config["inputs"]["gold_lines"],
    output:
        csv=report(
            f"{TAB_DIR}/table1_baseline.csv",
            caption="../report/table1_baseline.rst",
            category=TABLES_REPORT,
            subcategory="Table 1. Baseline characteristics",
        ),
        md=f"{TAB_DIR}/table1_baseline.md",
    log:
        "results/logs/figures/table_baseline.log",
    conda:
        "../../envs/figures.yaml"
    params:
        figures=config["figures"],
        privacy=config["privacy"],
        split=config["evaluate"]["split"],
        era_start_years=config["effectiveness"]["cox"]["era_start_years"],
    script:
        "../../scripts/table_baseline.py"


rule table_accuracy:
    input:
        metrics=FIG_METRICS,
    output:
        csv=report(
            f"{TAB_DIR}/table2_accuracy.csv",
            caption="../report/table2_accuracy.rst",
            category=TABLES_REPORT,
            subcategory="Table 2. Accuracy",
        ),
        md=f"{TAB_DIR}/table2_accuracy.md",
    log:
        "results/logs/figures/table_accuracy.log",
    conda:
        "../../envs/figures.yaml"
    params:
        figures=config["figures"],
        privacy=config["privacy"],
        scenarios=config["scenarios"],
        algorithms=evaluated_algorithms(),
    script:
        "../../scripts/table_accuracy.py"


rule table_medians:
    input:
        metrics=FIG_METRICS,
        km_summary="results/export/effectiveness/km_summary.csv",
    output:
        csv=report(
            f"{TAB_DIR}/table3_medians.csv",
            caption="../report/table3_medians.rst",
            category=TABLES_REPORT,
            subcategory="Table 3. Medians by line and regimen class",
        ),
        md=f"{TAB_DIR}/table3_medians.md",
    log:
        "results/logs/figures/table_medians.log",
    conda:
        "../../envs/figures.yaml"
    params:
        figures=config["figures"],
        privacy=config["privacy"],
    script:
        "../../scripts/table_medians.py"


rule table_calibration:
    input:
        calibration="results/simulated/calibration.csv",
    output:
        csv=report(
            f"{TAB_DIR}/table4_calibration.csv",
            caption="../report/table4_calibration.rst",
            category=TABLES_REPORT,
            subcategory="Table 4. Synthetic-cohort calibration",
        ),
        md=f"{TAB_DIR}/table4_calibration.md",
    log:
        "results/logs/figures/table_calibration.log",
    conda:
        "../../envs/figures.yaml"
    params:
        figures=config["figures"],
        privacy=config["privacy"],
    script:
        "../../scripts/table_calibration.py"
