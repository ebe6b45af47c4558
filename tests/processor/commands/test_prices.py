"""``genai-cost prices``: the unpriced models of the ledger, and price look-ups."""

from __future__ import annotations

import json
import os
from datetime import datetime
from pathlib import Path
from types import ModuleType

import pytest

from genai_cost.processor.cli import main


def ns(text: str) -> int:
    return int(datetime.fromisoformat(text).timestamp()) * 1_000_000_000


@pytest.fixture(autouse=True)
def _no_config_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [n for n in os.environ if n.startswith("GENAI_COST_")]:
        monkeypatch.delenv(name)


@pytest.fixture
def ledger(tmp_path: Path, ledger_rows: ModuleType) -> Path:
    lr = ledger_rows
    unpriced = {"price_source": "unpriced"}
    return lr.create_ledger(
        tmp_path / "ledger.sqlite3",
        [
            lr.row(provider="openai", model="ft:gpt-4o:acme", end_time_ns=ns("2024-05-01T10:00:00+00:00"), **unpriced),
            lr.row(provider="openai", model="ft:gpt-4o:acme", end_time_ns=ns("2024-05-03T23:30:00+00:00"), **unpriced),
            lr.row(provider="acme", model="acme-large", end_time_ns=ns("2024-05-02T08:00:00+00:00"), **unpriced),
            lr.row(provider="openai", model="gpt-4o", end_time_ns=ns("2024-05-02T09:00:00+00:00")),
        ],
    )


def test_missing_as_json(ledger: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["prices", "missing", "--ledger", str(ledger), "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out) == [
        {"provider": "openai", "model": "ft:gpt-4o:acme", "calls": 2,
         "first_seen": "2024-05-01T10:00:00+00:00", "last_seen": "2024-05-03T23:30:00+00:00"},
        {"provider": "acme", "model": "acme-large", "calls": 1,
         "first_seen": "2024-05-02T08:00:00+00:00", "last_seen": "2024-05-02T08:00:00+00:00"},
    ]  # fmt: skip


def test_missing_as_table_in_a_zone_with_a_range(ledger: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["prices", "missing", "--ledger", str(ledger), "--format", "table", "--tz", "Asia/Tokyo",
            "--since", "2024-05-02"]  # fmt: skip
    assert main(argv) == 0
    # Tokyo is +09:00: 2 May local starts at 15:00Z on 1 May, so the 10:00Z call on 1 May is out;
    # equal counts are listed by provider, then model
    assert capsys.readouterr().out.splitlines() == [
        "provider  model           calls  first seen                 last seen",
        "acme      acme-large          1  2024-05-02T17:00:00+09:00  2024-05-02T17:00:00+09:00",
        "openai    ft:gpt-4o:acme      1  2024-05-04T08:30:00+09:00  2024-05-04T08:30:00+09:00",
        "",
        "Add prices for these models to the overrides file (pricing.overrides_file), then run",
        "'genai-cost reprice --since WHEN' to price the calls already recorded.",
    ]


def test_missing_as_csv_for_one_provider(ledger: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["prices", "missing", "--ledger", str(ledger), "--provider", "acme"]) == 0
    assert capsys.readouterr().out == (
        "provider,model,calls,first_seen,last_seen\n"
        "acme,acme-large,1,2024-05-02T08:00:00+00:00,2024-05-02T08:00:00+00:00\n"
    )


def test_missing_when_everything_is_priced(
    tmp_path: Path, ledger_rows: ModuleType, capsys: pytest.CaptureFixture[str]
) -> None:
    path = ledger_rows.create_ledger(tmp_path / "l.sqlite3", [ledger_rows.row()])
    assert main(["prices", "missing", "--ledger", str(path), "--format", "table"]) == 0
    assert capsys.readouterr().out == "no unpriced calls recorded\n"
    assert main(["prices", "missing", "--ledger", str(path), "--format", "json"]) == 0
    assert capsys.readouterr().out == "[]\n"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["missing", "--at", "2024-05-01"], "--at applies to a price look-up, not to 'prices missing'"),
        (["gpt-4o", "--since", "7d"], "--since/--until apply to 'prices missing'; use --at for a look-up"),
    ],
)
def test_options_of_the_other_form_are_usage_errors(
    ledger: Path, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    assert main(["prices", *argv, "--ledger", str(ledger)]) == 2
    assert capsys.readouterr().err == f"genai-cost prices: error: {message}\n"


def test_missing_ledger_exits_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["prices", "missing", "--ledger", str(tmp_path / "none.sqlite3")]) == 1
    assert capsys.readouterr().err == f"genai-cost prices: ledger '{tmp_path / 'none.sqlite3'}' does not exist\n"
