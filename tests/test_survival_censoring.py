"""Censoring at the last date seen alive (effectiveness.censoring) and the last-seen dates of the sources."""

import pandas as pd
import pytest

from lotluca.effectiveness import compute_endpoints
from lotluca.errors import InputError
from test_survival import ENDPOINT_OPTIONS, D, line, months, person


def _persons():
    a = person("A", eof="2025-12-31") | {"last_seen_date": D("2021-03-01")}  # lost to follow-up, death unknown
    b = person("B", death="2022-01-01", eof="2022-01-01") | {"last_seen_date": D("2021-03-01")}  # death recorded
    c = person("C", eof="2025-12-31") | {"last_seen_date": pd.NaT}  # never seen: keeps the end of data
    return pd.DataFrame([a, b, c])


@pytest.fixture
def lines():
    return pd.DataFrame([line(p, 1, "2020-06-01", "2020-09-01") for p in "ABC"])


def test_last_seen_censors_persons_without_a_death(lines):
    ep = compute_endpoints(lines, _persons(), **ENDPOINT_OPTIONS, censoring="last_seen").set_index("person_id")
    assert ep.loc["A", "rwOS_months"] == pytest.approx(months("2020-06-01", "2021-03-01"))
    assert ep.loc["A", "rwOS_event"] == 0
    assert ep.loc["B", "rwOS_months"] == pytest.approx(months("2020-06-01", "2022-01-01"))  # the death ends it
    assert ep.loc["B", "rwOS_event"] == 1
    assert ep.loc["C", "rwOS_months"] == pytest.approx(months("2020-06-01", "2025-12-31"))
    # the line stopped 2020-09-01 and A was last seen 2021-03-01: 181 days >= 120, a discontinuation
    assert ep.loc["A", "rwTTD_event"] == 1 and ep.loc["A", "end_of_followup"] == D("2021-03-01")


def test_end_of_data_keeps_the_former_behaviour(lines):
    ep = compute_endpoints(lines, _persons(), **ENDPOINT_OPTIONS, censoring="end_of_data").set_index("person_id")
    assert ep.loc["A", "rwOS_months"] == pytest.approx(months("2020-06-01", "2025-12-31"))
    with pytest.raises(InputError, match="censoring"):
        compute_endpoints(lines, _persons(), **ENDPOINT_OPTIONS, censoring="whenever")


def test_a_line_after_the_last_contact_is_excluded_not_dropped():
    lines = pd.DataFrame([line("A", 1, "2020-06-01", "2020-09-01"), line("A", 2, "2021-06-01", "2021-08-01")])
    ep = compute_endpoints(lines, _persons().iloc[:1], **ENDPOINT_OPTIONS, censoring="last_seen")
    assert list(ep["exclusion"].fillna("")) == ["", "starts_after_end_of_followup"]
    assert ep.loc[0, "rwTTNT_months"] == pytest.approx(months("2020-06-01", "2021-03-01"))
    assert ep.loc[0, "rwTTNT_event"] == 0  # the next line is after the end of follow-up: not observed
