"""include_usage invisibility, streams cut mid-way, API errors, raw responses, content capture."""

from __future__ import annotations

import json
from typing import Any

import openai
import pytest
from opentelemetry.trace import StatusCode

from genai_cost.fakes.scripts import Script
from genai_cost.instrumentation.core import guard

MESSAGES = [{"role": "user", "content": "Say hi."}]
_RANDOM = ("id", "created")  # chosen afresh by the server for every response


def visible(chunks: list[Any]) -> list[tuple[dict[str, Any], dict[str, Any], str]]:
    """What a caller can observe of each chunk, minus the per-response random id and timestamp."""
    out = []
    for chunk in chunks:
        full = {k: v for k, v in chunk.model_dump().items() if k not in _RANDOM}
        unset = {k: v for k, v in chunk.model_dump(exclude_unset=True).items() if k not in _RANDOM}
        out.append((full, unset, type(chunk).__name__))
    return out


async def stream_chunks(client: Any, sdk: Any) -> list[Any]:
    stream = await sdk.resolve(client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, stream=True))
    return await sdk.consume(stream)


async def test_injected_usage_is_invisible_to_the_caller(
    tracer_provider, make_client, fake_llm, span_exporter, mode, sdk, monkeypatch
) -> None:
    from genai_cost.instrumentation.openai import OpenAIInstrumentor

    monkeypatch.setenv("GENAI_COST_OPENAI_INCLUDE_USAGE", "true")
    client = make_client(mode)
    fake_llm.script(Script(chunks=7), Script(chunks=7))
    plain = await stream_chunks(client, sdk)

    instrumentor = OpenAIInstrumentor()
    instrumentor.instrument(tracer_provider=tracer_provider)
    try:
        instrumented = await stream_chunks(client, sdk)
    finally:
        instrumentor.uninstrument()

    requests = fake_llm.requests
    assert "stream_options" not in requests[0].body
    assert requests[1].body["stream_options"] == {"include_usage": True}
    assert len(instrumented) == len(plain) == 9  # role chunk, 7 content chunks, finish chunk
    assert visible(instrumented) == visible(plain)
    assert [c.to_json() for c in instrumented] == [
        c.to_json().replace(c.id, instrumented[0].id).replace(str(c.created), str(instrumented[0].created))
        for c in plain
    ]
    attrs = dict(sdk.only_span(span_exporter).attributes)
    assert (attrs["gen_ai.usage.input_tokens"], attrs["gen_ai.usage.output_tokens"]) == (1200, 300)


async def test_stream_cut_mid_way_ends_one_span_with_the_error(
    instrumented, make_client, fake_llm, span_exporter, mode, sdk, monkeypatch
) -> None:
    monkeypatch.setenv("GENAI_COST_OPENAI_INCLUDE_USAGE", "true")
    fake_llm.script(Script(chunks=6, cut_after=3))
    client = make_client(mode)
    stream = await sdk.resolve(client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, stream=True))
    received: list[Any] = []
    # openai >= 2 raises APIConnectionError; 1.x lets the transport's RemoteProtocolError through.
    with pytest.raises((openai.APIConnectionError, ConnectionError, Exception)) as raised:
        if mode == "sync":
            for chunk in stream:
                received.append(chunk)
        else:
            async for chunk in stream:
                received.append(chunk)
    if mode == "sync":
        stream.close()
    else:
        await stream.close()

    assert len(received) == 3
    span = sdk.only_span(span_exporter)
    assert span.status.status_code is StatusCode.ERROR
    attrs = dict(span.attributes)
    assert type(raised.value).__name__ in ("APIConnectionError", "RemoteProtocolError")
    assert attrs["error.type"] == type(raised.value).__name__
    assert attrs["gen_ai.response.id"] == received[0].id
    assert attrs["genai_cost.usage.unavailable"] is True
    assert "gen_ai.usage.input_tokens" not in attrs


@pytest.mark.parametrize(
    ("status", "error_type", "exc_type"),
    [
        (429, "rate_limit_exceeded", openai.RateLimitError),
        (500, "server_error", openai.InternalServerError),
        (404, "model_not_found", openai.NotFoundError),
    ],
)
async def test_api_errors(
    instrumented, make_client, fake_llm, span_exporter, mode, sdk, status, error_type, exc_type
) -> None:
    fake_llm.script(Script(status=status))
    client = make_client(mode)
    with pytest.raises(exc_type):
        await sdk.resolve(client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES))

    span = sdk.only_span(span_exporter)
    assert span.status.status_code is StatusCode.ERROR
    assert dict(span.attributes) == {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "openai",
        "gen_ai.request.model": "gpt-4o-mini",
        "server.address": "127.0.0.1",
        "server.port": fake_llm.port,
        "gen_ai.request.stream": False,
        "error.type": error_type,
    }


async def test_sdk_retries_stay_in_one_span(instrumented, make_client, fake_llm, span_exporter, mode, sdk) -> None:
    fake_llm.script(Script(status=500))
    client = make_client(mode, max_retries=1)
    result = await sdk.resolve(client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES))

    assert len(fake_llm.requests) == 2
    attrs = dict(sdk.only_span(span_exporter).attributes)
    assert attrs["gen_ai.response.id"] == result.id
    assert "error.type" not in attrs


