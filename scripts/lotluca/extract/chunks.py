"""In-process chunks of the SNDS extraction: large Parquet tables read by row group and extracted in chunks.

A family of tables that the extraction puts together (the DCIR: ER_PRS_F with its ER_ETE_F, ER_PHA_F and
ER_UCD_F lines; one PMSI period: its stays T_MCOxxB/C with their drug lines, its outpatient visits with
theirs) is read batch by batch and typed once (`readers.iter_typed_batches`: the same typing, checks and
errors as a whole read); each row goes to one of N chunks, spilled to a temporary folder, and the
cleaning rules run on one chunk at a time (`snds._dcir`, `snds._pmsi_period`), each chunk's row outcomes
merged into the extraction's ledger (`Ledger.merge`). A chunk holds whole persons (DCIR: the pharmacy
reversals are matched per person; ER_PRS_F by the person group of BEN_NIR_PSA, as the split routes it,
the lines by their ER_PRS_F row) or whole stays and visits (PMSI: by RSA_NUM, SEQ_NUM), and `_row`
keeps each row's number in the user's file, so the outputs are those of one whole run, whatever N
(docs/extract.md, "Performance"). N = rows of the family's largest table / `extract.chunk_rows`, rounded
up; N = 1 (small extracts, CSV or SAS files) is the whole read. A parent table whose keys are not unique
(an error the whole read reports with all its rows) falls back to the whole read.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import logging
import math
import multiprocessing
import os
import pickle
import shutil
import tempfile
import weakref
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from lotluca.errors import InputError
from lotluca.extract import readers
from lotluca.extract.accounting import Ledger
from lotluca.extract.common import KeyIndex, TextIndex, arrow_text, per_distinct, quarantine, read_row_numbers
from lotluca.extract.gather import sort_output
from lotluca.io import PARQUET_OPTIONS, ROW_GROUP_SIZE, write_parquet

log = logging.getLogger(__name__)

DCIR_TABLES = ("ER_PRS_F", "ER_ETE_F", "ER_PHA_F", "ER_UCD_F")
BATCH_ROWS = 250_000


def person_groups(ben: pd.DataFrame) -> tuple[pa.Array, np.ndarray]:
    """(BEN_NIR_PSA values, a 64-bit key of each one's group of persons): persons linked by a shared
    number are one group (connected numbers and persons of IR_BEN_R, found by label propagation)."""
    ok = ben["BEN_NIR_PSA"].notna().to_numpy() & ben["BEN_IDT_ANO"].notna().to_numpy()
    nir_codes, nirs = pd.factorize(pd.Series(arrow_text(ben["BEN_NIR_PSA"][ok]).to_numpy(zero_copy_only=False)))
    idt_codes, _ = pd.factorize(pd.Series(arrow_text(ben["BEN_IDT_ANO"][ok]).to_numpy(zero_copy_only=False)))
    label = np.arange(idt_codes.max(initial=-1) + 1)
    while True:  # a few rounds: groups are tiny
        nir_label = np.full(len(nirs), np.iinfo(np.int64).max)
        np.minimum.at(nir_label, nir_codes, label[idt_codes])
        new = label.copy()
        np.minimum.at(new, idt_codes, nir_label[nir_codes])
        if (new == label).all():
            break
        label = new
    return pa.array(np.asarray(nirs, dtype=object), type=pa.string()), KeyIndex._hash(nir_label[:, None])


def _text_hash(arr) -> np.ndarray:
    """A 64-bit hash of each text value (no null), a function of the text alone (the same in any table or
    batch): values of up to 18 digits through their number, the others hashed once per distinct value."""
    arr = arr.combine_chunks() if isinstance(arr, pa.ChunkedArray) else arr
    digits = pc.match_substring_regex(arr, r"^\d{1,18}$").to_numpy(zero_copy_only=False)
    h = np.zeros(len(arr), dtype=np.uint64)
    if digits.any():
        num = pc.cast(arr.filter(pa.array(digits)), pa.int64()).to_numpy(zero_copy_only=False)
        h[digits] = KeyIndex._hash(num[:, None])
    if not digits.all():
        enc = pc.dictionary_encode(arr.filter(pa.array(~digits)))
        values = enc.dictionary.to_numpy(zero_copy_only=False).astype(object)
        h[~digits] = pd.util.hash_array(values, categorize=False)[enc.indices.to_numpy(zero_copy_only=False)]
    return h


def key_hash(df: pd.DataFrame, columns: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """(64-bit hash of the typed key columns of each row, mask of rows without a null key part)."""
    n = len(df)
    codes, valid = np.zeros((n, len(columns)), dtype=np.int64), np.ones(n, dtype=bool)
    for j, c in enumerate(columns):
        s = df[c]
        if pd.api.types.is_datetime64_any_dtype(s):
            v = s.to_numpy(dtype="datetime64[ns]")
            valid &= ~np.isnat(v)
            codes[:, j] = np.where(np.isnat(v), 0, v.view(np.int64))
        elif pd.api.types.is_integer_dtype(s):
            valid &= s.notna().to_numpy()
            codes[:, j] = s.to_numpy(dtype=np.int64, na_value=0)
        else:
            t = arrow_text(s)
            valid &= ~pc.is_null(t).to_numpy(zero_copy_only=False)
            codes[:, j] = _text_hash(pc.fill_null(t, "")).view(np.int64)
    return KeyIndex._hash(codes), valid


def release_memory() -> None:
    """Give the memory freed by the last chunk back to the system (glibc keeps freed heap pages, which a
    forked worker and the next chunk would otherwise add to)."""
    gc.collect()
    if _LIBC is not None:
        _LIBC.malloc_trim(0)


def _libc():
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        return libc if hasattr(libc, "malloc_trim") else None
    except OSError:  # not glibc (macOS, musl): nothing to trim
        return None


_LIBC = _libc()


class _Spill:
    """The typed rows of each table, one file per chunk in a temporary folder (pickled batches)."""

    def __init__(self, n: int):
        self.n, self.dir = n, Path(tempfile.mkdtemp(prefix="lotluca-chunks-"))
        weakref.finalize(self, shutil.rmtree, self.dir, True)

    def file(self, name: str, k: int) -> Path:
        return self.dir / f"{name}.{k}.pkl"

    def write(self, name: str, chunk: np.ndarray, data: pd.DataFrame, bad: pd.DataFrame, bad_chunk) -> None:
        order = np.argsort(chunk, kind="stable")  # rows grouped by chunk, in file order within each
        cut = np.searchsorted(chunk[order], np.arange(self.n + 1))
        data = data.take(order)
        for k in range(self.n):
            with open(self.file(name, k), "ab") as fh:
                piece = data.iloc[cut[k] : cut[k + 1]].reset_index(drop=True)
                pickle.dump((piece, bad[bad_chunk == k] if len(bad) else bad), fh, protocol=5)

    def read(self, name: str, k: int) -> tuple[pd.DataFrame, pd.DataFrame]:
        pieces = []
        with open(self.file(name, k), "rb") as fh:
            while True:
                try:
                    pieces.append(pickle.load(fh))
                except EOFError:
                    break
        data = pd.concat([p[0] for p in pieces], ignore_index=True)
        for c in data.columns:  # one Arrow chunk per column, as a whole read gives
            if isinstance(data[c].dtype, pd.ArrowDtype):
                data[c] = readers.arrow_series(readers.to_arrow(data[c]), data.index)
        return data, pd.concat([p[1] for p in pieces], ignore_index=True)

    def close(self) -> None:
        shutil.rmtree(self.dir, ignore_errors=True)


class Families:
    """The readers of the extraction's table families: one per chunk (`read(name)` -> (frame, tracker))."""

    def __init__(self, paths: dict, settings, ledger: Ledger, row_numbers: dict | None):
        self.paths, self.settings, self.ledger, self.row_numbers = paths, settings, ledger, row_numbers or {}

    @property
    def largest(self) -> int:
        """Chunks of the largest family (1: every table is read whole)."""
        from lotluca.extract.snds import pmsi_periods

        periods = [list(names.values()) for names in pmsi_periods(self.paths).values()]  # table names
        return max(self.chunks(f) for f in [self.dcir_tables, *periods] if f)

    @property
    def dcir_tables(self) -> list[str]:
        """The DCIR tables of the extract, in the order they are read."""
        return [t for t in DCIR_TABLES if t in self.paths]

    @property
    def dcir_chunks(self) -> int:
        """Chunks of the DCIR (1: read whole)."""
        return self.chunks(self.dcir_tables)

    def chunks(self, tables) -> int:
        """Number of chunks of a family (1: whole read)."""
        files = [self.paths[t] for t in tables]
        if any(readers.file_format(f) != "parquet" for f in files):
            return 1
        try:
            rows = max(pq.read_metadata(f).num_rows for f in files)
        except (pa.ArrowInvalid, OSError):  # not a Parquet file: the whole read says so
            return 1
        return max(1, math.ceil(rows / self.settings.chunk_rows))

    def whole(self):
        from lotluca.extract import snds

        return lambda name: snds._read(self.paths, name, self.ledger, self.settings, self.row_numbers)

    def dcir(self, group_keys):
        """Readers of the DCIR tables; `group_keys()`: BEN_NIR_PSA -> person group (`person_groups`)."""
        tables = self.dcir_tables
        n = self.chunks(tables)
        if n == 1:
            yield self.whole()
            return
        from lotluca.extract.snds import DCIR_KEYS

        labels, label_hash = group_keys()
        labels = TextIndex(labels.to_numpy(zero_copy_only=False))
        prs_keys: list = []

        def by_person(df):
            nir = arrow_text(df["BEN_NIR_PSA"])
            pos = labels.positions(nir)
            known = pos >= 0
            h = np.zeros(len(nir), dtype=np.uint64)
            h[known] = label_hash[pos[known]]
            h[~known] = _text_hash(pc.fill_null(nir, "").filter(pa.array(~known)))
            prs_keys.append(key_hash(df, DCIR_KEYS))
            return h, ~pc.is_null(nir).to_numpy(zero_copy_only=False)

        parent = {}

        def by_parent(df):
            h, valid = key_hash(df, DCIR_KEYS)
            keys = parent["keys"]
            if not len(keys):
                return np.zeros(len(h), np.uint64), np.zeros(len(h), bool)
            order = np.argsort(h)  # probes in order: the binary searches stay in cache
            pos = np.empty(len(h), np.int64)
            pos[order] = np.minimum(np.searchsorted(keys, h[order]), len(keys) - 1)
            found = valid & (keys[pos] == h)
            return np.where(found, parent["route"][pos], 0).astype(np.uint64), found

        def index_parents(chunk):  # ER_PRS_F spilled: the chunk of each key (unique, sorted), for its lines
            h = np.concatenate([k[0] for k in prs_keys]) if prs_keys else np.zeros(0, np.uint64)
            valid = np.concatenate([k[1] for k in prs_keys]) if prs_keys else np.zeros(0, bool)
            prs_keys.clear()
            order = np.argsort(h[valid])
            parent["keys"], parent["route"] = h[valid][order], chunk[valid][order]

        def release(_):  # the last table spilled: the keys of ER_PRS_F are no longer needed
            parent.clear()
            prs_keys.clear()

        then = {"ER_PRS_F": index_parents, tables[-1]: release} if len(tables) > 1 else {}
        yield from self._run(tables, n, {"ER_PRS_F": by_person}, by_parent, {"ER_PRS_F": prs_keys}, then)

    def pmsi(self, names: dict[str, str]):
        """Readers of the tables of one PMSI period (`names`: kind -> table)."""
        kinds = [k for k in ("B", "C", "MED", "MEDATU", "FH", "CSTC", "FHSTC") if k in names]
        if "CSTC" not in names:
            kinds = [k for k in kinds if k != "FHSTC"]
        tables = [names[k] for k in kinds]
        n = self.chunks(tables)
        if n == 1:
            yield self.whole()
            return

        def by_stay(df):
            rsa = df["rsa"]
            return KeyIndex._hash(rsa.to_numpy(dtype=np.int64, na_value=0)[:, None]), rsa.notna().to_numpy()

        def by_visit(df):
            seq = arrow_text(df["seq"])
            return _text_hash(pc.fill_null(seq, "")), ~pc.is_null(seq).to_numpy(zero_copy_only=False)

        def unique_key(keys, route, key):
            def fn(df):
                keys.append(key_hash(df, ["eta", key]))
                return route(df)

            return fn

        checks = {names["B"]: [], names["C"]: []}
        routes = {t: unique_key(keys, by_stay, "rsa") for t, keys in checks.items()}
        if "CSTC" in names:
            checks[names["CSTC"]] = []
            routes[names["CSTC"]] = unique_key(checks[names["CSTC"]], by_visit, "seq")
        for k in ("MED", "MEDATU", "FH", "FHSTC"):  # drug lines: by their stay or visit
            if k in names:
                routes[names[k]] = by_visit if k == "FHSTC" else by_stay
        yield from self._run(tables, n, routes, None, checks, {})

    def _run(self, tables, n, routes, default_route, checks, then):
        """Spill every table of a family into `n` chunks, then yield one reader per chunk (or the whole
        reader when a parent's keys are not unique); each chunk's ledger is merged once it is done.
        `routes`: table -> (frame -> (hash, routed mask)); `checks`: parent table -> its key hashes;
        `then`: table -> called with the chunk of each of its rows once it is spilled."""
        spill = _Spill(n)
        try:
            for name in tables:
                chunk = self._spill(spill, name, routes.get(name, default_route))
                if name in checks and not _unique(checks[name]):
                    log.info("%s: keys not unique, read whole", name)
                    yield self.whole()
                    return
                if name in then:
                    then[name](chunk)
                (checks.pop(name, None) or []).clear()  # its key hashes: checked, no longer needed
            log.info("%s: %d chunks", "/".join(tables), n)
            for k in range(n):
                ledger = Ledger(self.ledger.source)
                yield lambda name, k=k, ledger=ledger: self._read_chunk(spill, name, k, ledger)
                self.ledger.merge(ledger)
                release_memory()
        finally:
            spill.close()

    def _spill(self, spill: _Spill, name: str, route) -> np.ndarray:
        """Read table `name` batch by batch into the chunks of `spill`; returns the chunk of every row."""
        from lotluca.extract import snds

        opts = snds.read_options(name, self.settings)
        path = self.paths[name]
        labels = read_row_numbers(self.row_numbers[name]) if name in self.row_numbers else None
        offset, chunks = 0, []
        batches = readers.iter_typed_batches(path, name, batch_rows=BATCH_ROWS, settings=self.settings.read, **opts)
        for data, bad in batches:
            data = snds.derive_keys(data, name)
            h, ok = route(data)
            chunk = np.where(ok, h % np.uint64(spill.n), data["_row"].to_numpy() % spill.n).astype(np.int16)
            bad_chunk = chunk[bad["_row"].to_numpy(dtype=np.int64) - offset] if len(bad) else np.zeros(0, np.int16)
            if labels is not None:
                if labels.size < offset + len(data):
                    raise InputError(
                        self.row_numbers[name], f"too few row numbers for the rows of {path}", column="row"
                    )
                data["_row"] = labels[data["_row"].to_numpy()]
                if len(bad):
                    bad = bad.assign(_row=labels[bad["_row"].to_numpy(dtype=np.int64)])
            spill.write(name, chunk, data, bad, bad_chunk)
            chunks.append(chunk)
            offset += len(data)
        if labels is not None and labels.size != offset:
            raise InputError(
                self.row_numbers[name], f"{labels.size} row numbers for the {offset} rows of {path}", column="row"
            )
        if offset == 0:  # an empty table (allowed): its typed empty frame in every chunk
            raw = readers.read_table(path, name, settings=self.settings.read, **opts)
            empty = np.zeros(0, np.int16)
            spill.write(name, empty, snds.derive_keys(raw.data, name), raw.bad, empty)
        return np.concatenate(chunks) if chunks else np.zeros(0, np.int16)

    def _read_chunk(self, spill: _Spill, name: str, k: int, ledger: Ledger):
        data, bad = spill.read(name, k)
        tracker = ledger.track(name, len(data), data["_row"].to_numpy())
        return quarantine(data, bad, tracker), tracker


def _unique(keys: list) -> bool:
    """Whether the key hashes (batches of (hash, valid)) of a parent table hold no value twice."""
    if not keys:
        return True
    h = np.concatenate([k[0][k[1]] for k in keys])
    h.sort()
    return not (h[1:] == h[:-1]).any()


_FORKED: tuple | None = None  # the state a forked worker process starts from (`run_families`)


def run_families(tasks: list, families: Families, outputs: tuple, unknown: list, processes: int) -> None:
    """Run the extraction of each table family (`tasks`: functions of no argument that extract one family,
    appending to `outputs` and `unknown` and tracking into `families.ledger`), in `processes` forked worker
    processes when the outputs are spilled (`SortedOutput`), else one after the other. Each worker's
    pieces, rejects and row outcomes are taken back in family order, so the outputs are those of a run in
    one process."""
    global _FORKED
    spilled = all(isinstance(o, SortedOutput) for o in outputs)
    if processes < 2 or len(tasks) < 2 or not spilled or "fork" not in multiprocessing.get_all_start_methods():
        for task in tasks:
            task()
        return
    _FORKED = (tasks, families, outputs, unknown)
    release_memory()  # before the fork: the workers share what the parent holds
    context = multiprocessing.get_context("fork")
    try:
        with ProcessPoolExecutor(min(processes, len(tasks)), mp_context=context) as pool:
            futures = [pool.submit(_family_in_worker, i) for i in range(len(tasks))]
            try:
                for future in futures:  # in family order: the first family's error is the one raised
                    ledger, pieces, found = future.result()
                    families.ledger.adopt(ledger)
                    for output, piece in zip(outputs, pieces, strict=True):
                        output.add(piece)
                    unknown += found
            except BaseException:
                pool.shutdown(wait=True, cancel_futures=True)
                raise
    finally:
        _FORKED = None


def _family_in_worker(i: int) -> tuple:
    """In a worker process: extract family `i` of `_FORKED`; returns its ledger, its output pieces and the
    unknown codes it found."""
    tasks, families, outputs, unknown = _FORKED
    families.ledger = Ledger(families.ledger.source)  # this family's tables only
    marks, known = [o.mark() for o in outputs], len(unknown)
    tasks[i]()
    return families.ledger, [o.since(m) for o, m in zip(outputs, marks, strict=True)], unknown[known:]


class SortedOutput:
    """An output table (exposures, stays, chemo_sessions) gathered from the chunks' pieces: spilled in
    ranges of person_id (`PersonRanges`), then sorted range by range (`gather.sort_output`: person
    first) and written in row groups of `io.ROW_GROUP_SIZE` rows: the file `write_parquet(sort_output(..))`
    of the whole table writes, without holding the whole table. `activity`: its date column of care
    activity, kept per person (max) for the persons' last_seen_date."""

    def __init__(self, name: str, ranges: PersonRanges, activity: str | None = None):
        self.name, self.ranges, self.activity_column = name, ranges, activity
        self.dir = Path(tempfile.mkdtemp(prefix=f"lotluca-{name}-"))
        weakref.finalize(self, shutil.rmtree, self.dir, True)
        self.num_rows, self.files, self.schema, self.activity = 0, [], None, []

    def append(self, table: pa.Table) -> None:
        self.schema = self.schema or table.schema
        self.num_rows += table.num_rows
        if self.activity_column and table.num_rows:
            date = table.column(self.activity_column).cast(pa.date32())
            last = pa.table({"person_id": table.column("person_id"), "date": date}).group_by("person_id")
            last = last.aggregate([("date", "max")])
            self.activity.append(_compact(pa.table({"person_id": last["person_id"], "date": last["date_max"]})))
        bucket = self.ranges.of(table.column("person_id"))
        order = np.argsort(bucket, kind="stable")
        cut = np.searchsorted(bucket[order], np.arange(self.ranges.n + 2))
        table = table.take(pa.array(order))
        for b in np.flatnonzero(np.diff(cut)):
            path = self.dir / f"{b}.{os.getpid()}.{len(self.files)}.arrow"  # a worker process appends too
            with pa.OSFile(str(path), "wb") as sink, pa.ipc.new_file(sink, table.schema) as writer:
                writer.write_table(table.slice(cut[b], cut[b + 1] - cut[b]))
            self.files.append((int(b), path))

    def mark(self) -> tuple[int, int, int]:
        """Where the pieces appended from now on start (`since`)."""
        return len(self.files), self.num_rows, len(self.activity)

    def since(self, mark: tuple[int, int, int]) -> tuple:
        """The pieces appended after `mark`, for `add` in another process."""
        files, rows, activity = mark
        return self.files[files:], self.num_rows - rows, self.activity[activity:], self.schema

    def add(self, pieces: tuple) -> None:
        """Take the pieces a worker process appended (`since`) as if appended here."""
        files, rows, activity, schema = pieces
        self.files += files
        self.num_rows += rows
        self.activity += activity
        self.schema = self.schema or schema

    def parts(self) -> list[tuple[pa.Table, str]]:
        """(person_id, date) tables of the activity column (`snds._last_activity`)."""
        return [(t, "date") for t in self.activity]

    def _bucket(self, b: int) -> pa.Table:
        tables = [pa.ipc.open_file(pa.memory_map(str(p))).read_all() for k, p in self.files if k == b]
        return sort_output(self.name, pa.concat_tables(tables)) if tables else None

    def write(self, path) -> None:
        """Write the table in canonical order to `path` (Parquet), then drop the spilled pieces."""
        if not self.num_rows:
            write_parquet(self.schema.empty_table(), path)
            return
        schema = self.schema.remove_metadata()
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        with pq.ParquetWriter(path, schema, **PARQUET_OPTIONS) as writer:
            held, rows = [], 0
            for b in range(self.ranges.n + 1):
                t = self._bucket(b)
                if t is not None:
                    held.append(t.replace_schema_metadata(None))
                    rows += t.num_rows
                while rows >= ROW_GROUP_SIZE:  # whole row groups, as write_table cuts the whole table
                    whole = pa.concat_tables(held)
                    writer.write_table(whole.slice(0, ROW_GROUP_SIZE).combine_chunks(), row_group_size=ROW_GROUP_SIZE)
                    held, rows = [whole.slice(ROW_GROUP_SIZE)], whole.num_rows - ROW_GROUP_SIZE
            if rows:
                writer.write_table(pa.concat_tables(held).combine_chunks(), row_group_size=ROW_GROUP_SIZE)
        shutil.rmtree(self.dir, ignore_errors=True)


def write_spilled(tables: dict[str, SortedOutput], paths, threads: int) -> None:
    """Write each spilled table to its path (`SortedOutput.write`), `threads` tables at once (sorting and
    writing Parquet run in Arrow, outside the Python lock)."""
    with ThreadPoolExecutor(max(1, threads)) as pool:
        for _ in pool.map(lambda name: tables[name].write(paths[name]), list(tables)):
            pass


def _compact(table: pa.Table) -> pa.Table:
    """A copy of `table` in buffers of its own size (an aggregate's columns can hold on to much larger
    buffers, which a list of them would keep alive and a worker process would send whole)."""
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return pa.ipc.open_stream(sink.getvalue()).read_all()


class PersonRanges:
    """`n` ranges of the sorted person_id values of about the same number of persons (range n: null ids)."""

    def __init__(self, person_id: pd.Series, n: int):
        ids = pc.drop_null(arrow_text(person_id))
        ids = ids.take(pc.sort_indices(ids))
        self.n = max(1, min(n, len(ids)))
        first = np.searchsorted(np.arange(len(ids)) * self.n // max(len(ids), 1), np.arange(1, self.n))
        self.bounds = ids.take(pa.array(first)).to_numpy(zero_copy_only=False).astype(object)  # range starts

    def of(self, person_id) -> np.ndarray:
        """The range of each id: the number of range starts at or below it (null ids: range n). Found
        once per distinct id (a table's ids repeat), by binary search over the range starts; text
        compares in the order of `pc.sort_indices` (UTF-8 byte order is code-point order)."""

        def ranges(distinct: pa.Array) -> np.ndarray:
            values = distinct.to_numpy(zero_copy_only=False).astype(object)
            return np.searchsorted(self.bounds, values, side="right").astype(np.int64)

        return per_distinct(person_id, ranges, self.n)
