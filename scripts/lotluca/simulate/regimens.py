"""The regimen library of the generator: drugs, phases, cycle length, caps, ODH protocol labels, doses and
median time to progression of every advanced-NSCLC regimen the simulated clinicians choose from.

A regimen has up to four components (ingredient, route, phase, day offsets): phase "ind" (induction
only: the platinum, a taxane), "maint" (maintenance only) or "both" (given in induction and carried on
in maintenance). Oral components are dispensed continuously (monthly boxes) from the line start to the
treatment stop; IV components are given on cycle days. Medians of time to progression (months) follow
the pivotal trials / French RWE listed in docs/simulate.md.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Regimen:
    key: str
    drugs: tuple  # ((ingredient, route, phase, day_offsets), ...)
    cycle_days: int = 21
    induction: bool = False  # platinum induction of 4 (or 6) cycles
    maintenance: str = "none"  # none | optional | always: continuation maintenance after induction
    cap: int = 0  # maximum cycles (0: until progression); "io" regimens use traps.io_max_cycles
    io_cap: bool = False
    protocol: str = ""  # ODH protocol label of the (induction) phase
    maint_protocol: str = ""  # ODH protocol label of the maintenance phase
    ttp1: float = 5.0  # median months to progression in first line
    ttp2: float = 3.0  # median months to progression in later lines


def _d(ingredient, phase="both", route="iv", days=(0,)):
    return (ingredient, route, phase, days)


REGIMENS = [
    # --- platinum doublets (pre-IO era, contra-indication to IO, squamous) ---
    Regimen(
        "cis_pem",
        (_d("cisplatin", "ind"), _d("pemetrexed")),
        induction=True,
        maintenance="optional",
        protocol="CISPLATINE-PEMETREXED J1=J21",
        maint_protocol="PEMETREXED MAINTENANCE J1=J21",
        ttp1=4.8,
        ttp2=4.0,
    ),
    Regimen(
        "carbo_pem",
        (_d("carboplatin", "ind"), _d("pemetrexed")),
        induction=True,
        maintenance="optional",
        protocol="CARBOPLATINE-PEMETREXED J1=J21",
        maint_protocol="PEMETREXED MAINTENANCE J1=J21",
        ttp1=4.6,
        ttp2=4.0,
    ),
    Regimen(
        "carbo_pem_bev",
        (_d("carboplatin", "ind"), _d("pemetrexed"), _d("bevacizumab")),
        induction=True,
        maintenance="always",
        protocol="CARBOPLATINE-PEMETREXED-BEVACIZUMAB J1=J21",
        maint_protocol="PEMETREXED-BEVACIZUMAB J1=J21",
        ttp1=6.5,
        ttp2=5.0,
    ),
    Regimen(
        "carbo_pacli_bev",
        (_d("carboplatin", "ind"), _d("paclitaxel", "ind"), _d("bevacizumab")),
        induction=True,
        maintenance="always",
        protocol="CARBOPLATINE-PACLITAXEL-BEVACIZUMAB J1=J21",
        maint_protocol="BEVACIZUMAB MAINTENANCE J1=J21",
        ttp1=6.2,
        ttp2=5.0,
    ),
    Regimen(
        "carbo_pacli",
        (_d("carboplatin", "ind"), _d("paclitaxel", "ind")),
        induction=True,
        protocol="CARBOPLATINE-PACLITAXEL J1=J21",
        ttp1=4.4,
        ttp2=3.5,
    ),
    Regimen(
        "cis_gem",
        (_d("cisplatin", "ind"), _d("gemcitabine", "ind", days=(0, 7))),
        induction=True,
        protocol="CISPLATINE-GEMCITABINE J1J8=J21",
        ttp1=4.4,
        ttp2=3.5,
    ),
    Regimen(
        "carbo_gem",
        (_d("carboplatin", "ind"), _d("gemcitabine", "ind", days=(0, 7))),
        induction=True,
        protocol="CARBOPLATINE-GEMCITABINE J1J8=J21",
        ttp1=4.2,
        ttp2=3.5,
    ),
    Regimen(
        "cis_vino",
        (_d("cisplatin", "ind"), _d("vinorelbine", "ind", days=(0, 7))),
        induction=True,
        protocol="CISPLATINE-NAVELBINE J1J8=J21",
        ttp1=4.2,
        ttp2=3.5,
    ),
    # --- chemo-immunotherapy (2019+) ---
    Regimen(
        "carbo_pem_pembro",
        (_d("carboplatin", "ind"), _d("pemetrexed"), _d("pembrolizumab")),
        induction=True,
        maintenance="always",
        io_cap=True,
        protocol="CARBOPLATINE-PEMETREXED-PEMBROLIZUMAB J1=J21",
        maint_protocol="PEMETREXED-PEMBROLIZUMAB J1=J21",
        ttp1=8.8,
        ttp2=5.5,
    ),
    Regimen(
        "cis_pem_pembro",
        (_d("cisplatin", "ind"), _d("pemetrexed"), _d("pembrolizumab")),
        induction=True,
        maintenance="always",
        io_cap=True,
        protocol="CISPLATINE-PEMETREXED-PEMBROLIZUMAB J1=J21",
        maint_protocol="PEMETREXED-PEMBROLIZUMAB J1=J21",
        ttp1=9.0,
        ttp2=5.5,
    ),
    Regimen(
        "carbo_pacli_pembro",
        (_d("carboplatin", "ind"), _d("paclitaxel", "ind"), _d("pembrolizumab")),
        induction=True,
        maintenance="always",
        io_cap=True,
        protocol="CARBOPLATINE-PACLITAXEL-PEMBROLIZUMAB J1=J21",
        maint_protocol="PEMBROLIZUMAB J1=J21",
        ttp1=8.0,
        ttp2=5.0,
    ),
    # --- immunotherapy alone ---
    Regimen("pembro", (_d("pembrolizumab"),), io_cap=True, protocol="PEMBROLIZUMAB J1=J21", ttp1=7.7, ttp2=4.0),
    Regimen("atezo", (_d("atezolizumab"),), io_cap=True, protocol="ATEZOLIZUMAB J1=J21", ttp1=7.0, ttp2=2.8),
    Regimen("nivo", (_d("nivolumab"),), cycle_days=14, protocol="NIVOLUMAB J1=J15", ttp1=4.2, ttp2=2.6),
    # --- later-line chemotherapy ---
    Regimen("doce", (_d("docetaxel"),), cap=8, protocol="DOCETAXEL J1=J21", ttp1=3.0, ttp2=2.9),
    Regimen(
        "doce_ninte",
        (_d("docetaxel"), _d("nintedanib", route="oral")),
        cap=8,
        protocol="DOCETAXEL-NINTEDANIB J1=J21",
        ttp1=4.0,
        ttp2=3.6,
    ),
    Regimen(
        "doce_ramu",
        (_d("docetaxel"), _d("ramucirumab")),
        cap=8,
        protocol="DOCETAXEL-RAMUCIRUMAB J1=J21",
        ttp1=4.5,
        ttp2=3.9,
    ),
    Regimen("pem", (_d("pemetrexed"),), protocol="PEMETREXED J1=J21", ttp1=4.0, ttp2=3.0),
    Regimen("gem", (_d("gemcitabine", days=(0, 7)),), cap=6, protocol="GEMCITABINE J1J8=J21", ttp1=3.5, ttp2=2.8),
    Regimen("vino_oral", (_d("vinorelbine", route="oral"),), protocol="NAVELBINE ORALE", ttp1=3.0, ttp2=2.5),
    # --- targeted therapies (oral, continuous) ---
    Regimen("gefitinib", (_d("gefitinib", route="oral"),), protocol="GEFITINIB", ttp1=10.4, ttp2=6.0),
    Regimen("erlotinib", (_d("erlotinib", route="oral"),), protocol="ERLOTINIB", ttp1=10.4, ttp2=5.0),
    Regimen("afatinib", (_d("afatinib", route="oral"),), protocol="AFATINIB", ttp1=11.0, ttp2=5.0),
    Regimen("osimertinib", (_d("osimertinib", route="oral"),), protocol="OSIMERTINIB", ttp1=18.9, ttp2=10.1),
    Regimen("crizotinib", (_d("crizotinib", route="oral"),), protocol="CRIZOTINIB", ttp1=10.9, ttp2=7.0),
    Regimen("alectinib", (_d("alectinib", route="oral"),), protocol="ALECTINIB", ttp1=34.8, ttp2=8.9),
    Regimen("brigatinib", (_d("brigatinib", route="oral"),), protocol="BRIGATINIB", ttp1=24.0, ttp2=12.0),
    Regimen("lorlatinib", (_d("lorlatinib", route="oral"),), protocol="LORLATINIB", ttp1=40.0, ttp2=7.3),
    Regimen("entrectinib", (_d("entrectinib", route="oral"),), protocol="ENTRECTINIB", ttp1=15.7, ttp2=9.0),
    Regimen(
        "dabra_trame",
        (_d("dabrafenib", route="oral"), _d("trametinib", route="oral")),
        protocol="DABRAFENIB-TRAMETINIB",
        ttp1=10.9,
        ttp2=9.7,
    ),
    Regimen("tepotinib", (_d("tepotinib", route="oral"),), protocol="TEPOTINIB", ttp1=8.5, ttp2=8.0),
    Regimen("capmatinib", (_d("capmatinib", route="oral"),), protocol="CAPMATINIB", ttp1=9.1, ttp2=5.5),
    Regimen("sotorasib", (_d("sotorasib", route="oral"),), protocol="SOTORASIB", ttp1=6.8, ttp2=5.6),
    Regimen(
        "ami_carbo_pem",
        (_d("carboplatin", "ind"), _d("pemetrexed"), _d("amivantamab")),
        induction=True,
        maintenance="always",
        protocol="AMIVANTAMAB-CARBOPLATINE-PEMETREXED J1=J21",
        maint_protocol="AMIVANTAMAB-PEMETREXED J1=J21",
        ttp1=6.3,
        ttp2=6.3,
    ),
    # --- clinical trial (unnamed in ODH, absent from SNDS) ---
    Regimen("trial", (_d("trial_drug"),), protocol="ESSAI CLINIQUE", ttp1=5.0, ttp2=3.5),
    # --- the situations of simulate.situations (drawn by lotluca.simulate.situations; appended last so the
    # draws of the regimens above do not move when their weights are zero) ---
    Regimen(
        "nivo_ipi",  # CheckMate 227: nivolumab every 2 weeks, ipilimumab every 6 weeks (every 3rd cycle)
        (_d("nivolumab"), _d("ipilimumab")),
        cycle_days=14,
        cap=52,  # two years
        protocol="NIVOLUMAB-IPILIMUMAB J1=J15",
        ttp1=5.1,
        ttp2=3.0,
    ),
    Regimen(
        "nivo_ipi_chemo",  # CheckMate 9LA: 2 cycles of platinum-pemetrexed, nivolumab q3w, ipilimumab q6w
        (_d("carboplatin", "ind"), _d("pemetrexed", "ind"), _d("nivolumab"), _d("ipilimumab")),
        induction=True,
        maintenance="always",
        io_cap=True,
        protocol="NIVOLUMAB-IPILIMUMAB-CARBOPLATINE-PEMETREXED J1=J21",
        maint_protocol="NIVOLUMAB-IPILIMUMAB J1=J21",
        ttp1=6.7,
        ttp2=4.0,
    ),
    Regimen(
        "osi_carbo_pem",  # FLAURA2: osimertinib with 4 cycles of platinum-pemetrexed, then osimertinib-pemetrexed
        (_d("osimertinib", route="oral"), _d("carboplatin", "ind"), _d("pemetrexed")),
        induction=True,
        maintenance="always",
        protocol="OSIMERTINIB-CARBOPLATINE-PEMETREXED J1=J21",
        maint_protocol="OSIMERTINIB-PEMETREXED J1=J21",
        ttp1=25.5,
        ttp2=12.0,
    ),
    Regimen(
        "carbo_nabpacli_pembro",  # KEYNOTE-407 with nab-paclitaxel (days 1, 8, 15)
        (_d("carboplatin", "ind"), _d("nab-paclitaxel", "ind", days=(0, 7)), _d("pembrolizumab")),
        induction=True,
        maintenance="always",
        io_cap=True,
        protocol="CARBOPLATINE-NAB-PACLITAXEL-PEMBROLIZUMAB J1=J21",
        maint_protocol="PEMBROLIZUMAB J1=J21",
        ttp1=8.0,
        ttp2=5.0,
    ),
    Regimen(
        "abcp",  # IMpower150: atezolizumab-bevacizumab-carboplatin-paclitaxel, then atezolizumab-bevacizumab
        (_d("carboplatin", "ind"), _d("paclitaxel", "ind"), _d("bevacizumab"), _d("atezolizumab")),
        induction=True,
        maintenance="always",
        io_cap=True,
        protocol="ATEZOLIZUMAB-BEVACIZUMAB-CARBOPLATINE-PACLITAXEL J1=J21",
        maint_protocol="ATEZOLIZUMAB-BEVACIZUMAB J1=J21",
        ttp1=8.3,
        ttp2=6.0,
    ),
    Regimen(
        "durva_consolidation",  # PACIFIC: stage III, after chemoradiation, before any advanced disease
        (_d("durvalumab"),),
        cycle_days=14,
        cap=26,  # 12 months
        protocol="DURVALUMAB J1=J15",
        ttp1=16.9,
        ttp2=16.9,
    ),
]

INDEX = {r.key: i for i, r in enumerate(REGIMENS)}
N_REGIMENS = len(REGIMENS)
MAX_SLOTS = 4

# typical dose (mg) and relative spread of each IV ingredient for ODH free-text labels
DOSE_MG = {
    "cisplatin": (135, 0.15), "carboplatin": (500, 0.2), "pemetrexed": (900, 0.12), "gemcitabine": (2000, 0.15),
    "paclitaxel": (350, 0.12), "nab-paclitaxel": (180, 0.12), "docetaxel": (135, 0.12), "vinorelbine": (50, 0.15),
    "etoposide": (180, 0.15), "bevacizumab": (1000, 0.2), "ramucirumab": (700, 0.15), "nivolumab": (240, 0.0),
    "pembrolizumab": (200, 0.0), "atezolizumab": (1200, 0.0), "durvalumab": (1500, 0.0), "ipilimumab": (70, 0.2),
    "amivantamab": (1400, 0.1), "trastuzumab deruxtecan": (380, 0.15),
}  # fmt: skip


def slot_arrays(ingredient_code: dict):
    """Dense per-regimen component arrays (n_regimens x MAX_SLOTS): ingredient code (-1 empty), oral flag,
    phase (0 ind, 1 maint, 2 both), has a day-8 administration."""
    ing = np.full((N_REGIMENS, MAX_SLOTS), -1, np.int16)
    oral = np.zeros((N_REGIMENS, MAX_SLOTS), bool)
    phase = np.zeros((N_REGIMENS, MAX_SLOTS), np.int8)
    day8 = np.zeros((N_REGIMENS, MAX_SLOTS), bool)
    for r, reg in enumerate(REGIMENS):
        for j, (name, route, ph, days) in enumerate(reg.drugs):
            ing[r, j] = ingredient_code[name]
            oral[r, j] = route == "oral"
            phase[r, j] = {"ind": 0, "maint": 1, "both": 2}[ph]
            day8[r, j] = 7 in days
    return ing, oral, phase, day8


def attr(name: str) -> np.ndarray:
    """One regimen attribute as an array indexed by regimen code."""
    return np.array([getattr(r, name) for r in REGIMENS])
