"""Per-line real-world endpoints (docs/effectiveness.md): rwTTNT, rwTTD and rwOS from line start.

One row per (person, line): maintenance phases are folded into the line they continue (start of the
first phase, end of the last). All times are in months (days / 30.4375), measured from the line start.

- rwTTNT: to the start of the next line or death (event), censored at end of follow-up.
  `rwTTNT_dc` (sensitivity): death censored, only the next line is an event.
- rwTTD: to the last administration (or end of the last dispensation) of the line; event when a next
  line starts, the person dies, or >= `ttd_gap_days` pass without the line's drugs before end of
  follow-up; otherwise (a line still running at the end of data) censored at its last administration.
- rwOS: to death (event), censored at end of follow-up.

Death and end of follow-up come from one persons table for every lines source (gold or algorithm), so
only the lines differ. Lines that cannot be analysed (no person record, a start after death or end of
follow-up, a next line starting before this one) keep their row with the reason in `exclusion` and
null endpoints: nothing is dropped silently. Vectorised: groupby/shift over all lines, no per-person loop.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import pyarrow as pa

from lotluca.contracts import LINES, PERSONS, PERSONS_OPTIONAL, ContractError, conform
from lotluca.errors import InputError

log = logging.getLogger(__name__)
DAYS_PER_MONTH = 30.4375
ENDPOINTS = ("rwTTNT", "rwTTNT_dc", "rwTTD", "rwOS")
ENDPOINT_LABELS = {
    "rwTTNT": "time to next treatment or death",
    "rwTTNT_dc": "time to next treatment, death censored (sensitivity)",
    "rwTTD": "time to treatment discontinuation",
    "rwOS": "overall survival from line start",
}
PERSON_COLUMNS = [
    "person_id",
    "sex",
    "birth_year",
    "death_date",
    "diagnosis_date",
    "histology",
    "pdl1",
    "end_of_followup",
    "last_seen_date",
    "ecog",
    "first_seen_date",
]
CENSORING = {
    "end_of_data": "alive until end_of_followup (the study end) when no death is recorded",
    "last_seen": "censored at the last date seen alive (ODH last contact, SNDS last activity) when no death is recorded",
}
EXCLUSIONS = {
    "no_person_record": "person absent from the persons table",
    "no_end_of_followup": "person has neither end_of_followup nor a study end date to fall back on",
    "starts_after_death": "line starts after the person's death",
    "starts_after_end_of_followup": "line starts after the end of follow-up",
    "next_line_starts_earlier": "the next line number starts before this line",
}


def _to_frame(table, schema: pa.Schema, name: str, optional=()) -> pd.DataFrame:
    if isinstance(table, pd.DataFrame):
        table = pa.Table.from_pandas(table, preserve_index=False)
    try:
        table = conform(table, schema, name, optional=optional)
    except ContractError as exc:
        raise InputError(name, str(exc)) from exc
    df = table.to_pandas()
    for field in schema:
        if field.type == pa.date32():
            df[field.name] = pd.to_datetime(df[field.name])
    return df


def collapse_lines(lines, name: str = "lines") -> pd.DataFrame:
    """One row per (person_id, line_number): start, end, regimen and class of the initial phase.

    Columns: person_id, line_number, start_date, end_date, regimen, regimen_class, has_maintenance.
    Raises InputError on null person_id, line_number or start_date, and on end_date < start_date.
    """
    df = _to_frame(lines, LINES, name, optional=("end_reason", "algorithm", "is_maintenance", "regimen_class"))
    for col in ("person_id", "line_number", "start_date"):
        bad = df.index[df[col].isna()]
        if len(bad):
            raise InputError(name, "null values", column=col, rows=bad, expected="a value on every line row")
    bad = df.index[df["end_date"].notna() & (df["end_date"] < df["start_date"])]
    if len(bad):
        raise InputError(name, "end_date before start_date", column="end_date", rows=bad)
    df["end_date"] = df["end_date"].fillna(df["start_date"])
    df["is_maintenance"] = df["is_maintenance"].fillna(False).astype(bool)
    df = df.sort_values(["person_id", "line_number", "is_maintenance", "start_date"], kind="mergesort")
    g = df.groupby(["person_id", "line_number"], sort=True)
    out = g.agg(
        start_date=("start_date", "min"),
        end_date=("end_date", "max"),
        regimen=("regimen", "first"),
        regimen_class=("regimen_class", "first"),
        has_maintenance=("is_maintenance", "any"),
    ).reset_index()
    out["line_number"] = out["line_number"].astype(int)
    return out


def line_group(line_number: pd.Series, pooled_from: int = 3) -> pd.Series:
    """ "1", "2", ..., and "{pooled_from}+" for every line >= pooled_from."""
    n = line_number.astype(int)
    return n.astype(str).where(n < pooled_from, f"{pooled_from}+")


def era_labels(start_years: list[int]) -> list[str]:
    """Labels of the eras starting at each year: "2012-2016", "2017-2018", "2019+"."""
    ys = sorted(start_years)
    return [f"{a}-{b - 1}" for a, b in zip(ys[:-1], ys[1:], strict=True)] + [f"{ys[-1]}+"]


def era_of(dates: pd.Series, start_years: list[int]) -> pd.Series:
    """Era of each date (years before the first era fall in the first one)."""
    ys = sorted(start_years)
    idx = np.searchsorted(np.asarray(ys), dates.dt.year.to_numpy(), side="right") - 1
    labels = np.asarray(era_labels(ys), dtype=object)
    out = labels[np.clip(idx, 0, len(ys) - 1)]
    return pd.Series(out, index=dates.index).where(dates.notna(), None)


def _months(delta: pd.Series) -> pd.Series:
    return delta.dt.days / DAYS_PER_MONTH


def _follow_up(df: pd.DataFrame, study_end_date, censoring: str) -> tuple[pd.Series, pd.Series]:
    """(observed death, end of follow-up) of each row: end_of_followup, else the study end, else the death;
    a death after it is not observed, a death before it ends it; `censoring` "last_seen" ends the
    follow-up of a row without a death at last_seen_date when earlier."""
    eof = df["end_of_followup"]
    if study_end_date is not None:
        eof = eof.fillna(pd.Timestamp(study_end_date))
    eof = eof.fillna(df["death_date"])
    death = df["death_date"].where(df["death_date"] <= eof)
    eof = eof.where(death.isna() | (death >= eof), death)
    if censoring == "last_seen":  # no death recorded: follow-up ends when the person was last seen alive
        seen = df["last_seen_date"]
        eof = eof.where(death.notna() | seen.isna() | (seen >= eof), seen)
    return death, eof


def compute_endpoints(
    lines,
    persons,
    *,
    ttd_gap_days: int,
    pooled_line_from: int,
    era_start_years: list[int],
    study_end_date=None,
    censoring: str = "end_of_data",
    delayed_entry: bool = False,
    lines_name: str = "lines",
    persons_name: str = "persons",
) -> pd.DataFrame:
    """Endpoints of every line of `lines` (LINES contract) with vital status from `persons` (PERSONS).

    Returns one row per (person_id, line_number) with the line, its covariates (age at line start,
    sex, histology, pdl1, era), and for each endpoint E in ENDPOINTS the columns `E_months` and
    `E_event` (1 event, 0 censored); `exclusion` names why a line is not analysed (null otherwise).
    `study_end_date` is the end of follow-up used when a person's end_of_followup is null; `censoring`
    (CENSORING) "last_seen" ends the follow-up of a person without a recorded death at `last_seen_date`.
    `delayed_entry`: `entry_months` is the time from the line start to the person's `first_seen_date`
    when later (left truncation: a referred person is only observed from then), else 0.
    """
    if censoring not in CENSORING:
        raise InputError(
            "config.yaml",
            f"unknown censoring {censoring!r}",
            column="effectiveness.censoring",
            expected=f"one of {list(CENSORING)}",
        )
    ln = collapse_lines(lines, lines_name)
    optional = tuple(c for c in PERSONS.names if c not in PERSON_COLUMNS or c in PERSONS_OPTIONAL)
    pdf = _to_frame(persons, PERSONS, persons_name, optional=optional)
    dup = pdf.index[pdf["person_id"].duplicated(keep=False)]
    if len(dup):
        raise InputError(
            persons_name, "duplicated person_id", column="person_id", rows=dup, expected="one row per person"
        )
    pdf = pdf[PERSON_COLUMNS]
    df = ln.merge(pdf, on="person_id", how="left", indicator=True)
    has_person = df["_merge"].eq("both")
    df = df.drop(columns="_merge")

    death, eof = _follow_up(df, study_end_date, censoring)
    df["end_of_followup"] = eof

    # next line of the same person (lines sorted by person, line_number)
    nxt = df.groupby("person_id", sort=False)["start_date"].shift(-1)
    df["next_start_date"] = nxt
    nxt_obs = nxt.where(nxt <= eof)  # a next line after end of follow-up is not observed

    exclusion = pd.Series(None, index=df.index, dtype=object)
    exclusion = exclusion.mask(exclusion.isna() & nxt.notna() & (nxt < df["start_date"]), "next_line_starts_earlier")
    exclusion = exclusion.mask(exclusion.isna() & death.notna() & (df["start_date"] > death), "starts_after_death")
    exclusion = exclusion.mask(
        exclusion.isna() & eof.notna() & (df["start_date"] > eof), "starts_after_end_of_followup"
    )
    exclusion = exclusion.mask(exclusion.isna() & has_person & eof.isna(), "no_end_of_followup")
    exclusion = exclusion.mask(~has_person, "no_person_record")
    df["exclusion"] = exclusion
    ok = exclusion.isna()
    start = df["start_date"]

    # rwOS
    os_end = death.fillna(eof)
    df["rwOS_months"] = _months(os_end - start)
    df["rwOS_event"] = death.notna().astype(int)

    # rwTTNT: next line or death, whichever first
    first_event = pd.concat([nxt_obs, death], axis=1).min(axis=1)
    df["rwTTNT_months"] = _months(first_event.fillna(eof) - start)
    df["rwTTNT_event"] = first_event.notna().astype(int)

    # rwTTNT, death censored: only the next line (observed before death and end of follow-up) is an event
    nxt_dc = nxt_obs.where(death.isna() | (nxt_obs <= death))
    df["rwTTNT_dc_months"] = _months(nxt_dc.fillna(death).fillna(eof) - start)
    df["rwTTNT_dc_event"] = nxt_dc.notna().astype(int)

    # rwTTD: to the last administration of the line (capped at death / end of follow-up)
    last = df["end_date"].where(df["end_date"] <= eof, eof)
    gap_reached = (eof - last).dt.days >= ttd_gap_days
    df["rwTTD_months"] = _months(last - start)
    df["rwTTD_event"] = (nxt_obs.notna() | death.notna() | gap_reached).astype(int)

    for e in ENDPOINTS:
        df[f"{e}_months"] = df[f"{e}_months"].where(ok)
        df[f"{e}_event"] = df[f"{e}_event"].where(ok).astype("Int64")

    entry = _months(df["first_seen_date"] - start).clip(lower=0).fillna(0.0)
    df["entry_months"] = entry.where(ok) if delayed_entry else pd.Series(0.0, index=df.index).where(ok)
    df["line_group"] = line_group(df["line_number"], pooled_line_from)
    mid_year = pd.to_datetime(df["birth_year"].astype("Int64").astype("string") + "-07-01", errors="coerce")
    df["age"] = (start - mid_year).dt.days / 365.25
    df["era"] = era_of(start, era_start_years)
    cols = [
        "person_id",
        "line_number",
        "line_group",
        "start_date",
        "end_date",
        "next_start_date",
        "regimen",
        "regimen_class",
        "has_maintenance",
        "death_date",
        "end_of_followup",
        "age",
        "sex",
        "histology",
        "pdl1",
        "era",
        "ecog",
    ]
    cols += [f"{e}_{k}" for e in ENDPOINTS for k in ("months", "event")] + ["entry_months", "exclusion"]
    return df[cols].reset_index(drop=True)


def endpoints_long(endpoints: pd.DataFrame, keys=("algorithm", "scenario"), entry: bool = False) -> pd.DataFrame:
    """Long format of the analysable lines: one row per (line, endpoint) with `months` and `event`.

    `entry`: add the delayed-entry time `entry` (months from the line start, `entry_months`) and leave out
    the (line, endpoint) rows never at risk while observed (entry >= months: e.g. the time to next
    treatment of a first line given before the referral), logged with their number."""
    ok = endpoints[endpoints["exclusion"].isna()]
    base = (
        [k for k in keys if k in ok.columns]
        + [
            "person_id",
            "line_number",
            "line_group",
            "regimen",
            "regimen_class",
            "age",
            "sex",
            "histology",
            "pdl1",
            "era",
        ]
        + [c for c in ("ecog", "charlson", "prior_stays") if c in ok.columns]
    )
    parts = []
    for e in ENDPOINTS:
        part = ok[base].copy()
        part["endpoint"] = e
        part["months"] = ok[f"{e}_months"].to_numpy(dtype=float)
        part["event"] = ok[f"{e}_event"].to_numpy(dtype=int)
        if entry:
            part["entry"] = ok["entry_months"].fillna(0.0).to_numpy(dtype=float) if "entry_months" in ok else 0.0
            late = (part["entry"] > 0) & (part["entry"] >= part["months"])
            if late.any():
                log.info(
                    "%s: %d line(s) entered (first seen) after the end of their follow-up: not at risk", e, late.sum()
                )
            part = part[~late]
        parts.append(part)
    return pd.concat(parts, ignore_index=True)


ZERO_DURATION_MONTHS = 1e-6  # far below one day (0.033 month): no time's order or tie changes


def lifelines_durations(months, entry) -> np.ndarray:
    """Durations for lifelines' `entry_col`: a line with no delayed entry that ends on its start day (e.g. a
    one-day rwTTD) is at risk at time 0, as without `entry`, but lifelines requires entry < duration, so
    its duration becomes `ZERO_DURATION_MONTHS` (the risk sets are unchanged). Lines entered after the end
    of their follow-up were already left out by `endpoints_long`."""
    months = np.asarray(months, dtype=float)
    return np.where((np.asarray(entry, dtype=float) <= 0) & (months <= 0), ZERO_DURATION_MONTHS, months)
