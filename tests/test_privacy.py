"""lotluca.privacy: no count between 1 and min_cell - 1 ever reaches an export table; pseudonyms."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lotluca.privacy import SmallCellError, assert_exportable, pseudonymise, suppress_counts, write_export
from lotluca.privacy.suppress import complementary_suppress

counts = st.lists(st.one_of(st.integers(0, 200), st.none()), min_size=1, max_size=30)


@settings(max_examples=200, deadline=None)
@given(a=counts, b=counts, min_cell=st.integers(1, 20), method=st.sampled_from(["suppress", "coarsen"]))
def test_no_small_count_survives(a, b, min_cell, method):
    n = min(len(a), len(b))
    df = pd.DataFrame({"n": a[:n], "events": b[:n], "median": np.arange(n, dtype=float)})
    out = suppress_counts(df, ["n", "events"], min_cell, method, dependent={"n": ["median"]})
    for col in ("n", "events"):
        v = out[col].dropna().astype(int)
        assert not ((v >= 1) & (v < min_cell)).any()
    assert_exportable(out, ["n", "events"], min_cell)
    small = pd.to_numeric(df["n"]).between(1, min_cell - 1)
    assert out.loc[small, "median"].isna().all()  # no estimate shown for a small stratum
    if method == "suppress":  # big counts and zeros are kept as they are
        keep = ~pd.to_numeric(df["n"]).between(1, min_cell - 1) & df["n"].notna()
        assert (out.loc[keep, "n"].astype(int) == df.loc[keep, "n"].astype(int)).all()
        flagged = out["suppressed"].str.split(";").apply(lambda cols: "n" in cols)
        assert (flagged == small).all()
    else:  # coarsened counts are multiples of min_cell, within min_cell / 2 of the truth
        v = out["n"].dropna().astype(int)
        assert (v % min_cell == 0).all()
        assert (abs(v - df.loc[v.index, "n"].astype(int)) <= min_cell / 2).all()


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(0, 60), min_size=2, max_size=8), st.integers(2, 15))
def test_complementary_suppression_prevents_recovery_by_subtraction(cells, min_cell):
    df = pd.DataFrame({"g": "x", "n": cells})
    df["n_raw"] = df["n"]
    out = complementary_suppress(suppress_counts(df, ["n"], min_cell, "suppress"), "n", ["g"], min_cell)
    hidden = out["n"].isna()
    if hidden.any():  # the published total minus the shown cells must not reveal one hidden cell
        assert hidden.sum() >= 2 or (df["n"] > 0).sum() == 1
        assert df.loc[hidden, "n"].sum() >= min_cell or hidden.sum() == (df["n"] > 0).sum()
    assert_exportable(out, ["n"], min_cell)


def test_suppress_examples():
    df = pd.DataFrame({"n": [0, 1, 9, 10, 57], "med": [1.0, 2.0, 3.0, 4.0, 5.0]})
    out = suppress_counts(df, ["n"], 10, "suppress", dependent={"n": ["med"]})
    assert out["n"].tolist()[0] == 0 and out["n"].isna().tolist() == [False, True, True, False, False]
    assert out["med"].isna().tolist() == [False, True, True, False, False]
    assert out["suppressed"].tolist() == ["", "n", "n", "", ""]
    co = suppress_counts(df, ["n"], 10, "coarsen")
    assert co["n"].tolist() == [0, 0, 10, 10, 60]


def test_guard_refuses_small_counts(tmp_path):
    df = pd.DataFrame({"at_risk": [120, 4, 0]})
    with pytest.raises(SmallCellError, match="at_risk"):
        write_export(df, tmp_path / "x.csv", ["at_risk"], 10)
    assert not (tmp_path / "x.csv").exists()
    with pytest.raises(ValueError):
        suppress_counts(df, ["at_risk"], 10, "round")


def test_pseudonyms_are_keyed_stable_and_not_the_source_id():
    ids = pd.Series(["odh001", "odh002", "odh001", None])
    p1 = pseudonymise(ids, b"key-1")
    assert p1[0] == p1[2] != p1[1] and p1[3] is None
    assert not p1[:3].str.contains("odh").any() and p1[:3].str.match(r"^P[0-9a-f]{16}$").all()
    assert pseudonymise(ids, b"key-1").equals(p1)
    assert pseudonymise(ids, b"key-2")[0] != p1[0]


def test_privacy_settings_from_the_config_block():
    from lotluca.config import default_config
    from lotluca.errors import ConfigError
    from lotluca.privacy import PrivacySettings

    s = PrivacySettings.from_config(default_config()["privacy"])
    assert (s.min_cell, s.method, s.pseudonym_key_env) == (10, "suppress", "LOTLUCA_PSEUDONYM_KEY")
    with pytest.raises(ConfigError, match="missing config key"):
        PrivacySettings.from_config({"min_cell": 5})  # no defaults in the code: the schema fills them
