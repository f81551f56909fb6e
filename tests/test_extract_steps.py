"""The extract stage's step functions (lotluca.extract.steps): each writes exactly the paths it is given,
both sources write the same outputs (ODH an empty canonical chemo_sessions table), and the split accepts
one file list or one folder per shard."""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq
import pytest

from lotluca import contracts
from lotluca.config import default_config
from lotluca.extract import steps
from lotluca.extract.pipeline import OUTPUTS, output_files

CONFIG = default_config()
BLOCKS = {"study": CONFIG["study"], "extract": CONFIG["extract"]}


@pytest.fixture(scope="module")
def sim(tmp_path_factory) -> Path:
    from lotluca.simulate import simulate_to_files

    root = tmp_path_factory.mktemp("steps")
    simulate_to_files({"patients": 60}, {}, 5, root, "parquet")
    return root


def _files(sim: Path, source: str) -> list[str]:
    return sorted(str(f) for f in (sim / source).iterdir())


def _outputs(folder: Path, tag: str) -> dict[str, str]:
    """Output paths of free names (not the folder convention): the step must write exactly these."""
    return {
        name: str(folder / f"{tag}_{name}.{'csv' if name in ('accounting', 'unknown_codes') else 'pq'}")
        for name in OUTPUTS
    }


def _all_files(folder: Path) -> set[str]:
    return {str(p) for p in folder.rglob("*") if p.is_file()}


@pytest.mark.parametrize("source", ["snds", "odh"])
def test_extract_writes_exactly_the_given_paths(sim, tmp_path, source):
    outputs = _outputs(tmp_path / "out", source)
    steps.extract({"tables": _files(sim, source)}, outputs, **BLOCKS, source=source, part=False)
    assert _all_files(tmp_path / "out") == set(outputs.values())
    assert pq.read_table(outputs["persons"]).num_rows > 0


def test_odh_chemo_sessions_empty_with_the_canonical_schema(sim, tmp_path):
    outputs = _outputs(tmp_path, "odh")
    steps.extract({"tables": _files(sim, "odh")}, outputs, **BLOCKS, source="odh", part=False)
    sessions = pq.read_table(outputs["chemo_sessions"])
    assert sessions.num_rows == 0
    assert sessions.schema.equals(contracts.CHEMO_SESSIONS)


def test_split_writes_exactly_the_given_files_and_gathers_back(sim, tmp_path):
    files = _files(sim, "odh")
    split = [
        str(tmp_path / "raw" / str(k) / name)
        for k in range(2)
        for f in map(Path, files)
        for name in (f.name, f.name.replace(".parquet", ".rows.parquet"))
    ]
    steps.extract_split({"tables": files}, {"tables": split}, **BLOCKS, source="odh")
    assert _all_files(tmp_path / "raw") == set(split)
    shard_outputs = []  # the gather finds each output by its file name up to the first dot
    for k in range(2):
        outputs = {name: str(f) for name, f in output_files(tmp_path / "ex" / str(k)).items()}
        steps.extract({"tables": [f for f in split if f"/raw/{k}/" in f]}, outputs, **BLOCKS, source="odh", part=True)
        shard_outputs += outputs.values()
    whole = _outputs(tmp_path / "whole", "odh")
    steps.extract({"tables": files}, whole, **BLOCKS, source="odh", part=False)
    gathered = {name: str(tmp_path / "gathered" / Path(f).name) for name, f in whole.items()}
    steps.extract_gather({"shards": shard_outputs}, gathered, source="odh")
    for name in OUTPUTS:
        assert Path(gathered[name]).read_bytes() == Path(whole[name]).read_bytes(), name


def test_split_into_shard_folders(sim, tmp_path):
    """The folder form (one output folder per shard) writes each table and its row numbers there."""
    files = _files(sim, "odh")
    folders = [str(tmp_path / str(k)) for k in range(3)]
    steps.extract_split({"tables": files}, {"shards": folders}, **BLOCKS, source="odh")
    for folder in folders:
        names = sorted(p.name for p in Path(folder).iterdir())
        assert names == sorted(
            [Path(f).name for f in files] + [Path(f).name.split(".")[0] + ".rows.parquet" for f in files]
        )
    outputs = _outputs(tmp_path / "ex", "odh")
    steps.extract({"tables": [folders[0]]}, outputs, **BLOCKS, source="odh", part=True)
    assert _all_files(tmp_path / "ex") == set(outputs.values())


def test_split_refuses_outputs_missing_a_table(sim, tmp_path):
    files = _files(sim, "odh")
    split = [str(tmp_path / "0" / Path(f).name) for f in files[1:]]
    split += [s.replace(".parquet", ".rows.parquet") for s in split]
    with pytest.raises(ValueError, match="shard files given for tables"):
        steps.extract_split({"tables": files}, {"tables": split}, **BLOCKS, source="odh")
