"""The drug code reference built from the nomenclatures of an extract (lotluca.drugs.reference, issue 16):
the real NU_UCD_R sample, IR_PHA_R, the ANSM BDPM files, overrides, out-of-scope drugs filtered (not
rejected) on a simulated extract, and the `lotluca drugs reference` command."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

from lotluca import cli, drugs
from lotluca.config import default_config
from lotluca.drugs import bdpm, reference
from lotluca.errors import InputError
from lotluca.extract import pipeline
from lotluca.simulate import nomenclature

SAMPLE = Path(__file__).parent / "data" / "nu_ucd_r_sample"
CLASSES = default_config()["extract"]["drug_classes"]

# the sample's labels start with the product name: brand or French generic name -> expected INN
EXPECTED = {
    "ALIMTA": "pemetrexed", "PEMETREXED": "pemetrexed", "AVASTIN": "bevacizumab", "BEVACIZUMAB": "bevacizumab",
    "CARBOPLATINE": "carboplatin", "CISPLATINE": "cisplatin", "CISPLATYL": "cisplatin", "CERITINIB": "ceritinib",
    "DOCETAXEL": "docetaxel", "TAXOTERE": "docetaxel", "ETOPOSIDE": "etoposide", "GEMCITABINE": "gemcitabine",
    "IRINOTECAN": "irinotecan", "KEYTRUDA": "pembrolizumab", "NAVELBINE": "vinorelbine",
    "VINORELBINE": "vinorelbine", "NINTEDANIB": "nintedanib", "PACLITAXEL": "paclitaxel",
    "TECENTRIQ": "atezolizumab", "TOPOTECAN": "topotecan", "TOPOTECANE": "topotecan",
}  # fmt: skip
# rows left unmapped, and why they are truly out of the study's scope
OUT_OF_SCOPE = {
    "IFOSFAMIDE": "alkylating agent of sarcomas and germ-cell tumours, not a lung-cancer treatment of the reference",
}


def _sample() -> pd.DataFrame:
    return pd.read_csv(SAMPLE / "NU_UCD_R.csv", sep=";", dtype=str, encoding="utf-8")


def test_every_row_of_the_real_nu_ucd_r_sample_maps_to_its_ingredient():
    nu = _sample()
    assert len(nu) == 157
    ref = reference.build_reference(CLASSES, nu_ucd=nu)
    got = ref.codes.set_index("code")
    first = nu["UCD_DSN_LIB"].str.split().str[0].str.upper()
    assert set(first) <= set(EXPECTED) | set(OUT_OF_SCOPE), set(first) - set(EXPECTED) - set(OUT_OF_SCOPE)
    for code, word, label, form in zip(nu["UCD_UCD_COD"], first, nu["UCD_DSN_LIB"], nu["UCD_CND_LIB"], strict=True):
        if word in OUT_OF_SCOPE:
            assert code not in got.index, label
            continue
        assert got.loc[code, "ingredient"] == EXPECTED[word], label  # no wrong mapping
        oral = any(w in str(form).lower() for w in ("gelule", "capsule", "comprime"))
        assert got.loc[code, "route"] == ("oral" if oral else "iv"), (label, form)
        assert got.loc[code, "matched_by"] == "label"
    assert len(got) == (~first.isin(list(OUT_OF_SCOPE))).sum()
    assert ref.known["UCD13"] == frozenset(nu["UCD_UCD_COD"].str.lstrip("0"))
    assert set(ref.unmatched["label"].str.split().str[0]) == set(OUT_OF_SCOPE)  # listed for the user


def test_the_sample_keeps_its_licence_notice():
    assert (SAMPLE / "LICENSE-MPL-2.0.txt").is_file()
    assert "Mozilla Public License" in (SAMPLE / "README.md").read_text(encoding="utf-8")


def _ir_pha(rows) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["PHA_CIP_C13", "PHA_CIP_UCD", "PHA_ATC_C07", "PHA_NOM_PA", "PHA_MED_NOM"])


def test_ir_pha_r_mapping_by_atc_substance_and_aliases():
    ir = _ir_pha(
        [
            ("3400930000001", None, "L01EB04", "OSIMERTINIB", "TAGRISSO 80MG CPR"),
            ("3400930000002", None, "L01EX17", "CAPMATINIB", "TABRECTA 150MG CPR"),  # ATC before 2023
            ("3400930000003", None, "L01XE99", "TEPOTINIB", "TEPMETKO"),  # an ATC the aliases lack: substance
            ("3400930000004", None, "L01CD01", "PACLITAXEL", "ABRAXANE 5MG/ML"),  # L01CD01: two ingredients
            ("3400930000005", None, "L01CD01", "PACLITAXEL", "PACLITAXEL KABI 6MG/ML"),
            ("3400930000006", None, "J01CR02", "AMOXICILLINE/ACIDE CLAVULANIQUE", "AUGMENTIN"),
            ("3400930000007", None, "A02BC01", "OMEPRAZOLE", "MOPRAL 20MG GELU"),
            ("3400930000008", None, "N02BE01", "PARACETAMOL", "DOLIPRANE 1000MG CPR"),  # outside the classes
            ("3400930000009", None, "L01XX69", "LURBINECTEDINE", "ZEPZELCA"),  # in the classes, not named
            ("3400930000010", "9000011", "L01FF02", "PEMBROLIZUMAB", "KEYTRUDA 25MG/ML"),  # hospital CIP -> UCD
            ("3400930000011", None, "L01CA04", "VINORELBINE", "NAVELBINE 20MG CAPS MOLLE"),
        ]
    )
    nu = pd.DataFrame({"UCD_UCD_COD": ["0000009000011"], "UCD_DSN_LIB": ["PRODUIT X"], "UCD_CND_LIB": ["flacon"]})
    ref = reference.build_reference(CLASSES, ir_pha=ir, nu_ucd=nu)
    cip = ref.codes[ref.codes["code_system"] == "CIP13"].set_index("code")
    assert cip["ingredient"].to_dict() == {
        "3400930000001": "osimertinib",
        "3400930000002": "capmatinib",
        "3400930000003": "tepotinib",
        "3400930000004": "nab-paclitaxel",
        "3400930000005": "paclitaxel",
        "3400930000006": "amoxicillin and beta-lactamase inhibitor",  # the ATC code decides over the name
        "3400930000007": "omeprazole",
        "3400930000010": "pembrolizumab",
        "3400930000011": "vinorelbine",
    }
    assert cip.loc["3400930000002", "atc"] == "L01EP01" and cip.loc["3400930000003", "matched_by"] == "substance"
    assert cip.loc["3400930000011", "route"] == "oral" and cip.loc["3400930000010", "route"] == "iv"
    ucd = ref.codes[ref.codes["code_system"] == "UCD13"].set_index("code")
    assert ucd.loc["9000011", "ingredient"] == "pembrolizumab" and ucd.loc["9000011", "matched_by"] == "ir_pha_r_ucd"
    assert "3400930000008" not in cip.index
    assert reference.code_key("3400930000008") in ref.known["CIP13"]  # known, so out of scope, not unknown
    assert ref.unmatched["code"].tolist() == ["3400930000009"]
    # a study without the PPI class: omeprazole leaves the reference
    no_ppi = reference.build_reference({k: v for k, v in CLASSES.items() if k != "ppi"}, ir_pha=ir)
    assert "omeprazole" not in set(no_ppi.codes["ingredient"])


def _bdpm_files(folder: Path) -> Path:
    """A small hand-made BDPM extract in the published layout (tab-separated, latin-1, no header)."""
    folder.mkdir(parents=True, exist_ok=True)
    cip = [
        [
            "60000001",
            "3000001",
            "plaquette(s) de 30 comprimé(s)",
            "Présentation active",
            "Déclaration de commercialisation",
            "01/01/2010",
            "3400930000101",
            "oui",
            "100%",
            "1000,00",
            "1010,00",
            "10,00",
            "",
        ],  # noqa: E501
        [
            "60000002",
            "3000002",
            "1 plaquette de 1 capsule(s) molle(s)",
            "Présentation active",
            "Déclaration de commercialisation",
            "01/01/2010",
            "3400930000102",
            "oui",
            "100%",
        ],  # noqa: E501
        [
            "60000003",
            "3000003",
            "plaquette(s) de 8 comprimé(s)",
            "Présentation active",
            "Déclaration de commercialisation",
            "01/01/2010",
            "3400930000103",
            "non",
            "65%",
        ],  # noqa: E501
        [
            "60000004",
            "3000004",
            "sachet(s)",
            "Présentation active",
            "Déclaration de commercialisation",
            "01/01/2010",
            "3400930000104",
            "non",
            "65%",
        ],  # noqa: E501
    ]
    compo = [
        ["60000001", "comprimé", "1", "CHLORHYDRATE D'ERLOTINIB", "150 mg", "un comprimé", "SA", "1"],
        ["60000001", "comprimé", "2", "ERLOTINIB", "150 mg", "un comprimé", "FT", "1"],
        ["60000002", "capsule molle", "3", "TARTRATE DE VINORELBINE", "20 mg", "une capsule", "SA", "1"],
        ["60000003", "comprimé", "4", "PARACÉTAMOL", "1000 mg", "un comprimé", "SA", "1"],
        ["60000004", "poudre pour suspension buvable", "5", "AMOXICILLINE", "1 g", "un sachet", "SA", "1"],
        ["60000004", "poudre pour suspension buvable", "6", "ACIDE CLAVULANIQUE", "125 mg", "un sachet", "SA", "2"],
    ]
    for name, rows in ((bdpm.CIP_FILE, cip), (bdpm.COMPO_FILE, compo)):
        text = "".join("\t".join(r) + "\r\n" for r in rows)
        (folder / name).write_bytes(text.encode("latin-1"))
    return folder


def test_bdpm_files_give_the_cip13_of_the_study(tmp_path):
    rows = bdpm.reference_rows(_bdpm_files(tmp_path / "bdpm"), CLASSES)
    ref = reference.build_reference(CLASSES, bdpm=rows)
    got = ref.codes.set_index("code")[["ingredient", "route", "matched_by"]]
    assert got.to_dict("index") == {
        "3400930000101": {"ingredient": "erlotinib", "route": "oral", "matched_by": "bdpm_substance"},
        "3400930000102": {"ingredient": "vinorelbine", "route": "oral", "matched_by": "bdpm_substance"},
        "3400930000104": {
            "ingredient": "amoxicillin and beta-lactamase inhibitor",
            "route": "oral",
            "matched_by": "bdpm_substance",
        },
    }
    assert reference.code_key("3400930000103") in ref.known["CIP13"]  # paracetamol: known, out of scope


def test_overrides_add_and_correct_codes(tmp_path):
    ir = _ir_pha([("3400930000001", None, "L01EB04", "OSIMERTINIB", "TAGRISSO")])
    path = tmp_path / "overrides.csv"
    path.write_text(
        "code_system,code,ingredient,route\nCIP13,3400930000001,gefitinib,\nUCD13,0000009999995,nivolumab,iv\n"
    )
    ref = reference.build_reference(CLASSES, ir_pha=ir, overrides=reference.read_overrides(str(path)))
    got = ref.codes.set_index("code")
    assert got.loc["3400930000001", "ingredient"] == "gefitinib" and got.loc["3400930000001", "route"] == "oral"
    assert got.loc["0000009999995", "matched_by"] == "override" and got.loc["0000009999995", "atc"] == "L01FF01"
    bad = tmp_path / "bad.csv"
    bad.write_text("code_system,code,ingredient\nCIP13,3400930000001,aspirin\n")
    with pytest.raises(InputError, match="ingredient"):
        reference.read_overrides(str(bad))


def test_simulated_codes_have_gs1_check_digits_and_the_published_ucd_form():
    c = nomenclature.codes()
    assert c["code"].map(nomenclature.gs1_valid).all()
    ucd = c.loc[c["code_system"] == "UCD13", "code"]
    assert (ucd.str.len() == 13).all() and ucd.str.startswith("0000009").all()  # as NU_UCD_R writes UCD7 codes
    cip = c.loc[c["code_system"] == "CIP13", "code"]
    assert cip.str.startswith("34009").all() and (cip.str.len() == 13).all()
    assert not set(c["ingredient"]) - set(pd.read_csv(SAMPLE.parent.parent.parent / "scripts/lotluca/data/drugs.csv")[
        "ingredient"
    ]) - {b[0] for b in nomenclature.BACKGROUND}  # fmt: skip


@pytest.fixture(scope="module")
def simulated(tmp_path_factory):
    from lotluca.simulate import simulate_to_files

    root = tmp_path_factory.mktemp("drugs")
    simulate_to_files({"patients": 120}, {}, 5, root / "sim", "parquet")
    acc = pipeline.run_snds(pipeline.find_tables(root / "sim" / "snds", pipeline.SNDS_TABLES), root / "out", {})
    return root, acc


def test_background_drugs_are_filtered_out_of_scope_not_rejected(simulated):
    root, acc = simulated
    pha = pd.read_parquet(root / "sim" / "snds" / "ER_PHA_F.parquet")
    background = pha["PHA_PRS_C13"].isin(nomenclature.background_cips())
    assert background.sum() > 0
    rows = acc.set_index(["table", "outcome", "rule"])["rows"]
    filtered = rows.get(("ER_PHA_F", "filtered", "out_of_scope"), 0)
    # every background box is filtered out of scope, unless its service was already filtered (DPN_QLF 71)
    assert 0 < filtered <= background.sum()
    assert filtered >= background.sum() - rows.get(("ER_PHA_F", "filtered", "dpn_qlf_71"), 0)
    rejects = pd.read_parquet(root / "out" / "rejects.parquet")
    assert not rejects["rule"].isin(["out_of_scope", "unknown_drug_code", "invalid_drug_code"]).any()
    assert pd.read_csv(root / "out" / "unknown_codes.csv").empty


def test_drugs_reference_command(simulated, tmp_path, capsys):
    root, _ = simulated
    out = tmp_path / "ref.csv"
    assert cli.main(["drugs", "reference", "--snds", str(root / "sim" / "snds"), "--out", str(out)]) == 0
    ref = pd.read_csv(out, dtype=str)
    assert list(ref.columns) == reference.CODE_COLUMNS
    sim = nomenclature.codes()
    study = sim[~sim["ingredient"].isin([b[0] for b in nomenclature.BACKGROUND])]
    assert set(study["code"].str.lstrip("0")) <= set(ref["code"].str.lstrip("0"))
    merged = study.assign(key=study["code"].str.lstrip("0")).merge(
        ref.assign(key=ref["code"].str.lstrip("0")), on="key"
    )
    assert (merged["ingredient_x"] == merged["ingredient_y"]).all() and (merged["route_x"] == merged["route_y"]).all()
    text = capsys.readouterr().out
    assert "osimertinib: 2 CIP13" in text and "left unmatched" in text
    folder = tmp_path / "sample"
    folder.mkdir()
    shutil.copy(SAMPLE / "NU_UCD_R.csv", folder / "NU_UCD_R.csv")
    _bdpm_files(tmp_path / "bdpm")
    args = ["drugs", "reference", "--snds", str(folder), "--bdpm", str(tmp_path / "bdpm"), "--out", str(out)]
    assert cli.main(args) == 0
    ref = pd.read_csv(out, dtype=str)
    assert ref.loc[ref["code"] == "0000009019857", "ingredient"].tolist() == ["cisplatin"]  # code as written
    assert "erlotinib" in set(ref["ingredient"]) and "IFOSFAMIDE" in capsys.readouterr().out


CODE_COLUMNS = {
    "ER_PHA_F": ["PHA_PRS_C13"],
    "ER_UCD_F": ["UCD_UCD_COD"],
    "T_MCOaaMED": ["UCD_UCD_COD", "UCD_COD"],
    "T_MCOaaMEDATU": ["UCD_UCD_COD", "UCD_COD"],
    "T_MCOaaFH": ["UCD_UCD_COD", "COD_UCD"],
    "T_MCOaaFHSTC": ["UCD_UCD_COD", "UCD_COD"],
    "IR_PHA_R": ["PHA_CIP_C13", "PHA_CIP_UCD"],
    "NU_UCD_R": ["UCD_UCD_COD"],
}


def _renamed(value, mapping):
    """A code renamed through `mapping` (keys: codes without leading zeros), in its own type and width."""
    if value is None or (isinstance(value, float) and value != value):
        return value
    new = mapping[str(value).lstrip("0")]
    return int(new) if isinstance(value, int) else new.zfill(len(str(value)))


def rename_codes(src, dst) -> dict[str, str]:
    """Every CIP13 / UCD code of the tables of `src` (CODE_COLUMNS) renamed to a new code of the same kind
    with a valid GS1 check digit, written to `dst`; returns the renaming (keys without leading zeros)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    old = set()
    for table, cols in CODE_COLUMNS.items():
        t = pq.read_table(src / f"{table}.parquet")
        for c in cols:
            old |= {str(v).lstrip("0") for v in t.column(c).to_pylist() if v is not None}
    mapping = {}
    for i, code in enumerate(sorted(old)):  # same kind of code, new digits
        body = ("34009" + f"{i:07d}") if len(code) == 13 else ("8" + f"{i:05d}")
        mapping[code] = body + nomenclature.gs1_check_digit(body)
    for table, cols in CODE_COLUMNS.items():
        t = pq.read_table(src / f"{table}.parquet")
        for c in cols:
            i = t.schema.get_field_index(c)
            values = [_renamed(v, mapping) for v in t.column(c).to_pylist()]
            t = t.set_column(i, t.schema.field(i), pa.array(values, t.schema.field(i).type))
        pq.write_table(t, dst / f"{table}.parquet")
    return mapping


