"""Static checks of the workflow: lint, formatting, dry-run, and every step's imports declared in its conda env."""

from __future__ import annotations

import ast
import inspect
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from conftest import REPO, run_snakemake

# import name -> conda package name, where they differ
IMPORT_TO_CONDA = {"sklearn": "scikit-learn", "yaml": "pyyaml", "snakemake": "snakemake-minimal"}
STDLIB = set(sys.stdlib_module_names)


def _rules_with_env():
    """(rule file, rule name, env file, script file) of every rule."""
    out = []
    for smk in sorted((REPO / "workflow" / "rules").glob("*.smk")):
        for block in re.split(r"\n(?=rule |checkpoint )", smk.read_text()):
            m = re.match(r"(?:rule|checkpoint) (\w+):", block.strip())
            env = re.search(r'conda:\s*\n\s*"([^"]+)"', block)
            script = re.search(r"script:\s*\n\s*(\S+)", block)
            if m:
                out.append(
                    (smk.name, m.group(1), env and (smk.parent / env.group(1)).resolve(), script and script.group(1))
                )
    return out


def _module_file(module: str) -> Path | None:
    base = REPO / "scripts" / Path(*module.split("."))
    for cand in (base.with_suffix(".py"), base / "__init__.py"):
        if cand.exists():
            return cand
    return None


def _third_party_imports(path: Path, seen: set[Path]) -> set[str]:
    """Top-level third-party modules imported by `path`, following lotluca imports transitively."""
    if path in seen:
        return set()
    seen.add(path)
    found: set[str] = set()
    tree = ast.parse(path.read_text(), filename=str(path))
    pkg = ".".join(path.relative_to(REPO / "scripts").with_suffix("").parts)
    if path.name == "__init__.py":
        pkg = pkg.rsplit(".", 1)[0] if pkg.endswith("__init__") else pkg
    for node in ast.walk(tree):
        names = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parent = (
                    pkg.split(".")[: -node.level]
                    if path.name != "__init__.py"
                    else pkg.split(".")[: len(pkg.split(".")) - node.level + 1]
                )
                base = ".".join(parent + ([node.module] if node.module else []))
                names = [base] + [f"{base}.{a.name}" for a in node.names]
            else:
                names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        for name in names:
            top = name.split(".")[0]
            if top == "lotluca":
                parts = name.split(".")
                for k in range(len(parts), 0, -1):
                    f = _module_file(".".join(parts[:k]))
                    if f:
                        found |= _third_party_imports(f, seen)
                        break
                # parent packages' __init__ run on import too
                for k in range(1, len(parts)):
                    f = _module_file(".".join(parts[:k]))
                    if f:
                        found |= _third_party_imports(f, seen)
            elif top and top not in STDLIB and top != "__future__":
                found.add(top)
    return found


RULES = _rules_with_env()


def test_every_rule_has_log_and_conda():
    assert len(RULES) >= 20
    for smk in sorted((REPO / "workflow" / "rules").glob("*.smk")):
        for block in re.split(r"\n(?=rule )", smk.read_text()):
            m = re.match(r"rule (\w+):", block.strip())
            if not m:
                continue
            assert "log:" in block, f"{smk.name}: rule {m.group(1)} has no log:"
            assert "conda:" in block, f"{smk.name}: rule {m.group(1)} has no conda:"


def _steps_file(rule: str) -> Path:
    from lotluca.steps import stage_of

    return REPO / "scripts" / "lotluca" / stage_of(rule) / "steps.py"


@pytest.mark.parametrize(("smk", "rule", "env", "script"), RULES, ids=[r[1] for r in RULES])
def test_rule_runs_the_step_function_named_after_it(smk, rule, env, script):
    """Every rule runs the one dispatcher script, which calls lotluca.<stage>.steps.<rule>: the stage is a
    prefix of the rule name and its steps module defines a function named exactly after the rule."""
    from lotluca.steps import step_function

    assert script == "STEP", f"{smk}: rule {rule} runs {script}, not the step dispatcher"
    assert smk.removesuffix(".smk") in rule, f"rule {rule} is not in the file of its stage ({smk})"
    func = step_function(rule)
    assert func.__name__ == rule and func.__module__.endswith(".steps")
    params = list(inspect.signature(func).parameters)
    assert params[:2] == ["inputs", "outputs"], f"{rule}: {params}"


