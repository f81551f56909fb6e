"""The simulator per shard: blocks, their shards, a cohort identical for any number of shards, and the
step functions of the rules `simulate` and `simulate_gather` writing exactly the paths they are given."""

from __future__ import annotations

import filecmp
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv
import pyarrow.parquet as pq
import pytest

from lotluca import snds_schema
from lotluca.config import default_config
from lotluca.errors import LotlucaError
from lotluca.sharding import gather
from lotluca.simulate import ODH_OUT, SNDS_OUT, TRUTH_SORT_KEYS, simulate, steps
from lotluca.simulate import blocks as B
from lotluca.simulate.params import SimSettings

CFG = default_config(simulate={"patients": 130, "block_size": 40})
TRUTH = list(TRUTH_SORT_KEYS)


def _settings(**sim) -> SimSettings:
    cfg = default_config(simulate=sim)
    return SimSettings.from_config(cfg["simulate"], study=cfg["study"])


def _shard_outputs(folder: Path, fmt: str) -> dict:
    """The outputs of rule `simulate` for one shard, in a layout of the test's own (not the workflow's)."""
    return {
        "snds": [str(folder / f"{t}.raw.{fmt}") for t in SNDS_OUT],
        "odh": [str(folder / "odh" / f"{t}.{fmt}") for t in ODH_OUT],
        "gold": str(folder / "g" / "gold_lines.parquet"),
        "truth": [str(folder / "t" / f"{t}.parquet") for t in TRUTH],
    }


def _run_steps(root: Path, n: int, fmt: str, seed: int = 11) -> tuple[list[dict], dict]:
    """Rule `simulate` for every shard of n, then rule `simulate_gather` (inputs in workflow order)."""
    shard_out = []
    for k in range(n):
        out = _shard_outputs(root / f"n{n}" / f"s{k}", fmt)
        blocks = {"simulate": CFG["simulate"], "study": CFG["study"]}
        steps.simulate({}, out, **blocks, seed=seed, fmt=fmt, shard=str(k), n_shards=str(n))
        shard_out.append(out)
    gathered = root / f"g{n}"
    outputs = {
        "gold": str(gathered / "gold.parquet"),
        "truth": [str(gathered / f"{t}.parquet") for t in TRUTH],
        "calibration": str(gathered / "calibration.csv"),
        "gold_agreement": str(gathered / "gold_agreement.csv"),
    }
    truth = [o["truth"][t] for t in range(len(TRUTH)) for o in shard_out]  # table-major, then shard order
    inputs = {"gold": [o["gold"] for o in shard_out], "truth": truth}
    steps.simulate_gather(inputs, outputs, simulate=CFG["simulate"], study=CFG["study"])
    return shard_out, outputs


def _files(root: Path) -> set[str]:
    return {str(p) for p in root.rglob("*") if p.is_file()}


def test_blocks_cover_the_cohort_with_disjoint_identifier_ranges():
    s = _settings(patients=2500, block_size=1000, decoy_ratio=2.0)
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
    s = SimSettings.from_config(CFG["simulate"], study=CFG["study"])
    whole = simulate(s, 3)
    alone = simulate(s, 3, shard=2, n_shards=4)  # block 2 only
    ids = set(alone["persons_truth"].column("truth_person_id").to_pylist())
    sub = whole["clinical_truth"].filter(
        pc.is_in(whole["clinical_truth"].column("truth_person_id"), value_set=pa.array(sorted(ids)))
    )
    assert sub.equals(alone["clinical_truth"])
    assert alone["counts"] == {"patients": 40, "decoys": 80, "lines": alone["counts"]["lines"], "events": sub.num_rows}


def test_steps_write_exactly_the_paths_given(tmp_path):
    """The step functions write the files they are given, whatever their folders and names (the table is
    the file name up to its first dot), and nothing else."""
    shard_out, gathered = _run_steps(tmp_path, 2, "csv")
    want = {f for o in shard_out for v in o.values() for f in ([v] if isinstance(v, str) else v)}
    want |= {gathered["gold"], gathered["calibration"], gathered["gold_agreement"], *gathered["truth"]}
    assert _files(tmp_path) == want
    header = (tmp_path / "n2" / "s0" / "ER_PRS_F.raw.csv").read_text().splitlines()[0]
    assert header.split(";") == snds_schema.arrow_schema("ER_PRS_F").names  # the ER_PRS_F table went to its file
    assert pq.read_table(gathered["truth"][TRUTH.index("lines_truth")]).column_names[0] == "truth_person_id"
    bad = {"snds": [str(tmp_path / "x" / "NOT_A_TABLE.csv")], "odh": [], "truth": [], "gold": str(tmp_path / "g")}
    with pytest.raises(LotlucaError, match="no table named"):
        steps.simulate({}, bad, simulate=CFG["simulate"], study=CFG["study"], seed=1, fmt="csv", shard=0, n_shards=1)


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_the_cohort_is_identical_for_any_number_of_shards(tmp_path, fmt):
    """4 blocks simulated as 1, 3 and 6 shards (2 of them empty): gathered gold, truth and calibration are
    byte-identical, and every raw SNDS / ODH table holds the same rows (the nomenclatures: each shard the
    whole table)."""
    raw, gathered = {}, {}
    for n in (1, 3, 6):
        shard_out, gathered[n] = _run_steps(tmp_path, n, fmt)
        read = pq.read_table if fmt == "parquet" else pcsv.read_csv
        opts = {} if fmt == "parquet" else {"parse_options": pcsv.ParseOptions(delimiter=";")}
        raw[n] = {}
        for grp, names in (("snds", SNDS_OUT), ("odh", ODH_OUT)):
            for i, t in enumerate(names):
                parts = [read(o[grp][i], **opts) for o in shard_out]
                assert len({tuple(p.column_names) for p in parts}) == 1, t  # empty shards: the header only
                if t in ("IR_PHA_R", "NU_UCD_R"):  # nomenclatures: every shard holds them whole
                    assert all(p.equals(parts[0]) and p.num_rows for p in parts), t
                    raw[n][t] = parts[0]
                    continue
                raw[n][t] = gather([p for p in parts if p.num_rows] or parts[:1])  # CSV types of an empty file differ
    files = lambda g: [g["gold"], g["calibration"], g["gold_agreement"], *g["truth"]]  # noqa: E731
    for n in (3, 6):
        for a, b in zip(files(gathered[1]), files(gathered[n]), strict=True):
            assert filecmp.cmp(a, b, shallow=False), (n, b)
        for t, table in raw[1].items():
            assert table.num_rows > 0 or t in ("ER_UCD_F",), t
            assert raw[n][t].equals(table), (n, t)
