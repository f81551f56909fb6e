"""Shared test fixtures: repository paths and a tiny-study config."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "scripts"))

IN_CI = os.environ.get("CI", "").lower() == "true"


def snakemake_exe() -> str:
    exe = shutil.which("snakemake") or str(Path(sys.executable).parent / "snakemake")
    return exe


@pytest.fixture(scope="session")
def repo() -> Path:
    return REPO


def run_snakemake(args: list[str], cwd: Path = REPO, timeout: int = 900) -> subprocess.CompletedProcess:
    return subprocess.run([snakemake_exe(), *args], cwd=cwd, capture_output=True, text=True, timeout=timeout)


# --- the tiny study, run once per test session in a scratch copy of the repository ---------------
TINY_CONFIG = REPO / "tests" / "data" / "tiny_config.yaml"
# what a run needs from the repository (results/, .snakemake/, caches are left behind)
RUN_COPY = ["Snakefile", "config.yaml", "config", "workflow", "scripts", "envs", "tests/data"]
RUN_IGNORE = shutil.ignore_patterns("__pycache__", "*.egg-info", ".snakemake", "results")


def copy_repo(dest: Path) -> Path:
    """A scratch copy of what a Snakemake run needs, so tests never touch the checkout's results/."""
    dest.mkdir(parents=True, exist_ok=True)
    for name in RUN_COPY:
        src = REPO / name
        (dest / name).parent.mkdir(parents=True, exist_ok=True)
        if src.is_dir():
            shutil.copytree(src, dest / name, ignore=RUN_IGNORE)
        elif src.exists():
            shutil.copy2(src, dest / name)
    return dest


def run_env(copy: Path) -> dict[str, str]:
    """The test's virtualenv first on PATH; the copy's library first on sys.path (jobs inherit both)."""
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(copy / "scripts"), env.get("PYTHONPATH", "")) if p)
    return env


def snakemake_in(copy: Path, args: list[str], timeout: int = 1500) -> subprocess.CompletedProcess:
    """Snakemake on the tiny config in a scratch copy."""
    cmd = [snakemake_exe(), *args, "--configfile", str(TINY_CONFIG)]
    return subprocess.run(cmd, cwd=copy, env=run_env(copy), capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="session")
def tiny_study(tmp_path_factory) -> Path:
    """The whole tiny study (default target, 1 shard, --cores 2), run once and shared by the workflow
    tests (figures and report, and the local reference of the SLURM test)."""
    dest = copy_repo(tmp_path_factory.mktemp("tiny_study"))
    res = snakemake_in(dest, ["--cores", "2", "--config", "shards=1"])
    assert res.returncode == 0, res.stderr[-4000:]
    return dest
