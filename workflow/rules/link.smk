# ODH <-> SNDS record linkage, then the merged history of each data-source scenario.
# Wiring only: the logic lives in lotluca.link.


rule link:
    input:
        odh_persons="results/extract/odh/persons.parquet",
        odh_stays="results/extract/odh/stays.parquet",
        snds_persons="results/extract/snds/persons.parquet",
        snds_stays="results/extract/snds/stays.parquet",
        truth=lambda wc: (
            [config["inputs"]["linkage_truth"]]
            if config["inputs"]["linkage_truth"]
            else []
        ),
    output:
        links="results/linkage/links.parquet",
        report="results/linkage/linkage_report.json",
        quality=report(
            "results/linkage/linkage_quality.csv",
            caption="../report/linkage_quality.rst",
            category="2. Linkage",
        ),
    log:
        "results/logs/link.log",
    benchmark:
        "results/benchmarks/link.tsv"
    conda:
        "../../envs/link.yaml"
    threads: config["link"]["threads"]
    params:
        linkage=config["link"],
        seed=config["seed"],
    script:
        "../../scripts/link.py"


rule merge:
    input:
        odh_persons="results/extract/odh/persons.parquet",
        odh_exposures="results/extract/odh/exposures.parquet",
        snds_persons="results/extract/snds/persons.parquet",
        snds_exposures="results/extract/snds/exposures.parquet",
        snds_chemo_sessions="results/extract/snds/chemo_sessions.parquet",
        links="results/linkage/links.parquet",
    output:
        persons="results/merged/{scenario}/persons.parquet",
        exposures="results/merged/{scenario}/exposures.parquet",
        chemo_sessions="results/merged/{scenario}/chemo_sessions.parquet",
        report="results/merged/{scenario}/merge_report.json",
    log:
        "results/logs/merge/{scenario}.log",
    benchmark:
        "results/benchmarks/merge/{scenario}.tsv"
    wildcard_constraints:
        scenario="|".join(config["scenarios"]),
    conda:
        "../../envs/link.yaml"
    params:
        drop_sessions_covered_by_odh=config["merge"]["drop_sessions_covered_by_odh"],
        merge_day_tolerance=config["merge"]["merge_day_tolerance"],
    script:
        "../../scripts/merge.py"
