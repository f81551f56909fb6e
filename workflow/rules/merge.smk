# merge: the merged history (persons, exposures, chemotherapy sessions) of each data-source scenario;
# with shards > 1, merge_split cuts it into person shards for the per-shard steps. docs/merge.md


rule merge:
    input:
        odh_persons=path("extract.table", source="odh", name="persons.parquet"),
        odh_exposures=path("extract.table", source="odh", name="exposures.parquet"),
        snds_persons=path("extract.table", source="snds", name="persons.parquet"),
        snds_exposures=path("extract.table", source="snds", name="exposures.parquet"),
        snds_chemo_sessions=path(
            "extract.table", source="snds", name="chemo_sessions.parquet"
        ),
        links=path("link.links"),
        # snds_only: the SNDS-only cohort, its gold persons found by the linkage truth when known
        identified=lambda wc: (
            path("identify.identified") if wc.scenario == "snds_only" else []
        ),
        scoring_links=lambda wc: linkage_truth() if wc.scenario == "snds_only" else [],
    output:
        **{t: path("merge.table", table=t) for t in MERGED},
        report=path("merge.report"),
    log:
        log_file("merge", "scenario"),
    benchmark:
        bench_file("merge", "scenario")
    conda:
        "../../envs/merge.yaml"
    params:
        merge=config["merge"],
        scenario="{scenario}",
    script:
        STEP


rule merge_split:
    input:
        **{t: path("merge.table", table=t) for t in MERGED},
    output:
        **{t: temp(paths("merge.shard", table=t, shard=SHARDS)) for t in MERGED},
    log:
        log_file("merge_split", "scenario"),
    benchmark:
        bench_file("merge_split", "scenario")
    conda:
        "../../envs/merge.yaml"
    script:
        STEP
