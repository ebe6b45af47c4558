"""Responses API through the real openai SDK: JSON, typed SSE events, the stream helper."""

from __future__ import annotations

import json
from typing import Any

import httpx
import openai

from genai_cost.fakes.llm_server import FakeLLMServer, Script
from genai_cost.fakes.replies import parse_sse

EVENT_TYPES = [
    "response.created",
    "response.in_progress",
    "response.output_item.added",  # reasoning item
    "response.output_item.done",
    "response.output_item.added",  # message
    "response.content_part.added",
    *["response.output_text.delta"] * 5,
    "response.output_text.done",
    "response.content_part.done",
    "response.output_item.done",
    "response.completed",
]


def _usage_tuple(usage: Any) -> tuple[int, ...]:
    return (
        usage.input_tokens,
        usage.input_tokens_details.cached_tokens,
        usage.output_tokens,
        usage.output_tokens_details.reasoning_tokens,
        usage.total_tokens,
    )


def test_json_response_parses_with_default_usage(oai: openai.OpenAI) -> None:
    response = oai.responses.create(model="gpt-4o", input="hello", instructions="be brief")

    assert _usage_tuple(response.usage) == (1210, 1030, 310, 130, 1520)
    assert response.model == "gpt-4o-2024-08-06"
    assert (response.status, response.service_tier, response.instructions) == ("completed", "default", "be brief")
    assert [item.type for item in response.output] == ["reasoning", "message"]
    assert response.output_text == "chunk0 chunk1 chunk2 chunk3 chunk4 "
    assert response.id.startswith("resp_") and len(response.id) == 5 + 50


def test_no_reasoning_item_when_reasoning_tokens_are_zero(server: FakeLLMServer, oai: openai.OpenAI) -> None:
    server.script(Script(reasoning_tokens=0, input_tokens=20, cached_tokens=0, output_tokens=2))

    response = oai.responses.create(model="gpt-4o", input="hello")

    assert [item.type for item in response.output] == ["message"]
    assert _usage_tuple(response.usage) == (20, 0, 2, 0, 22)


def test_raw_stream_events_have_sequence_numbers(oai: openai.OpenAI) -> None:
    events = list(oai.responses.create(model="gpt-4o", input="hello", stream=True))

    assert [e.type for e in events] == EVENT_TYPES
    assert [e.sequence_number for e in events] == list(range(len(EVENT_TYPES)))
    created, completed = events[0], events[-1]
    assert created.type == "response.created" and completed.type == "response.completed"
    assert (created.response.status, created.response.usage) == ("in_progress", None)
    assert created.response.id == completed.response.id
    assert _usage_tuple(completed.response.usage) == (1210, 1030, 310, 130, 1520)


def test_stream_wire_names_each_event(http: httpx.Client) -> None:
    response = http.post("/v1/responses", json={"model": "gpt-4o", "input": "hi", "stream": True})

    events = parse_sse(response.content)
    assert [e.event for e in events] == EVENT_TYPES
    assert all(json.loads(e.data)["type"] == e.event for e in events)
    assert "[DONE]" not in response.text


def test_stream_helper_final_response(server: FakeLLMServer, oai: openai.OpenAI) -> None:
    server.script(Script(chunks=20))

    with oai.responses.stream(model="gpt-4o", input="hello") as stream:
        deltas = [e.delta for e in stream if e.type == "response.output_text.delta"]
        final = stream.get_final_response()

    assert len(deltas) == 20
    assert final.output_text == "".join(deltas)
    assert _usage_tuple(final.usage) == (1210, 1030, 310, 130, 1520)


async def test_async_create_stream_and_helper(aoai: openai.AsyncOpenAI) -> None:
    response = await aoai.responses.create(model="o4-mini", input="hello")
    stream = await aoai.responses.create(model="o4-mini", input="hello", stream=True)
    events = [event async for event in stream]
    async with aoai.responses.stream(model="o4-mini", input="hello") as helper:
        final = await helper.get_final_response()

    assert _usage_tuple(response.usage) == (1210, 1030, 310, 130, 1520)
    assert len(events) == len(EVENT_TYPES)
    assert _usage_tuple(final.usage) == (1210, 1030, 310, 130, 1520)
    assert len({response.id, final.id}) == 2
