"""lotluca.figures: every figure and table function writes non-empty files on small hand-made inputs
with the documented columns (effectiveness tables made by the real lotluca.effectiveness code), tables never
show a count of 1..min_cell-1, the best-algorithm choice and the cohort-flow counts are hand-checked."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from lotluca.config import default_config
from lotluca.figures.accuracy import accuracy_table, best_algorithm, plot_accuracy
from lotluca.figures.cohort import cohort_flow_counts, plot_cohort_flow, suppress_flow
from lotluca.figures.forest import plot_bias_forest
from lotluca.figures.km import plot_km
from lotluca.figures.pathways import pathway_counts, plot_pathways
from lotluca.figures.swimmer import plot_swimmer, sample_persons
from lotluca.figures.tables import baseline_table, baseline_wide, calibration_table, medians_table, write_table
from lotluca.privacy import assert_exportable

CLASSES_1L = ["chemo_io", "chemo_doublet", "io_mono", "egfr_tki", "chemo_antiangiogenic", "alk_tki"]
CLASSES_2L = ["single_agent_chemo", "io_mono", "chemo_doublet", "egfr_tki"]
ALGORITHMS = ["lotluca", "meng2021", "tlcr2020"]
SCENARIOS = ["odh_only", "snds_only", "linked"]
MIN_CELL = 10
CFG = default_config(privacy={"min_cell": MIN_CELL})  # the schema's defaults of every block
FIG, EFF = CFG["figures"], CFG["effectiveness"]
DPI, METHOD = FIG["dpi"], CFG["privacy"]["method"]
ENDPOINT_OPTIONS = {
    "ttd_gap_days": EFF["ttd_gap_days"],
    "pooled_line_from": EFF["pooled_line_from"],
    "era_start_years": EFF["cox"]["era_start_years"],
}


def make_study(n: int = 300, seed: int = 1) -> dict:
    """A small study with the canonical columns: persons, gold lines, one algorithm's lines, SNDS
    persons and links; seeded."""
    rng = np.random.default_rng(seed)
    pid = np.array([f"P{i:04d}" for i in range(n)])
    diag = pd.Timestamp("2016-01-01") + pd.to_timedelta(rng.integers(0, 6 * 365, n), unit="D")
    surv = rng.exponential(400, n).astype(int) + 30
    end_data = pd.Timestamp("2025-12-31")
    death = diag + pd.to_timedelta(surv, unit="D")
    dead = death <= end_data
    persons = pd.DataFrame(
        {
            "person_id": pid, "sex": rng.choice(["M", "F"], n, p=[0.65, 0.35]),
            "birth_year": rng.integers(1935, 1975, n).astype("int16"), "birth_month": rng.integers(1, 13, n).astype("int16"),
            "residence_dpt": "75", "death_date": pd.Series(death).where(dead), "diagnosis_date": diag,
            "histology": rng.choice(["non_squamous", "squamous", "nos"], n, p=[0.7, 0.25, 0.05]),
            "egfr": rng.choice(["wild_type", "mutated", "unknown"], n, p=[0.8, 0.12, 0.08]),
            "alk": rng.choice(["wild_type", "mutated", "unknown"], n, p=[0.9, 0.04, 0.06]),
            "pdl1": rng.choice(["<1%", "1-49%", ">=50%", "unknown"], n), "centre": "750000000",
            "end_of_followup": pd.Series(death).where(dead, end_data),
        }
    )  # fmt: skip
    rows = []
    for i in range(n):
        t = diag[i] + pd.Timedelta(days=int(rng.integers(5, 40)))
        stop = persons["end_of_followup"].iloc[i]
        k = 1
        while t < stop and k <= 4:
            if k == 1 or rng.random() < 0.3:
                cls = rng.choice(CLASSES_1L if k == 1 else CLASSES_2L)
            else:  # usual sequences, so that pathway flows are not all small
                cls = {"chemo_io": "single_agent_chemo", "chemo_doublet": "io_mono", "io_mono": "chemo_doublet",
                       "egfr_tki": "egfr_tki", "alk_tki": "alk_tki"}.get(cls, "single_agent_chemo")  # fmt: skip
            dur = pd.Timedelta(days=int(rng.integers(40, 300)))
            e = min(t + dur, stop)
            rows.append((pid[i], k, t, e, "drug_" + cls, cls, False))
            if k == 1 and cls == "chemo_doublet" and rng.random() < 0.4 and e + pd.Timedelta(days=60) < stop:
                m_end = min(e + pd.Timedelta(days=120), stop)
                rows.append((pid[i], k, e + pd.Timedelta(days=21), m_end, "pemetrexed", "single_agent_chemo", True))
                e = m_end
            if rng.random() < 0.45:
                break
            t = e + pd.Timedelta(days=int(rng.integers(20, 90)))
            k += 1
    gold = pd.DataFrame(
        rows,
        columns=["person_id", "line_number", "start_date", "end_date", "regimen", "regimen_class", "is_maintenance"],
    )
    gold["end_reason"] = None
    gold["algorithm"] = "gold"
    gold["split"] = np.where(gold["person_id"].str[-1].astype(int) % 2 == 0, "test", "train")
    pred = gold.drop(columns="split").copy()
    shift = pd.to_timedelta(rng.integers(-20, 20, len(pred)), unit="D")
    pred["start_date"] = pred["start_date"] + shift
    pred["end_date"] = pred["end_date"] + shift
    pred.loc[rng.random(len(pred)) < 0.1, "regimen_class"] = "chemo_doublet"
    pred = pred[rng.random(len(pred)) > 0.05].reset_index(drop=True)
    pred["algorithm"] = "lotluca"
    snds = pd.DataFrame({"person_id": [f"S{i:05d}" for i in range(n + 57)]})
    linked = rng.random(n) < 0.9
    links = pd.DataFrame({"odh_patient_id": pid[linked], "snds_person_id": [f"S{i:05d}" for i in np.flatnonzero(linked)],
                          "method": "deterministic", "match_probability": 1.0})  # fmt: skip
    return {"persons": persons, "gold": gold, "pred": pred, "snds": snds, "links": links}


def make_metrics(seed: int = 2) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for s in SCENARIOS:
        for a in ALGORITHMS:
            for m in [
                "line_precision",
                "line_recall",
                "line_f1",
                "regimen_exact",
                "count_exact",
                "sequence_exact",
                "start_error_median_abs_days",
            ]:
                est = rng.uniform(0.4, 0.95) if not m.endswith("days") else rng.uniform(1, 20)
                n = 7 if (s == "snds_only" and a == "tlcr2020") else 150
                rows.append((s, a, m, "several_or_maintenance", est, est - 0.05, est + 0.05, n))  # the headline
                rows.append((s, a, m, "all", min(est + 0.03, 1), est - 0.02, min(est + 0.08, 1), n + 60))
                rows.append((s, a, m, "one_line", est, est - 0.1, est + 0.1, 60))
    m = pd.DataFrame(rows, columns=["scenario", "algorithm", "metric", "stratum", "estimate", "ci_low", "ci_high", "n"])
    m.loc[
        (m.scenario == "linked")
        & (m.algorithm == "meng2021")
        & (m.metric == "line_f1")
        & (m.stratum == "several_or_maintenance"),
        ["estimate", "ci_low", "ci_high"],
    ] = [0.96, 0.93, 0.99]
    return m


@pytest.fixture(scope="module")
def study():
    return make_study()


@pytest.fixture(scope="module")
def effectiveness(study):
    """km_curves / at_risk / km_summary / bias made by the effectiveness engineer's code."""
    from lotluca.effectiveness.analysis import export_tables
    from lotluca.effectiveness.bias import bias_table
    from lotluca.effectiveness.endpoints import compute_endpoints, endpoints_long
    from lotluca.effectiveness.settings import EffectivenessSettings
    from lotluca.privacy import PrivacySettings

    parts = []
    for alg, scen, df in [
        ("gold", "gold", study["gold"]),
        ("lotluca", "linked", study["pred"]),
        ("lotluca", "odh_only", study["pred"]),
    ]:
        ep = compute_endpoints(df, study["persons"], **ENDPOINT_OPTIONS)
        ep.insert(0, "scenario", scen)
        ep.insert(0, "algorithm", alg)
        parts.append(ep)
    ep = pd.concat(parts, ignore_index=True)
    settings = EffectivenessSettings.from_config(EFF)
    tables = export_tables(ep, settings, PrivacySettings.from_config(CFG["privacy"]))
    bias = bias_table(endpoints_long(ep), ["chemo_io"], ["chemo_doublet"], bootstrap=8, seed=3, alpha=0.05)
    return {**tables, "bias": bias}


