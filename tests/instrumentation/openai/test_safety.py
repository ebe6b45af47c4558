"""Telemetry never breaks the app; uninstrument restores the SDK; suppression and budget refusal."""

from __future__ import annotations

from typing import Any

import openai
import pytest
from opentelemetry.instrumentation.utils import suppress_instrumentation
from opentelemetry.trace import StatusCode

from genai_cost.instrumentation import BudgetExceededError
from genai_cost.instrumentation.core import enforcement, guard
from genai_cost.instrumentation.openai import calls, instrumentor, streams, wrappers

MESSAGES = [{"role": "user", "content": "hi"}]

# surface -> (call it, check the result the app got)
SURFACES: dict[str, tuple[Any, Any]] = {
    "chat.create": (
        lambda c: c.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES),
        lambda r: (
            r.usage.prompt_tokens == 1200 and r.choices[0].message.content == "chunk0 chunk1 chunk2 chunk3 chunk4 "
        ),
    ),
    "chat.parse": (
        lambda c: (c.chat.completions if hasattr(c.chat.completions, "parse") else c.beta.chat.completions).parse(
            model="gpt-4o-mini", messages=MESSAGES
        ),
        lambda r: r.usage.completion_tokens == 300,
    ),
    "responses.create": (
        lambda c: c.responses.create(model="o4-mini", input="hi"),
        lambda r: r.usage.input_tokens == 1210 and r.output_text == "chunk0 chunk1 chunk2 chunk3 chunk4 ",
    ),
    "responses.parse": (
        lambda c: c.responses.parse(model="o4-mini", input="hi"),
        lambda r: r.usage.output_tokens == 310,
    ),
    "embeddings.create": (
        lambda c: c.embeddings.create(model="text-embedding-3-small", input=["a", "b"]),
        lambda r: r.usage.prompt_tokens == 14 and len(r.data) == 2,
    ),
}


def _boom(*args: Any, **kwargs: Any) -> Any:
    raise RuntimeError("telemetry bug")


@pytest.mark.parametrize("surface", sorted(SURFACES))
@pytest.mark.parametrize(
    ("step", "target", "site"),
    [
        ("start", (wrappers, "start_call"), "wrappers._start"),
        ("finish", (calls.CallSpan, "end_result"), "wrappers._finish"),
    ],
)
async def test_telemetry_failure_leaves_the_result_unchanged(
    instrumented, make_client, span_exporter, mode, sdk, monkeypatch, surface, step, target, site
) -> None:
    monkeypatch.setattr(*target, _boom)
    call, check = SURFACES[surface]
    result = await sdk.resolve(call(make_client(mode)))

    assert check(result)
    assert sum(n for s, n in guard.failures.items() if s.endswith(site)) == 1
    if step == "finish":  # the span still ends, saying it has no usage
        assert sdk.only_span(span_exporter).attributes["genai_cost.usage.unavailable"] is True


@pytest.mark.parametrize("api", ["chat", "responses"])
async def test_stream_telemetry_failure_leaves_every_chunk(
    instrumented, make_client, span_exporter, mode, sdk, monkeypatch, api
) -> None:
    proxy = streams.ChatStream if api == "chat" else streams.ResponsesStream
    # The per-chunk step: chat streams run their state's ``see``, Responses streams the hook.
    monkeypatch.setattr(*((streams._ChatState, "see") if api == "chat" else (proxy, "_process_chunk")), _boom)
    monkeypatch.setattr(proxy, "_attributes", _boom)
    client = make_client(mode)
    if api == "chat":
        stream = await sdk.resolve(client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, stream=True))
        items = await sdk.consume(stream)
        assert "".join(c.choices[0].delta.content or "" for c in items) == "chunk0 chunk1 chunk2 chunk3 chunk4 "
        assert len(items) == 7
    else:
        stream = await sdk.resolve(client.responses.create(model="o4-mini", input="hi", stream=True))
        items = await sdk.consume(stream)
        assert items[-1].response.usage.input_tokens == 1210
        assert len(items) == 15
    assert sum(n for s, n in guard.failures.items() if s.endswith("._boom")) == len(items)  # each chunk
    assert sum(n for s, n in guard.failures.items() if s.endswith("._on_stream_end")) == 1
    assert sdk.only_span(span_exporter).attributes["genai_cost.usage.unavailable"] is True  # still ended


async def test_budget_refusal_is_recorded_and_raised(
    instrumented, make_client, fake_llm, span_exporter, mode, sdk, monkeypatch
) -> None:
    def refuse(provider: str, model: str | None) -> None:
        raise BudgetExceededError(
            budget="team-care", scope={"agent": "support-bot"}, reason="over_limit", provider=provider, model=model
        )

    monkeypatch.setattr(enforcement, "check_call", refuse)
    with pytest.raises(BudgetExceededError, match=r"^openai/gpt-4o-mini call refused: budget 'team-care' is exceeded"):
        await sdk.resolve(make_client(mode).chat.completions.create(model="gpt-4o-mini", messages=MESSAGES))

    assert fake_llm.requests == []
    span = sdk.only_span(span_exporter)
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes["genai_cost.budget.refused"] is True
    assert span.attributes["error.type"] == "BudgetExceededError"


async def test_broken_budget_check_fails_open(
    instrumented, make_client, fake_llm, span_exporter, mode, sdk, monkeypatch
) -> None:
    monkeypatch.setattr(enforcement, "check_call", _boom)
    result = await sdk.resolve(make_client(mode).chat.completions.create(model="gpt-4o-mini", messages=MESSAGES))

    assert result.usage.prompt_tokens == 1200
    assert sum(n for s, n in guard.failures.items() if s.endswith("_check_budget")) == 1


async def test_suppressed_instrumentation_makes_no_span(
    instrumented, make_client, fake_llm, span_exporter, mode, sdk
) -> None:
    with suppress_instrumentation():
        result = await sdk.resolve(make_client(mode).chat.completions.create(model="gpt-4o-mini", messages=MESSAGES))

    assert result.usage.prompt_tokens == 1200
    assert span_exporter.get_finished_spans() == ()


def _current_methods() -> dict[str, Any]:
    out = {}
    for module, cls_name, method, _, _ in (*instrumentor._TARGETS, *instrumentor._BETA_PARSE):
        cls = instrumentor._attr(module, cls_name)
        if cls is not None:
            out[f"{cls_name}.{method}@{module}"] = cls.__dict__.get(method)
    return out


def test_uninstrument_restores_the_originals(tracer_provider, make_client, span_exporter) -> None:
    before = _current_methods()
    inst = instrumentor.OpenAIInstrumentor()
    inst.instrument(tracer_provider=tracer_provider)
    during = _current_methods()
    inst.uninstrument()
    after = _current_methods()

    wrapped = [k for k in before if during[k] is not before[k]]
    assert len(wrapped) == 10
    assert after == before
    make_client("sync").chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    assert span_exporter.get_finished_spans() == ()


def test_instrument_never_raises(tracer_provider, monkeypatch) -> None:
    monkeypatch.setattr(instrumentor, "wrap_function_wrapper", _boom)
    inst = instrumentor.OpenAIInstrumentor()
    inst.instrument(tracer_provider=tracer_provider)
    try:
        assert sum(n for s, n in guard.failures.items() if s.endswith("_wrap_one")) >= 1
        assert openai.resources.chat.completions.Completions.create.__name__ == "create"
    finally:
        inst.uninstrument()
