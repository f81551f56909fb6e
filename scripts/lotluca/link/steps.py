"""The step function of the link stage: `link` (docs/link.md; the calling convention: docs/architecture.md)."""

from __future__ import annotations

from collections.abc import Mapping

from lotluca.link.pipeline import LinkSettings, run_linkage

TABLES = ("odh_persons", "odh_stays", "snds_persons", "snds_stays")


def link(inputs: Mapping, outputs: Mapping, *, link: Mapping, seed: int, threads: int | None = None) -> None:
    """Link the ODH patients to the SNDS persons (inputs: the canonical persons and stays of both sources,
    `truth`: 0 or 1 linkage-truth file) into outputs `links`, `report` (JSON) and `quality` (CSV)."""
    truth = inputs.get("truth") or []
    truth = [truth] if isinstance(truth, str) else list(truth)
    run_linkage(
        files={name: inputs[name] for name in TABLES},
        truth_path=truth[0] if truth else None,
        params=LinkSettings.from_config(link, seed=int(seed)),
        links_out=outputs["links"],
        report_out=outputs["report"],
        quality_csv=outputs["quality"],
        threads=threads,
    )
