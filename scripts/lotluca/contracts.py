"""Canonical tables shared by every stage: their Arrow schemas and a conformance check.

Every stage reads and writes these tables as Parquet with exactly these columns and types (dates are
date32). Optional columns may be absent in a producer's output and are then added as nulls by
`conform`. The SNDS raw tables follow `lotluca.snds_schema`; the ODH raw tables are defined here.

The comment above each schema and beside each column is its documentation: docs/contracts.md is
generated from them (python tools/make_docs.py), so keep one comment per column.
"""

from __future__ import annotations

import pyarrow as pa

STR = pa.string()
DATE = pa.date32()
I16 = pa.int16()
I32 = pa.int32()
F64 = pa.float64()
BOOL = pa.bool_()

# --- canonical, source-independent tables -------------------------------------------------------
# One row per person of a source (extract) or of a data-source scenario (merge): demographics, disease,
# death and end of follow-up.
PERSONS = pa.schema(
    [
        ("person_id", STR),  # study person: ODH patient id, or BEN_IDT_ANO for SNDS-only persons
        ("sex", STR),  # "M" | "F"
        ("birth_year", I16),  # year of birth
        ("birth_month", I16),  # 1..12, null when unknown
        ("residence_dpt", STR),  # departement of residence (2-3 chars), used by linkage
        ("death_date", DATE),  # date of death, null when alive or unknown
        ("diagnosis_date", DATE),  # diagnosis of advanced / metastatic disease (null in the SNDS)
        ("histology", STR),  # "non_squamous" | "squamous" | "nos"
        ("egfr", STR),  # EGFR status: "mutated" | "wild_type" | "unknown"
        ("alk", STR),  # ALK status: "mutated" | "wild_type" | "unknown"
        ("pdl1", STR),  # "<1%" | "1-49%" | ">=50%" | "unknown"
        ("centre", STR),  # FINESS of the cancer centre following the person (null for SNDS)
        ("end_of_followup", DATE),  # death or end of data
        ("last_seen_date", DATE),  # last date seen alive in the data: ODH last contact, SNDS last care activity
        ("ecog", I16),  # ECOG performance status (0-4) recorded at diagnosis (ODH), null when not recorded
        ("first_seen_date", DATE),  # first date the cancer centre saw the person (first ODH administration or stay)
    ]
)
# columns of PERSONS that a producer may leave out (filled with nulls)
PERSONS_OPTIONAL = ("last_seen_date", "ecog", "first_seen_date")

# One row per drug administration or dispensation: what was given, when, by which route and from which source.
EXPOSURES = pa.schema(
    [
        ("person_id", STR),  # study person (persons.person_id)
        ("date", DATE),  # administration or dispensation date
        ("end_date", DATE),  # administration: = date; dispensation: date + days of supply - 1
        ("ingredient", STR),  # lower-case INN from drugs.csv; "trial_drug" for unnamed trial drugs
        ("atc", STR),  # ATC-7 (null for trial drugs)
        ("drug_class", STR),  # drugs.csv drug_class
        ("route", STR),  # "iv" | "oral" | "sc"
        ("source", STR),  # odh_admin | odh_prescription | snds_pharmacy | snds_en_sus | snds_retrocession
        ("origin", STR),  # key of the raw row ("TABLE:key"), several joined by "|" after merging
        ("hospital", STR),  # FINESS where given (null for community pharmacy)
        ("protocol_label", STR),  # ODH prescription-software protocol label, often null
        ("cycle_number", I16),  # ODH cycle number ("C3" -> 3), often null
    ]
)
EXPOSURES_OPTIONAL = ("hospital", "protocol_label", "cycle_number")

# One row per PMSI chemotherapy day session (GHM extract.chemo_session_ghm, 28Z07Z), seen without a drug name.
CHEMO_SESSIONS = pa.schema(
    [
        ("person_id", STR),  # study person (persons.person_id)
        ("date", DATE),  # day of the session
        ("hospital", STR),  # FINESS (ETA_NUM)
        ("origin", STR),  # key of the raw row ("TABLE:key")
    ]
)

# One row per hospital stay (PMSI in the SNDS, centre stays in ODH), used by the linkage.
STAYS = pa.schema(
    [
        ("person_id", STR),  # study person (persons.person_id)
        ("hospital", STR),  # FINESS
        ("admission_date", DATE),  # first day of the stay
        ("discharge_date", DATE),  # last day of the stay
        ("ghm", STR),  # GRG_GHM for PMSI stays; null in ODH
        ("main_diagnosis", STR),  # ICD-10
        ("origin", STR),  # key of the raw row ("TABLE:key")
    ]
)

