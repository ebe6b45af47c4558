"""Overhead of the OpenAI instrumentation per call, against an uninstrumented baseline in the same run.

An OpenAI client on an in-memory mock transport (no network), spans through a BatchSpanProcessor
to a no-op exporter. Prints the median microseconds per call, uninstrumented and instrumented, for a
non-streaming chat call and a 20-chunk stream, the overhead (median of the paired differences) and
its ratio to the uninstrumented call; targets: <= 40 us overhead per call, <= 60 us per stream.

A reference row runs in the same process: ``sdk span only`` wraps the SDK method with nothing but
one OpenTelemetry span carrying the same attributes as ours (fixed values, set at start and at the
end), made current during the call and ended when the response or the stream ends: the floor any
span-per-call instrumentation pays with this SDK and span processor. If
``opentelemetry-instrumentation-openai-v2`` is installed it is measured too. On a loaded machine
absolute figures swing with the load; compare ratios, and rows of the same run.

    python benchmarks/instrumentation_overhead.py [--calls 1000]
"""

from __future__ import annotations

import argparse
import importlib
import json
import statistics
import time
from collections.abc import Callable, Sequence
from typing import Any

import openai
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult

from genai_cost.instrumentation.openai import OpenAIInstrumentor

# The HTTP library the installed SDK is built on: httpx2 from openai 3, httpx before.
_base_client: Any = importlib.import_module("openai._base_client")
httpx: Any = getattr(_base_client, "httpx2", None) or _base_client.httpx

CHUNKS = 20
_USAGE = {
    "prompt_tokens": 1200,
    "completion_tokens": 300,
    "total_tokens": 1500,
    "prompt_tokens_details": {"cached_tokens": 1024, "audio_tokens": 0},
    "completion_tokens_details": {"reasoning_tokens": 128, "audio_tokens": 0},
}
_COMPLETION = json.dumps(
    {
        "id": "chatcmpl-bench",
        "object": "chat.completion",
        "created": 1750000000,
        "model": "gpt-4o-mini-2024-07-18",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": "Hello!"},
                "finish_reason": "stop",
                "logprobs": None,
            }
        ],
        "usage": _USAGE,
        "service_tier": "default",
        "system_fingerprint": "fp_bench",
    }
).encode()


def _chunk(delta: dict[str, Any], finish: str | None, usage: Any = None, choices: bool = True) -> bytes:
    body: dict[str, Any] = {
        "id": "chatcmpl-bench",
        "object": "chat.completion.chunk",
        "created": 1750000000,
        "model": "gpt-4o-mini-2024-07-18",
        "service_tier": "default",
        "system_fingerprint": "fp_bench",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}] if choices else [],
    }
    if usage is not None:
        body["usage"] = usage
    return b"data: " + json.dumps(body).encode() + b"\n\n"


def _stream_body(include_usage: bool) -> bytes:
    parts = [_chunk({"role": "assistant", "content": ""}, None)]
    parts += [_chunk({"content": f"tok{i} "}, None) for i in range(CHUNKS - 2)]
    parts.append(_chunk({}, "stop"))
    if include_usage:
        parts.append(_chunk({}, None, usage=_USAGE, choices=False))
    return b"".join(parts) + b"data: [DONE]\n\n"


_STREAM_PLAIN = _stream_body(False)
_STREAM_USAGE = _stream_body(True)


def _handler(request: Any) -> Any:
    body = request.content
    if b'"stream":true' in body:
        content = _STREAM_USAGE if b'"include_usage":true' in body else _STREAM_PLAIN
        return httpx.Response(200, content=content, headers={"content-type": "text/event-stream"})
    return httpx.Response(200, content=_COMPLETION, headers={"content-type": "application/json"})


class _NoOpExporter(SpanExporter):
    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        return SpanExportResult.SUCCESS


def _client() -> openai.OpenAI:
    return openai.OpenAI(
        api_key="sk-bench",
        base_url="https://api.openai.com/v1",
        http_client=httpx.Client(transport=httpx.MockTransport(_handler)),
        max_retries=0,
    )


MESSAGES = [{"role": "user", "content": "hi"}]


def _chat(create: Callable[..., Any], resource: Any) -> None:
    create(resource, model="gpt-4o-mini", messages=MESSAGES)


def _stream(create: Callable[..., Any], resource: Any) -> None:
    for _ in create(resource, model="gpt-4o-mini", messages=MESSAGES, stream=True):
        pass


def _timed(fn: Callable[[Callable[..., Any], Any], None], create: Callable[..., Any], resource: Any) -> float:
    start = time.perf_counter_ns()
    fn(create, resource)
    return (time.perf_counter_ns() - start) / 1000