def test_a_misnamed_rule_is_caught():
    from lotluca.steps import stage_of, step_function

    with pytest.raises(LookupError):
        stage_of("gather_lines")
    with pytest.raises(AttributeError):
        step_function("lines_predict")


@pytest.mark.parametrize(("smk", "rule", "env", "script"), RULES, ids=[r[1] for r in RULES])
def test_step_imports_declared_in_env(smk, rule, env, script):
    spec = yaml.safe_load(env.read_text())
    declared = set()
    for dep in spec["dependencies"]:
        if isinstance(dep, str):
            declared.add(re.split(r"[=<> ]", dep)[0])
        elif isinstance(dep, dict):
            declared |= {re.split(r"[=<> ]", p)[0] for p in dep.get("pip", [])}
        name = dep if isinstance(dep, str) else ""
        assert not name or "=" in name, f"{env.name}: {name!r} is not pinned"
    seen: set[Path] = set()
    found = _third_party_imports(REPO / "scripts" / "step.py", seen) | _third_party_imports(_steps_file(rule), seen)
    needed = {IMPORT_TO_CONDA.get(m, m) for m in found}
    needed.discard("snakemake-minimal")  # provided by the Snakemake running the rule
    missing = needed - declared
    assert not missing, f"rule {rule} ({smk}): {env.name} lacks {sorted(missing)}"


def test_snakemake_lint_clean():
    res = run_snakemake(["--lint"], timeout=120)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "lints for" not in (res.stdout + res.stderr).lower() or "no lints" in (res.stdout + res.stderr).lower(), (
        res.stdout + res.stderr
    )


def test_snakefmt_clean():
    exe = shutil.which("snakefmt") or str(Path(sys.executable).parent / "snakefmt")
    res = subprocess.run([exe, "--check", "Snakefile", "workflow/rules"], cwd=REPO, capture_output=True, text=True)
    assert res.returncode == 0, res.stdout + res.stderr


def test_dry_run_lists_the_dag():
    res = run_snakemake(["--cores", "2", "-n", "--forceall"], timeout=120)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "simulate" in res.stdout


@pytest.mark.parametrize("args", [["check"], ["format", "--check"]], ids=["ruff-check", "ruff-format"])
def test_python_code_is_ruff_clean(args):
    exe = shutil.which("ruff") or str(Path(sys.executable).parent / "ruff")
    res = subprocess.run([exe, *args, "scripts", "tests", "bench", "tools"], cwd=REPO, capture_output=True, text=True)
    assert res.returncode == 0, res.stdout[-4000:] + res.stderr[-2000:]


KERNEL = ("scripts/lotluca/lines/engine.py", "_kernel")  # the compiled state machine: one function by nature


def test_no_library_function_over_120_lines():
    long = []
    for path in sorted((REPO / "scripts").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                where = (str(path.relative_to(REPO)), node.name)
                if node.end_lineno - node.lineno + 1 > 120 and where != KERNEL:
                    long.append(f"{where[0]}:{node.lineno} {node.name} ({node.end_lineno - node.lineno + 1} lines)")
    assert not long, "functions over 120 lines: " + "; ".join(long)


LAYOUT_FILE = REPO / "scripts" / "lotluca" / "data" / "layout.yaml"
RESULTS_LITERAL = re.compile(r"""["'`(\s]results/""")


def _results_literals(paths) -> list[str]:
    hits = []
    for path in paths:
        for k, line in enumerate(path.read_text().splitlines(), 1):
            if RESULTS_LITERAL.search(line):
                hits.append(f"{path.relative_to(REPO)}:{k}: {line.strip()}")
    return hits


def test_results_paths_only_in_the_layout_file():
    files = [REPO / "Snakefile", *(REPO / "workflow").rglob("*.smk"), *(REPO / "scripts").rglob("*.py")]
    assert not _results_literals(files)
    assert "results/" in LAYOUT_FILE.read_text()


def test_results_literal_check_can_fail(tmp_path):
    bad = REPO / "scripts" / "lotluca" / "_results_literal_probe.py"
    try:
        bad.write_text('OUT = "results/lines/x.parquet"\n')
        assert _results_literals([bad])
    finally:
        bad.unlink()
