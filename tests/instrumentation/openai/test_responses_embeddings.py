"""Responses API and embeddings through the real SDK against the fake server: exact attributes."""

from __future__ import annotations

from typing import Any

from opentelemetry.trace import StatusCode

from genai_cost.fakes.scripts import Script


def responses_attrs(port: int, *, stream: bool, response_id: str, model: str = "o4-mini") -> dict[str, Any]:
    return {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "openai",
        "gen_ai.request.model": model,
        "server.address": "127.0.0.1",
        "server.port": port,
        "gen_ai.request.stream": stream,
        "gen_ai.response.id": response_id,
        "gen_ai.response.model": model,
        "openai.response.service_tier": "default",
        "gen_ai.response.finish_reasons": ("completed",),
        "gen_ai.usage.input_tokens": 1210,
        "gen_ai.usage.cache_read.input_tokens": 1030,
        "gen_ai.usage.output_tokens": 310,
        "gen_ai.usage.reasoning.output_tokens": 130,
    }


async def test_responses_create(instrumented, make_client, fake_llm, span_exporter, mode, sdk) -> None:
    client = make_client(mode)
    result = await sdk.resolve(client.responses.create(model="o4-mini", input="Summarise the invoice."))

    span = sdk.only_span(span_exporter)
    assert span.name == "chat o4-mini"
    assert dict(span.attributes) == responses_attrs(fake_llm.port, stream=False, response_id=result.id)


async def test_responses_stream(instrumented, make_client, fake_llm, span_exporter, mode, sdk) -> None:
    client = make_client(mode)
    stream = await sdk.resolve(client.responses.create(model="o4-mini", input="Summarise.", stream=True))
    events = await sdk.consume(stream)

    assert events[-1].type == "response.completed"
    span = sdk.only_span(span_exporter)
    assert dict(span.attributes) == responses_attrs(fake_llm.port, stream=True, response_id=events[-1].response.id)


async def test_responses_stream_helper_yields_one_span(
    instrumented, make_client, fake_llm, span_exporter, mode, sdk
) -> None:
    client = make_client(mode)
    manager = client.responses.stream(model="o4-mini", input="Summarise.")
    if mode == "sync":
        with manager as stream:
            list(stream)
            final = stream.get_final_response()
    else:
        async with manager as stream:
            [event async for event in stream]
            final = await stream.get_final_response()

    span = sdk.only_span(span_exporter)
    assert dict(span.attributes) == responses_attrs(fake_llm.port, stream=True, response_id=final.id)


async def test_responses_without_usage(instrumented, make_client, fake_llm, span_exporter, mode, sdk) -> None:
    fake_llm.script(Script(send_usage=False))
    client = make_client(mode)
    await sdk.resolve(client.responses.create(model="o4-mini", input="Summarise."))

    attrs = dict(sdk.only_span(span_exporter).attributes)
    assert attrs["genai_cost.usage.unavailable"] is True
    assert not [k for k in attrs if k.startswith("gen_ai.usage.")]


async def test_embeddings(instrumented, make_client, fake_llm, span_exporter, mode, sdk) -> None:
    client = make_client(mode)
    result = await sdk.resolve(client.embeddings.create(model="text-embedding-3-small", input=["a", "b", "c"]))

    assert len(result.data) == 3
    span = sdk.only_span(span_exporter)
    assert span.name == "embeddings text-embedding-3-small"
    assert span.status.status_code is StatusCode.UNSET
    assert dict(span.attributes) == {
        "gen_ai.operation.name": "embeddings",
        "gen_ai.provider.name": "openai",
        "gen_ai.request.model": "text-embedding-3-small",
        "server.address": "127.0.0.1",
        "server.port": fake_llm.port,
        "gen_ai.response.model": "text-embedding-3-small",
        "gen_ai.usage.input_tokens": 21,
    }
