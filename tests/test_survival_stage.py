"""The effectiveness and bias steps end to end on small Parquet files (through the `lotluca` sub-commands and the
step functions):
outputs written, no small count and no source id in anything exported, clear errors on bad input."""

from __future__ import annotations

import argparse

import pandas as pd
import pyarrow as pa
import pytest
import yaml

from lotluca.effectiveness import cli
from lotluca.errors import InputError
from lotluca.io import write_parquet
from test_survival import synthetic_cohort

EXPORT_COUNTS = {
    "km_summary": ["n_persons", "n_lines", "n_events"],
    "at_risk": ["at_risk"],
    "bias": ["n_lines_gold", "n_events_gold", "n_lines_algo", "n_events_algo"],
}


def _run(argv):
    parser = argparse.ArgumentParser()
    cli.register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return args.func(args)


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("eff")
    gold, persons = synthetic_cohort(400, seed=5)
    gold["algorithm"] = "gold"
    algo = gold.drop(columns="split").assign(algorithm="meng2021")
    second = algo["line_number"] == 2
    algo.loc[second, "start_date"] += pd.Timedelta(days=30)  # late second lines
    algo.loc[second, "end_date"] = algo.loc[second, ["start_date", "end_date"]].max(axis=1)
    paths = {"gold": tmp / "gold.parquet", "persons": tmp / "persons.parquet", "algo": tmp / "algo.parquet"}
    for key, df in (("gold", gold), ("persons", persons), ("algo", algo)):
        write_parquet(pa.Table.from_pandas(df, preserve_index=False), paths[key])
    cfg = {"seed": 3, "effectiveness": {"gold_splits": ["train", "test"], "bootstrap": 15}, "privacy": {"min_cell": 10}}
    (tmp / "config.yaml").write_text(yaml.safe_dump(cfg))
    common = ["--config", str(tmp / "config.yaml")]
    lines = f"meng2021:linked:{paths['algo']}"
    _run(
        ["effectiveness", "--gold", str(paths["gold"]), "--persons", str(paths["persons"]), "--lines", lines]
        + ["--private-dir", str(tmp / "private"), "--export-dir", str(tmp / "export" / "effectiveness"), *common]
    )
    _run(
        [
            "bias",
            "--endpoints",
            str(tmp / "private" / "endpoints.parquet"),
            "--export-dir",
            str(tmp / "export" / "bias"),
            *common,
        ]
    )
    return tmp, gold


def test_outputs_written_and_tidy(study):
    tmp, gold = study
    summary = pd.read_csv(tmp / "export/effectiveness/km_summary.csv")
    assert set(summary["algorithm"]) == {"gold", "meng2021"}
    assert set(summary["endpoint"]) == {"rwTTNT", "rwTTNT_dc", "rwTTD", "rwOS"}
    assert {"1", "2", "3+"} <= set(summary.loc[summary["stratum_type"] == "line", "stratum"].astype(str))
    for name in ("km_curves", "at_risk", "logrank", "cox"):
        assert len(pd.read_csv(tmp / f"export/effectiveness/{name}.csv")) > 0, name
    cox = pd.read_csv(tmp / "export/effectiveness/cox.csv")
    assert {"treatment", "age_per_10y"} <= set(cox["term"]) and cox["converged"].all()
    bias = pd.read_csv(tmp / "export/bias/bias.csv")
    assert len(bias) == 4 * 3 and set(bias["algorithm"]) == {"meng2021"}
    assert pd.read_parquet(tmp / "export/bias/bias.parquet").shape == bias.shape
    # the algorithm delays every second line: first-line rwTTNT gets longer, OS from line 1 is unchanged
    b = bias.set_index(["endpoint", "line_group"])
    assert b.loc[("rwTTNT", "1"), "median_diff"] > 0 and b.loc[("rwOS", "1"), "median_diff"] == 0
    assert b.loc[("rwOS", "1"), "hr_ratio"] == 1.0
    assert len(pd.read_csv(tmp / "export/bias/bias_summary.csv")) == 1


def test_no_small_count_and_no_source_id_exported(study):
    tmp, gold = study
    ids = set(gold["person_id"])
    for name, cols in EXPORT_COUNTS.items():
        folder = "bias" if name == "bias" else "effectiveness"
        df = pd.read_csv(tmp / f"export/{folder}/{name}.csv")
        for c in cols:
            v = df[c].dropna()
            assert not v.between(1, 9).any(), (name, c)
    for f in (tmp / "export").rglob("*.csv"):
        text = f.read_text()
        assert not any(i in text for i in ids), f
    private = pd.read_parquet(tmp / "private/endpoints.parquet")
    assert not private["person_id"].isin(ids).any() and private["person_id"].str.match(r"^P[0-9a-f]{16}$").all()
    assert private["person_id"].nunique() == gold["person_id"].nunique()


