"""Hand-made raw SNDS and ODH tables for the extraction tests, one case per cleaning rule.

`snds_tables()` / `odh_tables()` return {table name: pyarrow Table} with the exact real schema
(`snds_schema.build_table`, `contracts.ODH_TABLES`); `write_tables` writes them as parquet, csv or
xpt files named like a real extract. `EXPECTED_*` hold the hand-computed results the tests compare to.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from lotluca import contracts, snds_schema
from lotluca.simulate import nomenclature

D = dt.date


def code(ingredient: str, system: str, k: int = 0) -> str:
    """The k-th code of an ingredient in the simulator's nomenclatures (written to IR_PHA_R / NU_UCD_R)."""
    ref = nomenclature.codes()
    return ref[(ref["code_system"] == system) & (ref["ingredient"] == ingredient)]["code"].iloc[k]


def nomenclature_rows() -> dict[str, list[dict]]:
    """IR_PHA_R and NU_UCD_R rows of the simulator's codes: the nomenclatures of the hand-made extract."""
    return {name: [{k: v for k, v in r.items() if v is not None} for r in t.to_pylist()]
            for name, t in nomenclature.tables().items()}  # fmt: skip


KEY_DEFAULTS = {
    "FLX_DIS_DTD": D(2020, 2, 1),
    "FLX_EMT_NUM": 1,
    "FLX_EMT_ORD": 0,
    "FLX_EMT_TYP": 1,
    "FLX_TRT_DTD": D(2020, 1, 31),
    "ORG_CLE_NUM": "01C731220",
    "PRS_ORD_NUM": 1,
    "REM_TYP_AFF": 1,
}
DCIR_KEYS = ["DCT_ORD_NUM", *KEY_DEFAULTS]


def _cols(rows: list[dict]) -> dict:
    names = list(dict.fromkeys(k for r in rows for k in r))
    return {n: [r.get(n) for r in rows] for n in names}


def _keys(i: int) -> dict:
    return {"DCT_ORD_NUM": i, **KEY_DEFAULTS}


