"""The step functions of the merge stage: `merge` and `merge_split` (docs/merge.md; the calling
convention: docs/architecture.md)."""

from __future__ import annotations

from collections.abc import Mapping

from lotluca.merge.scenarios import MergeSettings, run_merge
from lotluca.sharding import split_files

INPUTS = ("odh_persons", "odh_exposures", "snds_persons", "snds_exposures", "snds_chemo_sessions", "links")
TABLES = ("persons", "exposures", "chemo_sessions")


def merge(inputs: Mapping, outputs: Mapping, *, merge: Mapping, scenario: str) -> None:
    """The merged history of `scenario` (inputs: the extracted tables of both sources and the links; for
    snds_only also `identified` and `scoring_links`) into outputs `persons`, `exposures`, `chemo_sessions`
    and `report` (JSON)."""
    files = {name: inputs[name] for name in INPUTS}
    for name in ("identified", "scoring_links"):  # snds_only: the SNDS-only cohort (lotluca.identify)
        value = inputs.get(name)  # a file, a one-file list, or empty (other scenarios, no linkage truth)
        files[name] = None if not value else str(value) if isinstance(value, str) else str(list(value)[0])
    run_merge(
        scenario=scenario,
        files=files,
        out={name: outputs[name] for name in TABLES},
        report_path=outputs["report"],
        settings=MergeSettings.from_config(merge),
    )


def merge_split(inputs: Mapping, outputs: Mapping) -> None:
    """Split the merged tables of a scenario (inputs `persons`, `exposures`, `chemo_sessions`) into patient
    shards: outputs of the same names, each a list of files in shard order (lotluca.sharding)."""
    split_files(inputs={name: inputs[name] for name in TABLES}, outputs={name: list(outputs[name]) for name in TABLES})
