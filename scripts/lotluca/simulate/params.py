"""Settings of the synthetic cohort generator: one frozen dataclass built from the `simulate:` block of config.yaml.

The defaults here are the documented defaults of config.yaml and of the JSON schema (a test checks
that the three agree). Every trap of BRIEF section 5 has a frequency knob in `Traps`, every data-noise
feature a knob in `Noise`. Probabilities are per unit named in the comment (per person, per line, per
cycle, per row).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import date

from lotluca.errors import LotlucaError
from lotluca.simulate.concomitant import ConcomitantSettings, settings_from_config


@dataclass(frozen=True)
class Traps:
    """Clinical-pattern traps of the realism checklist (clinical truth, same-line vs new-line)."""

    dose_delay: float = 0.18  # per cycle: the cycle is given 1-3 weeks late (same line)
    skipped_cycle: float = 0.02  # per cycle: one cycle not given, the next one on schedule (same line)
    early_death: float = 0.04  # per first line: death within 10-45 days, after one cycle
    toxicity_drop: float = 0.10  # per combination line: one non-backbone drug dropped from cycle 2-4 (same line)
    toxicity_stop: float = 0.08  # per line: whole treatment stopped for toxicity before progression
    platinum_swap: float = 0.08  # per cisplatin line: cisplatin -> carboplatin from cycle 2-4 (same line)
    taxane_swap: float = 0.05  # per paclitaxel line: paclitaxel -> nab-paclitaxel from cycle 2-4 (same line)
    bevacizumab_cycle2: float = 0.35  # per bevacizumab line: bevacizumab starts at cycle 2 (same line)
    continuation_maintenance: float = 0.55  # per platinum-pemetrexed line without IO: pemetrexed maintenance
    induction_cycles_6: float = 0.15  # per platinum line: 6 induction cycles instead of 4
    treatment_holiday: float = 0.06  # per maintenance / IO / TKI line: a 2-4 month pause, then the same drugs
    rechallenge: float = 0.05  # per progression after a planned stop: the same regimen again (a new line)
    io_max_cycles: int = 35  # pembrolizumab / atezolizumab cycles before the planned 2-year stop
    t790m: float = 0.5  # per EGFR patient progressing on a 1st/2nd-generation TKI: osimertinib next (new line)
    tki_gap: float = 0.06  # per dispensation: a 2-6 week gap before the next box (stock, non-adherence; same line)
    two_boxes: float = 0.08  # per dispensation: two boxes at once (a two-month supply; same line)
    clinical_trial: float = 0.04  # per line at the centre: an unnamed trial drug ("ESSAI CLINIQUE")
    line_elsewhere: float = 0.12  # per line of an ODH patient: given at another hospital (SNDS only)
    cycle_elsewhere: float = 0.03  # per IV cycle at the centre: this cycle given at another hospital
    private_clinic_share: float = 0.35  # share of care outside the centre given in private clinics
    protocol_label: float = 0.55  # per line phase at the centre: ODH protocol label filled
    cycle_label: float = 0.5  # per line phase at the centre: ODH cycle numbers ("C3") filled
    nivolumab_q4w: float = 0.3  # per nivolumab line (2019+): every 28 days instead of 14


@dataclass(frozen=True)
class Noise:
    """Data-noise knobs (rendering only: the clinical truth is unchanged)."""

    odh_missing: float = 0.02  # per ODH administration/prescription: record missing
    odh_duplicate: float = 0.01  # per ODH administration: recorded twice
    snds_missing: float = 0.01  # per SNDS drug row (pharmacy, en-sus): missing
    date_jitter: float = 0.03  # per SNDS row: care date shifted by one day
    second_nir: float = 0.05  # per person: a second BEN_NIR_PSA (care split between the two)
    reversal: float = 0.02  # per pharmacy dispensation: an extra erroneous box billed then reversed (-1)
    pmsi_return_error: float = 0.01  # per PMSI stay: a non-zero return code in T_MCOaaC
    error_ghm: float = 0.005  # per PMSI stay: an extra error stay with GHM 90Z00Z
    dpn_qlf_71: float = 0.05  # per DCIR service: an extra information-only copy with DPN_QLF = 71
    ete_ind_taa: float = 0.5  # per public-hospital en-sus drug: an ACE copy in ER_PRS_F/ER_UCD_F with ETE_IND_TAA = 1
    private_ucd_dcir: float = 1.0  # per private-clinic en-sus drug: also billed in ER_UCD_F (UCD_TOP_UCD = 1)
    other_care: float = 0.4  # mean number per person-month of unrelated care rows (consultations, PPI, antibiotics)
    other_stays: float = 0.03  # per person-month: a non-chemotherapy hospital stay (complication, imaging)
    decoy_twin: float = 0.05  # per ODH patient: a decoy with identical sex, birth year/month and departement
    decoy_at_centre: float = 0.1  # per decoy line: given at a cancer centre's FINESS (not in ODH)
    birth_month_error: float = 0.02  # per ODH patient: SNDS birth month differs from ODH birth date
    moved_department: float = 0.04  # per ODH patient: SNDS residence departement differs from ODH postcode
    death_known_to_centre: float = 0.6  # per dead ODH patient: death date recorded in ODH
    cepidc_missing: float = 0.08  # per death: no KI_CCI_R row (CepiDc lag)


@dataclass(frozen=True)
class SimSettings:
    """Everything the generator needs; built with `from_config(config["simulate"], config["study"])`."""

    patients: int = 3000
    block_size: int = 1000  # ODH patients per simulation block (own random streams and id ranges; see blocks)
    decoy_ratio: float = 2.0  # SNDS-only lung-cancer beneficiaries per ODH patient
    centres: int = 3  # number of cancer centres (CLCC, 1-8) contributing ODH patients
    gold_fraction: float = 0.6  # share of ODH patients with chart-abstracted gold lines
    test_fraction: float = 0.3  # share of gold patients in the test split
    start_date: date = date(2012, 1, 1)  # from study.start_date
    end_date: date = date(2025, 12, 31)  # from study.end_date (end of data)
    male_fraction: float = 0.66  # share of men (advanced NSCLC: about 2/3)
    age_mean: float = 65.0  # mean age at advanced diagnosis (years; median ~64-66)
    age_sd: float = 9.5  # standard deviation of age at advanced diagnosis (years)
    nonsquamous_fraction: float = 0.70  # share of non-squamous histology
    squamous_fraction: float = 0.25  # share of squamous histology (the rest is NOS)
    molecular_tested: float = 0.9  # share of non-squamous patients with molecular testing (squamous: a third)
    egfr: float = 0.13  # EGFR mutation among tested non-squamous (drivers are mutually exclusive)
    alk: float = 0.04  # ALK rearrangement among tested non-squamous
    ros1: float = 0.015  # ROS1 rearrangement among tested non-squamous
    kras: float = 0.33  # KRAS mutation among tested non-squamous
    kras_g12c: float = 0.45  # share of KRAS mutations that are G12C
    braf: float = 0.03  # BRAF V600 mutation among tested non-squamous
    met: float = 0.035  # MET exon 14 skipping among tested non-squamous
    pdl1_tested: float = 0.85  # share of patients with a PD-L1 TPS result
    pdl1_high: float = 0.25  # TPS >= 50% among tested
    pdl1_low: float = 0.30  # TPS 1-49%
    treated: float = 0.92  # share of advanced patients receiving a first systemic line
    next_line: tuple = (0.66, 0.55, 0.45, 0.35)  # P(next line | progression while alive) after line 1, 2, 3, 4
    max_lines: int = 5  # maximum number of lines per person
    traps: Traps = field(default_factory=Traps)
    noise: Noise = field(default_factory=Noise)
    concomitant: ConcomitantSettings = field(default_factory=ConcomitantSettings)  # simulate.concomitant


def _coerce(cls, values: dict, where: str):
    names = {f.name: f for f in dataclasses.fields(cls)}
    unknown = set(values) - set(names)
    if unknown:
        raise LotlucaError(f"config.yaml: unknown key(s) in {where}: {sorted(unknown)}; known: {sorted(names)}")
    out = {}
    for k, v in values.items():
        default = getattr(cls(), k)
        if isinstance(default, bool):
            out[k] = bool(v)
        elif isinstance(default, int) and not isinstance(default, bool):
            out[k] = int(v)
        elif isinstance(default, float):
            out[k] = float(v)
        elif isinstance(default, tuple):
            out[k] = tuple(float(x) for x in v)
        elif isinstance(default, date):
            out[k] = v if isinstance(v, date) else date.fromisoformat(str(v))
        else:
            out[k] = v
        if (
            isinstance(out[k], float)
            and not isinstance(default, bool)
            and k not in ("age_mean", "age_sd", "decoy_ratio", "other_care")
        ):
            if not 0.0 <= out[k] <= 1.0:
                raise LotlucaError(f"config.yaml: {where}.{k} = {v} is a probability, expected 0..1")
    return out


def from_config(simulate: dict | None = None, study: dict | None = None) -> SimSettings:
    """Build settings from the `simulate:` and `study:` blocks (missing keys take the documented defaults)."""
    sim = dict(simulate or {})
    sim.pop("enabled", None)
    traps = Traps(**_coerce(Traps, dict(sim.pop("traps", None) or {}), "simulate.traps"))
    noise = Noise(**_coerce(Noise, dict(sim.pop("noise", None) or {}), "simulate.noise"))
    conc = settings_from_config(sim.pop("concomitant", None))
    top = _coerce(SimSettings, {k: v for k, v in sim.items()}, "simulate")
    st = dict(study or {})
    if "start_date" in st:
        top["start_date"] = date.fromisoformat(str(st["start_date"]))
    if "end_date" in st:
        top["end_date"] = date.fromisoformat(str(st["end_date"]))
    s = SimSettings(**top, traps=traps, noise=noise, concomitant=conc)
    if s.end_date <= s.start_date:
        raise LotlucaError(f"config.yaml: study.end_date {s.end_date} is not after study.start_date {s.start_date}")
    if not 1 <= s.centres <= 8:
        raise LotlucaError(
            f"config.yaml: simulate.centres = {s.centres}; the generator knows 8 illustrative centres (1-8)"
        )
    if s.patients < 1:
        raise LotlucaError("config.yaml: simulate.patients must be >= 1")
    if s.block_size < 1:
        raise LotlucaError("config.yaml: simulate.block_size must be >= 1")
    return s
