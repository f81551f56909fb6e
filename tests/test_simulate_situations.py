"""The simulator's situations (simulate.situations), the exclusion of failed drugs from later lines, the era
gates, death before progression by regimen and line, and the reasons of regimen changes in the truth."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from lotluca.config import default_config
from lotluca.simulate import regimens as R
from lotluca.simulate import simulate, situations, treatment
from lotluca.simulate.params import SimSettings

KEYS = np.array([r.key for r in R.REGIMENS])


def _settings(**sim) -> SimSettings:
    cfg = default_config(simulate=sim)
    return SimSettings.from_config(cfg["simulate"], study=cfg["study"])


@pytest.fixture(scope="module")
def cohort():
    return simulate(_settings(patients=3000), 2026)


def _odh_lines(r) -> pd.DataFrame:
    lt = r["lines_truth"].to_pandas()
    pt = r["persons_truth"].to_pandas().set_index("truth_person_id")
    lt = lt[~pt.loc[lt["truth_person_id"], "is_decoy"].to_numpy() & (lt["line_number"] >= 1).to_numpy()]
    return lt.sort_values(["truth_person_id", "line_number"]).reset_index(drop=True)


def repeated_share(lt: pd.DataFrame) -> tuple[float, float, int]:
    """Share of true line changes whose regimen repeats the previous line's (all; documented rechallenges
    aside) and the number of changes."""
    prev = lt.groupby("truth_person_id")["regimen"].shift()
    change = prev.notna().to_numpy()
    same = change & (prev == lt["regimen"]).to_numpy()
    n = int(change.sum())
    return same.sum() / n, (same & ~lt["rechallenge"].to_numpy()).sum() / n, n


def test_repeated_identical_regimens_below_2_percent_of_line_changes(cohort):
    lt = _odh_lines(cohort)
    share_all, share_undocumented, n = repeated_share(lt)
    report = (
        f"{n} line changes: {share_all:.4f} repeat the previous regimen, {share_undocumented:.4f} without a rechallenge"
    )
    print(report)
    assert n > 1500
    assert share_undocumented < 0.01, report
    assert share_all < 0.02, report  # documented rechallenges (traps.rechallenge, io_rechallenge) included
    # a re-challenge repeats a platinum-based induction or an immunotherapy, never a single agent
    prev = lt.groupby("truth_person_id")["regimen"].shift()
    repeated = set(lt.loc[(prev == lt["regimen"]) & lt["rechallenge"], "regimen"])
    assert repeated and not repeated & set(situations.SINGLE_AGENTS), repeated


def test_no_later_line_gives_a_drug_stopped_for_progression_unless_rechallenge(cohort):
    L = cohort["_lines"]
    L = L[L["line_number"] >= 1].sort_values(["pid", "line_number"])
    bits = situations.Lookups(treatment.ING, treatment.SLOT_ING).reg_bits[L["regimen"].to_numpy()]
    failed = np.where(np.isin(L["end_reason"].to_numpy(), [treatment.PROG, treatment.TOX]), bits, 0).astype(np.uint64)
    pid = L["pid"].to_numpy()
    before = np.zeros(len(L), np.uint64)  # drugs failed on the person's earlier lines
    acc, last = np.uint64(0), -1
    for i in range(len(L)):
        if pid[i] != last:
            acc, last = np.uint64(0), pid[i]
        before[i] = acc
        acc |= failed[i]
    reused = (before & bits) != 0
    documented = L["rechallenge"].to_numpy()
    assert (reused & ~documented).mean() < 0.02


def test_situation_regimens_drawn_and_frequency_scale_switches_them(cohort):
    lt = _odh_lines(cohort)
    for key in ("nivo_ipi_chemo", "carbo_nabpacli_pembro", "abcp"):
        assert (lt["regimen"] == key).sum() > 0, key
    gold = set(cohort["gold"].to_pandas()["regimen"])  # the new regimens reach the gold standard
    for name in ("atezolizumab+bevacizumab+carboplatin+paclitaxel", "carboplatin+nab-paclitaxel+pembrolizumab"):
        assert name in gold, name
    assert any("ipilimumab" in g for g in gold)
    sit = lt["situation"].value_counts()
    for name in ("tox_switch", "io_added_late", "referred", "pembrolizumab_q6w"):
        assert sit.get(name, 0) > 0, name
    off = simulate(
        replace(_settings(patients=1000), situations=replace(_settings().situations, frequency_scale=0.0)), 3
    )
    lo = _odh_lines(off)
    assert (
        not lo["regimen"].isin(["nivo_ipi", "nivo_ipi_chemo", "carbo_nabpacli_pembro", "abcp", "osi_carbo_pem"]).any()
    )
    assert set(lo["situation"]) <= {"", "pembrolizumab_q6w"}  # a share, not a frequency
    three = simulate(
        replace(_settings(patients=1000), situations=replace(_settings().situations, frequency_scale=3.0)), 3
    )
    one = simulate(_settings(patients=1000), 3)
    n3, n1 = (
        (_odh_lines(x)["situation"].isin(["tox_switch", "io_added_late", "referred"])).sum() for x in (three, one)
    )
    assert n3 > 2 * n1


def test_regimens_wait_for_their_french_availability_year(cohort):
    lt = _odh_lines(cohort)
    year = pd.to_datetime(lt["start_date"]).dt.year.to_numpy()
    gate = lt["regimen"].map(situations.AVAILABLE_FROM).to_numpy()
    assert (year >= gate).all()


def test_amivantamab_only_for_exon20_and_immunotherapy_late_start(cohort):
    pt = cohort["persons_truth"].to_pandas().set_index("truth_person_id")
    lt = _odh_lines(cohort)
    ami = lt[lt["regimen"] == "ami_carbo_pem"]
    assert (pt.loc[ami["truth_person_id"], "driver"] == "egfr").all()
    ev = cohort["clinical_truth"].to_pandas()
    late = lt[lt["situation"] == "io_added_late"][["truth_person_id", "line_number"]]
    e = ev.merge(late, on=["truth_person_id", "line_number"])
    first_io = (
        e[e["ingredient"].isin(["pembrolizumab", "atezolizumab", "nivolumab"])]
        .groupby(["truth_person_id", "line_number"])["cycle"]
        .min()
    )
    assert len(first_io) > 0 and (first_io >= 2).all()
    q6w = lt[lt["situation"] == "pembrolizumab_q6w"][["truth_person_id", "line_number"]]
    d = ev.merge(q6w, on=["truth_person_id", "line_number"]).sort_values(["truth_person_id", "line_number", "date"])
    d["date"] = pd.to_datetime(d["date"])
    gaps = d.groupby(["truth_person_id", "line_number"])["date"].diff().dt.days.dropna()
    assert len(gaps) > 0 and gaps.median() >= 42


def test_death_before_progression_depends_on_regimen_and_line():
    lk = situations.Lookups(treatment.ING, treatment.SLOT_ING)
    ctx = type("C", (), {"lk": lk})()
    reg = np.array([R.INDEX[k] for k in ("osimertinib", "carbo_pem", "doce")])
    p1 = situations.die_probability(ctx, 1, reg, treatment.DIE_ON_LINE)
    p3 = situations.die_probability(ctx, 3, reg, treatment.DIE_ON_LINE)
    assert p1[0] < p1[1] < p1[2] and (p3 > p1).all()


def test_every_regimen_change_has_a_reason(cohort):
    lt = _odh_lines(cohort)
    first = lt["line_number"] == lt.groupby("truth_person_id")["line_number"].transform("min")
    assert lt.loc[first, "change_reason"].isna().all()
    assert (lt.loc[~first, "change_reason"] == "progression").all()  # a new line opens at a progression
    ch = cohort["changes_truth"].to_pandas()
    assert set(ch["reason"]) <= {"toxicity", "other", "planned_switch"}
    assert {"drug_dropped", "drug_swapped", "drug_added", "maintenance", "restart"} <= set(ch["kind"])
    # a swap is seen in the administrations: the new drug given from the change date in that line
    ev = cohort["clinical_truth"].to_pandas()
    sw = ch[ch["kind"] == "drug_swapped"].head(50)
    m = sw.merge(ev, left_on=["truth_person_id", "line_number", "date", "ingredient_to"],
                 right_on=["truth_person_id", "line_number", "date", "ingredient"])  # fmt: skip
    assert len(m) >= 0.9 * len(sw)


def test_durvalumab_consolidation_is_line_zero_and_never_in_the_gold_standard(cohort):
    lt = cohort["lines_truth"].to_pandas()
    z = lt[lt["line_number"] == 0]
    assert len(z) > 0 and (z["regimen"] == "durva_consolidation").all()
    assert (z["situation"] == "durvalumab_consolidation").all() and z["change_reason"].isna().all()
    pt = cohort["persons_truth"].to_pandas().set_index("truth_person_id")
    assert (pd.to_datetime(z["end_date"]) < pd.to_datetime(pt.loc[z["truth_person_id"], "diagnosis_date"]).values).all()
    gold = cohort["gold"].to_pandas()
    assert (gold["line_number"] >= 1).all()
    ev = cohort["clinical_truth"].to_pandas()
    assert (ev.loc[ev["line_number"] == 0, "ingredient"] == "durvalumab").all()
