"""The step functions of the simulate stage, one per rule (`simulate`, `simulate_gather`): they turn the
rule's named inputs, outputs and config blocks into a call of the generator (docs/simulate.md)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from lotluca.errors import LotlucaError
from lotluca.simulate import gather_shards, write_shard
from lotluca.simulate.params import SimSettings


def _table(path) -> str:
    """The table a per-table file holds: its file name up to the first dot."""
    return Path(path).name.split(".", 1)[0]


def _as_list(paths) -> list:
    return [paths] if isinstance(paths, str | Path) else list(paths)


def _by_table(paths: Sequence) -> dict[str, str]:
    """Table name -> file, for a list of per-table files (one file per table)."""
    out: dict[str, str] = {}
    for p in _as_list(paths):
        name = _table(p)
        if name in out:
            raise LotlucaError(f"simulate: two output files for table {name}: {out[name]}, {p}")
        out[name] = str(p)
    return out


def _grouped(paths: Sequence) -> dict[str, list[str]]:
    """Table name -> its files in the order given (shard order), for per-table files of several shards."""
    out: dict[str, list[str]] = {}
    for p in _as_list(paths):
        out.setdefault(_table(p), []).append(str(p))
    return out


def simulate(
    inputs: Mapping, outputs: Mapping, *, simulate: Mapping, study: Mapping, seed, fmt: str, shard, n_shards
) -> None:
    """Rule `simulate`: draw shard `shard` of `n_shards` of the synthetic cohort and write its SNDS tables
    (outputs `snds`), ODH tables (`odh`), gold lines (`gold`) and truth tables (`truth`) to exactly the
    paths given (the table of a file: its name up to the first dot)."""
    s = SimSettings.from_config(simulate, study=study)
    files = _by_table([*_as_list(outputs["snds"]), *_as_list(outputs["odh"]), *_as_list(outputs["truth"])])
    files["gold_lines"] = str(outputs["gold"])
    write_shard(s, int(seed), files, fmt, shard=int(shard), n_shards=int(n_shards))


def simulate_gather(inputs: Mapping, outputs: Mapping, *, simulate: Mapping, study: Mapping) -> None:
    """Rule `simulate_gather`: the gold lines (`inputs.gold`, one file per shard) and the truth tables
    (`inputs.truth`, every truth table of every shard) gathered, sorted canonically, into `outputs.gold`
    and `outputs.truth` (one file per truth table), the cohort's calibration table (`outputs.calibration`) and
    the gold standard's agreement with the truth (`outputs.gold_agreement`)."""
    s = SimSettings.from_config(simulate, study=study)
    shard_files = {"gold_lines": [str(p) for p in _as_list(inputs["gold"])], **_grouped(inputs["truth"])}
    out = {"gold_lines": str(outputs["gold"]), **_by_table(outputs["truth"])}
    gather_shards(shard_files, out, outputs["calibration"], s, agreement_csv=outputs.get("gold_agreement"))