def test_renaming_every_drug_code_consistently_gives_the_same_extraction(simulated, tmp_path):
    """No code is kept by hand: new codes (valid GS1 check digits) in every table and nomenclature give
    exactly the same exposures, accounting and rejects."""
    import pyarrow.parquet as pq

    root, _ = simulated
    src, dst = root / "sim" / "snds", tmp_path / "snds"
    shutil.copytree(src, dst)
    mapping = rename_codes(src, dst)
    assert len(set(mapping.values())) == len(mapping) and not set(mapping.values()) & set(mapping)
    acc = pipeline.run_snds(pipeline.find_tables(dst, pipeline.SNDS_TABLES), tmp_path / "out", {})
    _, acc0 = simulated
    pd.testing.assert_frame_equal(acc.reset_index(drop=True), acc0.reset_index(drop=True))
    for name in ("exposures", "chemo_sessions", "stays", "rejects"):
        assert pq.read_table(tmp_path / "out" / f"{name}.parquet").equals(
            pq.read_table(root / "out" / f"{name}.parquet")
        ), name


def test_units_per_pack_from_pha_unt_nbr_dses():
    assert reference.units_per_pack("30") == 30 and reference.units_per_pack("30 DOSES") == 30
    assert reference.units_per_pack("3 / 2 ML") == 3 and reference.units_per_pack("224") == 224
    for text in (None, "", "0", "3 PILULES + 5 SACHETS", "BOITE"):
        assert reference.units_per_pack(text) is None, text


