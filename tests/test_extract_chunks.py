"""Chunked SNDS extraction (lotluca.extract.chunks): Parquet tables read by row group and extracted in
chunks of persons / stays give the same files, byte for byte, as the whole read, also on a shard of the
split and with dirty rows (twins, unknown persons, orphans, unknown codes); structural errors stay those
of the whole read (file, column, rows)."""

from __future__ import annotations

import filecmp
import pickle
import shutil
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lotluca.config import default_config
from lotluca.errors import InputError
from lotluca.extract import chunks, pipeline, steps
from lotluca.extract.common import TextIndex
from lotluca.io import write_parquet
from test_extract_shards import _dirty, _outputs

CONFIG = default_config()


def _blocks(chunk_rows: int | None = None, threads: int | None = None) -> dict:
    extract = dict(CONFIG["extract"])
    if chunk_rows:
        extract["chunk_rows"] = chunk_rows
    if threads:
        extract["threads"] = threads
    return {"study": CONFIG["study"], "extract": extract}


@pytest.fixture(scope="module")
def raw(tmp_path_factory) -> Path:
    from lotluca.simulate import simulate_to_files

    root = tmp_path_factory.mktemp("chunks")
    simulate_to_files({"patients": 150}, {}, 11, root / "sim", "parquet")
    _dirty(root / "sim", "parquet")
    return root


def _extract(
    files: list[str], out: Path, chunk_rows: int | None = None, part: bool = False, threads: int | None = None
) -> Path:
    shutil.rmtree(out, ignore_errors=True)
    steps.extract({"tables": files}, _outputs(out), **_blocks(chunk_rows, threads), source="snds", part=part)
    return out


def _same(a: Path, b: Path) -> None:
    names = [f.name for f in pipeline.output_files(a).values()]
    match, mismatch, errors = filecmp.cmpfiles(a, b, names, shallow=False)
    assert not mismatch and not errors, (mismatch, errors)


@pytest.fixture
def small_batches(monkeypatch):
    monkeypatch.setattr(chunks, "BATCH_ROWS", 997)  # several row batches per table, uneven chunks


def _files(root: Path) -> list[str]:
    return sorted(str(f) for f in (root / "sim" / "snds").iterdir())


@pytest.mark.parametrize("chunk_rows", [700, 5000])
def test_chunked_equals_whole(raw, small_batches, chunk_rows):
    whole = _extract(_files(raw), raw / "whole")
    assert len(pd.read_csv(whole / "accounting.csv").query("outcome == 'rejected'"))  # dirty rows present
    chunked = _extract(_files(raw), raw / f"chunked{chunk_rows}", chunk_rows)
    _same(whole, chunked)


@pytest.mark.parametrize("threads", [1, 3])
def test_chunked_families_in_worker_processes(raw, small_batches, monkeypatch, threads):
    """extract.threads > 1: the families (DCIR, PMSI period) run in forked worker processes, whose pieces,
    row outcomes and unknown codes come back in family order: the files of the whole read."""
    pools = []

    class Pool(chunks.ProcessPoolExecutor):
        def __init__(self, *args, **kwargs):
            pools.append(args[0] if args else kwargs["max_workers"])
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(chunks, "ProcessPoolExecutor", Pool)
    whole = _extract(_files(raw), raw / "whole")
    assert pools == []  # 150 patients: one chunk, nothing to run in parallel
    _same(whole, _extract(_files(raw), raw / f"threads{threads}", 700, threads=threads))
    assert pools == ([] if threads == 1 else [2])  # one DCIR + one PMSI period: two workers at most


def test_chunked_shard_equals_whole_shard(raw, small_batches):
    """A shard of the split (row numbers of the user's file) extracted in chunks."""
    files = _files(raw)
    split_files = [
        str(raw / "split" / str(k) / name)
        for k in range(2)
        for f in map(Path, files)
        for name in (f.name, f"{f.name.split('.')[0]}.rows.parquet")
    ]
    steps.extract_split({"tables": files}, {"tables": split_files}, **_blocks(), source="snds")
    shard = [f for f in split_files if Path(f).parent.name == "1"]
    whole = _extract(shard, raw / "shard_whole", part=True)
    _same(whole, _extract(shard, raw / "shard_chunked", 600, part=True))


def _broken(raw: Path, tmp: Path, table: str, edit) -> list[str]:
    folder = tmp / "snds"
    shutil.copytree(raw / "sim" / "snds", folder)
    t = pq.read_table(folder / f"{table}.parquet")
    df = edit(t.to_pandas())
    schema = pa.schema([f for f in t.schema if f.name in df.columns])
    write_parquet(pa.Table.from_pandas(df, schema=schema, preserve_index=False), folder / f"{table}.parquet")
    return sorted(str(f) for f in folder.iterdir())


def _error(files: list[str], out: Path, chunk_rows: int | None = None, threads: int | None = None) -> str:
    with pytest.raises(InputError) as exc:
        _extract(files, out, chunk_rows, threads=threads)
    return str(exc.value)


