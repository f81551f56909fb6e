"""The scoring kit: submission validation (each documented error), `lotluca evaluate` round trip, the
README table, the evaluate step's config wiring."""

from __future__ import annotations

import json

import pandas as pd
import pyarrow as pa
import pytest

import lotluca.cli
from conftest import REPO
from lotluca.config import load_config
from lotluca.contracts import GOLD_LINES, conform
from lotluca.errors import InputError
from lotluca.evaluate import EvaluateSettings, bootstrap_seed, readme_table
from lotluca.evaluate.readme import BEGIN, END, splice
from lotluca.evaluate.submission import load_gold, load_submission, validate_lines
from lotluca.io import write_parquet

HEADER = "person_id,line_number,start_date,end_date,regimen,regimen_class,is_maintenance,end_reason,algorithm\n"
GOOD = [
    "a,1,2020-01-01,2020-03-10,carboplatin+pemetrexed,chemo_doublet,false,maintenance,mine",
    "a,1,2020-03-15,2020-08-01,pemetrexed,single_agent_chemo,true,new_drug,mine",
    "a,2,2020-09-01,2020-12-01,docetaxel,single_agent_chemo,false,death,mine",
    "b,1,2021-02-01,2021-12-31,osimertinib,egfr_tki,false,end_of_data,mine",
]


@pytest.fixture
def gold_file(tmp_path):
    df = pd.DataFrame(
        {
            "person_id": ["a", "a", "a", "b", "t"],
            "line_number": [1, 1, 2, 1, 1],
            "start_date": pd.to_datetime(["2020-01-01", "2020-03-15", "2020-09-01", "2021-02-01", "2019-05-01"]).date,
            "end_date": pd.to_datetime(["2020-03-10", "2020-08-01", "2020-12-01", "2021-12-31", "2019-09-01"]).date,
            "regimen": ["carboplatin+pemetrexed", "pemetrexed", "docetaxel", "osimertinib", "docetaxel"],
            "regimen_class": [
                "chemo_doublet",
                "single_agent_chemo",
                "single_agent_chemo",
                "egfr_tki",
                "single_agent_chemo",
            ],
            "is_maintenance": [False, True, False, False, False],
            "end_reason": [None] * 5,
            "algorithm": "gold",
            "split": ["test", "test", "test", "test", "train"],
        }
    )
    path = tmp_path / "gold_lines.parquet"
    write_parquet(conform(pa.Table.from_pandas(df, preserve_index=False), GOLD_LINES, "gold_lines"), path)
    return path


@pytest.fixture(autouse=True)
def only_evaluate_subcommand(monkeypatch):
    """The `lotluca` command with only this stage's sub-command (other stages may be mid-work)."""
    monkeypatch.setattr(lotluca.cli, "STAGE_MODULES", ["lotluca.evaluate.cli"])


def lotluca_main(argv):
    return lotluca.cli.main(argv)


def write_csv(tmp_path, rows, header=HEADER, name="pred.csv"):
    path = tmp_path / name
    path.write_text(header + "\n".join(rows) + "\n", encoding="utf-8")
    return path


def error_of(tmp_path, gold_file, rows, header=HEADER) -> InputError:
    _, persons = load_gold(gold_file)
    with pytest.raises(InputError) as exc:
        load_submission(write_csv(tmp_path, rows, header), persons)
    return exc.value


# -- submission validation: each documented error ------------------------------------------------------


def test_valid_submission_is_typed(tmp_path, gold_file):
    _, persons = load_gold(gold_file)
    sub = load_submission(write_csv(tmp_path, GOOD), persons)
    assert sub["is_maintenance"].tolist() == [False, True, False, False]
    assert sub["line_number"].tolist() == [1, 1, 2, 1]
    assert str(sub["start_date"].iloc[3].date()) == "2021-02-01"


def test_missing_columns(tmp_path, gold_file):
    header = "person_id,line_number,start_date,end_date,regimen_class,algorithm\n"
    err = error_of(tmp_path, gold_file, ["a,1,2020-01-01,2020-02-01,chemo_doublet,x"], header)
    assert "missing required column(s) regimen, is_maintenance" in str(err)
    assert str(err).startswith(str(tmp_path / "pred.csv"))


