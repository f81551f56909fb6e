"""The simulated outpatient (ACE) tables: T_MCOaaCSTC visits and T_MCOaaFHSTC en-sus drugs, read by the
extraction (lotluca.simulate.outpatient, lotluca.extract.snds)."""

from __future__ import annotations

import pandas as pd
import pyarrow.parquet as pq
import pytest

from lotluca import snds_schema
from lotluca.extract import pipeline
from lotluca.simulate import simulate_to_files


@pytest.fixture(scope="module")
def ace(tmp_path_factory):
    root = tmp_path_factory.mktemp("ace")
    # more ACE billing than the default, so a small cohort holds enough FHSTC rows
    simulate_to_files({"patients": 150, "outpatient": {"ace_drug_share": 0.2}}, {}, 16, root / "sim", "parquet")
    tables = pipeline.find_tables(root / "sim" / "snds", pipeline.SNDS_TABLES)
    acc = pipeline.run_snds(tables, root / "out", {})
    return root, tables, acc


def test_outpatient_tables_have_the_real_schema(ace):
    _, tables, _ = ace
    for name in ("T_MCOaaCSTC", "T_MCOaaFHSTC"):
        assert pq.read_schema(tables[name]).remove_metadata().equals(snds_schema.arrow_schema(name))
    visits = pd.read_parquet(tables["T_MCOaaCSTC"])
    assert not visits.duplicated(["ETA_NUM", "SEQ_NUM"]).any()
    drugs = pd.read_parquet(tables["T_MCOaaFHSTC"])
    assert (
        len(drugs) > 20
        and drugs.set_index(["ETA_NUM", "SEQ_NUM"]).index.isin(visits.set_index(["ETA_NUM", "SEQ_NUM"]).index).all()
    )


def test_every_observed_fhstc_administration_becomes_an_exposure(ace):
    """Fails if the extraction ignored T_MCOaaFHSTC: each administration the truth renders there (and a
    correct extractor keeps) is an en-sus exposure of that row, same ingredient, date and hospital."""
    root, _, acc = ace
    truth = pd.read_parquet(root / "sim" / "truth" / "clinical_truth.parquet")
    fhstc = truth[(truth["snds_table"] == "T_MCOaaFHSTC") & truth["observed_snds"]]
    assert len(fhstc) > 20
    expo = pd.read_parquet(root / "out" / "exposures.parquet")
    got = expo[expo["origin"].str.startswith("T_MCOaaFHSTC:")].copy()
    assert (got["source"] == "snds_en_sus").all()
    got["key"] = got["origin"].str.split(":").str[1].str.rsplit("/", n=1).str[0].str.replace("/", ":")
    want = fhstc.assign(key=fhstc["snds_key"], date=fhstc["snds_date"])
    merged = want.merge(got, on=["key", "ingredient", "date", "hospital"], how="left", indicator=True)
    assert (merged["_merge"] == "both").all(), merged.loc[merged["_merge"] != "both", ["key", "ingredient"]]
    rows = acc.set_index(["table", "outcome", "rule"])["rows"]
    assert rows[("T_MCOaaFHSTC", "used", "")] == len(got)
    # the drug-free consultations are read and filtered, not rejected
    assert rows[("T_MCOaaCSTC", "filtered", "no_drug_line")] > 0
    assert not pd.read_parquet(root / "out" / "rejects.parquet")["table"].eq("T_MCOaaCSTC").any()