def _nonempty(paths, min_bytes: int = 1000):
    for p in paths:
        assert p.exists() and p.stat().st_size > min_bytes, p


def _paths(tmp_path, name):
    return [tmp_path / f"{name}.png", tmp_path / f"{name}.pdf"]


def test_cohort_flow_counts_by_hand():
    snds = pd.DataFrame({"person_id": ["S1", "S2", "S3", "S4"]})
    links = pd.DataFrame({"odh_patient_id": ["A", "B", "C", "Z"], "snds_person_id": ["S1", "S2", "S3", "S9"]})
    merged = pd.DataFrame(
        {"person_id": ["A", "B", "C", "D"], "diagnosis_date": [pd.Timestamp("2020-01-01")] * 2 + [pd.NaT] * 2}
    )
    lines = pd.DataFrame({"person_id": ["A", "A", "C", "D"]})
    gold = pd.DataFrame({"person_id": ["A", "B"]})
    c = cohort_flow_counts(snds, links, merged, lines, gold).set_index("step")
    # 4 beneficiaries; 3 linked (S9 is not an extracted beneficiary); A, B advanced; A has a line; A in gold
    assert c["n"].tolist() == [4, 3, 2, 1, 1]
    assert c["n_excluded"].tolist() == [0, 1, 1, 1, 0]
    s = suppress_flow(c.reset_index(), 2, METHOD)
    assert s["n"].isna().tolist() == [False, False, False, True, True]
    assert_exportable(s, ["n", "n_excluded"], 2)