def snds_rows() -> dict[str, list[dict]]:
    osi = int(code("osimertinib", "CIP13"))
    pembro, nivo, peme = code("pembrolizumab", "UCD13"), code("nivolumab", "UCD13"), code("pemetrexed", "UCD13")
    ben = [
        {
            "BEN_NIR_PSA": "A1",
            "BEN_RNG_GEM": 1,
            "BEN_IDT_ANO": "P1",
            "BEN_SEX_COD": 1,
            "BEN_NAI_ANN": 1955,
            "BEN_NAI_MOI": "03",
            "BEN_RES_DPT": "075",
        },
        {
            "BEN_NIR_PSA": "A2",
            "BEN_RNG_GEM": 1,
            "BEN_IDT_ANO": "P1",
            "BEN_SEX_COD": 1,
            "BEN_NAI_ANN": 1955,
            "BEN_NAI_MOI": "03",
            "BEN_RES_DPT": "075",
        },
        {
            "BEN_NIR_PSA": "B1",
            "BEN_RNG_GEM": 1,
            "BEN_IDT_ANO": "P2",
            "BEN_SEX_COD": 2,
            "BEN_NAI_ANN": 1960,
            "BEN_NAI_MOI": "11",
            "BEN_RES_DPT": "02A",
            "BEN_DCD_DTE": D(2021, 6, 30),
        },
        {
            "BEN_NIR_PSA": "C1",
            "BEN_RNG_GEM": 1,
            "BEN_IDT_ANO": "P3",
            "BEN_SEX_COD": 1,
            "BEN_NAI_ANN": 1950,
            "BEN_NAI_MOI": "07",
            "BEN_RES_DPT": "971",
        },
    ]
    cci = [{"BEN_IDT_ANO": "P3", "BEN_DCD_DTE": D(2020, 9, 1)}]
    prs, pha, ucd, ete = [], [], [], []

    def service(i, nir, day, **kw):
        prs.append({**_keys(i), "BEN_NIR_PSA": nir, "BEN_RNG_GEM": 1, "EXE_SOI_DTD": day, **kw})

    service(1, "A1", D(2020, 1, 10))
    pha.append({**_keys(1), "PHA_PRS_C13": osi, "PHA_ACT_QSN": 1, "PHA_ORD_NUM": 1})
    service(2, "A2", D(2020, 2, 9))  # the same person through a second BEN_NIR_PSA
    pha.append({**_keys(2), "PHA_PRS_C13": osi, "PHA_ACT_QSN": 2, "PHA_ORD_NUM": 1})
    service(3, "A1", D(2020, 4, 10))  # dispensed then reversed
    pha.append({**_keys(3), "PHA_PRS_C13": osi, "PHA_ACT_QSN": 1, "PHA_ORD_NUM": 1})
    service(4, "A1", D(2020, 4, 10))
    pha.append({**_keys(4), "PHA_PRS_C13": osi, "PHA_ACT_QSN": -1, "PHA_ORD_NUM": 1})
    service(5, "A1", D(2020, 5, 10), DPN_QLF=71)  # information-only
    pha.append({**_keys(5), "PHA_PRS_C13": osi, "PHA_ACT_QSN": 1, "PHA_ORD_NUM": 1})
    service(6, "A1", D(2020, 5, 11), PRS_DPN_QLP=71)  # information-only (transmitted qualifier)
    pha.append({**_keys(6), "PHA_PRS_C13": osi, "PHA_ACT_QSN": 1, "PHA_ORD_NUM": 1})
    service(7, "B1", D(2020, 5, 5))
    ucd.append({**_keys(7), "UCD_UCD_COD": pembro, "UCD_TOP_UCD": 1, "UCD_DLV_NBR": 1, "UCD_ORD_NUM": 1})
    service(8, "B1", D(2020, 5, 26))
    ucd.append({**_keys(8), "UCD_UCD_COD": "000" + pembro, "UCD_TOP_UCD": 0, "UCD_DLV_NBR": 1, "UCD_ORD_NUM": 1})
    service(9, "B1", D(2020, 6, 1))  # public hospital billing already in PMSI
    ete.append({**_keys(9), "ETE_IND_TAA": 1})
    ucd.append({**_keys(9), "UCD_UCD_COD": nivo, "UCD_TOP_UCD": 1, "UCD_DLV_NBR": 1, "UCD_ORD_NUM": 1})
    service(10, "B1", D(2020, 6, 3))  # a consultation: no drug line
    service(11, "Z9", D(2020, 6, 4))  # unknown beneficiary
    pha.append({**_keys(11), "PHA_PRS_C13": osi, "PHA_ACT_QSN": 1, "PHA_ORD_NUM": 1})
    service(12, "C1", D(2020, 1, 15))
    pha.append({**_keys(12), "PHA_PRS_C13": 3400900000001, "PHA_ACT_QSN": 1, "PHA_ORD_NUM": 1})  # unknown CIP13
    pha.append({**_keys(99), "PHA_PRS_C13": osi, "PHA_ACT_QSN": 1, "PHA_ORD_NUM": 1})  # no ER_PRS_F row
    ete.append({**_keys(1), "ETE_IND_TAA": 0})

    def dt_(y, m, d):
        return dt.datetime(y, m, d)

    ok = {r: "0" for r in ("NAI_RET", "DAT_RET")} | {
        r: False for r in ("NIR_RET", "SEX_RET", "SEJ_RET", "FHO_RET", "PMS_RET")
    }
    b = [
        {"ETA_NUM": 750000001, "RSA_NUM": 1, "GRG_GHM": "28Z07Z", "DGN_PAL": "Z511"},
        {"ETA_NUM": 750000001, "RSA_NUM": 2, "GRG_GHM": "28Z07Z", "DGN_PAL": "Z511"},
        {"ETA_NUM": 750000001, "RSA_NUM": 3, "GRG_GHM": "90Z00Z", "DGN_PAL": "C341"},
        {"ETA_NUM": 10000024, "RSA_NUM": 4, "GRG_GHM": "04M053", "DGN_PAL": "C341"},
        {"ETA_NUM": 920000001, "RSA_NUM": 5, "GRG_GHM": "28Z07Z", "DGN_PAL": "Z511"},
    ]
    c = [
        {
            "ETA_NUM": 750000001,
            "RSA_NUM": 1,
            "NIR_ANO_17": "B1",
            "EXE_SOI_DTD": dt_(2020, 5, 12),
            "EXE_SOI_DTF": dt_(2020, 5, 12),
            **ok,
        },
        {
            "ETA_NUM": 750000001,
            "RSA_NUM": 2,
            "NIR_ANO_17": "B1",
            "EXE_SOI_DTD": dt_(2020, 6, 2),
            "EXE_SOI_DTF": dt_(2020, 6, 2),
            **ok,
            "NIR_RET": True,
        },
        {
            "ETA_NUM": 750000001,
            "RSA_NUM": 3,
            "NIR_ANO_17": "C1",
            "EXE_SOI_DTD": dt_(2020, 2, 1),
            "EXE_SOI_DTF": dt_(2020, 2, 3),
            **ok,
        },
        {
            "ETA_NUM": 10000024,
            "RSA_NUM": 4,
            "NIR_ANO_17": "A2",
            "EXE_SOI_DTD": dt_(2020, 7, 1),
            "EXE_SOI_DTF": dt_(2020, 7, 5),
            **ok,
        },
        {
            "ETA_NUM": 920000001,
            "RSA_NUM": 5,
            "NIR_ANO_17": "C1",
            "EXE_SOI_DTD": dt_(2020, 3, 2),
            "EXE_SOI_DTF": dt_(2020, 3, 2),
            **ok,
        },
    ]
    med = [
        {"ETA_NUM": "750000001", "RSA_NUM": "1", "UCD_UCD_COD": peme, "ADM_NBR": 5.0, "DELAI": 0},
        {"ETA_NUM": "750000001", "RSA_NUM": "1", "UCD_UCD_COD": pembro, "ADM_NBR": 2.0, "DELAI": 0},
        {"ETA_NUM": "750000001", "RSA_NUM": "2", "UCD_UCD_COD": peme, "ADM_NBR": 5.0, "DELAI": 0},  # stay filtered
        {"ETA_NUM": "750000001", "RSA_NUM": "99", "UCD_UCD_COD": peme, "ADM_NBR": 5.0, "DELAI": 0},  # no stay
        {"ETA_NUM": "010000024", "RSA_NUM": "4", "UCD_UCD_COD": "RANDOM", "ADM_NBR": 1.0, "DELAI": 2},  # not a code
    ]
    fh = [{"ETA_NUM": "920000001", "RSA_NUM": "5", "UCD_UCD_COD": nivo, "QUA_COD": 1, "DEL_DAT_ENT": 0}]
    return {
        "IR_BEN_R": ben, "KI_CCI_R": cci, "ER_PRS_F": prs, "ER_PHA_F": pha, "ER_UCD_F": ucd, "ER_ETE_F": ete,
        "T_MCOaaB": b, "T_MCOaaC": c, "T_MCOaaMED": med, "T_MCOaaFH": fh, "T_MCOaaD": [{"ETA_NUM": "750000001", "RSA_NUM": "1", "ASS_DGN": "C341"}],
        **nomenclature_rows(),
    }  # fmt: skip


