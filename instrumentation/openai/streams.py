"""Stream proxies for chat-completion chunks and Responses-API events.

The caller iterates the proxy exactly as the SDK stream; the span ends once, when the stream is
exhausted, fails, is closed or abandoned. When we added ``stream_options.include_usage`` ourselves,
the usage-only chunk it produces is hidden (dropped from the SDK's event stream before it is
parsed, see ``usage_events``; failing that, dropped by the proxy) and the ``usage: null`` field the
option adds to every other chunk is marked unset again, so the caller sees exactly the chunks it
would have seen.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

from genai_cost.instrumentation.core import semconv
from genai_cost.instrumentation.core.guard import report
from genai_cost.instrumentation.core.stream_proxy import StreamProxy
from genai_cost.instrumentation.openai import content, extract, usage_events
from genai_cost.instrumentation.openai.calls import CallSpan

_SITE_INSTALL: Final = f"{__name__}.ChatStream.install_usage_filter"


class _ChatState:
    """What a chat stream has shown so far (plain slots: read on every chunk)."""

    __slots__ = ("armed", "capture", "hide", "id", "model", "reasons", "texts", "tier", "usage")

    def __init__(self, hide: bool, capture: bool) -> None:
        self.hide = hide
        self.armed = False  # a finish reason was seen: the usage-only chunk may come next
        self.capture = capture
        self.id: str | None = None
        self.model: str | None = None
        self.tier: str | None = None
        self.usage: Any = None  # the SDK's usage object, or the JSON dict of a hidden usage chunk
        self.reasons: dict[int, str] = {}
        self.texts: dict[int, list[str]] = {}

    def first(self, chunk: Any) -> None:
        """Response id, model and tier, from the first chunk that has an id (a chunk object or
        its JSON dict). Azure sends a first chunk with empty id/model (prompt filter results)."""
        if chunk.__class__ is dict:
            values = (chunk.get("id"), chunk.get("model"), chunk.get("service_tier"))
        else:
            values = (chunk.id, chunk.model, getattr(chunk, "service_tier", None))
        if values[0]:
            self.id, self.model, self.tier = values

    def see(self, chunk: Any) -> bool:
        """One chunk: a few attribute reads (everything else waits for the end of the stream).
        Returns False for a chunk the caller must not see."""
        if self.id is None:
            self.first(chunk)
        choices = chunk.choices
        if choices:
            for choice in choices:
                reason = choice.finish_reason
                if reason:
                    self.reasons[choice.index] = reason
                    self.armed = True
                if self.capture:
                    text = getattr(choice.delta, "content", None)
                    if text:
                        self.texts.setdefault(choice.index, []).append(text)
        usage = getattr(chunk, "usage", None)
        if usage is not None:
            self.usage = usage
            if self.hide and not choices:
                return False  # the usage-only chunk we asked for, if it got past the event filter
        elif self.hide:
            # ``include_usage`` adds ``"usage": null`` to every chunk: unset it again, as without.
            fields_set = getattr(chunk, "__pydantic_fields_set__", None)
            if fields_set is not None:  # pydantic v2 records which fields were set
                fields_set.discard("usage")
        return True

    def hidden_usage(self, body: dict[str, Any]) -> None:
        """The usage-only chunk we asked for, taken from the event stream before the SDK parsed it."""
        self.usage = body["usage"]
        if self.id is None:
            self.first(body)


class ChatStream(StreamProxy):
    """Proxy over ``Stream[ChatCompletionChunk]`` / ``AsyncStream[ChatCompletionChunk]``."""

    def __init__(self, wrapped: Any, call: CallSpan) -> None:
        super().__init__(wrapped)
        self._self_call = call
        state = self._self_state = _ChatState(call.hide_usage_chunk, call.capture)
        if state.hide:
            try:
                usage_events.install(wrapped, state)
            except Exception:
                report(_SITE_INSTALL)

    def _process_chunk(self, chunk: Any) -> bool:
        return self._self_state.see(chunk)  # type: ignore[no-any-return]

    def _chunk_observer(self) -> Callable[[Any], bool]:
        return self._self_state.see  # type: ignore[no-any-return]

    def _attributes(self) -> extract.Attributes:
        state = self._self_state
        attrs: extract.Attributes = {}
        if state.id and isinstance(state.id, str):
            attrs[semconv.RESPONSE_ID] = state.id
        if state.model and isinstance(state.model, str):
            attrs[semconv.RESPONSE_MODEL] = state.model
        if state.tier and isinstance(state.tier, str):
            attrs[semconv.OPENAI_SERVICE_TIER] = state.tier
        if state.reasons:
            attrs[semconv.RESPONSE_FINISH_REASONS] = [state.reasons[i] for i in sorted(state.reasons)]
        usage = extract.chat_usage(state.usage) if state.usage is not None else None
        if usage:
            attrs.update(usage)
        else:
            attrs[semconv.USAGE_UNAVAILABLE] = True
        if state.capture:
            attrs[semconv.OUTPUT_MESSAGES] = content.to_json(content.streamed_chat_output(state.texts, state.reasons))
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
