"""Decoys of the SNDS-only identification: persons of the SNDS who are NOT incident advanced NSCLC of the
study but whose claims look like it (small-cell lung cancer, stage III chemoradiation with durvalumab
consolidation, early stages with adjuvant chemotherapy or osimertinib, other cancers with a secondary C34
code or lung metastases, mesothelioma, advanced NSCLC diagnosed before the study period), the ALD
registrations (`IR_IMB_R`) of every person, and the identification truth table.

The decoys are drawn per block after the clinical truth (their own random stream) and rendered by
`render_snds` with the cohort's persons (they never enter the ODH, the gold standard nor the clinical
truth). Knobs: `simulate.identification_decoys` (docs/simulate.md, "Identification decoys").
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa

from lotluca.errors import ConfigError
from lotluca.simulate import arrowcols as A
from lotluca.simulate.cohort import CENTRES, EPOCH, LUNG_ICD, LUNG_ICD_P, opaque_ids, to_days
from lotluca.simulate.params import DecoySettings
from lotluca.simulate.treatment import ING, NEVER, PRIVATE, PUBLIC

TYPES = (
    "small_cell",
    "stage3_chemoradiation",
    "early_adjuvant_chemo",
    "early_adjuvant_osimertinib",
    "other_cancer",
    "mesothelioma",
    "prevalent",
)
# extra PMSI stays (`render_snds` appends these codes to its vocabularies)
RADIOTHERAPY_GHM, SURGERY_GHM = "28Z11Z", "04C022"  # external radiotherapy session; major thoracic surgery
RADIOTHERAPY_DGN = "Z510"
OTHER_CANCER_ICD = np.array(["C509", "C189", "C61", "C64", "C679", "C439"])  # breast, colon, prostate, kidney...
MESOTHELIOMA_ICD = "C450"
LUNG_METASTASIS_ICD, NODE_ICD = "C780", "C771"
ALD_CANCER, ALD_NAT = 30, 41  # ALD 30 (malignant tumours); IMB_ETM_NAT 41: exoneration for an ALD
OTHER_ALD_ICD = np.array(["E119", "I251", "I500", "J441"])  # unrelated older ALDs (diabetes, heart, COPD)
# per decoy type: share of PMSI stays with a distant-metastasis code (render_snds's METASTASIS_ICD; the
# advanced NSCLC of the cohort: 0.33) and the secondary code drawn on the other stays
MET_RATE = {
    "small_cell": 0.33,
    "stage3_chemoradiation": 0.0,
    "early_adjuvant_chemo": 0.01,
    "early_adjuvant_osimertinib": 0.01,
    "other_cancer": 0.33,
    "mesothelioma": 0.03,
    "prevalent": 0.33,
}
PATIENT_MET_RATE = 0.33


def shares(d: DecoySettings) -> np.ndarray:
    """The relative shares of the decoy types (`TYPES` order), summing to 1."""
    x = np.array([getattr(d, t) for t in TYPES], float)
    if x.sum() <= 0:
        raise ConfigError("simulate.identification_decoys: the shares of the decoy types sum to 0")
    return x / x.sum()


def count(d: DecoySettings, patients: int) -> int:
    """Decoys of a block of `patients` ODH patients."""
    return int(round(patients * d.ratio)) if d.enabled else 0


def _days(d) -> int:
    return to_days(d)


def draw_persons(rng, n: int, s, block_index: int, hosp_dpts: np.ndarray) -> pd.DataFrame:
    """`n` decoy persons with the columns `render_snds` reads, their type, diagnosis and death."""
    d: DecoySettings = s.identification_decoys
    start, end = _days(s.start_date), _days(s.end_date)
    kind = rng.choice(len(TYPES), size=n, p=shares(d))
    prevalent = kind == TYPES.index("prevalent")
    diag = rng.integers(start, max(start + 1, end - 60), size=n)
    back = (60 + rng.random(n) * (d.prevalent_years * 365.25 - 60)).astype(np.int64)
    diag = np.where(prevalent, start - back, diag)
    age = np.clip(rng.normal(s.age_mean, s.age_sd, size=n), 30, 92)
    birth_year = (EPOCH + diag.astype("timedelta64[D]")).astype("datetime64[Y]").astype(int) + 1970 - age.astype(int)
    lung = LUNG_ICD[rng.choice(LUNG_ICD.size, size=n, p=LUNG_ICD_P)]
    icd = np.where(kind == TYPES.index("other_cancer"), OTHER_CANCER_ICD[rng.integers(0, 6, n)], lung)
    icd = np.where(kind == TYPES.index("mesothelioma"), MESOTHELIOMA_ICD, icd)
    # secondary codes: other cancers carry a lung metastasis or a C34 on some stays, stage III its nodes
    ass = np.full(n, "", dtype=object)
    other = kind == TYPES.index("other_cancer")
    ass[other] = np.where(rng.random(int(other.sum())) < 0.6, LUNG_METASTASIS_ICD, "C349")
    ass[kind == TYPES.index("stage3_chemoradiation")] = NODE_ICD
    ass_rate = np.where(other, d.secondary_code_stays, np.where(ass == NODE_ICD, d.node_code_stays, 0.0))
    ids = opaque_ids(rng, 3 * n)
    two = rng.random(n) < s.noise.second_nir
    survival = {"small_cell": 330, "mesothelioma": 550, "prevalent": 600, "other_cancer": 1200}
    mean = np.array([survival.get(t, 0) for t in TYPES])[kind]
    dies = (mean > 0) | (rng.random(n) < 0.1)
    base = np.where(prevalent, start, diag)
    death = np.where(dies, base + 30 + rng.exponential(np.where(mean > 0, mean, 2000)), NEVER).astype(np.int64)
    return pd.DataFrame(
        {
            "sex": np.where(rng.random(n) < s.male_fraction, 1, 2).astype(np.int8),
            "birth_year": birth_year.astype(np.int16),
            "birth_month": rng.integers(1, 13, n).astype(np.int8),
            "dpt": hosp_dpts[rng.integers(0, hosp_dpts.size, n)],
            "nir1": ids[n : 2 * n],
            "nir2": np.where(two, ids[2 * n :], ""),
            "ben_idt_ano": ids[:n],
            "icd": icd,
            "diag": diag.astype(np.int32),
            "home_centre": rng.integers(0, max(1, min(s.centres, len(CENTRES))), n).astype(np.int8),
            "is_decoy": np.ones(n, bool),
            "met_rate": np.array([MET_RATE[t] for t in TYPES])[kind],
            "ass_icd": ass.astype(str),
            "ass_rate": ass_rate,
            "decoy_type": np.array(TYPES)[kind],
            "truth_person_id": np.char.add("D", np.char.zfill((block_index * 10**6 + np.arange(n)).astype(str), 9)),
            "death": death,
        }
    )


def _course(pid, start, cycles, every: int, ings: list[str], days=(0,), oral: bool = False) -> pd.DataFrame:
    """Administrations (or monthly boxes) of one regimen per person: `cycles[i]` cycles every `every` days
    from `start[i]`, each ingredient of `ings` on the cycle days `days`."""
    pid, start, cycles = (np.asarray(x, np.int64) for x in (pid, start, cycles))
    rep = np.repeat(np.arange(pid.size), cycles)
    k = np.arange(rep.size) - np.repeat(np.cumsum(cycles) - cycles, cycles)
    parts = []
    for ing in ings:
        for day in days:
            date = start[rep] + k * every + day
            parts.append(pd.DataFrame({"pid": pid[rep], "date": date, "ing": ING[ing], "oral": oral, "k": k}))
    if not parts:
        return pd.DataFrame(columns=["pid", "date", "ing", "oral", "k"])
    return pd.concat(parts, ignore_index=True)


def _early_week(rng, days: np.ndarray, spread: int = 3) -> np.ndarray:
    """Each day moved to one of the first `spread` weekdays of its week (Monday to Wednesday): a course of
    days 1-3 (days 1-5: spread 1, a Monday) has no day on a weekend (day 0, 1970-01-01, was a Thursday)."""
    days = np.asarray(days, np.int64)
    return days - (days + 3) % 7 + rng.integers(0, spread, days.size)


def _pick(rng, mask: np.ndarray, p: float) -> tuple[np.ndarray, np.ndarray]:
    """Indexes of `mask` split by a coin of probability p: (heads, tails)."""
    idx = np.flatnonzero(mask)
    u = rng.random(idx.size) < p
    return idx[u], idx[~u]


def _small_cell(rng, P: pd.DataFrame, t0: np.ndarray) -> list[pd.DataFrame]:
    """Carboplatin (or cisplatin) + etoposide days 1-3, 4 cycles q21, with atezolizumab or durvalumab from
    day 1 for most, then immunotherapy maintenance; topotecan at relapse for some."""
    sc = P["decoy_type"].to_numpy() == "small_cell"
    idx = np.flatnonzero(sc)
    out = [
        _course(idx, t0[idx], np.full(idx.size, 4), 21, ["carboplatin"]),
        _course(idx, t0[idx], np.full(idx.size, 4), 21, ["etoposide"], days=(0, 1, 2)),
    ]
    atezo, rest = _pick(rng, sc, 0.6)
    durva = rest[rng.random(rest.size) < 0.75]
    for ing, who, every in (("atezolizumab", atezo, 21), ("durvalumab", durva, 28)):
        n_maint = 1 + rng.geometric(1 / 6, who.size)
        out.append(_course(who, t0[who], np.full(who.size, 4), 21, [ing]))
        out.append(_course(who, t0[who] + 84, n_maint, every, [ing]))
    relapse, _ = _pick(rng, sc, 0.4)
    out.append(
        _course(
            relapse,
            _early_week(rng, t0[relapse] + 240 + rng.integers(0, 120, relapse.size), spread=1),
            np.full(relapse.size, 4),
            21,
            ["topotecan"],
            days=(0, 1, 2, 3, 4),
        )
    )
    return out


def _stage3(rng, P: pd.DataFrame, t0: np.ndarray) -> tuple[list[pd.DataFrame], pd.DataFrame]:
    """Concurrent chemoradiation (cisplatin + vinorelbine or carboplatin + paclitaxel, 2 cycles q21; 30
    radiotherapy sessions on weekdays), then durvalumab consolidation q14 for up to a year for most."""
    s3 = P["decoy_type"].to_numpy() == "stage3_chemoradiation"
    cis, carbo = _pick(rng, s3, 0.6)
    out = [
        _course(cis, t0[cis], np.full(cis.size, 2), 21, ["cisplatin", "vinorelbine"]),
        _course(carbo, t0[carbo], np.full(carbo.size, 6), 7, ["carboplatin", "paclitaxel"]),
    ]
    idx = np.flatnonzero(s3)
    weeks = np.repeat(idx, 30)
    j = np.tile(np.arange(30), idx.size)
    rt = pd.DataFrame({"pid": weeks, "date": t0[weeks] + (j // 5) * 7 + j % 5, "ghm": RADIOTHERAPY_GHM})
    durva, _ = _pick(rng, s3, 0.8)
    n = np.minimum(26, 1 + rng.geometric(1 / 20, durva.size))  # a year at most, some stop early (toxicity)
    out.append(_course(durva, t0[durva] + 42 + rng.integers(7, 35, durva.size), n, 14, ["durvalumab"]))
    return out, rt


def _early(rng, P: pd.DataFrame, t0: np.ndarray) -> tuple[list[pd.DataFrame], pd.DataFrame]:
    """Lung resection, then adjuvant cisplatin + vinorelbine (4 cycles q21) and/or osimertinib (monthly
    boxes, up to 3 years)."""
    typ = P["decoy_type"].to_numpy()
    early = np.isin(typ, ["early_adjuvant_chemo", "early_adjuvant_osimertinib"])
    idx = np.flatnonzero(early)
    surgery = pd.DataFrame({"pid": idx, "date": t0[idx], "ghm": SURGERY_GHM})
    chemo_mask = (typ == "early_adjuvant_chemo") | ((typ == "early_adjuvant_osimertinib") & (rng.random(len(P)) < 0.5))
    chemo = np.flatnonzero(chemo_mask)
    c0 = t0 + 35 + rng.integers(0, 25, len(P))
    out = [_course(chemo, c0[chemo], np.full(chemo.size, 4), 21, ["cisplatin", "vinorelbine"])]
    osi = np.flatnonzero(typ == "early_adjuvant_osimertinib")
    o0 = np.where(chemo_mask, c0 + 84, t0 + 42)[osi] + rng.integers(7, 30, osi.size)
    out.append(_course(osi, o0, np.full(osi.size, 36), 30, ["osimertinib"], oral=True))
    return out, surgery


def _other_and_meso(rng, P: pd.DataFrame, t0: np.ndarray) -> list[pd.DataFrame]:
    """Other cancers: docetaxel q21 x6 (breast, prostate), nivolumab q14 (kidney, melanoma) or carboplatin
    + gemcitabine then pembrolizumab (bladder). Mesothelioma: cisplatin + pemetrexed x6 q21 (bevacizumab
    for some) or nivolumab q14 + ipilimumab q42."""
    typ = P["decoy_type"].to_numpy()
    other = typ == "other_cancer"
    u = rng.random(len(P))
    doce, nivo, blad = (np.flatnonzero(other & m) for m in (u < 0.5, (u >= 0.5) & (u < 0.75), u >= 0.75))
    n_io = 1 + rng.geometric(1 / 10, len(P))
    out = [
        _course(doce, t0[doce], np.full(doce.size, 6), 21, ["docetaxel"]),
        _course(nivo, t0[nivo], n_io[nivo], 14, ["nivolumab"]),
        _course(blad, t0[blad], np.full(blad.size, 4), 21, ["carboplatin", "gemcitabine"]),
        _course(blad, t0[blad] + 120, n_io[blad], 21, ["pembrolizumab"]),
    ]
    meso = typ == "mesothelioma"
    chemo = np.flatnonzero(meso & (u < 0.6))
    io = np.flatnonzero(meso & (u >= 0.6))
    out.append(_course(chemo, t0[chemo], np.full(chemo.size, 6), 21, ["cisplatin", "pemetrexed"]))
    bev = chemo[rng.random(chemo.size) < 0.3]
    out.append(_course(bev, t0[bev], np.full(bev.size, 6), 21, ["bevacizumab"]))
    out.append(_course(io, t0[io], n_io[io], 14, ["nivolumab"]))
    out.append(_course(io, t0[io], np.ceil(n_io[io] / 3).astype(np.int64), 42, ["ipilimumab"]))
    return out


def _prevalent(rng, P: pd.DataFrame, t0: np.ndarray, start: int) -> list[pd.DataFrame]:
    """Advanced NSCLC diagnosed before the study, still treated in it: osimertinib (monthly boxes),
    pembrolizumab maintenance q21, or a later line (docetaxel, nivolumab) started before the study."""
    prev = P["decoy_type"].to_numpy() == "prevalent"
    u = rng.random(len(P))
    osi, pembro, later = (np.flatnonzero(prev & m) for m in (u < 0.3, (u >= 0.3) & (u < 0.8), u >= 0.8))
    until = start + 60 + rng.integers(0, 400, len(P))  # treated into the study period
    n_month = np.maximum(1, (until - t0) // 30)
    n_q21 = np.maximum(1, (until - t0) // 21)
    n_q14 = np.maximum(1, (until - t0) // 14)
    split = later[rng.random(later.size) < 0.5]
    nivo = np.setdiff1d(later, split)
    return [
        _course(osi, t0[osi], n_month[osi], 30, ["osimertinib"], oral=True),
        _course(pembro, t0[pembro], n_q21[pembro], 21, ["pembrolizumab"]),
        _course(
            pembro[u[pembro] < 0.55], t0[pembro[u[pembro] < 0.55]], n_q21[pembro[u[pembro] < 0.55]], 21, ["pemetrexed"]
        ),
        _course(split, t0[split], np.minimum(n_q21[split], 6), 21, ["docetaxel"]),
        _course(nivo, t0[nivo], n_q14[nivo], 14, ["nivolumab"]),
    ]


def draw(rng, s, block_index: int, n: int, hosp_dpts: np.ndarray, n_base: int) -> dict:
    """The decoys of one block: persons (pid from `n_base`), events (the columns `render_snds` reads), extra
    stays (radiotherapy sessions, lung resections) and death days."""
    P = draw_persons(rng, n, s, block_index, hosp_dpts)
    start, end = _days(s.start_date), _days(s.end_date)
    t0 = _early_week(rng, P["diag"].to_numpy().astype(np.int64) + rng.integers(10, 35, n))
    courses = _small_cell(rng, P, t0) + _other_and_meso(rng, P, t0) + _prevalent(rng, P, t0, start)
    s3, rt = _stage3(rng, P, t0)
    early, surgery = _early(rng, P, t0)
    ev = pd.concat([c for c in [*courses, *s3, *early] if len(c)] or [_course([], [], [], 1, [])], ignore_index=True)
    death = P["death"].to_numpy()
    pid = ev["pid"].to_numpy().astype(np.int64)
    date = ev["date"].to_numpy().astype(np.int64)
    weekend = (date + 3) % 7 >= 5  # day 0 (1970-01-01) was a Thursday: hospitals move cycles to Monday
    date = np.where(~ev["oral"].to_numpy() & weekend, date + (7 - (date + 3) % 7), date)
    keep = (date < np.minimum(death[pid], end + 1)) & (date >= start - 365)  # within the extract's window
    ev = ev.assign(date=date)[keep].sort_values(["pid", "date", "ing"], kind="stable").reset_index(drop=True)
    oral = ev["oral"].to_numpy()
    setting = np.where(oral, 3, np.where(rng.random(len(ev)) < 0.3, PRIVATE, PUBLIC)).astype(np.int8)
    first = ~ev.duplicated(["pid", "ing"]).to_numpy()
    events = pd.DataFrame(
        {
            "pid": (ev["pid"].to_numpy() + n_base).astype(np.int32),
            "date": ev["date"].to_numpy().astype(np.int32),
            "end_date": (ev["date"].to_numpy() + np.where(oral, 29, 0)).astype(np.int32),
            "ing": ev["ing"].to_numpy().astype(np.int16),
            "oral": oral,
            "setting": setting,
            "line_setting": np.full(len(ev), PUBLIC, np.int8),
            "first_of_line": first,
            "boxes": np.ones(len(ev), np.int8),
        }
    )
    stays = pd.concat([rt, surgery], ignore_index=True)
    sd = stays["date"].to_numpy().astype(np.int64)
    ok = (sd < np.minimum(death[stays["pid"].to_numpy()], end + 1)) & (sd >= start - 365)
    stays = stays[ok].assign(pid=lambda x: x["pid"] + n_base, date=lambda x: x["date"].astype(np.int64))
    stays["len"] = np.where(stays["ghm"].to_numpy() == SURGERY_GHM, 6, 0)
    stays["dgn"] = np.where(stays["ghm"].to_numpy() == RADIOTHERAPY_GHM, RADIOTHERAPY_DGN, "")
    P["pid"] = np.arange(n_base, n_base + n, dtype=np.int32)
    return {"persons": P, "events": events, "stays": stays.reset_index(drop=True), "death": death}


IMB_COLUMNS = ("ben", "nir", "dtd", "icd", "ald")


def ald_table(rng, nir: np.ndarray, diag: np.ndarray, icd: np.ndarray, d: DecoySettings) -> pa.Table:
    """IR_IMB_R: an ALD 30 registration (the person's cancer code) for `ald_registered` of the persons, a
    few weeks after the diagnosis, and an older unrelated ALD for `ald_other` of them."""
    n = nir.size
    reg = np.flatnonzero(rng.random(n) < d.ald_registered)
    oth = np.flatnonzero(rng.random(n) < d.ald_other)
    dtd = np.concatenate([diag[reg] + rng.integers(0, 75, reg.size), diag[oth] - rng.integers(200, 3000, oth.size)])
    who = np.concatenate([reg, oth])
    code = np.concatenate([icd[reg].astype(str), OTHER_ALD_ICD[rng.integers(0, OTHER_ALD_ICD.size, oth.size)]])
    num = np.concatenate([np.full(reg.size, ALD_CANCER), np.where(rng.random(oth.size) < 0.5, 8, 13)])
    order = np.lexsort((dtd, who))
    who, dtd, code, num = who[order], dtd[order], code[order], num[order]
    m = who.size
    columns = {
        "BEN_NIR_PSA": pa.array(nir[who].astype(str), pa.string()),
        "BEN_RNG_GEM": np.ones(m, np.int64),
        "IMB_ALD_DTD": A.date32(dtd),
        "IMB_ALD_DTF": A.date32(dtd + 5 * 365),
        "IMB_ALD_NUM": num.astype(np.int64),
        "IMB_ETM_NAT": np.full(m, ALD_NAT, np.int64),
        "MED_MTF_COD": pa.array(code, pa.string()),
        "INS_DTE": A.date32(dtd + 20),
    }
    return A.build_snds("IR_IMB_R", columns, m)


TRUTH_SCHEMA = pa.schema(
    [
        ("ben_idt_ano", pa.string()),  # the SNDS person
        ("truth_person_id", pa.string()),
        ("odh_patient_id", pa.string()),  # null outside the cancer centres
        ("person_type", pa.string()),  # odh_patient | snds_patient | a decoy type of `TYPES`
        ("advanced_nsclc", pa.bool_()),  # incident advanced NSCLC of the study period (what identify should find)
        ("diagnosis_date", pa.date32()),  # advanced diagnosis (decoys: diagnosis of their disease)
    ]
)


def truth_table(persons: pd.DataFrame, dec: pd.DataFrame | None) -> pa.Table:
    """truth/identification_truth: every SNDS person of the block, whether identify should find them."""
    odh = persons["odh_patient_id"].to_numpy().astype(str)
    ptype = np.where(persons["is_decoy"].to_numpy(), "snds_patient", "odh_patient")
    ben = persons["ben_idt_ano"].to_numpy().astype(str)
    tid = persons["truth_person_id"].to_numpy().astype(str)
    diag = persons["diag"].to_numpy().astype(np.int64)
    adv = np.ones(len(persons), bool)
    if dec is not None and len(dec):
        odh = np.concatenate([odh, np.full(len(dec), "")])
        ptype = np.concatenate([ptype, dec["decoy_type"].to_numpy().astype(str)])
        ben = np.concatenate([ben, dec["ben_idt_ano"].to_numpy().astype(str)])
        tid = np.concatenate([tid, dec["truth_person_id"].to_numpy().astype(str)])
        diag = np.concatenate([diag, dec["diag"].to_numpy().astype(np.int64)])
        adv = np.concatenate([adv, np.zeros(len(dec), bool)])
    return pa.Table.from_arrays(
        [
            pa.array(ben),
            pa.array(tid),
            pa.array(odh, mask=odh == ""),
            pa.array(ptype),
            pa.array(adv),
            A.date32(diag),
        ],
        schema=TRUTH_SCHEMA,
    )


RENDER_PERSON = ("sex", "birth_year", "birth_month", "dpt", "nir1", "nir2", "ben_idt_ano", "icd", "diag")
RENDER_PERSON += ("home_centre", "is_decoy", "met_rate", "ass_icd", "ass_rate")
RENDER_EVENT = ("pid", "date", "end_date", "ing", "oral", "setting", "line_setting", "first_of_line", "boxes")


def stream(seed: int, block_index: int) -> np.random.Generator:
    """The decoys' own generator of a block (independent of the block's ten streams: the cohort drawn
    from a seed does not change with the decoys)."""
    return np.random.default_rng(np.random.SeedSequence(int(seed), spawn_key=(block_index + 1, 1000)))


def block_decoys(seed: int, block, s, persons: pd.DataFrame, events: pd.DataFrame, death: np.ndarray, hosp) -> dict:
    """What `render_snds` renders for one block: the cohort's persons, events and deaths followed by the
    block's decoys ("render": (persons, events, death)), the decoys' extra stays ("stays", None when
    none), their persons ("persons", None when none) and the IR_IMB_R table of everybody ("ald")."""
    d: DecoySettings = s.identification_decoys
    rng = stream(seed, block.index)
    n = count(d, block.patients)
    frailty = [c for c in ("ecog", "charlson") if c in persons]  # simulate.comorbidity renders them (decoys: none)
    base = persons.assign(met_rate=PATIENT_MET_RATE, ass_icd="", ass_rate=0.0)[[*RENDER_PERSON, *frailty]]
    out = {"render": (base, events, death), "stays": None, "persons": None}
    if n:
        D = draw(rng, s, block.index, n, hosp.dpts, len(persons))
        rp = pd.concat([base, D["persons"][list(RENDER_PERSON)]], ignore_index=True)
        re = pd.concat([events[list(RENDER_EVENT)], D["events"]], ignore_index=True)
        out.update(render=(rp, re, np.concatenate([death, D["death"]])), stays=D["stays"], persons=D["persons"])
    rp = out["render"][0]
    out["ald"] = ald_table(rng, rp["nir1"].to_numpy(), rp["diag"].to_numpy().astype(np.int64), rp["icd"].to_numpy(), d)
    return out
