"""The usage-only chunk we asked for is dropped from the SDK's event stream before it is parsed."""

from __future__ import annotations

import asyncio
import gc
import json
import weakref
from collections.abc import AsyncIterator, Iterator
from typing import Any

import openai
import pytest

from genai_cost.fakes.scripts import Script
from genai_cost.instrumentation.core import guard
from genai_cost.instrumentation.openai import usage_events

MESSAGES = [{"role": "user", "content": "hi"}]
USAGE_ATTRS = {
    "gen_ai.usage.input_tokens": 1200,
    "gen_ai.usage.output_tokens": 300,
    "gen_ai.usage.cache_read.input_tokens": 1024,
    "gen_ai.usage.reasoning.output_tokens": 128,
}


def _count_parsed(client: Any, monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Record every object the SDK builds from a stream event (its per-chunk model construction)."""
    built: list[Any] = []
    original = client._process_response_data

    def spy(**kwargs: Any) -> Any:
        result = original(**kwargs)
        built.append(result)
        return result

    monkeypatch.setattr(client, "_process_response_data", spy)
    return built


async def test_the_sdk_never_parses_the_hidden_usage_chunk(
    instrumented, make_client, fake_llm, span_exporter, mode, sdk, monkeypatch
) -> None:
    monkeypatch.setenv("GENAI_COST_OPENAI_INCLUDE_USAGE", "true")
    fake_llm.script(Script(chunks=4))
    client = make_client(mode)
    built = _count_parsed(client, monkeypatch)
    stream = await sdk.resolve(client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, stream=True))
    chunks = await sdk.consume(stream)

    assert len(chunks) == 6  # role chunk, 4 content chunks, finish chunk
    assert built == chunks  # nothing else was parsed: the usage-only chunk never became a model
    attrs = dict(sdk.only_span(span_exporter).attributes)
    assert {k: v for k, v in attrs.items() if k.startswith("gen_ai.usage.")} == USAGE_ATTRS
    assert "genai_cost.usage.unavailable" not in attrs
    assert guard.failures == {}


async def test_the_streaming_helper_gets_the_same_events(
    instrumented, make_client, fake_llm, span_exporter, mode, sdk, monkeypatch
) -> None:
    monkeypatch.setenv("GENAI_COST_OPENAI_INCLUDE_USAGE", "true")
    fake_llm.script(Script(chunks=3))
    client = make_client(mode)
    built = _count_parsed(client, monkeypatch)
    completions = (
        client.chat.completions if hasattr(client.chat.completions, "stream") else client.beta.chat.completions
    )
    manager = completions.stream(model="gpt-4o-mini", messages=MESSAGES)
    if mode == "sync":
        with manager as stream:
            kinds = [event.type for event in stream]
            final = stream.get_final_completion()
    else:
        async with manager as stream:
            kinds = [event.type async for event in stream]
            final = await stream.get_final_completion()

    assert len(built) == 5  # role, 3 content chunks, finish: no usage-only chunk
    assert kinds.count("chunk") == 5
    assert final.choices[0].message.content == "chunk0 chunk1 chunk2 "
    assert final.usage is None  # as without instrumentation: the caller did not ask for usage
    attrs = dict(sdk.only_span(span_exporter).attributes)
    assert {k: v for k, v in attrs.items() if k.startswith("gen_ai.usage.")} == USAGE_ATTRS


async def test_without_the_filter_the_proxy_still_hides_the_chunk(
    instrumented, make_client, fake_llm, span_exporter, mode, sdk, monkeypatch
) -> None:
    monkeypatch.setenv("GENAI_COST_OPENAI_INCLUDE_USAGE", "true")
    monkeypatch.setattr(usage_events, "_FILTERS", {openai.Stream: None, openai.AsyncStream: None})
    fake_llm.script(Script(chunks=4))
    client = make_client(mode)
    built = _count_parsed(client, monkeypatch)
    stream = await sdk.resolve(client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, stream=True))
    chunks = await sdk.consume(stream)

    assert len(chunks) == 6
    assert len(built) == 7 and built[-1].choices == [] and built[-1].usage.prompt_tokens == 1200
    assert [c.usage for c in chunks] == [None] * 6
    attrs = dict(sdk.only_span(span_exporter).attributes)
    assert {k: v for k, v in attrs.items() if k.startswith("gen_ai.usage.")} == USAGE_ATTRS


async def test_a_consumed_stream_is_freed_without_the_garbage_collector(
    instrumented, make_client, fake_llm, mode, sdk, monkeypatch
) -> None:
    monkeypatch.setenv("GENAI_COST_OPENAI_INCLUDE_USAGE", "true")
    client = make_client(mode)
    stream = await sdk.resolve(client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, stream=True))
    sdk_stream = weakref.ref(stream.__wrapped__)
    assert "_iter_events" in vars(stream.__wrapped__)  # the filter is installed
    gc.disable()
    try:
        await sdk.consume(stream)
        del stream
        for _ in range(3):  # an async SDK stream's event generator is closed by the event loop
            await asyncio.sleep(0)
        assert sdk_stream() is None  # no reference cycle keeps it (and its response) alive
    finally:
        gc.enable()


# -- the filter on its own, with stand-ins for the SDK's event objects ---------------------------


class Event:
    def __init__(self, data: str, event: str | None = None) -> None:
        self.data = data
        self.event = event


class Sink:
    def __init__(self, armed: bool = True) -> None:
        self.armed = armed
        self.bodies: list[dict[str, Any]] = []

    def hidden_usage(self, body: dict[str, Any]) -> None:
        self.bodies.append(body)


USAGE_ONLY = '{"id":"c1","object":"chat.completion.chunk","choices":[],"usage":{"prompt_tokens":7}}'


@pytest.mark.parametrize(
    ("data", "event", "dropped"),
    [
        (USAGE_ONLY, None, True),
        (USAGE_ONLY.replace('"choices":[]', '"choices": []'), None, True),  # spaced JSON
        (USAGE_ONLY, "thread.run.step", False),  # a named event is not a chat chunk
        ('{"id":"","choices":[],"prompt_filter_results":[]}', None, False),  # Azure's first chunk
        ('{"id":"c1","choices":[],"usage":null}', None, False),
        ('{"id":"c1","choices":[{"index":0,"delta":{"content":"[]"}}],"usage":null}', None, False),
        ('{"choices":[],"usage":{"prompt_tokens":7},"error":{"message":"boom"}}', None, False),
        ("[DONE]", None, False),
    ],
)
def test_usage_only_recognises_exactly_the_usage_chunk(data: str, event: str | None, dropped: bool) -> None:
    sink = Sink()
    assert usage_events.usage_only(Event(data, event), sink) is dropped
    assert sink.bodies == ([json.loads(data)] if dropped else [])


def test_undecodable_data_goes_on_to_the_sdk_and_is_counted() -> None:
    guard.failures.clear()
    sink = Sink()
    assert usage_events.usage_only(Event('{"choices":[], "usage": {'), sink) is False
    assert sink.bodies == []
    assert guard.failures == {"genai_cost.instrumentation.openai.usage_events.usage_only": 1}


class FakeStream:
    """The shape the filter relies on: ``_iter_events`` read lazily by the consuming generator."""

    def __init__(self, events: list[Event]) -> None:
        self._events = events
        self._iterator = self.__stream__()

    def _iter_events(self) -> Iterator[Event]:
        yield from self._events

    def __stream__(self) -> Iterator[str]:
        for sse in self._iter_events():
            yield sse.data


class FakeAsyncStream(FakeStream):
    async def _iter_events(self) -> AsyncIterator[Event]:  # type: ignore[override]
        for event in self._events:
            yield event

    async def collect(self) -> list[str]:
        return [sse.data async for sse in self._iter_events()]


def _events() -> list[Event]:
    return [Event('{"choices":[{"finish_reason":null}]}'), Event(USAGE_ONLY), Event("[DONE]")]


def test_install_filters_only_once_armed() -> None:
    armed, unarmed = Sink(armed=True), Sink(armed=False)
    seen_armed, seen_unarmed = FakeStream(_events()), FakeStream(_events())
    assert usage_events.install(seen_armed, armed) is True
    assert usage_events.install(seen_unarmed, unarmed) is True

    assert list(seen_armed._iterator) == ['{"choices":[{"finish_reason":null}]}', "[DONE]"]
    assert [b["usage"] for b in armed.bodies] == [{"prompt_tokens": 7}]
    assert len(list(seen_unarmed._iterator)) == 3  # not armed: left to the stream proxy
    assert unarmed.bodies == []


async def test_install_filters_async_event_streams() -> None:
    sink = Sink()
    stream = FakeAsyncStream(_events())
    assert usage_events.install(stream, sink) is True
    assert await stream.collect() == ['{"choices":[{"finish_reason":null}]}', "[DONE]"]
    assert len(sink.bodies) == 1


def test_install_leaves_unknown_shapes_alone() -> None:
    class NoEvents:
        pass

    class Plain(FakeStream):
        _iter_events = None  # type: ignore[assignment]

    replaced = FakeStream(_events())
    replaced._iter_events = lambda: iter([])  # type: ignore[method-assign]
    assert usage_events.install(NoEvents(), Sink()) is False
    assert usage_events.install(Plain(_events()), Sink()) is False
    assert usage_events.install(replaced, Sink()) is False


async def test_injection_keeps_the_callers_extra_body(
    instrumented, make_client, fake_llm, span_exporter, mode, sdk, monkeypatch
) -> None:
    monkeypatch.setenv("GENAI_COST_OPENAI_INCLUDE_USAGE", "true")
    client = make_client(mode)
    extra = {"user_tier": "gold"}
    stream = await sdk.resolve(
        client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, stream=True, extra_body=extra)
    )
    await sdk.consume(stream)

    body = fake_llm.requests[-1].body
    assert (body["user_tier"], body["stream_options"]) == ("gold", {"include_usage": True})
    assert extra == {"user_tier": "gold"}  # the caller's dict is not modified
    assert dict(sdk.only_span(span_exporter).attributes)["gen_ai.usage.input_tokens"] == 1200
