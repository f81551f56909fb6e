"""Regenerate scripts/lotluca/data/drugs.csv and drug_labels.csv (the shipped ingredient reference).

The ingredient / ATC-7 / class rows follow the WHO ATC index 2026. drug_labels.csv is the synonym table
of French INN and brand names -> ingredient (INN), used to read ODH free text and NU_UCD_R labels. The
package holds no CIP13 / UCD code: codes come from the nomenclatures of the extract at run time
(lotluca.drugs.reference, docs/extract.md "Drug reference").
Run: python tools/make_drug_reference.py
"""

import csv
from pathlib import Path

OUT = Path(__file__).resolve().parents[1] / "scripts" / "lotluca" / "data"

# ingredient, ATC-7, drug_class, route, snds_visibility, odh labels (French INN + brands), pack days
DRUGS = [
    ("cisplatin", "L01XA01", "platinum", "iv", "session", ["CISPLATINE", "CISPLATYL"], 0),
    ("carboplatin", "L01XA02", "platinum", "iv", "session", ["CARBOPLATINE", "PARAPLATINE"], 0),
    ("pemetrexed", "L01BA04", "antimetabolite", "iv", "en_sus", ["PEMETREXED", "ALIMTA"], 0),
    ("gemcitabine", "L01BC05", "antimetabolite", "iv", "session", ["GEMCITABINE", "GEMZAR"], 0),
    ("paclitaxel", "L01CD01", "taxane", "iv", "session", ["PACLITAXEL", "TAXOL"], 0),
    ("nab-paclitaxel", "L01CD01", "taxane", "iv", "session", ["NAB-PACLITAXEL", "ABRAXANE"], 0),
    ("docetaxel", "L01CD02", "taxane", "iv", "session", ["DOCETAXEL", "TAXOTERE"], 0),
    ("vinorelbine", "L01CA04", "vinca", "iv", "session", ["VINORELBINE", "NAVELBINE"], 0),
    ("vinorelbine", "L01CA04", "vinca", "oral", "pharmacy", ["NAVELBINE ORAL", "VINORELBINE ORALE"], 21),
    ("etoposide", "L01CB01", "topoisomerase_inhibitor", "iv", "session", ["ETOPOSIDE", "VEPESIDE"], 0),
    ("etoposide", "L01CB01", "topoisomerase_inhibitor", "oral", "pharmacy", ["CELLTOP", "ETOPOSIDE ORAL"], 21),
    # small-cell lung cancer cytotoxics: not drawn by the simulator, named so that real codes map
    ("irinotecan", "L01CE02", "topoisomerase_inhibitor", "iv", "session", ["IRINOTECAN", "CAMPTO"], 0),
    ("topotecan", "L01CE01", "topoisomerase_inhibitor", "iv", "session", ["TOPOTECANE", "TOPOTECAN", "HYCAMTIN"], 0),
    ("bevacizumab", "L01FG01", "anti_vegf", "iv", "en_sus", ["BEVACIZUMAB", "AVASTIN", "MVASI", "ZIRABEV"], 0),
    ("ramucirumab", "L01FG02", "anti_vegf", "iv", "en_sus", ["RAMUCIRUMAB", "CYRAMZA"], 0),
    ("nintedanib", "L01EX09", "antiangiogenic_tki", "oral", "pharmacy", ["NINTEDANIB", "VARGATEF"], 30),
    ("nivolumab", "L01FF01", "pd1_pdl1", "iv", "en_sus", ["NIVOLUMAB", "OPDIVO"], 0),
    ("pembrolizumab", "L01FF02", "pd1_pdl1", "iv", "en_sus", ["PEMBROLIZUMAB", "KEYTRUDA"], 0),
    ("durvalumab", "L01FF03", "pd1_pdl1", "iv", "en_sus", ["DURVALUMAB", "IMFINZI"], 0),
    ("atezolizumab", "L01FF05", "pd1_pdl1", "iv", "en_sus", ["ATEZOLIZUMAB", "TECENTRIQ"], 0),
    ("cemiplimab", "L01FF06", "pd1_pdl1", "iv", "en_sus", ["CEMIPLIMAB", "LIBTAYO"], 0),
    ("ipilimumab", "L01FX04", "ctla4", "iv", "en_sus", ["IPILIMUMAB", "YERVOY"], 0),
    ("tremelimumab", "L01FX20", "ctla4", "iv", "en_sus", ["TREMELIMUMAB", "IMJUDO"], 0),
    ("amivantamab", "L01FX18", "egfr_antibody", "iv", "en_sus", ["AMIVANTAMAB", "RYBREVANT"], 0),
    ("gefitinib", "L01EB01", "egfr_tki", "oral", "pharmacy", ["GEFITINIB", "IRESSA"], 30),
    ("erlotinib", "L01EB02", "egfr_tki", "oral", "pharmacy", ["ERLOTINIB", "TARCEVA"], 30),
    ("afatinib", "L01EB03", "egfr_tki", "oral", "pharmacy", ["AFATINIB", "GIOTRIF"], 28),
    ("osimertinib", "L01EB04", "egfr_tki", "oral", "pharmacy", ["OSIMERTINIB", "TAGRISSO"], 30),
    ("dacomitinib", "L01EB07", "egfr_tki", "oral", "pharmacy", ["DACOMITINIB", "VIZIMPRO"], 30),
    ("crizotinib", "L01ED01", "alk_tki", "oral", "pharmacy", ["CRIZOTINIB", "XALKORI"], 30),
    ("ceritinib", "L01ED02", "alk_tki", "oral", "pharmacy", ["CERITINIB", "ZYKADIA"], 30),
    ("alectinib", "L01ED03", "alk_tki", "oral", "pharmacy", ["ALECTINIB", "ALECENSA"], 28),
    ("brigatinib", "L01ED04", "alk_tki", "oral", "pharmacy", ["BRIGATINIB", "ALUNBRIG"], 28),
    ("lorlatinib", "L01ED05", "alk_tki", "oral", "pharmacy", ["LORLATINIB", "LORVIQUA"], 30),
    ("entrectinib", "L01EX14", "other_targeted", "oral", "pharmacy", ["ENTRECTINIB", "ROZLYTREK"], 30),
    ("selpercatinib", "L01EX22", "other_targeted", "oral", "pharmacy", ["SELPERCATINIB", "RETSEVMO"], 30),
    ("pralsetinib", "L01EX23", "other_targeted", "oral", "pharmacy", ["PRALSETINIB", "GAVRETO"], 30),
    ("capmatinib", "L01EP01", "other_targeted", "oral", "pharmacy", ["CAPMATINIB", "TABRECTA"], 28),
    ("tepotinib", "L01EP02", "other_targeted", "oral", "pharmacy", ["TEPOTINIB", "TEPMETKO"], 30),
    ("dabrafenib", "L01EC02", "other_targeted", "oral", "pharmacy", ["DABRAFENIB", "TAFINLAR"], 30),
    ("trametinib", "L01EE01", "other_targeted", "oral", "pharmacy", ["TRAMETINIB", "MEKINIST"], 30),
    ("sotorasib", "L01XX73", "other_targeted", "oral", "pharmacy", ["SOTORASIB", "LUMYKRAS"], 30),
    ("adagrasib", "L01XX77", "other_targeted", "oral", "pharmacy", ["ADAGRASIB", "KRAZATI"], 30),
    (
        "trastuzumab deruxtecan",
        "L01FD04",
        "antibody_drug_conjugate",
        "iv",
        "en_sus",
        ["TRASTUZUMAB DERUXTECAN", "ENHERTU"],
        0,
    ),
    # concomitant medications (issue 11): dispensed in community pharmacies
    ("omeprazole", "A02BC01", "ppi", "oral", "pharmacy", ["OMEPRAZOLE", "MOPRAL"], 28),
    ("esomeprazole", "A02BC05", "ppi", "oral", "pharmacy", ["ESOMEPRAZOLE", "INEXIUM"], 28),
    ("pantoprazole", "A02BC02", "ppi", "oral", "pharmacy", ["PANTOPRAZOLE", "EUPANTOL"], 28),
    ("prednisolone", "H02AB06", "corticosteroid", "oral", "pharmacy", ["PREDNISOLONE", "SOLUPRED"], 20),
    ("prednisone", "H02AB07", "corticosteroid", "oral", "pharmacy", ["PREDNISONE", "CORTANCYL"], 20),
    ("methylprednisolone", "H02AB04", "corticosteroid", "oral", "pharmacy", ["METHYLPREDNISOLONE", "MEDROL"], 20),
    # given with pemetrexed (premedication) and docetaxel
    ("dexamethasone", "H02AB02", "corticosteroid", "oral", "pharmacy", ["DEXAMETHASONE", "DECTANCYL"], 20),
    ("betamethasone", "H02AB01", "corticosteroid", "oral", "pharmacy", ["BETAMETHASONE", "CELESTENE"], 20),
    ("amoxicillin", "J01CA04", "antibiotic", "oral", "pharmacy", ["AMOXICILLINE", "CLAMOXYL"], 7),
    (
        "amoxicillin and beta-lactamase inhibitor",
        "J01CR02",
        "antibiotic",
        "oral",
        "pharmacy",
        ["AMOXICILLINE ACIDE CLAVULANIQUE", "AUGMENTIN"],
        7,
    ),
    ("levofloxacin", "J01MA12", "antibiotic", "oral", "pharmacy", ["LEVOFLOXACINE", "TAVANIC"], 7),
    ("azithromycin", "J01FA10", "antibiotic", "oral", "pharmacy", ["AZITHROMYCINE", "ZITHROMAX"], 5),
]


