"""``genai-cost report`` run through the real CLI, outputs checked exactly against the ledger rows."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from genai_cost.processor.cli import main


def ns(text: str) -> int:
    return int(datetime.fromisoformat(text).timestamp()) * 1_000_000_000


def sample(lr: ModuleType) -> list[dict[str, Any]]:
    return [
        lr.row(agent="planner", provider="openai", model="gpt-4o", session="s1",
               end_time_ns=ns("2024-05-01T10:00:00+00:00"), input_tokens=1000, cache_read_tokens=200,
               output_tokens=300, reasoning_tokens=50, cost_input_pusd=2_500_000_000,
               cost_cache_read_pusd=250_000_000, cost_output_pusd=3_000_000_000,
               cost_reasoning_pusd=500_000_000),
        lr.row(agent="planner", provider="anthropic", model="claude-sonnet-4", session="s1",
               end_time_ns=ns("2024-05-01T23:30:00+00:00"), input_tokens=500, cache_write_tokens=100,
               output_tokens=100, cost_input_pusd=1_500_000_000, cost_cache_write_pusd=375_000_000,
               cost_output_pusd=1_500_000_000),
        lr.row(agent="rédacteur", provider="openai", model="gpt-4o",
               end_time_ns=ns("2024-05-02T00:30:00+00:00"), input_tokens=2000, output_tokens=1000,
               cost_input_pusd=5_000_000_000, cost_output_pusd=10_000_000_000),
        lr.row(agent="rédacteur", provider="openai", model="ft:mystery", price_source="unpriced",
               end_time_ns=ns("2024-05-02T12:00:00+00:00"), input_tokens=100, output_tokens=10),
    ]  # fmt: skip


@pytest.fixture
def ledger(tmp_path: Path, ledger_rows: ModuleType) -> Path:
    return ledger_rows.create_ledger(tmp_path / "ledger.sqlite3", sample(ledger_rows))


@pytest.fixture(autouse=True)
def _no_config_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [n for n in os.environ if n.startswith("GENAI_COST_")]:
        monkeypatch.delenv(name)


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_json_report_by_agent(ledger: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "report", "--ledger", str(ledger), "--format", "json")
    assert (code, err) == (0, "")
    assert json.loads(out) == {
        "since": None,
        "until": None,
        "timezone": "UTC",
        "filters": {},
        "group_by": "agent",
        "currency": "USD",
        "groups": [
            {
                "agent": "rédacteur",
                "calls": 2,
                "unpriced_calls": 1,
                "tokens": {"input": 2100, "cache_read": 0, "cache_write": 0, "output": 1010, "reasoning": 0},
                "cost_usd": "0.015000",
                "cost_usd_by_type": {"input": "0.005000", "cache_read": "0.000000", "cache_write": "0.000000",
                                     "output": "0.010000", "reasoning": "0.000000"},
            },
            {
                "agent": "planner",
                "calls": 2,
                "unpriced_calls": 0,
                "tokens": {"input": 1500, "cache_read": 200, "cache_write": 100, "output": 400, "reasoning": 50},
                "cost_usd": "0.009625",
                "cost_usd_by_type": {"input": "0.004000", "cache_read": "0.000250", "cache_write": "0.000375",
                                     "output": "0.004500", "reasoning": "0.000500"},
            },
        ],
        "total": {
            "calls": 4,
            "unpriced_calls": 1,
            "tokens": {"input": 3600, "cache_read": 200, "cache_write": 100, "output": 1410, "reasoning": 50},
            "cost_usd": "0.024625",
            "cost_usd_by_type": {"input": "0.009000", "cache_read": "0.000250", "cache_write": "0.000375",
                                 "output": "0.014500", "reasoning": "0.000500"},
        },
    }  # fmt: skip


def test_csv_report_by_day_in_a_zone_with_a_range(ledger: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        capsys, "report", "--ledger", str(ledger), "--by", "day", "--tz", "Asia/Kolkata",
        "--since", "2024-05-01T12:00", "--until", "2024-05-02T18:00", "--format", "csv",
    )  # fmt: skip
    assert code == 0
    # Kolkata is +05:30: the range is 06:30Z on 1 May to 12:30Z on 2 May; 23:30Z is 05:00 on 2 May
    assert list(csv.reader(io.StringIO(out))) == [
        ["day", "calls", "unpriced_calls", "input_tokens", "cache_read_tokens", "cache_write_tokens",
         "output_tokens", "reasoning_tokens", "cost_input_usd", "cost_cache_read_usd",
         "cost_cache_write_usd", "cost_output_usd", "cost_reasoning_usd", "cost_usd"],
        ["2024-05-01", "1", "0", "1000", "200", "0", "300", "50", "0.002500", "0.000250", "0.000000",
         "0.003000", "0.000500", "0.006250"],
        ["2024-05-02", "3", "1", "2600", "0", "100", "1110", "0", "0.006500", "0.000000", "0.000375",
         "0.011500", "0.000000", "0.018375"],
    ]  # fmt: skip


def test_default_format_off_a_terminal_is_csv(ledger: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "report", "--ledger", str(ledger), "--by", "model")
    assert code == 0
    assert [line.split(",")[0::13] for line in out.splitlines()] == [
        ["model", "cost_usd"],
        ["gpt-4o", "0.021250"],
        ["claude-sonnet-4", "0.003375"],
        ["ft:mystery", "0.000000"],
    ]


def test_table_report_with_filters(ledger: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        capsys, "report", "--ledger", str(ledger), "--by", "session", "--provider", "openai", "--format", "table"
    )
    assert code == 0
    assert out.splitlines() == [
        "session  calls  unpriced  input  cache read  cache write  output  reasoning  cost (USD)",
        "-------  -----  --------  -----  ----------  -----------  ------  ---------  ----------",
        "(none)       2         1  2,100           0            0   1,010          0    0.015000",
        "s1           1         0  1,000         200            0     300         50    0.006250",
        "-------  -----  --------  -----  ----------  -----------  ------  ---------  ----------",
        "TOTAL        3         1  3,100         200            0   1,310         50    0.021250",
    ]


def test_json_report_by_month_describes_the_selection(ledger: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        capsys, "report", "--ledger", str(ledger), "--by", "month", "--format", "json",
        "--since", "2024-05-01", "--until", "2024-06-01", "--tz", "Europe/Paris", "--agent", "planner",
    )  # fmt: skip
    doc = json.loads(out)
    assert code == 0
    assert (doc["since"], doc["until"], doc["timezone"]) == (
        "2024-05-01T00:00:00+02:00",
        "2024-06-01T00:00:00+02:00",
        "Europe/Paris",
    )
    assert doc["filters"] == {"agent": "planner"}
    assert [(g["month"], g["calls"], g["cost_usd"]) for g in doc["groups"]] == [("2024-05", 2, "0.009625")]


def test_ledger_path_from_environment(
    ledger: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GENAI_COST_LEDGER_PATH", str(ledger))
    code, out, _ = run(capsys, "report", "--by", "provider", "--format", "csv")
    assert code == 0
    assert [line.split(",")[:2] for line in out.splitlines()[1:]] == [["openai", "3"], ["anthropic", "1"]]


def test_ledger_path_from_config_file(ledger: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "genai-cost.yaml"
    config.write_text(f"ledger:\n  path: {ledger}\n", encoding="utf-8")
    code, out, _ = run(capsys, "report", "--config", str(config), "--by", "provider", "--format", "csv")
    assert code == 0
    assert [line.split(",")[:2] for line in out.splitlines()[1:]] == [["openai", "3"], ["anthropic", "1"]]


def test_empty_selection_prints_a_zero_total(ledger: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "report", "--ledger", str(ledger), "--agent", "nobody", "--format", "json")
    doc = json.loads(out)
    assert code == 0
    assert doc["groups"] == []
    assert (doc["total"]["calls"], doc["total"]["cost_usd"]) == (0, "0.000000")


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--by", "week"], "argument --by/--group-by: invalid choice: 'week' (choose from"),
        (["--format", "xml"], "argument --format: invalid choice: 'xml' (choose from"),
        (["--since", "7x"], "argument --since: '7x' is not an ISO date (2024-05-01), an ISO datetime"),
        (["--until", "2024-02-30"], "argument --until: '2024-02-30' is not an ISO date"),
        (["--tz", "Mars/Olympus"], "argument --tz: 'Mars/Olympus' is not a known IANA time zone"),
        (["--agent", ""], "argument --agent: must not be empty"),
    ],
)
def test_bad_arguments_exit_2_naming_the_option_and_value(
    ledger: Path, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["report", "--ledger", str(ledger), *argv])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert f"genai-cost report: error: {message}" in err


def test_inverted_range_exits_2(ledger: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "report", "--ledger", str(ledger), "--since", "2024-05-02", "--until", "2024-05-01")
    assert (code, out) == (2, "")
    assert err == (
        "genai-cost report: error: --since '2024-05-02' (2024-05-02T00:00:00+00:00) is not before "
        "--until '2024-05-01' (2024-05-01T00:00:00+00:00)\n"
    )


def test_bad_config_file_exits_2_naming_the_setting(
    ledger: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "bad.yaml"
    config.write_text("ledger:\n  synchronous: fast\n", encoding="utf-8")
    code, _, err = run(capsys, "report", "--ledger", str(ledger), "--config", str(config))
    assert code == 2
    assert err == "genai-cost report: error: ledger.synchronous: 'fast' is not one of full, normal, extra, off\n"


def test_missing_ledger_exits_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "nope.sqlite3"
    code, out, err = run(capsys, "report", "--ledger", str(missing))
    assert (code, out) == (1, "")
    assert err == f"genai-cost report: ledger '{missing}' does not exist\n"


@pytest.mark.slow
def test_report_in_a_subprocess(ledger: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GENAI_COST_")}
    done = subprocess.run(
        [sys.executable, "-m", "genai_cost.processor.cli", "report", "--ledger", str(ledger),
         "--by", "provider", "--format", "json"],
        capture_output=True, text=True, timeout=60, env=env, check=False,
    )  # fmt: skip
    assert (done.returncode, done.stderr) == (0, "")
    doc = json.loads(done.stdout)
    assert [(g["provider"], g["calls"], g["cost_usd"]) for g in doc["groups"]] == [
        ("openai", 3, "0.021250"),
        ("anthropic", 1, "0.003375"),
    ]
    assert doc["total"]["cost_usd"] == "0.024625"
    bad = subprocess.run(
        [sys.executable, "-m", "genai_cost.processor.cli", "report", "--ledger", str(ledger), "--since", "soon"],
        capture_output=True, text=True, timeout=60, env=env, check=False,
    )  # fmt: skip
    assert bad.returncode == 2
    assert bad.stderr.splitlines()[-1].startswith("genai-cost report: error: argument --since: 'soon' is not")
