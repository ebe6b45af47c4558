"""The totals collector: exact values per series, provider totals as ``unsplit``, fresh registry."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry

from genai_cost.processor.adapters.ledger import SqliteLedger
from genai_cost.processor.adapters.prometheus import ProcessorMetrics, TotalsCollector
from genai_cost.processor.domain.records import Cost, Outcome, PriceSource, TokenUsage
from genai_cost.processor.pipeline import Totals


def test_collector_exposes_the_snapshot_exactly(tmp_path: Path, calls: Any) -> None:
    ledger = SqliteLedger(tmp_path / "l.sqlite3")
    totals = Totals(label_value_limit=2)
    entries = [
        ledger.prepare(
            calls.priced(
                calls.call(usage=TokenUsage(input=10, cache_read=4, reasoning=2, output=3)),
                Cost(
                    PriceSource.PRICES,
                    input=Decimal("0.1"),
                    cache_read=Decimal("0.01"),
                    output=Decimal("0.3"),
                    reasoning=Decimal("0.2"),
                ),
            )
        ),
        ledger.prepare(
            calls.priced(
                calls.call(provider="openrouter", response_model="x/y", outcome=Outcome.ERROR),
                Cost(PriceSource.PROVIDER, total_override=Decimal("0.000123")),
            )
        ),
        ledger.prepare(calls.priced(calls.call(provider="p3", response_model="m3"), Cost(PriceSource.UNPRICED))),
    ]
    totals.add_groups(ledger.commit(entries).groups)
    ledger.close()
    registry = CollectorRegistry()
    registry.register(TotalsCollector(totals))
    ProcessorMetrics(registry)
    first = {"agent": "planner", "provider": "openai", "model": "gpt-4o-mini-2024-07-18", "operation": "chat"}
    values = {
        t: registry.get_sample_value("genai_cost_usd_total", {**first, "token_type": t})
        for t in ("input", "cache_read", "cache_write", "output", "reasoning")
    }
    assert values == {"input": 0.1, "cache_read": 0.01, "cache_write": 0.0, "output": 0.3, "reasoning": 0.2}
    assert registry.get_sample_value("genai_tokens_total", {**first, "token_type": "reasoning"}) == 2
    second = {"agent": "planner", "provider": "openrouter", "model": "x/y", "operation": "chat"}
    assert registry.get_sample_value("genai_cost_usd_total", {**second, "token_type": "unsplit"}) == 0.000123
    assert registry.get_sample_value("genai_requests_total", {**second, "outcome": "error"}) == 1
    # Each label keeps 2 values: the third provider and the third model are reported as "other".
    assert registry.get_sample_value("genai_unpriced_requests_total", {"provider": "other", "model": "other"}) == 1
    assert registry.get_sample_value("genai_processor_spans_rejected_total", {"reason": "x"}) is None
