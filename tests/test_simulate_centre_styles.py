"""Per-centre practice styles of the simulator (simulate.centre_styles): spread 0 is exactly the cohort without
styles, the hooks move no other random draw, and a positive spread makes the centres treat differently."""

from __future__ import annotations

import numpy as np
import pytest

from lotluca.config import default_config
from lotluca.simulate import centre_styles, simulate
from lotluca.simulate.params import SimSettings

ZERO_SD = {k: 0.0 for k in centre_styles.KNOBS}


def _settings(**sim) -> SimSettings:
    cfg = default_config(simulate=sim)
    return SimSettings.from_config(cfg["simulate"], study=cfg["study"])


def _same_tables(a: dict, b: dict) -> None:
    for name in ("gold", "lines_truth", "clinical_truth", "changes_truth"):
        assert a[name].equals(b[name]), name
    for group in ("snds", "odh"):
        for name, table in a[group].items():
            assert table.equals(b[group][name]), f"{group}/{name}"


def test_spread_zero_draws_no_style_and_neutral_styles_move_no_draw():
    s0 = _settings(patients=250, centres=3)
    assert centre_styles.draw(5, s0, np.zeros(3, np.int8)) is None
    neutral = _settings(patients=250, centres=3, centre_styles={"spread": 1.0, **ZERO_SD})
    styles = centre_styles.draw(5, neutral, np.array([0, 1, -1]))
    assert styles is not None  # the hooks run with per-line arrays equal to the block's values
    assert all((v == v[0]).all() for v in styles.values.values())
    _same_tables(simulate(s0, 5), simulate(neutral, 5))


def test_styles_are_cohort_wide_and_positive_spread_separates_the_centres():
    s = _settings(patients=1500, centres=3, centre_styles={"spread": 2.0})
    a = centre_styles.draw(9, s, np.array([0, 1]))
    b = centre_styles.draw(9, s, np.array([2, 2, -1]))
    for k in centre_styles.KNOBS:  # the same styles in every block, whatever its persons
        np.testing.assert_array_equal(a.values[k], b.values[k])
    assert b.person("dose_delay", s.traps.dose_delay)[-1] == s.traps.dose_delay  # outside the centres
    r = simulate(s, 9)
    P, L = r["_persons"], r["_lines"]
    L = L[(L["line_number"] >= 1) & L["n_ind"].isin([4, 6])].copy()
    L["centre"] = P["centre"].to_numpy()[L["pid"].to_numpy()]
    L = L[L["centre"] >= 0]
    share6 = L.groupby("centre")["n_ind"].apply(lambda x: (x == 6).mean())
    expected = a.values["induction_cycles_6"][share6.index.to_numpy()]
    assert share6.max() - share6.min() > 0.2, share6
    # the observed per-centre shares follow the drawn styles
    assert np.corrcoef(share6.to_numpy(), expected)[0, 1] > 0.8, (share6, expected)
    assert r["gold"].num_rows > 0


@pytest.mark.parametrize("knob", ["spread", "dose_delay"])
def test_negative_style_knob_is_rejected(knob):
    from lotluca.errors import ConfigError

    with pytest.raises(ConfigError):
        _settings(centre_styles={knob: -1.0})
