"""Prompt and response content is recorded only with OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=true."""

from __future__ import annotations

import json
from typing import Any

import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from genai_cost.fakes.llm_server import FakeLLMServer, Script
from genai_cost.instrumentation.core.settings import OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT

MODES = ("sync", "async")
SURFACES = ("json", "stream", "helper")
CONTENT_KEYS = ("gen_ai.system_instructions", "gen_ai.input.messages", "gen_ai.output.messages")
QUESTION = "What is the capital of France?"
ANSWER = "Paris is the capital."

pytestmark = pytest.mark.usefixtures("instrumentor")


@pytest.mark.parametrize("surface", SURFACES)
@pytest.mark.parametrize("mode", MODES)
async def test_content_recorded_when_enabled(
    mode: str,
    surface: str,
    run: Any,
    fake_llm: FakeLLMServer,
    span_exporter: InMemorySpanExporter,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT, "true")
    fake_llm.script(Script(text=ANSWER, chunks=3))

    await run(mode, surface, system="Be brief.")

    (span,) = span_exporter.get_finished_spans()
    attrs = dict(span.attributes)
    assert json.loads(attrs["gen_ai.system_instructions"]) == [{"type": "text", "content": "Be brief."}]
    assert json.loads(attrs["gen_ai.input.messages"]) == [
        {"role": "user", "parts": [{"type": "text", "content": QUESTION}]}
    ]
    assert json.loads(attrs["gen_ai.output.messages"]) == [
        {"role": "assistant", "parts": [{"type": "text", "content": ANSWER}], "finish_reason": "end_turn"}
    ]
    assert attrs["gen_ai.usage.output_tokens"] == 300


@pytest.mark.parametrize("value", [None, "false", "not-a-bool"])
@pytest.mark.parametrize("surface", SURFACES)
@pytest.mark.parametrize("mode", MODES)
async def test_no_content_by_default(
    mode: str,
    surface: str,
    value: str | None,
    run: Any,
    fake_llm: FakeLLMServer,
    span_exporter: InMemorySpanExporter,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    if value is None:
        monkeypatch.delenv(OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT, raising=False)
    else:
        monkeypatch.setenv(OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT, value)
    fake_llm.script(Script(text=ANSWER, chunks=3))

    await run(mode, surface, system="Be brief.")

    (span,) = span_exporter.get_finished_spans()
    attrs = dict(span.attributes)
    assert [key for key in CONTENT_KEYS if key in attrs] == []
    texts = [str(v) for v in attrs.values()]
    assert [t for t in texts if "Paris" in t or "France" in t or "brief" in t] == []
    assert attrs["gen_ai.usage.output_tokens"] == 300


async def test_generator_messages_are_not_consumed_by_capture(
    clients: Any, fake_llm: FakeLLMServer, span_exporter: InMemorySpanExporter, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT, "true")
    sync, _ = clients
    messages = ({"role": "user", "content": q} for q in [QUESTION])

    sync.messages.create(model="claude-haiku-4-5", max_tokens=10, messages=messages)

    assert fake_llm.requests[0].body["messages"] == [{"role": "user", "content": QUESTION}]
    (span,) = span_exporter.get_finished_spans()
    # anthropic >= 2 hands the generator on untransformed (we leave it alone); older SDKs turned it
    # into a list before the request, which is then recorded like any list.
    recorded = dict(span.attributes).get("gen_ai.input.messages")
    assert recorded is None or json.loads(recorded) == [
        {"role": "user", "parts": [{"type": "text", "content": QUESTION}]}
    ]
