"""Chat completions through the real SDK against the fake server: exact span attributes."""

from __future__ import annotations

from typing import Any

import pytest
from opentelemetry.trace import SpanKind, StatusCode

from genai_cost.fakes.scripts import Script
from genai_cost.instrumentation import attribute_to
from genai_cost.instrumentation.core import guard

MESSAGES = [{"role": "user", "content": "How much does this cost?"}]


def chat_helpers(client: Any) -> Any:
    """Where ``parse``/``stream`` live: ``chat.completions`` now, ``beta.chat.completions`` in older SDKs."""
    return client.chat.completions if hasattr(client.chat.completions, "stream") else client.beta.chat.completions


def base_attrs(port: int, *, stream: bool, model: str = "gpt-4o-mini") -> dict[str, Any]:
    return {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "openai",
        "gen_ai.request.model": model,
        "server.address": "127.0.0.1",
        "server.port": port,
        "gen_ai.request.stream": stream,
    }


def usage_attrs(inp: int = 1200, cached: int = 1024, out: int = 300, reasoning: int = 128) -> dict[str, Any]:
    return {
        "gen_ai.usage.input_tokens": inp,
        "gen_ai.usage.cache_read.input_tokens": cached,
        "gen_ai.usage.output_tokens": out,
        "gen_ai.usage.reasoning.output_tokens": reasoning,
    }


async def test_non_streaming_chat(instrumented, make_client, fake_llm, span_exporter, mode, sdk) -> None:
    fake_llm.script(
        Script(
            model="gpt-4o-mini-2024-07-18",
            input_tokens=2000,
            cached_tokens=512,
            output_tokens=77,
            reasoning_tokens=0,
            service_tier="priority",
        )
    )
    client = make_client(mode)
    result = await sdk.resolve(
        client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, max_tokens=90, temperature=0.2)
    )

    span = sdk.only_span(span_exporter)
    assert span.name == "chat gpt-4o-mini"
    assert span.kind is SpanKind.CLIENT
    assert span.status.status_code is StatusCode.UNSET
    assert dict(span.attributes) == {
        **base_attrs(fake_llm.port, stream=False),
        "gen_ai.request.max_tokens": 90,
        "gen_ai.request.temperature": 0.2,
        "gen_ai.response.id": result.id,
        "gen_ai.response.model": "gpt-4o-mini-2024-07-18",
        "openai.response.service_tier": "priority",
        "gen_ai.response.finish_reasons": ("stop",),
        **usage_attrs(2000, 512, 77, 0),
    }
    assert result.usage.prompt_tokens == 2000
    assert guard.failures == {}


async def test_stream_with_injected_usage(
    instrumented, make_client, fake_llm, span_exporter, mode, sdk, monkeypatch
) -> None:
    monkeypatch.setenv("GENAI_COST_OPENAI_INCLUDE_USAGE", "true")
    client = make_client(mode)
    stream = await sdk.resolve(client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, stream=True))
    chunks = await sdk.consume(stream)

    assert fake_llm.requests[-1].body["stream_options"] == {"include_usage": True}
    assert all(chunk.choices for chunk in chunks)  # the usage-only chunk is hidden
    assert [chunk.usage for chunk in chunks] == [None] * len(chunks)
    span = sdk.only_span(span_exporter)
    assert dict(span.attributes) == {
        **base_attrs(fake_llm.port, stream=True),
        "gen_ai.response.id": chunks[0].id,
        "gen_ai.response.model": "gpt-4o-mini",
        "openai.response.service_tier": "default",
        "gen_ai.response.finish_reasons": ("stop",),
        **usage_attrs(),
    }


async def test_stream_to_unknown_server_asks_nothing_and_says_usage_unavailable(
    instrumented, make_client, fake_llm, span_exporter, mode, sdk
) -> None:
    client = make_client(mode)  # 127.0.0.1: an unknown OpenAI-compatible server, setting "auto"
    stream = await sdk.resolve(client.chat.completions.create(model="llama-3", messages=MESSAGES, stream=True))
    chunks = await sdk.consume(stream)

    assert "stream_options" not in fake_llm.requests[-1].body
    span = sdk.only_span(span_exporter)
    assert dict(span.attributes) == {
        **base_attrs(fake_llm.port, stream=True, model="llama-3"),
        "gen_ai.response.id": chunks[0].id,
        "gen_ai.response.model": "llama-3",
        "openai.response.service_tier": "default",
        "gen_ai.response.finish_reasons": ("stop",),
        "genai_cost.usage.unavailable": True,
    }


@pytest.mark.parametrize(
    ("base_url", "provider", "injected"),
    [
        ("https://api.openai.com/v1", "openai", True),
        ("https://api.deepseek.com/v1", "deepseek", True),
        ("https://openrouter.ai/api/v1", "openrouter", False),
    ],
)
async def test_auto_include_usage_follows_the_provider(
    instrumented, make_client, fake_llm, span_exporter, mode, sdk, base_url, provider, injected
) -> None:
    client = make_client(mode, base_url=base_url)
    stream = await sdk.resolve(client.chat.completions.create(model="m", messages=MESSAGES, stream=True))
    await sdk.consume(stream)

    body = fake_llm.requests[-1].body
    assert body.get("stream_options") == ({"include_usage": True} if injected else None)
    attrs = dict(sdk.only_span(span_exporter).attributes)
    assert attrs["gen_ai.provider.name"] == provider
    assert attrs["server.address"] == base_url.split("/")[2]
    assert attrs["server.port"] == 443
    if injected:
        assert attrs["gen_ai.usage.input_tokens"] == 1200
        assert "genai_cost.usage.unavailable" not in attrs
    else:
        assert attrs["genai_cost.usage.unavailable"] is True
        assert "gen_ai.usage.input_tokens" not in attrs


