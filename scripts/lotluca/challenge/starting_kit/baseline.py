"""Baseline of the LOT-LuCA challenge: a lotluca rule preset behind the plug-in interface (docs/plugins.md).

    pip install lotluca                      # or: the repository's scripts/ on PYTHONPATH
    python baseline.py PARTICIPANT_DIR OUT_DIR

reads the linked scenario of the participant data (PARTICIPANT_DIR/linked/), builds the lines of every person
with `build_lines`, keeps the test persons (PARTICIPANT_DIR/test_persons.csv) and writes OUT_DIR/lines.csv and
OUT_DIR/submission.zip (lines.csv at its root: what you upload). Replace `build_lines` by your algorithm: same
arguments (pyarrow tables of the exposures, chemo_sessions and persons contracts), same output (the lines
contract), and it runs in the lotluca study too (config `lines.plugins`).
"""

from __future__ import annotations

import sys
import zipfile
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq

PRESET = "lotluca"  # the rule preset of this baseline


def build_lines(exposures, chemo_sessions, persons):
    """Lines of therapy of the persons of `exposures` with the rule preset PRESET."""
    from lotluca.lines.algorithms import LineInputs, rule_algorithm
    from lotluca.lines.params import load_params

    return rule_algorithm(load_params(PRESET))(LineInputs(exposures, chemo_sessions, persons))


def main(participant: str, out: str) -> int:
    from lotluca.lines.plugins import normalise_lines

    data = Path(participant) / "linked"
    tables = {t: pq.read_table(data / f"{t}.parquet") for t in ("exposures", "chemo_sessions", "persons")}
    lines = normalise_lines(build_lines(**tables), "baseline", tables["persons"]).to_pandas()
    test = set(pd.read_csv(Path(participant) / "test_persons.csv", dtype=str)["person_id"])
    lines = lines[lines["person_id"].isin(test)]
    Path(out).mkdir(parents=True, exist_ok=True)
    lines.to_csv(Path(out) / "lines.csv", index=False, date_format="%Y-%m-%d")
    with zipfile.ZipFile(Path(out) / "submission.zip", "w", zipfile.ZIP_DEFLATED) as zf:
        zf.write(Path(out) / "lines.csv", "lines.csv")
    print(f"{len(lines)} lines of {lines['person_id'].nunique()} test persons -> {out}/submission.zip")
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:3]))
