"""``genai-cost export`` through the real CLI: every exported record equals the ledger row it came from."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from genai_cost.processor.adapters.ledger.schema import CALL_COLUMNS
from genai_cost.processor.cli import main
from genai_cost.processor.commands.export import ProgressBar

MONEY = [c for c in CALL_COLUMNS if c.endswith("_pusd")]


def ns(text: str) -> int:
    return int(datetime.fromisoformat(text).timestamp()) * 1_000_000_000


def rows(lr: ModuleType) -> list[dict[str, Any]]:
    return [
        lr.row(agent="planner", session="s1", user_id="u-1", tags='{"team":"search"}',
               end_time_ns=ns("2024-05-01T10:00:00+00:00") + 123_456_789, input_tokens=1000,
               cache_read_tokens=200, output_tokens=300, reasoning_tokens=50,
               cost_input_pusd=2_500_000_000, cost_cache_read_pusd=250_000_000,
               cost_output_pusd=3_000_000_000, cost_reasoning_pusd=500_000_001),
        lr.row(agent="écrivain, \"quoted\"", provider="anthropic", model="claude-sonnet-4",
               response_id=None, parent_span_id="00000000000000aa",
               end_time_ns=ns("2024-05-01T09:00:00+00:00"), input_tokens=500, cache_write_tokens=100,
               cost_input_pusd=1_500_000_000, cost_cache_write_pusd=375_000_000),
        lr.row(agent="planner", model="ft:mystery", price_source="unpriced", usage_reported=0,
               outcome="error", error_type="RateLimitError", end_time_ns=ns("2024-05-02T12:00:00+00:00")),
        lr.row(agent="billing", provider="openrouter", model="x", price_source="provider",
               end_time_ns=ns("2024-05-03T00:00:00+00:00"), cost_total_pusd=123_456_789_012),
    ]  # fmt: skip


@pytest.fixture
def inserted(ledger_rows: ModuleType) -> list[dict[str, Any]]:
    return rows(ledger_rows)


@pytest.fixture
def ledger(tmp_path: Path, ledger_rows: ModuleType, inserted: list[dict[str, Any]]) -> Path:
    return ledger_rows.create_ledger(tmp_path / "ledger.sqlite3", inserted)


@pytest.fixture(autouse=True)
def _no_config_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [n for n in os.environ if n.startswith("GENAI_COST_")]:
        monkeypatch.delenv(name)


def rfc3339(end_ns: int) -> str:
    seconds, frac = divmod(end_ns, 10**9)
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S") + f".{frac:09d}Z"


def by_end_time(inserted: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(inserted, key=lambda r: r["end_time_ns"])


def check_csv_record(record: dict[str, str], row: dict[str, Any]) -> None:
    assert record["time"] == rfc3339(row["end_time_ns"])
    for column in CALL_COLUMNS:
        if column in MONEY:
            usd = record[column.removesuffix("_pusd") + "_usd"]
            assert Decimal(usd) == Decimal(row[column]) / Decimal(10**12), column
            assert len(usd.partition(".")[2]) >= 6
        else:
            assert record[column] == ("" if row[column] is None else str(row[column])), column


def check_json_record(record: dict[str, Any], row: dict[str, Any]) -> None:
    assert record["time"] == rfc3339(row["end_time_ns"])
    for column in CALL_COLUMNS:
        if column in MONEY:
            usd = record[column.removesuffix("_pusd") + "_usd"]
            assert isinstance(usd, str)
            assert Decimal(usd) == Decimal(row[column]) / Decimal(10**12), column
        elif column == "tags":
            assert record["tags"] == json.loads(row["tags"])
        elif column == "usage_reported":
            assert record["usage_reported"] is bool(row["usage_reported"])
        else:
            assert record[column] == row[column], column
    assert len(record) == 1 + len(CALL_COLUMNS)


def test_csv_export_equals_the_ledger_rows(
    ledger: Path, inserted: list[dict[str, Any]], capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    assert main(["export", "--ledger", str(ledger)]) == 0
    out, err = capsysbinary.readouterr()
    assert err == b""
    records = list(csv.DictReader(io.StringIO(out.decode("utf-8"), newline="")))
    assert len(records) == 4
    for record, row in zip(records, by_end_time(inserted), strict=True):
        check_csv_record(record, row)
    assert records[2]["cost_reasoning_usd"] == "0.000000"
    assert records[1]["cost_reasoning_usd"] == "0.000500000001"
    assert records[3]["cost_total_usd"] == "0.123456789012"
    assert out.startswith(b"time,trace_id,span_id,parent_span_id,response_id,start_time_ns,end_time_ns,agent,")


def test_jsonl_export_with_filters(
    ledger: Path, inserted: list[dict[str, Any]], capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    argv = ["export", "--ledger", str(ledger), "--format", "jsonl", "--agent", "planner", "--since", "2024-05-01"]
    assert main(argv) == 0
    lines = capsysbinary.readouterr().out.decode().splitlines()
    expected = [r for r in by_end_time(inserted) if r["agent"] == "planner"]
    assert len(lines) == len(expected) == 2
    for line, row in zip(lines, expected, strict=True):
        check_json_record(json.loads(line), row)


def test_json_array_export_to_a_file_with_a_progress_bar(
    ledger: Path, inserted: list[dict[str, Any]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "out.json"
    argv = ["export", "--ledger", str(ledger), "--format", "json", "-o", str(target), "--progress"]
    assert main(argv) == 0
    out, err = capsys.readouterr()
    assert out == ""
    assert err == "\r[##############################] 100%  4/4 calls\n"
    records = json.loads(target.read_text(encoding="utf-8"))
    assert len(records) == 4
    for record, row in zip(records, by_end_time(inserted), strict=True):
        check_json_record(record, row)


@pytest.mark.parametrize(("fmt", "text"), [("json", "[]\n"), ("jsonl", ""), ("csv", None)])
def test_empty_export(ledger: Path, capsys: pytest.CaptureFixture[str], fmt: str, text: str | None) -> None:
    assert main(["export", "--ledger", str(ledger), "--format", fmt, "--provider", "nobody"]) == 0
    out = capsys.readouterr().out
    if text is None:
        assert out.count("\n") == 1 and out.startswith("time,trace_id,")
    else:
        assert out == text


def test_until_is_exclusive(ledger: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["export", "--ledger", str(ledger), "--format", "jsonl", "--until", "2024-05-02T12:00:00Z"]
    assert main(argv) == 0
    agents = [json.loads(line)["agent"] for line in capsys.readouterr().out.splitlines()]
    assert agents == ['écrivain, "quoted"', "planner"]


def test_progress_bar_line() -> None:
    bar = ProgressBar(1_000_000, io.StringIO())
    bar.done = 450_000
    assert bar.line() == "[#############-----------------]  45%  450,000/1,000,000 calls"
    bar.done = 1_000_001  # calls recorded after the count was taken
    assert bar.line() == "[##############################] 100%  1,000,001/1,000,000 calls"
    assert ProgressBar(0, io.StringIO()).line() == "[##############################] 100%  0/0 calls"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--format", "parquet"], "argument --format: invalid choice: 'parquet' (choose from"),
        (["--since", "last week"], "argument --since: 'last week' is not an ISO date"),
        (["--session", ""], "argument --session: must not be empty"),
    ],
)
def test_bad_arguments_exit_2(ledger: Path, capsys: pytest.CaptureFixture[str], argv: list[str], message: str) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["export", "--ledger", str(ledger), *argv])
    assert exit_info.value.code == 2
    assert f"genai-cost export: error: {message}" in capsys.readouterr().err


def test_unwritable_output_exits_1(ledger: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "missing-dir" / "out.csv"
    assert main(["export", "--ledger", str(ledger), "-o", str(target)]) == 1
    assert capsys.readouterr().err == (f"genai-cost export: cannot write '{target}': No such file or directory\n")


@pytest.mark.slow
def test_export_subprocess_streams_into_a_pipe_closed_early(tmp_path: Path, ledger_rows: ModuleType) -> None:
    """A reader that stops early (``| head``) ends the export quietly, without a traceback."""
    lr = ledger_rows
    many = [lr.row(end_time_ns=i, cost_output_pusd=i) for i in range(1, 20_001)]
    ledger = lr.create_ledger(tmp_path / "many.sqlite3", many)
    env = {k: v for k, v in os.environ.items() if not k.startswith("GENAI_COST_")}
    argv = [sys.executable, "-m", "genai_cost.processor.cli", "export", "--ledger", str(ledger), "--format", "jsonl"]
    full = subprocess.run(argv, capture_output=True, timeout=120, env=env, check=False)
    assert (full.returncode, full.stderr) == (0, b"")
    lines = full.stdout.splitlines()
    assert len(lines) == 20_000
    assert json.loads(lines[-1])["cost_output_usd"] == "0.00000002"
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    assert proc.stdout is not None and proc.stderr is not None
    first = proc.stdout.readline()
    proc.stdout.close()
    err = proc.stderr.read()
    assert proc.wait(timeout=60) == 0
    assert err == b""
    assert json.loads(first)["end_time_ns"] == 1
