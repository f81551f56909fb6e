"""Study pseudonyms for patient-level outputs: a keyed hash (HMAC-SHA256) of the source id.

The key is read from the environment variable named by config `privacy.pseudonym_key_env` (set it
on the secure platform and keep it there: without the key the pseudonyms cannot be reversed or
recomputed). When that variable is unset, as on the synthetic cohort, the key is derived from the
study seed, which keeps runs reproducible but is NOT a secret: never rely on it for real data.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os

import pandas as pd

log = logging.getLogger(__name__)


def pseudonym_key(env_var: str | None, seed: int) -> bytes:
    """The pseudonymisation key: $env_var if set and non-empty, else a seed-derived (public) key."""
    value = os.environ.get(env_var, "") if env_var else ""
    if value:
        return value.encode("utf-8")
    log.warning(
        "pseudonym key: %s is not set, using a key derived from the seed (fine for synthetic data only)", env_var
    )
    return hashlib.sha256(f"lotluca-pseudonym-{seed}".encode()).digest()


def pseudonymise(ids, key: bytes, length: int = 16) -> pd.Series:
    """Map each id to "P" + the first `length` hex digits of HMAC-SHA256(key, id); nulls stay null.

    Computed once per distinct id (vectorised over the distinct values), so cost grows with the number
    of persons, not of rows.
    """
    s = pd.Series(ids, copy=False).astype("string")
    uniques = pd.unique(s.dropna())
    mapping = {u: "P" + hmac.new(key, u.encode("utf-8"), hashlib.sha256).hexdigest()[:length] for u in uniques}
    return s.map(mapping).astype(object).where(s.notna(), None)