def test_bad_dates(tmp_path, gold_file):
    rows = GOOD[:1] + ["a,2,01/09/2020,,docetaxel,,false,,mine", "b,1,,,osimertinib,,false,,mine"]
    err = error_of(tmp_path, gold_file, rows)
    assert "unparseable or missing date" in str(err) and err.column == "start_date" and err.rows == [2, 3]
    assert "expected ISO dates YYYY-MM-DD" in str(err)
    err = error_of(tmp_path, gold_file, ["a,1,2020-01-01,2020-13-45,docetaxel,,false,,mine"])
    assert err.column == "end_date" and err.rows == [1]
    err = error_of(tmp_path, gold_file, ["a,1,2020-01-01,2019-12-01,docetaxel,,false,,mine"])
    assert "end_date before start_date" in str(err) and err.rows == [1]


def test_unknown_persons(tmp_path, gold_file):
    err = error_of(tmp_path, gold_file, [*GOOD, "zz9,1,2020-01-01,,docetaxel,,false,,mine"])
    assert "1 person(s) not in the gold standard: zz9" in str(err) and err.column == "person_id" and err.rows == [5]


def test_duplicate_lines(tmp_path, gold_file):
    err = error_of(tmp_path, gold_file, [*GOOD, "a,2,2020-10-01,,nivolumab,,false,,mine"])
    assert "duplicate lines (same person_id, line_number and is_maintenance)" in str(err) and err.rows == [5]


@pytest.mark.parametrize(
    ("row", "message", "column"),
    [
        ("a,0,2020-01-01,,docetaxel,,false,,mine", "line_number is not a positive integer", "line_number"),
        ("a,1.5,2020-01-01,,docetaxel,,false,,mine", "line_number is not a positive integer", "line_number"),
        ("a,1,2020-01-01,,docetaxel,,maybe,,mine", "is_maintenance is not a boolean", "is_maintenance"),
        ("a,1,2020-01-01,,,,false,,mine", "missing regimen", "regimen"),
        (",1,2020-01-01,,docetaxel,,false,,mine", "missing person_id", "person_id"),
    ],
)
def test_other_row_errors(tmp_path, gold_file, row, message, column):
    err = error_of(tmp_path, gold_file, [row])
    assert message in str(err) and err.column == column and err.rows == [1]


def test_several_algorithms(tmp_path, gold_file):
    err = error_of(tmp_path, gold_file, [GOOD[0], GOOD[2].replace(",mine", ",other")])
    assert "several algorithms in one file: mine, other" in str(err)


def test_unsupported_file_and_missing_file(tmp_path):
    (tmp_path / "x.xlsx").write_text("")
    with pytest.raises(InputError, match="unsupported file type"):
        load_gold(tmp_path / "x.xlsx")
    with pytest.raises(InputError, match="file not found"):
        load_gold(tmp_path / "nope.parquet")


def test_gold_split_restriction(gold_file):
    gold, persons = load_gold(gold_file, "test")
    assert set(gold["person_id"]) == {"a", "b"} and set(persons) == {"a", "b", "t"}
    gold_all, _ = load_gold(gold_file, None)
    assert "t" in set(gold_all["person_id"])
    with pytest.raises(InputError, match="no person in split 'validation'"):
        load_gold(gold_file, "validation")


def test_parquet_submission_with_optional_columns_absent(tmp_path, gold_file):
    df = pd.DataFrame(
        {
            "person_id": ["a"],
            "line_number": [1],
            "start_date": pd.to_datetime(["2020-01-01"]).date,
            "regimen": ["carboplatin+pemetrexed"],
            "is_maintenance": [False],
        }
    )
    path = tmp_path / "pred.parquet"
    df.to_parquet(path)
    _, persons = load_gold(gold_file)
    sub = load_submission(path, persons)
    assert sub["regimen_class"].isna().all() and len(sub) == 1


# -- CLI round trip --------------------------------------------------------------------------------------


