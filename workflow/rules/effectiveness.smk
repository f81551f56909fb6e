# Real-world effectiveness (rwTTNT, rwTTD, rwOS) on gold and algorithm lines, and the bias of each algorithm.
# Wiring only: the analyses live in lotluca.effectiveness, the disclosure control in lotluca.privacy.


EFFECTIVENESS_REPORT = "6. Effectiveness and bias"


rule effectiveness:
    input:
        gold=config["inputs"]["gold_lines"],
        persons=f"results/merged/{config['effectiveness']['vital_status_scenario']}/persons.parquet",
        lines=effectiveness_line_files(),
    output:
        endpoints="results/private/effectiveness/endpoints.parquet",
        km_summary=report(
            "results/export/effectiveness/km_summary.csv",
            caption="../report/km_summary.rst",
            category=EFFECTIVENESS_REPORT,
        ),
        km_curves=report(
            "results/export/effectiveness/km_curves.csv",
            caption="../report/km_curves.rst",
            category=EFFECTIVENESS_REPORT,
        ),
        at_risk=report(
            "results/export/effectiveness/at_risk.csv",
            caption="../report/at_risk.rst",
            category=EFFECTIVENESS_REPORT,
        ),
        logrank=report(
            "results/export/effectiveness/logrank.csv",
            caption="../report/logrank.rst",
            category=EFFECTIVENESS_REPORT,
        ),
        cox=report(
            "results/export/effectiveness/cox.csv",
            caption="../report/cox.rst",
            category=EFFECTIVENESS_REPORT,
        ),
    log:
        "results/logs/effectiveness.log",
    benchmark:
        "results/benchmarks/effectiveness.tsv"
    conda:
        "../../envs/effectiveness.yaml"
    params:
        sources=effectiveness_line_sources(),
        effectiveness=config["effectiveness"],
        privacy=config["privacy"],
        seed=config["seed"],
        study_end_date=config["study"]["end_date"],
    script:
        "../../scripts/effectiveness.py"


rule bias:
    input:
        endpoints="results/private/effectiveness/endpoints.parquet",
    output:
        csv=report(
            "results/export/bias/bias.csv",
            caption="../report/bias.rst",
            category=EFFECTIVENESS_REPORT,
        ),
        parquet="results/export/bias/bias.parquet",
        summary=report(
            "results/export/bias/bias_summary.csv",
            caption="../report/bias_summary.rst",
            category=EFFECTIVENESS_REPORT,
        ),
    log:
        "results/logs/bias.log",
    benchmark:
        "results/benchmarks/bias.tsv"
    conda:
        "../../envs/effectiveness.yaml"
    params:
        effectiveness=config["effectiveness"],
        privacy=config["privacy"],
        seed=config["seed"],
    script:
        "../../scripts/bias.py"
