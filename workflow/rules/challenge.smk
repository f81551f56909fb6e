# challenge: the challenge kit from the gold standard and the extracted tables of both sources: de-identified
# participant data, splits, the re-identification check and the Codabench bundle. docs/challenge.md


rule challenge:
    input:
        **{
            f"{s}_{t}": path("extract.table", source=s, name=f"{t}.parquet")
            for s in SOURCES
            for t in CHALLENGE_TABLES
        },
        gold=gold_lines(),
        links=path("link.links"),
    output:
        participant=directory(path("challenge.participant")),
        bundle=path("challenge.bundle"),
        reidentification=path("challenge.reidentification"),
        key_table=path("challenge.key_table"),
        splits=path("challenge.splits"),
    log:
        log_file("challenge"),
    benchmark:
        bench_file("challenge")
    conda:
        "../../envs/challenge.yaml"
    params:
        challenge=config["challenge"],
        privacy=config["privacy"],
        evaluate=config["evaluate"],
        merge=config["merge"],
        seed=config["seed"],
    script:
        STEP