def test_fig1_cohort_flow(study, tmp_path):
    c = cohort_flow_counts(study["snds"], study["links"], study["persons"], study["pred"], study["gold"], "lotluca")
    s = suppress_flow(c, MIN_CELL, METHOD)
    assert_exportable(s, ["n", "n_excluded"], MIN_CELL)
    plot_cohort_flow(s, _paths(tmp_path, "fig1"), dpi=DPI, min_cell=MIN_CELL)
    _nonempty(_paths(tmp_path, "fig1"))


def test_best_algorithm_by_line_f1_in_linked_scenario():
    m = make_metrics()
    assert best_algorithm(m, "linked", "line_f1") == "meng2021"
    assert best_algorithm(m, "linked", "line_f1", override="tlcr2020") == "tlcr2020"
    with pytest.raises(Exception, match="no 'line_f1' estimate"):
        best_algorithm(m, "nowhere", "line_f1")


def test_fig2_and_table2(tmp_path):
    m = make_metrics()
    plot_accuracy(m, _paths(tmp_path, "fig2"), dpi=DPI, min_cell=MIN_CELL, scenarios=SCENARIOS, algorithms=ALGORITHMS)
    _nonempty(_paths(tmp_path, "fig2"))
    t = accuracy_table(m, min_cell=MIN_CELL, method=METHOD, scenarios=SCENARIOS, algorithms=ALGORITHMS)
    assert len(t) == 9
    small = t[(t.scenario == "snds_only") & (t.algorithm == "tlcr2020")].iloc[0]
    assert pd.isna(small["n_persons"]) and small["Line F1"] is None or pd.isna(small["Line F1"])
    write_table(t, tmp_path / "t2.csv", tmp_path / "t2.md", ["n_persons", "n_gold_lines"], MIN_CELL, "Table 2")
    _nonempty([tmp_path / "t2.csv", tmp_path / "t2.md"], 50)


def test_pathway_counts_pool_and_suppress(study):
    nodes, flows, totals = pathway_counts(study["gold"], 3, MIN_CELL, METHOD)
    for df in (nodes, flows, totals):
        assert_exportable(df, ["n"], MIN_CELL)
    # line-1 persons: every person with a gold line 1
    assert totals.loc[totals.line == 1, "n"].iloc[0] == study["gold"]["person_id"].nunique()
    # pooling keeps the total of each line
    raw = pathway_counts(study["gold"], 3, 1, METHOD)[0]
    assert raw.groupby("line")["n"].sum().tolist() == totals["n"].tolist()


def test_fig3_pathways(study, tmp_path):
    plot_pathways(
        {"Gold standard": study["gold"], "lotluca (linked)": study["pred"]},
        _paths(tmp_path, "fig3"),
        dpi=DPI,
        max_line=FIG["max_line"],
        min_cell=MIN_CELL,
        method=METHOD,
    )
    _nonempty(_paths(tmp_path, "fig3"))


def test_fig4_km(effectiveness, tmp_path):
    plot_km(
        effectiveness["km_curves"],
        effectiveness["at_risk"],
        "lotluca",
        "linked",
        _paths(tmp_path, "fig4"),
        dpi=DPI,
        endpoints=FIG["km_endpoints"],
        min_cell=MIN_CELL,
    )
    _nonempty(_paths(tmp_path, "fig4"))


