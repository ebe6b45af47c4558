"""Re-pricing recorded calls: selection, the single-transaction write, and the command's output."""

from __future__ import annotations

import os
from decimal import Decimal
from pathlib import Path
from types import ModuleType

import pytest

from genai_cost.processor.adapters.ledger.queries import CallFilter, connect_readwrite
from genai_cost.processor.cli import main
from genai_cost.processor.commands import reprice as reprice_cmd
from genai_cost.processor.domain.records import UNPRICED, Cost, LlmCall, PriceSource

MILLION = Decimal(1_000_000)


class FakePricer:
    """Prices ``ft:custom`` at $2 / $8 per million input / output tokens (as an override); nothing else."""

    def __init__(self, output_per_million: Decimal = Decimal(8)) -> None:
        self.output_per_million = output_per_million
        self.seen: list[LlmCall] = []

    def price(self, call: LlmCall) -> Cost:
        self.seen.append(call)
        if call.model != "ft:custom":
            return UNPRICED
        return Cost(
            PriceSource.OVERRIDE,
            input=Decimal(call.usage.input) * 2 / MILLION,
            output=Decimal(call.usage.output) * self.output_per_million / MILLION,
        )


@pytest.fixture(autouse=True)
def _no_config_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [n for n in os.environ if n.startswith("GENAI_COST_")]:
        monkeypatch.delenv(name)


@pytest.fixture
def ledger(tmp_path: Path, ledger_rows: ModuleType) -> Path:
    lr = ledger_rows
    return lr.create_ledger(
        tmp_path / "ledger.sqlite3",
        [
            lr.row(model="ft:custom", request_model="ft:custom", response_model=None, price_source="unpriced",
                   end_time_ns=100, input_tokens=1000, output_tokens=500),
            lr.row(model="ft:custom", request_model="ft:custom", response_model="ft:custom",
                   price_source="unpriced", end_time_ns=200, input_tokens=3, output_tokens=1),
            lr.row(model="ft:custom", request_model="ft:custom", response_model="ft:custom",
                   price_source="unpriced", end_time_ns=5_000, input_tokens=10),
            lr.row(model="acme-1", request_model="acme-1", response_model="acme-1", provider="acme",
                   price_source="unpriced", end_time_ns=150, input_tokens=10),
            lr.row(model="ft:custom", price_source="provider", end_time_ns=160, cost_total_pusd=5),
            lr.row(model="gpt-4o", price_source="genai-prices", end_time_ns=170, cost_input_pusd=11),
        ],
    )  # fmt: skip


def test_reprice_prices_unpriced_rows_in_range_in_one_write(ledger: Path, ledger_rows: ModuleType) -> None:
    pricer = FakePricer()
    conn = connect_readwrite(ledger)
    result = reprice_cmd.reprice(conn, CallFilter(since_ns=0, until_ns=500), pricer, only_unpriced=True, dry_run=False)
    assert (result.selected, result.priced, result.written) == (3, 2, 2)
    # 1000 * $2/M + 500 * $8/M = $0.006; 3 * $2/M + 1 * $8/M = $0.000014
    assert result.added_pusd == 6_000_000_000 + 14_000_000
    assert dict(result.still_unpriced) == {("acme", "acme-1"): 1}
    assert [c.model for c in pricer.seen] == ["ft:custom", "ft:custom", "acme-1"]
    stored = ledger_rows.read_all(ledger)
    cols = ("price_source", "cost_input_pusd", "cost_output_pusd", "cost_total_pusd")
    assert [tuple(r[c] for c in cols) for r in stored] == [
        ("override", 2_000_000_000, 4_000_000_000, 6_000_000_000),
        ("override", 6_000_000, 8_000_000, 14_000_000),
        ("unpriced", 0, 0, 0),  # outside the range
        ("unpriced", 0, 0, 0),  # still no price
        ("provider", 0, 0, 5),  # provider-reported costs are never re-priced
        ("genai-prices", 11, 0, 11),
    ]


def test_dry_run_writes_nothing(ledger: Path, ledger_rows: ModuleType) -> None:
    before = ledger_rows.read_all(ledger)
    result = reprice_cmd.reprice(
        connect_readwrite(ledger), CallFilter(), FakePricer(), only_unpriced=True, dry_run=True
    )
    assert (result.selected, result.priced, result.written) == (4, 3, 0)
    assert ledger_rows.read_all(ledger) == before
    assert reprice_cmd.summary(result, dry_run=True, only_unpriced=True) == (
        "would re-price 3 of 4 unpriced calls selected; cost change +0.006034 USD\n"
        "still unpriced: 1 call\n"
        "  acme  acme-1  1 call\n"
    )


