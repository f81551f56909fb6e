"""Extraction entry points used by both the workflow and the command line: find the files, extract, write.

Table files are found by their SNDS / ODH names (`IR_BEN_R.csv`, `ER_PHA_F.parquet`,
`T_MCOaaMED.sas7bdat`, `odh_patients.csv`...), the format from the extension, names matched
case-insensitively. Outputs of a source go to one folder: persons, exposures, (chemo_sessions,)
stays, rejects as Parquet, accounting.csv (source, table, outcome, rule, rows) and unknown_codes.csv
(drug codes or labels missing from the reference, with their row counts). Tables are written in
their canonical row order (`lotluca.extract.gather.sort_output`), so a run per patient shard, once
gathered, gives the same files as one run over the whole extract.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from pathlib import Path

import pandas as pd

from lotluca.errors import InputError
from lotluca.extract import odh, snds
from lotluca.extract.common import ROW_NUMBERS_SUFFIX, ExtractSettings
from lotluca.extract.gather import sort_output
from lotluca.extract.readers import FORMATS
from lotluca.io import write_parquet

log = logging.getLogger(__name__)

SNDS_TABLES = (*snds.REQUIRED_TABLES, *snds.OPTIONAL_TABLES)
ODH_TABLES = (*odh.REQUIRED_TABLES, *odh.OPTIONAL_TABLES)


def find_tables(directory: str | Path, names: tuple[str, ...]) -> dict[str, Path]:
    """Map each known table name to its file in `directory` (one file per table)."""
    directory = Path(directory)
    if not directory.is_dir():
        raise InputError(directory, "input folder not found")
    wanted = {n.upper(): n for n in names}
    found: dict[str, Path] = {}
    for p in sorted(directory.iterdir()):
        if not p.is_file() or p.suffix.lower() not in FORMATS:
            continue
        name = wanted.get(p.stem.upper())
        if name is None:
            continue
        if name in found:
            raise InputError(
                directory, f"table {name} found twice: {found[name].name} and {p.name}", expected="one file per table"
            )
        found[name] = p
    return found


def _files_by_table(files, names: tuple[str, ...], table_of) -> dict[str, Path]:
    """Map table names (matched case-insensitively) to the files whose `table_of(file)` names them."""
    wanted = {n.upper(): n for n in names}
    out = {}
    for f in map(Path, files):
        stem = table_of(f)
        name = wanted.get(stem.upper()) if stem else None
        if name:
            out[name] = f
    return out


def paths_from_files(files, names: tuple[str, ...]) -> dict[str, Path]:
    """Map table names to an explicit list of files (the workflow's inputs); unknown names are ignored."""
    return _files_by_table(files, names, lambda f: f.stem)


def row_numbers_from_files(files, names: tuple[str, ...]) -> dict[str, Path]:
    """Map table names to the row-number files (`<table>.rows.parquet`) among `files` (shards of a split)."""
    n = len(ROW_NUMBERS_SUFFIX)
    return _files_by_table(files, names, lambda f: f.name[:-n] if f.name.lower().endswith(ROW_NUMBERS_SUFFIX) else "")


def settings_for(config: dict, row_numbers: dict | None = None, part: bool = False) -> ExtractSettings:
    """Extraction settings; for one shard (`part`) empty tables are allowed, and when the shard comes
    from the split (`row_numbers`), the bad-value threshold was already checked on the whole tables."""
    settings = ExtractSettings.from_config(config)
    if part or row_numbers:
        settings = replace(settings, part=True)
    if row_numbers:
        settings = replace(settings, read=replace(settings.read, max_bad_value_fraction=1.0))
    return settings


def _write(result, out_dir: Path, tables: tuple[str, ...]) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    for t in tables:
        write_parquet(sort_output(t, getattr(result, t)), out_dir / f"{t}.parquet")
    result.accounting.to_csv(out_dir / "accounting.csv", index=False)
    result.unknown_codes.to_csv(out_dir / "unknown_codes.csv", index=False)


def run_snds(
    paths: dict, out_dir: str | Path, config: dict, row_numbers: dict | None = None, part: bool = False
) -> pd.DataFrame:
    """Extract SNDS tables (`paths`: table name -> file) into `out_dir`; returns the accounting.

    `part`: the tables are one patient shard; `row_numbers`: the shard's row-number files (split)."""
    result = snds.extract_snds(paths, settings_for(config, row_numbers, part), row_numbers)
    _write(result, Path(out_dir), ("persons", "exposures", "chemo_sessions", "stays", "rejects"))
    log.info(
        "SNDS: %d persons, %d exposures, %d chemo sessions, %d stays, %d rejects",
        result.persons.num_rows,
        result.exposures.num_rows,
        result.chemo_sessions.num_rows,
        result.stays.num_rows,
        result.rejects.num_rows,
    )
    return result.accounting


def run_odh(
    paths: dict, out_dir: str | Path, config: dict, row_numbers: dict | None = None, part: bool = False
) -> pd.DataFrame:
    """Extract ODH tables (`paths`: table name -> file) into `out_dir`; returns the accounting.

    `part`: the tables are one patient shard; `row_numbers`: the shard's row-number files (split)."""
    result = odh.extract_odh(paths, settings_for(config, row_numbers, part), row_numbers)
    _write(result, Path(out_dir), ("persons", "exposures", "stays", "rejects"))
    log.info(
        "ODH: %d persons, %d exposures, %d stays, %d rejects",
        result.persons.num_rows,
        result.exposures.num_rows,
        result.stays.num_rows,
        result.rejects.num_rows,
    )
    return result.accounting
