"""Settings of the synthetic cohort generator: frozen dataclasses of the `simulate` config block.

The fields are the keys of the block and its sub-blocks (`traps`, `noise`, `concomitant`, `situations`,
`outpatient`, `abstraction`, `confounding`, `centre_styles`); the defaults and the meaning of every knob
live in the config schema (see docs/simulate.md). Probabilities are per
unit named there (per person, per line, per cycle, per row). Build with
`SimSettings.from_config(config["simulate"], study=config["study"])`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from lotluca.config import Settings
from lotluca.errors import ConfigError
from lotluca.simulate.abstraction import Abstraction
from lotluca.simulate.centre_styles import CentreStyleSettings
from lotluca.simulate.concomitant import ConcomitantSettings
from lotluca.simulate.confounding import ConfoundingSettings
from lotluca.simulate.outpatient import OutpatientSettings
from lotluca.simulate.situations import SituationSettings


@dataclass(frozen=True)
class Traps(Settings):
    """Clinical-pattern traps (`simulate.traps`): what makes a same line look like a new one and back."""

    dose_delay: float
    skipped_cycle: float
    early_death: float
    toxicity_drop: float
    toxicity_stop: float
    platinum_swap: float
    taxane_swap: float
    bevacizumab_cycle2: float
    continuation_maintenance: float
    induction_cycles_6: float
    treatment_holiday: float
    rechallenge: float
    io_max_cycles: int
    t790m: float
    tki_gap: float
    two_boxes: float
    clinical_trial: float
    line_elsewhere: float
    cycle_elsewhere: float
    private_clinic_share: float
    protocol_label: float
    cycle_label: float
    nivolumab_q4w: float
    holiday_scale: float
    delay_scale: float


@dataclass(frozen=True)
class Noise(Settings):
    """Data-noise knobs (`simulate.noise`; rendering only: the clinical truth is unchanged)."""

    odh_missing: float
    odh_duplicate: float
    snds_missing: float
    date_jitter: float
    second_nir: float
    reversal: float
    pmsi_return_error: float
    error_ghm: float
    dpn_qlf_71: float
    ete_ind_taa: float
    private_ucd_dcir: float
    other_care: float
    other_stays: float
    decoy_twin: float
    decoy_at_centre: float
    birth_month_error: float
    moved_department: float
    death_known_to_centre: float
    cepidc_missing: float


@dataclass(frozen=True)
class DecoySettings(Settings):
    """The `simulate.identification_decoys` block (lotluca.simulate.decoys; its knobs: docs/config.md#simulate)."""

    enabled: bool
    ratio: float
    small_cell: float
    stage3_chemoradiation: float
    early_adjuvant_chemo: float
    early_adjuvant_osimertinib: float
    other_cancer: float
    mesothelioma: float
    prevalent: float
    ald_registered: float
    ald_other: float
    secondary_code_stays: float
    node_code_stays: float
    prevalent_years: float


@dataclass(frozen=True)
class Study(Settings):
    """The `study` block as the generator reads it: the study period (the data end at end_date)."""

    start_date: date
    end_date: date

    def __post_init__(self):
        if self.end_date <= self.start_date:
            raise ConfigError(f"config: study.end_date {self.end_date} is not after study.start_date {self.start_date}")


@dataclass(frozen=True)
class SimSettings(Settings):
    """Everything the generator needs: the `simulate` block, and the study period (`study=`)."""

    enabled: bool
    patients: int
    block_size: int
    decoy_ratio: float
    centres: int
    gold_fraction: float
    test_fraction: float
    male_fraction: float
    age_mean: float
    age_sd: float
    nonsquamous_fraction: float
    squamous_fraction: float
    molecular_tested: float
    egfr: float
    alk: float
    ros1: float
    kras: float
    kras_g12c: float
    braf: float
    met: float
    pdl1_tested: float
    pdl1_high: float
    pdl1_low: float
    treated: float
    next_line: tuple[float, ...]
    max_lines: int
    traps: Traps
    noise: Noise
    concomitant: ConcomitantSettings
    confounding: ConfoundingSettings
    situations: SituationSettings
    outpatient: OutpatientSettings
    abstraction: Abstraction
    study: Study
    identification_decoys: DecoySettings
    centre_styles: CentreStyleSettings

    @property
    def start_date(self) -> date:
        return self.study.start_date

    @property
    def end_date(self) -> date:
        """End of the data (study.end_date)."""
        return self.study.end_date
