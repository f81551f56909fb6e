"""Per-centre practice styles (`simulate.centre_styles`): each cancer centre treats with its own habits
(4 or 6 induction cycles, continuation maintenance, treatment holidays and their length, dose delays and
their length, bevacizumab added late or not at all, pembrolizumab every 6 weeks).

A centre's style moves each varied knob away from its simulate-block value by `spread` x the knob's
standard deviation x a standard normal draw of that centre: on the log-odds scale for a probability, on the
log scale for a length factor (holiday_scale, delay_scale) and for bevacizumab_use (a multiplier of the
weight of the regimens with bevacizumab when a line's regimen is chosen). The draws come from a cohort-wide
stream of their own (`STREAM_KEY`), the same in every block and independent of the number of centres used;
no other stream moves, so spread 0 (the default) is exactly the cohort without styles. Persons outside the
centres (SNDS-only decoys) keep the simulate-block values.

`treatment` calls in through small hooks: `line_traps` and `line_context` (one line per person), `at`
(per-line values on cycle rows) and `scale_weights` (via situations.adjust_weights). docs/simulate.md#centre-styles.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, replace

import numpy as np

from lotluca.config import Settings
from lotluca.simulate import regimens as R

STREAM_KEY = (0, 18)  # SeedSequence(seed, spawn_key=STREAM_KEY): a child key no other draw uses
N_CENTRES = 8  # styles are drawn for every illustrative centre (cohort.CENTRES), whatever simulate.centres
TRAP_PROBS = ("induction_cycles_6", "continuation_maintenance", "treatment_holiday", "dose_delay", "bevacizumab_cycle2")
TRAP_SCALES = ("holiday_scale", "delay_scale")
SITUATION_PROBS = ("pembrolizumab_q6w",)
WEIGHTS = ("bevacizumab_use",)
KNOBS = TRAP_PROBS + TRAP_SCALES + SITUATION_PROBS + WEIGHTS
BEV_REGIMENS = np.array([any(d[0] == "bevacizumab" for d in r.drugs) for r in R.REGIMENS])


@dataclass(frozen=True)
class CentreStyleSettings(Settings):
    """The `simulate.centre_styles` block: the spread, and per knob its standard deviation at spread 1."""

    spread: float
    induction_cycles_6: float
    continuation_maintenance: float
    treatment_holiday: float
    holiday_scale: float
    dose_delay: float
    delay_scale: float
    bevacizumab_cycle2: float
    pembrolizumab_q6w: float
    bevacizumab_use: float


def _logit_shift(p: float, offset: np.ndarray) -> np.ndarray:
    """p moved by `offset` on the log-odds scale (p itself, exactly, where the offset is 0 or p is 0 or 1)."""
    if p <= 0.0 or p >= 1.0:
        return np.full(offset.shape, float(p))
    moved = 1.0 / (1.0 + np.exp(-(np.log(p / (1.0 - p)) + offset)))
    return np.where(offset == 0, float(p), moved)


class Styles:
    """The style of every centre (knob -> value per centre) and the per-person values of one block."""

    def __init__(self, values: dict[str, np.ndarray], centre: np.ndarray):
        self.values = values  # knob -> value per centre (N_CENTRES)
        self.centre = np.asarray(centre)  # per person: centre index, -1 outside the centres

    def person(self, knob: str, default: float, idx: np.ndarray | None = None) -> np.ndarray:
        """Per person (of idx, else every person): the value of `knob` at the person's centre (`default`
        outside the centres)."""
        c = self.centre if idx is None else self.centre[idx]
        return np.where(c >= 0, self.values[knob][np.clip(c, 0, None)], default)


def draw(seed: int, s, centre: np.ndarray) -> Styles | None:
    """The centre styles of a cohort drawn with `seed` and settings `s` (SimSettings), for the persons of
    one block (`centre`: their centre index, -1 outside); None when the spread is 0 (no style)."""
    cs: CentreStyleSettings = s.centre_styles
    if cs.spread <= 0:
        return None
    rng = np.random.default_rng(np.random.SeedSequence(int(seed), spawn_key=STREAM_KEY))
    z = rng.standard_normal((len(KNOBS), N_CENTRES))  # fixed order: a knob's draws never depend on another's sd
    out = {}
    for i, knob in enumerate(KNOBS):
        offset = cs.spread * getattr(cs, knob) * z[i]
        if knob in TRAP_PROBS:
            out[knob] = _logit_shift(getattr(s.traps, knob), offset)
        elif knob in SITUATION_PROBS:
            out[knob] = _logit_shift(getattr(s.situations, knob), offset)
        elif knob in TRAP_SCALES:
            out[knob] = getattr(s.traps, knob) * np.exp(offset)
        else:
            out[knob] = np.exp(offset)
    return Styles(out, centre)


def line_traps(styles: Styles | None, traps, idx: np.ndarray):
    """The traps of one line of persons idx: the varied knobs as per-line arrays (`traps` itself without styles)."""
    if styles is None:
        return traps
    varied = {k: styles.person(k, getattr(traps, k), idx) for k in TRAP_PROBS + TRAP_SCALES}
    return replace(traps, **varied)


def line_context(styles: Styles | None, ctx, idx: np.ndarray):
    """The situations context of one line of persons idx: the varied situation shares as per-line arrays and
    the bevacizumab weight factor (`ctx` itself without styles or without a context). The copy shares the
    context's random stream and per-person draws."""
    if styles is None or ctx is None:
        return ctx
    out = copy.copy(ctx)
    out.s = replace(ctx.s, **{k: styles.person(k, getattr(ctx.s, k), idx) for k in SITUATION_PROBS})
    out.bev_factor = styles.person("bevacizumab_use", 1.0, idx)
    return out


def scale_weights(W: np.ndarray, ctx) -> None:
    """Multiply the choice weights of the regimens with bevacizumab by the line's centre factor (in place)."""
    factor = getattr(ctx, "bev_factor", None)
    if factor is None:
        return
    W[:, BEV_REGIMENS] *= factor[:, None]


def at(value, rows: np.ndarray):
    """A trap value on rows of per-line arrays: value[rows] for a per-line array, the scalar otherwise."""
    return value[rows] if np.ndim(value) else value


def table(styles: Styles | None, n_centres: int) -> list[dict]:
    """The style of each of the first n_centres centres (knob -> value), for the docs and the log."""
    if styles is None:
        return []
    return [{k: float(v[c]) for k, v in styles.values.items()} for c in range(n_centres)]


__all__ = [
    "CentreStyleSettings",
    "Styles",
    "at",
    "draw",
    "line_context",
    "line_traps",
    "scale_weights",
]