def test_cli_round_trip(tmp_path, gold_file, capsys):
    # drop a's second line: recall 2/3 on the test split (person t is train: not scored)
    pred = write_csv(tmp_path, [GOOD[0], GOOD[1], GOOD[3]])
    out = tmp_path / "out" / "metrics.json"
    rc = lotluca_main(
        ["evaluate", "--pred", str(pred), "--gold", str(gold_file), "--output", str(out), "--bootstrap", "50"]
    )
    assert rc == 0
    res = json.loads(out.read_text())
    allm = res["metrics"]["all"]
    assert res["n_persons"] == 2 and res["settings"]["tolerance_days"] == 30
    assert allm["line_precision"]["estimate"] == 1.0
    assert allm["line_recall"]["estimate"] == pytest.approx(2 / 3, abs=1e-6)
    assert allm["maintenance_recall"]["estimate"] == 1.0
    assert allm["sequence_exact"]["estimate"] == 0.5
    assert allm["line_recall"]["ci_low"] <= allm["line_recall"]["estimate"] <= allm["line_recall"]["ci_high"]
    assert {"all", "one_line", "several_or_maintenance"} <= set(res["metrics"])
    printed = capsys.readouterr().out
    assert "line_f1" in printed and "sequence_exact" in printed


def test_cli_tolerance_option(tmp_path, gold_file):
    pred = write_csv(tmp_path, [*GOOD[:3], GOOD[3].replace("2021-02-01", "2021-02-11")])
    out = tmp_path / "m.json"
    assert (
        lotluca_main(
            [
                "evaluate",
                "--pred",
                str(pred),
                "--gold",
                str(gold_file),
                "--output",
                str(out),
                "--bootstrap",
                "0",
                "--tolerance-days",
                "9",
            ]
        )
        == 0
    )
    allm = json.loads(out.read_text())["metrics"]["all"]
    assert allm["line_recall"]["estimate"] == pytest.approx(2 / 3, abs=1e-6) and allm["line_recall"]["ci_low"] is None


def test_cli_bad_submission_exits_2_with_message(tmp_path, gold_file, capsys):
    pred = write_csv(tmp_path, [*GOOD, "zz9,1,2020-01-01,,docetaxel,,false,,mine"])
    rc = lotluca_main(["evaluate", "--pred", str(pred), "--gold", str(gold_file), "--output", str(tmp_path / "m.json")])
    assert rc == 2
    err = capsys.readouterr().err
    assert "lotluca evaluate: error:" in err and "not in the gold standard: zz9" in err and "Traceback" not in err
    assert not (tmp_path / "m.json").exists()


def test_lines_cli_output_is_a_valid_submission(tmp_path, gold_file):
    """`lotluca lines` CSV output format (true/false booleans, ISO dates, empty end_reason) validates."""
    rows = ["a,1,2020-01-01,2020-03-10,carboplatin+pemetrexed,chemo_doublet,False,,lotluca"]
    _, persons = load_gold(gold_file)
    assert len(load_submission(write_csv(tmp_path, rows), persons)) == 1


# -- README table, config ---------------------------------------------------------------------------------


def metrics_table():
    rows = []
    for scen in ("odh_only", "linked"):
        for algo, f1 in (("lotluca", 0.9), ("meng2021", 0.8)):
            rows.append((scen, algo, "line_f1", "several_or_maintenance", f1, f1 - 0.02, f1 + 0.02, 100))
            rows.append((scen, algo, "sequence_exact", "several_or_maintenance", f1 - 0.3, f1 - 0.35, f1 - 0.25, 50))
            rows.append((scen, algo, "line_f1", "all", 0.97, 0.96, 0.98, 130))  # not the headline stratum
            rows.append((scen, algo, "line_f1", "one_line", 0.99, 0.98, 1.0, 30))
    return pd.DataFrame(
        rows, columns=["scenario", "algorithm", "metric", "stratum", "estimate", "ci_low", "ci_high", "n"]
    )


def test_readme_table_renders_algorithms_by_scenarios():
    md = readme_table(metrics_table())
    lines = md.splitlines()
    assert (
        lines[0]
        == "| algorithm | odh_only: line F1 | odh_only: full sequence | linked: line F1 | linked: full sequence |"
    )
    assert (
        lines[2]
        == "| `lotluca` | 0.900 (0.880-0.920) | 0.600 (0.550-0.650) | 0.900 (0.880-0.920) | 0.600 (0.550-0.650) |"
    )
    assert lines[3].startswith("| `meng2021` | 0.800 (0.780-0.820)")
    assert "50 gold test persons" in md and "several_or_maintenance" in md and "0.970" not in md


