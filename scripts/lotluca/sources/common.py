"""Helpers shared by the SNDS and ODH extractors: settings, reading with quarantine, keys, periods, output frames.

Nothing here knows a cleaning rule; it holds the mechanics both extractors need so that each rule is
written once in `snds.py` or `odh.py`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa

from lotluca import contracts
from lotluca.errors import InputError
from lotluca.sources import readers
from lotluca.sources.accounting import Ledger, Tracker

# states of a parent row as seen by its child rows (DCIR service / PMSI stay)
OK = "ok"


@dataclass(frozen=True)
class ExtractSettings:
    """Everything the extraction needs from config.yaml (`study:` and `extract:` blocks)."""

    study_start: pd.Timestamp = pd.Timestamp("2012-01-01")
    study_end: pd.Timestamp = pd.Timestamp("2025-12-31")
    lookback_days: int = 365
    chemo_session_ghm: tuple[str, ...] = ("28Z07Z",)
    read: readers.ReadSettings = field(default_factory=readers.ReadSettings)

    @classmethod
    def from_config(cls, config: dict) -> ExtractSettings:
        study = config.get("study", {}) or {}
        extract = config.get("extract", {}) or {}
        kw = {"read": readers.ReadSettings.from_config(extract)}
        if "start_date" in study:
            kw["study_start"] = pd.Timestamp(study["start_date"])
        if "end_date" in study:
            kw["study_end"] = pd.Timestamp(study["end_date"])
        if "lookback_days" in extract:
            kw["lookback_days"] = int(extract["lookback_days"])
        if "chemo_session_ghm" in extract:
            kw["chemo_session_ghm"] = tuple(extract["chemo_session_ghm"])
        return cls(**kw)

    @property
    def period_start(self) -> pd.Timestamp:
        return self.study_start - pd.Timedelta(days=self.lookback_days)


def read_tracked(
    path,
    name: str,
    schema: pa.Schema,
    columns: list[str],
    ledger: Ledger,
    settings: ExtractSettings,
    **kw,
) -> tuple[pd.DataFrame, Tracker]:
    """Read a table, open its tracker, reject the rows holding unparseable values; return the rest."""
    raw = readers.read_table(path, name, schema, columns, settings.read, **kw)
    tracker = ledger.track(name, raw.n_read)
    df = raw.data
    if len(raw.bad):
        bad = raw.bad.assign(detail=raw.bad["column"] + "=" + raw.bad["value"].map(repr))
        per_row = bad.groupby("_row", sort=True)["detail"].agg("; ".join)
        tracker.reject(per_row.index.to_numpy(), "unparseable_value", per_row.to_numpy())
        df = df[~df["_row"].isin(per_row.index)]
    return df.reset_index(drop=True), tracker


def check_unique(df: pd.DataFrame, keys: list[str], path, table: str) -> None:
    """Structural check: the key columns identify rows (InputError naming the duplicated rows)."""
    dup = df.duplicated(keys, keep=False)
    if dup.any():
        rows = df.loc[dup, "_row"].to_numpy() + 1
        raise InputError(
            path,
            f"table {table}: {int(dup.sum())} rows share a key",
            column="+".join(keys),
            rows=rows,
            expected="unique keys",
        )


def outside_period(dates: pd.Series, settings: ExtractSettings) -> pd.Series:
    return dates.notna() & ((dates < settings.period_start) | (dates > settings.study_end))


def iso(dates: pd.Series) -> pd.Series:
    """Dates as YYYY-MM-DD text (fast, vectorised); '' for null."""
    arr = dates.to_numpy(dtype="datetime64[D]")
    out = np.datetime_as_string(arr, unit="D").astype(object)
    out[np.isnat(arr)] = ""
    return pd.Series(out, index=dates.index)


def text(s: pd.Series) -> pd.Series:
    """A key column as text ('' for null; integers without '.0')."""
    if pd.api.types.is_integer_dtype(s):
        out = s.astype("Int64").astype(str)
        return out.where(s.notna(), "")
    if pd.api.types.is_datetime64_any_dtype(s):
        return iso(s)
    return s.astype(object).where(s.notna(), "").astype(str)


def join_key(df: pd.DataFrame, columns: list[str], sep: str = "/") -> pd.Series:
    out = text(df[columns[0]])
    for c in columns[1:]:
        out = out + sep + text(df[c])
    return out


def finess(s: pd.Series) -> pd.Series:
    """FINESS / ETA_NUM as a 9-character string (integers lose their leading zero: it is restored)."""
    t = text(s).str.strip()
    digits = t.str.fullmatch(r"\d{1,9}")
    t = t.where(~digits, t.str.zfill(9))
    return t.where(t != "", None)


def date32(s: pd.Series) -> pa.Array:
    return pa.array(s.to_numpy(dtype="datetime64[D]"), type=pa.date32(), from_pandas=True)


def to_table(df: pd.DataFrame, schema: pa.Schema, name: str, optional: tuple[str, ...] = ()) -> pa.Table:
    """Build a canonical table from a frame (date columns converted to date32) and conform it."""
    arrays, names = [], []
    for f in schema:
        if f.name not in df.columns:
            continue
        col = df[f.name]
        if pa.types.is_date32(f.type):
            arrays.append(date32(col))
        elif pa.types.is_integer(f.type):
            arrays.append(
                pa.array(col.astype("Int64").to_numpy(dtype="float64", na_value=np.nan), from_pandas=True).cast(f.type)
            )
        else:
            arrays.append(
                pa.array(col.astype(object).where(col.notna(), None).to_numpy(), type=f.type, from_pandas=True)
            )
        names.append(f.name)
    return contracts.conform(pa.Table.from_arrays(arrays, names=names), schema, name, optional)


def link_children(
    child: pd.DataFrame,
    parent: pd.DataFrame,
    keys: list[str],
    tracker: Tracker,
    parent_table: str,
    key_label: str | None = None,
) -> pd.DataFrame:
    """Attach each child row to its parent row (many-to-one on `keys`) and settle the children of bad parents.

    `parent` holds `keys`, `_prow` (its data row), `state` (OK, "filtered:<rule>" or "rejected:<rule>")
    and the columns to carry. Children without a parent are rejected (`orphan_row`); children of a
    filtered parent are filtered by the same rule; children of a rejected parent are rejected
    (`parent_rejected`). Returns the children of OK parents with the parent's columns.
    """
    merged = child.merge(parent, on=keys, how="left", validate="many_to_one", suffixes=("", "_parent"))
    orphan = merged["state"].isna()
    tracker.reject(
        merged.loc[orphan, "_row"].to_numpy(),
        "orphan_row",
        f"no {parent_table} row with the same {key_label or '+'.join(keys)}",
    )
    state = merged["state"].fillna("")
    filt = state.str.startswith("filtered:")
    for rule, rows in merged.loc[filt, "_row"].groupby(state[filt].str.slice(9)):
        tracker.filter(rows.to_numpy(), rule)
    rej = state.str.startswith("rejected:")
    if rej.any():
        detail = (
            parent_table
            + " row "
            + (merged.loc[rej, "_prow"].astype("int64") + 1).astype(str)
            + ": "
            + state[rej].str.slice(9)
        )
        tracker.reject(merged.loc[rej, "_row"].to_numpy(), "parent_rejected", detail.to_numpy())
    return merged[state == OK].reset_index(drop=True)
