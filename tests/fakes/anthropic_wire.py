"""Anthropic wire formats: ``POST /v1/messages`` (JSON and SSE) and errors.

``input_tokens`` excludes cache reads and writes, as the real API counts them. A stream starts
with ``message_start`` (input and cache usage, ``output_tokens`` 1), a ``ping``, the content block
events, then ``message_delta`` whose ``output_tokens`` is cumulative; the current API repeats the
input and cache fields there, the older one (``Script(legacy_anthropic_delta=True)``) sent only
``output_tokens``.
"""

from __future__ import annotations

from typing import Any, Final

from genai_cost.fakes.replies import (
    MALFORMED_JSON,
    BadRequest,
    JsonReply,
    Reply,
    SseReply,
    anthropic_message_id,
    anthropic_request_id,
    dumps,
    sse,
)
from genai_cost.fakes.scripts import ANTHROPIC_DEFAULTS, Script

DEFAULT_SERVICE_TIER: Final = "standard"

# status -> (type, message) as the real API sends them.
_ERRORS: Final[dict[int, tuple[str, str]]] = {
    400: ("invalid_request_error", "Invalid request."),
    401: ("authentication_error", "invalid x-api-key"),
    403: ("permission_error", "Your API key does not have permission to use the specified resource."),
    404: ("not_found_error", "The requested resource could not be found."),
    413: ("request_too_large", "Request exceeds the maximum allowed number of bytes."),
    429: ("rate_limit_error", "Number of request tokens has exceeded your per-minute rate limit."),
    500: ("api_error", "Internal server error"),
    529: ("overloaded_error", "Overloaded"),
}


def headers(status: int = 200, request_id: str | None = None) -> dict[str, str]:
    """Response headers of the real API (``request-id``; rate-limit and retry-after on 429/5xx)."""
    out = {"request-id": request_id or anthropic_request_id(), "anthropic-organization-id": "fake-org"}
    if status == 429:
        out |= {"anthropic-ratelimit-requests-limit": "50", "anthropic-ratelimit-requests-remaining": "0"}
    if status == 429 or status >= 500:
        out["retry-after"] = "0"
    return out


def _error(status: int, err_type: str, message: str) -> JsonReply:
    request_id = anthropic_request_id()
    body = {"type": "error", "error": {"type": err_type, "message": message}, "request_id": request_id}
    return JsonReply(status=status, body=dumps(body), headers=headers(status, request_id))


def error_reply(status: int, script: Script | None = None) -> JsonReply:
    """``{"type": "error", "error": {"type", "message"}, "request_id"}`` for the status."""
    default_type = "api_error" if status >= 500 else "invalid_request_error"
    err_type, message = _ERRORS.get(status, (default_type, f"Error {status}."))
    if script is not None:
        err_type = script.error_type or err_type
        message = script.error_message or message
    return _error(status, err_type, message)


def bad_request_reply(exc: BadRequest) -> JsonReply:
    return _error(400, "invalid_request_error", exc.message)


def require(body: dict[str, Any], name: str) -> Any:
    if body.get(name) is None:
        raise BadRequest(f"{name}: Field required", name)
    return body[name]


def _pick(value: int | None, default: int) -> int:
    return default if value is None else value


def usage(script: Script, *, output_tokens: int | None = None) -> dict[str, Any]:
    """The ``usage`` object of a message (``output_tokens`` overridable for ``message_start``)."""
    d = ANTHROPIC_DEFAULTS
    write_5m = _pick(script.cache_write_5m_tokens, d.cache_write_5m_tokens)
    write_1h = _pick(script.cache_write_1h_tokens, d.cache_write_1h_tokens)
    return {
        "input_tokens": _pick(script.input_tokens, d.input_tokens),
        "cache_creation_input_tokens": write_5m + write_1h,
        "cache_read_input_tokens": _pick(script.cached_tokens, d.cache_read_tokens),
        "cache_creation": {"ephemeral_5m_input_tokens": write_5m, "ephemeral_1h_input_tokens": write_1h},
        "output_tokens": _pick(script.output_tokens, d.output_tokens) if output_tokens is None else output_tokens,
        "service_tier": script.service_tier or DEFAULT_SERVICE_TIER,
    }


def _delta_usage(script: Script) -> dict[str, Any]:
    full = usage(script)
    if script.legacy_anthropic_delta:
        return {"output_tokens": full["output_tokens"]}
    keys = ("input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens", "output_tokens")
    return {key: full[key] for key in keys}


def messages(body: dict[str, Any], script: Script, model: str) -> Reply:
    """``POST /v1/messages``: a ``message`` object or the typed SSE event stream."""
    require(body, "max_tokens")
    require(body, "messages")
    pieces = script.pieces()
    message: dict[str, Any] = {
        "id": anthropic_message_id(),
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": [{"type": "text", "text": "".join(pieces)}],
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "usage": usage(script),
    }
    if body.get("stream") is not True:
        if script.malformed:
            return JsonReply(status=200, body=MALFORMED_JSON, headers=headers())
        return JsonReply(status=200, body=dumps(message), headers=headers())

    start_output = _pick(script.start_output_tokens, ANTHROPIC_DEFAULTS.start_output_tokens)
    start = {
        **message,
        "content": [],
        "stop_reason": None,
        "usage": usage(script, output_tokens=start_output),
    }
    events = [
        sse({"type": "message_start", "message": start}, "message_start"),
        sse(
            {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
            "content_block_start",
        ),
        sse({"type": "ping"}, "ping"),
    ]
    events += [
        sse(
            {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": piece}},
            "content_block_delta",
        )
        for piece in pieces
    ]
    events += [
        sse({"type": "content_block_stop", "index": 0}, "content_block_stop"),
        sse(
            {
                "type": "message_delta",
                "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                "usage": _delta_usage(script),
            },
            "message_delta",
        ),
        sse({"type": "message_stop"}, "message_stop"),
    ]
    if script.malformed:
        events[0] = sse(MALFORMED_JSON, "message_start")
    return SseReply(events=events, headers=headers(), cut_after=script.cut_after, interval=script.chunk_interval)