def snds_tables(rows: dict[str, list[dict]] | None = None) -> dict[str, pa.Table]:
    rows = rows if rows is not None else snds_rows()
    return {t: snds_schema.build_table(t, _cols(r), len(r)) for t, r in rows.items()}


def odh_rows() -> dict[str, list[dict]]:
    centre = "750000001"
    pat = [
        {"odh_patient_id": "O1", "centre_finess": centre, "sex": "M", "birth_date": D(1955, 3, 14), "postcode": "75012", "diagnosis_date": D(2020, 1, 2),
         "histology": "Adénocarcinome pulmonaire", "egfr_status": "muté", "alk_status": "non réarrangé", "pdl1_tps": 5.0, "last_contact_date": D(2021, 1, 1)},
        {"odh_patient_id": "O2", "centre_finess": centre, "sex": "F", "birth_date": D(1960, 11, 2), "postcode": "20167", "diagnosis_date": D(2020, 4, 20),
         "histology": "Carcinome épidermoïde", "egfr_status": None, "alk_status": None, "pdl1_tps": 80.0, "death_date": D(2021, 6, 30)},
        {"odh_patient_id": "O3", "centre_finess": centre, "sex": "M", "birth_date": D(1950, 7, 1), "postcode": "97110", "diagnosis_date": D(2019, 12, 1),
         "histology": "Carcinome non à petites cellules", "egfr_status": "non muté", "alk_status": "réarrangé", "pdl1_tps": None},
    ]  # fmt: skip
    adm = [
        {"administration_id": "A1", "odh_patient_id": "O2", "stay_id": "S1", "administration_date": D(2020, 5, 12), "drug_label": "CARBOPLATINE 450MG", "dose_mg": 450.0, "route": "IV", "protocol_label": "CARBOPLATINE-PACLITAXEL-PEMBROLIZUMAB J1=J21", "cycle_label": "C1"},
        {"administration_id": "A2", "odh_patient_id": "O2", "stay_id": "S1", "administration_date": D(2020, 5, 12), "drug_label": "Keytruda", "dose_mg": 200.0, "route": "IV", "protocol_label": None, "cycle_label": None},
        {"administration_id": "A3", "odh_patient_id": "O2", "stay_id": "S1", "administration_date": D(2020, 5, 12), "drug_label": "ESSAI CLINIQUE", "dose_mg": None, "route": "IV", "protocol_label": None, "cycle_label": "C2"},
        {"administration_id": "A4", "odh_patient_id": "O3", "stay_id": None, "administration_date": D(2020, 2, 1), "drug_label": "NAVELBINE 30MG", "dose_mg": 30.0, "route": "PO", "protocol_label": None, "cycle_label": None},
        {"administration_id": "A5", "odh_patient_id": "O9", "stay_id": None, "administration_date": D(2020, 2, 1), "drug_label": "CISPLATINE", "dose_mg": 30.0, "route": "IV", "protocol_label": None, "cycle_label": None},
        {"administration_id": "A6", "odh_patient_id": "O3", "stay_id": None, "administration_date": D(2020, 2, 8), "drug_label": "PARACETAMOL 1G", "dose_mg": 1000.0, "route": "PO", "protocol_label": None, "cycle_label": None},
        {"administration_id": "A7", "odh_patient_id": "O3", "stay_id": None, "administration_date": D(1999, 2, 8), "drug_label": "CISPLATINE", "dose_mg": 50.0, "route": "IV", "protocol_label": None, "cycle_label": None},
    ]  # fmt: skip
    pre = [
        {
            "prescription_id": "R1",
            "odh_patient_id": "O1",
            "prescription_date": D(2020, 1, 20),
            "drug_label": "TAGRISSO 80MG",
            "duration_days": 30,
        }
    ]
    stays = [
        {
            "stay_id": "S1",
            "odh_patient_id": "O2",
            "centre_finess": centre,
            "admission_date": D(2020, 5, 12),
            "discharge_date": D(2020, 5, 12),
            "stay_type": "HDJ",
            "main_diagnosis": "Z511",
        }
    ]
    return {"odh_patients": pat, "odh_administrations": adm, "odh_prescriptions": pre, "odh_stays": stays}