def test_readme_splice_replaces_only_between_markers():
    text = f"# T\nbefore\n{BEGIN}\nold table\n{END}\nafter\n"
    out = splice(text, "NEW\n")
    assert out == f"# T\nbefore\n{BEGIN}\nNEW\n{END}\nafter\n"
    with pytest.raises(InputError, match="markers"):
        splice("no markers", "x")


def test_settings_from_the_shipped_config():
    cfg = load_config(REPO / "config.yaml")
    s = EvaluateSettings.from_config(cfg["evaluate"], seed=bootstrap_seed(cfg["seed"]))
    assert s.tolerance_days == 30 and s.bootstrap >= 200 and s.split == "test"
    assert s.seed == bootstrap_seed(cfg["seed"]) != bootstrap_seed(cfg["seed"] + 1)


def test_bootstrap_seed_keeps_its_label():
    """The bootstrap seed derives from the master seed with the label "evaluation": changing the label
    would change every CI of the study."""
    from lotluca.evaluate.bootstrap import derive_seed

    assert bootstrap_seed(20261123) == derive_seed(20261123, "evaluation")


def test_validate_lines_accepts_typed_frames():
    df = pd.DataFrame(
        {
            "person_id": ["a"],
            "line_number": [1],
            "start_date": pd.to_datetime(["2020-01-01"]),
            "regimen": ["docetaxel"],
            "is_maintenance": [False],
        }
    )
    assert validate_lines(df, "mem")["start_date"].iloc[0] == pd.Timestamp("2020-01-01")


def test_evaluate_subcommand_is_registered():
    assert '"lotluca.evaluate.cli"' in (REPO / "scripts" / "lotluca" / "cli.py").read_text()


def test_evaluate_steps_write_every_output(tmp_path, gold_file):
    """The step functions `evaluate_shard` (per shard, every pair) then `evaluate`, on two scenarios x two
    algorithms and 2 patient shards (every prediction split into shards as the lines step writes them);
    predictions also cover persons outside the test split (not scored)."""
    from lotluca.evaluate import steps
    from lotluca.sharding import split_files

    cfg = load_config(REPO / "config.yaml")
    evaluation = {**cfg["evaluate"], "bootstrap": 50}
    gold = pd.read_parquet(gold_file)
    pairs = [[scen, algo] for scen in ("odh_only", "linked") for algo in ("lotluca", "meng2021")]
    lines_shards, persons = {}, {}
    for scen, algo in pairs:
        pred = gold.drop(columns="split").assign(algorithm=algo, end_reason="gap")
        if algo == "meng2021":
            pred = pred[pred["regimen"] != "docetaxel"]
        path = tmp_path / "lines" / scen / f"{algo}.parquet"
        path.parent.mkdir(parents=True, exist_ok=True)
        pred.to_parquet(path)
        lines_shards[scen, algo] = [tmp_path / "lines_shards" / scen / algo / f"{k}.parquet" for k in range(2)]
        split_files({"lines": path}, {"lines": lines_shards[scen, algo]})
        persons[scen, algo] = [str(tmp_path / "shards" / "evaluation" / scen / algo / f"{k}.parquet") for k in range(2)]
    for k in range(2):
        steps.evaluate_shard(
            {"gold": str(gold_file), "lines": [str(lines_shards[s, a][k]) for s, a in pairs]},
            {"persons": [persons[s, a][k] for s, a in pairs]},
            evaluate=evaluation,
            seed=cfg["seed"],
            pairs=pairs,
            shard=str(k),
            n_shards=2,
        )
    out = tmp_path / "evaluation"
    names = ["metrics_csv", "metrics_parquet", "summary", "per_patient", "readme_table"]
    files = ["metrics.csv", "metrics.parquet", "summary.json", "per_patient.parquet", "README_table.md"]
    steps.evaluate(
        {"persons": [f for s, a in pairs for f in persons[s, a]]},
        {n: str(out / f) for n, f in zip(names, files, strict=True)},
        evaluate=evaluation,
        seed=cfg["seed"],
        pairs=pairs,
        n_shards=2,
        scenarios=["odh_only", "linked"],
        algorithms=["lotluca", "meng2021"],
    )
    metrics = pd.read_csv(out / "metrics.csv")
    assert list(metrics.columns) == ["scenario", "algorithm", "metric", "stratum", "estimate", "ci_low", "ci_high", "n"]
    pd.testing.assert_frame_equal(metrics, pd.read_parquet(out / "metrics.parquet"), check_exact=False, rtol=1e-5)
    f1 = metrics[(metrics["metric"] == "line_f1") & (metrics["stratum"] == "all")].set_index(["scenario", "algorithm"])[
        "estimate"
    ]
    assert f1[("linked", "lotluca")] == 1.0 and f1[("linked", "meng2021")] == pytest.approx(0.8)
    pp = pd.read_parquet(out / "per_patient.parquet")
    assert len(pp) == 2 * 2 * 2 and "t" not in set(pp["person_id"])  # train person not scored
    summary = json.loads((out / "summary.json").read_text())
    assert summary["best_by_line_f1"]["odh_only"]["algorithm"] == "lotluca" and summary["n_persons"] == 2
    assert summary["headline_stratum"] == "several_or_maintenance"
    table = (out / "README_table.md").read_text()
    assert table.startswith("| algorithm | odh_only: line F1 | odh_only: full sequence | linked: line F1")


