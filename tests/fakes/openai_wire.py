"""OpenAI wire formats: chat completions, Responses, embeddings and errors.

Bodies follow what the real API sends today (field names, nesting, key order, ``usage: null`` on
every chunk when ``stream_options.include_usage`` is set, a final usage-only chunk with empty
``choices``, ``data: [DONE]``), so every SDK parses them into its typed models.
"""

from __future__ import annotations

import base64
import struct
import time
from typing import Any, Final

from genai_cost.fakes.replies import (
    MALFORMED_JSON,
    BadRequest,
    JsonReply,
    Reply,
    SseReply,
    dumps,
    openai_chat_id,
    openai_hex_id,
    openai_request_id,
    sse,
)
from genai_cost.fakes.scripts import (
    CHAT_DEFAULTS,
    EMBEDDING_DEFAULT_DIMENSIONS,
    EMBEDDING_TOKENS_PER_INPUT,
    RESPONSES_DEFAULTS,
    OpenAIUsageDefaults,
    Script,
)

SYSTEM_FINGERPRINT: Final = "fp_fa1ce5e7e5"
DEFAULT_SERVICE_TIER: Final = "default"
DONE: Final = b"data: [DONE]\n\n"

# status -> (type, code, message) as the real API sends them.
_ERRORS: Final[dict[int, tuple[str, str | None, str]]] = {
    400: ("invalid_request_error", None, "Invalid request."),
    401: ("invalid_request_error", "invalid_api_key", "Incorrect API key provided: sk-fake."),
    403: ("invalid_request_error", "unsupported_country_region_territory", "Country not supported."),
    404: ("invalid_request_error", "model_not_found", "The model does not exist or you have no access."),
    429: (
        "requests",
        "rate_limit_exceeded",
        "Rate limit reached for requests per min (RPM): Limit 500, Used 500, Requested 1. Please try again in 120ms.",
    ),
    500: ("server_error", None, "The server had an error while processing your request. Sorry about that!"),
    503: ("server_error", None, "The engine is currently overloaded, please try again later."),
}


def headers(status: int = 200) -> dict[str, str]:
    """Response headers of the real API (request id, processing time; rate-limit + retry on 429/5xx)."""
    out = {
        "x-request-id": openai_request_id(),
        "openai-processing-ms": "7",
        "openai-version": "2020-10-01",
        "openai-organization": "fake-org",
    }
    if status == 429:
        out |= {
            "x-ratelimit-limit-requests": "500",
            "x-ratelimit-remaining-requests": "0",
            "x-ratelimit-reset-requests": "120ms",
        }
    if status == 429 or status >= 500:
        out["retry-after"] = "0"
    return out


def error_reply(status: int, script: Script | None = None, *, param: str | None = None) -> JsonReply:
    """``{"error": {"message", "type", "param", "code"}}`` with the real type/code for the status."""
    default_type = "server_error" if status >= 500 else "invalid_request_error"
    err_type, code, message = _ERRORS.get(status, (default_type, None, f"Error {status}."))
    if script is not None:
        err_type = script.error_type or err_type
        code = script.error_code or code
        message = script.error_message or message
    body = {"error": {"message": message, "type": err_type, "param": param, "code": code}}
    return JsonReply(status=status, body=dumps(body), headers=headers(status))


def bad_request_reply(exc: BadRequest) -> JsonReply:
    body = {"error": {"message": exc.message, "type": "invalid_request_error", "param": exc.param, "code": None}}
    return JsonReply(status=400, body=dumps(body), headers=headers(400))


def require(body: dict[str, Any], name: str) -> Any:
    if body.get(name) is None:
        raise BadRequest(f"Missing required parameter: '{name}'.", name)
    return body[name]


def _pick(value: int | None, default: int) -> int:
    return default if value is None else value


def _usage_numbers(script: Script, defaults: OpenAIUsageDefaults) -> tuple[int, int, int, int]:
    return (
        _pick(script.input_tokens, defaults.input_tokens),
        _pick(script.cached_tokens, defaults.cached_tokens),
        _pick(script.output_tokens, defaults.output_tokens),
        _pick(script.reasoning_tokens, defaults.reasoning_tokens),
    )


def _stream_wanted(body: dict[str, Any]) -> bool:
    return body.get("stream") is True


# --- chat completions -------------------------------------------------------------------------


def chat_usage(script: Script) -> dict[str, Any]:
    """The chat ``usage`` object (prompt includes cached tokens, completion includes reasoning)."""
    prompt, cached, completion, reasoning = _usage_numbers(script, CHAT_DEFAULTS)
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "prompt_tokens_details": {"cached_tokens": cached, "audio_tokens": 0},
        "completion_tokens_details": {
            "reasoning_tokens": reasoning,
            "audio_tokens": 0,
            "accepted_prediction_tokens": 0,
            "rejected_prediction_tokens": 0,
        },
    }


