# Concomitant medications (PPI, antibiotics, corticosteroids) and outcomes of each line, on gold and algorithm lines.
# Wiring only: the analysis lives in lotluca.concomitant, the disclosure control in lotluca.privacy.


CONCOMITANT_REPORT = "7. Concomitant medications"


rule concomitant:
    input:
        gold=config["inputs"]["gold_lines"],
        persons=f"results/merged/{config['effectiveness']['vital_status_scenario']}/persons.parquet",
        exposures=f"results/merged/{config['concomitant']['exposure_scenario']}/exposures.parquet",
        lines=effectiveness_line_files(),
    output:
        cohorts="results/private/concomitant/cohorts.parquet",
        table=report(
            "results/export/concomitant/concomitant_hr.csv",
            caption="../report/concomitant_hr.rst",
            category=CONCOMITANT_REPORT,
        ),
        figure_png=report(
            "results/export/figures/concomitant_forest.png",
            caption="../report/concomitant_forest.rst",
            category=CONCOMITANT_REPORT,
        ),
        figure_pdf="results/export/figures/concomitant_forest.pdf",
    log:
        "results/logs/concomitant.log",
    benchmark:
        "results/benchmarks/concomitant.tsv"
    conda:
        "../../envs/concomitant.yaml"
    params:
        sources=effectiveness_line_sources(),
        concomitant=config["concomitant"],
        simulate=config["simulate"],
        privacy=config["privacy"],
        seed=config["seed"],
        study_end_date=config["study"]["end_date"],
        era_start_years=config["effectiveness"]["cox"]["era_start_years"],
        dpi=config["figures"]["dpi"],
    script:
        "../../scripts/concomitant.py"
