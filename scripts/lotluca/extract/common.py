"""Helpers shared by the SNDS and ODH extractors: settings, reading with quarantine, keys, periods, output frames.

Nothing here knows a cleaning rule; it holds the mechanics both extractors need so that each rule is
written once in `snds.py` or `odh.py`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from lotluca import contracts
from lotluca.config import Settings
from lotluca.errors import InputError
from lotluca.extract import drug_matching as dm
from lotluca.extract import readers
from lotluca.extract.accounting import Ledger, Tracker
from lotluca.extract.readers import arrow_series, to_arrow


@dataclass(frozen=True)
class ExtractSettings(Settings):
    """The `extract:` block of the config, plus the study period and whether the tables are one shard.

    Built by `ExtractSettings.from_config(config["extract"], start_date=..., end_date=..., part=...)`
    (`start_date` / `end_date`: the `study:` block). `part`: the tables are one patient shard of a whole
    extract (config `shards` > 1): a shard may hold no row of a table, so an empty table is not an error
    (the whole one is checked by the split)."""

    csv_separator: str
    encoding: str
    date_formats: tuple[str, ...]
    max_bad_value_fraction: float
    lookback_days: int
    chemo_session_ghm: tuple[str, ...]
    drug_classes: Mapping[str, tuple[str, ...]]
    drug_overrides: str
    chunk_rows: int
    threads: int
    start_date: dt.date
    end_date: dt.date
    part: bool = False  # not a config key: whether the tables are one shard

    @classmethod
    def for_study(cls, study: Mapping, extract: Mapping, part: bool = False) -> ExtractSettings:
        """The settings of the `study:` and `extract:` blocks (validated, defaults filled)."""
        return cls.from_config(extract, start_date=study["start_date"], end_date=study["end_date"], part=part)

    def for_split_shard(self) -> ExtractSettings:
        """The settings of one shard written by the split: empty tables allowed, and no bad-value threshold
        (the split already checked it on the whole tables)."""
        return replace(self, part=True, max_bad_value_fraction=1.0)

    @property
    def read(self) -> readers.ReadSettings:
        return readers.ReadSettings(
            csv_separator=self.csv_separator,
            encoding=self.encoding,
            date_formats=self.date_formats,
            max_bad_value_fraction=self.max_bad_value_fraction,
        )

    @property
    def study_start(self) -> pd.Timestamp:
        return pd.Timestamp(self.start_date.isoformat())

    @property
    def study_end(self) -> pd.Timestamp:
        return pd.Timestamp(self.end_date.isoformat())

    @property
    def period_start(self) -> pd.Timestamp:
        return self.study_start - pd.Timedelta(days=self.lookback_days)


ROW_NUMBERS_SUFFIX = ".rows.parquet"  # `<table>.rows.parquet`: row numbers of a shard's rows in the whole file


def row_numbers_file(table_file) -> Path:
    """The row-number file written next to one shard of a raw table (`IR_BEN_R.csv` -> `IR_BEN_R.rows.parquet`)."""
    table_file = Path(table_file)
    return table_file.with_name(table_file.name.split(".")[0] + ROW_NUMBERS_SUFFIX)


def read_row_numbers(path) -> np.ndarray:
    """The 0-based rows (column `row`, strictly increasing) that a shard's rows have in the whole file."""
    table = pq.read_table(path)
    if "row" not in table.column_names:
        raise InputError(path, "no row-number column", column="row")
    return table.column("row").to_numpy().astype(np.int64)


