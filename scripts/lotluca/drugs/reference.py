"""Build the drug code reference (CIP13 / UCD13 code -> study ingredient) at run time from nomenclatures.

Sources (for a code found in several, precedence BDPM < NU_UCD_R label < IR_PHA_R < overrides):

1. `IR_PHA_R` (SNDS pharmacy referential): a CIP13 (PHA_CIP_C13) is in the study when its ATC code
   (PHA_ATC_C07, old codes renamed by `data/atc_aliases.csv`) starts with one of the study's ATC
   prefixes (`extract.drug_classes`). Its ingredient comes from the ATC code (the ingredient reference,
   `data/drugs.csv`) and the substance name PHA_NOM_PA read through the synonym table
   (`data/drug_labels.csv`): the ATC code decides when the reference knows it, the substance when it
   does not (an ATC version the alias table lacks). Its UCD (PHA_CIP_UCD) gets the same ingredient (`matched_by` "ir_pha_r_ucd").
2. `NU_UCD_R` (UCD nomenclature): a UCD not reached through IR_PHA_R is matched by its label
   UCD_DSN_LIB (brand or generic name to INN; strengths and forms ignored) (`matched_by` "label").
3. The public ANSM BDPM files (`lotluca.drugs.bdpm`), for a user without IR_PHA_R: CIP13 matched by
   the names of their active substances (`matched_by` "bdpm_substance").
4. Overrides (`extract.drug_overrides`): a CSV of extra or corrected rows (`matched_by` "override").

Every code of the nomenclatures is *known*: a known code outside the reference is out of the study's
scope (filtered by the extraction), an unknown one is bad data (rejected). Routes come from the form
words of the label (tablet, capsule -> oral; infusion, injectable -> iv), else from the ingredient's
routes in the reference. Codes are compared as digit strings without leading zeros.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache, lru_cache
from importlib import resources

import numpy as np
import pandas as pd

from lotluca import drugs
from lotluca.errors import InputError

CODE_COLUMNS = ["code_system", "code", "ingredient", "atc", "route", "label", "matched_by"]
SYSTEMS = ("CIP13", "UCD13")
SUMMARY_ROWS = 100  # unmatched codes printed by the summary
ORAL_WORDS = re.compile(r"\b(COMPRIMES?|CPR?|GELULES?|GELU|CAPSULES?|CAPS|BUVABLE|ORALE?|PER OS|SACHETS?)\b")
SC_WORDS = re.compile(r"\b(SOUS[- ]CUTANEE?S?|SC)\b")
IV_WORDS = re.compile(r"\b(PERFUSION|PERF|INJECTABLE|INJ|FLACON|FL|INTRAVEINEUSE|IV|POUDRE|SOLUTION A DILUER)\b")
ANTINEOPLASTIC_WORDS = re.compile(r"(MAB|TINIB|PLATIN|TAXEL|TECAN|RUBICIN|FOSFAMIDE|RELBINE|REXED|CITABINE)\b")


def code_key(code) -> str | None:
    """A code as a digit string without leading zeros; None when empty or not all digits."""
    if code is None or (isinstance(code, float) and np.isnan(code)) or code is pd.NA:
        return None
    if isinstance(code, (int, np.integer)) or (isinstance(code, (float, np.floating)) and float(code).is_integer()):
        return str(int(code))
    text = str(code).strip()
    return (text.lstrip("0") or "0") if text.isdigit() and text.isascii() else None


@dataclass(frozen=True)
class DrugReference:
    """The study's code reference (`codes`: one row per code, CODE_COLUMNS), every code of the
    nomenclatures (`known`: code system -> code keys) and the codes of the study's classes, or whose
    label looks antineoplastic, left without an ingredient (`unmatched`)."""

    codes: pd.DataFrame
    known: Mapping[str, frozenset]
    unmatched: pd.DataFrame
    units_per_pack: Mapping[str, float] = field(default_factory=dict)  # CIP13 code key -> dosage units

    def lookup(self, system: str) -> pd.DataFrame:
        """Index code key -> ingredient, route of one code system."""
        ref = self.codes[self.codes["code_system"] == system]
        keys = ref["code"].map(code_key)
        return ref.assign(key=keys).dropna(subset=["key"]).drop_duplicates("key", keep="last").set_index("key")

    def summary(self) -> str:
        """Codes per ingredient and the unmatched antineoplastic-looking labels, as printable text."""
        lines = [f"{len(self.codes)} codes of {self.codes['ingredient'].nunique()} ingredients"]
        counts = self.codes.groupby(["ingredient", "code_system"]).size().unstack(fill_value=0)
        for ing, row in counts.iterrows():
            lines.append(f"  {ing}: " + ", ".join(f"{int(row[s])} {s}" for s in counts.columns if row[s]))
        um = self.unmatched
        lines.append(f"{len(um)} codes of the study's classes or antineoplastic-looking labels left unmatched")
        for r in um.head(SUMMARY_ROWS).itertuples(index=False):
            lines.append(f"  {r.code_system} {r.code} {r.atc or ''} {r.label}")
        if len(um) > SUMMARY_ROWS:
            lines.append(f"  ... and {len(um) - SUMMARY_ROWS} more")
        return "\n".join(lines)


@lru_cache(maxsize=1)
def atc_aliases() -> dict[str, str]:
    """Old ATC code -> ATC code of the ingredient reference (`data/atc_aliases.csv`)."""
    with resources.files("lotluca.data").joinpath("atc_aliases.csv").open(encoding="utf-8") as fh:
        df = pd.read_csv(fh, dtype=str)
    return dict(zip(df["old_atc"], df["atc"], strict=True))


def _norm(text) -> str:
    from lotluca.extract.drug_matching import normalise_label

    return normalise_label(text) if isinstance(text, str) else ""


def label_ingredient(label) -> str | None:
    """Ingredient named by a product or substance label (synonym table, strengths and forms ignored)."""
    if not isinstance(label, str) or not label.strip():
        return None
    return _label_ingredient(label)


@lru_cache(maxsize=65536)
def _label_ingredient(label: str) -> str | None:
    from lotluca.extract.drug_matching import match_label

    ing, _ = match_label(label)
    return None if ing == drugs.TRIAL_DRUG else ing


@cache
def _routes(ingredient: str) -> tuple[str, ...]:
    d = drugs.drugs()
    return tuple(d.loc[d["ingredient"] == ingredient, "route"])


def route_of(ingredient: str, form_text: str, system: str) -> str:
    """Route of a presentation: the form words of its label when the ingredient has that route in the
    reference; else the ingredient's only route; else oral for a CIP13 and iv for a UCD when it has one."""
    routes = _routes(ingredient)
    text = _norm(form_text)
    for route, words in (("oral", ORAL_WORDS), ("sc", SC_WORDS), ("iv", IV_WORDS)):
        if words.search(text) and route in routes:
            return route
    if len(routes) == 1:
        return routes[0]
    preferred = "oral" if system == "CIP13" else "iv"
    return preferred if preferred in routes else (routes[0] if routes else preferred)