def test_fig5_swimmer(study, tmp_path):
    ids = sample_persons(study["gold"], 30, 7, "test")
    assert len(ids) == len(set(ids)) == 30
    assert ids == sample_persons(study["gold"], 30, 7, "test")
    assert set(ids) <= set(study["gold"].loc[study["gold"].split == "test", "person_id"])
    plot_swimmer(
        study["gold"], study["pred"], study["persons"], ids, _paths(tmp_path, "fig5"), dpi=DPI, algorithm="lotluca"
    )
    _nonempty(_paths(tmp_path, "fig5"))


def test_fig6_forest(effectiveness, tmp_path):
    plot_bias_forest(effectiveness["bias"], _paths(tmp_path, "fig6"), dpi=DPI, endpoints=FIG["bias_endpoints"])
    _nonempty(_paths(tmp_path, "fig6"))


def test_table1_baseline_suppressed(study, tmp_path):
    gold_ids = set(study["gold"]["person_id"])
    t = baseline_table(
        study["persons"],
        {"All": None, "Gold subset": gold_ids, "Tiny": set(list(gold_ids)[:12])},
        MIN_CELL,
        METHOD,
        EFF["cox"]["era_start_years"],
    )
    assert_exportable(t, ["n"], MIN_CELL)
    persons = t[(t.characteristic == "Persons")].set_index("group")["n"]
    assert persons["All"] == len(study["persons"]) and persons["Tiny"] == 12
    # secondary suppression: within a characteristic, never exactly one blanked level
    for _, g in t[t.characteristic.isin(["Sex", "Histology", "EGFR", "ALK"])].groupby(["group", "characteristic"]):
        assert g["n"].isna().sum() != 1
    write_table(t, tmp_path / "t1.csv", tmp_path / "t1.md", ["n"], MIN_CELL, "Table 1", display=baseline_wide(t))
    _nonempty([tmp_path / "t1.csv", tmp_path / "t1.md"], 50)
    assert "suppressed" in (tmp_path / "t1.md").read_text()


def test_table3_medians(effectiveness, tmp_path):
    t = medians_table(effectiveness["km_summary"], "lotluca", "linked", FIG["median_endpoints"], MIN_CELL, METHOD)
    counts = [c for c in t.columns if c.startswith("n_")]
    assert_exportable(t, counts, MIN_CELL)
    assert {"median_gold", "median_lotluca"} <= set(t.columns)
    write_table(t, tmp_path / "t3.csv", tmp_path / "t3.md", counts, MIN_CELL, "Table 3")
    _nonempty([tmp_path / "t3.csv", tmp_path / "t3.md"], 50)


def test_table4_calibration(tmp_path):
    cal = pd.DataFrame({"quantity": ["male share", "median age", "persons in 2L"], "simulated": [0.66, 65.2, 0.5],
                        "target": [0.67, 65.0, 0.45], "n": [300, 300, 4], "source": ["ESME", "ESME", "ESME"]})  # fmt: skip
    t = calibration_table(cal, MIN_CELL, METHOD)
    assert pd.isna(t.loc[2, "n"]) and t.loc[0, "n"] == 300
    write_table(t, tmp_path / "t4.csv", tmp_path / "t4.md", ["n"], MIN_CELL, "Table 4")
    _nonempty([tmp_path / "t4.csv", tmp_path / "t4.md"], 50)


def test_write_table_refuses_small_counts(tmp_path):
    with pytest.raises(Exception, match="between 1 and 9"):
        write_table(pd.DataFrame({"n": [3]}), tmp_path / "x.csv", tmp_path / "x.md", ["n"], MIN_CELL)


def test_figures_are_byte_identical_on_rerun(tmp_path):
    m = make_metrics()
    a, b = _paths(tmp_path, "a"), _paths(tmp_path, "b")
    plot_accuracy(m, a, dpi=DPI, min_cell=MIN_CELL)
    plot_accuracy(m, b, dpi=DPI, min_cell=MIN_CELL)
    for x, y in zip(a, b, strict=True):
        assert x.read_bytes() == y.read_bytes(), x.suffix


def test_missing_metric_columns_is_an_input_error():
    from lotluca.errors import InputError

    with pytest.raises(InputError, match="missing column"):
        plot_accuracy(make_metrics().drop(columns=["ci_low"]), [], dpi=DPI, min_cell=MIN_CELL)


