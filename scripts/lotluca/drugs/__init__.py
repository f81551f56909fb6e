"""The shipped ingredient reference (`data/drugs.csv`, `data/drug_labels.csv`) and regimen naming.

drugs.csv: one row per (ingredient, route): ATC-7 (WHO ATC index 2026), drug_class, SNDS visibility
("pharmacy": DCIR CIP13; "en_sus": UCD in PMSI / ER_UCD_F; "session": only a 28Z07Z chemotherapy
session, no drug name), days_per_pack for dispensed drugs (days of one box, the fallback) and
daily_units (dosage units taken a day at the labelled dose: a pack's days = its units / daily_units).
drug_labels.csv: the synonym table, upper-case French INN and brand names -> ingredient (INN) and
default route: read in ODH free text and in the labels of the SNDS nomenclatures.
The package holds no CIP13 / UCD code: the code reference is built at run time from the nomenclatures
of the extract (`lotluca.drugs.reference`).
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources

import pandas as pd

TRIAL_DRUG = "trial_drug"
ANTINEOPLASTIC_CLASSES = frozenset(
    {
        "platinum", "antimetabolite", "taxane", "vinca", "topoisomerase_inhibitor", "anti_vegf",
        "antiangiogenic_tki", "pd1_pdl1", "ctla4", "egfr_antibody", "egfr_tki", "alk_tki",
        "other_targeted", "antibody_drug_conjugate", "trial",
    }
)  # fmt: skip
CHEMO_CLASSES = frozenset({"platinum", "antimetabolite", "taxane", "vinca", "topoisomerase_inhibitor"})


@lru_cache(maxsize=1)
def drugs() -> pd.DataFrame:
    """drugs.csv as a DataFrame (ingredient, atc, drug_class, route, snds_visibility, days_per_pack,
    daily_units)."""
    with resources.files("lotluca.data").joinpath("drugs.csv").open(encoding="utf-8") as fh:
        return pd.read_csv(fh, dtype={"days_per_pack": "Int64", "daily_units": "Int64"})


@lru_cache(maxsize=1)
def drug_labels() -> pd.DataFrame:
    """drug_labels.csv as a DataFrame (label, ingredient, route): INN and brand names, upper case."""
    with resources.files("lotluca.data").joinpath("drug_labels.csv").open(encoding="utf-8") as fh:
        return pd.read_csv(fh, dtype=str)


@lru_cache(maxsize=1)
def ingredient_class() -> dict[str, str]:
    """ingredient -> drug_class (the trial drug included)."""
    d = dict(zip(drugs()["ingredient"], drugs()["drug_class"], strict=True))
    d[TRIAL_DRUG] = "trial"
    return d


@lru_cache(maxsize=1)
def ingredient_atc() -> dict[str, str]:
    return dict(zip(drugs()["ingredient"], drugs()["atc"], strict=True))


def regimen_name(ingredients) -> str:
    """Regimen name: the distinct ingredients, sorted, joined by "+"."""
    return "+".join(sorted(set(ingredients)))


def regimen_class(ingredients) -> str:
    """Regimen class of a set of ingredients. Vocabulary (first match wins):

    trial (any unnamed trial drug) | egfr_tki | alk_tki | other_targeted (any other targeted agent,
    amivantamab and ADCs included) | chemo_io_ctla4 | io_ctla4 | chemo_io | io_mono |
    chemo_antiangiogenic (chemotherapy + bevacizumab/ramucirumab/nintedanib) | chemo_doublet (two or
    more cytotoxics) | single_agent_chemo | antiangiogenic_mono | other.
    """
    classes = {ingredient_class().get(i, "unknown") for i in ingredients}
    chemo = [i for i in set(ingredients) if ingredient_class().get(i) in CHEMO_CLASSES]
    io = "pd1_pdl1" in classes
    ctla4 = "ctla4" in classes
    antiangio = bool(classes & {"anti_vegf", "antiangiogenic_tki"})
    if "trial" in classes:
        return "trial"
    if "egfr_tki" in classes:
        return "egfr_tki"
    if "alk_tki" in classes:
        return "alk_tki"
    if classes & {"other_targeted", "egfr_antibody", "antibody_drug_conjugate"}:
        return "other_targeted"
    if (io or ctla4) and chemo:
        return "chemo_io_ctla4" if ctla4 else "chemo_io"
    if io and ctla4:
        return "io_ctla4"
    if io or ctla4:
        return "io_mono"
    if chemo and antiangio:
        return "chemo_antiangiogenic"
    if len(chemo) >= 2:
        return "chemo_doublet"
    if chemo:
        return "single_agent_chemo"
    if antiangio:
        return "antiangiogenic_mono"
    return "other"
