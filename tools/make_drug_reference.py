"""Regenerate scripts/lotluca/data/drugs.csv and drug_codes.csv (the shipped drug reference).

The ingredient / ATC-7 / class rows follow the WHO ATC index 2026 (see docs/limits.md on the codes). The CIP13 and
UCD13 codes are *format-valid illustrative codes* (prefix 34009 / 3400893 and a valid EAN-13 check
digit), generated deterministically from the ingredient name: no network reaches the official BDPM
(base de donnees publique des medicaments) from our build machines. On the secure platform, append
the official codes to drug_codes.csv (same columns); nothing else changes.
Run: python tools/make_drug_reference.py
"""

import csv
import hashlib
from pathlib import Path

OUT = Path(__file__).resolve().parents[1] / "scripts" / "lotluca" / "data"

# ingredient, ATC-7, drug_class, route, snds_visibility, odh labels (French INN + brands), pack days
DRUGS = [
    ("cisplatin", "L01XA01", "platinum", "iv", "session", ["CISPLATINE"], 0),
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


def ean13(prefix: str, seed: str) -> str:
    body_len = 12 - len(prefix)
    digits = int(hashlib.sha256(seed.encode()).hexdigest(), 16) % 10**body_len
    body = prefix + str(digits).zfill(body_len)
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(body))
    return body + str((10 - total % 10) % 10)


def main() -> None:
    with open(OUT / "drugs.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["ingredient", "atc", "drug_class", "route", "snds_visibility", "days_per_pack"])
        for ing, atc, cls, route, vis, _labels, days in DRUGS:
            w.writerow([ing, atc, cls, route, vis, days or ""])
    with open(OUT / "drug_codes.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["code_system", "code", "ingredient", "route", "label"])
        for ing, _atc, _cls, route, vis, labels, _days in DRUGS:
            if vis == "pharmacy":
                for k in range(2):  # two pack sizes / presentations
                    w.writerow(
                        ["CIP13", ean13("34009", f"{ing}|{route}|cip|{k}"), ing, route, f"{labels[-1]} boite {k + 1}"]
                    )
            if vis == "en_sus":
                for k in range(2):  # two presentations (vial strengths)
                    w.writerow(
                        [
                            "UCD13",
                            ean13("3400893", f"{ing}|{route}|ucd|{k}"),
                            ing,
                            route,
                            f"{labels[-1]} flacon {k + 1}",
                        ]
                    )
            for label in labels:
                w.writerow(["LABEL", label, ing, route, label])


if __name__ == "__main__":
    main()
