"""Starting and finishing the one CLIENT span each LLM call gets."""

from __future__ import annotations

from collections.abc import Mapping

from opentelemetry.trace import Span, SpanKind, Status, StatusCode, Tracer
from opentelemetry.util.types import AttributeValue

from genai_cost.instrumentation.core import attribution, semconv


def start_llm_span(
    tracer: Tracer,
    *,
    operation: str,
    provider: str,
    request_model: str | None,
    server_address: str | None = None,
    server_port: int | None = None,
    stream: bool | None = None,
    extra: Mapping[str, AttributeValue] | None = None,
) -> Span:
    """Start the call's span (not made current): ``"{operation} {model}"``, kind CLIENT.

    Attribution from baggage (agent, session, user, tags) is copied onto it.
    """
    attrs: dict[str, AttributeValue] = {
        semconv.OPERATION_NAME: operation,
        semconv.PROVIDER_NAME: provider,
    }
    if request_model:
        attrs[semconv.REQUEST_MODEL] = request_model
    if server_address:
        attrs[semconv.SERVER_ADDRESS] = server_address
    if server_port is not None:
        attrs[semconv.SERVER_PORT] = server_port
    if stream is not None:
        attrs[semconv.REQUEST_STREAM] = stream
    if extra:
        attrs.update(extra)
    name = f"{operation} {request_model}" if request_model else operation
    return start_client_span(tracer, name, attrs)


def start_client_span(tracer: Tracer, name: str, attrs: dict[str, AttributeValue]) -> Span:
    """Start a CLIENT span (not made current) with ``attrs`` plus the attribution from baggage.

    The lower-level form of :func:`start_llm_span` for hot paths that build their attribute dict
    themselves: it is extended in place and passed whole to ``start_span`` (no per-attribute calls).
    """
    attribution.add_span_attributes(attrs)
    return tracer.start_span(name, kind=SpanKind.CLIENT, attributes=attrs)


def usage_attributes(
    *,
    input_tokens: int | None,
    output_tokens: int | None,
    cache_read: int | None = None,
    cache_write: int | None = None,
    reasoning: int | None = None,
) -> dict[str, AttributeValue]:
    """Token usage as span attributes, the semconv way (input includes cached input, output
    includes reasoning); values that are not ints are left out, never invented."""
    out: dict[str, AttributeValue] = {}
    for key, value in (
        (semconv.USAGE_INPUT_TOKENS, input_tokens),
        (semconv.USAGE_OUTPUT_TOKENS, output_tokens),
        (semconv.USAGE_CACHE_READ_INPUT_TOKENS, cache_read),
        (semconv.USAGE_CACHE_WRITE_INPUT_TOKENS, cache_write),
        (semconv.USAGE_REASONING_OUTPUT_TOKENS, reasoning),
    ):
        if isinstance(value, int) and not isinstance(value, bool):
            out[key] = value
    return out


def set_usage(
    span: Span,
    *,
    input_tokens: int | None,
    output_tokens: int | None,
    cache_read: int | None = None,
    cache_write: int | None = None,
    reasoning: int | None = None,
) -> None:
    """Record token usage the semconv way: input includes cached input, output includes reasoning."""
    attrs = usage_attributes(
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        cache_read=cache_read,
        cache_write=cache_write,
        reasoning=reasoning,
    )
    if attrs:
        span.set_attributes(attrs)


def error_type_of(exc: BaseException) -> str:
    """The API's error type when the SDK exposes one (e.g. ``rate_limit_error``), else the class name."""
    api_type = getattr(exc, "type", None)
    if isinstance(api_type, str) and api_type:
        return api_type
    return type(exc).__qualname__


def end_with_error(span: Span, exc: BaseException, error_type: str | None = None) -> None:
    """Mark the span failed (``error.type``, status ERROR) and end it."""
    etype = error_type or error_type_of(exc)
    span.set_attribute(semconv.ERROR_TYPE, etype)
    span.set_status(Status(StatusCode.ERROR, str(exc)[:500] or etype))
    span.end()
