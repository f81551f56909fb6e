"""Outpatient (ACE) tables of the simulated PMSI MCO: T_MCOaaCSTC (outpatient visits of public hospitals)
and T_MCOaaFHSTC (en-sus drugs billed with a visit instead of a stay).

Public hospitals (and the centres) bill their outpatient consultations ("actes et consultations externes",
ACE) through the PMSI: one T_MCOaaCSTC row per visit (ETA_NUM + SEQ_NUM, the patient's NIR_ANO_17, its
date and return codes) and, when a drug of the en-sus list is given during the visit, one T_MCOaaFHSTC row
per drug. Private clinics bill their outpatients through the DCIR, so they have no ACE rows here.

Two knobs (`simulate.outpatient`; their values are assumptions, see docs/simulate.md):
- `consultations_per_month`: drug-free visits per person-month of follow-up after diagnosis, at the
  person's centre or the public hospital of their departement; filtered by the extraction (`no_drug_line`);
- `ace_drug_share`: the share of the public-hospital en-sus administrations (outside early access) billed
  in ACE: the drug line goes to T_MCOaaFHSTC, under a visit of the same day and hospital, instead of
  T_MCOaaMED. The day's session stay is kept (so the chemotherapy sessions do not depend on this knob), a
  visit inherits the return-code error of that stay, and the truth record names the FHSTC row.

The draws use a random stream of their own (derived from the block's rendering stream without consuming
it), so the other simulated tables do not change with these knobs.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from lotluca.config import Settings
from lotluca.simulate import arrowcols as A

STREAM_KEY = 1016  # spawn key of the outpatient stream under the block's rendering stream
ACE_TABLE, ACE_VISITS = "T_MCOaaFHSTC", "T_MCOaaCSTC"


@dataclass(frozen=True)
class OutpatientSettings(Settings):
    """The `simulate.outpatient` block: outpatient visits and en-sus drugs billed in ACE."""

    consultations_per_month: float
    ace_drug_share: float


def stream(rng: np.random.Generator) -> np.random.Generator:
    """The outpatient random stream of a block: a child of `rng`'s seed that leaves `rng` untouched."""
    ss = rng.bit_generator.seed_seq
    return np.random.default_rng(np.random.SeedSequence(ss.entropy, spawn_key=(*ss.spawn_key, STREAM_KEY)))


def split_ace(rng: np.random.Generator, med: np.ndarray, share: float) -> tuple[np.ndarray, np.ndarray]:
    """(events still billed in T_MCOaaMED, events billed in ACE) among the MED events `med`."""
    ace = rng.random(med.size) < share
    return med[~ace], med[ace]


def _visits(rng, E: dict, EN: dict, V: dict, s: Settings) -> dict:
    """The visits before numbering: one per (person, day, hospital) of ACE administrations (their
    NIR, the stay's jittered date and return-code error), then the drug-free consultations."""
    ace = EN["ace"]
    key = (E["pid"][ace] << 24) | (EN["ev_stay_date"][ace] << 9) | E["hidx"][ace]
    _, first, inv = np.unique(key, return_index=True, return_inverse=True)
    fa = ace[first]
    from lotluca.simulate.cohort import CENTRES

    P, n_p = V["P"], V["n_p"]
    n_c = rng.poisson(s.outpatient.consultations_per_month * V["months"])
    c_pid = np.repeat(np.arange(n_p), n_c)
    span = np.maximum(V["stop"][c_pid] - P["diag"][c_pid], 0)
    c_date = P["diag"][c_pid] + (rng.random(c_pid.size) * span).astype(np.int64)
    public = len(CENTRES) + V["dpt_idx"][c_pid]  # the public hospital of the departement
    at_centre = (rng.random(c_pid.size) < 0.5) & ~P["is_decoy"][c_pid]
    c_h = np.where(at_centre, P["home_centre"][c_pid].astype(np.int64), public)
    err = rng.random(c_pid.size) < s.noise.pmsi_return_error
    return {
        "nir": np.concatenate([E["ev_nir"][fa], c_pid]),
        "date": np.concatenate([EN["ev_stay_date"][fa], c_date]),
        "h": np.concatenate([E["hidx"][fa], c_h]),
        "err": np.concatenate([EN["ev_stay_err"][fa], err]),
        "n_ace": fa.size,
        "inv": inv,
    }


def tables(rng, E: dict, EN: dict, V: dict, FIN: pa.Array, s: Settings, seq_base: int, emit) -> tuple[dict, np.ndarray]:
    """T_MCOaaCSTC and T_MCOaaFHSTC of a block (SEQ_NUM numbered from `seq_base` + 1), and per event the
    SEQ_NUM of its ACE visit (-1 for the events not billed in ACE)."""
    from lotluca.simulate.blocks import ROW_STRIDE, check_capacity  # not at import: blocks needs the settings
    from lotluca.simulate.cohort import EPOCH, to_days

    W = _visits(rng, E, EN, V, s)
    dates = W["date"]  # consultations kept in the window of the PMSI stays (a drug's visit always)
    window = (dates >= to_days(s.start_date) - 365) & (dates <= to_days(s.end_date))
    order = np.flatnonzero(window | (np.arange(dates.size) < W["n_ace"]))
    order = order[np.lexsort((W["nir"][order], W["date"][order], W["h"][order]))]
    check_capacity(order.size, ROW_STRIDE, "outpatient visits")
    seq = np.full(dates.size, -1, np.int64)
    seq[order] = seq_base + np.arange(1, order.size + 1)
    false = A.vocab(["0", "1"])  # return codes: "0" is valid
    code = A.take(false, W["err"][order].astype(np.int64))
    zero = A.take(false, np.zeros(order.size, np.int64))
    visits = {
        "ETA_NUM": A.take(FIN, W["h"][order]),
        "SEQ_NUM": A.int_text(seq[order]),
        "NIR_ANO_17": A.take(V["NIR"], W["nir"][order]),
        "EXE_SOI_DTD": A.date32(W["date"][order]),
        "ENT_DAT": A.date32(W["date"][order]),
        "NIR_RET": code,
        "NAI_RET": zero,
        "SEX_RET": zero,
        "IAS_RET": zero,
        "ENT_DAT_RET": zero,
    }
    ace = EN["ace"]
    ev_seq = np.full(E["m"], -1, np.int64)
    ev_seq[ace] = seq[: W["n_ace"]][W["inv"]]
    day = EPOCH + EN["ev_stay_date"][ace].astype("timedelta64[D]")
    drugs = {
        "ETA_NUM": A.take(FIN, E["hidx"][ace]),
        "SEQ_NUM": A.int_text(ev_seq[ace]),
        "UCD_UCD_COD": A.take(EN["UCD"], EN["ev_ucd"][ace]),
        "UCD_COD": A.take(EN["UCD"], EN["ev_ucd"][ace]),
        "QUA": EN["units"][ace].astype(np.int64),
        "DEL_DAT_ENT": np.zeros(ace.size, np.int64),
        "ENT_ANN": (day.astype("datetime64[Y]").astype(np.int64) + 1970).astype(np.int16),
        "ENT_MOI": A.month_text(day.astype("datetime64[M]").astype(np.int64) % 12 + 1),
    }
    out = {}
    for name, columns, n in ((ACE_VISITS, visits, order.size), (ACE_TABLE, drugs, ace.size)):
        table = A.build_snds(name, columns, n)
        out[name] = emit("snds", name, table) if emit else table
    return out, ev_seq
