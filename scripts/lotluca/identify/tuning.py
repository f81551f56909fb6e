"""Measure the identification on a cohort of its own (`python -m lotluca.identify.tuning --seed 11`):
simulate, extract the SNDS, identify, score against the truth. The thresholds of the `identify` block
were tuned this way on a tuning cohort whose seed differs from the study's (docs/identify.md, "Tuning");
never tune on the evaluated cohort."""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

from lotluca.config import default_config
from lotluca.extract.common import ExtractSettings
from lotluca.extract.diagnoses import extract_diagnoses
from lotluca.extract.pipeline import SOURCE_TABLES, find_tables, run_snds
from lotluca.identify.quality import quality
from lotluca.identify.steps import identify_tables
from lotluca.io import read_parquet, write_parquet
from lotluca.simulate import simulate_to_files


def measure(seed: int, patients: int, identify: dict | None = None, workdir: str | Path | None = None) -> dict:
    """Quality of the identification (the `identify` block over the defaults) on a simulated cohort."""
    cfg = default_config(identify=identify or {})
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(workdir or tmp)
        simulate_to_files({"patients": patients}, cfg["study"], seed, root / "sim")
        snds = root / "sim" / "snds"
        run_snds(find_tables(snds, SOURCE_TABLES["snds"]), root / "extract", cfg)
        diag, ald = extract_diagnoses(sorted(snds.iterdir()), ExtractSettings.for_study(cfg["study"], cfg["extract"]))
        write_parquet(diag, root / "extract" / "diagnoses.parquet")
        write_parquet(ald, root / "extract" / "ald.parquet")
        files = {n: root / "extract" / f"{n}.parquet" for n in ("exposures", "chemo_sessions", "diagnoses", "ald")}
        ident, counts = identify_tables(files, cfg["identify"], cfg["study"])
        truth = read_parquet(root / "sim" / "truth" / "identification_truth.parquet").to_pandas(date_as_object=False)
        truth["diagnosis_date"] = truth["diagnosis_date"].astype("datetime64[ns]")
        return {"seed": seed, "patients": patients, "rules": counts, **quality(ident, truth)}


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, required=True)
    ap.add_argument("--patients", type=int, default=1000)
    ap.add_argument("--set", action="append", default=[], help="identify key=JSON value, e.g. date_window_days=90")
    args = ap.parse_args(argv)
    block = {k: json.loads(v) for k, v in (x.split("=", 1) for x in args.set)}
    print(json.dumps(measure(args.seed, args.patients, block), indent=2))


if __name__ == "__main__":
    main()
