"""Step `score_shard`: the per-person evaluation table of one prediction on one patient shard (see
lotluca.evaluation.persons)."""

from lotluca.evaluation import settings_from_config
from lotluca.evaluation.persons import score_shard_file
from lotluca.steps import run_step


def main(smk):
    score_shard_file(
        lines_path=smk.input.lines,
        gold_path=smk.input.gold,
        output=smk.output[0],
        settings=settings_from_config(smk.params.evaluation, smk.params.seed),
        split=smk.params.evaluation["split"],
        shard=int(smk.wildcards.shard),
        n_shards=smk.params.n_shards,
        lines_sharded=smk.params.lines_sharded,
    )


run_step(snakemake, main)