def in_classes(atc: pd.Series, drug_classes: Mapping[str, Sequence[str]]) -> pd.Series:
    """Whether each ATC code starts with one of the study's ATC prefixes."""
    prefixes = tuple(p for v in drug_classes.values() for p in v)
    return atc.fillna("").astype(str).str.strip().str.upper().map(lambda a: bool(a) and a.startswith(prefixes))


def _study_ingredients(drug_classes) -> pd.DataFrame:
    d = drugs.drugs().drop_duplicates("ingredient")
    return d[in_classes(d["atc"], drug_classes).to_numpy()]


def _atc_of(study: pd.DataFrame) -> dict[str, str]:
    return dict(zip(study["ingredient"], study["atc"], strict=True))


def _ingredient(atc: str, names: Sequence, study: pd.DataFrame) -> tuple[str | None, str]:
    """(ingredient, matched_by) from an ATC code and [substance, product] names: the ATC code decides
    when the reference knows it (the names choose among the ingredients sharing it); the names decide
    when it does not (an ATC version the alias table lacks)."""
    by_atc = list(study.loc[study["atc"] == atc, "ingredient"])
    found = [label_ingredient(n) for n in names]
    named = next((i for i in found if i is not None), None)
    if len(by_atc) == 1:
        return by_atc[0], "atc+substance" if named == by_atc[0] else "atc"
    if by_atc:  # several ingredients share the ATC code: the product name, more specific, first
        pick = next((i for i in reversed(found) if i in by_atc), None)
        return (pick, "atc+substance") if pick else (None, "")
    if named is not None and named in set(study["ingredient"]):
        return named, "substance"
    return None, ""


def _empty() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=object) for c in CODE_COLUMNS})