def _paired(
    fn: Callable[[Callable[..., Any], Any], None], resource: Any, calls: int
) -> tuple[list[float], list[float]]:
    """Alternate uninstrumented and instrumented calls, so machine noise hits both alike.

    The instrumented method is the class attribute (a wrapper); the uninstrumented one is the
    original function it wraps, called on the same resource object.
    """
    cls = type(resource)
    instrumented = cls.create
    original = getattr(instrumented, "__wrapped__", instrumented)
    for _ in range(20):
        fn(instrumented, resource)
        fn(original, resource)
    base, inst = [], []
    for _ in range(calls):
        base.append(_timed(fn, original, resource))
        inst.append(_timed(fn, instrumented, resource))
    return base, inst


class _SpanOnly:
    """Reference: one SDK span per call and nothing else (the floor of any span-per-call wrapper)."""

    _ATTRS: dict[str, Any] = {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "openai",
        "gen_ai.request.model": "gpt-4o-mini",
        "server.address": "api.openai.com",
        "server.port": 443,
        "gen_ai.request.stream": False,
    }
    _END_ATTRS: dict[str, Any] = {
        "gen_ai.response.id": "chatcmpl-bench",
        "gen_ai.response.model": "gpt-4o-mini-2024-07-18",
        "openai.response.service_tier": "default",
        "gen_ai.response.finish_reasons": ["stop"],
        "gen_ai.usage.input_tokens": 1200,
        "gen_ai.usage.output_tokens": 300,
        "gen_ai.usage.cache_read.input_tokens": 1024,
        "gen_ai.usage.reasoning.output_tokens": 128,
    }

    def instrument(self, tracer_provider: TracerProvider) -> None:
        import wrapt
        from opentelemetry import context, trace
        from opentelemetry.trace import SpanKind

        tracer = tracer_provider.get_tracer("benchmark.span-only")
        attrs, end_attrs = self._ATTRS, self._END_ATTRS

        class _Ends(wrapt.ObjectProxy):  # type: ignore[misc]
            def __iter__(self) -> Any:
                try:
                    yield from self.__wrapped__
                finally:
                    self._self_span.set_attributes(end_attrs)
                    self._self_span.end()

        def wrapper(wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
            span = tracer.start_span("chat gpt-4o-mini", kind=SpanKind.CLIENT, attributes=attrs)
            token = context.attach(trace.set_span_in_context(span))
            try:
                result = wrapped(*args, **kwargs)
            finally:
                context.detach(token)
            if kwargs.get("stream"):
                proxy = _Ends(result)
                proxy._self_span = span
                return proxy
            span.set_attributes(end_attrs)
            span.end()
            return result

        cls = openai.resources.chat.completions.Completions
        self._original = cls.__dict__["create"]
        cls.create = wrapt.FunctionWrapper(self._original, wrapper)

    def uninstrument(self) -> None:
        openai.resources.chat.completions.Completions.create = self._original


def _official() -> Any:
    try:
        from opentelemetry.instrumentation.openai_v2 import OpenAIInstrumentor as Official
    except ImportError:
        return None
    return Official()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, default=1000, help="paired calls per configuration and kind")
    args = parser.parse_args(argv)

    provider = TracerProvider()
    provider.add_span_processor(BatchSpanProcessor(_NoOpExporter()))
    resource = _client().chat.completions
    configs: dict[str, Any] = {"genai-cost": OpenAIInstrumentor(), "sdk span only": _SpanOnly()}
    official = _official()
    if official is not None:
        configs["openai-v2 (official)"] = official
    print(f"openai {openai.__version__}; {args.calls} paired calls; median us per call")
    print(f"{'configuration':<22}{'kind':<12}{'uninstrumented':>16}{'instrumented':>14}{'overhead':>10}{'ratio':>9}")
    for name, instrumentor in configs.items():
        instrumentor.instrument(tracer_provider=provider)
        try:
            for kind, fn in (("chat", _chat), (f"stream({CHUNKS})", _stream)):
                base, inst = _paired(fn, resource, args.calls)
                overhead = statistics.median(i - b for b, i in zip(base, inst, strict=True))
                baseline = statistics.median(base)
                print(
                    f"{name:<22}{kind:<12}{baseline:>16.1f}{statistics.median(inst):>14.1f}"
                    f"{overhead:>+10.1f}{overhead / baseline:>+9.1%}"
                )
        finally:
            instrumentor.uninstrument()
    provider.shutdown()
    print("targets: overhead <= 40 us per call, <= 60 us per stream")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
