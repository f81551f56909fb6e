"""Comorbidities of the synthetic cohort rendered in the PMSI: each person's Charlson index (drawn by
`simulate.confounding`) split into Charlson conditions, and hospital stays in the year before the
advanced diagnosis that carry them as ICD-10 diagnoses (main DGN_PAL or associated T_MCOaaD ASS_DGN),
so that a Charlson index and a count of prior stays can be computed from the data
(`lotluca.effectiveness.proxies`). docs/simulate.md, "Comorbidities in the PMSI".

Per person (`simulate.comorbidity`; rates are assumptions):
- conditions: the Charlson score (lung cancer excluded) is split into conditions of the Quan et al. 2005
  ICD-10 algorithm (`scripts/lotluca/data/charlson_quan2005.csv`) whose Charlson weights sum to it, drawn
  one after the other with the relative frequencies `FREQUENCY` (COPD first), at most one of each pair
  diabetes with / without complication and mild / moderate-severe liver disease;
- each condition is coded (`coded`) on a stay of its own (DGN_PAL one of its `CODES`), dated uniformly
  in [diagnosis - 365, diagnosis - 20] days, at the public hospital of the person's departement;
- other stays (Poisson, `other_stays` x `other_stays_rr_ecog` ** ECOG a person) with a non-Charlson main
  diagnosis (pneumonia, dyspnoea, anaemia, malaise) in the same window;
- on every such stay, each other coded condition of the person is an associated diagnosis with
  probability `das_share`.
The stays take RSA_NUM after the block's other stays, return-code errors at `noise.pmsi_return_error`,
and are drawn from a random stream of their own (derived from the rendering stream without consuming
it): the other tables, and the other stays' numbers, do not change with these knobs.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import resources

import numpy as np
import pandas as pd
import pyarrow as pa

from lotluca.config import Settings
from lotluca.simulate import arrowcols as A

STREAM_KEY = 1020  # spawn key of the comorbidity stream under the block's rendering stream
QUAN_CSV = "charlson_quan2005.csv"
# relative frequency of each condition among the Charlson conditions of lung-cancer patients (assumption,
# of the order of comorbidity surveys of NSCLC cohorts: chronic pulmonary disease the most frequent)
FREQUENCY = {
    "chronic_pulmonary_disease": 0.35,
    "diabetes_without_complication": 0.12,
    "peripheral_vascular_disease": 0.09,
    "congestive_heart_failure": 0.08,
    "cerebrovascular_disease": 0.07,
    "myocardial_infarction": 0.07,
    "renal_disease": 0.05,
    "diabetes_with_complication": 0.04,
    "mild_liver_disease": 0.03,
    "peptic_ulcer_disease": 0.03,
    "rheumatic_disease": 0.02,
    "dementia": 0.02,
    "hemiplegia_paraplegia": 0.01,
    "moderate_severe_liver_disease": 0.01,
    "aids_hiv": 0.005,
}
EXCLUSIVE = (
    ("diabetes_without_complication", "diabetes_with_complication"),
    ("mild_liver_disease", "moderate_severe_liver_disease"),
)
# ICD-10 codes a coder would write for each condition (each within the condition's Quan prefixes; tested)
CODES = {
    "myocardial_infarction": ["I219", "I252"],
    "congestive_heart_failure": ["I500", "I501", "I509", "I110"],
    "peripheral_vascular_disease": ["I702", "I739", "I714"],
    "cerebrovascular_disease": ["I639", "I64", "G459", "I693"],
    "dementia": ["F03", "G309", "F019"],
    "chronic_pulmonary_disease": ["J449", "J441", "J439", "J459", "J47"],
    "rheumatic_disease": ["M069", "M059", "M321"],
    "peptic_ulcer_disease": ["K259", "K269", "K279"],
    "mild_liver_disease": ["K709", "K746", "B182", "K760"],
    "diabetes_without_complication": ["E119", "E109", "E149"],
    "diabetes_with_complication": ["E112", "E113", "E115", "E102"],
    "hemiplegia_paraplegia": ["G819", "G822", "G830"],
    "renal_disease": ["N184", "N185", "N189", "I120", "Z992"],
    "moderate_severe_liver_disease": ["I850", "K729", "K766"],
    "aids_hiv": ["B24", "B209"],
}
GHM = "23M20T"  # medical stay (GHM of the comorbidity stays; sessions 28... and errors 90... excluded)
OTHER_DIAGNOSES = ["J189", "R060", "D649", "R53"]  # main diagnoses of the other prior stays (not Charlson)
WINDOW = (365, 20)  # stays dated in [diagnosis - 365, diagnosis - 20] days


@dataclass(frozen=True)
class ComorbiditySettings(Settings):
    """The `simulate.comorbidity` block (defaults and meaning in the config schema; docs/simulate.md)."""

    enabled: bool
    coded: float
    das_share: float
    other_stays: float
    other_stays_rr_ecog: float


@cache
def quan() -> pd.DataFrame:
    """The Quan et al. 2005 ICD-10 Charlson algorithm: condition, weight, code (prefix without dot)."""
    with resources.files("lotluca.data").joinpath(QUAN_CSV).open() as fh:
        return pd.read_csv(fh, comment="#", dtype={"condition": str, "weight": int, "code": str})


def conditions() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(names, Charlson weights, relative frequencies) of the conditions the generator draws."""
    w = quan().groupby("condition")["weight"].first()
    names = np.array(list(FREQUENCY))
    return names, w.loc[names].to_numpy(int), np.array([FREQUENCY[c] for c in names])