def read_tracked(
    path,
    name: str,
    schema: pa.Schema,
    columns: list[str],
    ledger: Ledger,
    settings: ExtractSettings,
    row_numbers=None,
    **kw,
) -> tuple[pd.DataFrame, Tracker]:
    """Read a table, open its tracker, reject the rows holding unparseable values; return the rest.

    `row_numbers` (file of `read_row_numbers`, optional): the file is one shard of a whole table;
    `_row` then holds each row's 0-based row in the whole file (row keys name the user's rows)."""
    if settings.part:
        kw["allow_empty"] = True
    raw = readers.read_table(path, name, schema, columns, settings.read, **kw)
    labels = None
    if row_numbers is not None:
        labels = read_row_numbers(row_numbers)
        if labels.size != raw.n_read:
            raise InputError(
                row_numbers, f"{labels.size} row numbers for the {raw.n_read} rows of {path}", column="row"
            )
    tracker = ledger.track(name, raw.n_read, labels)
    df = raw.data
    if labels is not None:
        df["_row"] = labels[df["_row"].to_numpy()]
        raw.bad["_row"] = labels[raw.bad["_row"].to_numpy(dtype=np.int64)]
    return quarantine(df, raw.bad, tracker), tracker


def quarantine(df: pd.DataFrame, bad: pd.DataFrame, tracker: Tracker) -> pd.DataFrame:
    """Reject the rows holding unparseable values (`bad`: _row, column, value) and return the others."""
    if len(bad):
        bad = bad.assign(detail=bad["column"] + "=" + bad["value"].map(repr))
        per_row = bad.groupby("_row", sort=True)["detail"].agg("; ".join)
        tracker.reject(per_row.index.to_numpy(), "unparseable_value", per_row.to_numpy())
        df = df[~df["_row"].isin(per_row.index)].reset_index(drop=True)
    return df


def check_unique(df: pd.DataFrame, keys: list[str], path, table: str) -> None:
    """Structural check: the key columns identify rows (InputError naming the duplicated rows)."""
    t = arrow_frame(df, keys)
    counts = t.group_by(keys, use_threads=False).aggregate([([], "count_all")])
    dup_keys = counts.filter(pc.greater(counts["count_all"], 1))
    if dup_keys.num_rows:
        hit = t.append_column("_row", pa.array(df["_row"].to_numpy())).join(
            dup_keys.select(keys), keys=keys, join_type="inner"
        )
        rows = np.sort(hit["_row"].to_numpy()) + 1
        raise InputError(
            path,
            f"table {table}: {rows.size} rows share a key",
            column="+".join(keys),
            rows=rows,
            expected="unique keys",
        )


def arrow_frame(df: pd.DataFrame, columns: list[str]) -> pa.Table:
    """Columns of a frame as an Arrow table (text as string, dates as timestamps, nullable integers)."""
    arrays = []
    for c in columns:
        s = df[c]
        if s.dtype == object:
            arrays.append(pa.array(s.to_numpy(), type=pa.string(), from_pandas=True))
        elif pd.api.types.is_datetime64_any_dtype(s):
            arrays.append(pa.array(s.to_numpy(), from_pandas=True))
        else:
            arrays.append(to_arrow(s))
    return pa.Table.from_arrays(arrays, names=columns)


def outside_period(dates: pd.Series, settings: ExtractSettings) -> pd.Series:
    return dates.notna() & ((dates < settings.period_start) | (dates > settings.study_end))


def arrow_text(s: pd.Series) -> pa.Array:
    """A column as Arrow text: integers without '.0', dates as YYYY-MM-DD, nulls kept."""
    if pd.api.types.is_datetime64_any_dtype(s):
        return pc.cast(pa.array(s.to_numpy(dtype="datetime64[D]"), type=pa.date32(), from_pandas=True), pa.string())
    if pd.api.types.is_float_dtype(s):
        s = s.astype("Int64")
    if s.dtype == object:
        return pa.array(s.to_numpy(), type=pa.string(), from_pandas=True)
    arr = to_arrow(s)
    return arr if pa.types.is_string(arr.type) else pc.cast(arr, pa.string())


def _series(arr: pa.Array, index) -> pd.Series:
    return arrow_series(arr, index)


def text(s: pd.Series) -> pd.Series:
    """A key column as text ('' for null; integers without '.0'; dates YYYY-MM-DD)."""
    return _series(pc.fill_null(arrow_text(s), ""), s.index)