def test_evaluate_step_rejects_files_that_do_not_match_the_pairs(tmp_path):
    from lotluca.evaluate import steps

    cfg = load_config(REPO / "config.yaml")
    with pytest.raises(InputError, match="3 file\\(s\\) for 2 \\(scenario, algorithm\\) pair\\(s\\) x 2 shard"):
        steps.evaluate(
            {"persons": ["a", "b", "c"]},
            {},
            evaluate=cfg["evaluate"],
            seed=1,
            pairs=[["linked", "x"], ["linked", "y"]],
            n_shards=2,
            scenarios=["linked"],
            algorithms=["x", "y"],
        )


def test_lines_shard_of_the_learned_algorithm_is_scored_like_any_other(tmp_path, gold_file):
    """No algorithm is special: every pair's lines come as a shard file, a row of another shard is an error."""
    from lotluca.evaluate import steps

    cfg = load_config(REPO / "config.yaml")
    gold = pd.read_parquet(gold_file)
    path = tmp_path / "xgboost.parquet"
    gold.drop(columns="split").assign(algorithm="xgboost").to_parquet(path)  # every shard's persons
    with pytest.raises(InputError, match="hashed to another shard"):
        for k in range(3):
            steps.evaluate_shard(
                {"gold": str(gold_file), "lines": [str(path)]},
                {"persons": [str(tmp_path / f"{k}.parquet")]},
                evaluate=cfg["evaluate"],
                seed=1,
                pairs=[["linked", "xgboost"]],
                shard=str(k),
                n_shards=3,
            )


def test_readme_documents_every_submission_error():
    import re

    from lotluca.evaluate import submission

    page = (REPO / "docs" / "evaluate.md").read_text()
    section = page[page.index("## Scoring kit") :]
    section = section[: section.index("\n## ", 3)] if "\n## " in section[3:] else section
    documented = re.findall(r"^\| `([^`]+)`", section, flags=re.M)
    assert len(documented) >= 10
    source = (REPO / "scripts" / "lotluca" / "evaluate" / "submission.py").read_text()
    for message in documented:
        stem = message.split("...")[0].split(":")[0].replace("N person(s)", "person(s)").strip()
        assert stem in source, message
    assert submission.__doc__ and "not in the gold standard" in submission.__doc__


def test_cli_can_ignore_unknown_persons(tmp_path, gold_file, capsys):
    pred = write_csv(tmp_path, [*GOOD, "zz9,1,2020-01-01,,docetaxel,,false,,mine"])
    out = tmp_path / "m.json"
    argv = ["evaluate", "--pred", str(pred), "--gold", str(gold_file), "--output", str(out), "--bootstrap", "0"]
    assert lotluca_main([*argv, "--ignore-unknown-persons"]) == 0
    assert "ignored 1 rows of 1 persons absent from the gold file" in capsys.readouterr().err
    assert json.loads(out.read_text())["metrics"]["all"]["line_f1"]["estimate"] == 1.0
