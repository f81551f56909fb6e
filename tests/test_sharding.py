"""lotluca.sharding: stable shard assignment, filtering to a shard, canonical gathering."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lotluca.errors import InputError
from lotluca.sharding import canonical_sort, filter_to_shard, gather, person_hash, shard_of

MASK = (1 << 64) - 1


def reference_hash(s: str) -> int:
    """The documented definition, one id at a time in plain Python."""
    h = 0xCBF29CE484222325
    for b in s.encode("utf-8"):
        h = ((h ^ b) * 0x100000001B3) & MASK
    h ^= h >> 30
    h = (h * 0xBF58476D1CE4E5B9) & MASK
    h ^= h >> 27
    h = (h * 0x94D049BB133111EB) & MASK
    h ^= h >> 31
    return h


def test_hash_of_known_ids_is_frozen():
    # FNV-1a of "" is the offset basis; these values must never change (they decide every shard)
    assert reference_hash("") == int(person_hash([""])[0])
    assert person_hash(["P0000001", "P0000002"]).tolist() == [reference_hash("P0000001"), reference_hash("P0000002")]
    assert shard_of(["P0000001", "P0000002", "P0000003", "P0000004"], 3).tolist() == [
        reference_hash(f"P000000{i}") % 3 for i in range(1, 5)
    ]


@given(st.lists(st.text(max_size=24), max_size=60))
def test_vectorised_hash_equals_reference(ids):
    assert person_hash(ids).tolist() == [reference_hash(s) for s in ids]


@given(st.lists(st.text(min_size=1, max_size=12), min_size=1, max_size=80), st.integers(1, 7))
def test_shards_partition_the_persons_whatever_the_order(ids, n):
    table = pa.table({"person_id": ids, "row": list(range(len(ids)))})
    parts = [filter_to_shard(table, k, n) for k in range(n)]
    assert sum(p.num_rows for p in parts) == table.num_rows
    # a person's rows all land in one shard
    for k, part in enumerate(parts):
        assert set(part.column("person_id").to_pylist()).isdisjoint(
            {pid for j, q in enumerate(parts) if j != k for pid in q.column("person_id").to_pylist()}
        )
    # the shard of an id does not depend on the other ids or their order
    rev = shard_of(ids[::-1], n)[::-1]
    assert np.array_equal(shard_of(ids, n), rev)
    assert np.array_equal(shard_of(ids, n), [reference_hash(s) % n for s in ids])
    # gathering the shards gives back the canonically sorted table, for any n
    assert gather(parts).equals(canonical_sort(table))


def test_one_shard_keeps_everything_and_shards_are_balanced():
    ids = [f"P{i:07d}" for i in range(30_000)]
    assert (shard_of(ids, 1) == 0).all()
    counts = np.bincount(shard_of(ids, 3), minlength=3)
    assert counts.sum() == 30_000 and counts.min() > 9_500  # ~10,000 each
    t = pa.table({"person_id": ids})
    assert filter_to_shard(t, 0, 1) is t


def test_chunked_and_sliced_inputs_hash_like_plain_lists():
    ids = [f"X{i}" for i in range(100)]
    chunked = pa.chunked_array([ids[:40], ids[40:]])
    sliced = pa.array(["junk", *ids])[1:]
    expected = person_hash(ids)
    assert np.array_equal(person_hash(chunked), expected)
    assert np.array_equal(person_hash(sliced), expected)
    assert np.array_equal(person_hash(np.array(ids, dtype=object)), expected)


def test_canonical_sort_orders_by_keys_then_every_column_nulls_last():
    t = pa.table(
        {
            "person_id": ["b", "a", "a", "a"],
            "line_number": pa.array([1, 2, 1, 1], pa.int16()),
            "start_date": pa.array([dt.date(2020, 1, 1), dt.date(2020, 5, 1), None, dt.date(2019, 1, 1)], pa.date32()),
        }
    )
    out = canonical_sort(t, ["person_id", "line_number"])
    assert out.column("person_id").to_pylist() == ["a", "a", "a", "b"]
    assert out.column("line_number").to_pylist() == [1, 1, 2, 1]
    assert out.column("start_date").to_pylist() == [dt.date(2019, 1, 1), None, dt.date(2020, 5, 1), dt.date(2020, 1, 1)]


def test_gather_rejects_mismatched_schemas_and_empty_input():
    a = pa.table({"person_id": ["a"], "x": [1]})
    b = pa.table({"person_id": ["b"], "x": ["1"]})
    with pytest.raises(InputError, match="shard-1.parquet: schema differs"):
        gather([a, b], sources=["shard-0.parquet", "shard-1.parquet"])
    with pytest.raises(ValueError):
        gather([])
    # empty shards are fine
    assert gather([a, a.slice(0, 0)]).equals(a)


def test_bad_arguments_and_null_ids_are_clear_errors():
    t = pa.table({"person_id": ["a", None, "c"]})
    with pytest.raises(InputError, match="persons.parquet: null person id.*rows 1"):
        filter_to_shard(t, 0, 2, source="persons.parquet")
    with pytest.raises(InputError, match="no column to shard on"):
        filter_to_shard(pa.table({"id": ["a"]}), 0, 2)
    with pytest.raises(ValueError, match=">= 1"):
        shard_of(["a"], 0)
    with pytest.raises(ValueError, match="0..2"):
        filter_to_shard(pa.table({"person_id": ["a"]}), 3, 3)


@settings(max_examples=25)
@given(st.integers(2, 9))
def test_many_ids_spread_over_every_shard(n):
    ids = [f"ODH{i:06d}" for i in range(5_000)]
    assert set(np.unique(shard_of(ids, n))) == set(range(n))


def test_split_then_gather_files_round_trip(tmp_path):
    from lotluca.io import write_parquet
    from lotluca.sharding import gather_files, split_files

    ids = [f"P{i:04d}" for i in range(300)]
    persons = pa.table({"person_id": ids, "birth_year": pa.array([1950 + i % 30 for i in range(300)], pa.int16())})
    exposures = pa.table({"person_id": [ids[i % 300] for i in range(900)][::-1], "dose": list(range(900))})
    write_parquet(persons, tmp_path / "persons.parquet")
    write_parquet(exposures, tmp_path / "exposures.parquet")
    outs = {name: [tmp_path / f"{name}.{k}.parquet" for k in range(3)] for name in ("persons", "exposures")}
    counts = split_files({n: tmp_path / f"{n}.parquet" for n in outs}, outs)
    assert sum(counts["persons"]) == 300 and sum(counts["exposures"]) == 900
    assert min(counts["persons"]) > 60  # every shard has persons
    # each shard's exposures belong to that shard's persons only
    for k in range(3):
        p = set(pq.read_table(outs["persons"][k]).column("person_id").to_pylist())
        e = set(pq.read_table(outs["exposures"][k]).column("person_id").to_pylist())
        assert e <= p
    got = gather_files(outs["exposures"], tmp_path / "gathered.parquet")
    assert got.equals(canonical_sort(exposures))
    assert pq.read_table(tmp_path / "gathered.parquet").equals(got)
    # one shard: a plain copy, then the same gathered table
    one = {n: [tmp_path / f"{n}.only.parquet"] for n in outs}
    assert split_files({n: tmp_path / f"{n}.parquet" for n in outs}, one) == {"persons": [300], "exposures": [900]}
    assert gather_files(one["exposures"], tmp_path / "g1.parquet").equals(got)


def test_split_names_the_file_of_null_ids(tmp_path):
    from lotluca.io import write_parquet
    from lotluca.sharding import split_files

    write_parquet(pa.table({"person_id": ["a", None]}), tmp_path / "x.parquet")
    with pytest.raises(InputError, match=r"x.parquet: null person id.*rows 1"):
        split_files({"x": tmp_path / "x.parquet"}, {"x": [tmp_path / "x0.parquet", tmp_path / "x1.parquet"]})
