"""Wrapper factories for ``wrapt.wrap_function_wrapper``: one span per SDK call.

Only ``wrapped(*args, **kwargs)`` (and a budget refusal, by design) may raise to the caller; every
telemetry step runs through the guard.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Final, cast

from opentelemetry import context, trace
from opentelemetry.instrumentation.utils import is_instrumentation_enabled
from opentelemetry.trace import Status, StatusCode, Tracer

from genai_cost.instrumentation.core import enforcement, semconv
from genai_cost.instrumentation.core.guard import report, run_guarded
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
    models: tuple[type, ...] = ()  # the SDK's BaseModel: a parsed response object


_SITE_START: Final = f"{__name__}._start"
_SITE_CHECK_BUDGET: Final = f"{__name__}._check_budget"
_SITE_ACTIVATE: Final = f"{__name__}._activate"
_SITE_DEACTIVATE: Final = f"{__name__}._deactivate"
_SITE_FINISH: Final = f"{__name__}._finish"


def _refuse(call: CallSpan, refusal: enforcement.BudgetExceededError) -> None:
    call.span.set_attribute(semconv.BUDGET_REFUSED, True)
    call.span.set_attribute(semconv.ERROR_TYPE, "BudgetExceededError")
    call.span.set_status(Status(StatusCode.ERROR, str(refusal)[:500] or "BudgetExceededError"))
    call.ended = True
    call.span.end()


def _fail(call: CallSpan, exc: BaseException) -> None:
    call.end_error(exc)


def _finish(call: CallSpan, result: Any, types: SdkTypes) -> Any:
    """Record the outcome; return what the caller gets (the result, or a proxy over it)."""
    try:
        if isinstance(result, types.models):  # a parsed response: the common case, decided first
            call.end_result(result)
            return result
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


# The wrappers below run on every SDK call, so each telemetry step is guarded inline
# (``try``/``except Exception`` + ``guard.report``) rather than through a decorated helper: the
# same guarantee (only ``wrapped(...)`` and a budget refusal reach the caller) without a Python
# call per step on the happy path.


def _before(
    tracer: Tracer, op: Operation, instance: Any, kwargs: dict[str, Any], types: SdkTypes
) -> tuple[CallSpan | None, object]:
    """Start the call's span, check the budget (raising a refusal), make the span current."""
    try:
        call = start_call(tracer, op, instance, kwargs, types.not_given)
    except Exception:
        report(_SITE_START)
        return None, None
    refusal: enforcement.BudgetExceededError | None = None
    try:
        enforcement.check_call(call.provider, call.request_model)
    except enforcement.BudgetExceededError as exc:
        refusal = exc
    except Exception:
        report(_SITE_CHECK_BUDGET)
    if refusal is not None:
        run_guarded(_refuse, call, refusal)
        raise refusal
    try:
        token = context.attach(trace.set_span_in_context(call.span))
    except Exception:
        report(_SITE_ACTIVATE)
        token = None
    return call, token


def _after(call: CallSpan, token: object, result: Any, types: SdkTypes) -> Any:
    if token is not None:
        try:
            context.detach(token)  # type: ignore[arg-type]
        except Exception:
            report(_SITE_DEACTIVATE)
    try:
        return _finish(call, result, types)
    except Exception:
        report(_SITE_FINISH)
        return result


def _failed(call: CallSpan, token: object, exc: BaseException) -> None:
    if token is not None:
        try:
            context.detach(token)  # type: ignore[arg-type]
        except Exception:
            report(_SITE_DEACTIVATE)
    run_guarded(_fail, call, exc)


def sync_wrapper(tracer: Tracer, op: Operation, types: SdkTypes) -> Wrapper:
    """Wrapper factory for a synchronous SDK method (``create``, ``parse``)."""

    def wrapper(wrapped: Callable[..., Any], instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        if not is_instrumentation_enabled():
            return wrapped(*args, **kwargs)
        call, token = _before(tracer, op, instance, kwargs, types)
        if call is None:
            return wrapped(*args, **kwargs)
        try:
            result = wrapped(*args, **call.kwargs)
        except BaseException as exc:
            _failed(call, token, exc)
            raise
        return _after(call, token, result, types)

    return wrapper


def async_wrapper(tracer: Tracer, op: Operation, types: SdkTypes) -> Callable[..., Awaitable[Any]]:
    """Wrapper factory for a coroutine SDK method (``AsyncCompletions.create``, ...)."""

    async def wrapper(
        wrapped: Callable[..., Awaitable[Any]], instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> Any:
        if not is_instrumentation_enabled():
            return await wrapped(*args, **kwargs)
        call, token = _before(tracer, op, instance, kwargs, types)
        if call is None:
            return await wrapped(*args, **kwargs)
        try:
            result = await wrapped(*args, **call.kwargs)
        except BaseException as exc:
            _failed(call, token, exc)
            raise
        return _after(call, token, result, types)

    return wrapper
