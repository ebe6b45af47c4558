"""Configured tag dimensions (team, tenant, ...) become extra metric labels, capped, and survive restarts."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

from prometheus_client import CollectorRegistry

from genai_cost.processor.adapters.ledger import SqliteLedger
from genai_cost.processor.adapters.prometheus import TotalsCollector
from genai_cost.processor.pipeline import Pipeline, Totals

TAGS = ("team", "tenant")


def _run(ledger: SqliteLedger, totals: Totals, calls: ModuleType, batch: list) -> None:  # type: ignore[type-arg]
    pipeline = Pipeline(ledger, calls.TablePricer(), totals)
    pipeline.start()
    try:
        assert pipeline.process(batch) == []
    finally:
        pipeline.stop(5)


def _requests(totals: Totals) -> dict[tuple[str, ...], int]:
    return {key: sum(series.requests.values()) for key, series in totals.snapshot().series.items()}


def test_tags_are_labels_capped_per_label_and_reloaded_from_the_ledger(tmp_path: Path, calls: ModuleType) -> None:
    batch = [
        calls.call(tags={"team": "care", "tenant": "acme"}),
        calls.call(tags={"team": "care", "tenant": "acme"}),
        calls.call(tags={"team": "research"}),
        calls.call(tags={"team": "labs", "tenant": "globex"}),  # a third team: over the cap of 2
        calls.call(),  # no tags at all
    ]
    expected = {
        ("planner", "openai", "gpt-4o-mini-2024-07-18", "chat", "care", "acme"): 2,
        ("planner", "openai", "gpt-4o-mini-2024-07-18", "chat", "research", ""): 1,
        ("planner", "openai", "gpt-4o-mini-2024-07-18", "chat", "other", "globex"): 1,
        ("planner", "openai", "gpt-4o-mini-2024-07-18", "chat", "", ""): 1,
    }
    ledger = SqliteLedger(tmp_path / "ledger.sqlite3", synchronous="normal")
    totals = Totals(label_value_limit=2, tag_labels=TAGS)
    _run(ledger, totals, calls, batch)
    assert _requests(totals) == expected

    registry = CollectorRegistry()
    registry.register(TotalsCollector(totals))
    labels = {
        "agent": "planner",
        "provider": "openai",
        "model": "gpt-4o-mini-2024-07-18",
        "operation": "chat",
        "outcome": "ok",
    }
    assert registry.get_sample_value("genai_requests_total", {**labels, "team": "care", "tenant": "acme"}) == 2.0
    assert registry.get_sample_value("genai_requests_total", {**labels, "team": "other", "tenant": "globex"}) == 1.0
    tokens = {**labels, "token_type": "input", "team": "research", "tenant": ""}
    del tokens["outcome"]
    assert registry.get_sample_value("genai_tokens_total", tokens) == 100.0
    ledger.close()

    # After a restart the same series come back from the ledger (the cap applies in load order).
    reopened = SqliteLedger(tmp_path / "ledger.sqlite3", synchronous="normal")
    restored = Totals(label_value_limit=2, tag_labels=TAGS)
    restored.add_groups(reopened.iter_totals())
    assert _requests(restored) == expected
    reopened.close()


def test_without_tag_dimensions_the_label_set_is_the_contract(tmp_path: Path, calls: ModuleType) -> None:
    ledger = SqliteLedger(tmp_path / "ledger.sqlite3", synchronous="normal")
    totals = Totals()
    _run(ledger, totals, calls, [calls.call(tags={"team": "care"})])
    registry = CollectorRegistry()
    registry.register(TotalsCollector(totals))
    families = {family.name: family for family in registry.collect()}
    (sample,) = families["genai_requests"].samples
    assert set(sample.labels) == {"agent", "provider", "model", "operation", "outcome"}
    ledger.close()
