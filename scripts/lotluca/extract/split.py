"""Split a user's raw SNDS or ODH tables into patient shards, so that extraction can run once per shard.

Every raw row goes to exactly one shard (`lotluca.sharding.shard_of` of its person key, reached through
each table's join keys), and all the rows the extraction puts together land in the same shard, so
extracting each shard and gathering (`lotluca.extract.gather`) equals extracting the whole. Rows whose
person cannot be resolved go to the shard of the raw key they carry. The whole tables are read and
checked as the extraction would; raw values are written untouched (CSV lines, Parquet schema; SAS
becomes Parquet), with `<table>.rows.parquet` beside each shard table: each row's 0-based row in the
user's file. The nomenclatures (IR_PHA_R, NU_UCD_R) are not per person: every shard gets them whole.
The routing rules: docs/extract.md ("Sharded extraction").
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from lotluca import contracts, snds_schema
from lotluca.errors import InputError
from lotluca.extract import drug_matching as dm
from lotluca.extract import odh, readers, snds
from lotluca.extract.accounting import Ledger
from lotluca.extract.common import ExtractSettings, KeyIndex, check_unique, join_key, row_numbers_file
from lotluca.io import write_parquet
from lotluca.sharding import shard_of

log = logging.getLogger(__name__)

SOURCES = ("snds", "odh")
# raw PMSI tables the extraction does not read, still split (by their stay) when an extract holds them
UNREAD_STAY_TABLES = ("T_MCOaaD",)
# raw tables the extraction does not read, split by the person number (BEN_NIR_PSA): ALD registrations
UNREAD_PERSON_TABLES = ("IR_IMB_R",)
SPLIT_TABLES = {
    "snds": (*snds.REQUIRED_TABLES, *snds.OPTIONAL_TABLES, *UNREAD_STAY_TABLES, *UNREAD_PERSON_TABLES),
    "odh": odh.COLUMNS,
}


def shard_file_name(table: str, path: str | Path) -> str:
    """File name of one shard of `table` read from `path` (SAS tables become Parquet)."""
    fmt = readers.file_format(path)
    return f"{table}{Path(path).suffix.lower() if fmt != 'sas' else '.parquet'}"


def _text(values) -> np.ndarray:
    """Key values as Python strings (None for null), for hashing."""
    s = pd.Series(np.asarray(values, dtype=object))
    ok = s.notna().to_numpy()
    out = np.full(len(s), None, dtype=object)
    out[ok] = s[ok].astype(str).to_numpy()
    return out


def _prefixed(prefix: str, keys: np.ndarray) -> np.ndarray:
    out = np.asarray(keys, dtype=object).copy()
    ok = pd.notna(out)
    out[ok] = prefix + pd.Series(out[ok], dtype=object)
    return out


class _Router:
    """Shard of each row of one table (n rows): rows not routed get their table#row fallback."""

    def __init__(self, table: str, n: int, n_shards: int):
        self.table, self.n_shards = table, n_shards
        self.shard = np.full(n, -1, dtype=np.int32)

    def finish(self) -> np.ndarray:
        """The shard of every row; rows never routed (unreadable or empty key) by "<table>#<row>"."""
        left = np.flatnonzero(self.shard < 0)
        if left.size:
            self.shard[left] = shard_of([f"{self.table}#{i}" for i in left], self.n_shards)
        return self.shard

    def route(self, rows, keys) -> None:
        """Rows `rows` (0-based) go to the shard of `keys` (strings; None keeps the fallback)."""
        rows, keys = np.asarray(rows, dtype=np.int64), np.asarray(keys, dtype=object)
        ok = pd.notna(keys)
        if ok.any():
            self.shard[rows[ok]] = shard_of(list(keys[ok]), self.n_shards)


