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


@pytest.fixture
def overrides_config(tmp_path: Path) -> Path:
    overrides = tmp_path / "overrides.yaml"
    overrides.write_text(
        "overrides:\n"
        "  - provider: openai\n"
        '    model: "ft:gpt-4o:acme*"\n'
        '    input_per_mtok: "0.30"\n'
        '    output_per_mtok: "1.20"\n'
        "    valid_from: 2024-01-01\n",
        encoding="utf-8",
    )
    config = tmp_path / "genai-cost.yaml"
    config.write_text(f"pricing:\n  overrides_file: {overrides}\n", encoding="utf-8")
    return config


def test_lookup_of_an_override(overrides_config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["prices", "ft:gpt-4o:acme:v2", "--provider", "openai", "--config", str(overrides_config),
            "--at", "2024-06-01T00:00:00Z", "--format", "json"]  # fmt: skip
    assert main(argv) == 0
    assert json.loads(capsys.readouterr().out) == {
        "provider": "openai",
        "model": "ft:gpt-4o:acme:v2",
        "at": "2024-06-01T00:00:00+00:00",
        "source": "override",
        "matched": "openai/ft:gpt-4o:acme*",
        "prices": {
            "input": {"usd_per_mtok": "0.30", "tiers": []},
            "output": {"usd_per_mtok": "1.20", "tiers": []},
        },
        "valid_from": "2024-01-01",
        "valid_to": None,
        "notes": [],
    }


def test_lookup_before_the_override_is_valid_exits_1(
    overrides_config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["prices", "ft:gpt-4o:acme:v2", "--provider", "openai", "--config", str(overrides_config),
            "--at", "2023-12-31T23:59:59Z"]  # fmt: skip
    assert main(argv) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert err == (
        "genai-cost prices: no price for model 'ft:gpt-4o:acme:v2' of provider 'openai' at "
        "2023-12-31T23:59:59+00:00: its calls are recorded as unpriced; add it to the overrides file "
        "(pricing.overrides_file)\n"
    )


def test_lookup_of_bundled_prices_matches_genai_prices(capsys: pytest.CaptureFixture[str]) -> None:
    from genai_prices import data_snapshot

    at = datetime.fromisoformat("2025-06-01T00:00:00+00:00")
    _, info = data_snapshot.get_snapshot().find_provider_model("claude-sonnet-4-5", None, "anthropic", None)
    expected = info.get_prices(at)
    argv = ["prices", "claude-sonnet-4-5", "--provider", "anthropic", "--at", "2025-06-01", "--format", "csv"]
    assert main(argv) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "token_type,usd_per_mtok,tiers,source,matched"
    cells = {line.split(",")[0]: line.split(",") for line in lines[1:]}
    wanted = {
        "input": expected.input_mtok,
        "output": expected.output_mtok,
        "cache_read": expected.cache_read_mtok,
        "cache_write": expected.cache_write_mtok,
    }
    for name, value in wanted.items():
        base = value.base if hasattr(value, "base") else value
        tiers = ";".join(f">{t.start}:{t.price}" for t in getattr(value, "tiers", ()))
        assert cells[name] == [name, str(base), tiers, "genai-prices", "anthropic/claude-sonnet-4-5"]


def test_bad_overrides_file_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    overrides = tmp_path / "overrides.yaml"
    overrides.write_text("- provider: openai\n  model: x\n  input_per_mtok: cheap\n", encoding="utf-8")
    config = tmp_path / "c.yaml"
    config.write_text(f"pricing:\n  overrides_file: {overrides}\n", encoding="utf-8")
    assert main(["prices", "x", "--config", str(config)]) == 2
    assert capsys.readouterr().err == (
        f"genai-cost prices: error: pricing.overrides_file '{overrides}': "
        "overrides[0].input_per_mtok: 'cheap' is not a decimal number\n"
    )


def test_reprice_after_adding_an_override_end_to_end(
    ledger: Path, ledger_rows: ModuleType, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Unpriced calls, then an override, then reprice: missing list, report and rows all agree."""
    lr = ledger_rows
    conn = __import__("sqlite3").connect(ledger, isolation_level=None)
    conn.execute(
        "UPDATE calls SET request_model = model, response_model = model, input_tokens = 1000, output_tokens = 250"
    )
    conn.close()
    overrides = tmp_path / "overrides.yaml"
    overrides.write_text(
        '- provider: openai\n  model: "ft:gpt-4o:acme"\n  input_per_mtok: "0.30"\n  output_per_mtok: "1.20"\n',
        encoding="utf-8",
    )
    config = tmp_path / "genai-cost.yaml"
    config.write_text(f"pricing:\n  overrides_file: {overrides}\nledger:\n  path: {ledger}\n", encoding="utf-8")

    assert main(["reprice", "--config", str(config), "--since", "2024-05-01", "--until", "2024-06-01"]) == 0
    # 1000 * $0.30/M + 250 * $1.20/M = $0.0006 per call, two calls
    assert capsys.readouterr().out == (
        "re-priced 2 of 3 unpriced calls selected; cost change +0.001200 USD\n"
        "still unpriced: 1 call\n"
        "  acme  acme-large  1 call\n"
    )
    rows = lr.read_all(ledger)
    cols = ("model", "price_source", "cost_input_pusd", "cost_output_pusd", "cost_total_pusd")
    assert [tuple(r[c] for c in cols) for r in rows] == [
        ("ft:gpt-4o:acme", "override", 300_000_000, 300_000_000, 600_000_000),
        ("ft:gpt-4o:acme", "override", 300_000_000, 300_000_000, 600_000_000),
        ("acme-large", "unpriced", 0, 0, 0),
        ("gpt-4o", "genai-prices", 0, 0, 0),
    ]
    assert main(["prices", "missing", "--config", str(config), "--format", "csv"]) == 0
    assert capsys.readouterr().out.splitlines()[1:] == [
        "acme,acme-large,1,2024-05-02T08:00:00+00:00,2024-05-02T08:00:00+00:00"
    ]
    assert main(["report", "--config", str(config), "--by", "model", "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert [(g["model"], g["unpriced_calls"], g["cost_usd"]) for g in doc["groups"]] == [
        ("ft:gpt-4o:acme", 0, "0.001200"),
        ("acme-large", 1, "0.000000"),
        ("gpt-4o", 0, "0.000000"),
    ]
    # a second run finds nothing more to price
    assert main(["reprice", "--config", str(config)]) == 0
    assert (
        capsys.readouterr().out.splitlines()[0] == "re-priced 0 of 1 unpriced calls selected; cost change +0.000000 USD"
    )
