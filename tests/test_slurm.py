"""SLURM integration: the tiny study through a real one-node SLURM cluster equals a local run.

The session fixture installs and starts SLURM from Debian's packages (tests/slurm/setup_local_slurm.sh,
needs root and apt-get). Outside CI the test is skipped, with the reason, where that is impossible;
in CI (CI=true) it must run, so it fails instead.

The DAG is run in copies of the repository (never in the checkout's results/): once locally with
--cores 2 and once through `--workflow-profile workflow/profiles/slurm`; every Parquet/CSV under
results/ (logs and benchmarks excepted) must be identical.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from conftest import IN_CI, REPO, snakemake_exe

pytestmark = [pytest.mark.slurm, pytest.mark.workflow]

SETUP = REPO / "tests" / "slurm" / "setup_local_slurm.sh"
TINY = REPO / "tests" / "data" / "tiny_config.yaml"
# what a run needs from the repository (results/, .snakemake/, caches are left behind)
COPY = ["Snakefile", "config.yaml", "workflow", "scripts", "envs"]
IGNORE = shutil.ignore_patterns("__pycache__", "*.egg-info", ".snakemake", "results")
EXCLUDED_DIRS = {"logs", "benchmarks"}
RUN_TIMEOUT = 1500


def _unavailable(reason: str):
    if IN_CI:
        pytest.fail(f"SLURM test cannot run in CI: {reason}", pytrace=False)
    pytest.skip(f"SLURM test skipped: {reason}")


def _env(copy: Path) -> dict[str, str]:
    """The test's virtualenv first on PATH; the copy's library first on sys.path (jobs inherit both)."""
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(copy / "scripts"), env.get("PYTHONPATH", "")) if p)
    return env


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


def _copy_repo(dest: Path) -> Path:
    dest.mkdir(parents=True, exist_ok=True)
    for name in COPY:
        src = REPO / name
        if src.is_dir():
            shutil.copytree(src, dest / name, ignore=IGNORE)
        elif src.exists():
            shutil.copy2(src, dest / name)
    return dest


def _start(args: list[str], cwd: Path) -> subprocess.Popen:
    log = open(cwd / "snakemake.out", "w")  # noqa: SIM115 (closed in _finish)
    return subprocess.Popen(
        [snakemake_exe(), *args], cwd=cwd, env=_env(cwd), stdout=log, stderr=subprocess.STDOUT, text=True
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
        if p.is_file() and p.suffix in {".parquet", ".csv"} and rel.parts[0] not in EXCLUDED_DIRS:
            out[rel.as_posix()] = p
    return out


def _table_differences(a: Path, b: Path, label_a: str, label_b: str) -> list[str]:
    ta, tb = _tables(a), _tables(b)
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


def test_slurm_run_equals_local_run(slurm_cluster, tmp_path_factory):
    base = tmp_path_factory.mktemp("slurm_vs_local")
    local, cluster = _copy_repo(base / "local"), _copy_repo(base / "slurm")
    common = ["--configfile", str(TINY)]
    # local and SLURM runs at the same time: the SLURM one mostly waits on status checks
    p_local = _start(["--cores", "2", *common], local)
    p_slurm = _start(
        [
            "--workflow-profile",
            "workflow/profiles/slurm",
            *common,
            "--jobs",
            "4",
            "--latency-wait",
            "5",
            "--slurm-init-seconds-before-status-checks",
            "4",
            "--slurm-keep-successful-logs",
        ],
        cluster,
    )
    try:
        _finish(p_local, local, "local run")
        out = _finish(p_slurm, cluster, "SLURM run")
    finally:
        for proc in (p_local, p_slurm):
            if proc.poll() is None:  # a failed run: stop the other one (snakemake cancels its SLURM jobs)
                proc.terminate()
                proc.wait(timeout=120)

    # the jobs really went through SLURM: one sbatch log per submitted rule
    assert "has been submitted with SLURM jobid" in out, out[-3000:]
    slurm_logs = list((cluster / ".snakemake" / "slurm_logs").rglob("*.log"))
    assert slurm_logs, "no SLURM job log under .snakemake/slurm_logs"

    tables = _tables(local / "results")
    assert tables, "the local run wrote no Parquet/CSV under results/"
    diffs = _table_differences(local / "results", cluster / "results", "local", "slurm")
    assert not diffs, "\n".join(diffs)