# --- SNDS ----------------------------------------------------------------------------------------------
def _person_groups(ben: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    """(BEN_IDT_ANO -> group key, BEN_NIR_PSA -> group key): persons linked by a shared BEN_NIR_PSA."""
    pairs = ben.loc[ben["BEN_NIR_PSA"].notna() & ben["BEN_IDT_ANO"].notna(), ["BEN_NIR_PSA", "BEN_IDT_ANO"]]
    pairs = pd.DataFrame({"nir": _text(pairs["BEN_NIR_PSA"]), "idt": _text(pairs["BEN_IDT_ANO"])}).drop_duplicates()
    label = pd.Series(pairs["idt"].to_numpy(), index=pairs["idt"].to_numpy()).groupby(level=0).first()
    while True:  # smallest BEN_IDT_ANO of the connected group (a few rounds: groups are tiny)
        nir_label = pairs["idt"].map(label).groupby(pairs["nir"].to_numpy()).min()
        new = pairs["nir"].map(nir_label).groupby(pairs["idt"].to_numpy()).min()
        if new.equals(label):
            return label, nir_label
        label = new


def _snds_routes(paths: Mapping[str, Path], settings: ExtractSettings, n_shards: int) -> dict[str, np.ndarray]:
    ledger = Ledger("snds")
    read = {name: snds._read(paths, name, ledger, settings) for name in paths if snds.generic(name) in snds.COLUMNS}
    for name in (n for n in paths if snds.generic(n) in UNREAD_STAY_TABLES):
        raw = readers.read_table(
            paths[name],
            name,
            snds_schema.arrow_schema(snds.generic(name)),
            snds.STAY_KEYS,
            settings.read,
            kinds={"ETA_NUM": "string"},
            allow_empty=True,
        )
        raw.data["eta"], raw.data["rsa"] = snds.eta_text(raw.data["ETA_NUM"]), snds._int_key(raw.data["RSA_NUM"])
        read[name] = (raw.data, ledger.track(name, raw.n_read))
    for name in (n for n in paths if n in UNREAD_PERSON_TABLES):
        raw = readers.read_table(
            paths[name], name, snds_schema.arrow_schema(name), ["BEN_NIR_PSA"], settings.read, allow_empty=True
        )
        read[name] = (raw.data, ledger.track(name, raw.n_read))
    routes = {name: _Router(name, t.n, n_shards) for name, (_, t) in read.items()}

    ben = read["IR_BEN_R"][0]
    valid = ben[ben["BEN_NIR_PSA"].notna() & ben["BEN_IDT_ANO"].notna()]
    check_unique(valid, ["BEN_NIR_PSA", "BEN_RNG_GEM"], paths["IR_BEN_R"], "IR_BEN_R")
    person_key, nir_key = _person_groups(ben)

    def by_person(df, column):
        idt = _text(df[column])
        group = pd.Series(idt, dtype=object).map(person_key).to_numpy(dtype=object)
        return np.where(pd.isna(group), idt, group)

    def by_nir(df, column):
        nir = _text(df[column])
        group = pd.Series(nir, dtype=object).map(nir_key).to_numpy(dtype=object)
        return np.where(pd.isna(group), _prefixed("NIR:", nir), group)

    routes["IR_BEN_R"].route(ben["_row"], by_person(ben, "BEN_IDT_ANO"))
    if "KI_CCI_R" in read:
        cci = read["KI_CCI_R"][0]
        routes["KI_CCI_R"].route(cci["_row"], by_person(cci, "BEN_IDT_ANO"))

    for name in (n for n in UNREAD_PERSON_TABLES if n in read):
        routes[name].route(read[name][0]["_row"], by_nir(read[name][0], "BEN_NIR_PSA"))
    prs = read["ER_PRS_F"][0]
    routes["ER_PRS_F"].route(prs["_row"], by_nir(prs, "BEN_NIR_PSA"))
    prs_shard = routes["ER_PRS_F"].finish()[prs["_row"].to_numpy()]
    prs_index = KeyIndex(prs, snds.DCIR_KEYS, paths["ER_PRS_F"], "ER_PRS_F")
    for name in ("ER_PHA_F", "ER_UCD_F", "ER_ETE_F"):
        if name not in read:
            continue
        child = read[name][0]
        ppos = prs_index.lookup(child)
        found = ppos >= 0
        own = _prefixed("DCIR:", join_key(child, snds.DCIR_KEYS).to_numpy(dtype=object))
        routes[name].route(child["_row"].to_numpy()[~found], own[~found])
        routes[name].shard[child["_row"].to_numpy()[found]] = prs_shard[ppos[found]]

    for period, names in snds.pmsi_periods(paths).items():
        _route_stays(period, names, paths, read, routes, nir_key)
    return {name: r.finish() for name, r in routes.items()}


def _route_stays(period: str, names: Mapping[str, str], paths, read, routes, nir_key) -> None:
    """Route the PMSI tables of one period (`names`: kind -> table): C by its NIR_ANO_17, the other stay
    tables by their stay (ETA_NUM + RSA_NUM of the period); CSTC (outpatient visits) by its NIR_ANO_17,
    FHSTC by its visit (ETA_NUM + SEQ_NUM). A stay or visit of no known person by its own key."""
    KeyIndex(read[names["B"]][0], ["eta", "rsa"], paths[names["B"]], names["B"])  # unique, as extracted
    stay_tables = [t for k, t in names.items() if k not in ("C", "CSTC", "FHSTC")]
    _route_group(f"STAY:{period}:", names["C"], stay_tables, "rsa", paths, read, routes, nir_key)
    if "CSTC" in names:
        children = [names["FHSTC"]] if "FHSTC" in names else []
        _route_group(f"ACE:{period}:", names["CSTC"], children, "seq", paths, read, routes, nir_key)


def _route_group(prefix, parent, children, key, paths, read, routes, nir_key) -> None:
    """Route `parent` (a table with NIR_ANO_17) by its person and the `children` tables by their parent
    row (ETA_NUM + `key`); rows of no known person or parent by their own key `<prefix><eta>/<key>`."""
    p = read[parent][0]
    KeyIndex(p, ["eta", key], paths[parent], parent)  # unique keys, as the extraction checks

    def own_key(df):
        ok = (df["eta"].notna() & df[key].notna()).to_numpy()
        out = np.full(len(df), None, dtype=object)
        out[ok] = (prefix + df["eta"][ok].astype(str) + "/" + df[key][ok].astype(str)).to_numpy(dtype=object)
        return out

    p_own = own_key(p)
    p_keys = pd.Series(_text(p["NIR_ANO_17"]), dtype=object).map(nir_key).to_numpy(dtype=object)
    p_keys = np.where(pd.isna(p_keys), p_own, p_keys)  # unknown number: the row's own key
    routes[parent].route(p["_row"], p_keys)
    has_key = pd.notna(p_own)
    parent_shard = pd.Series(
        routes[parent].shard[p["_row"].to_numpy()[has_key]], index=pd.Index(p_own[has_key], dtype=object)
    )
    for name in (c for c in children if c in read):
        df = read[name][0]
        own = own_key(df)
        shard = pd.Series(own, dtype=object).map(parent_shard).to_numpy()
        found = pd.notna(shard)
        routes[name].route(df["_row"].to_numpy()[~found], own[~found])
        routes[name].shard[df["_row"].to_numpy()[found]] = shard[found].astype(np.int32)


# --- ODH -----------------------------------------------------------------------------------------------
def _odh_routes(paths: Mapping[str, Path], settings: ExtractSettings, n_shards: int) -> dict[str, np.ndarray]:
    ledger = Ledger("odh")
    out = {}
    for name in paths:
        df, tracker = odh._read(paths, name, ledger, settings)
        router = _Router(name, tracker.n, n_shards)
        router.route(df["_row"], _text(df["odh_patient_id"]))
        out[name] = router.finish()
    return out


# --- writing -------------------------------------------------------------------------------------------
def _split_csv(path: Path, shard: np.ndarray, out_paths: Sequence[Path]) -> None:
    lines = path.read_bytes().splitlines(keepends=True)
    header = lines[0] if lines else b""
    if header and not header.endswith((b"\n", b"\r")):
        header += b"\n"
    body = np.array([ln for ln in lines[1:] if ln.strip(b"\r\n")] + [b""], dtype=object)[:-1]
    if body.size != shard.size:
        raise InputError(
            path,
            f"{body.size} text lines for {shard.size} CSV rows (line breaks inside quoted values?): "
            "the table cannot be split by lines",
            expected="one line per row, or a Parquet file",
        )
    if body.size and not body[-1].endswith((b"\n", b"\r")):
        body[-1] += b"\n"
    for k, out in enumerate(out_paths):
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes(header + b"".join(body[shard == k]))


def _sas_table(path: Path, columns: list[str], schema: pa.Schema, settings: ExtractSettings) -> pa.Table:
    """The extraction's `columns` of a SAS table as the reader decodes them (text trimmed, SAS day /
    second counts of date columns as dates, the unit chosen on the whole column as the reader does)."""
    df, _ = readers._read_sas(path, {c: c for c in columns}, settings.read)
    by_name = {f.name.upper(): f for f in schema}
    for c in df.columns:
        field = by_name.get(str(c).upper())
        if field is None or readers.column_kind(field.type) != "date" or not pd.api.types.is_numeric_dtype(df[c]):
            continue
        df[c], _ = readers._coerce_date(df[c], (), "sas")  # whole-column unit (days or seconds)
    return readers.clean_strings(pa.Table.from_pandas(df, preserve_index=False))


def write_shards(
    table: str,
    path: str | Path,
    shard: np.ndarray,
    outs: Sequence[str | Path],
    columns: list[str],
    schema: pa.Schema,
    settings: ExtractSettings,
) -> list[int]:
    """Write shard k of raw table `table` (file `path`, `shard`: the shard of each row) to `outs[k]` and its
    row numbers next to it (`row_numbers_file`); `columns`, `schema`: what the extraction reads, used for
    SAS tables only. Returns the rows of each shard."""
    path = Path(path)
    fmt = readers.file_format(path)
    outs = [Path(p) for p in outs]
    want = Path(shard_file_name(table, path)).suffix
    wrong = [str(p) for p in outs if p.suffix.lower() != want]
    if wrong:
        raise ValueError(f"{table}: the shards of {path.name} are {want} files, not {wrong}")
    if fmt == "csv":
        _split_csv(path, shard, outs)
    else:
        whole = pq.read_table(path) if fmt == "parquet" else _sas_table(path, columns, schema, settings)
        for k, out in enumerate(outs):
            write_parquet(whole.filter(pa.array(shard == k)), out)
    counts = []
    for k, out in enumerate(outs):
        rows = np.flatnonzero(shard == k)
        write_parquet(pa.table({"row": pa.array(rows, pa.int64())}), row_numbers_file(out))
        counts.append(int(rows.size))
    return counts


def copy_whole(table: str, path: Path, outs: Sequence[str | Path], settings: ExtractSettings) -> list[int]:
    """Copy a nomenclature (IR_PHA_R, NU_UCD_R: not per person) whole into every shard, with its row
    numbers; SAS tables become Parquet. Returns the rows of each shard (all of them)."""
    n = len(dm.read_nomenclature(path, table, settings.read))  # checked as the extraction reads it
    columns = dm.NOMENCLATURE_COLUMNS[table][0]
    for out in map(Path, outs):
        out.parent.mkdir(parents=True, exist_ok=True)
        if readers.file_format(path) == "sas":
            write_parquet(_sas_table(path, columns, snds_schema.arrow_schema(table), settings), out)
        else:
            shutil.copyfile(path, out)
        write_parquet(pa.table({"row": pa.array(np.arange(n), pa.int64())}), row_numbers_file(out))
    log.info("snds %s: %d rows copied whole to %d shards", table, n, len(outs))
    return [n] * len(outs)


def split_source(
    source: str,
    paths: Mapping[str, str | Path],
    outputs: Mapping[str, Sequence[str | Path]],
    settings: ExtractSettings,
) -> dict[str, list[int]]:
    """Split the raw tables of `source` ("snds" | "odh"; `paths`: table name -> file) into patient shards:
    `outputs[table][k]` receives shard k of the table (`row_numbers_file` of it, its row numbers); every
    table of `paths` needs its list, all of the same length (the number of shards). Returns the rows
    written per shard."""
    if source not in SOURCES:
        raise ValueError(f"source must be one of {SOURCES}, got {source!r}")
    paths = {name: Path(p) for name, p in paths.items()}
    unknown = [name for name in paths if snds.generic(name) not in SPLIT_TABLES[source]]
    if unknown:
        raise ValueError(f"no person key known for {source} tables {unknown}")
    module = snds if source == "snds" else odh
    missing = snds.missing_tables(paths) if source == "snds" else [t for t in odh.REQUIRED_TABLES if t not in paths]
    if missing:
        raise InputError(", ".join(map(str, paths.values())) or source, f"tables missing: {missing}")
    if set(outputs) != set(paths):
        raise ValueError(f"{source}: shard files given for tables {sorted(outputs)}, tables read {sorted(paths)}")
    sizes = {len(files) for files in outputs.values()}
    if len(sizes) != 1 or not min(sizes):
        raise ValueError(f"{source}: every table needs one file per shard, got {sorted(sizes)} files")
    n = sizes.pop()
    whole = {name: paths.pop(name) for name in list(paths) if source == "snds" and name in snds.NOMENCLATURES}
    routes = (_snds_routes if source == "snds" else _odh_routes)(paths, settings, n)
    counts = {name: copy_whole(name, path, outputs[name], settings) for name, path in whole.items()}
    for name, shard in routes.items():
        table = snds.generic(name) if source == "snds" else name
        schema = snds_schema.arrow_schema(table) if source == "snds" else contracts.ODH_TABLES[name]
        columns = module.COLUMNS[table] if table in module.COLUMNS else schema.names
        counts[name] = write_shards(name, paths[name], shard, outputs[name], columns, schema, settings)
        assert sum(counts[name]) == shard.size
        log.info("%s %s: %d rows -> %d shards %s", source, name, shard.size, n, counts[name])
    return counts
