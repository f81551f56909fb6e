"""ODH (OncoDataHub) extraction: cancer-centre warehouse tables to canonical persons, exposures, stays and an
empty chemo_sessions table (the warehouse has no day-session records; both sources write the same outputs).

The rules (persons from odh_patients, exposures from administrations and prescriptions, stays, the
named quarantine rules) are specified in docs/extract.md ("Cleaning rules"); the tables read and
written: docs/contracts.md. origin = "<table>:<id>"; duplicate ids are structural errors.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from dataclasses import dataclass

import numpy as np
import pandas as pd

from lotluca import contracts
from lotluca.errors import InputError
from lotluca.extract import drug_matching as dm
from lotluca.extract import tables
from lotluca.extract.accounting import Ledger, Tracker
from lotluca.extract.common import (
    ExtractSettings,
    check_unique,
    exposure_frame,
    finess,
    outside_period,
    read_tracked,
    to_table,
)

log = logging.getLogger(__name__)

REQUIRED_TABLES = tables.REQUIRED["odh"]
OPTIONAL_TABLES = ("odh_stays", "odh_prescriptions")
NONEMPTY = ("odh_patients", "odh_administrations")
COLUMNS = {
    "odh_patients": [
        "odh_patient_id", "centre_finess", "sex", "birth_date", "postcode", "diagnosis_date", "histology",
        "egfr_status", "alk_status", "pdl1_tps", "death_date", "last_contact_date", "ecog",
    ],
    "odh_administrations": [
        "administration_id", "odh_patient_id", "stay_id", "administration_date", "drug_label", "route", "protocol_label", "cycle_label",
    ],
    "odh_stays": ["stay_id", "odh_patient_id", "centre_finess", "admission_date", "discharge_date", "main_diagnosis"],
    "odh_prescriptions": ["prescription_id", "odh_patient_id", "prescription_date", "drug_label", "duration_days"],
}  # fmt: skip
OPTIONAL = {
    "odh_patients": (
        "postcode",
        "egfr_status",
        "alk_status",
        "pdl1_tps",
        "death_date",
        "last_contact_date",
        "histology",
        "ecog",
    ),
    "odh_administrations": ("stay_id", "route", "protocol_label", "cycle_label"),
    "odh_stays": ("main_diagnosis", "discharge_date"),
}
IDS = {
    "odh_patients": "odh_patient_id",
    "odh_administrations": "administration_id",
    "odh_stays": "stay_id",
    "odh_prescriptions": "prescription_id",
}


@dataclass
class OdhResult:
    persons: object
    exposures: object
    chemo_sessions: object
    stays: object
    rejects: object
    accounting: pd.DataFrame
    unknown_codes: pd.DataFrame


def _plain(v) -> str:
    return unicodedata.normalize("NFKD", str(v)).encode("ascii", "ignore").decode("ascii").lower()


def histology_class(text) -> str:
    """non_squamous | squamous | nos from the centre's free text (French or English)."""
    if text is None or (isinstance(text, float) and np.isnan(text)):
        return "nos"
    t = _plain(text)
    if re.search(r"non[\s-]*(epidermo|squam|malpigh)", t) or re.search(
        r"adeno|grandes? cellules|large cell|lepidique|mucineu", t
    ):
        return "non_squamous"
    if re.search(r"epidermo|squam|malpigh", t):
        return "squamous"
    return "nos"


def biomarker_class(text) -> str:
    """mutated | wild_type | unknown from "muté" / "non muté" / "réarrangé" / "non réarrangé" ... (null: not tested)."""
    if text is None or (isinstance(text, float) and np.isnan(text)):
        return "unknown"
    t = _plain(text).strip()
    if re.search(r"\b(non|pas|absence|negati|sauvage|wild|wt)\b", t) or t.startswith("non"):
        return "wild_type"
    if re.search(r"mute|mutation|rearrang|positi|translocation|fusion|amplifi", t):
        return "mutated"
    return "unknown"


def pdl1_class(tps: pd.Series) -> pd.Series:
    out = pd.Series("unknown", index=tps.index, dtype=object)
    valid = tps.notna() & (tps >= 0) & (tps <= 100)
    out[valid & (tps < 1)] = "<1%"
    out[valid & (tps >= 1) & (tps < 50)] = "1-49%"
    out[valid & (tps >= 50)] = ">=50%"
    return out


def departement(postcode: pd.Series) -> pd.Series:
    t = (
        postcode.astype(object)
        .where(postcode.notna(), "")
        .astype(str)
        .str.strip()
        .str.zfill(5)
        .where(postcode.notna(), "")
    )
    dpt = t.str.slice(0, 2)
    overseas = dpt.isin(["97", "98"])
    dpt = dpt.where(~overseas, t.str.slice(0, 3))
    corsica = dpt == "20"
    num = pd.to_numeric(t.str.slice(0, 3), errors="coerce")
    dpt = dpt.where(~corsica, np.where(num <= 201, "2A", "2B"))
    valid = t.str.fullmatch(r"\d{5}|2[AB]\d{3}")
    return dpt.where(valid & (t != ""), None)


