"""Anthropic messages through the real anthropic SDK: JSON, raw SSE events, the stream helper."""

from __future__ import annotations

import json
from typing import Any

import anthropic
import httpx

from genai_cost.fakes.llm_server import FakeLLMServer, Script
from genai_cost.fakes.replies import parse_sse

MODEL = "claude-haiku-4-5"
MESSAGES: Any = [{"role": "user", "content": "hello"}]


def _usage_tuple(usage: Any) -> tuple[Any, ...]:
    return (
        usage.input_tokens,
        usage.cache_read_input_tokens,
        usage.cache_creation_input_tokens,
        usage.cache_creation.ephemeral_5m_input_tokens,
        usage.cache_creation.ephemeral_1h_input_tokens,
        usage.output_tokens,
    )


def test_json_message_parses_with_default_usage(ant: anthropic.Anthropic) -> None:
    message = ant.messages.create(model=MODEL, max_tokens=100, messages=MESSAGES)

    assert _usage_tuple(message.usage) == (50, 10000, 2000, 2000, 0, 300)
    assert message.usage.service_tier == "standard"
    assert message.model == "claude-haiku-4-5-20251001"
    assert message.stop_reason == "end_turn"
    assert message.content[0].type == "text"
    assert message.content[0].text == "chunk0 chunk1 chunk2 chunk3 chunk4 "
    assert message.id.startswith("msg_01") and len(message.id) == 28


def test_ids_are_fresh_per_call(ant: anthropic.Anthropic) -> None:
    ids = {ant.messages.create(model=MODEL, max_tokens=10, messages=MESSAGES).id for _ in range(3)}

    assert len(ids) == 3


def test_scripted_cache_write_split_and_tokens(server: FakeLLMServer, ant: anthropic.Anthropic) -> None:
    server.script(
        Script(input_tokens=5, cached_tokens=0, cache_write_5m_tokens=100, cache_write_1h_tokens=40, output_tokens=9)
    )

    message = ant.messages.create(model=MODEL, max_tokens=100, messages=MESSAGES)

    assert _usage_tuple(message.usage) == (5, 0, 140, 100, 40, 9)


def test_raw_stream_events_and_usage(ant: anthropic.Anthropic) -> None:
    stream = ant.messages.create(model=MODEL, max_tokens=100, messages=MESSAGES, stream=True)
    events = list(stream)

    types = [e.type for e in events]
    assert types == [
        "message_start",
        "content_block_start",
        *["content_block_delta"] * 5,
        "content_block_stop",
        "message_delta",
        "message_stop",
    ]  # the SDK drops `ping`
    start, delta = events[0], events[-2]
    assert start.type == "message_start" and delta.type == "message_delta"
    assert _usage_tuple(start.message.usage) == (50, 10000, 2000, 2000, 0, 1)
    assert (delta.usage.input_tokens, delta.usage.cache_read_input_tokens) == (50, 10000)
    assert (delta.usage.cache_creation_input_tokens, delta.usage.output_tokens) == (2000, 300)
    assert delta.delta.stop_reason == "end_turn"


def test_legacy_delta_carries_only_output_tokens(server: FakeLLMServer, http: httpx.Client) -> None:
    server.script(Script(legacy_anthropic_delta=True, output_tokens=77))
    body = {"model": MODEL, "max_tokens": 10, "messages": MESSAGES, "stream": True}

    events = parse_sse(http.post("/v1/messages", json=body, headers={"anthropic-version": "2023-06-01"}).content)

    assert [e.event for e in events][:3] == ["message_start", "content_block_start", "ping"]
    delta = json.loads(next(e.data for e in events if e.event == "message_delta"))
    assert delta["usage"] == {"output_tokens": 77}
    assert all(e.event == json.loads(e.data)["type"] for e in events)


def test_current_delta_repeats_input_and_cache_fields(http: httpx.Client) -> None:
    body = {"model": MODEL, "max_tokens": 10, "messages": MESSAGES, "stream": True}

    events = parse_sse(http.post("/v1/messages", json=body).content)

    delta = json.loads(next(e.data for e in events if e.event == "message_delta"))
    assert delta["usage"] == {
        "input_tokens": 50,
        "cache_creation_input_tokens": 2000,
        "cache_read_input_tokens": 10000,
        "output_tokens": 300,
    }


def test_stream_helper_final_message(server: FakeLLMServer, ant: anthropic.Anthropic) -> None:
    server.script(Script(chunks=20, start_output_tokens=3))

    with ant.messages.stream(model=MODEL, max_tokens=100, messages=MESSAGES) as stream:
        texts = list(stream.text_stream)
        final = stream.get_final_message()

    assert texts == [f"chunk{i} " for i in range(20)]
    assert _usage_tuple(final.usage) == (50, 10000, 2000, 2000, 0, 300)


def test_stream_helper_with_legacy_delta_keeps_start_usage(server: FakeLLMServer, ant: anthropic.Anthropic) -> None:
    server.script(Script(legacy_anthropic_delta=True))

    with ant.messages.stream(model=MODEL, max_tokens=100, messages=MESSAGES) as stream:
        final = stream.get_final_message()

    assert _usage_tuple(final.usage) == (50, 10000, 2000, 2000, 0, 300)


async def test_async_create_stream_and_helper(aant: anthropic.AsyncAnthropic) -> None:
    message = await aant.messages.create(model=MODEL, max_tokens=100, messages=MESSAGES)
    stream = await aant.messages.create(model=MODEL, max_tokens=100, messages=MESSAGES, stream=True)
    events = [event async for event in stream]
    async with aant.messages.stream(model=MODEL, max_tokens=100, messages=MESSAGES) as helper:
        final = await helper.get_final_message()

    assert _usage_tuple(message.usage) == (50, 10000, 2000, 2000, 0, 300)
    assert len(events) == 10
    assert _usage_tuple(final.usage) == (50, 10000, 2000, 2000, 0, 300)
    assert len({message.id, final.id}) == 2