def odh_tables(rows: dict[str, list[dict]] | None = None) -> dict[str, pa.Table]:
    rows = rows if rows is not None else odh_rows()
    out = {}
    for t, r in rows.items():
        schema = contracts.ODH_TABLES[t]
        cols = _cols(r)
        out[t] = pa.Table.from_arrays(
            [pa.array(cols.get(f.name, [None] * len(r)), type=f.type) for f in schema], schema=schema
        )
    return out


def write_tables(
    tables: dict[str, pa.Table], folder: Path, fmt: str = "parquet", sep: str = ",", encoding: str = "utf-8"
) -> dict[str, Path]:
    """Write tables as a user's extract folder; CSV dates in each column's documented format."""
    folder.mkdir(parents=True, exist_ok=True)
    out = {}
    for name, table in tables.items():
        path = folder / f"{name}.{fmt}"
        if fmt == "parquet":
            pq.write_table(table, path)
        elif fmt == "csv":
            df = table.to_pandas()
            formats = snds_schema.column_formats(name) if not name.startswith("odh_") else {}
            for col in df.columns:
                if (
                    col in formats
                    or pa.types.is_date(table.schema.field(col).type)
                    or pa.types.is_timestamp(table.schema.field(col).type)
                ):
                    fmt_ = formats.get(col, "%Y-%m-%d")
                    df[col] = pd.to_datetime(df[col]).dt.strftime(fmt_).str.upper().where(df[col].notna(), None)
                elif pa.types.is_boolean(table.schema.field(col).type):
                    df[col] = df[col].map({True: "1", False: "0"})
                elif pa.types.is_integer(table.schema.field(col).type):
                    df[col] = df[col].astype("Int64")
            df.to_csv(path, sep=sep, index=False, encoding=encoding)
        else:
            raise ValueError(fmt)
        out[name] = path
    return out
