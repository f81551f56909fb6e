# identify: incident advanced NSCLC patients and their advanced-diagnosis date from the SNDS alone (the
# SNDS-only cohort of the snds_only scenario), and its quality against the simulated truth. docs/identify.md


rule identify:
    input:
        exposures=path("extract.table", source="snds", name="exposures.parquet"),
        chemo_sessions=path(
            "extract.table", source="snds", name="chemo_sessions.parquet"
        ),
        diagnoses=path("extract.table", source="snds", name="diagnoses.parquet"),
        ald=path("extract.table", source="snds", name="ald.parquet"),
    output:
        identified=path("identify.identified"),
        report=path("identify.report"),
    log:
        log_file("identify"),
    benchmark:
        bench_file("identify")
    conda:
        "../../envs/merge.yaml"
    params:
        identify=config["identify"],
        study=config["study"],
    script:
        STEP


rule identify_quality:
    input:
        identified=path("identify.identified"),
        truth=path("simulate.truth", name="identification_truth"),
    output:
        quality=path("identify.quality"),
    log:
        log_file("identify_quality"),
    conda:
        "../../envs/merge.yaml"
    script:
        STEP
