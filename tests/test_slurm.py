"""SLURM integration: the tiny study through a real one-node SLURM cluster equals a local run.

The session fixture installs and starts SLURM from Debian's packages (tests/slurm/setup_local_slurm.sh,
needs root and apt-get). Outside CI the test is skipped, with the reason, where that is impossible;
in CI (CI=true) it must run, so it fails instead.

The DAG is run in copies of the repository (never in the checkout's results/): locally with 1 and
with 3 patient shards (config `shards`), and through `--workflow-profile workflow/profiles/slurm`
with 3 shards; every Parquet/CSV under results/ (logs, benchmarks and the per-shard intermediates
under results/shards/ excepted) must be identical.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import yaml

from conftest import IN_CI, REPO, TINY_CONFIG, copy_repo, run_env, snakemake_exe
from lotluca.config import load_config
from lotluca.layout import path

pytestmark = [pytest.mark.slurm, pytest.mark.workflow]

SETUP = REPO / "tests" / "slurm" / "setup_local_slurm.sh"
EXCLUDED_DIRS = {"logs", "benchmarks", "shards"}  # shards/: per-shard intermediates
RUN_TIMEOUT = 1500


def _unavailable(reason: str):
    if IN_CI:
        pytest.fail(f"SLURM test cannot run in CI: {reason}", pytrace=False)
    pytest.skip(f"SLURM test skipped: {reason}")


def _slurm_answers() -> bool:
    if not shutil.which("scontrol"):
        return False
    res = subprocess.run(["scontrol", "ping"], capture_output=True, text=True)
    return res.returncode == 0 and "UP" in res.stdout


@pytest.fixture(scope="session")
def slurm_cluster():
    """A one-node SLURM cluster on localhost; stopped afterwards if this fixture started it."""
    if os.name != "posix" or os.geteuid() != 0:
        _unavailable("needs root to install and start slurmctld/slurmd/munge")
    if not shutil.which("apt-get") and not shutil.which("slurmctld"):
        _unavailable("apt-get not found (not Debian/Ubuntu) and SLURM not installed")
    already_up = _slurm_answers()
    res = subprocess.run(["bash", str(SETUP)], capture_output=True, text=True, timeout=1200)
    if res.returncode != 0:
        pytest.fail(f"{SETUP.name} failed (rc={res.returncode}):\n{res.stdout}\n{res.stderr}", pytrace=False)
    yield
    if not already_up:
        subprocess.run(["bash", str(SETUP), "teardown"], capture_output=True, text=True, timeout=120)


def _start(args: list[str], cwd: Path) -> subprocess.Popen:
    log = open(cwd / "snakemake.out", "w")  # noqa: SIM115 (closed in _finish)
    return subprocess.Popen(
        [snakemake_exe(), *args], cwd=cwd, env=run_env(cwd), stdout=log, stderr=subprocess.STDOUT, text=True
    )


def _finish(proc: subprocess.Popen, cwd: Path, what: str) -> str:
    try:
        proc.wait(timeout=RUN_TIMEOUT)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        queue = (
            subprocess.run(["squeue", "--states=all"], capture_output=True, text=True).stdout
            if shutil.which("squeue")
            else ""
        )
        pytest.fail(f"{what}: snakemake did not finish in {RUN_TIMEOUT}s\n{_tail(cwd)}\n{queue}", pytrace=False)
    if proc.returncode != 0:
        pytest.fail(f"{what}: snakemake failed (rc={proc.returncode})\n{_tail(cwd)}", pytrace=False)
    return (cwd / "snakemake.out").read_text()


def _tail(cwd: Path, n: int = 80) -> str:
    lines = (cwd / "snakemake.out").read_text().splitlines()
    return "\n".join(lines[-n:])


def _tables(results: Path) -> dict[str, Path]:
    """Every Parquet/CSV output under results/, keyed by its path relative to results/."""
    out = {}
    for p in sorted(results.rglob("*")):
        rel = p.relative_to(results)
        # the raw tables of one simulated shard: results/simulated/n{N}/{shard}/
        per_shard = rel.parts[0] == "simulated" and len(rel.parts) > 2 and re.fullmatch(r"n\d+", rel.parts[1])
        if p.is_file() and p.suffix in {".parquet", ".csv"} and rel.parts[0] not in EXCLUDED_DIRS and not per_shard:
            out[rel.as_posix()] = p
    return out


def _table_differences(a: Path, b: Path, label_a: str, label_b: str, only: set[str] | None = None) -> list[str]:
    """What differs between the tables under results dirs a and b (only: these relative paths)."""
    ta, tb = _tables(a), _tables(b)
    if only is not None:
        ta, tb = ({k: v for k, v in t.items() if k in only} for t in (ta, tb))
        if set(ta) != only:
            return [f"{label_a} lacks {sorted(only - set(ta))}"]
    diffs = []
    if set(ta) != set(tb):
        diffs.append(
            f"file sets differ: only in {label_a}: {sorted(set(ta) - set(tb))}; only in {label_b}: {sorted(set(tb) - set(ta))}"
        )
    for rel in sorted(set(ta) & set(tb)):
        if rel.endswith(".parquet"):
            x, y = pq.read_table(ta[rel]), pq.read_table(tb[rel])
            if x.schema != y.schema:
                diffs.append(f"{rel}: schemas differ:\n{x.schema}\n---\n{y.schema}")
            elif not x.equals(y):
                diffs.append(f"{rel}: contents differ ({x.num_rows} vs {y.num_rows} rows)")
        elif ta[rel].read_bytes() != tb[rel].read_bytes():
            diffs.append(f"{rel}: CSV contents differ")
    return diffs


def _lines_targets() -> list[str]:
    """The gathered lines tables of every scenario x algorithm of the tiny study."""
    config = load_config(REPO / "config.yaml", yaml.safe_load(TINY_CONFIG.read_text()))
    return [
        path("lines.lines", scenario=s, algorithm=a) for s in config["scenarios"] for a in config["lines"]["algorithms"]
    ]


SLURM_ARGS = [
    "--workflow-profile",
    "workflow/profiles/slurm",
    "--jobs",
    "4",
    "--latency-wait",
    "5",
    # a tiny-study job takes about 6 s (3-4 s of it Snakemake starting inside the job): a first status
    # check at 8 s sees most jobs finished (at 4 s none is, and the next check comes 10 s later)
    "--slurm-init-seconds-before-status-checks",
    "8",
    "--slurm-keep-successful-logs",
]


def test_outputs_identical_local_vs_slurm_and_any_shard_count(slurm_cluster, tiny_study, tmp_path_factory):
    """Local 1 shard (the session's tiny study) == SLURM 3 shards == local 3 shards, table by table."""
    base = tmp_path_factory.mktemp("slurm_vs_local")
    runs = {
        # the whole study through SLURM
        "SLURM, 3 shards": ([*SLURM_ARGS, "--config", "shards=3"], copy_repo(base / "slurm_3")),
        # locally with 3 shards, up to the sharded step (what follows only sees the gathered tables)
        "local, 3 shards": (
            ["--cores", "1", "--config", "shards=3", "--", *_lines_targets()],
            copy_repo(base / "local_3"),
        ),
    }
    # both at once: the SLURM run mostly waits on status checks
    procs = {name: _start(["--configfile", str(TINY_CONFIG), *args], cwd) for name, (args, cwd) in runs.items()}
    outs = {}
    try:
        for name, proc in procs.items():
            outs[name] = _finish(proc, runs[name][1], f"{name} run")
    finally:
        for proc in procs.values():
            if proc.poll() is None:  # a failed run: stop the others (snakemake cancels its SLURM jobs)
                proc.terminate()
                proc.wait(timeout=120)

    # the jobs really went through SLURM, the per-shard ones included
    slurm_dir = runs["SLURM, 3 shards"][1]
    assert "has been submitted with SLURM jobid" in outs["SLURM, 3 shards"], outs["SLURM, 3 shards"][-3000:]
    submitted = {p.name for p in (slurm_dir / ".snakemake" / "slurm_logs").iterdir()}
    assert {"rule_simulate", "rule_extract", "rule_lines", "rule_evaluate_shard"} <= submitted, submitted

    reference = tiny_study / "results"
    tables = _tables(reference)
    assert any(rel.startswith("lines/") for rel in tables), f"no lines table in the outputs: {sorted(tables)}"
    diffs = _table_differences(reference, slurm_dir / "results", "local, 1 shard", "SLURM, 3 shards")
    assert not diffs, "SLURM, 3 shards differs from local, 1 shard:\n" + "\n".join(diffs)
    lines_tables = {t.removeprefix("results/") for t in _lines_targets()}
    diffs = _table_differences(
        reference, runs["local, 3 shards"][1] / "results", "1 shard", "3 shards", only=lines_tables
    )
    assert not diffs, "local lines with 3 shards differ from 1 shard:\n" + "\n".join(diffs)
