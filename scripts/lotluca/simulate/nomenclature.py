"""The simulator's own drug codes and the SNDS nomenclatures it writes (IR_PHA_R, NU_UCD_R).

The package ships no drug code: the simulator draws its own, deterministically from the ingredient name
(the same in every shard and for every seed), and writes them in the real nomenclature tables so that
the extraction builds its drug reference from them exactly as from a real extract
(`lotluca.drugs.reference`):

- two CIP13 per dispensed study ingredient (`snds_visibility` "pharmacy"): "34009" + 7 digits + the GS1
  mod-10 check digit; one IR_PHA_R row each (ATC, substance name, brand);
- two UCD per en-sus ingredient ("en_sus"), written like the published NU_UCD_R: a UCD7 ("9" + 5 digits +
  the GS1 check digit) left-padded to 13 characters. The first is also reached through a hospital CIP13
  of IR_PHA_R (PHA_CIP_UCD), the second only through its NU_UCD_R label ("<BRAND> <n> mg/ml"), so both
  paths of the reference are exercised;
- one CIP13 per background drug outside the study's classes (`BACKGROUND`), dispensed as unrelated care:
  the extraction filters them as out of scope.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache

import numpy as np
import pandas as pd
import pyarrow as pa

from lotluca import drugs, snds_schema

# background drugs outside the study's ATC classes: ingredient, ATC-7, substance (PHA_NOM_PA), brand
BACKGROUND = (
    ("paracetamol", "N02BE01", "PARACETAMOL", "DOLIPRANE"),
    ("atorvastatin", "C10AA05", "ATORVASTATINE", "TAHOR"),
    ("metformin", "A10BA02", "METFORMINE", "GLUCOPHAGE"),
    ("amlodipine", "C08CA01", "AMLODIPINE", "AMLOR"),
    ("levothyroxine", "H03AA01", "LEVOTHYROXINE", "LEVOTHYROX"),
    ("furosemide", "C03CA01", "FUROSEMIDE", "LASILIX"),
    ("tramadol", "N02AX02", "TRAMADOL", "TOPALGIC"),
)
COLUMNS = ["code_system", "code", "ingredient", "route", "atc", "substance", "brand", "label"]


def gs1_check_digit(body: str) -> str:
    """GS1 mod-10 check digit of a digit string (weights 3, 1, 3, ... from the right)."""
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    return str((10 - total % 10) % 10)


def gs1_valid(code: str) -> bool:
    """Whether a digit string ends with the GS1 mod-10 check digit of the digits before it."""
    code = str(code)
    return code.isdigit() and len(code) > 1 and gs1_check_digit(code[:-1]) == code[-1]


def _drawn(prefix: str, length: int, seed: str) -> str:
    body_len = length - 1 - len(prefix)
    digits = int(hashlib.sha256(seed.encode()).hexdigest(), 16) % 10**body_len
    body = prefix + str(digits).zfill(body_len)
    return body + gs1_check_digit(body)


@lru_cache(maxsize=1)
def codes() -> pd.DataFrame:
    """Every code the simulator uses (COLUMNS), study ingredients first, in a fixed order."""
    d = drugs.drugs()
    labels = drugs.drug_labels()
    rows = []
    for r in d.itertuples(index=False):
        names = list(labels.loc[(labels["ingredient"] == r.ingredient) & (labels["route"] == r.route), "label"])
        substance, brand = names[0], names[-1]
        if r.snds_visibility == "pharmacy":
            for k in range(2):  # two pack sizes
                code = _drawn("34009", 13, f"{r.ingredient}|{r.route}|cip|{k}")
                rows.append(("CIP13", code, r.ingredient, r.route, r.atc, substance, brand, f"{brand} boite {k + 1}"))
        elif r.snds_visibility == "en_sus":
            for k in range(2):  # two vial strengths
                code = _drawn("9", 7, f"{r.ingredient}|{r.route}|ucd|{k}").zfill(13)
                label = f"{brand} {10 * (k + 1)} mg/ml"
                rows.append(("UCD13", code, r.ingredient, r.route, r.atc, substance, brand, label))
    for ing, atc, substance, brand in BACKGROUND:
        code = _drawn("34009", 13, f"{ing}|oral|cip|0")
        rows.append(("CIP13", code, ing, "oral", atc, substance, brand, f"{brand} boite 1"))
    out = pd.DataFrame(rows, columns=COLUMNS)
    assert not out["code"].duplicated().any(), "simulated drug codes collide"
    return out


def study_codes(system: str) -> pd.DataFrame:
    """The codes of one system (CIP13 | UCD13) of the study's ingredients (code, ingredient, route)."""
    c = codes()
    study = set(drugs.drugs()["ingredient"])
    return c[(c["code_system"] == system) & c["ingredient"].isin(study)]


