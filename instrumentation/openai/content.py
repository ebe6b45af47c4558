"""Message content as ``gen_ai.input.messages`` / ``gen_ai.output.messages`` JSON strings.

Only used when ``OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=true``. The shape follows the
GenAI semantic conventions: ``[{"role": ..., "parts": [{"type": "text", "content": ...}, ...]}]``,
with ``finish_reason`` on output messages.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

Part = dict[str, Any]
Message = dict[str, Any]


def to_json(messages: list[Message]) -> str:
    return json.dumps(messages, ensure_ascii=False, default=str)


def _text_parts(content: Any) -> list[Part]:
    """Chat or Responses content (a string or a list of typed parts) -> semconv parts."""
    if content is None:
        return []
    if isinstance(content, str):
        return [{"type": "text", "content": content}]
    parts: list[Part] = []
    if isinstance(content, Iterable):
        for item in content:
            get = item.get if isinstance(item, Mapping) else lambda k, _i=item: getattr(_i, k, None)
            kind = get("type")
            text = get("text")
            if isinstance(text, str):
                parts.append({"type": "text", "content": text})
            elif kind is not None:
                parts.append({"type": str(kind)})
    return parts


def _field(obj: Any, key: str) -> Any:
    return obj.get(key) if isinstance(obj, Mapping) else getattr(obj, key, None)


def _tool_calls(calls: Any) -> list[Part]:
    parts: list[Part] = []
    for call in calls or ():
        function = _field(call, "function")
        parts.append(
            {
                "type": "tool_call",
                "id": _field(call, "id"),
                "name": _field(function, "name"),
                "arguments": _field(function, "arguments"),
            }
        )
    return parts


def chat_input(messages: Any) -> list[Message]:
    """Chat ``messages`` request parameter -> semconv input messages."""
    out: list[Message] = []
    for message in messages or ():
        role = _field(message, "role")
        if role == "tool":
            parts: list[Part] = [
                {
                    "type": "tool_call_response",
                    "id": _field(message, "tool_call_id"),
                    "response": _field(message, "content"),
                }
            ]
        else:
            parts = _text_parts(_field(message, "content")) + _tool_calls(_field(message, "tool_calls"))
        out.append({"role": role, "parts": parts})
    return out


def chat_output(completion: Any) -> list[Message]:
    """A ``ChatCompletion``'s choices -> semconv output messages."""
    out: list[Message] = []
    for choice in getattr(completion, "choices", None) or ():
        message = getattr(choice, "message", None)
        parts = _text_parts(getattr(message, "content", None)) + _tool_calls(getattr(message, "tool_calls", None))
        out.append({"role": "assistant", "parts": parts, "finish_reason": getattr(choice, "finish_reason", None)})
    return out


def streamed_chat_output(texts: Mapping[int, list[str]], reasons: Mapping[int, str]) -> list[Message]:
    """Accumulated stream deltas (per choice index) -> semconv output messages."""
    return [
        {
            "role": "assistant",
            "parts": [{"type": "text", "content": "".join(texts.get(index, ()))}],
            "finish_reason": reasons.get(index),
        }
        for index in sorted(set(texts) | set(reasons))
    ]


def responses_input(instructions: Any, input_: Any) -> list[Message]:
    """Responses ``instructions`` + ``input`` -> semconv input messages."""
    out: list[Message] = []
    if isinstance(instructions, str) and instructions:
        out.append({"role": "system", "parts": [{"type": "text", "content": instructions}]})
    if isinstance(input_, str):
        out.append({"role": "user", "parts": [{"type": "text", "content": input_}]})
        return out
    for item in input_ or ():
        role = _field(item, "role")
        if role is not None:
            out.append({"role": role, "parts": _text_parts(_field(item, "content"))})
        else:
            out.append({"role": "user", "parts": [{"type": str(_field(item, "type"))}]})
    return out


def responses_output(resp: Any) -> list[Message]:
    """A Responses-API ``Response``'s output items -> semconv output messages."""
    out: list[Message] = []
    status = getattr(resp, "status", None)
    for item in getattr(resp, "output", None) or ():
        kind = getattr(item, "type", None)
        if kind == "message":
            parts = _text_parts(getattr(item, "content", None))
        elif kind == "function_call":
            parts = [
                {
                    "type": "tool_call",
                    "id": getattr(item, "call_id", None),
                    "name": getattr(item, "name", None),
                    "arguments": getattr(item, "arguments", None),
                }
            ]
        else:
            continue
        out.append({"role": "assistant", "parts": parts, "finish_reason": status})
    return out
