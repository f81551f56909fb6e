# Lines of therapy: every algorithm of config lines.algorithms on every data-source scenario.
# Wiring only: the rules live in lotluca.lines (presets in scripts/lotluca/lines/presets/*.yaml).
# Parameter overrides of an algorithm come from config lines.overrides.<algorithm> ({} when none).


rule lines:
    input:
        exposures="results/merged/{scenario}/exposures.parquet",
        chemo_sessions="results/merged/{scenario}/chemo_sessions.parquet",
        persons="results/merged/{scenario}/persons.parquet",
    output:
        lines="results/lines/{scenario}/{algorithm}.parquet",
    log:
        "results/logs/lines/{scenario}/{algorithm}.log",
    benchmark:
        "results/benchmarks/lines/{scenario}/{algorithm}.tsv"
    wildcard_constraints:
        scenario="|".join(config["scenarios"]),
        algorithm="|".join(config["lines"]["algorithms"]),
    conda:
        "../../envs/lines.yaml"
    params:
        overrides=lambda wc: config["lines"].get("overrides", {}).get(wc.algorithm, {}),
    script:
        "../../scripts/lines.py"
