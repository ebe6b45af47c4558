"""``with_raw_response`` / ``with_streaming_response``: usage from the body the caller parses.

The SDK returns a response wrapper instead of the parsed object. We proxy it: the first
``parse()`` records usage from the parsed body (the SDK caches it, so the caller pays nothing
twice); a parsed stream is handed out as a stream proxy. A response closed without ever being
parsed ends its span with ``genai_cost.usage.unavailable``.
"""

from __future__ import annotations

from typing import Any

import wrapt

from genai_cost.instrumentation.core.guard import run_guarded
from genai_cost.instrumentation.openai.calls import RESPONSES, CallSpan
from genai_cost.instrumentation.openai.streams import ChatStream, ResponsesStream


def _on_parsed(proxy: RawResponse, parsed: Any) -> Any:
    call: CallSpan = proxy._self_call
    if isinstance(parsed, proxy._self_stream_types):
        cached = proxy._self_stream
        if cached is not None and cached.__wrapped__ is parsed:
            return cached
        if call.ended:
            return parsed
        wrapper = (ResponsesStream if call.op.api == RESPONSES else ChatStream)(parsed, call)
        proxy._self_stream = wrapper
        return wrapper
    call.end_result(parsed)
    return parsed


class RawResponse(wrapt.ObjectProxy):  # type: ignore[misc]
    """Proxy over ``LegacyAPIResponse`` / ``APIResponse`` (synchronous ``parse``)."""

    def __init__(self, wrapped: Any, call: CallSpan, stream_types: tuple[type, ...]) -> None:
        super().__init__(wrapped)
        self._self_call = call
        self._self_stream_types = stream_types
        self._self_stream: Any = None

    def parse(self, *args: Any, **kwargs: Any) -> Any:
        parsed = self.__wrapped__.parse(*args, **kwargs)
        return run_guarded(_on_parsed, self, parsed, default=parsed)

    def close(self) -> Any:
        try:
            return self.__wrapped__.close()
        finally:
            self._end_unparsed()

    def _end_unparsed(self) -> None:
        # Closing the response ends the call: a parsed stream ends with what it has seen so far.
        stream = self._self_stream
        if stream is None:
            run_guarded(self._self_call.end_unavailable)
        else:
            run_guarded(stream._finalize)

    def __del__(self) -> None:
        if getattr(self, "_self_stream", True) is None:
            run_guarded(self._self_call.end_unavailable)


class AsyncRawResponse(RawResponse):
    """Proxy over ``AsyncAPIResponse`` (``parse`` and ``close`` are coroutines)."""

    async def parse(self, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        parsed = await self.__wrapped__.parse(*args, **kwargs)
        return run_guarded(_on_parsed, self, parsed, default=parsed)

    async def close(self) -> Any:  # type: ignore[override]
        try:
            return await self.__wrapped__.close()
        finally:
            self._end_unparsed()