@pytest.mark.parametrize(
    "table, edit",
    [
        ("ER_PRS_F", lambda d: pd.concat([d, d.iloc[[3, 40]]], ignore_index=True)),  # duplicated keys
        ("T_MCOaaC", lambda d: pd.concat([d, d.iloc[[5]]], ignore_index=True)),
        ("ER_PHA_F", lambda d: d.drop(columns="PHA_PRS_C13")),  # a missing column
        ("T_MCOaaB", lambda d: d.iloc[:0]),  # an empty table
    ],
)
def test_chunked_errors_are_the_whole_reads(raw, small_batches, tmp_path, table, edit):
    """The same error whether the family that raises it runs in this process or in a worker process."""
    files = _broken(raw, tmp_path, table, edit)
    whole = _error(files, tmp_path / "a")
    assert whole == _error(files, tmp_path / "b", 700, threads=1) == _error(files, tmp_path / "c", 700, threads=2)


def test_bad_values_threshold_on_the_whole_table(raw, small_batches, tmp_path):
    """Unparseable values are counted over the whole table, not per batch or chunk: the same error."""
    folder = tmp_path / "snds"
    shutil.copytree(raw / "sim" / "snds", folder)
    path = folder / "T_MCOaaMED.parquet"
    t = pq.read_table(path)
    delai = t.column("DELAI").cast(pa.string()).to_pylist()
    for i in range(0, len(delai), 3):
        delai[i] = "x"
    t = t.set_column(t.schema.get_field_index("DELAI"), "DELAI", pa.array(delai, pa.string()))
    write_parquet(t, path)
    files = sorted(str(f) for f in folder.iterdir())
    message = _error(files, tmp_path / "a")
    assert "DELAI" in message and "T_MCOaaMED" in message
    assert message == _error(files, tmp_path / "b", 700)


def test_chunked_yearly_tables_with_text_finess(raw, small_batches, tmp_path):
    """Yearly PMSI tables (RSA_NUM repeating across years, ETA_NUM as text with a Corsican FINESS): each
    period is chunked on its own and the outputs are still the whole read's."""
    from test_extract_yearly import _split_years

    dst = tmp_path / "snds"
    shutil.copytree(raw / "sim" / "snds", dst)
    _split_years(dst, dst)
    files = sorted(str(f) for f in dst.iterdir())
    _same(_extract(files, tmp_path / "whole"), _extract(files, tmp_path / "chunked", 400))


@settings(max_examples=60, deadline=None)
@given(
    ids=st.lists(st.text(min_size=1, max_size=6), min_size=1, max_size=40, unique=True),
    others=st.lists(st.one_of(st.none(), st.text(max_size=6)), max_size=20),
    n=st.integers(1, 8),
)
def test_person_ranges(ids, others, n):
    """Each known id falls in the range of its rank among the sorted ids (ranges of about equal size, in
    order); any other id in the range its order puts it in; null ids in range n."""
    ranges = chunks.PersonRanges(pd.Series(ids, dtype=object), n)
    order = sorted(ids, key=lambda x: x.encode())
    expected = {x: i * ranges.n // len(order) for i, x in enumerate(order)}
    got = ranges.of(pa.array(ids + others, pa.string()))
    assert list(got[: len(ids)]) == [expected[x] for x in ids]
    for x, r in zip(others, got[len(ids) :], strict=True):
        if x is None:
            assert r == ranges.n
        else:
            below = [expected[y] for y in order if y.encode() <= x.encode()]
            assert r == (max(below) if below else 0)


@settings(max_examples=60, deadline=None)
@given(
    values=st.lists(st.text(max_size=5), max_size=30, unique=True),
    probe=st.lists(st.one_of(st.none(), st.text(max_size=5)), max_size=40),
)
def test_text_index(values, probe):
    index = TextIndex(values)
    expected = [values.index(x) if x is not None and x in values else -1 for x in probe]
    assert list(index.positions(pa.array(probe, pa.string()))) == expected


def test_user_errors_survive_a_worker_process():
    """An error raised in a worker process reaches the user with its message and attributes."""
    error = InputError("T_MCOaaB.parquet", "rows share a key", column="ETA_NUM+RSA_NUM", rows=range(1, 30))
    back = pickle.loads(pickle.dumps(error))
    assert type(back) is InputError and str(back) == str(error)
    assert (back.file, back.column, back.rows) == (error.file, error.column, error.rows)


def test_largest_family_counts_the_pmsi_periods(raw):
    """The output ranges follow the family with the most chunks, a PMSI period included (it was once
    counted by its kinds, "B", "C"..., which are no table: a PMSI period larger than the DCIR was missed)."""
    from lotluca.extract.common import ExtractSettings

    paths = pipeline.paths_from_files(_files(raw), pipeline.SNDS_TABLES)
    blocks = _blocks(chunk_rows=50)
    settings = ExtractSettings.for_study(blocks["study"], blocks["extract"])
    pmsi = {t: p for t, p in paths.items() if t.startswith("T_MCO")}
    families = chunks.Families(pmsi, settings, None, None)  # no DCIR: the PMSI period alone
    assert families.largest == families.chunks(list(pmsi)) > 1