def test_all_mode_reprices_changed_prices_of_one_model(ledger: Path, ledger_rows: ModuleType) -> None:
    conn = connect_readwrite(ledger)
    reprice_cmd.reprice(conn, CallFilter(model="ft:custom"), FakePricer(), only_unpriced=True, dry_run=False)
    cheaper = FakePricer(output_per_million=Decimal(4))
    result = reprice_cmd.reprice(conn, CallFilter(model="ft:custom"), cheaper, only_unpriced=False, dry_run=False)
    # the third row has no output tokens: its cost is unchanged and it is not rewritten
    assert (result.selected, result.priced, result.written) == (3, 2, 2)
    assert result.added_pusd == -(500 * 4_000_000 + 1 * 4_000_000)
    assert reprice_cmd.summary(result, dry_run=False, only_unpriced=False) == (
        "re-priced 2 of 3 calls selected; cost change -0.002004 USD\n"
    )
    totals = [r["cost_total_pusd"] for r in ledger_rows.read_all(ledger)]
    assert totals == [4_000_000_000, 10_000_000, 20_000_000, 0, 5, 11]


def test_command_reprices_with_the_configured_pricer(
    ledger: Path, ledger_rows: ModuleType, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import genai_cost.processor.app as app

    monkeypatch.setattr(app, "build_pricer", lambda cfg: FakePricer())
    code = main(["reprice", "--ledger", str(ledger), "--since", "1970-01-01", "--until", "1970-01-01T00:00:00.000001Z"])
    out, err = capsys.readouterr()
    assert (code, err) == (0, "")
    # the range in ns is [0, 1000): the unpriced ft:custom rows at 100 and 200 ns and acme-1 at 150 ns
    assert out == (
        "re-priced 2 of 3 unpriced calls selected; cost change +0.006014 USD\n"
        "still unpriced: 1 call\n"
        "  acme  acme-1  1 call\n"
    )
    assert [r["price_source"] for r in ledger_rows.read_all(ledger)][:3] == ["override", "override", "unpriced"]


def test_all_without_model_is_a_usage_error(ledger: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["reprice", "--ledger", str(ledger), "--all"]) == 2
    assert capsys.readouterr().err == (
        "genai-cost reprice: error: --all re-prices every call of one model: give --model too\n"
    )


def test_bad_range_is_a_usage_error(ledger: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["reprice", "--ledger", str(ledger), "--since", "tomorrow"])
    assert exit_info.value.code == 2
    assert "genai-cost reprice: error: argument --since: 'tomorrow' is not an ISO date" in capsys.readouterr().err


def test_calls_are_repriced_with_their_service_tier_and_one_hour_cache_writes(
    tmp_path: Path, ledger_rows: ModuleType
) -> None:
    from genai_cost.processor.domain.pricing import Pricer

    at = 1_792_000_000_000_000_000  # 2026-10-14, after gpt-4o-mini's priority tier appeared
    path = ledger_rows.create_ledger(
        tmp_path / "ledger.sqlite3",
        [
            # gpt-4o-mini at the priority tier: 1000 * $0.25/M + 1000 * $1/M (default tier: $0.15 + $0.60)
            ledger_rows.row(provider="openai", model="gpt-4o-mini", request_model="gpt-4o-mini",
                            response_model="gpt-4o-mini", end_time_ns=at, input_tokens=1000, output_tokens=1000,
                            service_tier="priority", price_source="unpriced"),
            # claude-sonnet-4-5: 1500 5-minute writes at $3.75/M, 500 1-hour writes at $6/M
            ledger_rows.row(provider="anthropic", model="claude-sonnet-4-5", request_model="claude-sonnet-4-5",
                            response_model="claude-sonnet-4-5", end_time_ns=at, input_tokens=0, output_tokens=0,
                            cache_write_tokens=2000, cache_write_1h_tokens=500, price_source="unpriced"),
        ],
    )  # fmt: skip
    conn = connect_readwrite(path)
    result = reprice_cmd.reprice(conn, CallFilter(), Pricer(), only_unpriced=True, dry_run=False)
    assert (result.selected, result.priced, result.written) == (2, 2, 2)
    tiered, cached = ledger_rows.read_all(path)
    assert (tiered["price_source"], tiered["cost_input_pusd"], tiered["cost_output_pusd"]) == (
        "genai-prices",
        250_000_000,
        1_000_000_000,
    )
    assert cached["cost_cache_write_pusd"] == 1500 * 3_750_000 + 500 * 6_000_000
