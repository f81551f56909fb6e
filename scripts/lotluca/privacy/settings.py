"""The `privacy` config block as a frozen settings dataclass (disclosure control of the export tables)."""

from __future__ import annotations

from dataclasses import dataclass

from lotluca.config import Settings


@dataclass(frozen=True)
class PrivacySettings(Settings):
    """Config block `privacy` (defaults and descriptions in the config schema; see docs/privacy.md)."""

    min_cell: int  # no exported count between 1 and min_cell - 1
    method: str  # suppress | coarsen
    pseudonym_key_env: str  # environment variable holding the pseudonymisation key
    private_report: bool  # the Snakemake report embeds patient-level items (never exported)
