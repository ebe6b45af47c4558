"""One instrumented call: its span, what was asked, and how it ends (exactly once)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from opentelemetry.trace import Span, Tracer
from opentelemetry.util.types import AttributeValue

from genai_cost.instrumentation.core import semconv, settings
from genai_cost.instrumentation.core.spans import end_with_error, start_client_span
from genai_cost.instrumentation.openai import content, extract, providers

Attributes = dict[str, AttributeValue]

CHAT: Final = "chat"
RESPONSES: Final = "responses"
EMBEDDINGS: Final = "embeddings"

_INCLUDE_USAGE_CHOICES: Final = ("auto", "true", "false")


@dataclass(frozen=True, slots=True)
class Operation:
    """One wrapped SDK surface: which API it calls and how its result becomes attributes."""

    api: str  # CHAT, RESPONSES or EMBEDDINGS
    operation: str  # gen_ai.operation.name
    extract: Callable[[Any], Attributes]
    output: Callable[[Any], list[content.Message]] | None


OPERATIONS: Final = {
    CHAT: Operation(CHAT, semconv.OP_CHAT, extract.chat_completion, content.chat_output),
    RESPONSES: Operation(RESPONSES, semconv.OP_CHAT, extract.response, content.responses_output),
    EMBEDDINGS: Operation(EMBEDDINGS, semconv.OP_EMBEDDINGS, extract.embeddings, None),
}


class CallSpan:
    """The span of one SDK call plus the per-call decisions made before sending it."""

    __slots__ = ("capture", "ended", "hide_usage_chunk", "kwargs", "op", "provider", "request_model", "span")

    def __init__(
        self,
        span: Span,
        op: Operation,
        kwargs: dict[str, Any],
        provider: str,
        request_model: str | None,
        capture: bool,
        hide_usage_chunk: bool,
    ) -> None:
        self.span = span
        self.op = op
        self.kwargs = kwargs
        self.provider = provider
        self.request_model = request_model
        self.capture = capture
        self.hide_usage_chunk = hide_usage_chunk
        self.ended = False

    def end_ok(self, attrs: Attributes) -> None:
        """End the span with the response's attributes (once)."""
        if self.ended:
            return
        self.ended = True
        try:
            self.span.set_attributes(attrs)
        finally:
            self.span.end()

    def end_result(self, result: Any) -> None:
        """End the span from a parsed (non-streamed) response object."""
        if self.ended:
            return
        attrs = self.op.extract(result)
        if self.capture and self.op.output is not None:
            attrs[semconv.OUTPUT_MESSAGES] = content.to_json(self.op.output(result))
        failure = extract.response_failure(result) if self.op.api == RESPONSES else None
        if failure is not None:
            self.end_failed(failure, attrs)
        else:
            self.end_ok(attrs)

    def end_failed(self, error_type: str, attrs: Attributes, message: str | None = None) -> None:
        """End the span as failed without an exception (e.g. a Responses ``failed`` status)."""
        from opentelemetry.trace import Status, StatusCode

        if self.ended:
            return
        self.ended = True
        try:
            attrs[semconv.ERROR_TYPE] = error_type
            self.span.set_attributes(attrs)
            self.span.set_status(Status(StatusCode.ERROR, message or error_type))
        finally:
            self.span.end()

    def end_error(self, exc: BaseException, attrs: Attributes | None = None) -> None:
        """End the span as failed by ``exc`` (once), keeping whatever was learnt before."""
        if self.ended:
            return
        self.ended = True
        try:
            if attrs:
                self.span.set_attributes(attrs)
        finally:
            end_with_error(self.span, exc, extract.error_type(exc))

    def end_unavailable(self) -> None:
        """End a call whose response body was never parsed: no usage could be had."""
        self.end_ok({semconv.USAGE_UNAVAILABLE: True})


def _given(value: Any, not_given: tuple[type, ...]) -> bool:
    return not isinstance(value, not_given)


def _parse_include_usage(name: str) -> str:
    return settings.env_choice(name, _INCLUDE_USAGE_CHOICES, "auto")


