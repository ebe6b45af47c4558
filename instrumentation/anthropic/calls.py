"""One traced messages call: its span, from the request to the response, error or end of stream."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from opentelemetry import context, trace
from opentelemetry.trace import Span, Status, StatusCode, Tracer
from opentelemetry.util.types import AttributeValue

from genai_cost.instrumentation.anthropic import content
from genai_cost.instrumentation.anthropic.provider import provider_of
from genai_cost.instrumentation.anthropic.usage import Usage, field
from genai_cost.instrumentation.core import enforcement, semconv, settings, spans
from genai_cost.instrumentation.core.guard import guarded

MESSAGES_PATH: Final = "/v1/messages"
_MESSAGES_QUERY: Final = MESSAGES_PATH + "?"  # the beta API posts to /v1/messages?beta=true
_NO_REFUSAL: enforcement.BudgetExceededError | None = None


def messages_request(args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The JSON body of a ``client.request(cast_to, options, ...)`` that creates a message, else ``None``."""
    options = args[1] if len(args) > 1 else kwargs.get("options")
    path = getattr(options, "url", None)
    if not isinstance(path, str) or not (path == MESSAGES_PATH or path.startswith(_MESSAGES_QUERY)):
        return None
    method = getattr(options, "method", None)
    if not isinstance(method, str) or method.lower() != "post":
        return None
    body = getattr(options, "json_data", None)
    return body if isinstance(body, Mapping) else None


def error_type(exc: BaseException) -> str:
    """The API's error type (``rate_limit_error``, from the error body), else the exception class name."""
    api_type = getattr(exc, "type", None)
    if isinstance(api_type, str) and api_type:
        return api_type
    body = getattr(exc, "body", None)
    if isinstance(body, Mapping):
        inner = body.get("error")
        nested = inner.get("type") if isinstance(inner, Mapping) else None
        if isinstance(nested, str) and nested:
            return nested
    return spans.error_type_of(exc)


def _server(client: Any) -> tuple[str | None, int | None]:
    url = getattr(client, "base_url", None)
    host = getattr(url, "host", None)
    if not isinstance(host, str) or not host:
        return None, None
    port = getattr(url, "port", None)
    if not isinstance(port, int):
        port = 80 if getattr(url, "scheme", None) == "http" else 443
    return host, port


class MessagesCall:
    """The span of one ``/v1/messages`` call and what is known about the call so far."""

    __slots__ = ("_ctx_token", "capture", "provider", "request_model", "span")

    def __init__(self, span: Span, provider: str, request_model: str | None, capture: bool) -> None:
        self.span = span
        self.provider = provider
        self.request_model = request_model
        self.capture = capture
        self._ctx_token: object | None = None

    @classmethod
    def start(cls, tracer: Tracer, client: Any, body: Mapping[str, Any], stream: bool) -> MessagesCall:
        """Start the span from the request (model, max_tokens, stream; content only when capturing)."""
        provider = provider_of(client)
        model = body.get("model")
        request_model = model if isinstance(model, str) else None
        extra: dict[str, AttributeValue] = {}
        for key, name in ((semconv.REQUEST_MAX_TOKENS, "max_tokens"), (semconv.REQUEST_TEMPERATURE, "temperature")):
            value = body.get(name)
            if isinstance(value, int | float) and not isinstance(value, bool):
                extra[key] = value
        capture = settings.capture_content()
        if capture:
            for key, text in (
                (content.SYSTEM_INSTRUCTIONS, content.system_instructions(body.get("system"))),
                (semconv.INPUT_MESSAGES, content.input_messages(body.get("messages"))),
            ):
                if text is not None:
                    extra[key] = text
        host, port = _server(client)
        span = spans.start_llm_span(
            tracer,
            operation=semconv.OP_CHAT,
            provider=provider,
            request_model=request_model,
            server_address=host,
            server_port=port,
            stream=stream,
            extra=extra,
        )
        return cls(span, provider, request_model, capture)

    # -- around the request ---------------------------------------------------------------------
    @guarded(_NO_REFUSAL)
    def check_budget(self) -> enforcement.BudgetExceededError | None:
        """Ask budget enforcement; a refusal is recorded on the span, which ends, and returned."""
        try:
            enforcement.check_call(self.provider, self.request_model)
        except enforcement.BudgetExceededError as refusal:
            self.span.set_attribute(semconv.BUDGET_REFUSED, True)
            spans.end_with_error(self.span, refusal, type(refusal).__name__)
            return refusal
        return None

    @guarded(None)
    def activate(self) -> None:
        """Make the span current while the SDK sends the request (HTTP spans become its children)."""
        self._ctx_token = context.attach(trace.set_span_in_context(self.span))

    @guarded(None)
    def deactivate(self) -> None:
        token, self._ctx_token = self._ctx_token, None
        if token is not None:
            context.detach(token)  # type: ignore[arg-type]

    # -- outcomes -------------------------------------------------------------------------------
    @guarded(None)
    def fail(self, exc: BaseException) -> None:
        """The request failed: ``error.type`` (the API's error type), status ERROR, end."""
        spans.end_with_error(self.span, exc, error_type(exc))

    def record_message(self, message: Any) -> None:
        """Record a complete message (model or decoded JSON) and end the span (whatever happens)."""
        try:
            attrs = response_attributes(message)
            usage = field(message, "usage")
            if usage is not None:
                attrs.update(Usage.of(usage).attributes())
            else:
                attrs[semconv.USAGE_UNAVAILABLE] = True
            if self.capture:
                output = content.output_messages(field(message, "content"), field(message, "stop_reason"))
                attrs[semconv.OUTPUT_MESSAGES] = output
            self.span.set_attributes(attrs)
            self.span.set_status(Status(StatusCode.OK))
        finally:
            self.span.end()

    def record_raw(self, raw: Any) -> None:
        """A ``with_raw_response`` result: read usage from the body if the SDK has read it already.

        A body still unread (raw streams, ``with_streaming_response``) is the caller's to consume:
        the span says usage is unavailable rather than reading it.
        """
        try:
            http = getattr(raw, "http_response", None)
            media = str(getattr(http, "headers", {}).get("content-type", "")).split(";")[0].strip().lower()
            if http is not None and getattr(http, "is_closed", False) and media == "application/json":
                message = http.json()
            else:
                message = None
        except Exception:
            self.span.end()
            raise
        if message is not None:
            self.record_message(message)
            return
        self.span.set_attribute(semconv.USAGE_UNAVAILABLE, True)
        self.span.end()


def response_attributes(message: Any) -> dict[str, AttributeValue]:
    """``gen_ai.response.id``/``model``/``finish_reasons`` of a message or a ``message_start``'s message."""
    attrs: dict[str, AttributeValue] = {}
    for key, name in ((semconv.RESPONSE_ID, "id"), (semconv.RESPONSE_MODEL, "model")):
        value = field(message, name)
        if isinstance(value, str):
            attrs[key] = value
    stop = field(message, "stop_reason")
    if isinstance(stop, str):
        attrs[semconv.RESPONSE_FINISH_REASONS] = (stop,)
    return attrs
