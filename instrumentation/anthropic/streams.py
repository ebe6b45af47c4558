"""The proxy over an Anthropic event stream (``stream=True`` and the ``.stream()`` helper's raw stream).

Input and cache usage come from ``message_start``; output from the final ``message_delta``
(cumulative: it replaces, never adds to, message_start's placeholder); a ``message_delta`` that
also carries input and cache counts (the current API) gives the final values of those too.
The caller sees every event unchanged. A stream that ends without its ``message_delta``
(cut, or closed early by the caller) records what is final (input and cache) and sets
``genai_cost.usage.unavailable``; a failed one gets the error; the span ends exactly once.
"""

from __future__ import annotations

from typing import Any

from opentelemetry.trace import Status, StatusCode

from genai_cost.instrumentation.anthropic import content
from genai_cost.instrumentation.anthropic.calls import MessagesCall, error_type, response_attributes
from genai_cost.instrumentation.anthropic.usage import Usage, field
from genai_cost.instrumentation.core import semconv, spans
from genai_cost.instrumentation.core.stream_proxy import StreamProxy


class MessageEventStream(StreamProxy):
    """Feeds the events of one messages call to its span."""

    def __init__(self, wrapped: Any, call: MessagesCall) -> None:
        super().__init__(wrapped)
        self._self_call = call
        self._self_usage: Usage | None = None
        self._self_final = False  # a message_delta with usage arrived
        self._self_stop_reason: str | None = None
        self._self_content: content.StreamedContent | None = content.StreamedContent() if call.capture else None
        self._self_response: dict[str, Any] = {}

    def _process_chunk(self, chunk: Any) -> bool:
        kind = chunk.type
        if kind == "message_delta":
            usage = chunk.usage
            if usage is not None:
                if self._self_usage is None:
                    self._self_usage = Usage()
                self._self_usage.update(usage)
                self._self_final = True
            stop = field(chunk.delta, "stop_reason")
            if isinstance(stop, str):
                self._self_stop_reason = stop
        elif kind == "message_start":
            message = chunk.message
            self._self_usage = Usage.of(message.usage)
            self._self_response = response_attributes(message)
        elif self._self_content is not None and kind in ("content_block_start", "content_block_delta"):
            self._self_content.add(chunk, kind)
        return True

    def _record(self) -> None:
        attrs = dict(self._self_response)
        usage = self._self_usage
        if usage is not None:
            attrs.update(usage.attributes(with_output=self._self_final))
        if not self._self_final:
            attrs[semconv.USAGE_UNAVAILABLE] = True
        if self._self_stop_reason is not None:
            attrs[semconv.RESPONSE_FINISH_REASONS] = (self._self_stop_reason,)
        if self._self_content is not None:
            attrs[semconv.OUTPUT_MESSAGES] = content.output_messages(
                self._self_content.blocks(), self._self_stop_reason
            )
        self._self_call.span.set_attributes(attrs)

    def _on_stream_end(self) -> None:
        span = self._self_call.span
        try:
            self._record()
            span.set_status(Status(StatusCode.OK))
        finally:
            span.end()

    def _on_stream_error(self, exc: BaseException) -> None:
        span = self._self_call.span
        try:
            self._record()
        finally:
            spans.end_with_error(span, exc, error_type(exc))
