"""Fixtures of the OpenAI instrumentation tests: an instrumented SDK and clients on the fake server."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator
from types import SimpleNamespace
from typing import Any

import openai
import pytest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from genai_cost.instrumentation.core import guard
from genai_cost.instrumentation.openai import OpenAIInstrumentor

try:  # openai 3.x talks through httpx2, 1.x/2.x through httpx
    import httpx2 as httpx_mod
except ImportError:  # pragma: no cover - depends on the installed SDK
    import httpx as httpx_mod  # type: ignore[no-redef]

if "httpx2" not in openai._base_client.__dict__:  # an SDK that still uses httpx
    import httpx as httpx_mod  # type: ignore[no-redef]


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        "GENAI_COST_OPENAI_INCLUDE_USAGE",
        "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT",
        "OPENAI_BASE_URL",
    ):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def instrumented(tracer_provider: TracerProvider) -> Iterator[OpenAIInstrumentor]:
    instrumentor = OpenAIInstrumentor()
    instrumentor.instrument(tracer_provider=tracer_provider)
    guard.failures.clear()
    yield instrumentor
    instrumentor.uninstrument()


class _Redirect(httpx_mod.BaseTransport):  # type: ignore[misc,name-defined]
    """Sends every request to the fake server, whatever host the client believes it talks to."""

    def __init__(self, port: int) -> None:
        self._inner = httpx_mod.HTTPTransport()
        self._port = port

    def handle_request(self, request: Any) -> Any:
        request.url = request.url.copy_with(scheme="http", host="127.0.0.1", port=self._port)
        return self._inner.handle_request(request)

    def close(self) -> None:
        self._inner.close()


class _AsyncRedirect(httpx_mod.AsyncBaseTransport):  # type: ignore[misc,name-defined]
    def __init__(self, port: int) -> None:
        self._inner = httpx_mod.AsyncHTTPTransport()
        self._port = port

    async def handle_async_request(self, request: Any) -> Any:
        request.url = request.url.copy_with(scheme="http", host="127.0.0.1", port=self._port)
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self._inner.aclose()


@pytest.fixture
def make_client(fake_llm: Any) -> Callable[..., Any]:
    """``make_client(mode, base_url=None)``: a sync or async client on the fake server.

    With ``base_url`` the client believes it talks to that URL; a transport redirects to the fake.
    """

    def make(mode: str, base_url: str | None = None, **kwargs: Any) -> Any:
        cls = openai.OpenAI if mode == "sync" else openai.AsyncOpenAI
        options: dict[str, Any] = {"api_key": "sk-test", "max_retries": 0, **kwargs}
        if base_url is None:
            return cls(base_url=fake_llm.openai_base_url, **options)
        transport: Any = _Redirect(fake_llm.port) if mode == "sync" else _AsyncRedirect(fake_llm.port)
        http_client: Any = (httpx_mod.Client if mode == "sync" else httpx_mod.AsyncClient)(transport=transport)
        return cls(base_url=base_url, http_client=http_client, **options)

    return make


@pytest.fixture(params=["sync", "async"])
def mode(request: pytest.FixtureRequest) -> str:
    """Every test taking ``mode`` runs once with the sync and once with the async client."""
    return str(request.param)


async def resolve(value: Any) -> Any:
    """Await ``value`` if it is awaitable (one test body serves the sync and the async client)."""
    return await value if inspect.isawaitable(value) else value


async def consume(stream: Any) -> list[Any]:
    """Every item of a sync or async stream."""
    if isinstance(stream, openai.AsyncStream):
        return [item async for item in stream]
    return list(stream)


def only_span(exporter: InMemorySpanExporter) -> ReadableSpan:
    spans = exporter.get_finished_spans()
    assert len(spans) == 1, [s.name for s in spans]
    return spans[0]


@pytest.fixture
def sdk() -> SimpleNamespace:
    """Helpers for test bodies shared by the sync and async clients."""
    return SimpleNamespace(resolve=resolve, consume=consume, only_span=only_span)
