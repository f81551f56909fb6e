"""Extraction of one source from its table files: find the files, extract, write the canonical tables.

Table files are found by their SNDS / ODH names (`IR_BEN_R.csv`, `ER_PHA_F.parquet`,
`T_MCOaaMED.sas7bdat`, `odh_patients.csv`...), the format from the extension, names matched
case-insensitively; yearly PMSI tables (`T_MCO19B`, `T_MCO20MED`, ...) are found beside or instead of
the `T_MCOaa` ones (`lotluca.extract.snds.table_name`). Both sources write the same outputs (`OUTPUTS`): persons, exposures,
chemo_sessions (always empty for ODH), stays, rejects as Parquet, accounting.csv (source, table,
outcome, rule, rows) and unknown_codes.csv (drug codes or labels missing from the reference, with
their row counts), each to the path it is given. Tables are written in their canonical row order
(`lotluca.extract.gather.sort_output`), so a run per patient shard, once gathered, gives the same
files as one run over the whole extract (docs/extract.md).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path

import pandas as pd
import pyarrow as pa

from lotluca.config import validate
from lotluca.errors import InputError
from lotluca.extract import odh, snds
from lotluca.extract.chunks import write_spilled
from lotluca.extract.common import ROW_NUMBERS_SUFFIX, ExtractSettings
from lotluca.extract.gather import sort_output
from lotluca.extract.readers import FORMATS
from lotluca.io import write_parquet

log = logging.getLogger(__name__)

SNDS_TABLES = (*snds.REQUIRED_TABLES, *snds.OPTIONAL_TABLES)
ODH_TABLES = (*odh.REQUIRED_TABLES, *odh.OPTIONAL_TABLES)
SOURCE_TABLES = {"snds": SNDS_TABLES, "odh": ODH_TABLES}
EXTRACTORS = {"snds": snds.extract_snds, "odh": odh.extract_odh}
TABLES = ("persons", "exposures", "chemo_sessions", "stays", "rejects")  # Parquet outputs of either source
OUTPUTS = (*TABLES, "accounting", "unknown_codes")  # every output of an extraction (and of the gather)


def find_tables(directory: str | Path, names: tuple[str, ...]) -> dict[str, Path]:
    """Map each known table name to its file in `directory` (one file per table)."""
    directory = Path(directory)
    if not directory.is_dir():
        raise InputError(directory, "input folder not found")
    found: dict[str, Path] = {}
    for p in sorted(directory.iterdir()):
        if not p.is_file() or p.suffix.lower() not in FORMATS:
            continue
        name = snds.table_name(p.stem, names)
        if name is None:
            continue
        if name in found:
            raise InputError(
                directory, f"table {name} found twice: {found[name].name} and {p.name}", expected="one file per table"
            )
        found[name] = p
    return found


def _files_by_table(files, names: tuple[str, ...], table_of) -> dict[str, Path]:
    """Map table names (matched case-insensitively; yearly PMSI tables too) to the files whose
    `table_of(file)` names them."""
    out = {}
    for f in map(Path, files):
        stem = table_of(f)
        name = snds.table_name(stem, names) if stem else None
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


def output_files(out_dir: str | Path) -> dict[str, Path]:
    """The outputs of an extraction written into one folder (`persons.parquet`, ..., `accounting.csv`)."""
    out_dir = Path(out_dir)
    return {name: out_dir / f"{name}.{'parquet' if name in TABLES else 'csv'}" for name in OUTPUTS}


def extract_source(
    source: str,
    paths: Mapping[str, Path],
    outputs: Mapping[str, str | Path],
    settings: ExtractSettings,
    row_numbers: Mapping[str, Path] | None = None,
) -> pd.DataFrame:
    """Extract the tables of `source` ("snds" | "odh"; `paths`: table name -> file) and write each output
    of `OUTPUTS` to its path in `outputs`; returns the accounting.

    `row_numbers`: the row-number files of a shard written by the split (table name -> file)."""
    if source not in EXTRACTORS:
        raise ValueError(f"source must be one of {sorted(EXTRACTORS)}, got {source!r}")
    if row_numbers:
        settings = settings.for_split_shard()
    result = EXTRACTORS[source](dict(paths), settings, dict(row_numbers) if row_numbers else None)
    rows = {t: getattr(result, t).num_rows for t in TABLES}
    spilled = {}  # by ranges of persons (`lotluca.extract.chunks.SortedOutput`): sorted range by range
    for t in TABLES:  # each table freed once written: the sorted copy and the next table never add up
        table = getattr(result, t)
        if isinstance(table, pa.Table):
            write_parquet(sort_output(t, table), outputs[t])
        else:
            spilled[t] = table
        setattr(result, t, None)
    write_spilled(spilled, outputs, settings.threads)
    for name in ("accounting", "unknown_codes"):
        Path(outputs[name]).parent.mkdir(parents=True, exist_ok=True)
        getattr(result, name).to_csv(outputs[name], index=False)
    log.info(
        "%s: %s",
        source.upper(),
        ", ".join(f"{rows[t]} {t.replace('_', ' ')}" for t in TABLES),
    )
    return result.accounting


def _run(source: str, paths: dict, out_dir, config: Mapping, row_numbers: dict | None, part: bool) -> pd.DataFrame:
    blocks = validate({k: config[k] for k in ("study", "extract") if k in config}, "study/extract config")
    settings = ExtractSettings.for_study(blocks["study"], blocks["extract"], part=part)
    return extract_source(source, paths, output_files(out_dir), settings, row_numbers)


def run_snds(
    paths: dict, out_dir: str | Path, config: Mapping, row_numbers: dict | None = None, part: bool = False
) -> pd.DataFrame:
    """Extract SNDS tables (`paths`: table name -> file) into the folder `out_dir`; returns the accounting.

    `config`: the `study:` and `extract:` blocks (missing keys get the schema's defaults); `part`: the
    tables are one patient shard; `row_numbers`: the shard's row-number files (split)."""
    return _run("snds", paths, out_dir, config, row_numbers, part)


def run_odh(
    paths: dict, out_dir: str | Path, config: Mapping, row_numbers: dict | None = None, part: bool = False
) -> pd.DataFrame:
    """Extract ODH tables into the folder `out_dir`, as `run_snds`; returns the accounting."""
    return _run("odh", paths, out_dir, config, row_numbers, part)