def background_cips() -> np.ndarray:
    """CIP13 codes (int64) of the background drugs outside the study, in `BACKGROUND` order."""
    c = codes()
    return c.loc[c["ingredient"].isin([b[0] for b in BACKGROUND]), "code"].astype("int64").to_numpy()


def _table(name: str, columns: dict, n: int) -> pa.Table:
    schema = snds_schema.arrow_schema(name)
    arrays = [pa.array(columns[f.name], f.type) if f.name in columns else pa.nulls(n, f.type) for f in schema]
    return pa.Table.from_arrays(arrays, schema=schema)


def ir_pha_r() -> pa.Table:
    """IR_PHA_R of the simulated codes: every CIP13, plus one hospital CIP13 per en-sus ingredient
    carrying its first UCD (PHA_CIP_UCD)."""
    c = codes()
    cip = c[c["code_system"] == "CIP13"]
    first_ucd = c[c["code_system"] == "UCD13"].drop_duplicates("ingredient")
    hosp = first_ucd.assign(code=[_drawn("34009", 13, f"{i}|hospital|cip") for i in first_ucd["ingredient"]])
    rows = pd.concat([cip.assign(ucd=None), hosp.assign(ucd=first_ucd["code"].astype("int64"))], ignore_index=True)
    columns = {
        "PHA_CIP_C13": rows["code"].astype("int64").to_list(),
        "PHA_CIP_UCD": [None if pd.isna(u) else int(u) for u in rows["ucd"]],
        "PHA_ATC_C07": rows["atc"].to_list(),
        "PHA_ATC_C03": rows["atc"].str[:3].to_list(),
        "PHA_NOM_PA": rows["substance"].to_list(),
        "PHA_MED_NOM": rows["brand"].to_list(),
        "PHA_PRD_LIB1": rows["label"].to_list(),
        "PHA_UNT_NBR_DSES": [_units(r.ingredient, r.route) if pd.isna(r.ucd) else None for r in rows.itertuples()],
    }
    return _table("IR_PHA_R", columns, len(rows))


def _units(ingredient: str, route: str) -> str | None:
    """PHA_UNT_NBR_DSES of a simulated pack: days_per_pack x daily_units of the ingredient (so the
    extraction's days of supply are the simulator's), None where drugs.csv has no daily dose."""
    d = drugs.drugs().set_index(["ingredient", "route"])
    if (ingredient, route) not in d.index:
        return None
    row = d.loc[(ingredient, route)]
    if pd.isna(row["days_per_pack"]) or pd.isna(row["daily_units"]):
        return None
    return str(int(row["days_per_pack"]) * int(row["daily_units"]))


def nu_ucd_r() -> pa.Table:
    """NU_UCD_R of the simulated UCD codes: label "<BRAND> <n> mg/ml", form "solution pour perfusion"."""
    u = codes()
    u = u[u["code_system"] == "UCD13"]
    columns = {
        "UCD_UCD_COD": u["code"].astype("int64").to_list(),
        "UCD_DSN_LIB": u["label"].to_list(),
        "UCD_CND_LIB": ["solution pour perfusion en flacon"] * len(u),
    }
    return _table("NU_UCD_R", columns, len(u))


def tables() -> dict[str, pa.Table]:
    """The nomenclature tables every shard writes whole."""
    return {"IR_PHA_R": ir_pha_r(), "NU_UCD_R": nu_ucd_r()}