async def test_env_false_disables_injection_for_openai(
    instrumented, make_client, fake_llm, span_exporter, mode, sdk, monkeypatch
) -> None:
    monkeypatch.setenv("GENAI_COST_OPENAI_INCLUDE_USAGE", "false")
    client = make_client(mode, base_url="https://api.openai.com/v1")
    await sdk.consume(await sdk.resolve(client.chat.completions.create(model="m", messages=MESSAGES, stream=True)))

    assert "stream_options" not in fake_llm.requests[-1].body
    assert dict(sdk.only_span(span_exporter).attributes)["genai_cost.usage.unavailable"] is True


async def test_callers_explicit_include_usage_true_is_kept_visible(
    instrumented, make_client, fake_llm, span_exporter, mode, sdk
) -> None:
    client = make_client(mode)
    stream = await sdk.resolve(
        client.chat.completions.create(
            model="gpt-4o-mini", messages=MESSAGES, stream=True, stream_options={"include_usage": True}
        )
    )
    chunks = await sdk.consume(stream)

    assert chunks[-1].choices == []
    assert chunks[-1].usage.prompt_tokens == 1200
    attrs = dict(sdk.only_span(span_exporter).attributes)
    assert {k: attrs[k] for k in usage_attrs()} == usage_attrs()


async def test_callers_explicit_include_usage_false_is_respected(
    instrumented, make_client, fake_llm, span_exporter, mode, sdk, monkeypatch
) -> None:
    monkeypatch.setenv("GENAI_COST_OPENAI_INCLUDE_USAGE", "true")
    client = make_client(mode)
    stream = await sdk.resolve(
        client.chat.completions.create(
            model="gpt-4o-mini", messages=MESSAGES, stream=True, stream_options={"include_usage": False}
        )
    )
    await sdk.consume(stream)

    assert fake_llm.requests[-1].body["stream_options"] == {"include_usage": False}
    attrs = dict(sdk.only_span(span_exporter).attributes)
    assert attrs["genai_cost.usage.unavailable"] is True
    assert not [k for k in attrs if k.startswith("gen_ai.usage.")]


async def test_stream_helper_yields_one_span(
    instrumented, make_client, fake_llm, span_exporter, mode, sdk, monkeypatch
) -> None:
    monkeypatch.setenv("GENAI_COST_OPENAI_INCLUDE_USAGE", "true")
    client = make_client(mode)
    manager = chat_helpers(client).stream(model="gpt-4o-mini", messages=MESSAGES)
    if mode == "sync":
        with manager as stream:
            events = list(stream)
            final = stream.get_final_completion()
    else:
        async with manager as stream:
            events = [event async for event in stream]
            final = await stream.get_final_completion()

    assert events[-1].type == "content.done"
    assert final.usage is None  # the caller did not ask for usage, so its helper never saw any
    span = sdk.only_span(span_exporter)
    assert dict(span.attributes) == {
        **base_attrs(fake_llm.port, stream=True),
        "gen_ai.response.id": final.id,
        "gen_ai.response.model": "gpt-4o-mini",
        "openai.response.service_tier": "default",
        "gen_ai.response.finish_reasons": ("stop",),
        **usage_attrs(),
    }


async def test_parse_helper(instrumented, make_client, fake_llm, span_exporter, mode, sdk) -> None:
    client = make_client(mode)
    result = await sdk.resolve(chat_helpers(client).parse(model="gpt-4o-mini", messages=MESSAGES))

    span = sdk.only_span(span_exporter)
    assert dict(span.attributes) == {
        **base_attrs(fake_llm.port, stream=False),
        "gen_ai.response.id": result.id,
        "gen_ai.response.model": "gpt-4o-mini",
        "openai.response.service_tier": "default",
        "gen_ai.response.finish_reasons": ("stop",),
        **usage_attrs(),
    }


async def test_attribution_is_copied_onto_the_span(instrumented, make_client, span_exporter, mode, sdk) -> None:
    client = make_client(mode)
    with attribute_to(agent="billing-agent", session="s-42", user="u-7", tags={"team": "care"}):
        await sdk.resolve(client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES))

    attrs = dict(sdk.only_span(span_exporter).attributes)
    assert {
        k: v for k, v in attrs.items() if k.startswith(("gen_ai.agent", "gen_ai.conv", "enduser", "genai_cost.tag"))
    } == {
        "gen_ai.agent.name": "billing-agent",
        "gen_ai.conversation.id": "s-42",
        "enduser.id": "u-7",
        "genai_cost.tag.team": "care",
    }


async def test_deepseek_cache_hits_are_read(instrumented) -> None:
    from types import SimpleNamespace

    from genai_cost.instrumentation.openai import extract

    usage = SimpleNamespace(
        prompt_tokens=900,
        completion_tokens=40,
        prompt_cache_hit_tokens=600,
        prompt_tokens_details=None,
        completion_tokens_details=None,
    )
    assert extract.chat_usage(usage) == {
        "gen_ai.usage.input_tokens": 900,
        "gen_ai.usage.output_tokens": 40,
        "gen_ai.usage.cache_read.input_tokens": 600,
    }