def cycle_number(labels: pd.Series) -> pd.Series:
    num = (
        labels.astype(object)
        .where(labels.notna(), "")
        .astype(str)
        .str.extract(r"(?i)^\s*(?:C(?:YCLE)?\s*)?(\d{1,3})\s*$")[0]
    )
    return pd.to_numeric(num, errors="coerce").astype("Int64")


def _read(paths, name, ledger, settings, row_numbers: dict | None = None) -> tuple[pd.DataFrame, Tracker]:
    df, t = read_tracked(
        paths[name],
        name,
        contracts.ODH_TABLES[name],
        COLUMNS[name],
        ledger,
        settings,
        (row_numbers or {}).get(name),
        optional=OPTIONAL.get(name, ()),
        allow_empty=name not in NONEMPTY,
    )
    noid = df[IDS[name]].isna()
    t.reject(df.loc[noid, "_row"].to_numpy(), "missing_identifier", f"{IDS[name]} is empty")
    df = df[~noid].reset_index(drop=True)
    check_unique(df, [IDS[name]], paths[name], name)
    return df, t


def _drug_rows(df, tracker, table, date_col, patients, settings, unknown) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Common checks of administrations / prescriptions; returns the kept rows and their label match."""
    known = df["odh_patient_id"].isin(patients.index)
    tracker.reject(df.loc[~known, "_row"].to_numpy(), "unknown_patient", "odh_patient_id not in odh_patients")
    df = df[known]
    nodate = df[date_col].isna()
    tracker.reject(df.loc[nodate, "_row"].to_numpy(), "missing_date", f"{date_col} is empty")
    df = df[~nodate]
    late = outside_period(df[date_col], settings)
    tracker.reject(
        df.loc[late, "_row"].to_numpy(), "date_out_of_study_period", f"{date_col}=" + df.loc[late, date_col].astype(str)
    )
    df = df[~late]
    match = dm.match_labels(df["drug_label"])
    bad = match["status"] != "ok"
    if bad.any():
        tracker.reject(
            df.loc[bad, "_row"].to_numpy(),
            (match.loc[bad, "status"] + "_drug_label").to_numpy(),
            ("drug_label=" + df.loc[bad, "drug_label"].astype(str)).to_numpy(),
        )
        unknown.append(
            pd.DataFrame(
                {
                    "source_table": table,
                    "code_system": "drug_label",
                    "code": df.loc[bad, "drug_label"].astype(str).to_numpy(),
                    "status": match.loc[bad, "status"].to_numpy(),
                }
            )
        )
    df, match = df[~bad].reset_index(drop=True), match[~bad].reset_index(drop=True)
    tracker.use(df["_row"].to_numpy())
    return df, match


def _persons(pat: pd.DataFrame, settings: ExtractSettings) -> pd.DataFrame:
    """Canonical person rows of the odh_patients rows."""
    death = pat["death_date"]
    return pd.DataFrame(
        {
            "person_id": pat["odh_patient_id"],
            "sex": pat["sex"].astype(object).where(pat["sex"].isin(["M", "F"]), None),
            "birth_year": pat["birth_date"].dt.year.astype("Int64"),
            "birth_month": pat["birth_date"].dt.month.astype("Int64"),
            "residence_dpt": departement(pat["postcode"]),
            "death_date": death,
            "diagnosis_date": pat["diagnosis_date"],
            "histology": pat["histology"].map(histology_class).fillna("nos"),
            "egfr": pat["egfr_status"].map(biomarker_class).fillna("unknown"),
            "alk": pat["alk_status"].map(biomarker_class).fillna("unknown"),
            "pdl1": pdl1_class(pat["pdl1_tps"]),
            "centre": finess(pat["centre_finess"]),
            "end_of_followup": death.where(death.notna() & (death < settings.study_end), settings.study_end),
            # last time the centre saw the patient (censoring at last contact, docs/effectiveness.md)
            "last_seen_date": pat["last_contact_date"].clip(upper=settings.study_end),
            "ecog": pd.to_numeric(pat["ecog"], errors="coerce").where(lambda e: e.between(0, 4)).astype("Int16")
            if "ecog" in pat
            else pd.Series(pd.NA, index=pat.index, dtype="Int16"),
        }
    )


def _exposures(paths, by_id, ledger, settings, row_numbers, unknown) -> list[pd.DataFrame]:
    """Exposure rows of odh_administrations and (when present) odh_prescriptions."""
    exposures = []
    adm, adm_t = _read(paths, "odh_administrations", ledger, settings, row_numbers)
    adm, match = _drug_rows(adm, adm_t, "odh_administrations", "administration_date", by_id, settings, unknown)
    exposures.append(
        exposure_frame(
            adm["odh_patient_id"],
            adm["administration_date"],
            adm["administration_date"],
            match["ingredient"],
            dm.normalise_route(adm["route"]).fillna(match["route"]),
            "odh_admin",
            "odh_administrations:" + adm["administration_id"].astype(str),
            hospital=adm["odh_patient_id"].map(by_id["centre"]),
            protocol=adm["protocol_label"],
            cycle=cycle_number(adm["cycle_label"]),
        )
    )
    if "odh_prescriptions" in paths:
        pre, pre_t = _read(paths, "odh_prescriptions", ledger, settings, row_numbers)
        pre, match = _drug_rows(pre, pre_t, "odh_prescriptions", "prescription_date", by_id, settings, unknown)
        route = match["route"].where(~dm.has_oral_form(match["ingredient"]), "oral")
        days = pre["duration_days"].astype("float64").fillna(1).clip(lower=1)
        end = pre["prescription_date"] + pd.to_timedelta(days - 1, unit="D")
        exposures.append(
            exposure_frame(
                pre["odh_patient_id"],
                pre["prescription_date"],
                end,
                match["ingredient"],
                route,
                "odh_prescription",
                "odh_prescriptions:" + pre["prescription_id"].astype(str),
                hospital=pre["odh_patient_id"].map(by_id["centre"]),
            )
        )
    return exposures


def _stays(paths, by_id, ledger, settings, row_numbers) -> pd.DataFrame:
    """Canonical stay rows of odh_stays (empty when the extract has none)."""
    stays = pd.DataFrame(columns=contracts.STAYS.names)
    if "odh_stays" in paths:
        st, st_t = _read(paths, "odh_stays", ledger, settings, row_numbers)
        known = st["odh_patient_id"].isin(by_id.index)
        st_t.reject(st.loc[~known, "_row"].to_numpy(), "unknown_patient", "odh_patient_id not in odh_patients")
        st = st[known]
        nodate = st["admission_date"].isna()
        st_t.reject(st.loc[nodate, "_row"].to_numpy(), "missing_date", "admission_date is empty")
        st = st[~nodate]
        late = outside_period(st["admission_date"], settings)
        st_t.reject(
            st.loc[late, "_row"].to_numpy(),
            "date_out_of_study_period",
            "admission_date=" + st.loc[late, "admission_date"].astype(str),
        )
        st = st[~late]
        st_t.use(st["_row"].to_numpy())
        stays = pd.DataFrame(
            {
                "person_id": st["odh_patient_id"],
                "hospital": finess(st["centre_finess"]),
                "admission_date": st["admission_date"],
                "discharge_date": st["discharge_date"].fillna(st["admission_date"]),
                "ghm": None,
                "main_diagnosis": st["main_diagnosis"],
                "origin": "odh_stays:" + st["stay_id"].astype(str),
            }
        )
    return stays


def extract_odh(paths: dict, settings: ExtractSettings, row_numbers: dict | None = None) -> OdhResult:
    """Extract canonical tables from ODH table files (`paths`: ODH table name -> file path).

    `row_numbers` (table name -> row-number file): the files are one patient shard of whole tables
    (`lotluca.extract.split`); rows are then named by their row in the whole file."""
    missing = [t for t in REQUIRED_TABLES if t not in paths]
    if missing:
        raise InputError(
            ", ".join(map(str, paths.values())) or "ODH input",
            f"ODH tables missing: {missing}",
            expected=f"files for {list(REQUIRED_TABLES)}",
        )
    ledger = Ledger("odh")
    unknown: list[pd.DataFrame] = []
    pat, pat_t = _read(paths, "odh_patients", ledger, settings, row_numbers)
    pat_t.use(pat["_row"].to_numpy())
    persons = _persons(pat, settings)
    by_id = persons.set_index("person_id")
    exposures = _exposures(paths, by_id, ledger, settings, row_numbers, unknown)
    stays = _stays(paths, by_id, ledger, settings, row_numbers)
    ledger.check()
    expo = pd.concat(exposures, ignore_index=True).sort_values(
        ["person_id", "date", "ingredient", "origin"], kind="stable"
    )
    # first time the centre saw the patient (delayed entry of referred patients, docs/effectiveness.md)
    seen = pd.concat(
        [expo[["person_id", "date"]], stays[["person_id", "admission_date"]].set_axis(["person_id", "date"], axis=1)]
    )
    persons["first_seen_date"] = persons["person_id"].map(pd.to_datetime(seen["date"]).groupby(seen["person_id"]).min())
    return OdhResult(
        persons=to_table(persons.sort_values("person_id", kind="stable"), contracts.PERSONS, "odh persons"),
        exposures=to_table(expo, contracts.EXPOSURES, "odh exposures", optional=contracts.EXPOSURES_OPTIONAL),
        chemo_sessions=contracts.CHEMO_SESSIONS.empty_table(),
        stays=to_table(
            stays.sort_values(["person_id", "admission_date", "origin"], kind="stable"), contracts.STAYS, "odh stays"
        ),
        rejects=ledger.rejects(),
        accounting=ledger.summary(),
        unknown_codes=dm.unknown_code_counts(unknown),
    )
