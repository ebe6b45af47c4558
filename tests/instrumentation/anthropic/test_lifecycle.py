"""Instrument / uninstrument, suppression, and exactly one usage span per call next to anthropic's own tracing."""

from __future__ import annotations

from importlib.metadata import entry_points
from typing import Any

import anthropic
import pytest
from opentelemetry import trace
from opentelemetry.instrumentation.utils import suppress_instrumentation
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from genai_cost.fakes.llm_server import FakeLLMServer
from genai_cost.instrumentation.anthropic import AnthropicInstrumentor
from genai_cost.instrumentation.anthropic import instrumentor as instrumentor_module

MODES = ("sync", "async")
SURFACES = ("json", "stream", "helper")
SDK_MAJOR = int(anthropic.__version__.split(".")[0])


def usage_spans(*exporters: InMemorySpanExporter) -> list[tuple[str, int]]:
    """(name, output tokens) of every span, in any exporter, that carries token usage."""
    out = []
    for exporter in exporters:
        for span in exporter.get_finished_spans():
            attrs = dict(span.attributes or {})
            if any(key.startswith("gen_ai.usage.") for key in attrs):
                out.append((span.name, attrs.get("gen_ai.usage.output_tokens")))
    return out


@pytest.mark.parametrize("surface", SURFACES)
@pytest.mark.parametrize("mode", MODES)
async def test_suppress_instrumentation_emits_no_span(
    mode: str,
    surface: str,
    instrumentor: AnthropicInstrumentor,
    run: Any,
    fake_llm: FakeLLMServer,
    span_exporter: InMemorySpanExporter,
    global_exporter: InMemorySpanExporter,
) -> None:
    with suppress_instrumentation():
        seen = await run(mode, surface)

    assert span_exporter.get_finished_spans() == ()
    assert global_exporter.get_finished_spans() == ()  # nor anthropic's own span for this call
    assert len(fake_llm.requests) == 1
    assert seen.response_id is not None


@pytest.mark.parametrize("surface", SURFACES)
@pytest.mark.parametrize("mode", MODES)
async def test_uninstrument_restores_originals(
    mode: str, surface: str, tracer_provider: TracerProvider, run: Any, span_exporter: InMemorySpanExporter
) -> None:
    originals = (anthropic._base_client.SyncAPIClient.request, anthropic._base_client.AsyncAPIClient.request)
    assert run.sync.messages is not None and run.asyn.messages is not None  # resources exist before instrumenting
    inst = AnthropicInstrumentor()
    inst.instrument(tracer_provider=tracer_provider)
    assert anthropic._base_client.SyncAPIClient.request is not originals[0]
    await run(mode, surface)
    assert len(span_exporter.get_finished_spans()) == 1

    inst.uninstrument()
    await run(mode, surface)

    assert (anthropic._base_client.SyncAPIClient.request, anthropic._base_client.AsyncAPIClient.request) == originals
    assert [(s.name, s.instrumentation_scope.name) for s in span_exporter.get_finished_spans()] == [
        ("chat claude-haiku-4-5", "genai_cost.instrumentation.anthropic")
    ]


@pytest.mark.skipif(SDK_MAJOR < 2, reason="anthropic < 2 has no tracing of its own")
@pytest.mark.parametrize("surface", SURFACES)
@pytest.mark.parametrize("mode", MODES)
async def test_exactly_one_usage_span_next_to_the_sdks_own_tracing(
    mode: str,
    surface: str,
    tracer_provider: TracerProvider,
    run: Any,
    span_exporter: InMemorySpanExporter,
    global_exporter: InMemorySpanExporter,
) -> None:
    # Baseline: the SDK's own tracing is on by default and its span carries usage.
    await run(mode, surface)
    assert usage_spans(global_exporter) == [("anthropic.messages.create", 300)]
    global_exporter.clear()

    inst = AnthropicInstrumentor()
    inst.instrument(tracer_provider=tracer_provider)
    try:
        await run(mode, surface)
        assert usage_spans(span_exporter, global_exporter) == [("chat claude-haiku-4-5", 300)]
    finally:
        inst.uninstrument()

    # Uninstrumented again: the SDK's own span is back.
    global_exporter.clear()
    span_exporter.clear()
    await run(mode, surface)
    assert usage_spans(span_exporter, global_exporter) == [("anthropic.messages.create", 300)]


@pytest.mark.skipif(SDK_MAJOR < 2, reason="anthropic < 2 has no tracing of its own")
async def test_sdk_spans_of_other_endpoints_are_kept(
    instrumentor: AnthropicInstrumentor,
    clients: Any,
    global_exporter: InMemorySpanExporter,
    span_exporter: InMemorySpanExporter,
) -> None:
    sync, _ = clients
    with pytest.raises(anthropic.NotFoundError):  # the fake server has no count_tokens endpoint
        sync.messages.count_tokens(model="claude-haiku-4-5", messages=[{"role": "user", "content": "hi"}])

    assert [s.name for s in global_exporter.get_finished_spans()] == ["anthropic.messages.count_tokens"]
    assert span_exporter.get_finished_spans() == ()


@pytest.mark.skipif(SDK_MAJOR < 2, reason="anthropic < 2 has no tracing of its own")
async def test_one_usage_span_when_the_client_sends_sdk_spans_to_our_provider(
    instrumentor: AnthropicInstrumentor,
    fake_llm: FakeLLMServer,
    tracer_provider: TracerProvider,
    span_exporter: InMemorySpanExporter,
) -> None:
    client = anthropic.Anthropic(
        base_url=fake_llm.anthropic_base_url,
        api_key="k",
        max_retries=0,
        open_telemetry={"tracer_provider": tracer_provider},
    )
    client.messages.create(model="claude-haiku-4-5", max_tokens=5, messages=[{"role": "user", "content": "hi"}])

    assert usage_spans(span_exporter) == [("chat claude-haiku-4-5", 300)]


def test_instrument_never_raises(monkeypatch: pytest.MonkeyPatch, tracer_provider: TracerProvider) -> None:
    def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(instrumentor_module, "wrap_function_wrapper", broken)
    original = anthropic._base_client.SyncAPIClient.request
    inst = AnthropicInstrumentor()
    try:
        inst.instrument(tracer_provider=tracer_provider)  # must not raise
        assert anthropic._base_client.SyncAPIClient.request is original
    finally:
        inst.uninstrument()


def test_entry_point_and_dependencies() -> None:
    found = {ep.name: ep.value for ep in entry_points(group="opentelemetry_instrumentor")}
    assert found["genai_cost_anthropic"] == "genai_cost.instrumentation.anthropic:AnthropicInstrumentor"
    assert AnthropicInstrumentor().instrumentation_dependencies() == ("anthropic >= 0.40.0",)


async def test_span_is_current_while_the_request_is_sent(
    instrumentor: AnthropicInstrumentor, fake_llm: FakeLLMServer, span_exporter: InMemorySpanExporter
) -> None:
    seen: list[int] = []

    def hook(request: Any) -> None:
        seen.append(trace.get_current_span().get_span_context().span_id)

    http_client = anthropic.DefaultHttpxClient(event_hooks={"request": [hook]})
    client = anthropic.Anthropic(
        base_url=fake_llm.anthropic_base_url, api_key="k", max_retries=0, http_client=http_client
    )
    client.messages.create(model="claude-haiku-4-5", max_tokens=5, messages=[{"role": "user", "content": "hi"}])

    (span,) = span_exporter.get_finished_spans()
    assert seen == [span.context.span_id]
    assert trace.get_current_span().get_span_context().is_valid is False  # detached afterwards
