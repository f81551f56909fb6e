"""The names of the raw tables and how a folder's files are matched to them (light: no pandas, so the
workflow can list a real extract's files when it builds the DAG).

SNDS PMSI MCO tables come in periods: `T_MCOaa<kind>` (all years in one file) or one file per year,
`T_MCO<yy><kind>` (`T_MCO19B`, `T_MCO20MED`, ...), for the kinds of `PMSI_KINDS`. A stay is keyed by
its period, ETA_NUM and RSA_NUM (RSA_NUM repeats across years). Names are matched case-insensitively.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from pathlib import Path

PMSI_KINDS = ("B", "C", "D", "MED", "MEDATU", "FH", "CSTC", "FHSTC")
PMSI_REQUIRED = ("B", "C", "MED")  # of every period present
PMSI_NAME = re.compile(r"^T_MCO(AA|\d\d)(" + "|".join(sorted(PMSI_KINDS, key=len, reverse=True)) + r")$", re.I)
REQUIRED = {
    "snds": ("IR_BEN_R", "ER_PRS_F", "ER_PHA_F", "T_MCOaaB", "T_MCOaaC", "T_MCOaaMED"),
    "odh": ("odh_patients", "odh_administrations"),
}


def pmsi_table(name: str) -> tuple[str, str] | None:
    """(period, kind) of a PMSI MCO table name ("T_MCO19B" -> ("19", "B"), "t_mcoaamed" -> ("aa", "MED")),
    None for any other name."""
    m = PMSI_NAME.match(name)
    return (m.group(1).lower(), m.group(2).upper()) if m else None


def table_name(stem: str, names: Iterable[str]) -> str | None:
    """The table a file stem names among `names` (case-insensitive); yearly PMSI tables (`T_MCO19B`) are
    named when `names` holds their `T_MCOaa` table. None when the stem names no table."""
    wanted = {n.upper(): n for n in names}
    if stem.upper() in wanted:
        return wanted[stem.upper()]
    pk = pmsi_table(stem)
    if pk and f"T_MCOaa{pk[1]}".upper() in wanted:
        return f"T_MCO{pk[0]}{pk[1]}"
    return None


def generic(name: str) -> str:
    """The schema table of a table name: `T_MCOaa<kind>` for every PMSI period, the name itself otherwise."""
    pk = pmsi_table(name)
    return f"T_MCOaa{pk[1]}" if pk else name


def pmsi_periods(names: Iterable[str]) -> dict[str, dict[str, str]]:
    """The PMSI tables among `names` by period: {"19": {"B": "T_MCO19B", "C": "T_MCO19C", ...}, ...}."""
    out: dict[str, dict[str, str]] = {}
    for name in sorted(names):
        pk = pmsi_table(name)
        if pk:
            out.setdefault(pk[0], {})[pk[1]] = name
    return out


def missing_tables(source: str, names: Iterable[str]) -> list[str]:
    """The required tables of `source` absent from `names`: for the SNDS PMSI, B, C and MED of every
    period present (of `T_MCOaa` when no period is)."""
    names = set(names)
    missing = [t for t in REQUIRED[source] if pmsi_table(t) is None and t not in names]
    if source == "snds":
        for period, kinds in (pmsi_periods(names) or {"aa": {}}).items():
            missing += [f"T_MCO{period}{k}" for k in PMSI_REQUIRED if k not in kinds]
            if "FHSTC" in kinds and "CSTC" not in kinds:  # outpatient drug lines need their visits
                missing.append(f"T_MCO{period}CSTC")
    return missing


def table_files(folder: str | Path, source: str, names: Iterable[str], fmt: str) -> list[str]:
    """The files of a real extract's folder (extension `.fmt`) named after a table of `names` (yearly PMSI
    tables too), sorted; plus the expected path `<folder>/<table>.<fmt>` of each required table without a
    file, so that a missing one is reported by name. A missing folder gives the expected paths of the
    required tables. SNDS: every PMSI kind of `PMSI_KINDS` is found, listed in `names` or not."""
    folder, names = Path(folder), list(names)
    if source == "snds":  # every PMSI kind read, whether or not the workflow lists it
        names += [t for t in (f"T_MCOaa{k}" for k in PMSI_KINDS) if t not in names]
    if not folder.is_dir():
        return [f"{folder}/{t}.{fmt}" for t in REQUIRED[source]]
    found = {}
    for p in sorted(folder.iterdir()):
        name = table_name(p.stem, names) if p.suffix.lower() == f".{fmt.lower()}" else None
        if name:
            found[name] = str(p)
    missing = missing_tables(source, found)
    return sorted(found.values()) + [f"{folder}/{t}.{fmt}" for t in missing]


def by_table(paths: Mapping[str, object]) -> dict[str, object]:
    """`paths` (table name -> anything) with the PMSI tables in period order, the others first."""
    return dict(sorted(paths.items(), key=lambda kv: (pmsi_table(kv[0]) is not None, kv[0])))
