"""Map raw drug codes and labels to the drug reference (`lotluca.drugs`): CIP13, UCD and ODH free text.

- Codes (CIP13 in ER_PHA_F, UCD in ER_UCD_F / T_MCOaaMED / T_MCOaaFH) are matched to the code reference
  built from the nomenclatures of the extract (`reference_for`, `lotluca.drugs.reference`), compared as
  digit strings without leading zeros, so a 13-character left-padded UCD ("0000009...") and the same
  code read as a number match. A code of the nomenclatures outside the reference is `out_of_scope`
  (filtered by the caller); a value that is not all digits is `invalid`; an all-digit code missing from
  the nomenclatures is `unknown`. Invalid and unknown codes are quarantined by the caller and counted in
  `unknown_codes`, with the out-of-scope codes of the study's classes that no ingredient matched.
- ODH labels ("CARBOPLATINE 450MG", "Keytruda", "NAVELBINE ORAL 30MG") are upper-cased, stripped of
  accents, and matched to the longest reference LABEL they start with (a word boundary must follow);
  failing that, to the longest LABEL found anywhere as a whole word. "ESSAI CLINIQUE" (and "ESSAI ...")
  is the unnamed clinical-trial drug (`drugs.TRIAL_DRUG`).
Matching runs once per distinct code / label, never per row.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

import numpy as np
import pandas as pd

from lotluca import drugs

TRIAL_LABELS = ("ESSAI CLINIQUE", "ESSAI", "PROTOCOLE ESSAI", "MEDICAMENT ESSAI")
ROUTES = {
    "IV": "iv",
    "PO": "oral",
    "SC": "sc",
    "ORAL": "oral",
    "PER OS": "oral",
    "INTRAVEINEUSE": "iv",
    "SOUS-CUTANEE": "sc",
}


def _normalise_one(v) -> tuple[str | None, bool]:
    if v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NA:
        return None, False
    if isinstance(v, (int, np.integer)) or (isinstance(v, (float, np.floating)) and float(v).is_integer()):
        return str(int(v)), True
    text = str(v).strip()
    if text.isdigit() and text.isascii():
        return (text.lstrip("0") or "0"), True
    return text, False


def normalise_code(codes: pd.Series) -> tuple[pd.Series, pd.Series]:
    """(codes as digit strings without leading zeros, mask of all-digit codes); computed per distinct value."""
    idx, uniq = pd.factorize(codes, use_na_sentinel=True)
    norm = [_normalise_one(v) for v in uniq]
    text = np.array([n[0] for n in norm] + [None], dtype=object)
    digits = np.array([n[1] for n in norm] + [False], dtype=bool)
    return pd.Series(text[idx], index=codes.index, dtype=object), pd.Series(digits[idx], index=codes.index)


# nomenclature tables read for the drug reference: columns, and those a real extract may lack
NOMENCLATURE_COLUMNS = {
    "IR_PHA_R": (
        ["PHA_CIP_C13", "PHA_CIP_UCD", "PHA_ATC_C07", "PHA_NOM_PA", "PHA_MED_NOM", "PHA_UNT_NBR_DSES"],
        ("PHA_CIP_UCD", "PHA_UNT_NBR_DSES"),
    ),
    "NU_UCD_R": (["UCD_UCD_COD", "UCD_DSN_LIB", "UCD_CND_LIB"], ("UCD_CND_LIB",)),
}
NOMENCLATURES = tuple(NOMENCLATURE_COLUMNS)
CODE_KINDS = {"PHA_CIP_C13": "string", "PHA_CIP_UCD": "string", "UCD_UCD_COD": "string"}


def read_nomenclature(path, name: str, read_settings) -> pd.DataFrame:
    """One nomenclature table (IR_PHA_R or NU_UCD_R) with its codes as written (text)."""
    from lotluca import snds_schema
    from lotluca.extract import readers

    columns, optional = NOMENCLATURE_COLUMNS[name]
    optional = tuple(c for c in columns if c in optional or c in ("PHA_NOM_PA", "PHA_MED_NOM"))
    kinds = {c: k for c, k in CODE_KINDS.items() if c in columns}
    raw = readers.read_table(
        path, name, snds_schema.arrow_schema(name), columns, read_settings, optional=optional, kinds=kinds,
        allow_empty=True,
    )  # fmt: skip
    return raw.data


def reference_for(paths, settings, bdpm: pd.DataFrame | None = None):
    """The drug code reference of an extract (`paths`: table name -> file; IR_PHA_R and NU_UCD_R used
    when present), with the BDPM rows given and the overrides file of `settings.drug_overrides`."""
    from lotluca.drugs import reference

    tables = {n: read_nomenclature(paths[n], n, settings.read) for n in NOMENCLATURE_COLUMNS if n in paths}
    overrides = reference.read_overrides(settings.drug_overrides) if settings.drug_overrides else None
    return reference.build_reference(
        settings.drug_classes, tables.get("IR_PHA_R"), tables.get("NU_UCD_R"), bdpm=bdpm, overrides=overrides
    )


def match_codes(codes: pd.Series, system: str, ref) -> pd.DataFrame:
    """Frame aligned on `codes`: ingredient, route (null when unmatched), status (ok | out_of_scope |
    unknown | invalid | missing) and the normalised code; `ref`: a `lotluca.drugs.reference.DrugReference`."""
    norm, digits = normalise_code(codes)
    table = ref.lookup(system)
    uniq = pd.Index(norm.dropna().unique())
    hit = table.reindex(uniq)
    ingredient = norm.map(hit["ingredient"].to_dict())
    route = norm.map(hit["route"].to_dict())
    known = norm.isin(ref.known.get(system, frozenset()))
    status = np.select(
        [norm.isna(), ~digits, ingredient.notna(), known], ["missing", "invalid", "ok", "out_of_scope"], "unknown"
    )
    return pd.DataFrame({"ingredient": ingredient, "route": route, "status": status, "code": norm}, index=codes.index)


def unmatched_keys(ref, system: str) -> frozenset:
    """Normalised codes of the study's classes (or antineoplastic-looking labels) left without ingredient."""
    um = ref.unmatched
    return frozenset(um.loc[um["code_system"] == system, "code"].map(lambda c: _normalise_one(c)[0]))