def from_ir_pha_r(ir_pha: pd.DataFrame, drug_classes) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(CIP13 and UCD13 reference rows, in-class rows left unmatched) from IR_PHA_R."""
    study = _study_ingredients(drug_classes)
    atc_of = _atc_of(study)
    col = lambda c: ir_pha[c] if c in ir_pha else pd.Series([None] * len(ir_pha), index=ir_pha.index)  # noqa: E731
    atc = col("PHA_ATC_C07").fillna("").astype(str).str.strip().str.upper()
    atc = atc.map(lambda a: atc_aliases().get(a, a))
    keep = in_classes(atc, drug_classes).to_numpy()
    rows, unmatched = [], []
    sub = pd.DataFrame(
        {
            "cip": col("PHA_CIP_C13"),
            "ucd": col("PHA_CIP_UCD"),
            "atc": atc,
            "nom": col("PHA_NOM_PA"),
            "med": col("PHA_MED_NOM"),
        }
    )[keep]
    cache: dict = {}
    for r in sub.itertuples(index=False):
        label = " ".join(str(x) for x in (r.med, r.nom) if isinstance(x, str) and x.strip())
        k = (r.atc, r.nom, r.med)
        if k not in cache:
            cache[k] = _ingredient(r.atc, [r.nom, r.med], study)
        ing, how = cache[k]
        if ing is None:
            unmatched.append(("CIP13", _as_written(r.cip), r.atc, label))
            continue
        atc7 = atc_of[ing]
        if code_key(r.cip) is not None:
            rows.append(("CIP13", _as_written(r.cip), ing, atc7, route_of(ing, label, "CIP13"), label, how))
        if code_key(r.ucd) is not None:
            rows.append(("UCD13", _as_written(r.ucd), ing, atc7, route_of(ing, label, "UCD13"), label, "ir_pha_r_ucd"))
    return _frame(rows), pd.DataFrame(unmatched, columns=["code_system", "code", "atc", "label"])


def _as_written(code) -> str:
    if isinstance(code, (float, np.floating)) and float(code).is_integer():
        return str(int(code))
    return "" if code is None or code is pd.NA else str(code).strip()


def _frame(rows) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=CODE_COLUMNS) if rows else _empty()


def from_nu_ucd_r(nu_ucd: pd.DataFrame, drug_classes) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(UCD13 reference rows matched by label, antineoplastic-looking labels left unmatched) from NU_UCD_R."""
    atc_of = _atc_of(_study_ingredients(drug_classes))
    form = nu_ucd["UCD_CND_LIB"] if "UCD_CND_LIB" in nu_ucd else pd.Series([""] * len(nu_ucd), index=nu_ucd.index)
    rows, unmatched = [], []
    for code, label, cnd in zip(nu_ucd["UCD_UCD_COD"], nu_ucd["UCD_DSN_LIB"], form, strict=True):
        if code_key(code) is None:
            continue
        ing = label_ingredient(label)
        if ing is None or ing not in atc_of:
            if isinstance(label, str) and ANTINEOPLASTIC_WORDS.search(_norm(label)):
                unmatched.append(("UCD13", _as_written(code), None, label))
            continue
        text = f"{label} {cnd if isinstance(cnd, str) else ''}"
        rows.append(("UCD13", _as_written(code), ing, atc_of[ing], route_of(ing, text, "UCD13"), label, "label"))
    return _frame(rows), pd.DataFrame(unmatched, columns=["code_system", "code", "atc", "label"])


def read_overrides(path: str) -> pd.DataFrame:
    """The overrides CSV (`extract.drug_overrides`): code_system (CIP13 | UCD13), code, ingredient, and
    optionally route, atc, label. Every ingredient must be in the ingredient reference."""
    try:
        df = pd.read_csv(path, dtype=str, keep_default_na=False)
    except FileNotFoundError as exc:
        raise InputError(path, "drug overrides file not found (extract.drug_overrides)") from exc
    missing = [c for c in ("code_system", "code", "ingredient") if c not in df.columns]
    if missing:
        raise InputError(path, f"drug overrides: missing columns {missing}", expected="code_system, code, ingredient")
    known = set(drugs.drugs()["ingredient"])
    for column, ok in (("code_system", df["code_system"].isin(SYSTEMS)), ("ingredient", df["ingredient"].isin(known))):
        if not ok.all():
            raise InputError(
                path,
                f"drug overrides: unknown {column} {df.loc[~ok, column].iloc[0]!r}",
                column=column,
                rows=(np.flatnonzero(~ok.to_numpy()) + 1).tolist(),
                expected=f"one of {sorted(SYSTEMS) if column == 'code_system' else 'the ingredients of drugs.csv'}",
            )
    bad = df["code"].map(code_key).isna()
    if bad.any():
        raise InputError(
            path, "drug overrides: a code is not digits", column="code", rows=(np.flatnonzero(bad) + 1).tolist()
        )
    atc = dict(zip(drugs.drugs()["ingredient"], drugs.drugs()["atc"], strict=False))
    label = df["label"] if "label" in df else pd.Series([""] * len(df), index=df.index)
    route = df["route"] if "route" in df else pd.Series([""] * len(df), index=df.index)
    out = pd.DataFrame(
        {
            "code_system": df["code_system"],
            "code": df["code"].str.strip(),
            "ingredient": df["ingredient"],
            "atc": df["ingredient"].map(atc),
            "route": [
                r or route_of(i, lab, s)
                for r, i, lab, s in zip(route, df["ingredient"], label, df["code_system"], strict=True)
            ],
            "label": label,
            "matched_by": "override",
        }
    )
    return out[CODE_COLUMNS]


