"""Anthropic usage accounting (pure), the stream proxy on synthetic events, provider and error mapping."""

from __future__ import annotations

from typing import Any

import anthropic
import pytest
from anthropic.types import (
    RawContentBlockDeltaEvent,
    RawMessageDeltaEvent,
    RawMessageStartEvent,
    RawMessageStopEvent,
)
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from genai_cost.instrumentation.anthropic.calls import MessagesCall, error_type
from genai_cost.instrumentation.anthropic.provider import provider_of
from genai_cost.instrumentation.anthropic.streams import MessageEventStream
from genai_cost.instrumentation.anthropic.usage import Usage

FULL = {
    "input_tokens": 5,
    "cache_read_input_tokens": 60,
    "cache_creation_input_tokens": 700,
    "cache_creation": {"ephemeral_5m_input_tokens": 300, "ephemeral_1h_input_tokens": 400},
    "output_tokens": 8000,
    "output_tokens_details": {"thinking_tokens": 900},
    "service_tier": "priority",
    "speed": "fast",
    "inference_geo": "us",
    "server_tool_use": {"web_search_requests": 3, "web_fetch_requests": 0},
}


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (
            FULL,
            {
                "gen_ai.usage.input_tokens": 765,
                "gen_ai.usage.cache_read.input_tokens": 60,
                "gen_ai.usage.cache_write.input_tokens": 700,
                "anthropic.usage.cache_creation.ephemeral_5m_input_tokens": 300,
                "anthropic.usage.cache_creation.ephemeral_1h_input_tokens": 400,
                "gen_ai.usage.output_tokens": 8000,
                "gen_ai.usage.reasoning.output_tokens": 900,
                "anthropic.response.service_tier": "priority",
                "anthropic.usage.speed": "fast",
                "anthropic.usage.inference_geo": "us",
                "anthropic.usage.server_tool_use.web_search_requests": 3,
                "anthropic.usage.server_tool_use.web_fetch_requests": 0,
            },
        ),
        # An older API: no cache fields at all; input is the raw input.
        (
            {"input_tokens": 12, "output_tokens": 34},
            {"gen_ai.usage.input_tokens": 12, "gen_ai.usage.output_tokens": 34},
        ),
        # Cache fields present but null (as some SDK versions serialise them).
        (
            {
                "input_tokens": 12,
                "cache_read_input_tokens": None,
                "cache_creation_input_tokens": None,
                "output_tokens": 1,
            },
            {"gen_ai.usage.input_tokens": 12, "gen_ai.usage.output_tokens": 1},
        ),
        # Wrong types are ignored, never coerced or invented.
        ({"input_tokens": "12", "cache_read_input_tokens": True, "output_tokens": 3.0}, {}),
    ],
    ids=["full", "no-cache", "null-cache", "wrong-types"],
)
def test_usage_attributes(raw: dict[str, Any], expected: dict[str, Any]) -> None:
    assert Usage.of(raw).attributes() == expected


def test_usage_reads_sdk_models_like_dicts() -> None:
    model = anthropic.types.Usage.model_validate(FULL)
    assert Usage.of(model).attributes() == Usage.of(FULL).attributes()


def test_attributes_without_output_leave_out_non_final_counts() -> None:
    attrs = Usage.of(FULL).attributes(with_output=False)
    assert "gen_ai.usage.output_tokens" not in attrs
    assert "gen_ai.usage.reasoning.output_tokens" not in attrs
    assert attrs["gen_ai.usage.input_tokens"] == 765


def _start(**usage: Any) -> RawMessageStartEvent:
    return RawMessageStartEvent.model_validate(
        {
            "type": "message_start",
            "message": {
                "id": "msg_01A",
                "type": "message",
                "role": "assistant",
                "model": "claude-x-1",
                "content": [],
                "stop_reason": None,
                "stop_sequence": None,
                "usage": usage,
            },
        }
    )


