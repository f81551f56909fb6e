"""CIP13 codes of the study's ingredients from the public ANSM BDPM files, for a user without IR_PHA_R.

The BDPM (base de donnees publique des medicaments) publishes tab-separated text files without header,
in latin-1, whose columns are fixed by the ANSM's published layout:

- `CIS_CIP_bdpm.txt` (one row per presentation): 1 CIS, 2 CIP7, 3 presentation label, 4 administrative
  status, 5 marketing state, 6 marketing declaration date, 7 CIP13, 8 approval for hospitals,
  9 reimbursement rate, 10-12 prices, 13 reimbursement indications (trailing columns may be absent);
- `CIS_COMPO_bdpm.txt` (one row per substance of a drug): 1 CIS, 2 pharmaceutical element (the form:
  "comprime", "solution injectable"...), 3 substance code, 4 substance name, 5 strength, 6 strength
  reference, 7 nature (SA active substance, FT therapeutic fraction), 8 SA / FT link number.

A CIS is matched to an ingredient by the names of its active components (the therapeutic fraction of a
salt when the file gives it, e.g. ERLOTINIB for CHLORHYDRATE D'ERLOTINIB) read through the synonym table
(`data/drug_labels.csv`); a CIS of several active components only to a combination ingredient of the
reference (amoxicillin and beta-lactamase inhibitor). The BDPM has no ATC code: the ingredient's ATC
(`data/drugs.csv`) decides whether it is in the study's classes. Every CIP13 of the file is a known code.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from lotluca import drugs
from lotluca.drugs import reference
from lotluca.errors import InputError

CIP_FILE, COMPO_FILE = "CIS_CIP_bdpm.txt", "CIS_COMPO_bdpm.txt"
CIP_COLUMNS = ["cis", "cip7", "presentation", "status", "marketing", "declared", "cip13"]
COMPO_COLUMNS = ["cis", "element", "substance_code", "substance", "strength", "strength_ref", "nature", "link"]


def read_file(path: Path, columns: list[str], encoding: str = "latin-1") -> pd.DataFrame:
    """A BDPM file: tab-separated, no header, the first len(columns) fields of each line (text)."""
    if not path.is_file():
        raise InputError(path, "BDPM file not found", expected=f"{CIP_FILE} and {COMPO_FILE} in the --bdpm folder")
    rows = []
    with open(path, encoding=encoding, newline="") as fh:
        for n, line in enumerate(fh, start=1):
            line = line.rstrip("\r\n")
            if not line.strip():
                continue
            fields = [f.strip() for f in line.split("\t")]
            if len(fields) < 4:
                raise InputError(path, f"line {n}: {len(fields)} tab-separated fields", expected="the BDPM layout")
            rows.append((fields + [""] * len(columns))[: len(columns)])
    return pd.DataFrame(rows, columns=columns)


def _ingredient(compo: pd.DataFrame, study: set[str]) -> tuple[str | None, str]:
    """(ingredient, element) of one CIS from its composition rows."""
    active = compo.assign(rank=(compo["nature"] == "FT").astype(int))
    # one name per active component: its therapeutic fraction when given, else the substance
    groups = active.sort_values("rank").groupby(active["link"].where(active["link"] != "", active.index.astype(str)))
    names = [g["substance"].iloc[-1] for _, g in groups]
    element = compo["element"].iloc[0]
    if len(names) == 1:
        ing = reference.label_ingredient(names[0])
        return (ing if ing in study else None), element
    ing = reference.label_ingredient(" ".join(names))
    return (ing if ing in study and " and " in ing else None), element


def reference_rows(folder: str | Path, drug_classes) -> pd.DataFrame:
    """One row per CIP13 of the BDPM (reference.CODE_COLUMNS; ingredient null when not in the study)."""
    folder = Path(folder)
    cip = read_file(folder / CIP_FILE, CIP_COLUMNS)
    compo = read_file(folder / COMPO_FILE, COMPO_COLUMNS)
    d = drugs.drugs().drop_duplicates("ingredient")
    study_atc = d[reference.in_classes(d["atc"], drug_classes).to_numpy()].set_index("ingredient")["atc"]
    study = set(study_atc.index)
    by_cis = {cis: _ingredient(g, study) for cis, g in compo.groupby("cis", sort=False)}
    rows = []
    for r in cip.itertuples(index=False):
        ing, element = by_cis.get(r.cis, (None, ""))
        if reference.code_key(r.cip13) is None:
            continue
        route = reference.route_of(ing, f"{element} {r.presentation}", "CIP13") if ing else None
        atc = study_atc.get(ing) if ing else None
        rows.append(("CIP13", r.cip13, ing, atc, route, r.presentation, "bdpm_substance" if ing else ""))
    return pd.DataFrame(rows, columns=reference.CODE_COLUMNS)