def test_every_step_function_writes_its_files(study, effectiveness, tmp_path):
    """Each rule's step function (lotluca.figures.steps) called as the workflow calls it: whole config
    blocks, `lines` one file per algorithm of `algorithms`; the best algorithm is chosen inside (meng2021,
    the highest line F1 in the linked scenario); every exported table passes the privacy guard."""
    from lotluca.figures import steps
    from lotluca.figures.tables import count_columns

    cfg = default_config(privacy={"min_cell": MIN_CELL})
    blocks = {"figures": cfg["figures"], "privacy": cfg["privacy"]}
    data = tmp_path / "in"
    data.mkdir()
    files = {}
    frames = {"persons": study["persons"], "gold": study["gold"], "snds_persons": study["snds"]}
    frames |= {"links": study["links"], "metrics": make_metrics()}
    for name, df in frames.items():
        files[name] = str(data / f"{name}.parquet")
        df.to_parquet(files[name])
    for name in ("km_curves", "at_risk", "km_summary", "bias"):
        files[name] = str(data / f"{name}.csv")
        effectiveness[name].to_csv(files[name], index=False)
    files["calibration"] = str(data / "calibration.csv")
    pd.DataFrame(
        {"quantity": ["male share"], "simulated": [0.66], "target": [0.67], "n": [300], "source": ["ESME"]}
    ).to_csv(files["calibration"], index=False)
    lines = []
    for a in ALGORITHMS:  # the figures scenario's lines, one file per algorithm, file stem = algorithm
        lines.append(str(data / "linked" / f"{a}.parquet"))
        (data / "linked").mkdir(exist_ok=True)
        study["pred"].assign(algorithm=a).to_parquet(lines[-1])
    out = tmp_path / "out"

    def fig(name):
        return {"png": str(out / f"{name}.png"), "pdf": str(out / f"{name}.pdf")}

    def tab(name):
        return {"csv": str(out / f"{name}.csv"), "md": str(out / f"{name}.md")}

    def given(*names):
        return {n: files[n] for n in names}

    runs = [
        (steps.figures_cohort, given("snds_persons", "links", "persons", "metrics", "gold") | {"lines": lines},
         fig("fig1"), {"algorithms": ALGORITHMS}),
        (steps.figures_accuracy, given("metrics"), fig("fig2"), {"scenarios": SCENARIOS, "algorithms": ALGORITHMS}),
        (steps.figures_pathways, given("metrics", "gold") | {"lines": lines}, fig("fig3"),
         {"evaluate": cfg["evaluate"], "algorithms": ALGORITHMS}),
        (steps.figures_km, given("metrics", "km_curves", "at_risk"), fig("fig4"), {}),
        (steps.figures_swimmer, given("metrics", "gold", "persons") | {"lines": lines}, fig("fig5"),
         {"seed": 1, "evaluate": cfg["evaluate"], "algorithms": ALGORITHMS}),
        (steps.figures_bias, given("bias"), fig("fig6"), {"scenarios": SCENARIOS, "algorithms": ALGORITHMS}),
        (steps.figures_table_baseline, given("persons", "gold"), tab("table1"),
         {"evaluate": cfg["evaluate"], "effectiveness": cfg["effectiveness"]}),
        (steps.figures_table_accuracy, given("metrics"), tab("table2"), {"scenarios": SCENARIOS, "algorithms": ALGORITHMS}),
        (steps.figures_table_medians, given("metrics", "km_summary"), tab("table3"), {}),
        (steps.figures_table_calibration, given("calibration"), tab("table4"), {}),
    ]  # fmt: skip
    for step, inputs, outputs, params in runs:
        step(inputs, outputs, **blocks, **params)
        _nonempty([Path(p) for p in outputs.values()], 50)
    for name in ("table1", "table2", "table3", "table4"):
        t = pd.read_csv(out / f"{name}.csv")
        assert_exportable(t, count_columns(t), MIN_CELL, name)
    assert "meng2021" in (out / "table3.md").read_text()  # the best algorithm, chosen inside the step


def test_lines_are_picked_by_the_algorithms_param(study, tmp_path):
    from lotluca.errors import InputError
    from lotluca.figures.steps import lines_of

    path = tmp_path / "whatever_name.parquet"
    study["pred"].to_parquet(path)
    assert len(lines_of([str(path)], ["meng2021"], "meng2021")) == len(study["pred"])
    with pytest.raises(InputError, match="no lines file for algorithm 'x'"):
        lines_of([str(path)], ["meng2021"], "x")
    with pytest.raises(InputError, match="1 lines file"):
        lines_of([str(path)], ["a", "b"], "a")


def test_figures_use_the_evaluation_headline_stratum():
    from lotluca.evaluate.metrics import HEADLINE_STRATUM
    from lotluca.figures import accuracy

    assert accuracy.HEADLINE_STRATUM == HEADLINE_STRATUM == "several_or_maintenance"
