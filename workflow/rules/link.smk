# link: each ODH patient to at most one SNDS person (deterministic, then Splink, then one-to-one).
# docs/link.md


rule link:
    input:
        odh_persons=path("extract.table", source="odh", name="persons.parquet"),
        odh_stays=path("extract.table", source="odh", name="stays.parquet"),
        snds_persons=path("extract.table", source="snds", name="persons.parquet"),
        snds_stays=path("extract.table", source="snds", name="stays.parquet"),
        truth=linkage_truth(),
    output:
        links=path("link.links"),
        report=path("link.report"),
        quality=report(
            path("link.quality"),
            caption="../report/linkage_quality.rst",
            category=category("link"),
        ),
    log:
        log_file("link"),
    benchmark:
        bench_file("link")
    conda:
        "../../envs/link.yaml"
    threads: config["link"]["threads"]
    params:
        link=config["link"],
        seed=config["seed"],
    script:
        STEP
