"""One small simulated cohort run through the study in-process: simulate, extract both sources, merge
every data-source scenario, then score line algorithms against its gold standard.

Shared by the robustness grid (lotluca.robustness.grid) and the preset tuning tool (tools/tune_presets.py).
Shortcut (documented in docs/robustness.md): the ODH <-> SNDS links are the simulator's linkage truth,
not the output of the link stage (the probabilistic linkage is the costly step and is assessed by its
own stage); everything else is the study's library code.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pyarrow as pa

from lotluca.evaluate.scoring import evaluate_many
from lotluca.evaluate.settings import EvaluateSettings
from lotluca.evaluate.submission import load_gold, validate_lines
from lotluca.extract import pipeline
from lotluca.io import read_parquet, write_parquet
from lotluca.lines.algorithms import Algorithm, LineInputs
from lotluca.merge.scenarios import MergeSettings, run_merge
from lotluca.simulate import simulate_to_files

log = logging.getLogger(__name__)
MERGED = ("persons", "exposures", "chemo_sessions")


@dataclass(frozen=True)
class Cohort:
    """The merged inputs of each scenario and the gold standard (every split, with its `split` column)."""

    inputs: dict[str, LineInputs]
    gold: pd.DataFrame


def _links(truth_path: Path, out: Path) -> Path:
    """The simulator's linkage truth written as the link stage's links table."""
    truth = read_parquet(truth_path).to_pandas()
    n = len(truth)
    table = pa.table(
        {
            "odh_patient_id": truth["odh_patient_id"].astype(str),
            "snds_person_id": truth["ben_idt_ano"].astype(str),
            "method": ["deterministic"] * n,
            "match_probability": [1.0] * n,
        }
    )
    write_parquet(table, out)
    return out


def _extract(folder: Path, study: Mapping, extract: Mapping) -> dict[str, Path]:
    """Extract the simulated SNDS and ODH tables of `folder`; the extracted files of both sources."""
    blocks = {"study": dict(study), "extract": dict(extract)}
    files: dict[str, Path] = {}
    for source, tables, run in (
        ("odh", pipeline.ODH_TABLES, pipeline.run_odh),
        ("snds", pipeline.SNDS_TABLES, pipeline.run_snds),
    ):
        raw = [folder / source / f"{t}.parquet" for t in tables]
        run(pipeline.paths_from_files([str(f) for f in raw if f.exists()], tables), folder / f"x_{source}", blocks)
        for name in MERGED:
            files[f"{source}_{name}"] = folder / f"x_{source}" / f"{name}.parquet"
    return files


def simulate_cohort(config: Mapping, seed: int, scenarios: Sequence[str], workdir: str | Path | None = None) -> Cohort:
    """Simulate a cohort with the validated study `config` (its simulate, study, extract and merge blocks)
    and `seed`, extract it and merge each of `scenarios`. Files go to a temporary folder (or `workdir`)."""
    with tempfile.TemporaryDirectory(prefix="lotluca-cohort-", dir=workdir) as tmp:
        folder = Path(tmp)
        simulate_to_files(config["simulate"], config["study"], int(seed), folder, "parquet")
        files = _extract(folder, config["study"], config["extract"])
        files["links"] = _links(folder / "truth" / "linkage_truth.parquet", folder / "links.parquet")
        gold = read_parquet(folder / "gold" / "gold_lines.parquet").to_pandas()
        settings = MergeSettings.from_config(config["merge"])
        inputs = {}
        for scenario in scenarios:
            out = {t: folder / "merged" / scenario / f"{t}.parquet" for t in MERGED}
            run_merge(
                scenario,
                {k: files[k] for k in files if k != "odh_chemo_sessions"},
                out,
                folder / "merged" / scenario / "report.json",
                settings,
            )
            tables = {t: read_parquet(out[t]) for t in MERGED}
            inputs[scenario] = LineInputs(tables["exposures"], tables["chemo_sessions"], tables["persons"])
        gold_path = folder / "gold.parquet"
        write_parquet(pa.Table.from_pandas(gold, preserve_index=False), gold_path)
        gold_all, _ = load_gold(gold_path, None)
        if "split" in gold.columns:
            gold_all = gold_all.assign(split=gold["split"].astype(str).to_numpy())
    return Cohort(inputs=inputs, gold=gold_all)


def gold_split(gold: pd.DataFrame, split: str) -> pd.DataFrame:
    """The gold lines of `split` (train | test), or every person for "all"."""
    if split == "all" or "split" not in gold.columns:
        return gold.drop(columns=["split"], errors="ignore")
    return gold[gold["split"] == split].drop(columns=["split"]).reset_index(drop=True)


def predict(
    algorithms: Mapping[str, Algorithm], cohort: Cohort, scenarios: Sequence[str] | None = None
) -> dict[tuple[str, str], pd.DataFrame]:
    """(scenario, algorithm) -> the validated predicted lines of every algorithm on every scenario of
    `scenarios` (default: all of the cohort's)."""
    out = {}
    for scenario in scenarios or list(cohort.inputs):
        inputs = cohort.inputs[scenario]
        for name, algorithm in algorithms.items():
            out[(scenario, name)] = validate_lines(algorithm(inputs).to_pandas(), f"{name} on {scenario}")
    return out


def score(
    preds: Mapping[tuple[str, str], pd.DataFrame], gold: pd.DataFrame, settings: EvaluateSettings
) -> pd.DataFrame:
    """Tidy metrics (scenario, algorithm, metric, stratum, estimate, ci_low, ci_high, n) of `preds`."""
    metrics, _ = evaluate_many(preds, gold, settings)
    return metrics
