"""Draw canonical ODH and SNDS persons/stays (and the true links) fast, for linkage tests and benchmarks.

Not the study simulator (lotluca.simulate): a vectorised generator of exactly what the linkage reads,
with the traps that matter: demographic noise, PMSI stays missing or shifted by a day, SNDS decoys
treated at the same centres, decoys with the same demographics as an ODH patient, and SNDS persons
seen through two BEN_NIR_PSA (duplicated person rows).
"""

from __future__ import annotations

from dataclasses import dataclass
from types import SimpleNamespace

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


def _draw_odh(rng, n_odh: int, nz: Noise, centres, dpts, mean_stays: float) -> SimpleNamespace:
    """The ODH patients: demographics, diagnosis, death, their centre stays (`stays`, a frame)."""
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
    stays = pd.DataFrame(
        {"person_id": odh_id[owner], "hospital": centre[owner], "admission_date": DAY0 + days.astype("timedelta64[D]")}
    )
    odh_bm = np.where(rng.random(n_odh) < nz.birth_month_missing, -1, bm)
    odh_death = np.where(dead & (rng.random(n_odh) < nz.odh_death_known), death, -1)
    return SimpleNamespace(
        n=n_odh,
        id=odh_id,
        sex=sex,
        by=by,
        bm=bm,
        dpt=dpt,
        centre=centre,
        diag=diag,
        death=death,
        owner=owner,
        days=days,
        stays=stays,
        odh_bm=odh_bm,
        odh_death=odh_death,
    )


def _draw_counterparts(rng, o: SimpleNamespace, nz: Noise, n_snds: int, others, dpts) -> SimpleNamespace:
    """The SNDS counterparts of the ODH patients, with demographic noise, and their PMSI stays (`stays`:
    lists of owner, hospital, day and C34 flag arrays, extended by `_draw_decoys`)."""
    matched = rng.random(o.n) < nz.in_snds
    n_m = int(matched.sum())
    n_other = max(n_snds - n_m, 0)
    ben = _ids("BEN", n_m + n_other, rng, 9)
    mi = np.flatnonzero(matched)
    m_sex = o.sex[mi].copy()
    flip = rng.random(n_m) < nz.sex_error
    m_sex[flip] = np.where(m_sex[flip] == "M", "F", "M")
    m_by = o.by[mi] + np.where(rng.random(n_m) < nz.birth_year_error, rng.choice([-1, 1], n_m), 0)
    m_bm = np.where(rng.random(n_m) < nz.birth_month_error, rng.integers(1, 13, n_m), o.bm[mi])
    m_dpt = np.where(rng.random(n_m) < nz.dpt_moved, rng.choice(dpts, n_m), o.dpt[mi])
    # PMSI stays of the counterparts: kept, shifted, plus care elsewhere
    pos = np.full(o.n, -1)
    pos[mi] = np.arange(n_m)
    keep = (pos[o.owner] >= 0) & (rng.random(o.owner.size) < nz.stay_kept)
    shift = np.where(rng.random(o.owner.size) < nz.stay_shift, rng.choice([-1, 1], o.owner.size), 0)
    s_owner = [pos[o.owner][keep]]
    s_hosp = [o.centre[o.owner][keep]]
    s_day = [(o.days + shift)[keep]]
    o2, d2 = _stay_days(rng, n_m, o.diag[mi], 3.0)
    s_owner.append(o2)
    s_hosp.append(rng.choice(others, o2.size))
    s_day.append(d2)
    # every lung-cancer beneficiary has a diagnosis stay (main diagnosis C34) up to 14 days before diagnosis
    s_owner.append(np.arange(n_m))
    s_hosp.append(np.where(rng.random(n_m) < 0.5, o.centre[mi], rng.choice(others, n_m)))
    s_day.append(o.diag[mi] - rng.integers(0, 15, n_m))
    s_c34 = [np.zeros(sum(x.size for x in s_owner[:-1]), bool), np.ones(n_m, bool)]
    return SimpleNamespace(
        n=n_m,
        n_other=n_other,
        ben=ben,
        mi=mi,
        sex=m_sex,
        by=m_by,
        bm=m_bm,
        dpt=m_dpt,
        death=o.death[mi],
        stays=(s_owner, s_hosp, s_day, s_c34),
    )