# One row per ICD-10 code of a valid PMSI MCO stay (main, related or associated diagnosis), look-back year
# included: what the SNDS-only identification reads (lotluca.extract.diagnoses, docs/identify.md).
DIAGNOSES = pa.schema(
    [
        ("person_id", STR),  # SNDS person (BEN_IDT_ANO)
        ("date", DATE),  # admission date of the stay
        ("code", STR),  # ICD-10 code without dot, upper case ("C341", "C787")
        ("position", STR),  # "main" (DGN_PAL) | "related" (DGN_REL) | "associated" (T_MCOaaD ASS_DGN)
        ("ghm", STR),  # GRG_GHM of the stay
        ("origin", STR),  # the stay ("T_MCOaaB:ETA_NUM:RSA_NUM")
    ]
)

# One row per ALD registration (long-term illness, IR_IMB_R) of an SNDS person, whatever its date.
ALD = pa.schema(
    [
        ("person_id", STR),  # SNDS person (BEN_IDT_ANO)
        ("start_date", DATE),  # IMB_ALD_DTD: start of the exoneration
        ("end_date", DATE),  # IMB_ALD_DTF, null when open
        ("code", STR),  # MED_MTF_COD: ICD-10 code of the illness, without dot
        ("ald_number", I16),  # IMB_ALD_NUM (30: malignant tumours)
        ("origin", STR),  # key of the raw registration ("IR_IMB_R:<IMB_ALD_NUM>:<IMB_ALD_DTD>")
    ]
)

# One row per person identified as incident advanced NSCLC from the SNDS alone (lotluca.identify).
IDENTIFIED = pa.schema(
    [
        ("person_id", STR),  # SNDS person (BEN_IDT_ANO)
        ("diagnosis_date", DATE),  # inferred advanced-diagnosis date
        ("histology", STR),  # inferred: "non_squamous" (pemetrexed, bevacizumab, a driver TKI) | "nos"
        ("egfr", STR),  # "mutated" when an EGFR TKI was given, else "unknown"
        ("alk", STR),  # "mutated" when an ALK TKI was given, else "unknown"
        ("first_c34_date", DATE),  # first C34 code (main / related stay diagnosis, or ALD)
        ("advanced_evidence", STR),  # what made it advanced: "metastasis" | "treatment" | both joined by "+"
    ]
)

# One row per line of therapy, or per maintenance phase (is_maintenance true, same line_number as its line).
LINES = pa.schema(
    [
        ("person_id", STR),  # study person (persons.person_id; the ODH patient id in every scenario)
        ("line_number", I16),  # 1, 2, ...; a maintenance phase repeats the number of its line
        ("start_date", DATE),  # first treatment day of the line (or of the maintenance phase)
        ("end_date", DATE),  # last treatment day (end of supply for oral drugs)
        ("regimen", STR),  # sorted ingredients joined by "+"
        ("regimen_class", STR),  # lotluca.drugs.regimen_class vocabulary
        ("is_maintenance", BOOL),  # true for a maintenance phase of the line
        ("end_reason", STR),  # why the line ended: the lines engine's vocabulary (docs/lines.md)
        ("algorithm", STR),  # algorithm that produced the line ("gold" in the gold standard)
    ]
)

# The chart-abstracted gold standard: the lines columns, plus the split of the person.
GOLD_LINES = LINES.append(pa.field("split", STR))  # "train" | "test": the learned model trains on train

# One row per raw row quarantined by the extraction, with the named rule (docs/extract.md).
REJECTS = pa.schema(
    [
        ("table", STR),  # raw table the row came from
        ("row_key", STR),  # key or row number of the raw row
        ("rule", STR),  # named rule or reason
        ("detail", STR),  # the offending value or a short explanation
    ]
)

# One row per ODH patient linked to an SNDS person (at most one each way).
LINKS = pa.schema(
    [
        ("odh_patient_id", STR),  # ODH patient (odh_patients.odh_patient_id)
        ("snds_person_id", STR),  # BEN_IDT_ANO
        ("method", STR),  # "deterministic" | "probabilistic"
        ("match_probability", F64),  # Splink match probability (1.0 for deterministic links)
    ]
)

