"""The shared `--lines` argument helper, `--config` read by lotluca.config.load_config, and their clear errors
through the `lotluca` command."""

from __future__ import annotations

from pathlib import Path

import pytest

from lotluca.cli import main
from lotluca.cliargs import line_sources
from lotluca.errors import InputError


def test_line_sources_split_on_the_first_two_colons():
    assert line_sources(["lotluca:linked:/data/a:b.parquet"]) == [("lotluca", "linked", "/data/a:b.parquet")]
    assert line_sources(None) == []


def test_bad_lines_spec_is_a_clear_error():
    with pytest.raises(InputError, match="ALGORITHM:SCENARIO:PATH"):
        line_sources(["lotluca-linked.parquet"])


@pytest.fixture
def stage_commands(monkeypatch):
    """The `lotluca` command with the sub-commands under test only (other stages may be mid-work)."""
    import lotluca.cli

    monkeypatch.setattr(lotluca.cli, "STAGE_MODULES", ["lotluca.effectiveness.cli", "lotluca.concomitant.cli"])


@pytest.mark.parametrize("command", ["effectiveness", "concomitant"])
def test_cli_reports_a_bad_lines_spec_without_traceback(command, capsys, stage_commands):
    extra = ["--exposures", "e.parquet"] if command == "concomitant" else []
    code = main([command, "--gold", "g.parquet", "--persons", "p.parquet", *extra, "--lines", "nocolons"])
    assert code == 2
    err = capsys.readouterr().err
    assert "ALGORITHM:SCENARIO:PATH" in err and "Traceback" not in err


@pytest.mark.parametrize("command", ["effectiveness", "bias", "concomitant"])
def test_cli_reports_a_missing_config_file_without_traceback(command, capsys, stage_commands, tmp_path):
    extra = {"effectiveness": ["--gold", "g", "--persons", "p"], "bias": ["--endpoints", "e"]}.get(
        command, ["--gold", "g", "--persons", "p", "--exposures", "e"]
    )
    code = main([command, *extra, "--config", str(tmp_path / "missing.yaml")])
    assert code == 2
    err = capsys.readouterr().err
    assert "config file not found" in err and "Traceback" not in err


def test_default_output_paths_come_from_the_layout():
    """Without --private-dir / --export-dir the commands write where the workflow writes."""
    import argparse

    from lotluca.concomitant import cli as concomitant_cli
    from lotluca.effectiveness import cli as effectiveness_cli
    from lotluca.layout import path

    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="command")
    effectiveness_cli.register(sub)
    concomitant_cli.register(sub)
    text = parser.format_help() + sub.choices["effectiveness"].format_help() + sub.choices["concomitant"].format_help()
    assert str(Path(path("effectiveness.endpoints")).parent) in " ".join(text.split())
    assert str(Path(path("concomitant.cohorts")).parent) in " ".join(text.split())
