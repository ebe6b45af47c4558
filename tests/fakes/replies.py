"""Transport-neutral replies built by the wire modules and written by the HTTP layer.

Also the helpers every wire module shares: fresh ids in each provider's style and SSE framing.
"""

from __future__ import annotations

import json
import secrets
import string
from dataclasses import dataclass, field
from typing import Any, Final

_ALNUM: Final = string.ascii_letters + string.digits

MALFORMED_JSON: Final = b'{"id": "broken", "choices": [ {"index": 0,'
"""A body that is not valid JSON (truncated mid-object), sent by ``Script(malformed=True)``."""


class BadRequest(Exception):
    """The request body is invalid; becomes a 400 in the provider's error shape."""

    def __init__(self, message: str, param: str | None) -> None:
        super().__init__(message)
        self.message = message
        self.param = param


@dataclass(frozen=True)
class JsonReply:
    """A complete response: status, headers and a body sent with Content-Length."""

    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/json"


@dataclass(frozen=True)
class SseReply:
    """A streamed response: SSE events written one by one with chunked transfer encoding.

    ``cut_after`` closes the connection after that many events without the final chunk, so the
    client sees an incomplete body (a stream cut mid-way). ``interval`` is the pause between events.
    """

    events: list[bytes]
    headers: dict[str, str] = field(default_factory=dict)
    status: int = 200
    cut_after: int | None = None
    interval: float = 0.0
    content_type: str = "text/event-stream; charset=utf-8"


Reply = JsonReply | SseReply


def dumps(value: Any) -> bytes:
    """Compact JSON, as the providers send it."""
    return json.dumps(value, separators=(",", ":")).encode()


def sse(data: Any, event: str | None = None) -> bytes:
    """One SSE event; ``data`` is JSON-encoded unless it is already bytes."""
    payload = data if isinstance(data, bytes) else dumps(data)
    head = b"event: " + event.encode() + b"\n" if event is not None else b""
    return head + b"data: " + payload + b"\n\n"


def random_alnum(length: int) -> str:
    return "".join(secrets.choice(_ALNUM) for _ in range(length))


def openai_chat_id() -> str:
    """``chatcmpl-`` plus 29 alphanumerics, like the real API."""
    return "chatcmpl-" + random_alnum(29)


def openai_hex_id(prefix: str) -> str:
    """``resp_``/``msg_``/``rs_`` plus 50 hex digits, like Responses API object ids."""
    return prefix + secrets.token_hex(25)


def openai_request_id() -> str:
    return "req_" + secrets.token_hex(16)


def anthropic_message_id() -> str:
    """``msg_01`` plus 22 alphanumerics, like the real API."""
    return "msg_01" + random_alnum(22)


def anthropic_request_id() -> str:
    return "req_011C" + random_alnum(20)


@dataclass(frozen=True)
class SseEvent:
    """One parsed SSE event: its ``event:`` name (or ``None``) and its ``data:`` text."""

    event: str | None
    data: str


def parse_sse(body: bytes) -> list[SseEvent]:
    """Split a complete SSE body into events (for tests that inspect the raw wire)."""
    events: list[SseEvent] = []
    for block in body.decode().split("\n\n"):
        if not block.strip():
            continue
        name: str | None = None
        data: list[str] = []
        for line in block.split("\n"):
            field_name, _, value = line.partition(": ")
            if field_name == "event":
                name = value
            elif field_name == "data":
                data.append(value)
        events.append(SseEvent(name, "\n".join(data)))
    return events
