"""Draw canonical ODH and SNDS persons/stays (and the true links) fast, for linkage tests and benchmarks.

Not the study simulator (lotluca.simulate): a vectorised generator of exactly what the linkage reads,
with the traps that matter: demographic noise, PMSI stays missing or shifted by a day, SNDS decoys
treated at the same centres, decoys with the same demographics as an ODH patient, and SNDS persons
seen through two BEN_NIR_PSA (duplicated person rows).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

DAY0 = np.datetime64("2012-01-01", "D")


@dataclass
class Noise:
    in_snds: float = 0.99  # ODH patients with an SNDS counterpart
    stay_kept: float = 0.9  # ODH centre stay present in PMSI
    stay_shift: float = 0.1  # PMSI date off by one day
    sex_error: float = 0.003
    birth_year_error: float = 0.01
    birth_month_error: float = 0.02
    birth_month_missing: float = 0.02  # in ODH
    dpt_moved: float = 0.05
    odh_death_known: float = 0.6
    decoy_at_centres: float = 0.3  # share of unmatched SNDS persons with stays at the centres
    same_demographics_decoys: float = 0.05  # per ODH patient
    two_nir: float = 0.01  # SNDS persons with a duplicated person row
    no_centre_stays: float = 0.2  # ODH patients never in a stay at the centre (oral drugs, care elsewhere, untreated)


def _ids(prefix: str, n: int, rng: np.random.Generator, width: int) -> np.ndarray:
    return np.char.add(prefix, np.char.zfill(rng.permutation(n).astype(str), width))


def _stay_days(rng, n_persons: int, start: np.ndarray, mean_stays: float):
    k = 1 + rng.poisson(mean_stays, n_persons)
    owner = np.repeat(np.arange(n_persons), k)
    gaps = rng.integers(7, 29, owner.size)
    first = np.r_[0, np.cumsum(k)[:-1]]
    cs = np.cumsum(gaps)
    base = np.repeat(cs[first] - gaps[first], k)
    return owner, start[owner] + (cs - base)


def synthetic_linkage_inputs(
    n_odh: int, n_snds: int, seed: int = 1, noise: Noise | None = None, mean_stays: float = 12.0
) -> dict[str, pd.DataFrame]:
    """Canonical-like frames: odh_persons, odh_stays, snds_persons, snds_stays, truth (odh_patient_id, ben_idt_ano)."""
    nz = noise or Noise()
    rng = np.random.default_rng(seed)
    n_centres = int(np.clip(n_odh // 5000, 2, 20))
    centres = np.char.add("0", rng.integers(10_000_000, 99_999_999, n_centres).astype(str))
    others = np.char.add("1", rng.integers(10_000_000, 99_999_999, 200).astype(str))
    dpts = np.array([f"{i:02d}" for i in range(1, 96) if i != 20] + ["2A", "2B", "971"])

    # ODH persons
    odh_id = _ids("ODH", n_odh, rng, 7)
    sex = rng.choice(np.array(["M", "F"]), n_odh)
    by = rng.integers(1930, 1976, n_odh)
    bm = rng.integers(1, 13, n_odh)
    dpt = rng.choice(dpts, n_odh)
    centre = rng.choice(centres, n_odh)
    diag = rng.integers(0, 4500, n_odh)
    dead = rng.random(n_odh) < 0.6
    death = np.where(dead, diag + rng.integers(30, 1500, n_odh), -1)
    owner, days = _stay_days(rng, n_odh, diag, mean_stays)
    treated = rng.random(n_odh) >= nz.no_centre_stays  # the others never have a stay at the centre
    owner, days = owner[treated[owner]], days[treated[owner]]
    odh_stays = pd.DataFrame(
        {"person_id": odh_id[owner], "hospital": centre[owner], "admission_date": DAY0 + days.astype("timedelta64[D]")}
    )
    odh_bm = np.where(rng.random(n_odh) < nz.birth_month_missing, -1, bm)
    odh_death = np.where(dead & (rng.random(n_odh) < nz.odh_death_known), death, -1)

    # SNDS counterparts of ODH patients, with noise
    matched = rng.random(n_odh) < nz.in_snds
    n_m = int(matched.sum())
    n_other = max(n_snds - n_m, 0)
    ben = _ids("BEN", n_m + n_other, rng, 9)
    ben_m = ben[:n_m]
    mi = np.flatnonzero(matched)
    m_sex = sex[mi].copy()
    flip = rng.random(n_m) < nz.sex_error
    m_sex[flip] = np.where(m_sex[flip] == "M", "F", "M")
    m_by = by[mi] + np.where(rng.random(n_m) < nz.birth_year_error, rng.choice([-1, 1], n_m), 0)
    m_bm = np.where(rng.random(n_m) < nz.birth_month_error, rng.integers(1, 13, n_m), bm[mi])
    m_dpt = np.where(rng.random(n_m) < nz.dpt_moved, rng.choice(dpts, n_m), dpt[mi])
    m_death = death[mi]
    # PMSI stays of the counterparts: kept, shifted, plus care elsewhere
    pos = np.full(n_odh, -1)
    pos[mi] = np.arange(n_m)
    keep = (pos[owner] >= 0) & (rng.random(owner.size) < nz.stay_kept)
    shift = np.where(rng.random(owner.size) < nz.stay_shift, rng.choice([-1, 1], owner.size), 0)
    s_owner = [pos[owner][keep]]
    s_hosp = [centre[owner][keep]]
    s_day = [(days + shift)[keep]]
    o2, d2 = _stay_days(rng, n_m, diag[mi], 3.0)
    s_owner.append(o2)
    s_hosp.append(rng.choice(others, o2.size))
    s_day.append(d2)
    # every lung-cancer beneficiary has a diagnosis stay (main diagnosis C34) up to 14 days before diagnosis
    s_owner.append(np.arange(n_m))
    s_hosp.append(np.where(rng.random(n_m) < 0.5, centre[mi], rng.choice(others, n_m)))
    s_day.append(diag[mi] - rng.integers(0, 15, n_m))
    s_c34 = [np.zeros(sum(x.size for x in s_owner[:-1]), bool), np.ones(n_m, bool)]

    # other beneficiaries: some treated at the centres, some copying an ODH patient's demographics
    o_sex = rng.choice(np.array(["M", "F"]), n_other)
    o_by = rng.integers(1930, 1976, n_other)
    o_bm = rng.integers(1, 13, n_other)
    o_dpt = rng.choice(dpts, n_other)
    n_copy = min(int(nz.same_demographics_decoys * n_odh), n_other)
    src = rng.choice(n_odh, n_copy, replace=False)
    o_sex[:n_copy], o_by[:n_copy], o_bm[:n_copy], o_dpt[:n_copy] = sex[src], by[src], bm[src], dpt[src]
    o_start = rng.integers(0, 4500, n_other)
    at_centre = rng.random(n_other) < nz.decoy_at_centres
    at_centre[:n_copy] = True
    o_home = np.where(at_centre, rng.choice(centres, n_other), rng.choice(others, n_other))
    o_home[:n_copy] = centre[src]
    o3, d3 = _stay_days(rng, n_other, o_start, 6.0)
    s_owner.append(o3 + n_m)
    s_hosp.append(o_home[o3])
    s_day.append(d3)
    s_owner.append(np.arange(n_other) + n_m)
    s_hosp.append(rng.choice(others, n_other))
    s_day.append(o_start - rng.integers(0, 15, n_other))
    s_c34 += [np.zeros(o3.size, bool), np.ones(n_other, bool)]
    o_dead = rng.random(n_other) < 0.5
    o_death = np.where(o_dead, o_start + rng.integers(30, 1500, n_other), -1)

    all_owner = np.concatenate(s_owner)
    snds_stays = pd.DataFrame(
        {
            "person_id": ben[all_owner],
            "hospital": np.concatenate(s_hosp),
            "admission_date": DAY0 + np.concatenate(s_day).astype("timedelta64[D]"),
            "main_diagnosis": np.where(np.concatenate(s_c34), "C341", "Z511"),
        }
    )

    def dates(x):
        out = pd.Series(DAY0 + x.astype("timedelta64[D]"))
        return out.where(x >= 0)

    odh_persons = pd.DataFrame(
        {
            "person_id": odh_id,
            "sex": sex,
            "birth_year": by.astype("int16"),
            "birth_month": pd.array(np.where(odh_bm > 0, odh_bm, 0), dtype="Int16").astype("Int16"),
            "residence_dpt": dpt,
            "death_date": dates(odh_death),
            "centre": centre,
            "end_of_followup": dates(np.where(odh_death >= 0, odh_death, 5113)),
            "diagnosis_date": dates(diag),
        }
    )
    odh_persons.loc[odh_bm < 0, "birth_month"] = pd.NA
    snds_death = np.concatenate([m_death, o_death])
    snds_persons = pd.DataFrame(
        {
            "person_id": ben,
            "sex": np.concatenate([m_sex, o_sex]),
            "birth_year": np.concatenate([m_by, o_by]).astype("int16"),
            "birth_month": np.concatenate([m_bm, o_bm]).astype("int16"),
            "residence_dpt": np.concatenate([m_dpt, o_dpt]),
            "death_date": dates(snds_death),
            "centre": pd.Series([None] * len(ben), dtype="string"),
            "end_of_followup": dates(np.where(snds_death >= 0, snds_death, 5113)),
        }
    )
    dup = snds_persons[rng.random(len(ben)) < nz.two_nir].copy()
    dup["residence_dpt"] = None  # the second BEN_NIR_PSA row often lacks the residence
    snds_persons = pd.concat([snds_persons, dup], ignore_index=True)
    truth = pd.DataFrame({"odh_patient_id": odh_id[mi], "ben_idt_ano": ben_m})
    return {
        "odh_persons": odh_persons,
        "odh_stays": odh_stays,
        "snds_persons": snds_persons,
        "snds_stays": snds_stays,
        "truth": truth,
    }