def split_score(rng: np.random.Generator, score: np.ndarray) -> np.ndarray:
    """Boolean matrix persons x conditions (`conditions()` order) whose weights sum to each score."""
    names, weight, freq = conditions()
    k = names.size
    score = np.asarray(score, int)
    has = np.zeros((score.size, k), bool)
    left = score.copy()
    pos = {c: i for i, c in enumerate(names)}
    for _ in range(int(score.max(initial=0))):  # each round adds one condition to every person still short
        todo = np.flatnonzero(left > 0)
        if todo.size == 0:
            break
        ok = ~has[todo] & (weight[None, :] <= left[todo, None])
        for a, b in EXCLUSIVE:
            either = has[todo, pos[a]] | has[todo, pos[b]]
            ok[either, pos[a]] = ok[either, pos[b]] = False
        p = ok * freq[None, :]
        cum = np.cumsum(p, axis=1)
        pick = (cum < rng.random(todo.size)[:, None] * cum[:, -1:]).sum(axis=1)
        has[todo, pick] = True
        left[todo] -= weight[pick]
    return has


def stream(rng: np.random.Generator) -> np.random.Generator:
    """The comorbidity random stream of a block: a child of `rng`'s seed that leaves `rng` untouched."""
    ss = rng.bit_generator.seed_seq
    return np.random.default_rng(np.random.SeedSequence(ss.entropy, spawn_key=(*ss.spawn_key, STREAM_KEY)))


def draw_stays(rng: np.random.Generator, persons: pd.DataFrame, s) -> tuple[dict, dict]:
    """The prior stays of every person before numbering: stays (pid, date, len, dgn code) and their
    associated diagnoses (stay index, code)."""
    c = s.comorbidity
    diag = persons["diag"].to_numpy().astype(np.int64)
    charlson = pd.to_numeric(persons["charlson"], errors="coerce").fillna(-1).to_numpy().astype(int)
    ecog = np.maximum(pd.to_numeric(persons["ecog"], errors="coerce").fillna(0).to_numpy().astype(int), 0)
    n = len(persons)
    names = conditions()[0]
    has = split_score(rng, np.maximum(charlson, 0)) & (rng.random((n, names.size)) < c.coded)
    width = max(len(v) for v in CODES.values())
    table = np.array([(CODES[x] * width)[:width] for x in names], dtype=object)  # conditions x codes
    lens = np.array([len(CODES[x]) for x in names])
    code_of = table[:, 0]  # the code of a condition as an associated diagnosis
    pid_c, cond = np.nonzero(has)
    own = table[cond, rng.integers(0, 1 << 30, cond.size) % lens[cond]]  # main diagnosis of its own stay
    n_other = rng.poisson(c.other_stays * c.other_stays_rr_ecog**ecog)
    pid_o = np.repeat(np.arange(n), n_other)
    other = np.array(OTHER_DIAGNOSES, dtype=object)[rng.integers(0, len(OTHER_DIAGNOSES), pid_o.size)]
    pid = np.concatenate([pid_c, pid_o]).astype(np.int64)
    stay_cond = np.concatenate([cond, np.full(pid_o.size, -1)])
    lo, hi = WINDOW
    stays = {
        "pid": pid,
        "date": diag[pid] - rng.integers(hi, lo + 1, pid.size),
        "len": rng.integers(1, 11, pid.size),
        "dgn": np.concatenate([own, other]).astype(str),
    }
    # associated diagnoses: every other coded condition of the person, on each of its stays (das_share)
    counts = has.sum(axis=1)
    reps = counts[pid]
    s_idx = np.repeat(np.arange(pid.size), reps)
    starts = np.cumsum(counts) - counts
    offs = np.arange(reps.sum()) - np.repeat(np.cumsum(reps) - reps, reps)
    a_cond = cond[starts[pid[s_idx]] + offs] if cond.size else np.zeros(0, int)
    keep = (a_cond != stay_cond[s_idx]) & (rng.random(s_idx.size) < c.das_share)
    das = {"stay": s_idx[keep], "code": code_of[a_cond[keep]].astype(str)}
    return stays, das


