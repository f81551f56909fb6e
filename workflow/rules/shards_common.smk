# Patient sharding helpers (config `shards`), used by shards.smk and the per-shard stage rules
# (lines.smk): shard paths and the inputs of a per-shard step. Included right after common.smk.
N_SHARDS = config["shards"]
SHARDS = list(range(N_SHARDS))
SHARDED_TABLES = ["persons", "exposures", "chemo_sessions"]
# truth tables of the simulator, written per shard then gathered (lotluca.simulate.TRUTH_SORT_KEYS)
SIMULATED_TRUTH = [
    "linkage_truth",
    "clinical_truth",
    "concomitant_truth",
    "persons_truth",
    "lines_truth",
]


wildcard_constraints:
    shard=r"\d+",


def shard_file(stem):
    """One shard of `stem` ({wildcards} allowed); the shard count is part of the path."""
    return f"results/shards/n{N_SHARDS}/{stem}/{{shard}}.parquet"


def simulated_shard(path):
    """A file (or, with "", the folder) of one simulated shard: results/simulated/n{N}/{shard}/<path>."""
    return f"results/simulated/n{N_SHARDS}/{{shard}}/{path}"


def shard_output(stem):
    """Output of a per-shard step: deleted once gathered (temp)."""
    return temp(shard_file(stem))


def merged_shard(table):
    """Input of a per-shard step: the scenario's merged table (1 shard) or its shard."""
    if N_SHARDS == 1:
        return f"results/merged/{{scenario}}/{table}.parquet"
    return shard_file(f"merged/{{scenario}}/{table}")


def shard_files(stem):
    """Every shard of `stem` (its other {wildcards} kept)."""
    return [shard_file(stem).replace("{shard}", str(k)) for k in SHARDS]