def _draw_decoys(rng, o: SimpleNamespace, m: SimpleNamespace, nz: Noise, centres, others, dpts) -> SimpleNamespace:
    """The other lung-cancer beneficiaries: some treated at the centres, some copying an ODH patient's
    demographics; their stays are appended to `m.stays`."""
    n_other, n_m = m.n_other, m.n
    s_owner, s_hosp, s_day, s_c34 = m.stays
    o_sex = rng.choice(np.array(["M", "F"]), n_other)
    o_by = rng.integers(1930, 1976, n_other)
    o_bm = rng.integers(1, 13, n_other)
    o_dpt = rng.choice(dpts, n_other)
    n_copy = min(int(nz.same_demographics_decoys * o.n), n_other)
    src = rng.choice(o.n, n_copy, replace=False)
    o_sex[:n_copy], o_by[:n_copy], o_bm[:n_copy], o_dpt[:n_copy] = o.sex[src], o.by[src], o.bm[src], o.dpt[src]
    o_start = rng.integers(0, 4500, n_other)
    at_centre = rng.random(n_other) < nz.decoy_at_centres
    at_centre[:n_copy] = True
    o_home = np.where(at_centre, rng.choice(centres, n_other), rng.choice(others, n_other))
    o_home[:n_copy] = o.centre[src]
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
    return SimpleNamespace(sex=o_sex, by=o_by, bm=o_bm, dpt=o_dpt, death=o_death)


def _dates(x: np.ndarray) -> pd.Series:
    """Day numbers from DAY0 as dates (negative: missing)."""
    out = pd.Series(DAY0 + x.astype("timedelta64[D]"))
    return out.where(x >= 0)


def _frames(rng, o: SimpleNamespace, m: SimpleNamespace, d: SimpleNamespace, nz: Noise) -> dict[str, pd.DataFrame]:
    """The canonical-like frames of the drawn ODH patients (`o`), counterparts (`m`) and decoys (`d`)."""
    s_owner, s_hosp, s_day, s_c34 = m.stays
    ben = m.ben
    snds_stays = pd.DataFrame(
        {
            "person_id": ben[np.concatenate(s_owner)],
            "hospital": np.concatenate(s_hosp),
            "admission_date": DAY0 + np.concatenate(s_day).astype("timedelta64[D]"),
            "main_diagnosis": np.where(np.concatenate(s_c34), "C341", "Z511"),
        }
    )
    odh_persons = pd.DataFrame(
        {
            "person_id": o.id,
            "sex": o.sex,
            "birth_year": o.by.astype("int16"),
            "birth_month": pd.array(np.where(o.odh_bm > 0, o.odh_bm, 0), dtype="Int16").astype("Int16"),
            "residence_dpt": o.dpt,
            "death_date": _dates(o.odh_death),
            "centre": o.centre,
            "end_of_followup": _dates(np.where(o.odh_death >= 0, o.odh_death, 5113)),
            "diagnosis_date": _dates(o.diag),
        }
    )
    odh_persons.loc[o.odh_bm < 0, "birth_month"] = pd.NA
    snds_death = np.concatenate([m.death, d.death])
    snds_persons = pd.DataFrame(
        {
            "person_id": ben,
            "sex": np.concatenate([m.sex, d.sex]),
            "birth_year": np.concatenate([m.by, d.by]).astype("int16"),
            "birth_month": np.concatenate([m.bm, d.bm]).astype("int16"),
            "residence_dpt": np.concatenate([m.dpt, d.dpt]),
            "death_date": _dates(snds_death),
            "centre": pd.Series([None] * len(ben), dtype="string"),
            "end_of_followup": _dates(np.where(snds_death >= 0, snds_death, 5113)),
        }
    )
    dup = snds_persons[rng.random(len(ben)) < nz.two_nir].copy()
    dup["residence_dpt"] = None  # the second BEN_NIR_PSA row often lacks the residence
    snds_persons = pd.concat([snds_persons, dup], ignore_index=True)
    truth = pd.DataFrame({"odh_patient_id": o.id[m.mi], "ben_idt_ano": ben[: m.n]})
    return {
        "odh_persons": odh_persons,
        "odh_stays": o.stays,
        "snds_persons": snds_persons,
        "snds_stays": snds_stays,
        "truth": truth,
    }


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
    odh = _draw_odh(rng, n_odh, nz, centres, dpts, mean_stays)
    counterparts = _draw_counterparts(rng, odh, nz, n_snds, others, dpts)
    decoys = _draw_decoys(rng, odh, counterparts, nz, centres, others, dpts)
    return _frames(rng, odh, counterparts, decoys, nz)
