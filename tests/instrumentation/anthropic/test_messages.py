"""Acceptance: every messages scenario, sync and async, through the real SDK against the fake server.

Token values are distinct so each attribute is traceable to one wire field: raw input 11,
cache read 222, cache write 3333 (5m) + 44444 (1h), output 555 (message_start's placeholder 7).
Semconv input = 11 + 222 + 3333 + 44444 = 48010; cache write = 47777.
"""

from __future__ import annotations

import inspect
from typing import Any

import anthropic
import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode

from genai_cost.fakes.llm_server import FakeLLMServer, Script

MODEL = "claude-haiku-4-5"
RESPONSE_MODEL = "claude-haiku-4-5-20251001"
MODES = ("sync", "async")
SURFACES = ("json", "stream", "helper")
STREAMING = ("stream", "helper")
USAGE = {
    "input_tokens": 11,
    "cached_tokens": 222,
    "cache_write_5m_tokens": 3333,
    "cache_write_1h_tokens": 44444,
    "output_tokens": 555,
    "start_output_tokens": 7,
}

pytestmark = pytest.mark.usefixtures("instrumentor")


def request_attrs(server: FakeLLMServer, surface: str) -> dict[str, Any]:
    return {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "anthropic",
        "gen_ai.request.model": MODEL,
        "gen_ai.request.max_tokens": 1024,
        "gen_ai.request.stream": surface != "json",
        "server.address": "127.0.0.1",
        "server.port": server.port,
    }


def usage_attrs(*, raw_input: int, read: int, w5m: int, w1h: int, output: int | None) -> dict[str, Any]:
    attrs: dict[str, Any] = {
        "gen_ai.usage.input_tokens": raw_input + read + w5m + w1h,
        "gen_ai.usage.cache_read.input_tokens": read,
        "gen_ai.usage.cache_write.input_tokens": w5m + w1h,
        "anthropic.usage.cache_creation.ephemeral_5m_input_tokens": w5m,
        "anthropic.usage.cache_creation.ephemeral_1h_input_tokens": w1h,
        "anthropic.response.service_tier": "standard",
    }
    if output is not None:
        attrs["gen_ai.usage.output_tokens"] = output
    return attrs


def only_span(exporter: InMemorySpanExporter) -> Any:
    spans = exporter.get_finished_spans()
    assert len(spans) == 1, [s.name for s in spans]
    return spans[0]


def success_attrs(server: FakeLLMServer, surface: str, response_id: str | None, **usage: Any) -> dict[str, Any]:
    return {
        **request_attrs(server, surface),
        "gen_ai.response.id": response_id,
        "gen_ai.response.model": RESPONSE_MODEL,
        "gen_ai.response.finish_reasons": ("end_turn",),
        **usage_attrs(**usage),
    }


@pytest.mark.parametrize("surface", SURFACES)
@pytest.mark.parametrize("mode", MODES)
async def test_exact_usage_with_cache(
    mode: str, surface: str, run: Any, fake_llm: FakeLLMServer, span_exporter: InMemorySpanExporter
) -> None:
    fake_llm.script(Script(model=RESPONSE_MODEL, **USAGE))

    seen = await run(mode, surface)

    span = only_span(span_exporter)
    assert span.name == f"chat {MODEL}"
    assert span.kind.name == "CLIENT"
    assert span.status.status_code == StatusCode.OK
    assert dict(span.attributes) == success_attrs(
        fake_llm, surface, seen.response_id, raw_input=11, read=222, w5m=3333, w1h=44444, output=555
    )


@pytest.mark.parametrize("surface", STREAMING)
@pytest.mark.parametrize("mode", MODES)
async def test_legacy_delta_keeps_message_start_input_and_cache(
    mode: str, surface: str, run: Any, fake_llm: FakeLLMServer, span_exporter: InMemorySpanExporter
) -> None:
    fake_llm.script(Script(model=RESPONSE_MODEL, legacy_anthropic_delta=True, **USAGE))

    seen = await run(mode, surface)

    # The older message_delta carried only output_tokens: input and cache come from message_start,
    # output is the delta's cumulative 555 (not 555 + message_start's 7).
    assert dict(only_span(span_exporter).attributes) == success_attrs(
        fake_llm, surface, seen.response_id, raw_input=11, read=222, w5m=3333, w1h=44444, output=555
    )


@pytest.mark.parametrize(("w5m", "w1h"), [(1500, 0), (0, 900), (0, 0)], ids=["5m", "1h", "no-write"])
@pytest.mark.parametrize("surface", SURFACES)
@pytest.mark.parametrize("mode", MODES)
async def test_cache_write_split_by_ttl(
    mode: str, surface: str, w5m: int, w1h: int, run: Any, fake_llm: FakeLLMServer, span_exporter: InMemorySpanExporter
) -> None:
    fake_llm.script(
        Script(
            model=RESPONSE_MODEL,
            input_tokens=40,
            cached_tokens=0,
            cache_write_5m_tokens=w5m,
            cache_write_1h_tokens=w1h,
            output_tokens=9,
        )
    )

    seen = await run(mode, surface)

    assert dict(only_span(span_exporter).attributes) == success_attrs(
        fake_llm, surface, seen.response_id, raw_input=40, read=0, w5m=w5m, w1h=w1h, output=9
    )