# --- ODH (OncoDataHub) raw tables, as the cancer-centre warehouse exports them ---------------------
# One row per patient of the cancer centre: demographics, diagnosis, biomarkers, vital status.
ODH_PATIENTS = pa.schema(
    [
        ("odh_patient_id", STR),  # the centre's own patient id
        ("centre_finess", STR),  # FINESS of the centre (9 chars)
        ("sex", STR),  # "M" | "F"
        ("birth_date", DATE),  # date of birth
        ("postcode", STR),  # 5 chars
        ("diagnosis_date", DATE),  # advanced / metastatic diagnosis
        ("histology", STR),  # free-text histology as coded by the centre
        ("egfr_status", STR),  # "muté" | "non muté" | null (not tested)
        ("alk_status", STR),  # "réarrangé" | "non réarrangé" | null
        ("ros1_status", STR),  # free text as coded by the centre, null if not tested
        ("kras_status", STR),  # free text as coded by the centre, null if not tested
        ("braf_status", STR),  # free text as coded by the centre, null if not tested
        ("met_status", STR),  # free text as coded by the centre, null if not tested
        ("pdl1_tps", F64),  # percentage of tumour cells, null if not tested
        ("death_date", DATE),  # known to the centre only sometimes
        ("last_contact_date", DATE),  # last time the centre saw the patient
        ("ecog", I16),  # ECOG performance status at diagnosis (0-4), null when not recorded
    ]
)

# One row per drug administered at the centre (prescription software).
ODH_ADMINISTRATIONS = pa.schema(
    [
        ("administration_id", STR),  # unique id of the administration
        ("odh_patient_id", STR),  # patient (odh_patients.odh_patient_id)
        ("stay_id", STR),  # stay of the administration (odh_stays.stay_id)
        ("administration_date", DATE),  # day the drug was given
        ("drug_label", STR),  # prescription-software free text: "CARBOPLATINE 450MG", "Keytruda", "ESSAI CLINIQUE"
        ("dose_mg", F64),  # dose given, in mg
        ("route", STR),  # "IV" | "PO" | "SC"
        ("protocol_label", STR),  # e.g. "CARBOPLATINE-PEMETREXED J1=J21", often null
        ("cycle_label", STR),  # e.g. "C3", often null
    ]
)

# One row per stay or visit at the centre.
ODH_STAYS = pa.schema(
    [
        ("stay_id", STR),  # unique id of the stay
        ("odh_patient_id", STR),  # patient (odh_patients.odh_patient_id)
        ("centre_finess", STR),  # FINESS of the centre
        ("admission_date", DATE),  # first day of the stay
        ("discharge_date", DATE),  # last day of the stay
        ("stay_type", STR),  # "HDJ" (day hospital) | "HC" (full hospitalisation) | "CONSULT"
        ("main_diagnosis", STR),  # ICD-10
    ]
)

# One row per oral drug prescribed at the centre (dispensed by a community pharmacy).
ODH_PRESCRIPTIONS = pa.schema(
    [
        ("prescription_id", STR),  # unique id of the prescription
        ("odh_patient_id", STR),  # patient (odh_patients.odh_patient_id)
        ("prescription_date", DATE),  # day of the prescription
        ("drug_label", STR),  # prescription-software free text, as in odh_administrations
        ("duration_days", I32),  # days of treatment prescribed
    ]
)

ODH_TABLES = {
    "odh_patients": ODH_PATIENTS,
    "odh_administrations": ODH_ADMINISTRATIONS,
    "odh_stays": ODH_STAYS,
    "odh_prescriptions": ODH_PRESCRIPTIONS,
}

CANONICAL = {
    "persons": PERSONS,
    "exposures": EXPOSURES,
    "chemo_sessions": CHEMO_SESSIONS,
    "stays": STAYS,
    "lines": LINES,
    "gold_lines": GOLD_LINES,
    "rejects": REJECTS,
    "links": LINKS,
    "diagnoses": DIAGNOSES,
    "ald": ALD,
    "identified": IDENTIFIED,
}


class ContractError(ValueError):
    """A table does not conform to its contract; the message names the table and the columns."""


def conform(table: pa.Table, schema: pa.Schema, name: str, optional: tuple[str, ...] = ()) -> pa.Table:
    """Return `table` with exactly `schema`'s columns, in order and cast to its types.

    Missing columns listed in `optional` are added as nulls; any other missing column, or a column
    that cannot be cast safely, raises ContractError naming the table and the column.
    """
    columns = []
    for field in schema:
        if field.name in table.column_names:
            col = table.column(field.name)
            try:
                col = col.cast(field.type) if col.type != field.type else col
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
                raise ContractError(
                    f"{name}: column {field.name!r} cannot be cast from {col.type} to {field.type}: {exc}"
                ) from exc
            columns.append(col)
        elif field.name in optional:
            columns.append(pa.nulls(table.num_rows, field.type))
        else:
            raise ContractError(f"{name}: missing column {field.name!r} (has {table.column_names})")
    return pa.Table.from_arrays(columns, schema=schema)
