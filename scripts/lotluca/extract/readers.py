"""Read one raw source table (Parquet, CSV or SAS) into a typed pandas frame, with clear errors.

The job: turn a file as a user has it on the secure platform into the columns the extraction needs,
typed after the real schema (`snds_schema.arrow_schema` for SNDS, `contracts.ODH_TABLES` for ODH):

- format from the extension: `.parquet`, `.csv` / `.txt` (separator `,` or `;` detected from the
  header line unless set; encoding utf-8, else cp1252, unless set), `.sas7bdat` / `.xpt`
  (`pandas.read_sas`; SAS dates arrive as datetimes, or as numbers of days / seconds since 1960-01-01);
- column names are matched case-insensitively; columns the extraction does not need are not read;
- dates are parsed with the column's documented format (`snds_schema.column_formats`, e.g.
  `%d%b%Y:%H:%M:%S` in PMSI link tables, `%d%m%Y` for ENT_DAT / SOR_DAT), then with every format of
  `date_formats` in turn;
- a value that cannot be parsed is *bad*: when a column's share of bad values is at most
  `max_bad_value_fraction` the rows are returned in `RawTable.bad` (the caller quarantines them);
  above it the file is structurally wrong and an `InputError` names the file, the column, the first
  rows (1-based data rows, header excluded) and what was expected.

Structural errors raised here: file not found, unknown format, missing columns, a column of the wrong
type, unparseable values above the threshold, an empty table (unless the caller allows it).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from lotluca.config import Settings
from lotluca.errors import InputError

log = logging.getLogger(__name__)

SAS_EPOCH = pd.Timestamp("1960-01-01")
FORMATS = {".parquet": "parquet", ".pq": "parquet", ".csv": "csv", ".txt": "csv", ".sas7bdat": "sas", ".xpt": "sas"}
TRUE_VALUES = frozenset({"1", "true", "t", "y", "yes", "o", "oui"})
FALSE_VALUES = frozenset({"0", "false", "f", "n", "no", "non"})


@dataclass(frozen=True)
class ReadSettings(Settings):
    """How to read text and SAS extracts: the reading keys of the `extract:` block (see docs/extract.md)."""

    csv_separator: str  # "auto" | "," | ";" | any single character
    encoding: str  # "auto" (utf-8, else cp1252) | any Python codec name
    date_formats: tuple[str, ...]  # tried in turn after a column's documented format
    max_bad_value_fraction: float  # above it, a column's unparseable values are a structural error


@dataclass
class RawTable:
    """A raw table read from `path`: typed `data` (column `_row` = 0-based data row) and the bad values."""

    name: str
    path: str
    data: pd.DataFrame
    n_read: int
    bad: pd.DataFrame = field(default_factory=lambda: pd.DataFrame({"_row": [], "column": [], "value": []}))


def file_format(path: str | Path) -> str:
    suffix = Path(path).suffix.lower()
    if suffix not in FORMATS:
        raise InputError(path, f"unknown file format {suffix!r}", expected=f"one of {', '.join(sorted(FORMATS))}")
    return FORMATS[suffix]


# --- kinds: how a schema type is held in pandas -------------------------------------------------------
def column_kind(arrow_type: pa.DataType, fmt: str | None = None) -> str:
    if fmt == "%m":
        return "month"
    if pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type):
        return "string"
    if pa.types.is_integer(arrow_type):
        return "int"
    if pa.types.is_floating(arrow_type):
        return "float"
    if pa.types.is_boolean(arrow_type):
        return "bool"
    if pa.types.is_date(arrow_type) or pa.types.is_timestamp(arrow_type):
        return "date"
    raise TypeError(f"no reader kind for Arrow type {arrow_type}")


EXPECTED = {
    "string": "text",
    "int": "an integer",
    "float": "a number",
    "bool": "a boolean (0/1)",
    "month": "a month 01..12",
}


def clean_strings(table: pa.Table) -> pa.Table:
    """Trim the text columns of an Arrow table and turn empty strings into nulls (vectorised)."""
    cols = []
    for col in table.columns:
        if pa.types.is_string(col.type) or pa.types.is_large_string(col.type):
            trimmed = pc.utf8_trim_whitespace(col)
            col = pc.if_else(pc.equal(trimmed, ""), pa.scalar(None, col.type), trimmed)
        cols.append(col)
    return pa.Table.from_arrays(cols, names=table.column_names)


def to_arrow(s: pd.Series) -> pa.Array:
    """The Arrow array behind a series (Arrow-backed text is not copied to Python objects)."""
    arr = pa.array(s.array) if isinstance(s.dtype, pd.ArrowDtype) else pa.array(s.to_numpy(), from_pandas=True)
    return arr.combine_chunks() if isinstance(arr, pa.ChunkedArray) else arr


def arrow_series(arr, index) -> pd.Series:
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    return pd.Series(pd.arrays.ArrowExtensionArray(arr), index=index)


def _trim(arr: pa.Array) -> pa.Array:
    trimmed = pc.utf8_trim_whitespace(arr)
    return pc.if_else(pc.equal(trimmed, ""), pa.scalar(None, pa.string()), trimmed)


def _as_text(s: pd.Series, clean: bool = False) -> pd.Series:
    """Any series as trimmed Arrow-backed text (integral floats without '.0', booleans as 0/1), nulls kept.

    `clean`: the text was already trimmed by `clean_strings` (parquet / csv readers)."""
    if isinstance(s.dtype, pd.ArrowDtype) and pa.types.is_string(s.dtype.pyarrow_dtype):
        return s if clean else arrow_series(_trim(to_arrow(s)), s.index)
    if s.dtype == object:
        vals = s.to_numpy()
        try:
            arr = pa.array(vals, type=pa.string(), from_pandas=True)
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            arr = pa.array(
                [None if v is None or v is pd.NA or (isinstance(v, float) and np.isnan(v)) else str(v) for v in vals],
                type=pa.string(),
            )
        return arrow_series(_trim(arr), s.index)
    if pd.api.types.is_bool_dtype(s):
        arr = pc.if_else(to_arrow(s.astype("boolean")), "1", "0")
        return arrow_series(arr, s.index)
    if pd.api.types.is_float_dtype(s):
        integral = s.notna() & (s == np.floor(s))
        text = s.astype(object).where(s.notna(), None)
        text[integral] = s[integral].astype("int64").astype(str)
        text[s.notna() & ~integral] = s[s.notna() & ~integral].astype(str)
        return arrow_series(pa.array(text.to_numpy(), type=pa.string(), from_pandas=True), s.index)
    return arrow_series(pc.cast(to_arrow(s), pa.string()), s.index)


def coerce(
    s: pd.Series, kind: str, formats: tuple[str, ...] = (), origin_format: str = "text"
) -> tuple[pd.Series, pd.Series]:
    """Type `s` as `kind`; return (typed series, mask of non-null values that could not be parsed).

    Text from parquet / csv files arrives already trimmed (`clean_strings`); SAS text is trimmed here.
    """
    present = s.notna()
    clean = origin_format in ("parquet", "csv")
    if kind == "string":
        typed = _as_text(s, clean)
        return typed, pd.Series(False, index=s.index)
    if kind in ("int", "float"):
        if kind == "int" and pd.api.types.is_integer_dtype(s):
            return s.astype("Int64", copy=False), pd.Series(False, index=s.index)
        if pd.api.types.is_bool_dtype(s):
            s = s.astype("Int64")
        if pd.api.types.is_numeric_dtype(s):
            num = s.astype("float64")
        else:
            text = _as_text(s, clean)
            arr = to_arrow(text)
            try:  # fast path: every value parses
                num = pd.Series(pc.cast(arr, pa.float64()).to_numpy(zero_copy_only=False), index=s.index)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                obj = text.astype(object).where(text.notna(), None)
                if kind == "float":
                    obj = obj.map(lambda v: v.replace(",", ".") if isinstance(v, str) else v)
                num = pd.to_numeric(obj, errors="coerce")
            present = text.notna().to_numpy(bool)
            num = num.astype("float64")
        bad = pd.Series(np.asarray(present, bool) & num.isna().to_numpy(), index=s.index)
        if kind == "int":
            nonint = num.notna() & (num != np.floor(num))
            bad |= nonint
            num = num.where(~nonint)
            return num.astype("Int64"), bad
        return num.astype("float64"), bad
    if kind == "bool":
        if pd.api.types.is_bool_dtype(s):
            return s.astype("boolean"), pd.Series(False, index=s.index)
        text = _as_text(s, clean).astype(object)
        text = text.where(text.notna(), None).str.lower()
        out = pd.Series(pd.NA, index=s.index, dtype="boolean")
        out[text.isin(TRUE_VALUES)] = True
        out[text.isin(FALSE_VALUES)] = False
        return out, text.notna() & out.isna()
    if kind == "month":
        num, bad = coerce(s, "int")
        bad |= num.notna() & ((num < 1) | (num > 12))
        out = num.where(~bad).astype(object).map(lambda v: None if pd.isna(v) else f"{int(v):02d}")
        return out, bad
    if kind == "date":
        return _coerce_date(s, formats, origin_format, clean)
    raise ValueError(kind)


def _coerce_date(
    s: pd.Series, formats: tuple[str, ...], origin_format: str, clean: bool = False
) -> tuple[pd.Series, pd.Series]:
    if pd.api.types.is_datetime64_any_dtype(s):
        out = s.dt.tz_localize(None) if getattr(s.dt, "tz", None) is not None else s
        out = out.astype("datetime64[ns]", copy=False)
        ns = out.to_numpy().view(np.int64)
        if ((ns % 86_400_000_000_000)[~np.isnat(out.to_numpy())] != 0).any():  # times of day: keep the date
            out = out.dt.floor("D")
        return out, pd.Series(False, index=s.index)
    if origin_format == "sas" and pd.api.types.is_numeric_dtype(s):
        # SAS stores dates as days (DATE.) or seconds (DATETIME.) since 1960-01-01
        num = s.astype("float64")
        unit = "s" if num.abs().max(skipna=True) > 10**6 else "D"
        out = (SAS_EPOCH + pd.to_timedelta(num, unit=unit)).dt.floor("D")
        return out, pd.Series(False, index=s.index)
    if s.dtype != object and not pd.api.types.is_string_dtype(s):
        raise TypeError(f"dtype {s.dtype}")  # a number where a date is expected: wrong type
    text = _as_text(s, clean).astype(object)
    text = text.where(text.notna(), None)
    out = pd.Series(pd.NaT, index=s.index, dtype="datetime64[ns]")
    todo = text.notna()
    for fmt in formats:
        if not todo.any():
            break
        parsed = pd.to_datetime(text[todo], format=fmt, errors="coerce")
        ok = parsed.notna()
        out.loc[parsed.index[ok]] = parsed[ok].dt.floor("D")
        todo.loc[parsed.index[ok]] = False
    return out, todo


# --- raw readers ---------------------------------------------------------------------------------------
def _detect_separator(path: Path, setting: str) -> str:
    if setting != "auto":
        return setting
    with open(path, "rb") as fh:
        head = fh.readline()
    return ";" if head.count(b";") > head.count(b",") else ","


def _header(path: Path, sep: str, encoding: str) -> list[str]:
    with open(path, "rb") as fh:
        line = fh.readline()
    text = line.decode(encoding, errors="replace").lstrip("\ufeff").rstrip("\r\n")
    return [c.strip().strip('"') for c in text.split(sep)]


def _read_csv(path: Path, wanted: dict[str, str], settings: ReadSettings) -> tuple[pd.DataFrame, dict[str, str]]:
    sep = _detect_separator(path, settings.csv_separator)
    encodings = ["utf-8", "cp1252"] if settings.encoding == "auto" else [settings.encoding]
    last_exc = None
    for enc in encodings:
        header = _header(path, sep, enc)
        found = {c.upper(): c for c in header}
        include = [found[w.upper()] for w in wanted if w.upper() in found]
        try:
            table = pacsv.read_csv(
                path,
                read_options=pacsv.ReadOptions(encoding="utf8" if enc == "utf-8" else enc, block_size=1 << 24),
                parse_options=pacsv.ParseOptions(delimiter=sep),
                convert_options=pacsv.ConvertOptions(
                    column_types={c: pa.string() for c in header},
                    include_columns=include,
                    strings_can_be_null=True,
                    quoted_strings_can_be_null=True,
                    null_values=[""],
                ),
            )
        except (pa.ArrowInvalid, UnicodeDecodeError) as exc:
            last_exc = exc
            if "UTF8" in str(exc) or "utf-8" in str(exc).lower() or isinstance(exc, UnicodeDecodeError):
                continue
            raise InputError(path, f"cannot parse CSV (separator {sep!r}, encoding {enc}): {exc}") from exc
        return clean_strings(table).to_pandas(types_mapper=_types_mapper), {c.upper(): c for c in table.column_names}
    raise InputError(path, f"cannot decode CSV with encodings {encodings}: {last_exc}")


ARROW_STRING = pd.ArrowDtype(pa.string())


def _types_mapper(t: pa.DataType):
    """Arrow -> pandas dtypes that avoid Python objects: text stays Arrow-backed, integers nullable."""
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        return ARROW_STRING
    if pa.types.is_integer(t):
        return pd.Int64Dtype()
    if pa.types.is_boolean(t):
        return pd.BooleanDtype()
    return None


def _read_parquet(path: Path, wanted: dict[str, str]) -> tuple[pd.DataFrame, dict[str, str]]:
    try:
        names = pq.read_schema(path).names
    except (pa.ArrowInvalid, OSError) as exc:
        raise InputError(path, f"not a readable Parquet file: {exc}") from exc
    found = {c.upper(): c for c in names}
    include = [found[w.upper()] for w in wanted if w.upper() in found]
    table = pq.read_table(path, columns=include)
    # dates stay datetime.date objects -> converted by coerce; timestamps become datetime64
    df = table.to_pandas(date_as_object=False, timestamp_as_object=False, types_mapper=_types_mapper)
    return df, {c.upper(): c for c in table.column_names}


def _read_sas(path: Path, wanted: dict[str, str], settings: ReadSettings) -> tuple[pd.DataFrame, dict[str, str]]:
    enc = None if settings.encoding == "auto" else settings.encoding
    try:
        df = pd.read_sas(path, encoding=enc) if enc else pd.read_sas(path)
    except Exception as exc:  # noqa: BLE001 - pandas raises many types for a bad SAS file
        raise InputError(path, f"not a readable SAS file: {exc}") from exc
    if enc is None:
        for c in df.columns:
            if df[c].dtype == object:
                df[c] = df[c].map(lambda v: _decode_auto(v) if isinstance(v, bytes) else v)
    found = {str(c).upper(): c for c in df.columns}
    keep = [found[w.upper()] for w in wanted if w.upper() in found]
    return df[keep], {str(c).upper(): c for c in keep}


def _decode_auto(v: bytes) -> str:
    try:
        return v.decode("utf-8")
    except UnicodeDecodeError:
        return v.decode("cp1252")


def _check_columns(path: Path, name: str, columns: list[str], actual, optional: tuple[str, ...]) -> None:
    missing = [c for c in columns if c.upper() not in actual and c not in optional]
    if missing:
        raise InputError(path, f"table {name}: missing columns {missing}", expected=f"the {name} schema columns")


@dataclass
class BadValues:
    """Unparseable values of one column over the batches of a table read in chunks (`iter_typed_batches`)."""

    n_bad: int = 0
    n_present: int = 0
    rows: list = field(default_factory=list)  # 0-based rows of the whole file, per batch
    example: object = None
    expected: str = ""


def _type_columns(
    df: pd.DataFrame,
    actual: dict[str, str],
    path: Path,
    name: str,
    by_name: dict,
    columns: list[str],
    settings: ReadSettings,
    fmt: str,
    column_formats: dict[str, str],
    kinds: dict[str, str],
    defer: dict[str, BadValues] | None = None,
    offset: int = 0,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Type the `columns` of a raw frame; returns (typed frame with `_row`, bad values). Above the
    bad-value threshold a column is an InputError; `defer` (batches of one table, the first row at
    `offset`): the counts are gathered there instead, and checked on the whole table (`check_deferred`)."""
    n = len(df)
    out = {"_row": np.arange(offset, offset + n, dtype="int64")}
    bad_parts = []
    for c in columns:
        kind = kinds.get(c) or column_kind(by_name[c].type, column_formats.get(c))
        if c.upper() not in actual:
            out[c] = (
                pd.Series([None] * n, dtype=object)
                if kind in ("string", "month")
                else coerce(pd.Series([None] * n, dtype=object), kind)[0]
            )
            continue
        raw = df[actual[c.upper()]]
        formats = tuple(
            dict.fromkeys(([column_formats[c]] if c in column_formats else []) + list(settings.date_formats))
        )
        try:
            typed, bad = coerce(raw, kind, formats, origin_format=fmt)
        except TypeError as exc:
            raise InputError(
                path,
                f"table {name}: column of the wrong type ({raw.dtype})",
                column=c,
                expected=EXPECTED.get(kind, "a date"),
            ) from exc
        out[c] = (
            typed if isinstance(typed.index, pd.RangeIndex) and typed.index.start == 0 else typed.reset_index(drop=True)
        )
        n_bad = int(bad.sum())
        if defer is not None:
            acc = defer.setdefault(c, BadValues())
            acc.n_present += int(raw.notna().sum())
        if n_bad:
            rows = np.flatnonzero(bad.to_numpy())
            expected = EXPECTED.get(kind) or f"a date in one of the formats {list(formats)}"
            if defer is not None:
                if not acc.n_bad:
                    acc.example, acc.expected = raw.iloc[rows[0]], expected
                acc.n_bad += n_bad
                acc.rows.append(rows + offset)
            else:
                n_present = int(raw.notna().sum())
                if n_bad > settings.max_bad_value_fraction * max(n_present, 1):
                    raise InputError(
                        path,
                        f"table {name}: {n_bad} of {n_present} values cannot be parsed (e.g. {raw.iloc[rows[0]]!r})",
                        column=c,
                        rows=(r + 1 for r in rows),
                        expected=expected,
                    )
                log.warning("%s: column %s: %d unparseable values quarantined", path, c, n_bad)
            bad_parts.append(
                pd.DataFrame({"_row": rows + offset, "column": c, "value": raw.iloc[rows].astype(str).to_numpy()})
            )
    data = pd.DataFrame(out)
    bad_df = pd.concat(bad_parts, ignore_index=True) if bad_parts else RawTable(name, "", data, 0).bad
    return data, bad_df


