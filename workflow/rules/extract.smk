# Extraction of the SNDS and ODH tables into canonical persons, exposures, chemo sessions and stays,
# one job per patient shard (config `shards`), gathered into results/extract/{source}/: the gathered
# files are identical for any N. Each shard's raw tables (raw_shard_files): the simulator's shard
# (simulate.enabled), else the user's files (shards: 1), else the split of the user's files by person
# (rule shard_raw_{source}, lotluca.extract.split). Per-shard outputs are temp().
include: "extract_common.smk"


rule shard_raw_snds:
    input:
        tables=snds_input_files(),
    output:
        temp(
            expand(
                f"{raw_shard_dir('snds')}/{{table}}.{{ext}}",
                shard=SHARDS,
                table=SNDS_TABLES,
                ext=[SPLIT_EXT, "rows.parquet"],
            )
        ),
    log:
        f"results/logs/shard_raw/n{N_SHARDS}/snds.log",
    benchmark:
        f"results/benchmarks/shard_raw/n{N_SHARDS}/snds.tsv"
    conda:
        "../../envs/extract.yaml"
    params:
        source="snds",
        shard_dirs=[raw_shard_dir("snds").replace("{shard}", str(k)) for k in SHARDS],
        study=config["study"],
        extract=config["extract"],
    script:
        "../../scripts/shard_raw.py"


rule shard_raw_odh:
    input:
        tables=odh_input_files(),
    output:
        temp(
            expand(
                f"{raw_shard_dir('odh')}/{{table}}.{{ext}}",
                shard=SHARDS,
                table=ODH_TABLES,
                ext=[SPLIT_EXT, "rows.parquet"],
            )
        ),
    log:
        f"results/logs/shard_raw/n{N_SHARDS}/odh.log",
    benchmark:
        f"results/benchmarks/shard_raw/n{N_SHARDS}/odh.tsv"
    conda:
        "../../envs/extract.yaml"
    params:
        source="odh",
        shard_dirs=[raw_shard_dir("odh").replace("{shard}", str(k)) for k in SHARDS],
        study=config["study"],
        extract=config["extract"],
    script:
        "../../scripts/shard_raw.py"


rule extract_snds:
    input:
        tables=raw_shard_files("snds"),
    output:
        **extract_shard_outputs("snds"),
    log:
        f"results/logs/extract_snds/n{N_SHARDS}/{{shard}}.log",
    benchmark:
        f"results/benchmarks/extract_snds/n{N_SHARDS}/{{shard}}.tsv"
    conda:
        "../../envs/extract.yaml"
    params:
        study=config["study"],
        extract=config["extract"],
        part=N_SHARDS > 1,
        source="snds",
    script:
        "../../scripts/extract.py"


rule extract_odh:
    input:
        tables=raw_shard_files("odh"),
    output:
        **extract_shard_outputs("odh"),
    log:
        f"results/logs/extract_odh/n{N_SHARDS}/{{shard}}.log",
    benchmark:
        f"results/benchmarks/extract_odh/n{N_SHARDS}/{{shard}}.tsv"
    conda:
        "../../envs/extract.yaml"
    params:
        study=config["study"],
        extract=config["extract"],
        part=N_SHARDS > 1,
        source="odh",
    script:
        "../../scripts/extract.py"


rule gather_extract_snds:
    input:
        persons=expand(extract_shard_file("snds", "persons.parquet"), shard=SHARDS),
        shards=expand(
            list(extract_shard_files("snds").values()),
            shard=SHARDS,
        ),
    output:
        **extract_gathered("snds"),
    log:
        "results/logs/gather_extract/snds.log",
    conda:
        "../../envs/extract.yaml"
    params:
        tables=EXTRACT_OUTPUTS["snds"],
    script:
        "../../scripts/gather_extract.py"


rule gather_extract_odh:
    input:
        persons=expand(extract_shard_file("odh", "persons.parquet"), shard=SHARDS),
        shards=expand(
            list(extract_shard_files("odh").values()),
            shard=SHARDS,
        ),
    output:
        **extract_gathered("odh"),
    log:
        "results/logs/gather_extract/odh.log",
    conda:
        "../../envs/extract.yaml"
    params:
        tables=EXTRACT_OUTPUTS["odh"],
    script:
        "../../scripts/gather_extract.py"