def test_days_of_supply_per_presentation_with_the_pack_rule_as_fallback():
    """osimertinib 1 a day: a box of 30 tablets = 30 days, of 90 = 90; alectinib 8 a day: 224 capsules =
    28 days; no units (or a mixed pack): boxes x days_per_pack; an ingredient without either: 1 day."""
    from lotluca.extract import snds

    ir_pha = pd.DataFrame(
        {
            "PHA_CIP_C13": ["3400900000011", "3400900000028", "3400900000035", "3400900000042", "3400900000059"],
            "PHA_ATC_C07": ["L01EB04", "L01EB04", "L01ED03", "L01EB04", "J01CA04"],
            "PHA_NOM_PA": ["OSIMERTINIB", "OSIMERTINIB", "ALECTINIB", "OSIMERTINIB", "AMOXICILLINE"],
            "PHA_UNT_NBR_DSES": ["30", "90 COMPRIMES", "224", "3 PILULES + 5 SACHETS", "12"],
        }
    )
    ref = reference.build_reference(default_config()["extract"]["drug_classes"], ir_pha=ir_pha)
    assert ref.units_per_pack["3400900000028"] == 90
    code = ir_pha["PHA_CIP_C13"].str.lstrip("0")
    ingredient = pd.Series(["osimertinib", "osimertinib", "alectinib", "osimertinib", "amoxicillin"])
    days = snds.days_of_supply(code, ingredient, pd.Series(["oral"] * 5), pd.Series([1, 1, 2, 2, 1]), ref)
    assert days.tolist() == [30, 90, 56, 60, 7]
    days = snds.days_of_supply(pd.Series(["1"]), pd.Series(["cisplatin"]), pd.Series(["iv"]), pd.Series([3]), ref)
    assert days.tolist() == [1]


