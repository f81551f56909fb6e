# Synthetic ODH + SNDS + gold-standard cohort (only when simulate.enabled is true).
rule simulate:
    output:
        snds=expand("results/simulated/snds/{table}.{fmt}", table=SNDS_TABLES, fmt=FMT),
        ete=f"results/simulated/snds/ER_ETE_F.{FMT}",
        odh=expand("results/simulated/odh/{table}.{fmt}", table=ODH_TABLES, fmt=FMT),
        gold="results/simulated/gold/gold_lines.parquet",
        linkage_truth="results/simulated/truth/linkage_truth.parquet",
        clinical_truth="results/simulated/truth/clinical_truth.parquet",
        concomitant_truth="results/simulated/truth/concomitant_truth.parquet",
        calibration=report(
            "results/simulated/calibration.csv",
            caption="../report/calibration.rst",
            category="1. Synthetic cohort",
        ),
    log:
        "results/logs/simulate.log",
    benchmark:
        "results/benchmarks/simulate.tsv"
    conda:
        "../../envs/simulate.yaml"
    params:
        simulate=config["simulate"],
        study=config["study"],
        seed=config["seed"],
        fmt=FMT,
    script:
        "../../scripts/simulate.py"
