"""Message content as semconv attributes, recorded only when content capture is on.

``gen_ai.system_instructions``, ``gen_ai.input.messages`` and ``gen_ai.output.messages`` are
JSON strings in the semconv shape: ``[{"role", "parts": [{"type": "text", "content"}, ...]}]``.
Only lists and tuples of messages are read: a generator passed by the caller is left untouched
for the SDK to consume.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Final

from genai_cost.instrumentation.anthropic.usage import field

SYSTEM_INSTRUCTIONS: Final = "gen_ai.system_instructions"


def _part(block: Any) -> dict[str, Any]:
    """One content block (model or dict, request or response) as a semconv message part."""
    if isinstance(block, str):
        return {"type": "text", "content": block}
    kind = field(block, "type")
    if kind == "text":
        return {"type": "text", "content": field(block, "text")}
    if kind in ("tool_use", "server_tool_use"):
        return {
            "type": "tool_call",
            "id": field(block, "id"),
            "name": field(block, "name"),
            "arguments": _plain(field(block, "input")),
        }
    if kind == "tool_result":
        return {
            "type": "tool_call_response",
            "id": field(block, "tool_use_id"),
            "response": _plain(field(block, "content")),
        }
    if kind == "thinking":
        return {"type": "reasoning", "content": field(block, "thinking")}
    return {"type": str(kind)}


def _plain(value: Any) -> Any:
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    dump = getattr(value, "model_dump", None)
    return _plain(dump()) if dump is not None else str(value)


def _parts(content: Any) -> list[dict[str, Any]]:
    if isinstance(content, str):
        return [{"type": "text", "content": content}]
    if isinstance(content, list | tuple):
        return [_part(block) for block in content]
    return []


def input_messages(messages: Any) -> str | None:
    """``gen_ai.input.messages`` for the request's ``messages`` (``None`` if not a list)."""
    if not isinstance(messages, list | tuple):
        return None
    out = [{"role": field(m, "role"), "parts": _parts(field(m, "content"))} for m in messages]
    return json.dumps(out, ensure_ascii=False, default=str)


def system_instructions(system: Any) -> str | None:
    """``gen_ai.system_instructions`` for the request's ``system`` (a string or text blocks)."""
    if not isinstance(system, str | list | tuple):
        return None
    return json.dumps(_parts(system), ensure_ascii=False, default=str)


def output_messages(content: Any, stop_reason: str | None) -> str:
    """``gen_ai.output.messages`` for a response's content blocks."""
    out = [{"role": "assistant", "parts": _parts(content), "finish_reason": stop_reason}]
    return json.dumps(out, ensure_ascii=False, default=str)


class StreamedContent:
    """Rebuilds a streamed message's content blocks from its events (only used when capturing)."""

    def __init__(self) -> None:
        self._blocks: dict[int, dict[str, Any]] = {}
        self._json: dict[int, list[str]] = {}

    def add(self, event: Any, kind: str) -> None:
        index = field(event, "index")
        if not isinstance(index, int):
            return
        if kind == "content_block_start":
            self._blocks[index] = _plain(field(event, "content_block")) or {}
            return
        delta = field(event, "delta")
        block = self._blocks.setdefault(index, {"type": "text", "text": ""})
        dtype = field(delta, "type")
        if dtype == "text_delta":
            block["text"] = (block.get("text") or "") + (field(delta, "text") or "")
        elif dtype == "thinking_delta":
            block["thinking"] = (block.get("thinking") or "") + (field(delta, "thinking") or "")
        elif dtype == "input_json_delta":
            self._json.setdefault(index, []).append(field(delta, "partial_json") or "")

    def blocks(self) -> list[dict[str, Any]]:
        out = []
        for index in sorted(self._blocks):
            block = dict(self._blocks[index])
            if index in self._json:
                raw = "".join(self._json[index])
                try:
                    block["input"] = json.loads(raw) if raw else {}
                except ValueError:
                    block["input"] = raw
            out.append(block)
        return out