def join_key(df: pd.DataFrame, columns: list[str], sep: str = "/") -> pd.Series:
    """Key columns joined by `sep` (vectorised in Arrow); null parts become empty strings."""
    parts = [pc.fill_null(arrow_text(df[c]), "") for c in columns]
    return _series(pc.binary_join_element_wise(*parts, sep), df.index)


def finess(s: pd.Series) -> pd.Series:
    """FINESS / ETA_NUM as a 9-character string (integers lose their leading zero: it is restored)."""
    t = pc.utf8_trim_whitespace(arrow_text(s))
    digits = pc.match_substring_regex(t, r"^\d{1,9}$")
    t = pc.if_else(pc.fill_null(digits, False), pc.utf8_lpad(t, 9, "0"), t)
    t = pc.if_else(pc.equal(t, ""), pa.scalar(None, pa.string()), t)
    return _series(t, s.index)


def strip_zeros(s: pd.Series) -> pd.Series:
    """All-digit codes without leading zeros ("000123" -> "123"), other text trimmed; for joins."""
    t = pc.utf8_trim_whitespace(arrow_text(s))
    digits = pc.fill_null(pc.match_substring_regex(t, r"^\d+$"), False)
    stripped = pc.utf8_ltrim(t, "0")
    stripped = pc.if_else(pc.equal(stripped, ""), "0", stripped)
    return _series(pc.if_else(digits, stripped, t), s.index)


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
        elif isinstance(col.dtype, pd.ArrowDtype):
            arrays.append(to_arrow(col).cast(f.type))
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


def sort_table(table: pa.Table, columns: list[str]) -> pa.Table:
    """Sort a canonical table by `columns` (deterministic output order; Arrow sort, stable)."""
    return table.take(pc.sort_indices(table, sort_keys=[(c, "ascending") for c in columns]))


FILTERED, REJECTED = 1, 2  # parent status codes (0 = OK)


def settle(frame: pd.DataFrame, rows_col: str, tracker: Tracker, detail: dict | None = None) -> pd.DataFrame:
    """Mark rows of `frame` whose `status` is filtered / rejected with their `rule`; return the OK rows."""
    for code, fn in ((FILTERED, tracker.filter), (REJECTED, tracker.reject)):
        sel = frame["status"].to_numpy() == code
        if sel.any():
            part = frame.loc[sel, [rows_col, "rule"]]
            for rule, rows in part.groupby("rule", sort=True)[rows_col]:
                if code == REJECTED:
                    fn(rows.to_numpy(), rule, (detail or {}).get(rule))
                else:
                    fn(rows.to_numpy(), rule)
    return frame[frame["status"].to_numpy() == 0]


def per_distinct(arr, fn, missing) -> np.ndarray:
    """`fn` of each value of `arr` (Arrow text) computed once per distinct value: `fn(distinct)` (an Arrow
    array) gives one result per distinct value; a null value gets `missing`."""
    arr = arr.combine_chunks() if isinstance(arr, pa.ChunkedArray) else arr
    enc = pc.dictionary_encode(arr)
    results = np.append(np.asarray(fn(enc.dictionary)), missing)  # code -1 (null): the appended `missing`
    return results[pc.fill_null(enc.indices, -1).to_numpy(zero_copy_only=False)]


class TextIndex:
    """The position of text values in a fixed list of distinct values, its hash table built once (where
    `pc.index_in` builds one per call): each call looks up only the distinct values of its column."""

    def __init__(self, values):
        self.index = pd.Index(np.asarray(values, dtype=object))

    def __len__(self) -> int:
        return len(self.index)

    def positions(self, arr) -> np.ndarray:
        """The position of each value of `arr` (Arrow text) in the list; -1 when absent or null."""
        return per_distinct(arr, lambda d: self.index.get_indexer(d.to_numpy(zero_copy_only=False).astype(object)), -1)