def chat_completion(body: dict[str, Any], script: Script, model: str) -> Reply:
    """``POST /v1/chat/completions``: a ``chat.completion`` object or a ``chat.completion.chunk`` stream."""
    require(body, "messages")
    if _stream_wanted(body):
        return _chat_stream(body, script, model)
    if script.malformed:
        return JsonReply(status=200, body=MALFORMED_JSON, headers=headers())
    completion: dict[str, Any] = {
        "id": openai_chat_id(),
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {
                    "role": "assistant",
                    "content": "".join(script.pieces()),
                    "refusal": None,
                    "annotations": [],
                },
                "logprobs": None,
                "finish_reason": "stop",
            }
        ],
    }
    if script.send_usage:
        completion["usage"] = chat_usage(script)
    completion["service_tier"] = script.service_tier or DEFAULT_SERVICE_TIER
    completion["system_fingerprint"] = SYSTEM_FINGERPRINT
    return JsonReply(status=200, body=dumps(completion), headers=headers())


def _chat_stream(body: dict[str, Any], script: Script, model: str) -> SseReply:
    options = body.get("stream_options")
    include_usage = isinstance(options, dict) and options.get("include_usage") is True
    chunk_id = openai_chat_id()
    created = int(time.time())
    tier = script.service_tier or DEFAULT_SERVICE_TIER

    def chunk(choices: list[dict[str, Any]], usage: dict[str, Any] | None = None) -> bytes:
        data: dict[str, Any] = {
            "id": chunk_id,
            "object": "chat.completion.chunk",
            "created": created,
            "model": model,
            "service_tier": tier,
            "system_fingerprint": SYSTEM_FINGERPRINT,
            "choices": choices,
        }
        if include_usage:
            data["usage"] = usage
        return sse(data)

    def choice(delta: dict[str, Any], finish_reason: str | None = None) -> dict[str, Any]:
        return {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}

    events = [chunk([choice({"role": "assistant", "content": "", "refusal": None})])]
    events += [chunk([choice({"content": piece})]) for piece in script.pieces()]
    events.append(chunk([choice({}, "stop")]))
    if include_usage and script.send_usage:
        events.append(chunk([], chat_usage(script)))
    events.append(DONE)
    if script.malformed:
        events[0] = sse(MALFORMED_JSON)
    return SseReply(events=events, headers=headers(), cut_after=script.cut_after, interval=script.chunk_interval)


# --- Responses API ----------------------------------------------------------------------------


def responses_usage(script: Script) -> dict[str, Any]:
    """The Responses ``usage`` object (input includes cached tokens, output includes reasoning)."""
    inp, cached, out, reasoning = _usage_numbers(script, RESPONSES_DEFAULTS)
    return {
        "input_tokens": inp,
        "input_tokens_details": {"cached_tokens": cached, "cache_write_tokens": 0},
        "output_tokens": out,
        "output_tokens_details": {"reasoning_tokens": reasoning},
        "total_tokens": inp + out,
    }


def _response_object(
    body: dict[str, Any],
    script: Script,
    model: str,
    response_id: str,
    created_at: int,
    output: list[dict[str, Any]],
    *,
    completed: bool,
) -> dict[str, Any]:
    text_config = body.get("text") if isinstance(body.get("text"), dict) else None
    reasoning = body.get("reasoning") if isinstance(body.get("reasoning"), dict) else None
    return {
        "id": response_id,
        "object": "response",
        "created_at": created_at,
        "status": "completed" if completed else "in_progress",
        "background": False,
        "completed_at": int(time.time()) if completed else None,
        "error": None,
        "incomplete_details": None,
        "instructions": body.get("instructions"),
        "max_output_tokens": body.get("max_output_tokens"),
        "max_tool_calls": body.get("max_tool_calls"),
        "model": model,
        "output": output,
        "parallel_tool_calls": body.get("parallel_tool_calls", True),
        "previous_response_id": body.get("previous_response_id"),
        "prompt_cache_key": body.get("prompt_cache_key"),
        "reasoning": reasoning or {"effort": None, "summary": None},
        "safety_identifier": body.get("safety_identifier"),
        "service_tier": script.service_tier or DEFAULT_SERVICE_TIER,
        "store": body.get("store", True),
        "temperature": body.get("temperature", 1.0),
        "text": text_config or {"format": {"type": "text"}, "verbosity": "medium"},
        "tool_choice": body.get("tool_choice", "auto"),
        "tools": body.get("tools", []),
        "top_logprobs": body.get("top_logprobs", 0),
        "top_p": body.get("top_p", 1.0),
        "truncation": body.get("truncation", "disabled"),
        "usage": responses_usage(script) if completed and script.send_usage else None,
        "user": body.get("user"),
        "metadata": body.get("metadata") or {},
    }


