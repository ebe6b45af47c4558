"""The ``genai-cost`` command line: subcommand discovery and ``serve`` option errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from genai_cost.processor import cli


def test_subcommands_are_discovered_from_the_commands_package() -> None:
    parser = cli.build_parser()
    choices = parser._subparsers._group_actions[0].choices  # type: ignore[union-attr]
    assert "serve" in choices
    assert "query_options" not in choices  # helper modules without register() are not commands


def test_serve_reports_a_bad_flag_value_and_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["serve", "--http-port", "99999"]) == 2
    assert capsys.readouterr().err == "genai-cost serve: --http-port: '99999' must be between 0 and 65535\n"


def test_serve_reports_a_bad_config_file_and_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "genai-cost.yaml"
    config.write_text("ledger:\n  synchronous: sometimes\n")
    assert cli.main(["serve", "--config", str(config)]) == 2
    assert capsys.readouterr().err == (
        "genai-cost serve: ledger.synchronous: 'sometimes' is not one of full, normal, extra, off\n"
    )


def test_no_subcommand_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        cli.main([])
    assert info.value.code == 2
    assert "the following arguments are required: COMMAND" in capsys.readouterr().err