class KeyIndex:
    """Exact many-to-one lookup of child rows in a parent table on several key columns (vectorised).

    Each key column is turned into int64 codes (text through the parent's dictionary, dates as
    nanoseconds, integers as themselves), the codes of a row are hashed into one uint64, parents are
    sorted by hash and children found by binary search; every candidate pair is then verified column
    by column, so a hash collision can never attach a child to the wrong parent (it falls back to an
    exact multi-column match). Rows with a null key never match.
    """

    NULL = np.int64(-(2**62))

    def __init__(self, parent: pd.DataFrame, keys: list[str], path=None, table: str = ""):
        self.keys = keys
        self.dicts = {}
        for c in keys:
            s = parent[c]
            if not (pd.api.types.is_numeric_dtype(s) or pd.api.types.is_datetime64_any_dtype(s)):
                self.dicts[c] = pc.unique(pc.drop_null(arrow_text(s)))
        self.codes = self._codes(parent)
        self.hash = self._hash(self.codes)
        self.valid_pos = np.flatnonzero((self.codes != self.NULL).all(axis=1))
        # fast path: a hash table on the row hashes (unique unless keys repeat or hashes collide)
        self.table = pd.Index(self.hash[self.valid_pos])
        self.sorted_hash = None
        if not self.table.is_unique:
            self.table = None
            self.order = self.valid_pos[np.argsort(self.hash[self.valid_pos], kind="stable")]
            self.sorted_hash = self.hash[self.order]
            if path is not None:
                self._check_unique(parent, path, table)

    def _codes(self, df: pd.DataFrame) -> np.ndarray:
        out = np.empty((len(df), len(self.keys)), dtype=np.int64)
        for j, c in enumerate(self.keys):
            s = df[c]
            if c in self.dicts:
                idx = pc.index_in(arrow_text(s), value_set=self.dicts[c])
                out[:, j] = pc.fill_null(idx, -1).to_numpy(zero_copy_only=False)
                out[pc.is_null(idx).to_numpy(zero_copy_only=False), j] = self.NULL
            elif pd.api.types.is_datetime64_any_dtype(s):
                v = s.to_numpy(dtype="datetime64[ns]")
                out[:, j] = np.where(np.isnat(v), self.NULL, v.view(np.int64))
            else:
                out[:, j] = (
                    s.astype("Float64").astype("Int64").to_numpy(dtype=np.int64, na_value=self.NULL)
                    if not pd.api.types.is_integer_dtype(s)
                    else s.to_numpy(dtype=np.int64, na_value=self.NULL)
                )
        return out

    @staticmethod
    def _hash(codes: np.ndarray) -> np.ndarray:
        h = np.full(len(codes), 0x9E3779B97F4A7C15, dtype=np.uint64)
        with np.errstate(over="ignore"):
            for j in range(codes.shape[1]):
                x = codes[:, j].view(np.uint64) ^ h
                x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
                x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
                h = x ^ (x >> np.uint64(31))
        return h

    def _check_unique(self, parent: pd.DataFrame, path, table: str) -> None:
        same = self.sorted_hash[1:] == self.sorted_hash[:-1]
        if not same.any():
            return
        cand = np.unique(np.concatenate([self.order[1:][same], self.order[:-1][same]]))
        sub = pd.DataFrame(self.codes[cand])
        dup = sub.duplicated(keep=False).to_numpy()
        if dup.any():
            rows = np.sort(parent["_row"].to_numpy()[cand[dup]]) + 1
            raise InputError(
                path,
                f"table {table}: {rows.size} rows share a key",
                column="+".join(self.keys),
                rows=rows,
                expected="unique keys",
            )

    def lookup(self, child: pd.DataFrame) -> np.ndarray:
        """Parent position of each child row (-1 when none)."""
        codes = self._codes(child)
        h = self._hash(codes)
        if self.table is not None:
            found = self.table.get_indexer(h)
            out = np.full(len(child), -1, dtype=np.int64)
            idx = np.flatnonzero(found >= 0)
            cand = self.valid_pos[found[idx]]
            exact = (self.codes[cand] == codes[idx]).all(axis=1) & (codes[idx] != self.NULL).all(axis=1)
            out[idx[exact]] = cand[exact]  # a hash hit with other key values is a collision: no parent
            return out
        pos = np.searchsorted(self.sorted_hash, h)
        pos = np.minimum(pos, max(len(self.sorted_hash) - 1, 0))
        out = np.full(len(child), -1, dtype=np.int64)
        if len(self.sorted_hash) == 0:
            return out
        hit = self.sorted_hash[pos] == h
        cand = self.order[pos[hit]]
        exact = (self.codes[cand] == codes[hit]).all(axis=1) & (codes[hit] != self.NULL).all(axis=1)
        idx = np.flatnonzero(hit)
        out[idx[exact]] = cand[exact]
        # hash collisions (or a hit on another row with the same hash): exact search among equal hashes
        for i in idx[~exact]:
            lo, hi = np.searchsorted(self.sorted_hash, h[i], "left"), np.searchsorted(self.sorted_hash, h[i], "right")
            for p in self.order[lo:hi]:
                if (self.codes[p] == codes[i]).all() and (codes[i] != self.NULL).all():
                    out[i] = p
                    break
        return out


