# lines: every line algorithm (rule presets of config lines, and the fitted learned ones) on every
# data-source scenario, one job per scenario x patient shard (inputs read once), gathered by
# lines_gather (identical for any number of shards). docs/lines.md


rule lines:
    input:
        **{t: merged_input(t) for t in MERGED},
        models=paths("learned.model", algorithm=TRAINED),
    output:
        lines=temp(paths("lines.shard", algorithm=ALGORITHMS)),
    log:
        log_file("lines", "scenario", "shard"),
    benchmark:
        bench_file("lines", "scenario", "shard")
    conda:
        "../../envs/lines.yaml"
    params:
        lines=config["lines"],
        learned=config["learned"],
        algorithms=ALGORITHMS,
    script:
        STEP


rule lines_gather:
    input:
        shards=paths("lines.shard", shard=SHARDS),
    output:
        lines=path("lines.lines"),
    log:
        log_file("lines_gather", "scenario", "algorithm"),
    conda:
        "../../envs/lines.yaml"
    script:
        STEP
