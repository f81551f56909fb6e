"""Train / public test / private test splits of the challenge persons: seeded, stratified by complexity (the
evaluate strata one_line vs several_or_maintenance, from the gold lines)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from lotluca.challenge.settings import SPLITS


def complexity(gold: pd.DataFrame) -> pd.Series:
    """Stratum of each gold person: several_or_maintenance (two or more lines, or a maintenance phase) or
    one_line (lotluca.evaluate.metrics.strata)."""
    g = gold.groupby("person_id")
    n_lines = g["line_number"].nunique()
    n_main = g["is_maintenance"].sum()
    return pd.Series(
        np.where((n_lines >= 2) | (n_main > 0), "several_or_maintenance", "one_line"), index=n_lines.index
    ).rename("stratum")


def _allocate(n: int, shares: list[float]) -> list[int]:
    """Sizes summing to n, as close to n * shares as possible (largest remainders)."""
    raw = np.asarray(shares) * n
    sizes = np.floor(raw).astype(int)
    for i in np.argsort(-(raw - sizes), kind="stable")[: n - sizes.sum()]:
        sizes[i] += 1
    return sizes.tolist()


def split_persons(gold: pd.DataFrame, shares: dict[str, float], seed: int) -> pd.DataFrame:
    """person_id, stratum, split: within each stratum the persons (sorted) are permuted by `seed` and cut by
    `shares` (train, public_test, private_test)."""
    strata = complexity(gold)
    rng = np.random.default_rng(seed)
    parts = []
    for stratum in sorted(strata.unique()):
        ids = np.sort(strata.index[strata == stratum].to_numpy(dtype=str))
        ids = ids[rng.permutation(len(ids))]
        sizes = _allocate(len(ids), [shares[s] for s in SPLITS])
        labels = np.repeat(np.array(SPLITS), sizes)
        parts.append(pd.DataFrame({"person_id": ids, "stratum": stratum, "split": labels}))
    return pd.concat(parts, ignore_index=True).sort_values("person_id", ignore_index=True)