def test_simulated_ir_pha_r_gives_the_units_of_its_packs(simulated):
    from lotluca.simulate import nomenclature as nom

    ref = reference.build_reference(
        default_config()["extract"]["drug_classes"], ir_pha=nom.ir_pha_r().to_pandas(), nu_ucd=None
    )
    osi = nom.codes().query("ingredient == 'osimertinib' and code_system == 'CIP13'")["code"].str.lstrip("0")
    assert {ref.units_per_pack[c] for c in osi} == {30.0}


# pre-2022 ATC codes (WHO ATC 2022 moved protein kinase inhibitors L01XE -> L01E and monoclonal antibodies
# L01XC -> L01F; WHO ATC 2023 moved the MET inhibitors L01EX -> L01EP): old code -> ingredient, ATC today
OLD_ATC = {
    "L01XE02": ("gefitinib", "L01EB01"), "L01XE03": ("erlotinib", "L01EB02"), "L01XE13": ("afatinib", "L01EB03"),
    "L01XE35": ("osimertinib", "L01EB04"), "L01XE47": ("dacomitinib", "L01EB07"),
    "L01XE16": ("crizotinib", "L01ED01"), "L01XE28": ("ceritinib", "L01ED02"), "L01XE36": ("alectinib", "L01ED03"),
    "L01XE43": ("brigatinib", "L01ED04"), "L01XE44": ("lorlatinib", "L01ED05"),
    "L01XE31": ("nintedanib", "L01EX09"), "L01XE23": ("dabrafenib", "L01EC02"), "L01XE25": ("trametinib", "L01EE01"),
    "L01XE56": ("entrectinib", "L01EX14"),
    "L01XC17": ("nivolumab", "L01FF01"), "L01XC18": ("pembrolizumab", "L01FF02"), "L01XC28": ("durvalumab", "L01FF03"),
    "L01XC32": ("atezolizumab", "L01FF05"), "L01XC33": ("cemiplimab", "L01FF06"), "L01XC11": ("ipilimumab", "L01FX04"),
    "L01XC07": ("bevacizumab", "L01FG01"), "L01XC21": ("ramucirumab", "L01FG02"),
    "L01EX17": ("capmatinib", "L01EP01"), "L01EX21": ("tepotinib", "L01EP02"),
}  # fmt: skip


