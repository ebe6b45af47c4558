"""Fixtures for the Anthropic instrumentation tests: instrumented SDK clients against the fake server.

``Run`` drives one scenario through the real ``anthropic`` SDK, sync or async, by one surface
(``json``: ``messages.create``; ``stream``: ``create(stream=True)``; ``helper``: ``.stream()``),
and returns what the caller saw, normalised so that two runs compare equal (ids removed).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import anthropic
import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from genai_cost.fakes.llm_server import FakeLLMServer
from genai_cost.instrumentation.anthropic import AnthropicInstrumentor

MODEL = "claude-haiku-4-5"
MESSAGES = [{"role": "user", "content": "What is the capital of France?"}]


@pytest.fixture
def instrumentor(tracer_provider: TracerProvider) -> Iterator[AnthropicInstrumentor]:
    inst = AnthropicInstrumentor()
    inst.instrument(tracer_provider=tracer_provider)
    yield inst
    inst.uninstrument()


@pytest.fixture
async def clients(fake_llm: FakeLLMServer) -> AsyncIterator[tuple[anthropic.Anthropic, anthropic.AsyncAnthropic]]:
    """A sync and an async client (no retries) on the fake server, with the SDK's tracing at its default."""
    sync = anthropic.Anthropic(base_url=fake_llm.anthropic_base_url, api_key="test-key", max_retries=0)
    asyn = anthropic.AsyncAnthropic(base_url=fake_llm.anthropic_base_url, api_key="test-key", max_retries=0)
    yield sync, asyn
    sync.close()
    await asyn.close()


def _drop_ids(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _drop_ids(v) for k, v in value.items() if k != "id"}
    if isinstance(value, list):
        return [_drop_ids(v) for v in value]
    return value


def normalise(obj: Any) -> Any:
    """A caller-visible object (message, event) as plain data without its random ids."""
    return _drop_ids(obj.model_dump()) if hasattr(obj, "model_dump") else obj


@dataclass
class Seen:
    """What the caller saw: the events (streams) and the final message (JSON and helper)."""

    events: list[Any]
    message: Any
    response_id: str | None = None


@dataclass
class Run:
    """Runs one call by ``surface`` in ``mode`` through the real SDK."""

    sync: anthropic.Anthropic
    asyn: anthropic.AsyncAnthropic

    async def __call__(self, mode: str, surface: str, **kwargs: Any) -> Seen:
        params: dict[str, Any] = {"model": MODEL, "max_tokens": 1024, "messages": MESSAGES, **kwargs}
        if mode == "sync":
            return self._sync(surface, params)
        return await self._async(surface, params)

    def _sync(self, surface: str, params: dict[str, Any]) -> Seen:
        if surface == "json":
            message = self.sync.messages.create(**params)
            return Seen([], normalise(message), message.id)
        if surface == "stream":
            with self.sync.messages.create(stream=True, **params) as stream:
                raw = list(stream)
                return Seen([normalise(e) for e in raw], None, raw[0].message.id)
        with self.sync.messages.stream(**params) as helper:
            events = [normalise(e) for e in helper]
            final = helper.get_final_message()
            return Seen(events, normalise(final), final.id)

    async def _async(self, surface: str, params: dict[str, Any]) -> Seen:
        if surface == "json":
            message = await self.asyn.messages.create(**params)
            return Seen([], normalise(message), message.id)
        if surface == "stream":
            async with await self.asyn.messages.create(stream=True, **params) as stream:
                raw = [e async for e in stream]
                return Seen([normalise(e) for e in raw], None, raw[0].message.id)
        async with self.asyn.messages.stream(**params) as helper:
            events = [normalise(e) async for e in helper]
            final = await helper.get_final_message()
            return Seen(events, normalise(final), final.id)


@pytest.fixture
def run(clients: tuple[anthropic.Anthropic, anthropic.AsyncAnthropic]) -> Run:
    return Run(*clients)


class _Forward(SpanProcessor):
    """Forwards ended spans to whichever exporter a test has plugged in (the global provider is set once)."""

    target: InMemorySpanExporter | None = None

    def on_end(self, span: ReadableSpan) -> None:
        if self.target is not None:
            self.target.export([span])


_FORWARD = _Forward()


@pytest.fixture
def global_exporter() -> Iterator[InMemorySpanExporter]:
    """Spans sent to the *global* tracer provider, where anthropic >= 2 sends its own spans by default."""
    provider = trace.get_tracer_provider()
    if not isinstance(provider, TracerProvider):
        trace.set_tracer_provider(TracerProvider())
        provider = trace.get_tracer_provider()
    if not isinstance(provider, TracerProvider):
        pytest.fail(f"global tracer provider is {type(provider).__name__}, not an SDK TracerProvider")
    if not getattr(provider, "_genai_cost_test_forward", False):
        provider.add_span_processor(_FORWARD)
        provider._genai_cost_test_forward = True  # type: ignore[attr-defined]
    exporter = InMemorySpanExporter()
    _FORWARD.target = exporter
    yield exporter
    _FORWARD.target = None
