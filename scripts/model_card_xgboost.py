"""Step `learned_model_card`: the Markdown model card of one scenario's learned line model."""

import json
from pathlib import Path

import pandas as pd

from lotluca.learned.model_card import render
from lotluca.steps import run_step


def main(smk):
    summary = json.loads(Path(smk.input.summary).read_text(encoding="utf-8"))
    metrics = pd.read_csv(smk.input.metrics)
    Path(smk.output.card).write_text(render(summary, metrics, smk.wildcards.scenario), encoding="utf-8")


run_step(snakemake, main)