# dosage units taken a day at the labelled adult dose (tablets / capsules), for the days of supply of a
# presentation: units per pack (IR_PHA_R.PHA_UNT_NBR_DSES) / daily units. Left out where the dose varies
# (weekly oral vinorelbine, etoposide cycles, corticosteroids, antibiotics): boxes x pack days then.
DAILY_UNITS = {
    "nintedanib": 2,
    "gefitinib": 1,
    "erlotinib": 1,
    "afatinib": 1,
    "osimertinib": 1,
    "dacomitinib": 1,
    "crizotinib": 2,
    "ceritinib": 3,
    "alectinib": 8,
    "brigatinib": 1,
    "lorlatinib": 1,
    "entrectinib": 3,
    "selpercatinib": 4,
    "pralsetinib": 4,
    "capmatinib": 4,
    "tepotinib": 2,
    "dabrafenib": 4,
    "trametinib": 1,
    "sotorasib": 8,
    "adagrasib": 6,
    "omeprazole": 1,
    "esomeprazole": 1,
    "pantoprazole": 1,
}


def main() -> None:
    with open(OUT / "drugs.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["ingredient", "atc", "drug_class", "route", "snds_visibility", "days_per_pack", "daily_units"])
        for ing, atc, cls, route, vis, _labels, days in DRUGS:
            daily = DAILY_UNITS.get(ing, "") if route == "oral" else ""
            w.writerow([ing, atc, cls, route, vis, days or "", daily])
    with open(OUT / "drug_labels.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["label", "ingredient", "route"])
        for ing, _atc, _cls, route, _vis, labels, _days in DRUGS:
            for label in labels:
                w.writerow([label, ing, route])


if __name__ == "__main__":
    main()
