"""Canonical tables shared by every stage (BRIEF section 4): their Arrow schemas and a conformance check.

Every stage reads and writes these tables as Parquet with exactly these columns and types (dates are
date32). Optional columns may be absent in a producer's output and are then added as nulls by
`conform`. The SNDS raw tables follow `lotluca.snds_schema`; the ODH raw tables are defined here.
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
PERSONS = pa.schema(
    [
        ("person_id", STR),  # study person: ODH patient id, or BEN_IDT_ANO for SNDS-only persons
        ("sex", STR),  # "M" | "F"
        ("birth_year", I16),
        ("birth_month", I16),  # 1..12, null when unknown
        ("residence_dpt", STR),  # departement of residence (2-3 chars), used by linkage
        ("death_date", DATE),
        ("diagnosis_date", DATE),  # diagnosis of advanced / metastatic disease
        ("histology", STR),  # "non_squamous" | "squamous" | "nos"
        ("egfr", STR),  # "mutated" | "wild_type" | "unknown" (same for alk)
        ("alk", STR),
        ("pdl1", STR),  # "<1%" | "1-49%" | ">=50%" | "unknown"
        ("centre", STR),  # FINESS of the cancer centre following the person (null for SNDS)
        ("end_of_followup", DATE),  # death or end of data
    ]
)

EXPOSURES = pa.schema(
    [
        ("person_id", STR),
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

CHEMO_SESSIONS = pa.schema(
    [
        ("person_id", STR),
        ("date", DATE),
        ("hospital", STR),  # FINESS (ETA_NUM)
        ("origin", STR),
    ]
)

STAYS = pa.schema(
    [
        ("person_id", STR),
        ("hospital", STR),  # FINESS
        ("admission_date", DATE),
        ("discharge_date", DATE),
        ("ghm", STR),  # GRG_GHM for PMSI stays; null in ODH
        ("main_diagnosis", STR),  # ICD-10
        ("origin", STR),
    ]
)

LINES = pa.schema(
    [
        ("person_id", STR),
        ("line_number", I16),
        ("start_date", DATE),
        ("end_date", DATE),
        ("regimen", STR),  # sorted ingredients joined by "+"
        ("regimen_class", STR),  # lotluca.drugs.regimen_class vocabulary
        ("is_maintenance", BOOL),
        ("end_reason", STR),  # documented vocabulary of the lines engine
        ("algorithm", STR),
    ]
)

GOLD_LINES = LINES.append(pa.field("split", STR))  # "train" | "test"

REJECTS = pa.schema(
    [
        ("table", STR),  # raw table the row came from
        ("row_key", STR),  # key or row number of the raw row
        ("rule", STR),  # named rule or reason
        ("detail", STR),
    ]
)

LINKS = pa.schema(
    [
        ("odh_patient_id", STR),
        ("snds_person_id", STR),  # BEN_IDT_ANO
        ("method", STR),  # "deterministic" | "probabilistic"
        ("match_probability", F64),
    ]
)

# --- ODH (OncoDataHub) raw tables, as the cancer-centre warehouse exports them ---------------------
ODH_PATIENTS = pa.schema(
    [
        ("odh_patient_id", STR),  # the centre's own patient id
        ("centre_finess", STR),  # FINESS of the centre (9 chars)
        ("sex", STR),  # "M" | "F"
        ("birth_date", DATE),
        ("postcode", STR),  # 5 chars
        ("diagnosis_date", DATE),  # advanced / metastatic diagnosis
        ("histology", STR),  # free-text histology as coded by the centre
        ("egfr_status", STR),  # "muté" | "non muté" | null (not tested)
        ("alk_status", STR),  # "réarrangé" | "non réarrangé" | null
        ("ros1_status", STR),
        ("kras_status", STR),
        ("braf_status", STR),
        ("met_status", STR),
        ("pdl1_tps", F64),  # percentage of tumour cells, null if not tested
        ("death_date", DATE),  # known to the centre only sometimes
        ("last_contact_date", DATE),
    ]
)

ODH_ADMINISTRATIONS = pa.schema(
    [
        ("administration_id", STR),
        ("odh_patient_id", STR),
        ("stay_id", STR),
        ("administration_date", DATE),
        ("drug_label", STR),  # prescription-software free text: "CARBOPLATINE 450MG", "Keytruda", "ESSAI CLINIQUE"
        ("dose_mg", F64),
        ("route", STR),  # "IV" | "PO" | "SC"
        ("protocol_label", STR),  # e.g. "CARBOPLATINE-PEMETREXED J1=J21", often null
        ("cycle_label", STR),  # e.g. "C3", often null
    ]
)

ODH_STAYS = pa.schema(
    [
        ("stay_id", STR),
        ("odh_patient_id", STR),
        ("centre_finess", STR),
        ("admission_date", DATE),
        ("discharge_date", DATE),
        ("stay_type", STR),  # "HDJ" (day hospital) | "HC" (full hospitalisation) | "CONSULT"
        ("main_diagnosis", STR),  # ICD-10
    ]
)

ODH_PRESCRIPTIONS = pa.schema(
    [
        ("prescription_id", STR),
        ("odh_patient_id", STR),
        ("prescription_date", DATE),
        ("drug_label", STR),
        ("duration_days", I32),
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
