"""The Codabench competition bundle (docs/challenge.md "The bundle"), following Codabench's documented
structure (competition.yaml `version: 2`: title, image, terms, pages, phases -> tasks, tasks with
scoring_program and reference_data, solutions, leaderboards with columns keyed like scores.json).

Two phases: the public test during the challenge (task 0, reference data of the public test persons) and the
private test at the end (task 1, private test persons; `auto_migrate_to_this_phase` re-scores the last
submissions). The scoring program is score.py with a copy of the lotluca modules it imports
(SCORING_MODULES), so the platform needs Python >= 3.11 with numpy, pandas, pyarrow, numba and pyyaml only.
"""

from __future__ import annotations

import json
import shutil
import struct
import zipfile
import zlib
from importlib import resources
from pathlib import Path

import yaml

from lotluca.challenge.scoring import COLUMNS
from lotluca.challenge.settings import ChallengeSettings

# the lotluca files the scoring program needs (relative to the package), copied into scoring_program/lotluca/
SCORING_MODULES = (
    "__init__.py",
    "errors.py",
    "config.py",
    "io.py",
    "sharding.py",
    "layout.py",
    "drugs/__init__.py",
    "evaluate/__init__.py",
    "evaluate/bootstrap.py",
    "evaluate/matching.py",
    "evaluate/metrics.py",
    "evaluate/persons.py",
    "evaluate/readme.py",
    "evaluate/scoring.py",
    "evaluate/settings.py",
    "evaluate/submission.py",
    "challenge/scoring.py",
    "data/__init__.py",
    "data/drugs.csv",
    "data/drug_labels.csv",
    "data/layout.yaml",
    "data/config.schema.yaml",
)
REQUIREMENTS = ("numpy", "pandas", "pyarrow", "numba", "pyyaml")
SCORE_PY = '''"""LOT-LuCA scoring program: python score.py INPUT OUTPUT (INPUT holds ref/ and res/; writes OUTPUT/scores.json)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.modules.pop("lotluca", None)

from lotluca.challenge.scoring import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
'''
TITLES = {
    "line_f1_several_or_maintenance": "Line F1 (several lines or maintenance)",
    "line_f1": "Line F1 (all)",
    "line_f1_one_line": "Line F1 (one line)",
    "line_precision": "Line precision",
    "line_recall": "Line recall",
    "regimen_exact": "Regimen exact",
    "maintenance_f1": "Maintenance F1",
    "count_exact": "Line count exact",
    "count_kappa_weighted": "Line count kappa",
    "sequence_exact": "Sequence exact",
}


def pinned_requirements() -> list[str]:
    """REQUIREMENTS at the versions installed here (those of pyproject.toml)."""
    from importlib.metadata import version

    return [f"{name}=={version(name)}" for name in REQUIREMENTS]


def scoring_program(dest: Path) -> None:
    """score.py, metadata.yaml, requirements.txt and the lotluca modules it needs."""
    package = Path(resources.files("lotluca"))
    for rel in SCORING_MODULES:
        (dest / "lotluca" / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(package / rel, dest / "lotluca" / rel)
    (dest / "lotluca" / "challenge" / "__init__.py").write_text('"""Challenge scoring (copy)."""\n', encoding="utf-8")
    (dest / "score.py").write_text(SCORE_PY, encoding="utf-8")
    (dest / "metadata.yaml").write_text(
        "command: python3 /app/program/score.py /app/input /app/output\n", encoding="utf-8"
    )
    (dest / "requirements.txt").write_text("\n".join(pinned_requirements()) + "\n", encoding="utf-8")


def competition_yaml(settings: ChallengeSettings) -> dict:
    """The competition.yaml document (Codabench v2)."""
    columns = [
        {"title": TITLES[key], "key": key, "index": i, "sorting": "desc", "precision": 3}
        for i, key in enumerate(COLUMNS)
    ]
    doc = {
        "version": 2,
        "title": settings.title,
        "description": "Reconstruct lines of therapy of advanced lung cancer from linked claims (SNDS) and "
        "cancer-centre (ODH) data, scored against chart-abstracted lines.",
        "image": "logo.png",
        "terms": "pages/terms.md",
        "registration_auto_approve": False,
        "make_programs_available": True,
        "make_input_data_available": False,
        "pages": [
            {"title": "Overview", "file": "pages/overview.md"},
            {"title": "Data", "file": "pages/data.md"},
            {"title": "Evaluation", "file": "pages/evaluation.md"},
            {"title": "Starting kit", "file": "pages/starting_kit.md"},
        ],
        "phases": [
            _phase(
                0,
                "Public test",
                "Scored on the public test persons (public leaderboard).",
                settings.public_start,
                settings.private_start,
                settings,
            ),
            _phase(
                1,
                "Private test",
                "Final: the last submission of the public phase re-scored on the private test persons.",
                settings.private_start,
                settings.private_end,
                settings,
            )
            | {"auto_migrate_to_this_phase": True},
        ],
        "tasks": [
            _task(0, "Public test", "reference_data_public.zip"),
            _task(1, "Private test", "reference_data_private.zip"),
        ],
        "solutions": [{"index": 0, "path": "baseline_submission.zip", "tasks": [0, 1]}],
        "leaderboards": [{"title": "Results", "key": "main", "submission_rule": "Force_Last", "columns": columns}],
    }
    if settings.docker_image:
        doc["docker_image"] = settings.docker_image
    return doc


def _phase(index, name, description, start, end, settings) -> dict:
    return {
        "index": index,
        "name": name,
        "description": description,
        "start": start,
        "end": end,
        "max_submissions_per_day": settings.max_submissions_per_day,
        "starting_kit": "starting_kit",
        "accepts_only_result_submissions": True,
        "tasks": [index],
    }


def _task(index, name, reference) -> dict:
    return {
        "index": index,
        "name": name,
        "description": f"{name} persons",
        "scoring_program": "scoring_program.zip",
        "reference_data": reference,
    }


def zip_dir(folder: Path, archive: Path) -> None:
    """A zip of the content of `folder` (not the folder itself), entries sorted, fixed timestamps."""
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        for f in sorted(p for p in folder.rglob("*") if p.is_file()):
            info = zipfile.ZipInfo(f.relative_to(folder).as_posix(), date_time=(2026, 1, 1, 0, 0, 0))
            info.external_attr = 0o644 << 16
            zf.writestr(info, f.read_bytes(), zipfile.ZIP_DEFLATED)


def logo_png(path: Path, size: int = 64) -> None:
    """A plain logo (Codabench requires an image): a two-colour square, PNG written with zlib."""
    rows = b"".join(
        b"\x00" + b"".join(bytes((30, 90, 160) if (x // 8 + y // 8) % 2 else (230, 240, 250)) for x in range(size))
        for y in range(size)
    )
    chunk = lambda kind, data: struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))  # noqa: E731
    header = struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")
    )


def write_json(path: Path, doc) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")


def write_yaml(path: Path, doc) -> None:
    path.write_text(yaml.safe_dump(doc, sort_keys=False, allow_unicode=True), encoding="utf-8")
