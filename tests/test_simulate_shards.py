"""The simulator per shard: blocks, their shards, and a cohort identical for any number of shards."""

from __future__ import annotations

import filecmp

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv
import pyarrow.parquet as pq
import pytest

from lotluca.errors import LotlucaError
from lotluca.sharding import gather
from lotluca.simulate import ODH_OUT, SNDS_OUT, from_config, gather_shards, simulate, simulate_to_files
from lotluca.simulate import blocks as B

CFG = {"patients": 130, "block_size": 40}
GATHERED = [
    "calibration.csv",
    "gold/gold_lines.parquet",
    *(
        f"truth/{n}.parquet"
        for n in ("linkage_truth", "clinical_truth", "concomitant_truth", "persons_truth", "lines_truth")
    ),
]


def test_blocks_cover_the_cohort_with_disjoint_identifier_ranges():
    s = from_config({"patients": 2500, "block_size": 1000, "decoy_ratio": 2.0}, {})
    bl = B.cohort_blocks(s)
    assert [b.patients for b in bl] == [1000, 1000, 500]
    assert [b.decoys for b in bl] == [2000, 2000, 1000]
    assert [b.first_person for b in bl] == [0, 3000, 6000]
    assert [b.row_base for b in bl] == [0, B.ROW_STRIDE, 2 * B.ROW_STRIDE]
    assert [[b.index for b in B.shard_blocks(s, k, 2)] for k in (0, 1)] == [[0, 2], [1]]
    assert B.shard_blocks(s, 3, 4) == []  # more shards than blocks: an empty shard
    with pytest.raises(LotlucaError, match="shard must be in 0..1"):
        B.shard_blocks(s, 2, 2)
    with pytest.raises(LotlucaError, match="lower simulate.block_size"):
        B.check_capacity(B.ROW_STRIDE, B.ROW_STRIDE, "PMSI stays")


def test_a_block_does_not_depend_on_the_other_blocks():
    s = from_config(CFG, {})
    whole = simulate(s, 3)
    alone = simulate(s, 3, shard=2, n_shards=4)  # block 2 only
    ids = set(alone["persons_truth"].column("truth_person_id").to_pylist())
    sub = whole["clinical_truth"].filter(
        pc.is_in(whole["clinical_truth"].column("truth_person_id"), value_set=pa.array(sorted(ids)))
    )
    assert sub.equals(alone["clinical_truth"])
    assert alone["counts"] == {"patients": 40, "decoys": 80, "lines": alone["counts"]["lines"], "events": sub.num_rows}


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_the_cohort_is_identical_for_any_number_of_shards(tmp_path, fmt):
    """4 blocks simulated as 1, 3 and 6 shards (2 of them empty): gathered gold, truth and calibration are
    byte-identical, and every raw SNDS / ODH table holds the same rows."""
    raw = {}
    for n in (1, 3, 6):
        dirs = [tmp_path / f"n{n}" / str(k) for k in range(n)]
        for k, d in enumerate(dirs):
            simulate_to_files(CFG, {}, 11, d, fmt, shard=k, n_shards=n)
        gather_shards(dirs, tmp_path / f"g{n}", CFG)
        read = pq.read_table if fmt == "parquet" else pcsv.read_csv
        opts = {} if fmt == "parquet" else {"parse_options": pcsv.ParseOptions(delimiter=";")}
        raw[n] = {}
        for grp, names in (("snds", SNDS_OUT), ("odh", ODH_OUT)):
            for t in names:
                parts = [read(d / grp / f"{t}.{fmt}", **opts) for d in dirs]
                assert len({tuple(p.column_names) for p in parts}) == 1, t  # empty shards: the header only
                raw[n][t] = gather([p for p in parts if p.num_rows] or parts[:1])  # CSV types of an empty file differ
    for n in (3, 6):
        for f in GATHERED:
            assert filecmp.cmp(tmp_path / "g1" / f, tmp_path / f"g{n}" / f, shallow=False), (n, f)
        for t, table in raw[1].items():
            assert table.num_rows > 0 or t in ("ER_UCD_F",), t
            assert raw[n][t].equals(table), (n, t)
    assert not (tmp_path / "n3" / "0" / "calibration.csv").exists()  # cohort-level: gathered only
    assert (tmp_path / "n1" / "0" / "calibration.csv").read_bytes() == (
        tmp_path / "g1" / "calibration.csv"
    ).read_bytes()
