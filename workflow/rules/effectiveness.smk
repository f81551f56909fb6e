# effectiveness: real-world endpoints (rwTTNT, rwTTD, rwOS) on the gold lines and on every algorithm's
# lines, Kaplan-Meier, log-rank and Cox; effectiveness_bias: what line errors do to them.
# docs/effectiveness.md


rule effectiveness:
    input:
        gold=gold_lines(),
        persons=path(
            "merge.table",
            scenario=config["effectiveness"]["vital_status_scenario"],
            table="persons",
        ),
        lines=effectiveness_lines(),
        # confounder proxies (Charlson index, prior stays) of the comparative analysis
        diagnoses=path("extract.table", source="snds", name="diagnoses.parquet"),
        links=path("link.links"),
    output:
        **{
            name: report(
                path("effectiveness.table", name=name),
                caption=f"../report/{name}.rst",
                category=category("effectiveness"),
            )
            for name in ["km_summary", "km_curves", "at_risk", "logrank", "cox"]
        },
        endpoints=path("effectiveness.endpoints"),
    log:
        log_file("effectiveness"),
    benchmark:
        bench_file("effectiveness")
    conda:
        "../../envs/effectiveness.yaml"
    params:
        sources=SOURCES_OF_LINES,
        effectiveness=config["effectiveness"],
        privacy=config["privacy"],
        seed=config["seed"],
        study=config["study"],
    script:
        STEP


rule effectiveness_bias:
    input:
        endpoints=path("effectiveness.endpoints"),
    output:
        csv=report(
            path("effectiveness.bias_csv"),
            caption="../report/bias.rst",
            category=category("effectiveness"),
        ),
        parquet=path("effectiveness.bias_parquet"),
        summary=report(
            path("effectiveness.bias_summary"),
            caption="../report/bias_summary.rst",
            category=category("effectiveness"),
        ),
    log:
        log_file("effectiveness_bias"),
    benchmark:
        bench_file("effectiveness_bias")
    conda:
        "../../envs/effectiveness.yaml"
    params:
        effectiveness=config["effectiveness"],
        privacy=config["privacy"],
        seed=config["seed"],
    script:
        STEP


# comparative effectiveness with adjustment (propensity score, IPTW, adjusted Cox) on the gold lines
rule effectiveness_comparative:
    input:
        endpoints=path("effectiveness.endpoints"),
    output:
        **{
            name: report(
                path("effectiveness.table", name=name),
                caption=f"../report/{name}.rst",
                category=category("effectiveness"),
            )
            for name in ["comparative", "balance", "comparative_km"]
        },
        love_png=report(
            path("effectiveness.love_plot", ext="png"),
            caption="../report/love_plot.rst",
            category=category("effectiveness"),
        ),
        love_pdf=path("effectiveness.love_plot", ext="pdf"),
    log:
        log_file("effectiveness_comparative"),
    benchmark:
        bench_file("effectiveness_comparative")
    conda:
        "../../envs/effectiveness.yaml"
    params:
        effectiveness=config["effectiveness"],
        privacy=config["privacy"],
        simulate=config["simulate"],
        figures=config["figures"],
    script:
        STEP


# the ESMO-GROW reporting page, generated from this run's outputs
rule effectiveness_grow:
    input:
        km_summary=path("effectiveness.table", name="km_summary"),
        comparative=path("effectiveness.table", name="comparative"),
        balance=path("effectiveness.table", name="balance"),
        endpoints=path("effectiveness.endpoints"),
    output:
        page=report(
            path("effectiveness.grow"),
            caption="../report/grow_report.rst",
            category=category("effectiveness"),
        ),
    log:
        log_file("effectiveness_grow"),
    conda:
        "../../envs/effectiveness.yaml"
    params:
        effectiveness=config["effectiveness"],
        privacy=config["privacy"],
    script:
        STEP
