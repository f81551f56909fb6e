# Synthetic ODH + SNDS + gold-standard cohort (only when simulate.enabled is true), one job per patient
# shard: shard k draws the simulation blocks b with b mod N = k (lotluca.simulate.blocks), so the cohort
# is the same for any N. Its SNDS and ODH tables stay in results/simulated/n{N}/{shard}/ (extraction
# reads them shard by shard); the gold standard and truth tables are gathered into results/simulated/.
rule simulate:
    output:
        snds=expand(
            simulated_shard("snds/{table}.{fmt}"),
            table=SNDS_TABLES,
            fmt=FMT,
            allow_missing=True,
        ),
        odh=expand(
            simulated_shard("odh/{table}.{fmt}"),
            table=ODH_TABLES,
            fmt=FMT,
            allow_missing=True,
        ),
        gold=temp(simulated_shard("gold/gold_lines.parquet")),
        truth=temp(
            expand(
                simulated_shard("truth/{name}.parquet"),
                name=SIMULATED_TRUTH,
                allow_missing=True,
            )
        ),
    log:
        f"results/logs/simulate/n{N_SHARDS}/{{shard}}.log",
    benchmark:
        f"results/benchmarks/simulate/n{N_SHARDS}/{{shard}}.tsv"
    conda:
        "../../envs/simulate.yaml"
    params:
        simulate=config["simulate"],
        study=config["study"],
        seed=config["seed"],
        fmt=FMT,
        n_shards=N_SHARDS,
    script:
        "../../scripts/simulate.py"


rule gather_simulated:
    input:
        gold=expand(simulated_shard("gold/gold_lines.parquet"), shard=SHARDS),
        truth=expand(
            simulated_shard("truth/{name}.parquet"),
            name=SIMULATED_TRUTH,
            shard=SHARDS,
        ),
    output:
        gold="results/simulated/gold/gold_lines.parquet",
        truth=expand("results/simulated/truth/{name}.parquet", name=SIMULATED_TRUTH),
        calibration=report(
            "results/simulated/calibration.csv",
            caption="../report/calibration.rst",
            category="1. Synthetic cohort",
        ),
    log:
        "results/logs/gather_simulated.log",
    conda:
        "../../envs/simulate.yaml"
    params:
        simulate=config["simulate"],
        study=config["study"],
        shard_dirs=expand(simulated_shard(""), shard=SHARDS),
    script:
        "../../scripts/gather_simulated.py"