def normalise_label(label: str) -> str:
    text = unicodedata.normalize("NFKD", str(label)).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"\s+", " ", text.upper()).strip()


@lru_cache(maxsize=1)
def _label_patterns():
    ref = drugs.drug_labels()
    labels = {normalise_label(c): (i, r) for c, i, r in zip(ref["label"], ref["ingredient"], ref["route"], strict=True)}
    for t in TRIAL_LABELS:
        labels[t] = (drugs.TRIAL_DRUG, "iv")
    keys = sorted(labels, key=len, reverse=True)
    alt = "|".join(re.escape(k) for k in keys)
    prefix = re.compile(rf"^(?:{alt})(?![A-Z])")
    anywhere = re.compile(rf"(?<![A-Z])(?:{alt})(?![A-Z])")
    return labels, prefix, anywhere


def match_label(label) -> tuple[str | None, str | None]:
    """(ingredient, route) of one free-text label, (None, None) when it names no known drug."""
    if label is None or (isinstance(label, float) and np.isnan(label)):
        return None, None
    labels, prefix, anywhere = _label_patterns()
    text = normalise_label(label)
    m = prefix.match(text)
    if m is None:
        found = anywhere.findall(text)
        if not found:
            return None, None
        key = max(found, key=len)
    else:
        key = m.group(0)
    return labels[key]


def match_labels(labels: pd.Series) -> pd.DataFrame:
    """Frame aligned on `labels`: ingredient, route (label's default route) and status (ok | unknown | missing)."""
    uniq = labels.dropna().unique()
    table = {u: match_label(u) for u in uniq}
    ingredient = labels.map({k: v[0] for k, v in table.items()})
    route = labels.map({k: v[1] for k, v in table.items()})
    status = np.where(labels.isna(), "missing", np.where(ingredient.isna(), "unknown", "ok"))
    return pd.DataFrame({"ingredient": ingredient, "route": route, "status": status}, index=labels.index)


def normalise_route(raw: pd.Series) -> pd.Series:
    """ODH route text (IV / PO / SC ...) to the canonical iv | oral | sc; null when not recognised."""
    idx, uniq = pd.factorize(raw.astype(object), use_na_sentinel=True)
    table = np.array(
        [ROUTES.get(normalise_label(v)) if isinstance(v, str) else None for v in uniq] + [None], dtype=object
    )
    return pd.Series(table[idx], index=raw.index, dtype=object)


def attributes(ingredient: pd.Series, route: pd.Series) -> pd.DataFrame:
    """atc, drug_class, days_per_pack and daily_units for (ingredient, route) pairs; atc null for the
    trial drug."""
    d = drugs.drugs().set_index(["ingredient", "route"])
    key = pd.MultiIndex.from_arrays([ingredient.astype(object), route.astype(object)])

    def per_pair(column):
        values = d[column].dropna().astype("float64")
        return values.reindex(key).to_numpy() if len(key) else np.array([], dtype="float64")

    return pd.DataFrame(
        {
            "atc": ingredient.map(drugs.ingredient_atc()),
            "drug_class": ingredient.map(drugs.ingredient_class()),
            "days_per_pack": per_pair("days_per_pack"),
            "daily_units": per_pair("daily_units"),
        },
        index=ingredient.index,
    )


def has_oral_form(ingredient: pd.Series) -> pd.Series:
    d = drugs.drugs()
    oral = set(d.loc[d["route"] == "oral", "ingredient"])
    return ingredient.isin(oral)


def unknown_code_counts(frames: list[pd.DataFrame]) -> pd.DataFrame:
    """Concatenate (source_table, code_system, code, status) rows into counts, largest first."""
    cols = ["source_table", "code_system", "code", "status"]
    if not frames:
        return pd.DataFrame(columns=[*cols, "rows"])
    df = pd.concat(frames, ignore_index=True)
    if df.empty:
        return pd.DataFrame(columns=[*cols, "rows"])
    out = df.groupby(cols, dropna=False).size().rename("rows").reset_index()
    return out.sort_values(["rows", "source_table", "code"], ascending=[False, True, True], kind="stable").reset_index(
        drop=True
    )
