"""The `identify:` block of the config (defaults and meaning of every key: docs/config.md#identify)."""

from __future__ import annotations

from dataclasses import dataclass

from lotluca.config import Settings


@dataclass(frozen=True)
class IdentifySettings(Settings):
    """The `identify:` block (docs/identify.md)."""

    c34_prefix: str
    c34_positions: tuple[str, ...]
    min_c34_stays: int
    use_ald: bool
    min_c34_share: float
    cancer_prefix: str
    metastasis_prefixes: tuple[str, ...]
    advanced_drugs: tuple[str, ...]
    exclude_prevalent: bool
    small_cell_io: tuple[str, ...]
    small_cell_session_days: int
    nsclc_only_drugs: tuple[str, ...]
    radiotherapy_ghm_prefixes: tuple[str, ...]
    consolidation_drugs: tuple[str, ...]
    consolidation_days: int
    surgery_ghm_prefixes: tuple[str, ...]
    adjuvant_drugs: tuple[str, ...]
    adjuvant_days: int
    date_window_days: int
    min_chemo_sessions: int
    curative_chemo_days: int
    non_squamous_drugs: tuple[str, ...]
    egfr_drugs: tuple[str, ...]
    alk_drugs: tuple[str, ...]