def pmsi_tables(rng, persons: pd.DataFrame, V: dict, s, FIN, FIN_INT, rsa_first: int) -> dict | None:
    """T_MCOaaB, T_MCOaaC and T_MCOaaD rows of the prior stays (RSA_NUM from `rsa_first` + 1), or None
    when the block is off or the persons carry no Charlson index."""
    from lotluca.simulate.blocks import ROW_STRIDE, check_capacity
    from lotluca.simulate.cohort import CENTRES, to_days

    if not s.comorbidity.enabled or "charlson" not in persons or not (persons["charlson"].fillna(-1) >= 0).any():
        return None
    S, D = draw_stays(rng, persons, s)
    keep = np.flatnonzero((S["date"] >= to_days(s.start_date) - 365) & (S["date"] <= to_days(s.end_date)))
    check_capacity(rsa_first % ROW_STRIDE + keep.size, ROW_STRIDE, "PMSI stays")
    new = np.full(S["pid"].size, -1, np.int64)
    new[keep] = np.arange(keep.size)
    S = {k: v[keep] for k, v in S.items()}
    d = new[D["stay"]] >= 0
    D = {"stay": new[D["stay"][d]], "code": D["code"][d]}
    n = keep.size
    h = len(CENTRES) + V["dpt_idx"][S["pid"]]
    rsa = rsa_first + 1 + np.arange(n, dtype=np.int64)
    sor = S["date"] + S["len"]
    d64 = (np.datetime64("1970-01-01") + sor.astype("timedelta64[D]")).astype("datetime64[M]").astype(np.int64)
    sy, sm = d64 // 12 + 1970, d64 % 12 + 1
    P = V["P"]
    b = {
        "ETA_NUM": FIN_INT[h],
        "RSA_NUM": rsa,
        "GRG_GHM": pa.array(np.full(n, GHM)),
        "DGN_PAL": pa.array(S["dgn"], pa.string()),
        "DGN_REL": pa.nulls(n, pa.string()),
        "SEJ_NBJ": S["len"].astype(np.int64),
        "NBR_SEA": np.zeros(n, np.int64),
        "AGE_ANN": (sy - P["birth_year"][S["pid"]]).astype(np.int64),
        "COD_SEX": A.take(A.vocab(["", "1", "2"]), P["sex"][S["pid"]]),
        "SOR_ANN": sy.astype(np.int16),
        "SOR_MOI": A.month_text(sm),
        "BDI_DEP": A.take(V["DPT"], S["pid"]),
        "NBR_RUM": np.ones(n, np.int64),
    }
    err = rng.random(n) < s.noise.pmsi_return_error
    ZO = A.vocab(["0", "1"])
    c = {
        "ETA_NUM": FIN_INT[h],
        "RSA_NUM": rsa,
        "NIR_ANO_17": A.take(V["NIR"], S["pid"]),
        "EXE_SOI_DTD": A.ts(S["date"]),
        "EXE_SOI_DTF": A.ts(sor),
        "ENT_DAT": A.date32(S["date"]),
        "SOR_DAT": A.date32(sor),
        "SOR_ANN": sy.astype(np.int16),
        "SOR_MOI": A.month_text(sm),
        "NIR_RET": A.take(ZO, err.astype(np.int64)),
        **{
            k: A.take(ZO, np.zeros(n, np.int64))
            for k in ("NAI_RET", "DAT_RET", "SEX_RET", "SEJ_RET", "FHO_RET", "PMS_RET")
        },
        "SEJ_NUM": np.ones(n, np.int64),
    }
    dd = {
        "ETA_NUM": A.take(FIN, h[D["stay"]]),
        "RSA_NUM": A.int_text(rsa[D["stay"]]),
        "ASS_DGN": pa.array(D["code"], pa.string()),
        "DGN_ASS_NUM": np.ones(D["stay"].size, np.int64),
    }
    return {
        "T_MCOaaB": A.build_snds("T_MCOaaB", b, n),
        "T_MCOaaC": A.build_snds("T_MCOaaC", c, n),
        "T_MCOaaD": A.build_snds("T_MCOaaD", dd, D["stay"].size),
    }


def appending(emit, extra: dict | None):
    """The `emit` of render_snds with the prior stays' rows appended to their tables (emit itself when
    there are none)."""
    if extra is None:
        return emit

    def out(group, name, table):
        if name in extra:
            table = pa.concat_tables([table, extra[name].cast(table.schema)])
        return table if emit is None else emit(group, name, table)

    return out