def responses(body: dict[str, Any], script: Script, model: str) -> Reply:
    """``POST /v1/responses``: a ``response`` object or its typed SSE event stream."""
    require(body, "input")
    response_id = openai_hex_id("resp_")
    created_at = int(time.time())
    reasoning_tokens = _pick(script.reasoning_tokens, RESPONSES_DEFAULTS.reasoning_tokens)
    reasoning_item = (
        {"id": openai_hex_id("rs_"), "type": "reasoning", "summary": [], "content": []}
        if reasoning_tokens > 0
        else None
    )
    message_id = openai_hex_id("msg_")
    pieces = script.pieces()
    text = "".join(pieces)
    part = {"type": "output_text", "annotations": [], "logprobs": [], "text": text}
    message = {
        "id": message_id,
        "type": "message",
        "status": "completed",
        "content": [part],
        "role": "assistant",
    }
    output = [item for item in (reasoning_item, message) if item is not None]
    final = _response_object(body, script, model, response_id, created_at, output, completed=True)
    if not _stream_wanted(body):
        if script.malformed:
            return JsonReply(status=200, body=MALFORMED_JSON, headers=headers())
        return JsonReply(status=200, body=dumps(final), headers=headers())

    start = _response_object(body, script, model, response_id, created_at, [], completed=False)
    payloads: list[dict[str, Any]] = [
        {"type": "response.created", "response": start},
        {"type": "response.in_progress", "response": start},
    ]
    if reasoning_item is not None:
        payloads += [
            {"type": "response.output_item.added", "output_index": 0, "item": reasoning_item},
            {"type": "response.output_item.done", "output_index": 0, "item": reasoning_item},
        ]
    index = len(output) - 1
    where = {"item_id": message_id, "output_index": index, "content_index": 0}
    payloads.append(
        {
            "type": "response.output_item.added",
            "output_index": index,
            "item": {**message, "status": "in_progress", "content": []},
        }
    )
    payloads.append({"type": "response.content_part.added", **where, "part": {**part, "text": ""}})
    payloads += [{"type": "response.output_text.delta", **where, "delta": piece, "logprobs": []} for piece in pieces]
    payloads += [
        {"type": "response.output_text.done", **where, "text": text, "logprobs": []},
        {"type": "response.content_part.done", **where, "part": part},
        {"type": "response.output_item.done", "output_index": index, "item": message},
        {"type": "response.completed", "response": final},
    ]
    events = [sse({**payload, "sequence_number": seq}, event=payload["type"]) for seq, payload in enumerate(payloads)]
    if script.malformed:
        events[0] = sse(MALFORMED_JSON, event="response.created")
    return SseReply(events=events, headers=headers(), cut_after=script.cut_after, interval=script.chunk_interval)


# --- embeddings -------------------------------------------------------------------------------


def _input_count(value: Any) -> int:
    if isinstance(value, str):
        return 1
    if isinstance(value, list) and value:
        if all(isinstance(item, int) for item in value):
            return 1  # one pre-tokenised input
        return len(value)
    raise BadRequest(f"Invalid 'input': expected a string or a non-empty array, got {value!r:.60}.", "input")


def embedding_vector(index: int, dimensions: int) -> list[float]:
    """A deterministic vector, exact in float32 so base64 and float formats decode to equal values."""
    return [(index * dimensions + j + 1) / 1024 for j in range(dimensions)]


def embeddings(body: dict[str, Any], script: Script, model: str) -> Reply:
    """``POST /v1/embeddings`` with ``encoding_format`` float (default) or base64."""
    count = _input_count(require(body, "input"))
    dimensions = body.get("dimensions") or EMBEDDING_DEFAULT_DIMENSIONS
    if not isinstance(dimensions, int) or dimensions < 1:
        raise BadRequest(f"Invalid 'dimensions': {dimensions!r} is not a positive integer.", "dimensions")
    encoding = body.get("encoding_format") or "float"
    if encoding not in ("float", "base64"):
        raise BadRequest(f"Invalid 'encoding_format': {encoding!r} is not one of float, base64.", "encoding_format")
    if script.malformed:
        return JsonReply(status=200, body=MALFORMED_JSON, headers=headers())
    data = []
    for index in range(count):
        vector = embedding_vector(index, dimensions)
        encoded: list[float] | str = (
            base64.b64encode(struct.pack(f"<{dimensions}f", *vector)).decode() if encoding == "base64" else vector
        )
        data.append({"object": "embedding", "index": index, "embedding": encoded})
    tokens = _pick(script.input_tokens, EMBEDDING_TOKENS_PER_INPUT * count)
    reply: dict[str, Any] = {"object": "list", "data": data, "model": model}
    if script.send_usage:
        reply["usage"] = {"prompt_tokens": tokens, "total_tokens": tokens}
    return JsonReply(status=200, body=dumps(reply), headers=headers())
