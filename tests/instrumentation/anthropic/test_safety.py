"""Telemetry never breaks the app: injected failures leave the caller's results and events unchanged.

Also: the caller-visible event sequence is identical with and without instrumentation, and a
budget refusal is the one exception besides the SDK's own that reaches the caller.
"""

from __future__ import annotations

from typing import Any

import anthropic
import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode

from genai_cost.fakes.llm_server import FakeLLMServer, Script
from genai_cost.instrumentation.anthropic import AnthropicInstrumentor, calls, streams, usage, wrappers
from genai_cost.instrumentation.core import enforcement, guard
from genai_cost.instrumentation.core.settings import OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT

MODES = ("sync", "async")
SURFACES = ("json", "stream", "helper")
SCRIPT = Script(text="Paris is the capital of France.", chunks=6, output_tokens=42)


class Boom(Exception):
    """A telemetry failure injected by a test."""


def boom(*args: Any, **kwargs: Any) -> Any:
    raise Boom("injected telemetry failure")


class BrokenSpan:
    """A span whose every method raises."""

    def __getattr__(self, name: str) -> Any:
        return boom


def _inject(site: str, monkeypatch: pytest.MonkeyPatch) -> None:
    if site == "start":
        monkeypatch.setattr(calls.MessagesCall, "start", classmethod(boom))
    elif site == "span":
        monkeypatch.setattr(calls.spans, "start_llm_span", lambda *a, **k: BrokenSpan())
    elif site == "usage":
        monkeypatch.setattr(usage.Usage, "update", boom)
    elif site == "chunk":
        monkeypatch.setattr(streams.MessageEventStream, "_process_chunk", boom)
    elif site == "content":
        monkeypatch.setenv(OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT, "true")
        monkeypatch.setattr(calls.content, "output_messages", boom)
    elif site == "finish":
        monkeypatch.setattr(wrappers, "_finish", boom)
    else:
        raise AssertionError(site)


SITES = ("start", "span", "usage", "chunk", "content", "finish")
CASES = [(surface, site) for surface in SURFACES for site in SITES if not (surface == "json" and site == "chunk")]
EVENTS = {"json": 0, "stream": 11, "helper": 17}  # stream: start, block start, 6 deltas, block stop, delta, stop


@pytest.mark.parametrize(("surface", "site"), CASES)
@pytest.mark.parametrize("mode", MODES)
async def test_injected_telemetry_failure_leaves_result_unchanged(
    mode: str,
    surface: str,
    site: str,
    run: Any,
    fake_llm: FakeLLMServer,
    tracer_provider: TracerProvider,
    span_exporter: InMemorySpanExporter,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fake_llm.script(SCRIPT)
    baseline = await run(mode, surface)

    failures_before = sum(guard.failures.values())
    _inject(site, monkeypatch)
    inst = AnthropicInstrumentor()
    inst.instrument(tracer_provider=tracer_provider)
    try:
        fake_llm.script(SCRIPT)
        seen = await run(mode, surface)
    finally:
        inst.uninstrument()

    assert seen.events == baseline.events
    assert seen.message == baseline.message
    assert len(seen.events) == EVENTS[surface]  # the helper adds one text event per delta
    assert sum(guard.failures.values()) > failures_before  # the failure did happen, and was swallowed
    assert len(fake_llm.requests) == 2


@pytest.mark.parametrize("surface", SURFACES)
@pytest.mark.parametrize("mode", MODES)
async def test_api_error_reaches_caller_even_when_telemetry_is_broken(
    mode: str,
    surface: str,
    run: Any,
    fake_llm: FakeLLMServer,
    monkeypatch: pytest.MonkeyPatch,
    instrumentor: AnthropicInstrumentor,
) -> None:
    _inject("span", monkeypatch)
    fake_llm.script(Script(status=429))

    with pytest.raises(anthropic.RateLimitError):
        await run(mode, surface)


@pytest.mark.parametrize("surface", SURFACES)
@pytest.mark.parametrize("mode", MODES)
async def test_caller_visible_events_identical_with_and_without_instrumentation(
    mode: str,
    surface: str,
    run: Any,
    fake_llm: FakeLLMServer,
    tracer_provider: TracerProvider,
    span_exporter: InMemorySpanExporter,
) -> None:
    fake_llm.script(SCRIPT)
    plain = await run(mode, surface)
    inst = AnthropicInstrumentor()
    inst.instrument(tracer_provider=tracer_provider)
    try:
        fake_llm.script(SCRIPT)
        instrumented = await run(mode, surface)
    finally:
        inst.uninstrument()

    assert instrumented.events == plain.events
    assert instrumented.message == plain.message
    assert [type(e).__name__ for e in instrumented.events] == [type(e).__name__ for e in plain.events]
    (span,) = span_exporter.get_finished_spans()
    assert dict(span.attributes)["gen_ai.usage.output_tokens"] == 42


@pytest.mark.parametrize("surface", SURFACES)
@pytest.mark.parametrize("mode", MODES)
async def test_budget_refusal_is_recorded_and_raised_before_any_request(
    mode: str,
    surface: str,
    run: Any,
    fake_llm: FakeLLMServer,
    span_exporter: InMemorySpanExporter,
    monkeypatch: pytest.MonkeyPatch,
    instrumentor: AnthropicInstrumentor,
) -> None:
    asked: list[tuple[str, str | None]] = []

    def refuse(provider: str, model: str | None) -> None:
        asked.append((provider, model))
        raise enforcement.BudgetExceededError(budget="team-month", scope={"agent": "bot"}, reason="over_limit")

    monkeypatch.setattr(enforcement, "check_call", refuse)

    with pytest.raises(enforcement.BudgetExceededError):
        await run(mode, surface)

    assert asked == [("anthropic", "claude-haiku-4-5")]
    assert fake_llm.requests == []
    (span,) = span_exporter.get_finished_spans()
    assert span.status.status_code == StatusCode.ERROR
    attrs = dict(span.attributes)
    assert (attrs["genai_cost.budget.refused"], attrs["error.type"]) == (True, "BudgetExceededError")
    assert [k for k in attrs if k.startswith("gen_ai.usage.")] == []


async def test_enforcement_failure_fails_open(
    run: Any,
    fake_llm: FakeLLMServer,
    span_exporter: InMemorySpanExporter,
    monkeypatch: pytest.MonkeyPatch,
    instrumentor: AnthropicInstrumentor,
) -> None:
    monkeypatch.setattr(enforcement, "check_call", boom)

    await run("sync", "json")

    (span,) = span_exporter.get_finished_spans()
    assert span.status.status_code == StatusCode.OK
    assert dict(span.attributes)["gen_ai.usage.input_tokens"] == 12050
