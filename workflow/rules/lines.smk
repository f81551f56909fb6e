# Lines of therapy: every algorithm of config lines.algorithms on every data-source scenario, one job
# per scenario and patient shard (the shard's inputs read once for all algorithms).
# Wiring only: the rules live in lotluca.lines (presets in scripts/lotluca/lines/presets/*.yaml).
# Parameter overrides of an algorithm come from config lines.overrides.<algorithm> ({} when none).


rule lines:
    input:
        exposures=merged_shard("exposures"),
        chemo_sessions=merged_shard("chemo_sessions"),
        persons=merged_shard("persons"),
    output:
        [shard_output(f"lines/{{scenario}}/{a}") for a in config["lines"]["algorithms"]],
    log:
        "results/logs/lines/{scenario}/{shard}.log",
    benchmark:
        "results/benchmarks/lines/{scenario}/{shard}.tsv"
    wildcard_constraints:
        scenario="|".join(config["scenarios"]),
    conda:
        "../../envs/lines.yaml"
    params:
        algorithms=config["lines"]["algorithms"],
        overrides=config["lines"].get("overrides", {}),
    script:
        "../../scripts/lines.py"
