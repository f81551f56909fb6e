# Lines of therapy: every algorithm of config lines.algorithms on every data-source scenario.
# Wiring only: the rules live in lotluca.lines (presets in scripts/lotluca/lines/presets/*.yaml).
# Parameter overrides of an algorithm come from config lines.overrides.<algorithm> ({} when none).


rule lines:
    input:
        exposures=merged_shard("exposures"),
        chemo_sessions=merged_shard("chemo_sessions"),
        persons=merged_shard("persons"),
    output:
        lines=shard_output("lines/{scenario}/{algorithm}"),
    log:
        "results/logs/lines/{scenario}/{algorithm}/{shard}.log",
    benchmark:
        "results/benchmarks/lines/{scenario}/{algorithm}/{shard}.tsv"
    wildcard_constraints:
        scenario="|".join(config["scenarios"]),
        algorithm="|".join(config["lines"]["algorithms"]),
    conda:
        "../../envs/lines.yaml"
    params:
        overrides=lambda wc: config["lines"].get("overrides", {}).get(wc.algorithm, {}),
    script:
        "../../scripts/lines.py"
