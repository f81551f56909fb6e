"""Sharded extraction (issue 10): split the raw tables by person, extract each shard, gather; the result
equals the unsharded extraction, file for file, for any number of shards.

The synthetic cohort is small and clean, so it gets dirty rows the split has to route: twins sharing
a BEN_NIR_PSA, DCIR and PMSI rows of unknown beneficiaries (and their detail lines), orphan lines, an
unknown drug code, a value that cannot be parsed (CSV), ODH rows of unknown patients / without an id.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from conftest import TINY_CONFIG, copy_repo, run_env, snakemake_exe
from lotluca.config import default_config
from lotluca.extract import accounting, pipeline, snds, split, steps
from lotluca.extract.common import ExtractSettings
from lotluca.io import write_parquet

CONFIG = default_config()
BLOCKS = {"study": CONFIG["study"], "extract": CONFIG["extract"]}


def _edit(path: Path, fn) -> None:
    """Edit a raw table as a frame: CSV as text (values untouched), Parquet typed (schema kept)."""
    if path.suffix == ".csv":
        sep = ";" if path.read_text(encoding="utf-8").splitlines()[0].count(";") else ","
        df = pd.read_csv(path, sep=sep, dtype=str, keep_default_na=False)
        df = fn(df, str)
        df.to_csv(path, sep=sep, index=False)
    else:
        t = pq.read_table(path)
        df = fn(t.to_pandas(), lambda v: v)
        write_parquet(pa.Table.from_pandas(df, schema=t.schema, preserve_index=False), path)


def _add(df: pd.DataFrame, row: int, **values) -> pd.DataFrame:
    new = df.iloc[[row]].copy()
    for c, v in values.items():
        new[c] = v
    return pd.concat([df, new], ignore_index=True)


def _dirty(folder: Path, fmt: str) -> None:
    s, o = folder / "snds", folder / "odh"
    f = lambda d, t: d / f"{t}.{fmt}"  # noqa: E731
    _edit(f(s, "IR_BEN_R"), lambda d, v: _add(d, 0, BEN_IDT_ANO="TWIN0000000000001", BEN_RNG_GEM=v(2)))
    _edit(f(s, "KI_CCI_R"), lambda d, v: _add(d, 0, BEN_IDT_ANO="NOBODY00000000001"))
    # a DCIR service of an unknown beneficiary with its pharmacy line; an orphan pharmacy line;
    # an unknown CIP13 code
    keys, parents = {}, {}

    def prs(d, v):
        keys.update(d.iloc[0][snds.DCIR_KEYS].to_dict(), ORG_CLE_NUM="ZZZ1")
        parents["ok"] = d.loc[~d["DPN_QLF"].astype(str).isin(["71", "71.0"]), snds.DCIR_KEYS].astype(str)
        return _add(d, 0, BEN_NIR_PSA="UNKNOWNNIR0000001", ORG_CLE_NUM="ZZZ1")

    _edit(f(s, "ER_PRS_F"), prs)

    def pha(d, v):
        # the unknown code on a line whose service is not filtered (a DPN_QLF 71 parent filters its lines)
        ok = d[snds.DCIR_KEYS].astype(str).reset_index().merge(parents["ok"], on=snds.DCIR_KEYS)["index"]
        d.loc[int(ok[(ok >= 2) & (ok != 5)].min()), "PHA_PRS_C13"] = v(3400999999999)
        if v is str:
            d.loc[5, "PHA_ACT_QSN"] = "abc"
        return _add(_add(d, 0, **keys), 1, ORG_CLE_NUM="ZZZ2")

    _edit(f(s, "ER_PHA_F"), pha)
    # a PMSI stay of an unknown beneficiary (B, C and a drug line), an orphan drug line
    _edit(f(s, "T_MCOaaC"), lambda d, v: _add(d, 0, NIR_ANO_17="UNKNOWNNIR0000002", RSA_NUM=v(999999)))
    _edit(f(s, "T_MCOaaB"), lambda d, v: _add(d, 0, RSA_NUM=v(999999)))
    _edit(f(s, "T_MCOaaMED"), lambda d, v: _add(_add(d, 0, RSA_NUM="999999"), 1, RSA_NUM="888888"))

    def adm(d, v):
        d.loc[1, "drug_label"] = "MYSTERYDRUG 10MG"
        return _add(d, 0, odh_patient_id="NOPATIENT", administration_id="X0000001")

    _edit(f(o, "odh_administrations"), adm)
    _edit(f(o, "odh_patients"), lambda d, v: _add(d, 0, odh_patient_id="" if v is str else None))


@pytest.fixture(scope="module", params=["parquet", "csv"])
def raw(request, tmp_path_factory) -> Path:
    from lotluca.simulate import simulate_to_files

    root = tmp_path_factory.mktemp(f"shards_{request.param}")
    simulate_to_files({"patients": 150}, {}, 11, root / "sim", request.param)
    _dirty(root / "sim", request.param)
    return root


def _outputs(folder: Path) -> dict[str, str]:
    return {name: str(f) for name, f in pipeline.output_files(folder).items()}


def _raw_files(root: Path, source: str) -> list[str]:
    return sorted(str(f) for f in (root / "sim" / source).iterdir())


def _sharded(root: Path, source: str, n: int) -> Path:
    """Split into n shards, extract each, gather (the step functions, as the workflow runs them);
    returns the gathered folder."""
    base = root / f"n{n}" / source
    shutil.rmtree(base, ignore_errors=True)
    files = _raw_files(root, source)
    split_files = [
        str(base / "raw" / str(k) / name)
        for k in range(n)
        for f in map(Path, files)
        for name in (f.name, f"{f.name.split('.')[0]}.rows.parquet")
    ]
    steps.extract_split({"tables": files}, {"tables": split_files}, **BLOCKS, source=source)
    shard_outputs = []
    for k in range(n):
        shard = [f for f in split_files if Path(f).parent.name == str(k)]
        outputs = _outputs(base / "ex" / str(k))
        steps.extract({"tables": shard}, outputs, **BLOCKS, source=source, part=n > 1)
        shard_outputs += outputs.values()
    steps.extract_gather({"shards": shard_outputs}, _outputs(base / "gathered"), source=source)
    return base / "gathered"


def _whole(root: Path, source: str) -> Path:
    out = root / "whole" / source
    if not (out / "accounting.csv").exists():
        steps.extract({"tables": _raw_files(root, source)}, _outputs(out), **BLOCKS, source=source, part=False)
    return out


@pytest.mark.parametrize("source", ["snds", "odh"])
@pytest.mark.parametrize("n", [1, 2, 3])
def test_split_extract_gather_equals_whole(raw, source, n):
    whole, got = _whole(raw, source), _sharded(raw, source, n)
    for name, f in pipeline.output_files(got).items():
        assert f.read_bytes() == (whole / f.name).read_bytes(), f"{source} {name} differs with {n} shards"
    rejects = pq.read_table(whole / "rejects.parquet").to_pandas()
    assert len(rejects) > 0  # the dirty rows are there and rejected
    acc = pd.read_csv(got / "accounting.csv")
    bal = accounting.balance(acc)
    assert bal["balanced"].all(), bal
    assert int(bal["rejected"].sum()) == len(pd.read_parquet(got / "rejects.parquet"))


def test_dirty_rows_rejected_once_with_their_whole_file_row(raw):
    got = _sharded(raw, "snds", 3)
    rej = pd.read_parquet(got / "rejects.parquet")
    acc = pd.read_csv(got / "accounting.csv")
    n_prs = int(acc.query("table == 'ER_PRS_F' and outcome == 'read'")["rows"].iloc[0])
    # the unknown beneficiary's DCIR service is the last row of ER_PRS_F: rejected once, named by its
    # row in the user's file (not in its shard)
    prs = rej[(rej["table"] == "ER_PRS_F") & (rej["rule"] == "unknown_beneficiary")]
    assert prs["row_key"].tolist() == [f"row {n_prs}"]
    pha = rej[rej["table"] == "ER_PHA_F"]
    assert (pha["rule"] == "parent_rejected").sum() == 1
    assert (pha["rule"] == "orphan_row").sum() == 1
    assert (pha["rule"] == "unknown_drug_code").sum() == 1
    c = rej[(rej["table"] == "T_MCOaaC") & (rej["rule"] == "unknown_beneficiary")]
    assert len(c) == 1
    # the twins' number is ambiguous in its shard as in the whole file
    unk = pd.read_csv(got / "unknown_codes.csv", dtype=str)
    assert unk["code"].tolist().count("3400999999999") == 1


def test_unresolvable_row_lands_in_exactly_one_shard(raw):
    """Every raw row is written to exactly one shard, with its row number in the whole file; the
    nomenclatures (IR_PHA_R, NU_UCD_R) are copied whole into every shard."""
    src = raw / "sim" / "snds"
    paths = pipeline.find_tables(src, split.SPLIT_TABLES["snds"])
    assert set(snds.NOMENCLATURES) <= set(paths)
    dirs = [raw / "split_check" / str(k) for k in range(3)]
    outputs = {t: [d / split.shard_file_name(t, p) for d in dirs] for t, p in paths.items()}
    counts = split.split_source("snds", paths, outputs, ExtractSettings.for_study(**BLOCKS))
    for table in snds.NOMENCLATURES:
        whole = paths[table].read_bytes()
        assert all((d / split.shard_file_name(table, paths[table])).read_bytes() == whole for d in dirs), table
        n = pq.read_table(dirs[0] / f"{table}.rows.parquet").num_rows
        assert n > 0 and counts.pop(table) == [n] * len(dirs)
    for table, per_shard in counts.items():
        rows = np.concatenate([pq.read_table(d / f"{table}.rows.parquet").column("row").to_numpy() for d in dirs])
        assert sorted(rows.tolist()) == list(range(sum(per_shard))), table
    last = counts["ER_PRS_F"]
    where = [
        k
        for k, d in enumerate(dirs)
        if sum(last) - 1 in pq.read_table(d / "ER_PRS_F.rows.parquet").column("row").to_pylist()
    ]
    assert len(where) == 1
    # its pharmacy line (same DCIR keys) follows it
    n_pha = sum(counts["ER_PHA_F"])
    pha_where = [
        k
        for k, d in enumerate(dirs)
        if n_pha - 2 in pq.read_table(d / "ER_PHA_F.rows.parquet").column("row").to_pylist()
    ]
    assert pha_where == where


@pytest.mark.workflow
def test_dry_run_three_extract_jobs_per_source(tmp_path):
    dest = copy_repo(tmp_path / "repo")
    cfg = tmp_path / "real.yaml"
    cfg.write_text(
        "simulate:\n  enabled: false\ninputs:\n  format: parquet\n  snds_dir: raw/snds\n  odh_dir: raw/odh\n  gold_lines: raw/gold_lines.parquet\nshards: 3\n"
    )
    for source, tables in (("snds", split.SPLIT_TABLES["snds"]), ("odh", pipeline.ODH_TABLES)):
        (dest / "raw" / source).mkdir(parents=True)
        for t in tables:
            (dest / "raw" / source / f"{t}.parquet").touch()
    targets = ["results/extract/snds/accounting.csv", "results/extract/odh/unknown_codes.csv"]
    cmd = [snakemake_exe(), "-n", "--configfile", str(TINY_CONFIG), str(cfg), "--quiet", "rules", "--cores", "1"]
    cmd += targets
    res = subprocess.run(cmd, cwd=dest, env=run_env(dest), capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr[-3000:]
    counts = {}
    for line in res.stdout.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[1].isdigit():
            counts[parts[0]] = int(parts[1])
    assert counts.get("extract") == 6, res.stdout  # 3 shards x 2 sources
    assert counts.get("extract_split") == 2 and counts.get("extract_gather") == 2, res.stdout
