"""Step `score_shard`: the per-person evaluation tables of every prediction (scenario x algorithm) on one
patient shard (see lotluca.evaluate.persons)."""

from lotluca.evaluate import settings_from_config
from lotluca.evaluate.persons import score_shard_file
from lotluca.steps import run_step


def main(smk):
    settings = settings_from_config(smk.params.evaluation, smk.params.seed)
    jobs = zip(smk.params.pairs, smk.input.lines, smk.output, smk.params.lines_sharded, strict=True)
    for _pair, lines, output, sharded in jobs:
        score_shard_file(
            lines_path=lines,
            gold_path=smk.input.gold,
            output=output,
            settings=settings,
            split=smk.params.evaluation["split"],
            shard=int(smk.wildcards.shard),
            n_shards=smk.params.n_shards,
            lines_sharded=sharded,
        )


run_step(snakemake, main)
