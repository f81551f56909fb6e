"""The challenge kit's pieces on small frames (lotluca.challenge): splits, date shifts, de-identification and
the re-identification check, which must fail on tables that were not shifted."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from lotluca.challenge import deidentify as deid
from lotluca.challenge.reidentify import attack, check
from lotluca.challenge.splits import complexity, split_persons
from lotluca.errors import LotlucaError

SHARES = {"train": 0.5, "public_test": 0.25, "private_test": 0.25}


def _gold(n=80, seed=0):
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        for k in range(1, int(rng.integers(1, 4)) + 1):
            rows.append((f"C{i:03d}", k, pd.Timestamp("2020-01-01") + pd.Timedelta(days=100 * k), False))
    return pd.DataFrame(rows, columns=["person_id", "line_number", "start_date", "is_maintenance"])


def test_splits_are_seeded_stratified_and_cover_every_person():
    gold = _gold()
    a, b = split_persons(gold, SHARES, 7), split_persons(gold, SHARES, 7)
    pd.testing.assert_frame_equal(a, b)
    assert not a.equals(split_persons(gold, SHARES, 8))
    assert set(a["person_id"]) == set(gold["person_id"])
    strata = complexity(gold)
    for stratum, grp in a.groupby("stratum"):
        n = (strata == stratum).sum()
        counts = grp["split"].value_counts()
        for split, share in SHARES.items():
            assert abs(counts.get(split, 0) - share * n) < 1, (stratum, split)


def test_shifts_are_keyed_never_zero_nor_a_multiple_of_a_week_or_a_month():
    ids = [f"C{i}" for i in range(2000)]
    s = deid.person_shifts(ids, b"k", 180)
    assert (s != 0).all() and (s % 7 != 0).all() and (s % 30 != 0).all() and s.abs().max() <= 180
    assert s.nunique() > 100
    pd.testing.assert_series_equal(s, deid.person_shifts(ids, b"k", 180))
    assert not s.equals(deid.person_shifts(ids, b"other key", 180))


def _original(n=40):
    rng = np.random.default_rng(1)
    ex = []
    for i in range(n):
        start = pd.Timestamp("2018-01-01") + pd.Timedelta(days=int(rng.integers(0, 1500)))
        for c in range(6):
            ex.append((f"C{i:03d}", start + pd.Timedelta(days=21 * c), "pemetrexed", "750000001", f"odh:A{i}{c}"))
    exposures = pd.DataFrame(ex, columns=["person_id", "date", "ingredient", "hospital", "origin"])
    exposures["end_date"] = exposures["date"]
    persons = pd.DataFrame({"person_id": [f"C{i:03d}" for i in range(n)], "centre": "750000001"})
    return {"odh": {"persons": persons, "exposures": exposures}}


def _participant(original, keys):
    m = keys.set_index("odh_id")
    ex = deid.shift_table(
        original["odh"]["exposures"], "exposures", m["odh_pseudonym"], m["odh_pseudonym"], m["shift_days"]
    )
    fin = deid.finess_map(pd.Series(["750000001"]), b"k")
    return deid.coarsen({"exposures": ex}, fin)


def test_shifted_tables_pass_and_unshifted_ones_fail_the_check():
    original = _original()
    links = pd.DataFrame(columns=["odh_patient_id", "snds_person_id"])
    keys = deid.key_table(pd.Index(original["odh"]["persons"]["person_id"]), links, b"k", 180)
    part = {f"odh/{k}": v for k, v in _participant(original, keys).items()}
    report = check(part, original, keys, 0.0)
    assert report["passed"] and report["attack"]["persons_reidentified"] == 0
    assert not set(part["odh/exposures"]["person_id"]) & set(original["odh"]["persons"]["person_id"])
    assert set(part["odh/exposures"]["origin"]) == {"odh"} and set(part["odh/exposures"]["hospital"]) != {"750000001"}
    # the same tables without a date shift: every person is re-identified by exact dates, and the check fails
    unshifted = keys.assign(shift_days=0)
    part0 = {f"odh/{k}": v for k, v in _participant(original, unshifted).items()}
    assert attack(part0, original, unshifted) == (40, 40)
    with pytest.raises(LotlucaError, match="re-identif|original date"):
        check(part0, original, unshifted, 0.0)


def test_an_original_identifier_left_in_a_table_fails_the_check():
    original = _original()
    keys = deid.key_table(
        pd.Index(original["odh"]["persons"]["person_id"]),
        pd.DataFrame(columns=["odh_patient_id", "snds_person_id"]),
        b"k",
        180,
    )
    part = {f"odh/{k}": v for k, v in _participant(original, keys).items()}
    part["odh/exposures"].loc[0, "hospital"] = "750000001"
    with pytest.raises(LotlucaError, match="original identifier"):
        check(part, original, keys, 0.0)