def test_old_atc_codes_of_ir_pha_r_map_to_their_ingredient():
    """IR_PHA_R rows of an older extract carry the ATC code of their year; with names that say nothing
    (an unknown brand), only the alias table can give the ingredient: each must reach the right one, with
    today's ATC, its UCD too, and also in a study whose classes name only the new ATC levels."""
    old = sorted(OLD_ATC)
    ir = _ir_pha(
        [(f"34009300{i:05d}", f"94{i:05d}", code, None, f"PRODUIT {i}") for i, code in enumerate(old, start=100)]
    )
    for classes in (CLASSES, {"antineoplastic": ["L01E", "L01F"]}):
        ref = reference.build_reference(classes, ir_pha=ir)
        got = ref.codes.set_index(["code_system", "code"])
        for i, code in enumerate(old, start=100):
            ingredient, atc = OLD_ATC[code]
            for key in (("CIP13", f"34009300{i:05d}"), ("UCD13", f"94{i:05d}")):
                assert got.loc[key, "ingredient"] == ingredient, (code, key)
                assert got.loc[key, "atc"] == atc, (code, key)
        assert ref.unmatched.empty
    # the alias table holds exactly these moves, each to the ATC the ingredient reference gives
    aliases = reference.atc_aliases()
    assert aliases == {k: v[1] for k, v in OLD_ATC.items()}
    d = drugs.drugs().drop_duplicates("ingredient").set_index("ingredient")["atc"]
    assert all(d[ing] == atc for ing, atc in OLD_ATC.values())