@pytest.mark.parametrize(
    ("status", "error_type", "exc_type"),
    [
        (429, "rate_limit_error", anthropic.RateLimitError),
        (500, "api_error", anthropic.InternalServerError),
    ],
)
@pytest.mark.parametrize("surface", SURFACES)
@pytest.mark.parametrize("mode", MODES)
async def test_http_errors(
    mode: str,
    surface: str,
    status: int,
    error_type: str,
    exc_type: type[Exception],
    run: Any,
    fake_llm: FakeLLMServer,
    span_exporter: InMemorySpanExporter,
) -> None:
    fake_llm.script(Script(status=status))

    with pytest.raises(exc_type):
        await run(mode, surface)

    span = only_span(span_exporter)
    assert span.status.status_code == StatusCode.ERROR
    assert dict(span.attributes) == {**request_attrs(fake_llm, surface), "error.type": error_type}


@pytest.mark.parametrize("surface", STREAMING)
@pytest.mark.parametrize("mode", MODES)
async def test_stream_cut_mid_way_ends_span_once_with_error(
    mode: str, surface: str, run: Any, fake_llm: FakeLLMServer, span_exporter: InMemorySpanExporter
) -> None:
    # message_start, content_block_start, ping, one delta: then the connection closes mid-body.
    fake_llm.script(Script(model=RESPONSE_MODEL, cut_after=4, **USAGE))

    with pytest.raises(Exception) as caught:
        await run(mode, surface)

    assert type(caught.value).__name__ == "RemoteProtocolError"
    span = only_span(span_exporter)
    assert span.status.status_code == StatusCode.ERROR
    attrs = dict(span.attributes)
    response_id = attrs.pop("gen_ai.response.id")
    assert isinstance(response_id, str) and response_id.startswith("msg_01")
    assert attrs == {
        **request_attrs(fake_llm, surface),
        "gen_ai.response.model": RESPONSE_MODEL,
        # Input and cache are final at message_start; output never arrived, so none is invented.
        **usage_attrs(raw_input=11, read=222, w5m=3333, w1h=44444, output=None),
        "genai_cost.usage.unavailable": True,
        "error.type": "RemoteProtocolError",
    }


@pytest.mark.parametrize("surface", STREAMING)
@pytest.mark.parametrize("mode", MODES)
async def test_stream_cut_before_message_start_has_no_usage(
    mode: str, surface: str, run: Any, fake_llm: FakeLLMServer, span_exporter: InMemorySpanExporter
) -> None:
    fake_llm.script(Script(cut_after=0))

    with pytest.raises(Exception, match="incomplete chunked read"):
        await run(mode, surface)

    span = only_span(span_exporter)
    assert span.status.status_code == StatusCode.ERROR
    assert dict(span.attributes) == {
        **request_attrs(fake_llm, surface),
        "genai_cost.usage.unavailable": True,
        "error.type": "RemoteProtocolError",
    }


@pytest.mark.parametrize("mode", MODES)
async def test_with_raw_response_json(
    mode: str, clients: Any, fake_llm: FakeLLMServer, span_exporter: InMemorySpanExporter
) -> None:
    fake_llm.script(Script(model=RESPONSE_MODEL, **USAGE))
    sync, asyn = clients
    params: dict[str, Any] = {"model": MODEL, "max_tokens": 1024, "messages": [{"role": "user", "content": "hi"}]}

    if mode == "sync":
        message = sync.messages.with_raw_response.create(**params).parse()
    else:
        parsed = (await asyn.messages.with_raw_response.create(**params)).parse()
        message = (await parsed) if inspect.isawaitable(parsed) else parsed  # parse() is async in newer SDKs

    assert message.usage.output_tokens == 555
    assert dict(only_span(span_exporter).attributes) == success_attrs(
        fake_llm, "json", message.id, raw_input=11, read=222, w5m=3333, w1h=44444, output=555
    )


async def test_early_close_records_final_input_and_says_output_unavailable(
    clients: Any, fake_llm: FakeLLMServer, span_exporter: InMemorySpanExporter
) -> None:
    fake_llm.script(Script(model=RESPONSE_MODEL, **USAGE))
    sync, _ = clients

    with sync.messages.create(
        model=MODEL, max_tokens=1024, messages=[{"role": "user", "content": "hi"}], stream=True
    ) as stream:
        first = next(iter(stream))

    span = only_span(span_exporter)
    assert span.status.status_code == StatusCode.OK
    assert dict(span.attributes) == {
        **request_attrs(fake_llm, "stream"),
        "gen_ai.response.id": first.message.id,
        "gen_ai.response.model": RESPONSE_MODEL,
        **usage_attrs(raw_input=11, read=222, w5m=3333, w1h=44444, output=None),
        "genai_cost.usage.unavailable": True,
    }