async def test_with_raw_response(instrumented, make_client, fake_llm, span_exporter, mode, sdk) -> None:
    client = make_client(mode)
    raw = await sdk.resolve(client.chat.completions.with_raw_response.create(model="gpt-4o-mini", messages=MESSAGES))

    assert raw.headers["openai-version"] == "2020-10-01"
    completion = raw.parse()
    assert completion is raw.parse()
    attrs = dict(sdk.only_span(span_exporter).attributes)
    assert attrs["gen_ai.response.id"] == completion.id
    assert (attrs["gen_ai.usage.input_tokens"], attrs["gen_ai.usage.cache_read.input_tokens"]) == (1200, 1024)
    assert (attrs["gen_ai.usage.output_tokens"], attrs["gen_ai.usage.reasoning.output_tokens"]) == (300, 128)


async def test_with_raw_response_stream(
    instrumented, make_client, fake_llm, span_exporter, mode, sdk, monkeypatch
) -> None:
    monkeypatch.setenv("GENAI_COST_OPENAI_INCLUDE_USAGE", "true")
    client = make_client(mode)
    raw = await sdk.resolve(
        client.chat.completions.with_raw_response.create(model="gpt-4o-mini", messages=MESSAGES, stream=True)
    )
    assert span_exporter.get_finished_spans() == ()
    chunks = await sdk.consume(raw.parse())

    assert [c.usage for c in chunks] == [None] * 7
    attrs = dict(sdk.only_span(span_exporter).attributes)
    assert (attrs["gen_ai.usage.input_tokens"], attrs["gen_ai.usage.output_tokens"]) == (1200, 300)


async def test_with_streaming_response(instrumented, make_client, fake_llm, span_exporter, mode, sdk) -> None:
    client = make_client(mode)
    ctx = client.embeddings.with_streaming_response.create(model="text-embedding-3-small", input="abc")
    if mode == "sync":
        with ctx as response:
            result = response.parse()
    else:
        async with ctx as response:
            result = await response.parse()

    assert result.usage.prompt_tokens == 7
    attrs = dict(sdk.only_span(span_exporter).attributes)
    assert attrs["gen_ai.usage.input_tokens"] == 7


async def test_with_streaming_response_never_parsed(
    instrumented, make_client, fake_llm, span_exporter, mode, sdk
) -> None:
    client = make_client(mode)
    ctx = client.chat.completions.with_streaming_response.create(model="gpt-4o-mini", messages=MESSAGES)
    if mode == "sync":
        with ctx as response:
            body = response.read()
    else:
        async with ctx as response:
            body = await response.read()

    assert json.loads(body)["usage"]["prompt_tokens"] == 1200
    attrs = dict(sdk.only_span(span_exporter).attributes)
    assert attrs["genai_cost.usage.unavailable"] is True


async def test_no_content_recorded_by_default(instrumented, make_client, span_exporter, mode, sdk) -> None:
    client = make_client(mode)
    await sdk.resolve(client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES))
    await sdk.consume(
        await sdk.resolve(client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, stream=True))
    )
    await sdk.resolve(client.responses.create(model="o4-mini", input="Say hi."))

    for span in span_exporter.get_finished_spans():
        assert "gen_ai.input.messages" not in span.attributes
        assert "gen_ai.output.messages" not in span.attributes
        assert not any("Say hi" in str(v) for v in span.attributes.values())


async def test_content_recorded_when_enabled(
    instrumented, make_client, fake_llm, span_exporter, mode, sdk, monkeypatch
) -> None:
    monkeypatch.setenv("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", "true")
    fake_llm.script(Script(text="Hello there", chunks=2), Script(text="Hi you", chunks=3), Script(text="Hey", chunks=1))
    client = make_client(mode)
    await sdk.resolve(client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES))
    await sdk.consume(
        await sdk.resolve(client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, stream=True))
    )
    await sdk.resolve(client.responses.create(model="o4-mini", input="Say hi.", instructions="Be brief."))

    chat, streamed, responses = span_exporter.get_finished_spans()
    user = [{"role": "user", "parts": [{"type": "text", "content": "Say hi."}]}]
    assert json.loads(chat.attributes["gen_ai.input.messages"]) == user
    assert json.loads(chat.attributes["gen_ai.output.messages"]) == [
        {"role": "assistant", "parts": [{"type": "text", "content": "Hello there"}], "finish_reason": "stop"}
    ]
    assert json.loads(streamed.attributes["gen_ai.output.messages"]) == [
        {"role": "assistant", "parts": [{"type": "text", "content": "Hi you"}], "finish_reason": "stop"}
    ]
    assert json.loads(responses.attributes["gen_ai.input.messages"]) == [
        {"role": "system", "parts": [{"type": "text", "content": "Be brief."}]},
        *user,
    ]
    assert json.loads(responses.attributes["gen_ai.output.messages"]) == [
        {"role": "assistant", "parts": [{"type": "text", "content": "Hey"}], "finish_reason": "completed"}
    ]
    assert guard.failures == {}