def check_deferred(path, name: str, defer: dict[str, BadValues], settings: ReadSettings) -> None:
    """The bad-value threshold of `_type_columns` on a whole table read in batches (columns in order)."""
    for c, acc in defer.items():
        if not acc.n_bad:
            continue
        if acc.n_bad > settings.max_bad_value_fraction * max(acc.n_present, 1):
            rows = np.concatenate(acc.rows)
            raise InputError(
                path,
                f"table {name}: {acc.n_bad} of {acc.n_present} values cannot be parsed (e.g. {acc.example!r})",
                column=c,
                rows=(r + 1 for r in rows),
                expected=acc.expected,
            )
        log.warning("%s: column %s: %d unparseable values quarantined", path, c, acc.n_bad)


def read_table(
    path: str | Path,
    name: str,
    schema: pa.Schema,
    columns: list[str],
    settings: ReadSettings,
    *,
    column_formats: dict[str, str] | None = None,
    optional: tuple[str, ...] = (),
    kinds: dict[str, str] | None = None,
    allow_empty: bool = False,
) -> RawTable:
    """Read `columns` of table `name` from `path`, typed after `schema`.

    `column_formats`: documented text format of date columns (tried first); `optional`: columns that
    may be absent (then all null); `kinds`: per-column override of the reader kind (e.g. "string" for
    return codes that the schema types as boolean).
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(path, f"table {name} not found (file missing)")
    fmt = file_format(path)
    wanted = {c: c for c in columns}
    if fmt == "parquet":
        df, actual = _read_parquet(path, wanted)
    elif fmt == "csv":
        df, actual = _read_csv(path, wanted, settings)
    else:
        df, actual = _read_sas(path, wanted, settings)
    _check_columns(path, name, columns, actual, optional)
    n = len(df)
    if n == 0 and not allow_empty:
        raise InputError(path, f"table {name} is empty", expected="at least one row")
    df = df.reset_index(drop=True)
    by_name = {f.name: f for f in schema}
    data, bad_df = _type_columns(
        df, actual, path, name, by_name, columns, settings, fmt, column_formats or {}, kinds or {}
    )
    return RawTable(name=name, path=str(path), data=data, n_read=n, bad=bad_df)


def iter_typed_batches(
    path: str | Path,
    name: str,
    schema: pa.Schema,
    columns: list[str],
    settings: ReadSettings,
    *,
    batch_rows: int,
    column_formats: dict[str, str] | None = None,
    optional: tuple[str, ...] = (),
    kinds: dict[str, str] | None = None,
    allow_empty: bool = False,
):
    """`read_table` of a Parquet file batch by batch: yields (typed frame, bad values) per batch, `_row`
    counting rows of the whole file; the same checks (columns, emptiness, wrong type, the bad-value
    threshold on the whole table) and the same errors as `read_table`, raised once the table is read."""
    path = Path(path)
    if not path.is_file():
        raise InputError(path, f"table {name} not found (file missing)")
    try:
        pf = pq.ParquetFile(path)
    except (pa.ArrowInvalid, OSError) as exc:
        raise InputError(path, f"not a readable Parquet file: {exc}") from exc
    found = {c.upper(): c for c in pf.schema_arrow.names}
    include = [found[c.upper()] for c in columns if c.upper() in found]
    actual = {c.upper(): c for c in include}
    _check_columns(path, name, columns, actual, optional)
    if pf.metadata.num_rows == 0 and not allow_empty:
        raise InputError(path, f"table {name} is empty", expected="at least one row")
    by_name = {f.name: f for f in schema}
    defer: dict[str, BadValues] = {}
    offset = 0
    for batch in pf.iter_batches(batch_size=batch_rows, columns=include):
        df = pa.Table.from_batches([batch]).to_pandas(
            date_as_object=False, timestamp_as_object=False, types_mapper=_types_mapper
        )
        yield _type_columns(
            df, actual, path, name, by_name, columns, settings, "parquet", column_formats or {}, kinds or {},
            defer, offset,
        )  # fmt: skip
        offset += len(df)
    check_deferred(path, name, defer, settings)
