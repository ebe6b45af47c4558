"""Drop the usage-only chunk we asked for before the SDK builds a model object from it.

When the instrumentation adds ``stream_options.include_usage`` itself, the provider sends one more
chunk (``"choices": []`` plus ``usage``, right before ``[DONE]``) that the caller must not see.
Letting the SDK parse it into a ``ChatCompletionChunk`` and dropping it afterwards costs as much as
any chunk (the SDK's model construction is the dominant per-chunk cost). Instead, the SDK stream's
source of server-sent events (``Stream._iter_events``, called lazily when iteration starts) is
replaced, on that one stream object, by a filter.

Per event the filter does almost nothing: it looks only once the stream proxy has seen a finish
reason (the sink's ``armed`` flag), as the usage chunk comes after every choice has finished.
Then an event whose data has an empty ``choices`` list is decoded here; if it is the usage-only
chunk its JSON body goes to the sink and the event is not passed on. Every other event reaches the
SDK untouched.

Where the SDK's stream does not have that shape, nothing is installed; and whatever the filter
lets through, the stream proxy still drops a parsed usage-only chunk. The caller sees the same
chunks either way; only the cost differs.
"""

from __future__ import annotations

import inspect
import json
import weakref
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any, Final, Protocol

from genai_cost.instrumentation.core.guard import report

_loads: Callable[[str], Any]
try:  # the same JSON, decoded faster, when orjson is installed
    from orjson import loads as _loads
except ImportError:  # pragma: no cover - depends on the environment
    _loads = json.loads


class UsageSink(Protocol):
    """Where the hidden usage goes: the stream proxy's state."""

    armed: bool  # set once a finish reason was seen: the usage chunk may come next

    def hidden_usage(self, body: dict[str, Any]) -> None: ...


# The usage-only chunk has an empty choices list; compact JSON (OpenAI, Azure) or spaced.
_MARKERS: Final = ('"choices":[]', '"choices": []')
_SITE: Final = f"{__name__}.usage_only"


def usage_only(sse: Any, sink: UsageSink) -> bool:
    """If ``sse`` is the usage-only chunk, hand its JSON body to ``sink`` and return True.

    Anything else (another chunk, an event that is not a chat chunk, an error payload, data that
    does not decode) returns False: the event goes on to the SDK as usual.
    """
    try:
        data = sse.data
        if not (_MARKERS[0] in data or _MARKERS[1] in data) or sse.event is not None:
            return False
        body = _loads(data)
        if (
            body.__class__ is not dict
            or body.get("choices") != []
            or body.get("usage").__class__ is not dict
            or body.get("error")
        ):
            return False  # e.g. Azure's first chunk (prompt filter results, no usage)
        sink.hidden_usage(body)
        return True
    except Exception:
        report(_SITE)
        return False


def _filtered(events: Iterator[Any], sink: UsageSink) -> Iterator[Any]:
    try:
        for sse in events:
            if sink.armed and usage_only(sse, sink):
                continue
            yield sse
    finally:
        close = getattr(events, "close", None)
        if close is not None:
            close()


async def _afiltered(events: AsyncIterator[Any], sink: UsageSink) -> AsyncIterator[Any]:
    try:
        async for sse in events:
            if sink.armed and usage_only(sse, sink):
                continue
            yield sse
    finally:
        aclose = getattr(events, "aclose", None)
        if aclose is not None:
            await aclose()


# Stream class -> the filter for its events (None: not a shape we know). Decided once per class.
_FILTERS: dict[type, Callable[[Any, UsageSink], Any] | None] = {}


def _filter_for(cls: type) -> Callable[[Any, UsageSink], Any] | None:
    try:
        return _FILTERS[cls]
    except KeyError:
        pass
    method = getattr(cls, "_iter_events", None)
    found: Callable[[Any, UsageSink], Any] | None = None
    if inspect.isgeneratorfunction(method):
        found = _filtered
    elif inspect.isasyncgenfunction(method):
        found = _afiltered
    _FILTERS[cls] = found
    return found


def install(stream: Any, sink: UsageSink) -> bool:
    """Filter the usage-only chunk out of ``stream``'s events before the SDK parses them.

    ``stream`` is an SDK ``Stream``/``AsyncStream`` not yet iterated. Returns whether the filter
    was installed (False: unknown shape, or ``_iter_events`` already replaced on the instance).
    """
    cls = type(stream)
    wrap = _filter_for(cls)
    if wrap is None or "_iter_events" in getattr(stream, "__dict__", ()):
        return False
    method = cls._iter_events  # type: ignore[attr-defined]
    # A weak reference: the stream holding a closure over itself would be a reference cycle,
    # leaving every stream (and its response) to the garbage collector instead of freeing it.
    ref = weakref.ref(stream)
    stream._iter_events = lambda: wrap(method(ref()), sink)
    return True
