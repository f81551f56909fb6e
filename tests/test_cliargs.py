"""The shared `--config` / `--lines` argument helpers, and their clear errors through the `lotluca` command."""

from __future__ import annotations

import pytest

from lotluca.cli import main
from lotluca.cliargs import line_sources, read_config
from lotluca.errors import InputError


def test_line_sources_split_on_the_first_two_colons():
    assert line_sources(["lotluca:linked:/data/a:b.parquet"]) == [("lotluca", "linked", "/data/a:b.parquet")]
    assert line_sources(None) == []


def test_bad_lines_spec_is_a_clear_error():
    with pytest.raises(InputError, match="ALGORITHM:SCENARIO:PATH"):
        line_sources(["lotluca-linked.parquet"])


def test_read_config(tmp_path):
    assert read_config(None) == {}
    (tmp_path / "c.yaml").write_text("seed: 3\n")
    assert read_config(str(tmp_path / "c.yaml")) == {"seed": 3}
    with pytest.raises(InputError, match="config file not found"):
        read_config(str(tmp_path / "missing.yaml"))


@pytest.mark.parametrize("command", ["effectiveness", "concomitant"])
def test_cli_reports_a_bad_lines_spec_without_traceback(command, capsys):
    extra = ["--exposures", "e.parquet"] if command == "concomitant" else []
    code = main([command, "--gold", "g.parquet", "--persons", "p.parquet", *extra, "--lines", "nocolons"])
    assert code == 2
    err = capsys.readouterr().err
    assert "ALGORITHM:SCENARIO:PATH" in err and "Traceback" not in err
