"""Extraction entry points used by both the workflow and the command line: find the files, extract, write.

Table files are found by their SNDS / ODH names (`IR_BEN_R.csv`, `ER_PHA_F.parquet`,
`T_MCOaaMED.sas7bdat`, `odh_patients.csv`...), the format from the extension, names matched
case-insensitively. Outputs of a source go to one folder: persons, exposures, (chemo_sessions,)
stays, rejects as Parquet, accounting.csv (source, table, outcome, rule, rows) and unknown_codes.csv
(drug codes or labels missing from the reference, with their row counts).
"""

from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd

from lotluca.errors import InputError
from lotluca.io import write_parquet
from lotluca.sources import odh, snds
from lotluca.sources.common import ExtractSettings
from lotluca.sources.readers import FORMATS

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


def paths_from_files(files, names: tuple[str, ...]) -> dict[str, Path]:
    """Map table names to an explicit list of files (the workflow's inputs); unknown names are ignored."""
    wanted = {n.upper(): n for n in names}
    out = {}
    for f in map(Path, files):
        name = wanted.get(f.stem.upper())
        if name:
            out[name] = f
    return out


def _write(result, out_dir: Path, tables: tuple[str, ...]) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    for t in tables:
        write_parquet(getattr(result, t), out_dir / f"{t}.parquet")
    result.accounting.to_csv(out_dir / "accounting.csv", index=False)
    result.unknown_codes.to_csv(out_dir / "unknown_codes.csv", index=False)


def run_snds(paths: dict, out_dir: str | Path, config: dict) -> pd.DataFrame:
    """Extract SNDS tables (`paths`: table name -> file) into `out_dir`; returns the accounting."""
    result = snds.extract_snds(paths, ExtractSettings.from_config(config))
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


def run_odh(paths: dict, out_dir: str | Path, config: dict) -> pd.DataFrame:
    """Extract ODH tables (`paths`: table name -> file) into `out_dir`; returns the accounting."""
    result = odh.extract_odh(paths, ExtractSettings.from_config(config))
    _write(result, Path(out_dir), ("persons", "exposures", "stays", "rejects"))
    log.info(
        "ODH: %d persons, %d exposures, %d stays, %d rejects",
        result.persons.num_rows,
        result.exposures.num_rows,
        result.stays.num_rows,
        result.rejects.num_rows,
    )
    return result.accounting
