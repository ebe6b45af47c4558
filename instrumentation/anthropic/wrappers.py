"""Wrapper factories for ``SyncAPIClient.request`` / ``AsyncAPIClient.request`` (the messages choke point).

Every way of creating a message goes through the client's ``request`` exactly once per call
(retries happen inside it): ``messages.create`` (JSON or ``stream=True``), the ``.stream()``
helper (which posts directly and never calls ``create``), ``messages.parse``,
``with_raw_response``/``with_streaming_response``, the beta messages API and the Bedrock/Vertex
clients. Wrapping there gives each call exactly one span whatever surface the caller used; any
other request passes straight through. ``request`` is looked up on the client at every call (unlike
``post``, which API resources bind when they are created), so instrumenting and uninstrumenting
take effect on clients that already exist.

Only ``wrapped(*args, **kwargs)`` may raise to the caller (and a budget refusal, by design);
every telemetry step goes through the guard.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from opentelemetry.instrumentation.utils import is_instrumentation_enabled
from opentelemetry.trace import Tracer

from genai_cost.instrumentation.anthropic import legacy_helper, sdk_spans
from genai_cost.instrumentation.anthropic.calls import MessagesCall, messages_request
from genai_cost.instrumentation.anthropic.streams import MessageEventStream
from genai_cost.instrumentation.core.guard import run_guarded

Wrapper = Callable[[Callable[..., Any], Any, tuple[Any, ...], dict[str, Any]], Any]


def _begin(tracer: Tracer, client: Any, body: Mapping[str, Any], kwargs: Mapping[str, Any]) -> MessagesCall | None:
    if not is_instrumentation_enabled():
        return None
    return MessagesCall.start(tracer, client, body, kwargs.get("stream") is True)


def _finish(call: MessagesCall, result: Any, stream: bool) -> Any:
    """Record the result; a stream is returned wrapped in the proxy that ends the span later."""
    if hasattr(result, "http_response"):  # with_raw_response / with_streaming_response
        call.record_raw(result)
        return result
    if stream:
        proxy = MessageEventStream(result, call)
        if legacy_helper.installed:
            legacy_helper.remember(proxy)
        return proxy
    call.record_message(result)
    return result


def sync_request(tracer: Tracer) -> Wrapper:
    """Factory: the wrapper of ``SyncAPIClient.request``."""

    def wrapper(wrapped: Callable[..., Any], instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        body = run_guarded(messages_request, args, kwargs)
        if body is None:
            return wrapped(*args, **kwargs)
        token = run_guarded(sdk_spans.claim)
        try:
            call = run_guarded(_begin, tracer, instance, body, kwargs)
            if call is None:
                return wrapped(*args, **kwargs)
            refusal = call.check_budget()
            if refusal is not None:
                raise refusal
            call.activate()
            try:
                result = wrapped(*args, **kwargs)
            except BaseException as exc:
                call.fail(exc)
                raise
            finally:
                call.deactivate()
            return run_guarded(_finish, call, result, kwargs.get("stream") is True, default=result)
        finally:
            if token is not None:
                run_guarded(sdk_spans.release, token)

    return wrapper


def async_request(tracer: Tracer) -> Wrapper:
    """Factory: the wrapper of ``AsyncAPIClient.request`` (a coroutine function)."""

    async def wrapper(
        wrapped: Callable[..., Awaitable[Any]], instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> Any:
        body = run_guarded(messages_request, args, kwargs)
        if body is None:
            return await wrapped(*args, **kwargs)
        token = run_guarded(sdk_spans.claim)
        try:
            call = run_guarded(_begin, tracer, instance, body, kwargs)
            if call is None:
                return await wrapped(*args, **kwargs)
            refusal = call.check_budget()
            if refusal is not None:
                raise refusal
            call.activate()
            try:
                result = await wrapped(*args, **kwargs)
            except BaseException as exc:
                call.fail(exc)
                raise
            finally:
                call.deactivate()
            return run_guarded(_finish, call, result, kwargs.get("stream") is True, default=result)
        finally:
            if token is not None:
                run_guarded(sdk_spans.release, token)

    return wrapper
