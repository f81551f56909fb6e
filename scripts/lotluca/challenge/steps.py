"""The step function of the challenge stage: the rule `challenge` (docs/challenge.md): participant data,
splits, re-identification check, baseline submission and the Codabench bundle."""

from __future__ import annotations

import json
import logging
import shutil
import tempfile
from collections.abc import Mapping
from importlib import resources
from pathlib import Path

import pandas as pd
import pyarrow as pa

from lotluca.challenge import bundle as cb
from lotluca.challenge import kit
from lotluca.challenge.deidentify import key_table
from lotluca.challenge.pages import pages
from lotluca.challenge.reidentify import check
from lotluca.challenge.settings import ChallengeSettings
from lotluca.challenge.splits import split_persons
from lotluca.evaluate.bootstrap import derive_seed
from lotluca.evaluate.settings import EvaluateSettings, bootstrap_seed
from lotluca.io import read_parquet, write_parquet
from lotluca.lines.plugins import load_function, normalise_lines
from lotluca.merge.scenarios import MergeSettings, run_merge
from lotluca.privacy.pseudonym import pseudonym_key
from lotluca.privacy.settings import PrivacySettings

log = logging.getLogger(__name__)
MERGE_INPUTS = {
    "odh_persons": "odh/persons",
    "odh_exposures": "odh/exposures",
    "snds_persons": "snds/persons",
    "snds_exposures": "snds/exposures",
    "snds_chemo_sessions": "snds/chemo_sessions",
}


def baseline_file() -> Path:
    return Path(resources.files("lotluca.challenge.starting_kit")) / "baseline.py"


def baseline_lines(participant: Path, preset: str, test_persons) -> pd.DataFrame:
    """The starting kit's baseline (baseline.py's build_lines, run through the plug-in interface) on the
    participant's linked scenario, restricted to the test persons."""
    build_lines = load_function(f"{baseline_file()}:build_lines", "baseline")
    build_lines.__globals__["PRESET"] = preset
    tables = {
        t: read_parquet(participant / "linked" / f"{t}.parquet") for t in ("exposures", "chemo_sessions", "persons")
    }
    lines = normalise_lines(build_lines(**tables), "baseline", tables["persons"]).to_pandas()
    return lines[lines["person_id"].isin(set(test_persons))]


def reference_data(folder: Path, gold: pd.DataFrame, test_persons, scoring: dict) -> None:
    """ref/: gold_lines.csv (one test split), test_persons.csv (both test splits), scoring.json."""
    folder.mkdir(parents=True, exist_ok=True)
    kit.write_lines_csv(gold, folder / "gold_lines.csv")
    pd.DataFrame({"person_id": sorted(test_persons)}).to_csv(folder / "test_persons.csv", index=False)
    cb.write_json(folder / "scoring.json", scoring)


def build_bundle(dest: Path, settings, golds: dict, test_persons, baseline: pd.DataFrame, scoring: dict, n: dict):
    """The bundle tree in `dest` (zipped by the caller)."""
    for name, text in pages(settings, n, scoring["tolerance_days"]).items():
        (dest / name).parent.mkdir(parents=True, exist_ok=True)
        (dest / name).write_text(text, encoding="utf-8")
    cb.logo_png(dest / "logo.png")
    cb.write_yaml(dest / "competition.yaml", cb.competition_yaml(settings))
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        cb.scoring_program(tmp / "scoring_program")
        cb.zip_dir(tmp / "scoring_program", dest / "scoring_program.zip")
        for split, gold in golds.items():
            reference_data(tmp / split, gold, test_persons, scoring)
            cb.zip_dir(tmp / split, dest / f"reference_data_{split.split('_')[0]}.zip")
        kit.write_lines_csv(baseline, tmp / "solution" / "lines.csv")
        cb.zip_dir(tmp / "solution", dest / "baseline_submission.zip")
    kit.write_lines_csv(baseline, dest / "starting_kit" / "baseline_submission" / "lines.csv")
    text = baseline_file().read_text(encoding="utf-8").replace('PRESET = "lotluca"', f'PRESET = "{settings.baseline}"')
    (dest / "starting_kit" / "baseline.py").write_text(text, encoding="utf-8")


def challenge(
    inputs: Mapping,
    outputs: Mapping,
    *,
    challenge: Mapping,
    privacy: Mapping,
    evaluate: Mapping,
    merge: Mapping,
    seed: int,
) -> None:
    """inputs: gold, links, <source>_<table> (odh and snds: persons, exposures, chemo_sessions, stays);
    outputs: participant (folder), bundle (zip), reidentification (JSON), key_table and splits (private)."""
    settings = ChallengeSettings.from_config(challenge)
    ev = EvaluateSettings.from_config(evaluate, seed=bootstrap_seed(seed))
    key = pseudonym_key(PrivacySettings.from_config(privacy).pseudonym_key_env, seed)
    gold = read_parquet(inputs["gold"]).to_pandas(date_as_object=False)
    links = read_parquet(inputs["links"]).to_pandas()
    original = kit.read_sources(inputs)
    splits = split_persons(gold, settings.shares, derive_seed(seed, "challenge_splits"))
    keys = key_table(pd.Index(splits["person_id"]), links, key, settings.date_shift_days)
    tables, linkage = kit.participant_tables(original, links, keys, settings, key)
    of = lambda split: splits.loc[splits["split"] == split, "person_id"]  # noqa: E731
    pseudo = keys.set_index("odh_id")["odh_pseudonym"]
    test_persons = pseudo.loc[splits.loc[splits["split"] != "train", "person_id"]].tolist()
    participant = Path(outputs["participant"])
    if participant.exists():
        shutil.rmtree(participant)
    kit.write_participant(participant, tables, linkage, kit.gold_of(gold, keys, of("train")), test_persons)
    run_merge(
        scenario="linked",
        files={k: str(participant / f"{v}.parquet") for k, v in MERGE_INPUTS.items()}
        | {"links": str(participant / "linkage.parquet")},
        out={t: str(participant / "linked" / f"{t}.parquet") for t in ("persons", "exposures", "chemo_sessions")},
        report_path=str(participant / "linked" / "merge_report.json"),
        settings=MergeSettings.from_config(merge),
    )
    report = check(tables | {"linkage": linkage}, original, keys, settings.reidentification_max)
    cb.write_json(Path(outputs["reidentification"]), report)
    scoring = {k: getattr(ev, k) for k in ("tolerance_days", "ci_level", "kappa_weights", "kappa_max_lines")}
    scoring |= {"bootstrap": settings.bootstrap, "seed": derive_seed(seed, "challenge_scoring")}
    golds = {s: kit.gold_of(gold, keys, of(s)) for s in ("public_test", "private_test")}
    baseline = baseline_lines(participant, settings.baseline, test_persons)
    n = {"persons": len(splits), "train": int((splits["split"] == "train").sum()), "test": len(test_persons)}
    with tempfile.TemporaryDirectory() as tmp:
        build_bundle(Path(tmp), settings, golds, test_persons, baseline, scoring, n)
        Path(outputs["bundle"]).parent.mkdir(parents=True, exist_ok=True)
        cb.zip_dir(Path(tmp), Path(outputs["bundle"]))
    write_parquet(pa.Table.from_pandas(keys, preserve_index=False), outputs["key_table"])
    write_parquet(pa.Table.from_pandas(splits, preserve_index=False), outputs["splits"])
    log.info("challenge: %s persons, splits %s, re-identification %s", n["persons"], n, json.dumps(report["attack"]))


__all__ = ["challenge"]
