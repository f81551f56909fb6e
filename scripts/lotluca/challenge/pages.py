"""The Markdown pages of the competition bundle and the starting kit's guide (lotluca.challenge.bundle)."""

from __future__ import annotations

from lotluca.challenge.scoring import COLUMNS
from lotluca.challenge.settings import ChallengeSettings

OVERVIEW = """# {title}

Teams build line-of-therapy algorithms for advanced non-small-cell lung cancer from linked French real-world
data: the national claims (SNDS) and the cancer centre's warehouse (ODH), annotated with chart-abstracted
(ESME-like) lines. The best algorithms are published as open source and reused by researchers in their own
studies, through the lotluca plug-in interface.

You receive the de-identified tables of the challenge persons and the lines of the train persons; you submit
the lines of the test persons. The public leaderboard scores the public test persons during the challenge;
the final ranking scores the private test persons with your last submission.
"""
DATA = """# Data

The participant data (distributed under the data access agreement, not through this platform): the SNDS and
ODH tables of {n_persons} challenge persons as canonical tables (persons, exposures, chemo_sessions, stays of
each source), the linkage between the two sources, the train labels (gold lines of {n_train} train persons) and
the list of the {n_test} test persons. Every date of a person is shifted by one random number of days (the
same in every table of that person: intervals are exact, calendar dates are not); identifiers are pseudonyms;
rare values are coarsened. The data dictionary (dictionary.md) lists every column.
"""
EVALUATION = """# Evaluation

A predicted line matches a gold line of the same person starting within +/- {tolerance} days (optimal
one-to-one matching). The ranking score is the line F1 on the persons with several lines or a maintenance
phase (stratum several_or_maintenance), the hard cases; the other columns are secondary:

{columns}

Definitions: docs/evaluate.md of the lotluca repository. `lotluca evaluate` computes the same numbers on your
own split of the train persons.
"""
TERMS = """# Terms

The participant data are pseudonymised health data: use them only for this challenge, inside the environment
named in your data access agreement; never try to re-identify a person; delete them at the end of the
challenge. Winning teams publish their algorithm as open source (a lotluca plug-in).
"""
STARTING_KIT = """# Starting kit

1. Read the data: `participant/linked/` holds the linked scenario (ODH and SNDS merged per person:
   `persons`, `exposures`, `chemo_sessions`, the lotluca contracts); `participant/odh/`, `participant/snds/`
   and `participant/linkage.parquet` the two sources apart; `participant/dictionary.md` every column.
2. Build lines: write a function `build_lines(exposures, chemo_sessions, persons)` returning the lines table
   (columns person_id, line_number, start_date, end_date, regimen, is_maintenance; optional regimen_class,
   end_reason). `baseline.py` does it with the lotluca rule preset `{baseline}` (`pip install lotluca`).
   Train and check on `participant/train_labels.parquet` with `lotluca evaluate`.
3. Submit: `python baseline.py participant out` writes `out/lines.csv` (the test persons only) and
   `out/submission.zip` with lines.csv at its root: upload that zip. Dates are ISO (YYYY-MM-DD), in the
   shifted calendar of the participant data.

The baseline submission (`baseline_submission/lines.csv`) scores as shown on the leaderboard's first row.
"""


def pages(settings: ChallengeSettings, n: dict, tolerance: int) -> dict[str, str]:
    """file name (relative to the bundle) -> Markdown."""
    columns = "\n".join(f"- `{key}`: {metric} on stratum {stratum}" for key, (stratum, metric) in COLUMNS.items())
    return {
        "pages/overview.md": OVERVIEW.format(title=settings.title),
        "pages/data.md": DATA.format(n_persons=n["persons"], n_train=n["train"], n_test=n["test"]),
        "pages/evaluation.md": EVALUATION.format(tolerance=tolerance, columns=columns),
        "pages/terms.md": TERMS,
        "pages/starting_kit.md": STARTING_KIT.format(baseline=settings.baseline),
        "starting_kit/README.md": STARTING_KIT.format(baseline=settings.baseline),
    }
