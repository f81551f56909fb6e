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
