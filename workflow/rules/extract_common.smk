# Path helpers of the sharded extraction (extract.smk): where each shard's raw tables come from
# (raw_shard_files) and the per-shard / gathered output files. Included by extract.smk.
EXTRACT_OUTPUTS = {
    "snds": ["persons", "exposures", "chemo_sessions", "stays", "rejects"],
    "odh": ["persons", "exposures", "stays", "rejects"],
}
SOURCE_TABLES = {"snds": SNDS_TABLES, "odh": ODH_TABLES}
# split shards keep CSV / Parquet as they are; SAS tables become Parquet (lotluca.extract.split)
SPLIT_EXT = FMT if FMT in ("parquet", "csv") else "parquet"


def raw_shard_dir(source):
    return f"results/shards/n{N_SHARDS}/raw/{source}/{{shard}}"


def raw_shard_files(source):
    """Input files of one shard ({shard}) of the extraction of `source` ("snds" | "odh")."""
    tables = SOURCE_TABLES[source]
    if config["simulate"]["enabled"]:
        return [
            f"results/simulated/n{N_SHARDS}/{{shard}}/{source}/{t}.{FMT}"
            for t in tables
        ]
    if N_SHARDS == 1:
        return snds_input_files() if source == "snds" else odh_input_files()
    return [f"{raw_shard_dir(source)}/{t}.{SPLIT_EXT}" for t in tables] + [
        f"{raw_shard_dir(source)}/{t}.rows.parquet" for t in tables
    ]


def extract_shard_file(source, name):
    return f"results/shards/n{N_SHARDS}/extract/{source}/{{shard}}/{name}"


def extract_shard_files(source):
    """Named files of one shard's extraction ({shard})."""
    names = [f"{t}.parquet" for t in EXTRACT_OUTPUTS[source]]
    names += ["accounting.csv", "unknown_codes.csv"]
    return {n.split(".")[0]: extract_shard_file(source, n) for n in names}


def extract_shard_outputs(source):
    """Named temp() outputs of one shard's extraction."""
    return {k: temp(v) for k, v in extract_shard_files(source).items()}


def extract_gathered(source):
    """Named final outputs of a source (results/extract/{source}/)."""
    names = [f"{t}.parquet" for t in EXTRACT_OUTPUTS[source]]
    names += ["accounting.csv", "unknown_codes.csv"]
    return {n.split(".")[0]: f"results/extract/{source}/{n}" for n in names}
