"""Wrapper factories for ``wrapt.wrap_function_wrapper``: one span per SDK call.

Only ``wrapped(*args, **kwargs)`` (and a budget refusal, by design) may raise to the caller; every
telemetry step runs through the guard.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, cast

from opentelemetry import context, trace
from opentelemetry.instrumentation.utils import is_instrumentation_enabled
from opentelemetry.trace import Status, StatusCode, Tracer

from genai_cost.instrumentation.core import enforcement, semconv
from genai_cost.instrumentation.core.guard import guarded, run_guarded
from genai_cost.instrumentation.openai.calls import RESPONSES, CallSpan, Operation, start_call
from genai_cost.instrumentation.openai.raw import AsyncRawResponse, RawResponse
from genai_cost.instrumentation.openai.streams import ChatStream, ResponsesStream

Wrapper = Callable[[Callable[..., Any], Any, tuple[Any, ...], dict[str, Any]], Any]


@dataclass(frozen=True, slots=True)
class SdkTypes:
    """SDK classes the wrappers recognise results by (resolved once, at instrument time)."""

    streams: tuple[type, ...]  # Stream, AsyncStream
    eager_raw: tuple[type, ...]  # LegacyAPIResponse: body already read, parsed at once
    lazy_raw: tuple[type, ...]  # APIResponse: parsed when the caller parses
    async_raw: tuple[type, ...]  # AsyncAPIResponse
    not_given: tuple[type, ...]  # NotGiven, Omit sentinels


_NO_CALL: CallSpan | None = None
_NO_REFUSAL: enforcement.BudgetExceededError | None = None
_NO_TOKEN: object | None = None


@guarded(_NO_CALL)
def _start(tracer: Tracer, op: Operation, instance: Any, kwargs: dict[str, Any], types: SdkTypes) -> CallSpan | None:
    return start_call(tracer, op, instance, kwargs, types.not_given)


@guarded(_NO_REFUSAL)
def _check_budget(call: CallSpan) -> enforcement.BudgetExceededError | None:
    try:
        enforcement.check_call(call.provider, call.request_model)
    except enforcement.BudgetExceededError as refusal:
        return refusal
    return None


@guarded(None)
def _refuse(call: CallSpan, refusal: enforcement.BudgetExceededError) -> None:
    call.span.set_attribute(semconv.BUDGET_REFUSED, True)
    call.span.set_attribute(semconv.ERROR_TYPE, "BudgetExceededError")
    call.span.set_status(Status(StatusCode.ERROR, str(refusal)[:500] or "BudgetExceededError"))
    call.ended = True
    call.span.end()


@guarded(_NO_TOKEN)
def _activate(call: CallSpan) -> object:
    return context.attach(trace.set_span_in_context(call.span))


@guarded(None)
def _deactivate(token: object) -> None:
    if token is not None:
        context.detach(token)  # type: ignore[arg-type]


@guarded(None)
def _fail(call: CallSpan, exc: BaseException) -> None:
    call.end_error(exc)


def _finish(call: CallSpan, result: Any, types: SdkTypes) -> Any:
    """Record the outcome; return what the caller gets (the result, or a proxy over it)."""
    try:
        if isinstance(result, types.streams):
            return (ResponsesStream if call.op.api == RESPONSES else ChatStream)(result, call)
        if isinstance(result, types.eager_raw):
            parsed = cast(Any, result).parse()
            if isinstance(parsed, types.streams):
                return RawResponse(result, call, types.streams)
            call.end_result(parsed)
            return result
        if isinstance(result, types.async_raw):
            return AsyncRawResponse(result, call, types.streams)
        if isinstance(result, types.lazy_raw):
            return RawResponse(result, call, types.streams)
        call.end_result(result)
        return result
    except BaseException:
        if not call.ended:
            call.end_ok({semconv.USAGE_UNAVAILABLE: True})
        raise


def sync_wrapper(tracer: Tracer, op: Operation, types: SdkTypes) -> Wrapper:
    """Wrapper factory for a synchronous SDK method (``create``, ``parse``)."""

    def wrapper(wrapped: Callable[..., Any], instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        if not is_instrumentation_enabled():
            return wrapped(*args, **kwargs)
        call = _start(tracer, op, instance, kwargs, types)
        if call is None:
            return wrapped(*args, **kwargs)
        refusal = _check_budget(call)
        if refusal is not None:
            _refuse(call, refusal)
            raise refusal
        token = _activate(call)
        try:
            result = wrapped(*args, **call.kwargs)
        except BaseException as exc:
            _deactivate(token)
            _fail(call, exc)
            raise
        _deactivate(token)
        return run_guarded(_finish, call, result, types, default=result)

    return wrapper


def async_wrapper(tracer: Tracer, op: Operation, types: SdkTypes) -> Callable[..., Awaitable[Any]]:
    """Wrapper factory for a coroutine SDK method (``AsyncCompletions.create``, ...)."""

    async def wrapper(
        wrapped: Callable[..., Awaitable[Any]], instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> Any:
        if not is_instrumentation_enabled():
            return await wrapped(*args, **kwargs)
        call = _start(tracer, op, instance, kwargs, types)
        if call is None:
            return await wrapped(*args, **kwargs)
        refusal = _check_budget(call)
        if refusal is not None:
            _refuse(call, refusal)
            raise refusal
        token = _activate(call)
        try:
            result = await wrapped(*args, **call.kwargs)
        except BaseException as exc:
            _deactivate(token)
            _fail(call, exc)
            raise
        _deactivate(token)
        return run_guarded(_finish, call, result, types, default=result)

    return wrapper
