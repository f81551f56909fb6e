# extract: SNDS and ODH tables -> canonical persons, exposures, chemo sessions, stays and rejects, one job
# per source x patient shard, gathered by extract_gather (identical for any number of shards). Real
# extracts with shards > 1 are first split by person (extract_split). docs/extract.md


rule extract_split:
    input:
        tables=lambda wc: raw_tables(wc.source),
    output:
        # one folder per shard: {table}.{ext} and {table}.rows.parquet of every raw table
        shards=[temp(directory(path("extract.split", shard=k))) for k in SHARDS],
    log:
        log_file("extract_split", "source"),
    benchmark:
        bench_file("extract_split", "source")
    conda:
        "../../envs/extract.yaml"
    params:
        study=config["study"],
        extract=config["extract"],
        source="{source}",
    script:
        STEP


rule extract:
    input:
        tables=extract_inputs,
    output:
        **{f.split(".")[0]: temp(path("extract.shard", name=f)) for f in EXTRACT_FILES},
    log:
        log_file("extract", "source", "shard"),
    benchmark:
        bench_file("extract", "source", "shard")
    conda:
        "../../envs/extract.yaml"
    threads: lambda wildcards: config["extract"]["threads"] if wildcards.source == "snds" else 1
    params:
        study=config["study"],
        extract=config["extract"],
        source="{source}",
        part=N_SHARDS > 1,
    script:
        STEP


rule extract_gather:
    input:
        shards=paths("extract.shard", name=EXTRACT_FILES, shard=SHARDS),
    output:
        **{f.split(".")[0]: path("extract.table", name=f) for f in EXTRACT_FILES},
    log:
        log_file("extract_gather", "source"),
    benchmark:
        bench_file("extract_gather", "source")
    conda:
        "../../envs/extract.yaml"
    params:
        source="{source}",
    script:
        STEP


rule extract_diagnoses:
    input:
        tables=lambda wc: (
            paths("simulate.shard_snds", table=SOURCE_TABLES["snds"], shard=SHARDS)
            if SIMULATED
            else raw_tables("snds")
        ),
    output:
        diagnoses=path("extract.table", source="snds", name="diagnoses.parquet"),
        ald=path("extract.table", source="snds", name="ald.parquet"),
    log:
        log_file("extract_diagnoses"),
    benchmark:
        bench_file("extract_diagnoses")
    conda:
        "../../envs/extract.yaml"
    params:
        study=config["study"],
        extract=config["extract"],
    script:
        STEP
