# Patient sharding (config `shards`): persons are split into N shards by a stable hash of person_id
# (lotluca.sharding). The per-person step `lines` runs once per shard (scatter) and its shards are
# gathered into results/lines/{scenario}/{algorithm}.parquet, sorted canonically, so every output
# is identical for any N. Wiring only; the path helpers are in shards_common.smk. With shards: 1 the
# merged tables are read as they are (no split job). Shard files live under results/shards/n{N}/
# and are deleted once gathered (temp).
localrules:
    gather_lines,


rule shard_merged:
    input:
        persons="results/merged/{scenario}/persons.parquet",
        exposures="results/merged/{scenario}/exposures.parquet",
        chemo_sessions="results/merged/{scenario}/chemo_sessions.parquet",
    output:
        persons=temp(shard_files("merged/{scenario}/persons")),
        exposures=temp(shard_files("merged/{scenario}/exposures")),
        chemo_sessions=temp(shard_files("merged/{scenario}/chemo_sessions")),
    log:
        "results/logs/shard_merged/{scenario}.log",
    wildcard_constraints:
        scenario="|".join(config["scenarios"]),
    conda:
        "../../envs/sharding.yaml"
    params:
        tables=SHARDED_TABLES,
    script:
        "../../scripts/shard_split.py"


rule gather_lines:
    input:
        shards=shard_files("lines/{scenario}/{algorithm}"),
    output:
        "results/lines/{scenario}/{algorithm}.parquet",
    log:
        "results/logs/gather_lines/{scenario}/{algorithm}.log",
    wildcard_constraints:
        scenario="|".join(config["scenarios"]),
        algorithm="|".join(config["lines"]["algorithms"]),
    conda:
        "../../envs/sharding.yaml"
    params:
        sort_by=["person_id", "line_number", "start_date"],
    script:
        "../../scripts/gather_shards.py"
