"""What the fake LLM server should do for one request (`Script`) and what it received.

A `Script` is consumed per request from a FIFO; a field left at ``None`` falls back to the
endpoint's realistic default (see the ``*_DEFAULTS`` constants). Token fields carry the value of
the provider's own wire field, so their meaning follows each provider's accounting:

==================  ==========================  ===============================  ===========================
Script field        chat / responses (OpenAI)   embeddings (OpenAI)              messages (Anthropic)
==================  ==========================  ===============================  ===========================
input_tokens        prompt_tokens/input_tokens  prompt_tokens (whole request)    input_tokens (excludes cache)
                    (includes cached)
cached_tokens       ..._details.cached_tokens   n/a                              cache_read_input_tokens
cache_write_5m      n/a                         n/a                              cache_creation.ephemeral_5m
cache_write_1h      n/a                         n/a                              cache_creation.ephemeral_1h
output_tokens       completion/output_tokens    n/a                              output_tokens (final)
reasoning_tokens    ..._details.reasoning       n/a                              n/a
start_output_tokens n/a                         n/a                              message_start output_tokens
==================  ==========================  ===============================  ===========================
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Final


@dataclass(frozen=True)
class OpenAIUsageDefaults:
    """Default usage of an OpenAI chat or Responses call (input includes cached tokens)."""

    input_tokens: int
    cached_tokens: int
    output_tokens: int
    reasoning_tokens: int


@dataclass(frozen=True)
class AnthropicUsageDefaults:
    """Default usage of an Anthropic messages call (input excludes cache reads and writes)."""

    input_tokens: int
    cache_read_tokens: int
    cache_write_5m_tokens: int
    cache_write_1h_tokens: int
    output_tokens: int
    start_output_tokens: int


CHAT_DEFAULTS: Final = OpenAIUsageDefaults(
    input_tokens=1200, cached_tokens=1024, output_tokens=300, reasoning_tokens=128
)
RESPONSES_DEFAULTS: Final = OpenAIUsageDefaults(
    input_tokens=1210, cached_tokens=1030, output_tokens=310, reasoning_tokens=130
)
EMBEDDING_TOKENS_PER_INPUT: Final = 7
EMBEDDING_DEFAULT_DIMENSIONS: Final = 8
ANTHROPIC_DEFAULTS: Final = AnthropicUsageDefaults(
    input_tokens=50,
    cache_read_tokens=10000,
    cache_write_5m_tokens=2000,
    cache_write_1h_tokens=0,
    output_tokens=300,
    start_output_tokens=1,
)
DEFAULT_CHUNKS: Final = 5


@dataclass(frozen=True)
class Script:
    """Behaviour of the fake server for one request; ``None`` means "the endpoint's default".

    Attributes:
        model: response model (default: the request's model, through the server's ``model_map``).
        input_tokens, cached_tokens, cache_write_5m_tokens, cache_write_1h_tokens, output_tokens,
        reasoning_tokens, start_output_tokens: usage values (see the module table).
        send_usage: OpenAI only: ``False`` sends no usage at all (an OpenAI-compatible server
            that ignores ``stream_options.include_usage``, or omits ``usage`` from JSON).
        service_tier: ``service_tier`` of OpenAI responses / Anthropic usage.
        chunks: number of content deltas in a stream (and of text pieces in the content).
        text: the reply text; split into ``chunks`` pieces when streamed.
        latency: seconds to wait before sending the status line.
        chunk_interval: seconds to wait between stream events.
        status: an HTTP error status (400, 429, 500, 529, ...) sent in the provider's error shape.
        error_type, error_code, error_message: override the error body's fields.
        malformed: send invalid JSON (the body, or the first stream event's data).
        cut_after: close the connection after this many stream events, without a terminator.
        legacy_anthropic_delta: ``message_delta`` usage carries only ``output_tokens`` (older API).
    """

    model: str | None = None
    input_tokens: int | None = None
    cached_tokens: int | None = None
    cache_write_5m_tokens: int | None = None
    cache_write_1h_tokens: int | None = None
    output_tokens: int | None = None
    reasoning_tokens: int | None = None
    start_output_tokens: int | None = None
    send_usage: bool = True
    service_tier: str | None = None
    chunks: int = DEFAULT_CHUNKS
    text: str | None = None
    latency: float = 0.0
    chunk_interval: float = 0.0
    status: int | None = None
    error_type: str | None = None
    error_code: str | None = None
    error_message: str | None = None
    malformed: bool = False
    cut_after: int | None = None
    legacy_anthropic_delta: bool = False

    def __post_init__(self) -> None:
        _check_non_negative(self, "input_tokens", "cached_tokens", "cache_write_5m_tokens")
        _check_non_negative(self, "cache_write_1h_tokens", "output_tokens", "reasoning_tokens")
        _check_non_negative(self, "start_output_tokens", "cut_after")
        if self.chunks < 1:
            raise ValueError(f"Script.chunks: {self.chunks!r} must be >= 1")
        if self.latency < 0 or self.chunk_interval < 0:
            raise ValueError(f"Script.latency/chunk_interval: {self.latency!r}/{self.chunk_interval!r} must be >= 0")
        if self.status is not None and not 400 <= self.status <= 599:
            raise ValueError(f"Script.status: {self.status!r} is not an HTTP error status (400-599)")
        if self.text is not None and len(self.text) < self.chunks:
            raise ValueError(f"Script.text: {len(self.text)} characters cannot fill {self.chunks} chunks")

    def pieces(self) -> list[str]:
        """The reply text split into exactly ``chunks`` non-empty pieces."""
        if self.text is None:
            return [f"chunk{i} " for i in range(self.chunks)]
        size, extra = divmod(len(self.text), self.chunks)
        out: list[str] = []
        start = 0
        for i in range(self.chunks):
            end = start + size + (1 if i < extra else 0)
            out.append(self.text[start:end])
            start = end
        return out


def _check_non_negative(script: Script, *names: str) -> None:
    for name in names:
        value = getattr(script, name)
        if value is not None and value < 0:
            raise ValueError(f"Script.{name}: {value!r} must be >= 0")


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the fake server received it.

    ``headers`` has lower-cased names; ``body`` is the parsed JSON object, or ``None`` when the
    body was empty, not JSON, or not a JSON object; ``query`` is the raw query string.
    """

    method: str
    path: str
    headers: dict[str, str]
    body: dict[str, Any] | None
    raw: bytes
    query: str = ""


class ScriptQueue:
    """Thread-safe FIFO of scripts with a fallback default."""

    def __init__(self, default: Script | None = None) -> None:
        self._lock = threading.Lock()
        self._queue: deque[Script] = deque()
        self.default = default if default is not None else Script()

    def push(self, scripts: Iterable[Script]) -> None:
        """Queue scripts, consumed one per request in arrival order."""
        items = list(scripts)
        for item in items:
            if not isinstance(item, Script):
                raise TypeError(f"script: expected Script, got {type(item).__name__}")
        with self._lock:
            self._queue.extend(items)

    def pop(self) -> Script:
        """The next queued script, or the default when the queue is empty."""
        with self._lock:
            return self._queue.popleft() if self._queue else self.default

    def pending(self) -> int:
        """How many queued scripts have not been consumed yet."""
        with self._lock:
            return len(self._queue)

    def clear(self) -> None:
        with self._lock:
            self._queue.clear()


class RequestLog:
    """Thread-safe list of recorded requests."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._items: list[RecordedRequest] = []

    def add(self, request: RecordedRequest) -> None:
        with self._lock:
            self._items.append(request)

    def snapshot(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._items)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