def link_children(
    child: pd.DataFrame,
    parent: pd.DataFrame,
    index: KeyIndex,
    tracker: Tracker,
    parent_table: str,
    carry: list[str],
    key_label: str | None = None,
) -> pd.DataFrame:
    """Attach each child row to its parent row (many-to-one through `index`) and settle the children of
    bad parents.

    `parent` holds `_prow` (its data row), `status` (0 OK, FILTERED, REJECTED), `rule` and the `carry`
    columns, in the row order `index` was built on. Children without a parent are rejected
    (`orphan_row`); children of a filtered parent are filtered by the same rule; children of a
    rejected parent are rejected (`parent_rejected`). Returns the children of OK parents with `_prow`
    and the carried columns.
    """
    ppos = index.lookup(child)
    orphan = ppos < 0
    label = key_label or "+".join(index.keys)
    tracker.reject(child["_row"].to_numpy()[orphan], "orphan_row", f"no {parent_table} row with the same {label}")
    child = child[~orphan]
    ppos = ppos[~orphan]
    status = parent["status"].to_numpy()[ppos]
    rule = parent["rule"].to_numpy()[ppos]
    crow = child["_row"].to_numpy()
    filt = status == FILTERED
    for r in np.unique(rule[filt].astype(str)):
        tracker.filter(crow[filt & (rule == r)], r)
    rej = status == REJECTED
    if rej.any():
        prow = parent["_prow"].to_numpy()[ppos[rej]]
        detail = np.char.add(
            np.char.add(f"{parent_table} row ", (prow + 1).astype(str)), np.char.add(": ", rule[rej].astype(str))
        )
        tracker.reject(crow[rej], "parent_rejected", detail.astype(object))
    ok = status == 0
    out = child[ok].reset_index(drop=True)
    for c in ["_prow", *carry]:
        col = parent[c]
        out[c] = (
            col.iloc[ppos[ok]].to_numpy()
            if not isinstance(col.dtype, pd.ArrowDtype)
            else col.iloc[ppos[ok]].reset_index(drop=True)
        )
    return out


def exposure_frame(
    person_id, date, end_date, ingredient, route, source, origin, hospital=None, protocol=None, cycle=None
) -> pd.DataFrame:
    """Canonical exposure rows (before `to_table`): ATC and drug class from the drug reference; the
    optional columns (hospital, protocol_label, cycle_number) only when the source has them."""
    attrs = dm.attributes(ingredient, route)
    out = pd.DataFrame(
        {
            "person_id": person_id,
            "date": date,
            "end_date": end_date,
            "ingredient": ingredient,
            "atc": attrs["atc"],
            "drug_class": attrs["drug_class"],
            "route": route,
            "source": source,
            "origin": origin,
        }
    )
    for name, values in (("hospital", hospital), ("protocol_label", protocol), ("cycle_number", cycle)):
        if values is not None:
            out[name] = values
    return out
