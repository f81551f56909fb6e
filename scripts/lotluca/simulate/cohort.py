"""Persons of the synthetic cohort: ODH patients and SNDS-only decoys, their demographics, histology,
biomarkers, diagnosis dates, centres, the hospitals near their home, and their source identifiers.

All draws are vectorised over persons. Dates are int32 days since 1970-01-01 throughout the package.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from lotluca.simulate.params import SimSettings

EPOCH = np.datetime64("1970-01-01", "D")

# Illustrative cancer centres (CLCC): code, 9-digit FINESS (no leading zero, so the integer ETA_NUM of
# T_MCOaaB/C and the string ETA_NUM of T_MCOaaD/MED/FH carry the same digits), departement, catchment.
CENTRES = [
    ("01", "690000880", "69", ("69", "01", "38", "42", "71", "26")),
    ("02", "940000664", "94", ("94", "75", "92", "93", "91", "77", "78", "95")),
    ("03", "130000193", "13", ("13", "84", "83", "04", "30")),
    ("04", "330000662", "33", ("33", "24", "40", "47", "17")),
    ("05", "590000188", "59", ("59", "62", "80", "02")),
    ("06", "310024706", "31", ("31", "32", "82", "81", "09", "65")),
    ("07", "440000057", "44", ("44", "85", "49", "56", "35")),
    ("08", "670000272", "67", ("67", "68", "57", "88")),
]
ALL_DPTS = tuple(sorted({f"{d:02d}" for d in range(1, 96) if d != 20}))
HISTOLOGY = ("non_squamous", "squamous", "nos")
LUNG_ICD = np.array(["C340", "C341", "C342", "C343", "C348", "C349"])
LUNG_ICD_P = np.array([0.05, 0.45, 0.05, 0.30, 0.05, 0.10])
DRIVERS = ("none", "egfr", "alk", "ros1", "kras", "braf", "met")
ALNUM = np.frombuffer(b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ", dtype=np.uint8)


def to_days(d) -> int:
    return int((np.datetime64(d, "D") - EPOCH).astype(np.int64))


def opaque_ids(rng: np.random.Generator, n: int, length: int = 17) -> np.ndarray:
    """n distinct opaque alphanumeric strings (numpy unicode array)."""
    out = np.empty(0, dtype=f"U{length}")
    while out.size < n:
        codes = ALNUM[rng.integers(0, ALNUM.size, size=(n, length))]
        cand = codes.view(f"S{length}").ravel().astype(f"U{length}")
        out = np.concatenate([out, cand])
        _, first = np.unique(out, return_index=True)
        out = out[np.sort(first)]
    return out[:n]


@dataclass
class Hospitals:
    """Hospitals outside the cancer centres: a public hospital and a private clinic per departement."""

    dpts: np.ndarray  # departement codes
    public: np.ndarray  # FINESS (str) of the public hospital of each departement
    private: np.ndarray  # FINESS (str) of the private clinic of each departement

    @staticmethod
    def draw(rng: np.random.Generator) -> Hospitals:
        dpts = np.array(ALL_DPTS)
        digits = rng.integers(0, 10**6, size=(2, dpts.size)).astype(str)
        # FINESS start with the departement; 01..09 get a leading 9 instead of 0 so that no FINESS starts
        # with 0 (the integer ETA_NUM of T_MCOaaB/C then carries the same digits as the string one)
        prefix = np.where(np.char.startswith(dpts, "0"), np.char.add("9", np.char.lstrip(dpts, "0")), dpts)
        public = np.char.add(np.char.add(prefix, "0"), np.char.zfill(digits[0], 6))
        private = np.char.add(np.char.add(prefix, "1"), np.char.zfill(digits[1], 6))
        return Hospitals(dpts=dpts, public=public, private=private)


def draw_persons(rng: np.random.Generator, s: SimSettings) -> pd.DataFrame:
    """One row per person (ODH patients first, then decoys) with demographics, tumour and identifiers."""
    n_pat = s.patients
    n_dec = int(round(s.patients * s.decoy_ratio))
    n = n_pat + n_dec
    n_centres = max(1, min(s.centres, len(CENTRES)))
    is_decoy = np.arange(n) >= n_pat
    centre = np.where(is_decoy, -1, rng.integers(0, n_centres, size=n)).astype(np.int8)

    # residence: ODH patients mostly in their centre's departement or catchment; decoys anywhere in the
    # centres' catchments (70%) or nationally (30%)
    catch = [np.array(c[3]) for c in CENTRES[:n_centres]]
    u = rng.random(n)
    dpt = np.empty(n, dtype="U2")
    home_c = np.where(is_decoy, rng.integers(0, n_centres, size=n), centre)
    for c in range(n_centres):
        m = home_c == c
        k = int(m.sum())
        pick = np.where(rng.random(k) < 0.6, 0, rng.integers(0, catch[c].size, size=k))
        dpt[m] = catch[c][pick]
    national = is_decoy & (u < 0.3)
    dpt[national] = np.array(ALL_DPTS)[rng.integers(0, len(ALL_DPTS), size=int(national.sum()))]

    sex = np.where(rng.random(n) < s.male_fraction, 1, 2).astype(np.int8)
    start, end = to_days(s.start_date), to_days(s.end_date)
    # diagnoses accrue uniformly over the study period, the last 60 days excluded (no treatment yet)
    diag = rng.integers(start, max(start + 1, end - 60), size=n).astype(np.int32)
    age = np.clip(rng.normal(s.age_mean, s.age_sd, size=n), 30, 92)
    diag_year = (EPOCH + diag).astype("datetime64[Y]").astype(int) + 1970
    birth_year = (diag_year - np.floor(age)).astype(np.int16)
    birth_month = rng.integers(1, 13, size=n).astype(np.int8)
    birth_day = rng.integers(1, 29, size=n).astype(np.int8)

    hist = rng.choice(
        3, size=n, p=[s.nonsquamous_fraction, s.squamous_fraction, 1 - s.nonsquamous_fraction - s.squamous_fraction]
    )
    tested = rng.random(n) < np.where(hist == 1, s.molecular_tested / 3, s.molecular_tested)
    pd_ = np.array([s.egfr, s.alk, s.ros1, s.kras, s.braf, s.met])
    # drivers are mutually exclusive; squamous tumours carry them 5x less often
    drv_p = np.where(hist[:, None] == 1, pd_ / 5, pd_)
    cum = np.cumsum(drv_p, axis=1)
    ud = rng.random(n)[:, None]
    driver = np.where(ud < cum, np.arange(1, 7), 99).min(axis=1)
    driver = np.where(driver == 99, 0, driver).astype(np.int8)
    driver = np.where(tested, driver, -1).astype(np.int8)  # -1: not tested (driver unknown)
    # the true driver of untested patients still exists (drives nothing: never targeted)
    g12c = (driver == 4) & (rng.random(n) < s.kras_g12c)

    pdl1_tested = rng.random(n) < s.pdl1_tested
    up = rng.random(n)
    pdl1_cls = np.where(up < s.pdl1_high, 2, np.where(up < s.pdl1_high + s.pdl1_low, 1, 0)).astype(np.int8)
    tps = np.where(
        pdl1_cls == 2, rng.integers(50, 101, size=n), np.where(pdl1_cls == 1, rng.integers(1, 50, size=n), 0)
    )
    tps = np.where(rng.random(n) < 0.5, tps, np.round(tps / 5) * 5)  # pathologists often round to 5%
    tps = np.where(pdl1_cls == 1, np.clip(tps, 1, 49), np.where(pdl1_cls == 2, np.clip(tps, 50, 100), 0)).astype(float)
    pdl1_cls = np.where(pdl1_tested, pdl1_cls, -1).astype(np.int8)
    tps = np.where(pdl1_tested, tps, np.nan)
    icd = LUNG_ICD[rng.choice(LUNG_ICD.size, size=n, p=LUNG_ICD_P)]

    return pd.DataFrame(
        {
            "pid": np.arange(n, dtype=np.int32),
            "is_decoy": is_decoy,
            "centre": centre,
            "home_centre": home_c.astype(np.int8),
            "dpt": dpt,
            "sex": sex,
            "birth_year": birth_year,
            "birth_month": birth_month,
            "birth_day": birth_day,
            "age": age,
            "diag": diag,
            "histology": hist.astype(np.int8),
            "driver": driver,
            "kras_g12c": g12c,
            "pdl1": pdl1_cls,
            "pdl1_tps": tps,
            "icd": icd,
        }
    )


def make_twins(rng: np.random.Generator, persons: pd.DataFrame, s: SimSettings) -> pd.DataFrame:
    """Give a share of ODH patients a decoy with identical sex, birth year, birth month and departement."""
    pat = np.flatnonzero(~persons["is_decoy"].to_numpy())
    dec = np.flatnonzero(persons["is_decoy"].to_numpy())
    k = min(int(round(pat.size * s.noise.decoy_twin)), dec.size)
    if k == 0:
        return persons
    src = rng.choice(pat, size=k, replace=False)
    dst = rng.choice(dec, size=k, replace=False)
    for col in ("sex", "birth_year", "birth_month", "dpt", "home_centre"):
        arr = persons[col].to_numpy().copy()
        arr[dst] = arr[src]
        persons[col] = arr
    return persons


def truth_person_ids(index: np.ndarray) -> np.ndarray:
    """Truth person id of each cohort-wide person index: "P" + 9 digits."""
    return np.char.add("P", np.char.zfill(np.asarray(index).astype(str), 9))


def odh_id_key(rng: np.random.Generator) -> tuple[int, int]:
    """(multiplier, offset) of the bijection of person indexes onto 7-digit ODH patient numbers."""
    mult = 7_654_321 if rng.random() < 0.5 else 3_141_593  # coprime with 10
    return mult, int(rng.integers(0, 10**7))


def assign_identifiers(
    rng: np.random.Generator,
    persons: pd.DataFrame,
    s: SimSettings,
    first_person: int = 0,
    odh_key: tuple[int, int] | None = None,
) -> pd.DataFrame:
    """ODH patient ids ("C<centre>-<7 digits>"), BEN_IDT_ANO and one or two BEN_NIR_PSA (17 chars), and
    `truth_person_id` (P<9 digits> of the cohort-wide person index first_person + row). The ODH number is
    a bijection of that index (`odh_key`, drawn from `rng` when not given), so persons of different
    blocks sharing one odh_key never share an ODH id."""
    n = len(persons)
    ids = opaque_ids(rng, 3 * n)
    persons["ben_idt_ano"] = ids[:n]
    persons["nir1"] = ids[n : 2 * n]
    two = rng.random(n) < s.noise.second_nir
    persons["nir2"] = np.where(two, ids[2 * n :], "")
    index = first_person + np.arange(n, dtype=np.int64)
    if index.size and index[-1] >= 10**7:
        raise ValueError(f"person index {index[-1]} does not fit the 7-digit ODH patient number")
    persons["truth_person_id"] = truth_person_ids(index)
    mult, offset = odh_key if odh_key is not None else odh_id_key(rng)
    num = (index * mult + offset) % 10**7
    codes = np.array([c[0] for c in CENTRES])
    cc = codes[np.clip(persons["centre"].to_numpy(), 0, None)]
    odh = np.char.add(np.char.add("C", cc), np.char.add("-", np.char.zfill(num.astype(str), 7)))
    persons["odh_patient_id"] = np.where(persons["is_decoy"].to_numpy(), "", odh)
    return persons