include_usage_mode: Final[settings.CachedEnv[str]] = settings.CachedEnv(
    settings.GENAI_COST_OPENAI_INCLUDE_USAGE, _parse_include_usage
)
"""``include_usage_mode()``: ``auto``, ``true`` or ``false`` from ``GENAI_COST_OPENAI_INCLUDE_USAGE``
(default ``auto``), following the environment live."""


def _wants_injection(kwargs: Mapping[str, Any], info: providers.ProviderInfo, not_given: tuple[type, ...]) -> bool:
    """Whether to add ``stream_options.include_usage`` to a chat stream the caller did not configure."""
    if "stream_options" in kwargs and _given(kwargs["stream_options"], not_given):
        return False  # the caller chose (either value, or null): respected
    extra_body = kwargs.get("extra_body")
    if isinstance(extra_body, Mapping) and "stream_options" in extra_body:
        return False
    mode = include_usage_mode()
    return info.include_usage if mode == "auto" else mode == "true"


def _with_include_usage(kwargs: dict[str, Any]) -> dict[str, Any]:
    """A copy of ``kwargs`` asking for usage on the last chunk.

    The option goes into ``extra_body`` (merged into the JSON body as is), not the typed
    ``stream_options`` parameter: the wire request is the same, and the SDK skips validating and
    transforming one more typed parameter (about 10 us per call).
    """
    out = dict(kwargs)
    out.pop("stream_options", None)  # only ever an unset sentinel here
    extra_body = kwargs.get("extra_body")
    option = {"stream_options": {"include_usage": True}}
    out["extra_body"] = {**extra_body, **option} if isinstance(extra_body, Mapping) else option
    return out


_MAX_TOKENS_KEYS: Final = ("max_completion_tokens", "max_output_tokens", "max_tokens")


def _request_attributes(kwargs: Mapping[str, Any], attrs: Attributes) -> None:
    for key in _MAX_TOKENS_KEYS:
        value = kwargs.get(key)
        if value is not None and isinstance(value, int) and not isinstance(value, bool):
            attrs[semconv.REQUEST_MAX_TOKENS] = value
            break
    temperature = kwargs.get("temperature")
    if temperature is not None and isinstance(temperature, (int, float)) and not isinstance(temperature, bool):
        attrs[semconv.REQUEST_TEMPERATURE] = float(temperature)


def _input_messages(op: Operation, kwargs: Mapping[str, Any]) -> str | None:
    if op.api == CHAT:
        return content.to_json(content.chat_input(kwargs.get("messages")))
    if op.api == RESPONSES:
        return content.to_json(content.responses_input(kwargs.get("instructions"), kwargs.get("input")))
    return None


def start_call(
    tracer: Tracer, op: Operation, instance: Any, kwargs: dict[str, Any], not_given: tuple[type, ...]
) -> CallSpan:
    """Start the call's span; decide (and apply, on a copy of ``kwargs``) include_usage injection.

    Runs before every SDK call: the attribute dict is built once (the per-client part is cached
    with the provider info) and handed to ``start_span``.
    """
    info = providers.info_for_client(getattr(instance, "_client", None))
    attrs: Attributes = dict(info.attributes)
    attrs[semconv.OPERATION_NAME] = op.operation
    model = kwargs.get("model")
    if isinstance(model, str) and model:
        attrs[semconv.REQUEST_MODEL] = model
        name = f"{op.operation} {model}"
    else:
        model = None
        name = op.operation
    hide_usage_chunk = False
    if op.api != EMBEDDINGS:
        stream = kwargs.get("stream") is True
        attrs[semconv.REQUEST_STREAM] = stream
        if stream and op.api == CHAT and _wants_injection(kwargs, info, not_given):
            kwargs = _with_include_usage(kwargs)
            hide_usage_chunk = True
    _request_attributes(kwargs, attrs)
    capture = settings.capture_content()
    if capture:
        messages = _input_messages(op, kwargs)
        if messages is not None:
            attrs[semconv.INPUT_MESSAGES] = messages
    span = start_client_span(tracer, name, attrs)
    return CallSpan(span, op, kwargs, info.name, model, capture, hide_usage_chunk)