def _delta(**usage: Any) -> RawMessageDeltaEvent:
    return RawMessageDeltaEvent.model_validate(
        {"type": "message_delta", "delta": {"stop_reason": "max_tokens", "stop_sequence": None}, "usage": usage}
    )


def _text(text: str) -> RawContentBlockDeltaEvent:
    return RawContentBlockDeltaEvent.model_validate(
        {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": text}}
    )


def _stream_span(events: list[Any]) -> tuple[list[Any], dict[str, Any]]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    call = MessagesCall.start(provider.get_tracer("t"), object(), {"model": "claude-x"}, True)
    seen = list(MessageEventStream(iter(events), call))
    (span,) = exporter.get_finished_spans()
    return seen, dict(span.attributes)


def test_current_delta_gives_final_input_and_cache_and_cumulative_output() -> None:
    events = [
        _start(
            input_tokens=10,
            cache_read_input_tokens=20,
            cache_creation_input_tokens=30,
            cache_creation={"ephemeral_5m_input_tokens": 30, "ephemeral_1h_input_tokens": 0},
            output_tokens=2,
        ),
        _text("a"),
        _delta(output_tokens=50),
        _text("b"),
        # The final message_delta: cumulative output (never added), final input and cache counts.
        _delta(input_tokens=11, cache_read_input_tokens=21, cache_creation_input_tokens=30, output_tokens=77),
        RawMessageStopEvent(type="message_stop"),
    ]
    seen, attrs = _stream_span(events)

    assert seen == events
    assert attrs == {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "anthropic",
        "gen_ai.request.model": "claude-x",
        "gen_ai.request.stream": True,
        "gen_ai.response.id": "msg_01A",
        "gen_ai.response.model": "claude-x-1",
        "gen_ai.response.finish_reasons": ("max_tokens",),
        "gen_ai.usage.input_tokens": 62,
        "gen_ai.usage.cache_read.input_tokens": 21,
        "gen_ai.usage.cache_write.input_tokens": 30,
        "anthropic.usage.cache_creation.ephemeral_5m_input_tokens": 30,
        "anthropic.usage.cache_creation.ephemeral_1h_input_tokens": 0,
        "gen_ai.usage.output_tokens": 77,
    }


def test_legacy_delta_keeps_message_start_input() -> None:
    _, attrs = _stream_span(
        [
            _start(input_tokens=10, cache_read_input_tokens=20, output_tokens=1),
            _delta(output_tokens=9),
            RawMessageStopEvent(type="message_stop"),
        ]
    )
    assert (attrs["gen_ai.usage.input_tokens"], attrs["gen_ai.usage.output_tokens"]) == (30, 9)
    assert "genai_cost.usage.unavailable" not in attrs


def test_stream_without_any_usage_says_so() -> None:
    _, attrs = _stream_span([RawMessageStopEvent(type="message_stop")])
    assert attrs["genai_cost.usage.unavailable"] is True
    assert [k for k in attrs if k.startswith("gen_ai.usage.")] == []


def test_provider_of_platform_clients() -> None:
    bedrock = anthropic.AnthropicBedrock(aws_region="us-east-1", aws_access_key="a", aws_secret_key="b")
    vertex = anthropic.AnthropicVertex(region="us-east5", project_id="p", access_token="t")
    assert [provider_of(c) for c in (bedrock, vertex, anthropic.Anthropic(api_key="k"))] == [
        "aws.bedrock",
        "gcp.vertex_ai",
        "anthropic",
    ]


class _OldStatusError(Exception):
    """An anthropic < 1 status error: no ``type`` attribute, the error body only."""

    def __init__(self, body: Any) -> None:
        super().__init__("Error code: 529")
        self.body = body


@pytest.mark.parametrize(
    ("exc", "expected"),
    [
        (
            _OldStatusError({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}),
            "overloaded_error",
        ),
        (_OldStatusError("not json"), "_OldStatusError"),
        (TimeoutError("slow"), "TimeoutError"),
    ],
)
def test_error_type(exc: BaseException, expected: str) -> None:
    assert error_type(exc) == expected
