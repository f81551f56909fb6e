# Extraction of the SNDS and ODH tables into canonical persons, exposures, chemo sessions and stays.
rule extract_snds:
    input:
        tables=snds_input_files(),
    output:
        persons="results/extract/snds/persons.parquet",
        exposures="results/extract/snds/exposures.parquet",
        chemo_sessions="results/extract/snds/chemo_sessions.parquet",
        stays="results/extract/snds/stays.parquet",
        rejects="results/extract/snds/rejects.parquet",
        accounting="results/extract/snds/accounting.csv",
        unknown_codes="results/extract/snds/unknown_codes.csv",
    log:
        "results/logs/extract_snds.log",
    benchmark:
        "results/benchmarks/extract_snds.tsv"
    conda:
        "../../envs/extract.yaml"
    params:
        study=config["study"],
        extract=config["extract"],
    script:
        "../../scripts/extract_snds.py"


rule extract_odh:
    input:
        tables=odh_input_files(),
    output:
        persons="results/extract/odh/persons.parquet",
        exposures="results/extract/odh/exposures.parquet",
        stays="results/extract/odh/stays.parquet",
        rejects="results/extract/odh/rejects.parquet",
        accounting="results/extract/odh/accounting.csv",
        unknown_codes="results/extract/odh/unknown_codes.csv",
    log:
        "results/logs/extract_odh.log",
    benchmark:
        "results/benchmarks/extract_odh.tsv"
    conda:
        "../../envs/extract.yaml"
    params:
        study=config["study"],
        extract=config["extract"],
    script:
        "../../scripts/extract_odh.py"
