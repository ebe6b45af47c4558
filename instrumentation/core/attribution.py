"""Attribution: who a call is for (agent, session, end user, free tags).

Set it once around a unit of work with :func:`attribute_to`, as a context manager or a decorator
(sync or async). It is carried in OpenTelemetry baggage, so it crosses process boundaries through
W3C ``baggage`` headers, and every LLM span started inside copies it as attributes::

    with attribute_to(agent="support-bot", session=ticket_id, user=user_id, tags={"team": "care"}):
        client.chat.completions.create(...)

    @attribute_to(agent="billing-agent")
    async def run(): ...

Nested scopes inherit and override field by field; tags are merged.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, TypeVar

from opentelemetry import baggage, context

from genai_cost.instrumentation.core import semconv

F = TypeVar("F", bound=Callable[..., Any])

_FIELDS: dict[str, str] = {
    "agent": semconv.AGENT_NAME,
    "agent_id": semconv.AGENT_ID,
    "session": semconv.CONVERSATION_ID,
    "user": semconv.ENDUSER_ID,
}
_KEYS = frozenset(_FIELDS.values())


@dataclass(frozen=True, slots=True)
class Attribution:
    """The attribution in force for the current context."""

    agent: str | None = None
    agent_id: str | None = None
    session: str | None = None
    user: str | None = None
    tags: Mapping[str, str] = field(default_factory=dict)


class attribute_to:
    """Context manager and decorator that attributes the LLM calls made inside it."""

    def __init__(
        self,
        *,
        agent: str | None = None,
        agent_id: str | None = None,
        session: str | None = None,
        user: str | None = None,
        tags: Mapping[str, object] | None = None,
    ) -> None:
        entries: dict[str, str] = {}
        for name, value in (("agent", agent), ("agent_id", agent_id), ("session", session), ("user", user)):
            if value is not None:
                entries[_FIELDS[name]] = str(value)
        for key, tag in (tags or {}).items():
            if tag is not None:
                entries[semconv.TAG_PREFIX + str(key)] = str(tag)
        self._entries = entries
        self._tokens: list[object] = []

    def _attach(self) -> None:
        ctx = context.get_current()
        for key, value in self._entries.items():
            ctx = baggage.set_baggage(key, value, ctx)
        self._tokens.append(context.attach(ctx))

    def _detach(self) -> None:
        context.detach(self._tokens.pop())  # type: ignore[arg-type]

    def __enter__(self) -> attribute_to:
        self._attach()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._detach()

    async def __aenter__(self) -> attribute_to:
        return self.__enter__()

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.__exit__(exc_type, exc, tb)

    def __call__(self, fn: F) -> F:
        entries = self._entries
        if inspect.iscoroutinefunction(fn):

            @functools.wraps(fn)
            async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
                with _Scope(entries):
                    return await fn(*args, **kwargs)

            return async_wrapper  # type: ignore[return-value]

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with _Scope(entries):
                return fn(*args, **kwargs)

        return wrapper  # type: ignore[return-value]


class _Scope(attribute_to):
    """A fresh scope per decorated call (decorated functions may run concurrently)."""

    def __init__(self, entries: dict[str, str]) -> None:
        self._entries = entries
        self._tokens = []


# The API keeps the baggage as a plain dict under this context key; reading it directly skips
# ``baggage.get_all``'s read-only view (the common case, no baggage at all, is one dict look-up).
_BAGGAGE_CONTEXT_KEY: str | None = getattr(baggage, "_BAGGAGE_KEY", None)


def _baggage(ctx: context.Context | None) -> Mapping[str, object]:
    if _BAGGAGE_CONTEXT_KEY is not None:
        raw = context.get_value(_BAGGAGE_CONTEXT_KEY, ctx)
        if raw is None or isinstance(raw, dict):
            return raw or {}
    return baggage.get_all(ctx)


def add_span_attributes(attrs: dict[str, Any], ctx: context.Context | None = None) -> None:
    """Add the attribution of ``ctx`` (default: current) to ``attrs`` (a span's attribute dict)."""
    entries = _baggage(ctx)
    if entries:
        for key, value in entries.items():
            if key in _KEYS or key.startswith(semconv.TAG_PREFIX):
                attrs[key] = str(value)


def span_attributes(ctx: context.Context | None = None) -> dict[str, str]:
    """The attribution of ``ctx`` (default: current) as span attributes."""
    out: dict[str, str] = {}
    add_span_attributes(out, ctx)
    return out


def current_attribution(ctx: context.Context | None = None) -> Attribution:
    """The attribution in force, as a plain value (used by budget enforcement)."""
    attrs = span_attributes(ctx)
    tags = {k[len(semconv.TAG_PREFIX) :]: v for k, v in attrs.items() if k.startswith(semconv.TAG_PREFIX)}
    return Attribution(
        agent=attrs.get(semconv.AGENT_NAME),
        agent_id=attrs.get(semconv.AGENT_ID),
        session=attrs.get(semconv.CONVERSATION_ID),
        user=attrs.get(semconv.ENDUSER_ID),
        tags=tags,
    )
