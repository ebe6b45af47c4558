"""Drop the usage-only chunk we asked for before the SDK builds a model object from it.

When the instrumentation adds ``stream_options.include_usage`` itself, the provider sends one more
chunk (``"choices": []`` plus ``usage``) that the caller must not see. Letting the SDK parse it
into a ``ChatCompletionChunk`` and dropping it afterwards costs as much as any chunk (the SDK's
model construction is the dominant per-chunk cost). Instead, the SDK stream's source of
server-sent events (``Stream._iter_events``, called lazily when iteration starts) is replaced, on
that one stream object, by a filter: an event whose data contains ``"choices":[]`` is decoded
here, and if it is the usage-only chunk its JSON body goes to a callback and the event is not
passed on. Every other event reaches the SDK untouched.

Where the SDK's stream does not have that shape, nothing is installed and the stream proxy drops
the parsed chunk instead (same result for the caller, one chunk's parsing dearer).
"""

from __future__ import annotations

import inspect
import json
import weakref
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any, Final

from genai_cost.instrumentation.core.guard import report

try:  # the same JSON, decoded faster, when orjson is installed
    from orjson import loads as _loads
except ImportError:  # pragma: no cover - depends on the environment
    _loads = json.loads

UsageCallback = Callable[[dict[str, Any]], None]

# The usage-only chunk has an empty choices list; compact JSON (OpenAI, Azure) or spaced.
_MARKERS: Final = ('"choices":[]', '"choices": []')
_SITE: Final = f"{__name__}.usage_only"


def usage_only(sse: Any, on_usage: UsageCallback) -> bool:
    """If ``sse`` is the usage-only chunk, hand its JSON body to ``on_usage`` and return True.

    Anything else (another chunk, an event that is not a chat chunk, an error payload, data that
    does not decode) returns False: the event goes on to the SDK as usual.
    """
    data = sse.data
    if not (_MARKERS[0] in data or _MARKERS[1] in data):
        return False
    try:
        if sse.event is not None:
            return False
        body = _loads(data)
        if (
            body.__class__ is not dict
            or body.get("choices") != []
            or body.get("usage").__class__ is not dict
            or body.get("error")
        ):
            return False  # e.g. Azure's first chunk (prompt filter results, no usage)
        on_usage(body)
        return True
    except Exception:
        report(_SITE)
        return False


def _filtered(events: Iterator[Any], on_usage: UsageCallback) -> Iterator[Any]:
    try:
        for sse in events:
            if not usage_only(sse, on_usage):
                yield sse
    finally:
        events.close()  # type: ignore[attr-defined]


async def _afiltered(events: AsyncIterator[Any], on_usage: UsageCallback) -> AsyncIterator[Any]:
    try:
        async for sse in events:
            if not usage_only(sse, on_usage):
                yield sse
    finally:
        await events.aclose()  # type: ignore[attr-defined]


def install(stream: Any, on_usage: UsageCallback) -> bool:
    """Filter the usage-only chunk out of ``stream``'s events before the SDK parses them.

    ``stream`` is an SDK ``Stream``/``AsyncStream`` not yet iterated. Returns whether the filter
    was installed (False: unknown shape). Either way the stream proxy still drops a usage-only
    chunk that reaches it, so a filter the SDK never calls costs nothing but that chunk's parsing.
    """
    if "_iter_events" in getattr(stream, "__dict__", ()):
        return False  # already replaced (by us or someone else): leave it alone
    method = getattr(type(stream), "_iter_events", None)
    if inspect.isgeneratorfunction(method):
        wrap: Callable[[Any, UsageCallback], Any] = _filtered
    elif inspect.isasyncgenfunction(method):
        wrap = _afiltered
    else:
        return False
    # A weak reference: the stream holding a closure over itself would be a reference cycle,
    # leaving every stream (and its response) to the garbage collector instead of freeing it.
    ref = weakref.ref(stream)

    def events() -> Any:
        return wrap(method(ref()), on_usage)

    stream._iter_events = events
    return True
