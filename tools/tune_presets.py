"""Freeze the `lotluca` preset: tune its simulator-sensitive parameters on a TUNING cohort (its own seed,
never the evaluation cohort's), write the chosen values into the preset and the record
scripts/lotluca/lines/tuning/lotluca.yaml, and render docs/lines.md "How the presets were tuned".

    PYTHONPATH=scripts python tools/tune_presets.py --seed 20260417 --patients 1500 --write
    PYTHONPATH=scripts python tools/tune_presets.py --docs     # only re-render the docs section

The procedure and objective: lotluca.robustness.tuning. Rerun after any change of the simulator.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import yaml

from lotluca.config import load_config
from lotluca.evaluate.bootstrap import derive_seed
from lotluca.evaluate.settings import EvaluateSettings, bootstrap_seed
from lotluca.robustness import tuning
from lotluca.robustness.cohort import simulate_cohort
from lotluca.robustness.grid import SEED_LABEL

REPO = Path(__file__).resolve().parents[1]
DOCS = REPO / "docs" / "lines.md"


def _docs(record: dict) -> None:
    DOCS.write_text(tuning.splice(DOCS.read_text(encoding="utf-8"), tuning.render_docs(record)), encoding="utf-8")
    print(f"wrote {DOCS}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, default=20260417, help="seed of the tuning cohort (not the study's)")
    ap.add_argument("--patients", type=int, default=1500, help="ODH patients of the tuning cohort")
    ap.add_argument("--passes", type=int, default=2)
    ap.add_argument("--min-gain", type=float, default=0.002)
    ap.add_argument("--write", action="store_true", help="write the preset, the record and the docs section")
    ap.add_argument("--docs", action="store_true", help="only render the docs section from the committed record")
    args = ap.parse_args(argv)
    if args.docs:
        _docs(yaml.safe_load(tuning.record_path().read_text(encoding="utf-8")))
        return 0
    config = load_config(REPO / "config.yaml")
    study_seed = int(config["seed"])
    if args.seed in (study_seed, derive_seed(study_seed, SEED_LABEL)):
        sys.exit(f"--seed {args.seed} is the evaluation or the robustness cohort's seed: choose another")
    config["simulate"]["patients"] = args.patients
    t0 = time.perf_counter()
    cohort = simulate_cohort(config, args.seed, list(config["scenarios"]))
    print(f"tuning cohort: {cohort.gold['person_id'].nunique()} gold persons, {time.perf_counter() - t0:.0f} s")
    settings = EvaluateSettings.from_config({**config["evaluate"], "bootstrap": 0}, seed=bootstrap_seed(study_seed))
    result = tuning.tune(cohort, settings, passes=args.passes, min_gain=args.min_gain)
    record = tuning.make_record(
        result,
        seed=args.seed,
        patients=args.patients,
        scenarios=list(config["scenarios"]),
        passes=args.passes,
        min_gain=args.min_gain,
    )
    print(yaml.safe_dump(record["chosen"], sort_keys=False))
    if args.write:
        tuning.write_preset(record["chosen"])
        path = tuning.record_path()
        path.parent.mkdir(parents=True, exist_ok=True)
        head = "# Written by tools/tune_presets.py (lotluca.robustness.tuning); do not edit by hand: rerun it.\n"
        path.write_text(head + yaml.safe_dump(record, sort_keys=False, width=120), encoding="utf-8")
        print(f"wrote {path} and {tuning.preset_path()}")
        _docs(record)
    print(f"done in {time.perf_counter() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
