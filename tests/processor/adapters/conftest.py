"""Fixtures for the adapter tests: ``calls`` builds LlmCall/PricedCall values; ``stack`` is a pipeline
on a real ledger with a table-driven decoder double, for the receiver tests."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from prometheus_client import CollectorRegistry

from genai_cost.processor.adapters.ledger import SqliteLedger
from genai_cost.processor.adapters.prometheus import ProcessorMetrics, TotalsCollector
from genai_cost.processor.domain.records import LlmCall
from genai_cost.processor.pipeline import Pipeline, SpanRejection, Totals
from genai_cost.processor.pipeline.service import ExportService

_NAME = "genai_cost_tests_calls"


def load_calls() -> ModuleType:
    if _NAME not in sys.modules:
        spec = importlib.util.spec_from_file_location(_NAME, Path(__file__).parents[1] / "calls.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[_NAME] = module
        spec.loader.exec_module(module)
    return sys.modules[_NAME]


@pytest.fixture
def calls() -> ModuleType:
    """The ``tests/processor/calls.py`` helpers (``call``, ``cost``, ``priced``, ``TablePricer``)."""
    return load_calls()


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
        return load_calls().FakeBatch(received, calls, rejected or [])

    def sample(self, name: str, **labels: str) -> float | None:
        return self.registry.get_sample_value(name, labels)


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Stack]:
    calls_module = load_calls()
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
