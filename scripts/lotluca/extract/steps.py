"""The step functions of the extract stage, one per rule: `extract_split`, `extract`, `extract_gather`
(docs/extract.md; the calling convention: docs/architecture.md)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from pathlib import Path

from lotluca.extract.common import ROW_NUMBERS_SUFFIX, ExtractSettings, row_numbers_file
from lotluca.extract.gather import gather_source
from lotluca.extract.pipeline import OUTPUTS, SOURCE_TABLES, extract_source, paths_from_files, row_numbers_from_files
from lotluca.extract.split import SPLIT_TABLES, split_source


def _files(value: str | Sequence[str]) -> list[str]:
    return [value] if isinstance(value, str | Path) else list(value)


def _name(path: str | Path) -> str:
    """The table (or output) a file holds: its file name up to the first dot."""
    return Path(path).name.split(".")[0]


def _shard_tables(files: Sequence[str | Path]) -> dict[str, list[Path]]:
    """The shard files of each table among the split's outputs (table files and their `.rows.parquet`)."""
    tables: dict[str, list[Path]] = defaultdict(list)
    rows = {Path(f) for f in files if str(f).lower().endswith(ROW_NUMBERS_SUFFIX)}
    for f in map(Path, files):
        if f not in rows:
            tables[_name(f)].append(f)
    written = {row_numbers_file(f) for paths in tables.values() for f in paths}
    if written != rows:
        raise ValueError(f"the split writes the row numbers {sorted(map(str, written))}, not {sorted(map(str, rows))}")
    return dict(tables)


def extract_split(inputs: Mapping, outputs: Mapping, *, study: Mapping, extract: Mapping, source: str) -> None:
    """Split the user's raw tables of `source` (inputs `tables`) into the patient shards of outputs `tables`
    (for every shard, each table's file and its `.rows.parquet`; the files of shard k in one folder)."""
    paths = paths_from_files(_files(inputs["tables"]), tuple(SPLIT_TABLES[source]))
    settings = ExtractSettings.for_study(study, extract)
    split_source(source, paths, _shard_tables(_files(outputs["tables"])), settings)


def extract(inputs: Mapping, outputs: Mapping, *, study: Mapping, extract: Mapping, source: str, part: bool) -> None:
    """Extract the raw tables of one shard of `source` (inputs `tables`; with the split's `.rows.parquet`
    files when the shard comes from the split) into the canonical outputs (`OUTPUTS`, one path each).
    `part`: the tables are one of several shards."""
    files = _files(inputs["tables"])
    tables = SOURCE_TABLES[source]
    settings = ExtractSettings.for_study(study, extract, part=bool(part))
    extract_source(
        source,
        paths_from_files(files, tables),
        {name: outputs[name] for name in OUTPUTS},
        settings,
        row_numbers_from_files(files, tables),
    )


def extract_gather(inputs: Mapping, outputs: Mapping, *, source: str) -> None:
    """Gather the per-shard outputs of `source` (inputs `shards`: every file of every shard, in shard
    order for each output) into the cohort's outputs (`OUTPUTS`)."""
    shards: dict[str, list[str]] = defaultdict(list)
    for f in _files(inputs["shards"]):
        shards[_name(f)].append(str(f))
    gather_source({name: shards[name] for name in OUTPUTS}, {name: outputs[name] for name in OUTPUTS})
