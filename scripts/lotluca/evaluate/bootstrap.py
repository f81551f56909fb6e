"""Patient bootstrap of the evaluation metrics: seeded, vectorised over replicates.

A bootstrap replicate draws the scored persons with replacement; it is represented by the number of
times each person is drawn (a multinomial weight vector, B x N in chunks). Since every metric is a
function of per-person sums (`lotluca.evaluate.metrics`), a replicate's sums are a matrix product
weights @ per-person statistics: no Python work per replicate or per person. The median start-date
error uses the same weights on the matched pairs of each person. Confidence intervals are percentile
intervals (NaN replicates, e.g. no matched line in a replicate, are ignored). The same seed gives the
same replicates, so every algorithm and scenario scored on the same persons share their resamples
(paired comparisons).
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from lotluca.evaluate.metrics import METRICS, Scored, metric_denominators, metrics_from_sums, weighted_median

if TYPE_CHECKING:
    from lotluca.evaluate.settings import EvaluateSettings

CHUNK = 200  # replicates drawn per block at most
MAX_CELLS = 2e7  # and at most this many (replicate x person-or-pair) cells per block (memory bound)


def derive_seed(master_seed: int, label: str = "evaluation") -> int:
    """A stable 32-bit seed for one step, derived from the study's master seed and the step's label."""
    ss = np.random.SeedSequence([int(master_seed), zlib.crc32(label.encode())])
    return int(ss.generate_state(1, dtype=np.uint32)[0])


def replicate_weights(n: int, replicates: int, seed: int, chunk: int = CHUNK) -> Iterator[np.ndarray]:
    """Blocks of (<= chunk, n) multinomial draw counts: how often each person is drawn per replicate.
    The replicates do not depend on the block size (rows are drawn one after the other)."""
    rng = np.random.default_rng(seed)
    p = np.full(n, 1.0 / n) if n else np.zeros(0)
    for start in range(0, replicates, chunk):
        b = min(chunk, replicates - start)
        yield rng.multinomial(n, p, size=b).astype(np.float64) if n else np.zeros((b, 0))


def bootstrap_metrics(scored: Scored, masks: pd.DataFrame, settings: EvaluateSettings) -> pd.DataFrame:
    """Tidy table stratum, metric, estimate, ci_low, ci_high, n for every stratum of `masks` (persons x
    strata, same person order as scored.stats) and every metric of METRICS."""
    S = scored.stats.to_numpy(dtype=np.float64)
    M = masks.to_numpy(dtype=np.float64)
    names = list(masks.columns)
    pairs = scored.pairs.sort_values("abs_delta", kind="stable")
    pv = pairs["abs_delta"].to_numpy(dtype=np.float64)
    pp = pairs["person"].to_numpy(dtype=np.int64)

    point_sums = M.T @ S  # (strata, K)
    point = metrics_from_sums(point_sums, settings)
    point["start_error_median_abs_days"] = weighted_median(pv, M[pp].T)
    n = [metric_denominators(point_sums[k], settings) for k in range(len(names))]

    # persons fall into a few disjoint groups (identical stratum memberships): a replicate's stratum sums
    # are sums of its group sums, so the products cost one pass over the persons, whatever the strata
    Mb = M.astype(bool)
    keys, group = np.unique(Mb, axis=0, return_inverse=True)
    members = [np.flatnonzero(group.ravel() == g) for g in range(len(keys))]
    in_stratum = [Mb[pp, k] for k in range(len(names))]
    B = settings.bootstrap
    chunk = max(1, min(CHUNK, int(MAX_CELLS // max(1, S.shape[0] + len(pv)))))
    reps = {m: np.full((B, len(names)), np.nan) for m in METRICS}
    row = 0
    for W in replicate_weights(S.shape[0], B, settings.seed, chunk):
        b = W.shape[0]
        group_sums = np.stack([W[:, idx] @ S[idx] for idx in members])  # (groups, b, K)
        stratum_sums = np.einsum("gs,gbk->sbk", keys.astype(np.float64), group_sums)
        for k in range(len(names)):
            vals = metrics_from_sums(stratum_sums[k], settings)
            sel = in_stratum[k]
            vals["start_error_median_abs_days"] = weighted_median(pv[sel], W[:, pp[sel]])
            for m in METRICS:
                reps[m][row : row + b, k] = vals[m]
        row += b

    alpha = (1.0 - settings.ci_level) / 2.0
    records = []
    for m in METRICS:
        if B:
            with np.errstate(all="ignore"):
                all_nan = np.isnan(reps[m]).all(axis=0)
                safe = np.where(all_nan[None, :], 0.0, reps[m])
                lo, hi = np.nanpercentile(safe, [100 * alpha, 100 * (1 - alpha)], axis=0)
            lo, hi = np.where(all_nan, np.nan, lo), np.where(all_nan, np.nan, hi)
        else:
            lo = hi = np.full(len(names), np.nan)
        for k, stratum in enumerate(names):
            records.append((stratum, m, float(point[m][k]), float(lo[k]), float(hi[k]), int(n[k][m])))
    out = pd.DataFrame(records, columns=["stratum", "metric", "estimate", "ci_low", "ci_high", "n"])
    order = {s: i for i, s in enumerate(names)}
    return out.sort_values(
        ["stratum", "metric"], key=lambda c: c.map(order) if c.name == "stratum" else c.map(list(METRICS).index)
    ).reset_index(drop=True)
