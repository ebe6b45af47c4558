"""Fixtures for the adapter tests: ``calls`` builds LlmCall/PricedCall values; ``stack`` is a pipeline
on a real ledger with a table-driven decoder double, for the receiver tests."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import calls as calls_helpers
import pytest
from prometheus_client import CollectorRegistry

from genai_cost.processor.adapters.ledger import SqliteLedger
from genai_cost.processor.adapters.prometheus import ProcessorMetrics, TotalsCollector
from genai_cost.processor.domain.records import LlmCall
from genai_cost.processor.pipeline import Pipeline, SpanRejection, Totals
from genai_cost.processor.pipeline.service import ExportService


@dataclass
class Stack:
    """A pipeline on a real SQLite ledger with a fake decoder and real metrics."""

    pipeline: Pipeline
    service: ExportService
    decoder: Any  # calls.TableDecoder
    registry: CollectorRegistry
    ledger: SqliteLedger

    def batch(self, received: int, calls: list[LlmCall], rejected: list[SpanRejection] | None = None) -> Any:
        """A decoded batch for the decoder double."""
        return calls_helpers.FakeBatch(received, calls, rejected or [])

    def sample(self, name: str, **labels: str) -> float | None:
        return self.registry.get_sample_value(name, labels)


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Stack]:
    calls_module = calls_helpers
    registry = CollectorRegistry()
    ledger = SqliteLedger(tmp_path / "ledger.sqlite3", synchronous="normal")
    totals = Totals()
    registry.register(TotalsCollector(totals))
    pipeline = Pipeline(ledger, calls_module.TablePricer(), totals, observer=ProcessorMetrics(registry))
    pipeline.start()
    decoder = calls_module.TableDecoder()
    service = ExportService(pipeline, None, decoder.decoders())
    yield Stack(pipeline, service, decoder, registry, ledger)
    pipeline.stop(5)
    ledger.close()
