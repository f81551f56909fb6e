"""The docs: generated pages up to date, the MkDocs site builds strictly (a broken link or anchor fails),
the README is short and self-contained, and benchmark records are what the generator reads."""

from __future__ import annotations

import datetime as dt
import importlib.util
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
OUTSIDE = ("BRIEF", "../shared", "/work/shared")


def _tool(name: str):
    spec = importlib.util.spec_from_file_location(name, REPO / "tools" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


make_docs = _tool("make_docs")
bench_record = _tool("bench_record")


def test_generated_pages_are_up_to_date(tmp_path):
    assert make_docs.main(["--out", str(tmp_path)]) == 0
    for name in ("config.md", "contracts.md", "benchmarks.md"):
        fresh = (tmp_path / name).read_text(encoding="utf-8")
        committed = (REPO / "docs" / name).read_text(encoding="utf-8")
        assert committed == fresh, f"docs/{name} is out of date: run python tools/make_docs.py"
    assert make_docs.main(["--check"]) == 0


def test_config_page_has_every_key():
    from lotluca.config import schema

    page = (REPO / "docs" / "config.md").read_text(encoding="utf-8")
    for block, sub in schema()["properties"].items():
        assert f"\n## {block}\n" in page
        for key in sub.get("properties", {}):
            assert f"`{block}.{key}`" in page


def test_contracts_page_has_one_section_per_table_and_a_meaning_per_column():
    from lotluca import contracts

    page = (REPO / "docs" / "contracts.md").read_text(encoding="utf-8")
    for table, schema in {**contracts.CANONICAL, **contracts.ODH_TABLES}.items():
        assert f"\n## {table}\n" in page
        section = page.split(f"\n## {table}\n", 1)[1].split("\n## ", 1)[0]
        for field in schema:
            row = next(line for line in section.splitlines() if line.startswith(f"| `{field.name}` |"))
            assert row.rstrip("| ").split("|")[-1].strip(), f"{table}.{field.name}: no meaning in contracts.py"


def test_mkdocs_builds_strictly(tmp_path):
    """Every nav page exists, every link and anchor resolves (mkdocs.yml turns them into warnings)."""
    proc = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-f", str(REPO / "mkdocs.yml"), "-d", str(tmp_path)],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert (tmp_path / "index.html").exists() and (tmp_path / "contracts" / "index.html").exists()


def test_readme_is_short_and_self_contained():
    text = (REPO / "README.md").read_text(encoding="utf-8")
    assert len(text) <= 12_000, f"README.md has {len(text)} characters (at most 12,000)"
    for word in OUTSIDE:
        assert word not in text


@pytest.mark.parametrize("name", ["README.md", "CONTRIBUTING.md"])
def test_relative_links_of_top_level_pages_resolve(name):
    text = (REPO / name).read_text(encoding="utf-8")
    text = re.sub(r"`[^`\n]*`", "", re.sub(r"```.*?```", "", text, flags=re.S))  # links shown as code are examples
    links = re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", text)
    local = [link for link in links if "://" not in link]
    assert local or name == "CONTRIBUTING.md"
    for link in local:
        assert (REPO / link).exists(), f"{name}: broken link {link}"


def test_no_page_cites_an_outside_document():
    pages = [REPO / "README.md", REPO / "CONTRIBUTING.md", *sorted((REPO / "docs").glob("*.md"))]
    for page in pages:
        text = page.read_text(encoding="utf-8")
        for word in OUTSIDE:
            assert word not in text, f"{page.name} cites {word}"


def test_bench_records_are_measured_lines():
    records = make_docs.read_records()
    assert records, "bench/results.jsonl is empty"
    for rec in records:
        assert {"bench", "script", "args", "date", "commit", "load_avg_1min_start", "result"} <= set(rec)
        assert (REPO / rec["script"]).exists() and isinstance(rec["result"], dict)
        dt.datetime.strptime(rec["date"], "%Y-%m-%dT%H:%M:%SZ")


def test_bench_record_keeps_json_lines_only():
    out = 'shard_of: 10 ids\n{"patients": 5, "seconds": 1.5}\nnot json {\n{"seed": 1, "seconds": 2}\n'
    recs = bench_record.records("bench/bench_x.py", ["--patients", "5"], out, dt.datetime(2026, 1, 2, 3, 4, 5), 1.25)
    assert [r["result"] for r in recs] == [{"patients": 5, "seconds": 1.5}, {"seed": 1, "seconds": 2}]
    assert recs[0]["bench"] == "x" and recs[0]["date"] == "2026-01-02T03:04:05Z"
    assert recs[0]["load_avg_1min_start"] == 1.25 and recs[0]["args"] == ["--patients", "5"]
    page = make_docs.benchmarks_page(recs)
    assert "## x" in page and "| 2026-01-02 |" in page and json.dumps(recs[0]["result"]) not in page
