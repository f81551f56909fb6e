# concomitant: concomitant medications (PPI, antibiotics, corticosteroids) around each line and the
# outcomes of the line, on the gold lines and on every algorithm's lines. docs/concomitant.md


rule concomitant:
    input:
        gold=gold_lines(),
        persons=path(
            "merge.table",
            scenario=config["effectiveness"]["vital_status_scenario"],
            table="persons",
        ),
        exposures=path(
            "merge.table",
            scenario=config["concomitant"]["exposure_scenario"],
            table="exposures",
        ),
        lines=effectiveness_lines(),
    output:
        cohorts=path("concomitant.cohorts"),
        table=report(
            path("concomitant.table"),
            caption="../report/concomitant_hr.rst",
            category=category("concomitant"),
        ),
        figure_png=report(
            path("concomitant.figure", ext="png"),
            caption="../report/concomitant_forest.rst",
            category=category("concomitant"),
        ),
        figure_pdf=path("concomitant.figure", ext="pdf"),
    log:
        log_file("concomitant"),
    benchmark:
        bench_file("concomitant")
    conda:
        "../../envs/concomitant.yaml"
    params:
        sources=SOURCES_OF_LINES,
        concomitant=config["concomitant"],
        simulate=config["simulate"],
        privacy=config["privacy"],
        seed=config["seed"],
        study=config["study"],
        effectiveness=config["effectiveness"],
        figures=config["figures"],
    script:
        STEP
