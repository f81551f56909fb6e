"""`lotluca` vs `meng2021` on a small simulated cohort, against the simulated gold standard.

Until the evaluation stage's scoring is wired here, the comparison is on line counts and starts:
a predicted (non-maintenance) line matches an unmatched gold line of the same person starting within
30 days; `lotluca` must have at least meng2021's F1 and share of persons with the exact number of lines,
and a better maintenance-phase F1, on ODH data alone and on the linked ODH + SNDS history (the merge of
lotluca.link with the simulated linkage truth as links). Runs the simulator, both extractions and
the merge, so it is marked `workflow`.
"""

from __future__ import annotations

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml

from lotluca.lines import load_params, reconstruct

pytestmark = pytest.mark.workflow


def _f1(pred: pd.DataFrame, gold: pd.DataFrame, tol: int = 30) -> float:
    gold_starts = {k: sorted(v) for k, v in gold.groupby("person_id")["start_date"]}
    tp = 0
    for pid, starts in pred.groupby("person_id")["start_date"]:
        avail = list(gold_starts.get(pid, []))
        for s in sorted(starts):
            near = [(abs((g - s).days), j) for j, g in enumerate(avail) if abs((g - s).days) <= tol]
            if near:
                tp += 1
                avail.pop(min(near)[1])
    p, r = tp / max(len(pred), 1), tp / max(len(gold), 1)
    return 2 * p * r / (p + r) if p + r else 0.0


def _exact_counts(pred: pd.DataFrame, gold: pd.DataFrame) -> float:
    n_gold = gold.groupby("person_id").size()
    n_pred = pred.groupby("person_id").size().reindex(n_gold.index, fill_value=0)
    return float((n_pred == n_gold).mean())


@pytest.fixture(scope="module")
def cohort(tmp_path_factory, repo):
    simulate = pytest.importorskip("lotluca.simulate")
    pipeline = pytest.importorskip("lotluca.extract.pipeline")
    cfg = yaml.safe_load((repo / "config.yaml").read_text())
    out = tmp_path_factory.mktemp("sim")
    simulate.simulate_to_files({**cfg["simulate"], "patients": 400}, cfg["study"], cfg["seed"], out, "parquet")
    files = [out / "odh" / f"{t}.parquet" for t in pipeline.ODH_TABLES]
    paths = pipeline.paths_from_files([str(f) for f in files if f.exists()], pipeline.ODH_TABLES)
    pipeline.run_odh(paths, out / "extract", {"study": cfg["study"], "extract": cfg["extract"]})
    gold = pq.read_table(out / "gold" / "gold_lines.parquet").to_pandas()
    scenarios = {
        "odh_only": (
            pq.read_table(out / "extract" / "exposures.parquet"),
            pq.read_table(out / "extract" / "persons.parquet"),
            None,
        )
    }
    merge = pytest.importorskip("lotluca.merge.scenarios")
    files = [out / "snds" / f"{t}.parquet" for t in pipeline.SNDS_TABLES]
    snds_paths = pipeline.paths_from_files([str(f) for f in files if f.exists()], pipeline.SNDS_TABLES)
    pipeline.run_snds(snds_paths, out / "extract_snds", {"study": cfg["study"], "extract": cfg["extract"]})
    truth = pq.read_table(out / "truth" / "linkage_truth.parquet").to_pandas()
    links = pa.table(
        {
            "odh_patient_id": truth["odh_patient_id"],
            "snds_person_id": truth["ben_idt_ano"],
            "method": ["deterministic"] * len(truth),
            "match_probability": [1.0] * len(truth),
        }
    )
    pq.write_table(links, out / "links.parquet")
    inputs = {
        "odh_persons": out / "extract" / "persons.parquet",
        "odh_exposures": out / "extract" / "exposures.parquet",
        "snds_persons": out / "extract_snds" / "persons.parquet",
        "snds_exposures": out / "extract_snds" / "exposures.parquet",
        "snds_chemo_sessions": out / "extract_snds" / "chemo_sessions.parquet",
        "links": out / "links.parquet",
    }
    tables = {t: out / "linked" / f"{t}.parquet" for t in ("persons", "exposures", "chemo_sessions")}
    merge.run_merge("linked", inputs, tables, out / "linked" / "report.json")
    scenarios["linked"] = tuple(pq.read_table(tables[t]) for t in ("exposures", "persons", "chemo_sessions"))
    return gold, scenarios


@pytest.mark.parametrize("scenario", ["odh_only", "linked"])
def test_lotluca_beats_meng2021_on_counts_and_starts(cohort, scenario):
    gold, scenarios = cohort
    exposures, persons, sessions = scenarios[scenario]
    scores = {}
    for algorithm in ("lotluca", "meng2021"):
        lines = reconstruct(exposures, persons, sessions, load_params(algorithm)).to_pandas()
        lines = lines[lines["person_id"].isin(set(gold["person_id"]))]
        g, p = gold[~gold["is_maintenance"]], lines[~lines["is_maintenance"]]
        scores[algorithm] = {
            "f1": _f1(p, g),
            "exact": _exact_counts(p, g),
            "maint_f1": _f1(lines[lines["is_maintenance"]], gold[gold["is_maintenance"]]),
        }
    assert scores["lotluca"]["f1"] > (0.8 if scenario == "odh_only" else 0.9), scores
    assert scores["lotluca"]["f1"] >= scores["meng2021"]["f1"], scores
    assert scores["lotluca"]["exact"] >= scores["meng2021"]["exact"], scores
    assert scores["lotluca"]["maint_f1"] > scores["meng2021"]["maint_f1"], scores
