"""Chat completions through the real openai SDK: JSON, SSE with/without include_usage, helpers."""

from __future__ import annotations

import json
from typing import Any

import httpx
import openai

from genai_cost.fakes.llm_server import FakeLLMServer, Script
from genai_cost.fakes.replies import parse_sse

MESSAGES: Any = [{"role": "user", "content": "hello"}]


def _assert_default_usage(usage: Any) -> None:
    assert (usage.prompt_tokens, usage.completion_tokens, usage.total_tokens) == (1200, 300, 1500)
    assert usage.prompt_tokens_details.cached_tokens == 1024
    assert usage.completion_tokens_details.reasoning_tokens == 128


def test_json_completion_parses_with_default_usage(oai: openai.OpenAI) -> None:
    completion = oai.chat.completions.create(model="gpt-4o", messages=MESSAGES)

    _assert_default_usage(completion.usage)
    assert completion.model == "gpt-4o-2024-08-06"
    assert completion.object == "chat.completion"
    assert completion.service_tier == "default"
    assert completion.choices[0].message.content == "chunk0 chunk1 chunk2 chunk3 chunk4 "
    assert completion.choices[0].finish_reason == "stop"
    assert completion.id.startswith("chatcmpl-") and len(completion.id) == len("chatcmpl-") + 29


def test_unmapped_model_is_echoed_and_ids_are_fresh(oai: openai.OpenAI) -> None:
    first = oai.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    second = oai.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)

    assert (first.model, second.model) == ("gpt-4o-mini", "gpt-4o-mini")
    assert first.id != second.id


def test_scripted_usage_model_and_tier(server: FakeLLMServer, oai: openai.OpenAI) -> None:
    server.script(
        Script(
            model="ft:gpt-4o:acme",
            input_tokens=10,
            cached_tokens=3,
            output_tokens=4,
            reasoning_tokens=0,
            service_tier="flex",
            text="abcd",
            chunks=2,
        )
    )

    completion = oai.chat.completions.create(model="gpt-4o", messages=MESSAGES)

    assert completion.model == "ft:gpt-4o:acme"
    assert completion.service_tier == "flex"
    assert completion.choices[0].message.content == "abcd"
    usage = completion.usage
    assert usage is not None
    assert (usage.prompt_tokens, usage.completion_tokens, usage.total_tokens) == (10, 4, 14)
    assert usage.prompt_tokens_details is not None and usage.prompt_tokens_details.cached_tokens == 3
    assert usage.completion_tokens_details is not None
    assert usage.completion_tokens_details.reasoning_tokens == 0


def test_send_usage_false_omits_usage(server: FakeLLMServer, oai: openai.OpenAI) -> None:
    server.script(Script(send_usage=False))

    assert oai.chat.completions.create(model="gpt-4o", messages=MESSAGES).usage is None


def test_stream_without_include_usage_has_no_usage_anywhere(oai: openai.OpenAI) -> None:
    chunks = list(oai.chat.completions.create(model="gpt-4o", messages=MESSAGES, stream=True))

    assert len(chunks) == 7  # role chunk, 5 content chunks, finish chunk
    assert [c.usage for c in chunks] == [None] * 7
    assert chunks[0].choices[0].delta.role == "assistant"
    assert [c.choices[0].delta.content for c in chunks[1:6]] == [f"chunk{i} " for i in range(5)]
    assert chunks[-1].choices[0].finish_reason == "stop"
    assert len({c.id for c in chunks}) == 1
    assert {c.model for c in chunks} == {"gpt-4o-2024-08-06"}


def test_stream_with_include_usage_ends_with_usage_chunk(oai: openai.OpenAI) -> None:
    chunks = list(
        oai.chat.completions.create(
            model="gpt-4o", messages=MESSAGES, stream=True, stream_options={"include_usage": True}
        )
    )

    assert len(chunks) == 8
    assert chunks[-1].choices == []
    _assert_default_usage(chunks[-1].usage)
    assert [c.usage for c in chunks[:-1]] == [None] * 7


def test_stream_wire_format_matches_the_real_api(http: httpx.Client) -> None:
    body = {"model": "gpt-4o", "messages": MESSAGES, "stream": True, "stream_options": {"include_usage": True}}
    with_usage = http.post("/v1/chat/completions", json=body)
    without_usage = http.post("/v1/chat/completions", json={**body, "stream_options": None})

    assert with_usage.headers["content-type"] == "text/event-stream; charset=utf-8"
    assert with_usage.headers["transfer-encoding"] == "chunked"
    events = parse_sse(with_usage.content)
    assert events[-1].data == "[DONE]"
    chunks = [json.loads(e.data) for e in events[:-1]]
    assert all("usage" in c for c in chunks)
    assert [c["usage"] for c in chunks[:-1]] == [None] * 7
    assert chunks[-1]["choices"] == []
    assert chunks[-1]["usage"]["total_tokens"] == 1500
    assert chunks[0]["choices"][0] == {
        "index": 0,
        "delta": {"role": "assistant", "content": "", "refusal": None},
        "logprobs": None,
        "finish_reason": None,
    }
    plain = [json.loads(e.data) for e in parse_sse(without_usage.content)[:-1]]
    assert len(plain) == 7
    assert not any("usage" in c for c in plain)


def test_stream_supports_twenty_chunks(server: FakeLLMServer, oai: openai.OpenAI) -> None:
    server.script(Script(chunks=20))

    chunks = list(oai.chat.completions.create(model="gpt-4o", messages=MESSAGES, stream=True))

    assert len([c for c in chunks if c.choices and c.choices[0].delta.content]) == 20


def test_stream_helper_accumulates_usage(oai: openai.OpenAI) -> None:
    with oai.chat.completions.stream(
        model="gpt-4o", messages=MESSAGES, stream_options={"include_usage": True}
    ) as stream:
        deltas = [e.delta for e in stream if e.type == "content.delta"]
        final = stream.get_final_completion()

    assert deltas == ["", *(f"chunk{i} " for i in range(5))]  # the role chunk carries content ""
    _assert_default_usage(final.usage)
    assert final.choices[0].message.content == "".join(deltas)


async def test_async_create_and_stream(aoai: openai.AsyncOpenAI) -> None:
    completion = await aoai.chat.completions.create(model="gpt-4o", messages=MESSAGES)
    stream = await aoai.chat.completions.create(
        model="gpt-4o", messages=MESSAGES, stream=True, stream_options={"include_usage": True}
    )
    chunks = [chunk async for chunk in stream]

    _assert_default_usage(completion.usage)
    assert len(chunks) == 8
    _assert_default_usage(chunks[-1].usage)
    assert chunks[0].id != completion.id


async def test_async_stream_helper(aoai: openai.AsyncOpenAI) -> None:
    async with aoai.chat.completions.stream(
        model="gpt-4o", messages=MESSAGES, stream_options={"include_usage": True}
    ) as stream:
        final = await stream.get_final_completion()

    _assert_default_usage(final.usage)


def test_with_raw_response_exposes_request_id(oai: openai.OpenAI) -> None:
    raw = oai.chat.completions.with_raw_response.create(model="gpt-4o", messages=MESSAGES)

    assert raw.headers["x-request-id"].startswith("req_")
    assert len(raw.headers["x-request-id"]) == 4 + 32
    assert raw.parse().usage is not None