def test_algorithm_lines_with_foreign_ids_are_refused(study, tmp_path):
    tmp, gold = study
    algo = gold.drop(columns="split").assign(person_id=lambda d: "BEN" + d["person_id"])
    write_parquet(pa.Table.from_pandas(algo, preserve_index=False), tmp_path / "algo.parquet")
    with pytest.raises(InputError, match="person ids"):
        _run(
            ["effectiveness", "--gold", str(tmp / "gold.parquet"), "--persons", str(tmp / "persons.parquet")]
            + ["--lines", f"x:linked:{tmp_path / 'algo.parquet'}", "--private-dir", str(tmp_path / "p")]
            + ["--export-dir", str(tmp_path / "e"), "--config", str(tmp / "config.yaml")]
        )


def test_readme_block_is_generated_from_the_bias_summary(study, tmp_path):
    from lotluca.effectiveness.readme import BEGIN, END, render, update_readme

    tmp, _ = study
    block = render(tmp / "export" / "bias")
    assert "**meng2021** keeps the effectiveness estimates closest" in block and "| meng2021 |" in block
    readme = tmp_path / "README.md"
    readme.write_text(f"intro\n{BEGIN}\nPLACEHOLDER\n{END}\nrest\n")
    update_readme(readme, block)
    text = readme.read_text()
    assert "PLACEHOLDER" not in text and block in text and text.startswith("intro") and text.endswith("rest\n")


def test_step_functions_write_what_the_commands_write(study, tmp_path):
    """lotluca.effectiveness.steps, called as the workflow calls them (whole config blocks), gives the
    files of the `lotluca effectiveness` / `lotluca bias` commands byte for byte."""
    from lotluca.config import load_config
    from lotluca.effectiveness import steps

    tmp, _ = study
    cfg = load_config(tmp / "config.yaml")
    outputs = {"endpoints": str(tmp_path / "endpoints.parquet")}
    outputs |= {name: str(tmp_path / f"{name}.csv") for name in steps.EXPORT_TABLES}
    steps.effectiveness(
        {
            "gold": str(tmp / "gold.parquet"),
            "persons": str(tmp / "persons.parquet"),
            "lines": [str(tmp / "algo.parquet")],
        },
        outputs,
        sources=[["meng2021", "linked"]],
        effectiveness=cfg["effectiveness"],
        privacy=cfg["privacy"],
        seed=cfg["seed"],
        study=cfg["study"],
    )
    for name in steps.EXPORT_TABLES:
        assert (tmp_path / f"{name}.csv").read_bytes() == (tmp / f"export/effectiveness/{name}.csv").read_bytes()
    bias = {
        "csv": tmp_path / "bias.csv",
        "parquet": tmp_path / "bias.parquet",
        "summary": tmp_path / "bias_summary.csv",
    }
    steps.effectiveness_bias(
        {"endpoints": outputs["endpoints"]},
        {k: str(v) for k, v in bias.items()},
        effectiveness=cfg["effectiveness"],
        privacy=cfg["privacy"],
        seed=cfg["seed"],
    )
    for key, path in bias.items():
        assert path.read_bytes() == (tmp / "export/bias" / path.name).read_bytes(), key


def test_step_refuses_lines_files_that_do_not_match_the_sources(study, tmp_path):
    from lotluca.config import default_config
    from lotluca.effectiveness import steps

    tmp, _ = study
    cfg = default_config()
    with pytest.raises(InputError, match="1 lines file\\(s\\) for 2 source\\(s\\)"):
        steps.effectiveness(
            {"gold": str(tmp / "gold.parquet"), "persons": str(tmp / "persons.parquet"), "lines": ["a.parquet"]},
            {},
            sources=[["a", "linked"], ["b", "linked"]],
            effectiveness=cfg["effectiveness"],
            privacy=cfg["privacy"],
            seed=1,
            study=cfg["study"],
        )


def test_settings_from_the_default_config():
    from lotluca.config import default_config
    from lotluca.effectiveness.settings import EffectivenessSettings
    from lotluca.privacy import PrivacySettings

    cfg = default_config()
    s = EffectivenessSettings.from_config(cfg["effectiveness"])
    assert s.cox.era_start_years == (2012, 2017, 2019) and s.gold_splits == ("test",) and s.ttd_gap_days == 120
    assert PrivacySettings.from_config(cfg["privacy"]).min_cell == 10
