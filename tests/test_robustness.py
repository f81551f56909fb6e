"""The robustness grid (lotluca.robustness): keys checked against the schema, a tiny grid on a tiny cohort
(every algorithm x scenario, the CSV contract), the gather step and its figure, and the frozen-preset
record (lotluca.robustness.tuning): the preset holds the tuned values and docs/lines.md the record's table."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import yaml

from lotluca.config import default_config
from lotluca.errors import ConfigError, InputError
from lotluca.lines.params import available_presets, load_params
from lotluca.robustness import tuning
from lotluca.robustness.figure import check_table
from lotluca.robustness.grid import ROBUSTNESS_COLUMNS, grid_seed, point_config, run_setting
from lotluca.robustness.settings import RobustnessSettings, check_key
from lotluca.robustness.steps import robustness

REPO = Path(__file__).resolve().parents[1]


def _rs(**block) -> RobustnessSettings:
    return RobustnessSettings.from_config({**default_config()["robustness"], **block})


def test_default_grid_has_eight_settings_with_existing_keys():
    grid = _rs().grid()
    assert len(grid) >= 8
    assert {"holiday_length", "delay_length", "odh_missing"} <= set(grid)


@pytest.mark.parametrize("key", ["traps.no_such_knob", "nothing.dose_delay", "traps"])
def test_a_key_outside_the_simulate_schema_is_a_config_error(key):
    with pytest.raises(ConfigError, match="robustness.settings"):
        check_key(key, "bad")
    with pytest.raises(ConfigError):
        _rs(settings=[{"name": "bad", "key": key, "values": [1]}]).grid()


def test_reserved_or_repeated_setting_names_are_rejected():
    item = {"name": "default", "key": "traps.dose_delay", "values": [0.5]}
    with pytest.raises(ConfigError, match="reserved or repeated"):
        _rs(settings=[item]).grid()
    item = {**item, "name": "x"}
    with pytest.raises(ConfigError, match="reserved or repeated"):
        _rs(settings=[item, item]).grid()


def test_point_config_moves_one_knob_and_validates():
    cfg = default_config()
    point = point_config(cfg, "traps.holiday_scale", 2.0, 50)
    assert point["simulate"]["traps"]["holiday_scale"] == 2.0 and point["simulate"]["patients"] == 50
    assert cfg["simulate"]["traps"]["holiday_scale"] == 1.0  # the study's config is not changed
    with pytest.raises(ConfigError):
        point_config(cfg, "traps.dose_delay", 1.5, 50)  # a probability above 1


def test_grid_seed_is_not_the_study_seed():
    cfg = default_config()
    assert grid_seed(_rs(), cfg["seed"]) != cfg["seed"]
    assert grid_seed(_rs(seed=7), cfg["seed"]) == 7


@pytest.fixture(scope="module")
def tiny_grid() -> pd.DataFrame:
    cfg = default_config(scenarios=["odh_only", "linked"])
    cfg["lines"]["algorithms"] = ["lotluca", "meng2021"]
    rs = _rs(patients=60, bootstrap=5, settings=[{"name": "delay_length", "key": "traps.delay_scale", "values": [2.0]}])
    base = run_setting(cfg, "default", rs, {}, cfg["seed"])
    moved = run_setting(cfg, "delay_length", rs, {}, cfg["seed"])
    return pd.concat([base, moved], ignore_index=True)


def test_tiny_grid_scores_every_algorithm_scenario_metric_and_stratum(tiny_grid):
    t = tiny_grid
    assert list(t.columns) == ROBUSTNESS_COLUMNS
    assert set(t["setting"]) == {"default", "delay_length"} and set(t["value"]) == {"default", "2.0"}
    keys = t.groupby(["setting", "algorithm", "scenario"]).size()
    assert len(keys) == 2 * 2 * 2 and (keys == 4).all()  # 2 metrics x 2 strata each
    assert set(t["stratum"]) == {"several_or_maintenance", "all"}
    est = t["estimate"].dropna()
    assert len(est) > 0.9 * len(t) and est.between(0, 1).all()
    ok = t.dropna(subset=["ci_low", "ci_high", "estimate"])
    assert (ok["ci_low"] <= ok["ci_high"] + 1e-9).all()
    # a percentile CI of 5 bootstrap replicates need not contain the estimate (a near-perfect F1 resampled
    # five times can sit just above every replicate): most do
    inside = (ok["ci_low"] <= ok["estimate"] + 1e-9) & (ok["estimate"] <= ok["ci_high"] + 1e-9)
    assert inside.mean() >= 0.9, ok[~inside]


def test_gather_step_writes_the_csv_and_the_figure(tiny_grid, tmp_path):
    points = []
    for setting, part in tiny_grid.groupby("setting", sort=False):
        points.append(tmp_path / f"{setting}.csv")
        part.to_csv(points[-1], index=False)
    block = {
        **default_config()["robustness"],
        "settings": [{"name": "delay_length", "key": "traps.delay_scale", "values": [2.0]}],
    }
    out = {"csv": tmp_path / "r.csv", "png": tmp_path / "r.png", "pdf": tmp_path / "r.pdf"}
    robustness({"points": [str(p) for p in reversed(points)]}, out, robustness=block, dpi=60)
    t = pd.read_csv(out["csv"], dtype={"value": str})
    assert list(t.columns) == ROBUSTNESS_COLUMNS and t["setting"].iloc[0] == "default"  # baseline first
    assert len(t) == len(tiny_grid)
    assert out["png"].read_bytes()[:4] == b"\x89PNG" and out["pdf"].stat().st_size > 1000


def test_a_table_without_the_contract_columns_is_rejected():
    with pytest.raises(InputError, match="missing column"):
        check_table(pd.DataFrame({"setting": ["x"]}))


def test_lotluca_preset_holds_the_tuned_values_of_its_record():
    record = yaml.safe_load(tuning.record_path().read_text(encoding="utf-8"))
    assert record["tuning_seed"] != default_config()["seed"]
    assert set(record["chosen"]) == set(tuning.TUNED)
    params = load_params("lotluca")
    for key, value in record["chosen"].items():
        have = getattr(params, key)
        assert (list(have) if isinstance(have, tuple) else have) == value, key
    assert set(record["published_presets"]) | {"lotluca"} == set(available_presets())


def test_docs_section_is_generated_from_the_record():
    record = yaml.safe_load(tuning.record_path().read_text(encoding="utf-8"))
    text = (REPO / "docs" / "lines.md").read_text(encoding="utf-8")
    assert tuning.splice(text, tuning.render_docs(record)) == text


def test_write_preset_rewrites_only_the_tuned_lines(tmp_path):
    src = tuning.preset_path().read_text(encoding="utf-8")
    p = tmp_path / "lotluca.yaml"
    p.write_text(src, encoding="utf-8")
    tuning.write_preset({"gap_days": 150, "switch_maintenance_drugs": ["pemetrexed", "docetaxel"]}, p)
    new = p.read_text(encoding="utf-8")
    assert "\ngap_days: 150\n" in new and "\nswitch_maintenance_drugs: [pemetrexed, docetaxel]\n" in new
    assert len(new.splitlines()) == len(src.splitlines())
    params = load_params(str(p))
    assert params.gap_days == 150 and params.switch_maintenance_drugs == ("pemetrexed", "docetaxel")


def test_docs_table_shows_each_point_and_its_change_from_the_baseline():
    from lotluca.robustness.readme import BEGIN, END, splice, tables

    rows = []
    points = (("default", "default", 0.9), ("delay_length", "2.0", 0.8))
    points += (("leave_one_centre_out", "01", 0.7), ("leave_one_centre_out", "02", 0.6))
    for setting, value, f1 in points:
        for a, shift in (("lotluca", 0.0), ("meng2021", -0.1)):
            rows.append((setting, value, a, "linked", "line_f1", "several_or_maintenance", f1 + shift, 0.1, 1.0))
            rows.append((setting, value, a, "linked", "line_f1", "all", 0.99, 0.98, 1.0))
    md = tables(pd.DataFrame(rows, columns=ROBUSTNESS_COLUMNS))
    assert "| default | 0.900 | 0.800 |" in md
    assert "| delay_length = 2.0 | 0.800 (-0.100) | 0.700 (-0.100) |" in md
    assert "`meng2021` delay_length = 2.0 (-0.100)" in md and "0.990" not in md
    assert "| leave_one_centre_out = 01 | 0.700 | 0.600 |" in md  # another cohort: no change from the baseline
    assert "2 held-out centres" in md and "`lotluca` 0.650 (ranks 1, 1)" in md and "`meng2021` 0.550 (ranks 2, 2)" in md
    page = (REPO / "docs" / "robustness.md").read_text(encoding="utf-8")
    assert BEGIN in page and END in page
    assert splice(f"a\n{BEGIN}\nold\n{END}\nb\n", "new\n") == f"a\n{BEGIN}\nnew\n{END}\nb\n"


@pytest.mark.workflow
def test_tiny_study_grid_scores_every_evaluated_algorithm_and_scenario(tiny_study):
    """The rule on the tiny study: every (scenario, algorithm) of the evaluation, the learned model
    included, at the baseline and at every grid point, and the figure."""
    t = pd.read_csv(tiny_study / "results/export/robustness/robustness.csv", dtype={"value": str})
    metrics = pd.read_csv(tiny_study / "results/evaluation/metrics.csv")
    assert list(t.columns) == ROBUSTNESS_COLUMNS
    evaluated = set(map(tuple, metrics[["scenario", "algorithm"]].drop_duplicates().to_numpy()))
    for _, point in t.groupby(["setting", "value"]):
        assert set(map(tuple, point[["scenario", "algorithm"]].drop_duplicates().to_numpy())) == evaluated
    assert "xgboost" in set(t["algorithm"]) and t["setting"].iloc[0] == "default"
    assert (tiny_study / "results/export/robustness/robustness.png").stat().st_size > 5000


# --- leave one centre out (lotluca.robustness.loco) -----------------------------------------------------------------
def test_loco_folds_hold_out_exactly_one_centres_persons():
    from lotluca.robustness import loco

    gold = pd.DataFrame(
        {"person_id": ["C01-1", "C01-1", "C02-7", "C03-2", "C03-9"], "line_number": [1, 2, 1, 1, 1], "split": "test"}
    )
    assert loco.held_out_centres(gold, []) == ["01", "02", "03"]
    assert loco.held_out_centres(gold, ["03"]) == ["03"]
    with pytest.raises(ConfigError, match="no gold person"):
        loco.held_out_centres(gold, ["07"])
    train, test = loco.fold_gold(gold, "03")
    assert set(test["person_id"]) == {"C03-2", "C03-9"} and "split" not in test
    assert set(train["person_id"]) == {"C01-1", "C02-7"} and (train["split"] == "train").all()
    with pytest.raises(ConfigError, match="centre code"):
        loco.centre_of(pd.Series(["P000000001"]))


def test_loco_scores_the_refitted_learned_model_and_the_rules_on_each_held_out_centre(tmp_path):
    from lotluca.robustness import loco

    cfg = default_config(scenarios=["linked"])
    cfg["lines"]["algorithms"] = ["lotluca", "meng2021"]
    model = tmp_path / "model.json"  # the tuned point of a study model (refit: no cross-validation)
    point = {"learning_rate": 0.1, "max_depth": 3, "n_estimators": 50}
    model.write_text(json.dumps({"summary": {"chosen": {"point": point, "threshold": 0.5}}}), encoding="utf-8")
    alg = cfg["learned"]["algorithm"]
    rs = _rs(bootstrap=5, leave_one_centre_out={"enabled": True, "patients": 150, "spread": 1.0, "centres": []})
    t = run_setting(cfg, loco.SETTING, rs, {"linked": {alg: str(model)}}, cfg["seed"])
    assert list(t.columns) == ROBUSTNESS_COLUMNS and set(t["setting"]) == {loco.SETTING}
    assert set(t["value"]) == {"01", "02", "03"}  # simulate.centres = 3, each held out in turn
    keys = t.groupby(["value", "algorithm", "scenario"]).size()
    assert set(t["algorithm"]) == {"lotluca", "meng2021", alg} and (keys == 4).all()
    est = t.loc[t["metric"] == "line_f1", "estimate"].dropna()
    assert len(est) and est.between(0, 1).all()
