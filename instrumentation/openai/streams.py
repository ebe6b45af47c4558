"""Stream proxies for chat-completion chunks and Responses-API events.

The caller iterates the proxy exactly as the SDK stream; the span ends once, when the stream is
exhausted, fails, is closed or abandoned. When we added ``stream_options.include_usage`` ourselves,
the usage-only chunk it produces is hidden and the ``usage: null`` field the option adds to every
other chunk is marked unset again, so the caller sees exactly the chunks it would have seen.
"""

from __future__ import annotations

from typing import Any

from genai_cost.instrumentation.core import semconv
from genai_cost.instrumentation.core.stream_proxy import StreamProxy
from genai_cost.instrumentation.openai import content, extract
from genai_cost.instrumentation.openai.calls import CallSpan


class ChatStream(StreamProxy):
    """Proxy over ``Stream[ChatCompletionChunk]`` / ``AsyncStream[ChatCompletionChunk]``."""

    def __init__(self, wrapped: Any, call: CallSpan) -> None:
        super().__init__(wrapped)
        self._self_call = call
        self._self_hide = call.hide_usage_chunk
        self._self_capture = call.capture
        self._self_id: str | None = None
        self._self_model: str | None = None
        self._self_tier: str | None = None
        self._self_usage: Any = None
        self._self_reasons: dict[int, str] = {}
        self._self_texts: dict[int, list[str]] = {}

    def _process_chunk(self, chunk: Any) -> bool:
        if self._self_id is None and chunk.id:
            # Azure sends a first chunk with empty id/model (prompt filter results).
            self._self_id = chunk.id
            self._self_model = chunk.model
            self._self_tier = getattr(chunk, "service_tier", None)
        choices = chunk.choices
        for choice in choices:
            reason = choice.finish_reason
            if reason:
                self._self_reasons[choice.index] = reason
            if self._self_capture:
                text = getattr(choice.delta, "content", None)
                if text:
                    self._self_texts.setdefault(choice.index, []).append(text)
        usage = getattr(chunk, "usage", None)
        if usage is not None:
            self._self_usage = usage
            if self._self_hide and not choices:
                return False  # the usage-only chunk we asked for
        elif self._self_hide:
            fields_set = getattr(chunk, "__pydantic_fields_set__", None)
            if fields_set is not None:
                fields_set.discard("usage")
        return True

    def _attributes(self) -> extract.Attributes:
        attrs: extract.Attributes = {}
        if self._self_id:
            attrs[semconv.RESPONSE_ID] = self._self_id
        if self._self_model:
            attrs[semconv.RESPONSE_MODEL] = self._self_model
        if isinstance(self._self_tier, str) and self._self_tier:
            attrs[semconv.OPENAI_SERVICE_TIER] = self._self_tier
        if self._self_reasons:
            attrs[semconv.RESPONSE_FINISH_REASONS] = [self._self_reasons[i] for i in sorted(self._self_reasons)]
        usage = extract.chat_usage(self._self_usage) if self._self_usage is not None else None
        if usage:
            attrs.update(usage)
        else:
            attrs[semconv.USAGE_UNAVAILABLE] = True
        if self._self_capture:
            attrs[semconv.OUTPUT_MESSAGES] = content.to_json(
                content.streamed_chat_output(self._self_texts, self._self_reasons)
            )
        return attrs

    def _on_stream_end(self) -> None:
        self._self_call.end_ok(_safe_attributes(self))

    def _on_stream_error(self, exc: BaseException) -> None:
        self._self_call.end_error(exc, _safe_attributes(self))


def _safe_attributes(proxy: ChatStream | ResponsesStream) -> extract.Attributes:
    """The stream's attributes; if reading them fails, the span still ends (without usage)."""
    try:
        return proxy._attributes()
    except Exception:
        proxy._self_call.end_ok({semconv.USAGE_UNAVAILABLE: True})
        raise


_FINAL_EVENTS = frozenset({"response.completed", "response.incomplete", "response.failed"})
_START_EVENTS = frozenset({"response.created", "response.in_progress"})


class ResponsesStream(StreamProxy):
    """Proxy over ``Stream[ResponseStreamEvent]``: usage comes with the final ``response.*`` event."""

    def __init__(self, wrapped: Any, call: CallSpan) -> None:
        super().__init__(wrapped)
        self._self_call = call
        self._self_started: Any = None
        self._self_final: Any = None
        self._self_error: Any = None

    def _process_chunk(self, event: Any) -> bool:
        kind = getattr(event, "type", None)
        if kind in _FINAL_EVENTS:
            self._self_final = event.response
        elif kind in _START_EVENTS:
            self._self_started = event.response
        elif kind == "error":
            self._self_error = event
        return True

    def _attributes(self) -> extract.Attributes:
        if self._self_final is not None:
            attrs = extract.response(self._self_final)
            if self._self_call.capture:
                attrs[semconv.OUTPUT_MESSAGES] = content.to_json(content.responses_output(self._self_final))
            return attrs
        attrs = extract.response(self._self_started) if self._self_started is not None else {}
        attrs.pop(semconv.RESPONSE_FINISH_REASONS, None)  # the start event's status is not an outcome
        for key in list(attrs):
            if key.startswith("gen_ai.usage."):
                del attrs[key]
        attrs[semconv.USAGE_UNAVAILABLE] = True
        return attrs

    def _on_stream_end(self) -> None:
        attrs = _safe_attributes(self)
        failure = extract.response_failure(self._self_final) if self._self_final is not None else None
        if failure is None and self._self_error is not None:
            failure = getattr(self._self_error, "code", None) or "error"
        if failure is not None:
            self._self_call.end_failed(str(failure), attrs)
        else:
            self._self_call.end_ok(attrs)

    def _on_stream_error(self, exc: BaseException) -> None:
        self._self_call.end_error(exc, _safe_attributes(self))