UNITS = re.compile(r"^\s*(\d+(?:[.,]\d+)?)(?:\s|/|$)")


def units_per_pack(text) -> float | None:
    """Dosage units of one presentation from IR_PHA_R.PHA_UNT_NBR_DSES: "30", "30 DOSES", "3 / 2 ML" (3
    units of 2 ml) -> the leading number; None when empty, zero, or a mix ("3 PILULES + 5 SACHETS")."""
    if text is None or text is pd.NA or (isinstance(text, float) and np.isnan(text)) or "+" in str(text):
        return None
    m = UNITS.match(str(text))
    value = float(m.group(1).replace(",", ".")) if m else 0.0
    return value if value > 0 else None


def _units_of(ir_pha: pd.DataFrame | None) -> dict[str, float]:
    """CIP13 code key -> units per pack, from IR_PHA_R (when it holds PHA_UNT_NBR_DSES)."""
    if ir_pha is None or "PHA_UNT_NBR_DSES" not in ir_pha:
        return {}
    out = {}
    for cip, text in zip(ir_pha["PHA_CIP_C13"], ir_pha["PHA_UNT_NBR_DSES"], strict=True):
        key, units = code_key(cip), units_per_pack(text)
        if key is not None and units is not None:
            out[key] = units
    return out


def _codes_of(df: pd.DataFrame | None, column: str) -> set:
    if df is None or column not in df:
        return set()
    return {k for k in map(code_key, df[column].dropna().unique()) if k is not None}


def build_reference(
    drug_classes: Mapping[str, Sequence[str]],
    ir_pha: pd.DataFrame | None = None,
    nu_ucd: pd.DataFrame | None = None,
    bdpm: pd.DataFrame | None = None,
    overrides: pd.DataFrame | None = None,
) -> DrugReference:
    """The study's code reference from the nomenclatures given (any may be None); `bdpm`: the rows of
    `lotluca.drugs.bdpm.reference_rows` (every CIP13 of the BDPM, ingredient null outside the study); `overrides`: the rows of `read_overrides`. A code found in
    several sources keeps the row of the last of BDPM, NU_UCD_R labels, IR_PHA_R, overrides."""
    parts, unmatched = [], []
    if bdpm is not None:  # its unmatched rows (no ingredient) are known codes only
        parts.append(bdpm.loc[bdpm["ingredient"].notna(), CODE_COLUMNS])
    if nu_ucd is not None:
        rows, um = from_nu_ucd_r(nu_ucd, drug_classes)
        parts.append(rows)
        unmatched.append(um)
    if ir_pha is not None:
        rows, um = from_ir_pha_r(ir_pha, drug_classes)
        parts.append(rows)
        unmatched.append(um)
    if overrides is not None:
        parts.append(overrides[CODE_COLUMNS])
    codes = pd.concat([p for p in parts if len(p)] or [_empty()], ignore_index=True)
    # precedence, a later row wins: BDPM < NU_UCD_R labels < IR_PHA_R < overrides
    codes["key"] = codes["code"].map(code_key)
    codes = codes.drop_duplicates(["code_system", "key"], keep="last")
    study = set(zip(codes["code_system"], codes["key"], strict=True))
    codes = codes.sort_values(["code_system", "ingredient", "key"], kind="stable").drop(columns="key")
    known = {
        "CIP13": frozenset(_codes_of(ir_pha, "PHA_CIP_C13") | _codes_of(bdpm, "code")),
        "UCD13": frozenset(_codes_of(ir_pha, "PHA_CIP_UCD") | _codes_of(nu_ucd, "UCD_UCD_COD")),
    }
    known = {s: k | {c for sys_, c in study if sys_ == s} for s, k in known.items()}
    um = pd.concat([u for u in unmatched if len(u)] or [pd.DataFrame(columns=["code_system", "code", "atc", "label"])])
    um = um[~um["code"].map(code_key).isin(codes["code"].map(code_key))]
    return DrugReference(
        codes=codes.reset_index(drop=True),
        known=known,
        unmatched=um.reset_index(drop=True),
        units_per_pack=_units_of(ir_pha),
    )
