"""The `lotluca drugs` sub-command: build and inspect the drug code reference outside the workflow.

    lotluca drugs reference --snds DIR [--bdpm DIR] [--config config.yaml] --out reference.csv

Reads IR_PHA_R and NU_UCD_R from the SNDS extract folder (when present) and the public BDPM files
(CIS_CIP_bdpm.txt, CIS_COMPO_bdpm.txt) of --bdpm, applies `extract.drug_classes` and
`extract.drug_overrides` of the config, and writes one row per code (code_system, code as written in the
source table, ingredient, atc, route, label, matched_by), the same reference the extraction builds
(`lotluca.extract.drug_matching.reference_for`). Prints the codes per ingredient and the codes of the
study's classes, or with antineoplastic-looking labels, left unmatched. The file can be given back as
`extract.drug_overrides` (e.g. a BDPM-based reference for an extract without IR_PHA_R).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from lotluca.config import load_config
from lotluca.drugs import bdpm
from lotluca.extract import drug_matching as dm
from lotluca.extract import pipeline
from lotluca.extract.common import ExtractSettings


def register(subparsers) -> None:
    p = subparsers.add_parser("drugs", help="the drug code reference", description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="drugs_command", required=True)
    r = sub.add_parser("reference", help="build the drug code reference from the nomenclatures of an extract")
    r.add_argument("--snds", type=Path, help="SNDS extract folder (IR_PHA_R and NU_UCD_R are read from it)")
    r.add_argument("--bdpm", type=Path, help="folder of the ANSM BDPM files CIS_CIP_bdpm.txt and CIS_COMPO_bdpm.txt")
    r.add_argument("--config", type=Path, default=None, help="config.yaml whose extract: block applies")
    r.add_argument("--out", type=Path, required=True, help="CSV written: one row per code")
    r.set_defaults(func=run_reference)


def run_reference(args: argparse.Namespace) -> int:
    if args.snds is None and args.bdpm is None:
        raise SystemExit("lotluca drugs reference: give --snds DIR and/or --bdpm DIR")
    config = load_config(args.config)
    settings = ExtractSettings.for_study(config["study"], config["extract"])
    paths = pipeline.find_tables(args.snds, dm.NOMENCLATURES) if args.snds is not None else {}
    rows = bdpm.reference_rows(args.bdpm, settings.drug_classes) if args.bdpm is not None else None
    ref = dm.reference_for(paths, settings, bdpm=rows)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    ref.codes.to_csv(args.out, index=False, lineterminator="\n")
    read = ", ".join(sorted(paths)) or "no SNDS nomenclature"
    print(f"drug reference from {read}{' and the BDPM' if rows is not None else ''} -> {args.out}\n{ref.summary()}")
    return 0
