# simulate: the synthetic ODH + SNDS + gold-standard cohort (simulate.enabled), one job per patient shard
# (shard k draws the simulation blocks b with b mod N = k), gathered by simulate_gather. docs/simulate.md


rule simulate:
    output:
        snds=paths("simulate.shard_snds", table=SOURCE_TABLES["snds"]),
        odh=paths("simulate.shard_odh", table=SOURCE_TABLES["odh"]),
        gold=temp(path("simulate.shard_gold")),
        truth=temp(paths("simulate.shard_truth", name=TRUTH)),
    log:
        log_file("simulate", "shard"),
    benchmark:
        bench_file("simulate", "shard")
    conda:
        "../../envs/simulate.yaml"
    params:
        simulate=config["simulate"],
        study=config["study"],
        seed=config["seed"],
        fmt=FMT,
        shard="{shard}",
        n_shards=N_SHARDS,
    script:
        STEP


rule simulate_gather:
    input:
        gold=paths("simulate.shard_gold", shard=SHARDS),
        truth=paths("simulate.shard_truth", name=TRUTH, shard=SHARDS),
    output:
        gold=path("simulate.gold"),
        truth=paths("simulate.truth", name=TRUTH),
        calibration=report(
            path("simulate.calibration"),
            caption="../report/calibration.rst",
            category=category("simulate"),
        ),
        gold_agreement=report(
            path("simulate.gold_agreement"),
            caption="../report/gold_agreement.rst",
            category=category("simulate"),
        ),
    log:
        log_file("simulate_gather"),
    benchmark:
        bench_file("simulate_gather")
    conda:
        "../../envs/simulate.yaml"
    params:
        simulate=config["simulate"],
        study=config["study"],
    script:
        STEP
