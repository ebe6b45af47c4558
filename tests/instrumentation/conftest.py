"""Fixtures shared by the instrumentation tests (OpenAI, Anthropic, core).

- ``span_exporter``: an in-memory exporter; ``span_exporter.get_finished_spans()`` lists ended spans.
- ``tracer_provider``: a fresh SDK ``TracerProvider`` exporting synchronously to ``span_exporter``;
  pass it to ``Instrumentor().instrument(tracer_provider=tracer_provider)``.
- ``fake_llm``: a started :class:`genai_cost.fakes.llm_server.FakeLLMServer` on 127.0.0.1 (free port),
  stopped after the test.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter


@pytest.fixture
def span_exporter() -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    yield exporter
    exporter.clear()


@pytest.fixture
def tracer_provider(span_exporter: InMemorySpanExporter) -> Iterator[TracerProvider]:
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(span_exporter))
    yield provider
    provider.shutdown()


@pytest.fixture
def fake_llm() -> Iterator[Any]:
    from genai_cost.fakes.llm_server import FakeLLMServer

    server = FakeLLMServer()
    with server:
        yield server
