"""The step functions of the extract stage, one per rule: `extract_split`, `extract`, `extract_gather`
(docs/extract.md; the calling convention: docs/architecture.md)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path

from lotluca.extract.common import ROW_NUMBERS_SUFFIX, ExtractSettings, row_numbers_file
from lotluca.extract.gather import gather_source
from lotluca.extract.pipeline import OUTPUTS, SOURCE_TABLES, extract_source, paths_from_files, row_numbers_from_files
from lotluca.extract.split import SPLIT_TABLES, shard_file_name, split_source


def _files(value: str | Sequence[str]) -> list[str]:
    """A named input or output as a list of files; a folder (a shard of the split) stands for its files."""
    out = []
    for f in [value] if isinstance(value, str | Path) else value:
        out += sorted(map(str, Path(f).iterdir())) if Path(f).is_dir() else [str(f)]
    return out


def _paths(value: str | Sequence[str]) -> list[str]:
    """A named output as a list of paths (files or folders, as given)."""
    return [str(value)] if isinstance(value, str | Path) else [str(v) for v in value]


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


def _shard_folders(folders: Sequence[str | Path], paths: Mapping[str, Path]) -> dict[str, list[Path]]:
    """The shard files of each table when the outputs are one folder per shard (shard order)."""
    return {t: [Path(d) / shard_file_name(t, p) for d in folders] for t, p in paths.items()}


def extract_split(inputs: Mapping, outputs: Mapping, *, study: Mapping, extract: Mapping, source: str) -> None:
    """Split the user's raw tables of `source` (inputs `tables`) into patient shards: outputs `tables`
    (for every shard, each table's file and its `.rows.parquet`, the files of shard k in one folder, in
    shard order), or outputs `shards` (one folder per shard, in shard order, receiving those files)."""
    paths = paths_from_files(_files(inputs["tables"]), tuple(SPLIT_TABLES[source]))
    settings = ExtractSettings.for_study(study, extract)
    if "tables" in outputs:
        shards = _shard_tables(_paths(outputs["tables"]))
    else:
        shards = _shard_folders(_paths(outputs["shards"]), paths)
    split_source(source, paths, shards, settings)


def extract(
    inputs: Mapping,
    outputs: Mapping,
    *,
    study: Mapping,
    extract: Mapping,
    source: str,
    part: bool,
    threads: int | None = None,
) -> None:
    """Extract the raw tables of one shard of `source` (inputs `tables`; with the split's `.rows.parquet`
    files when the shard comes from the split) into the canonical outputs (`OUTPUTS`, one path each).
    `part`: the tables are one of several shards; `threads`: the rule's threads (snakemake gives at most
    `--cores`), else `extract.threads`."""
    files = _files(inputs["tables"])
    tables = SOURCE_TABLES[source]
    settings = ExtractSettings.for_study(study, extract, part=bool(part))
    if threads:
        settings = replace(settings, threads=int(threads))
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


def extract_diagnoses(inputs: Mapping, outputs: Mapping, *, study: Mapping, extract: Mapping) -> None:
    """The SNDS diagnosis codes and ALD registrations (`lotluca.extract.diagnoses`) of the raw SNDS files
    (inputs `tables`: every shard's, or the user's) into outputs `diagnoses` and `ald` (Parquet)."""
    from lotluca.extract.diagnoses import extract_diagnoses as run
    from lotluca.io import write_parquet

    settings = ExtractSettings.for_study(study, extract)
    diagnoses, ald = run(_files(inputs["tables"]), settings)
    write_parquet(diagnoses, outputs["diagnoses"])
    write_parquet(ald, outputs["ald"])
