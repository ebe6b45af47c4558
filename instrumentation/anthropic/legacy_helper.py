"""The ``.stream()`` helper of older anthropic SDKs, which rebuilds the raw stream it was given.

Before the helper took the raw stream as it is (``MessageStream(raw_stream)``), its
``MessageStream(cast_to=..., response=..., client=...)`` built a *new* ``Stream`` over the same
HTTP response and dropped the one ``request`` returned, which is our proxy. On those versions we
wrap ``MessageStream.__init__`` (sync and async): the proxy left a weak reference to itself on the
response, and the helper's new stream is handed over to a proxy for the same call, so its span
still sees every event and ends once.
"""

from __future__ import annotations

import inspect
import weakref
from typing import Any, Final

from genai_cost.instrumentation.anthropic.streams import MessageEventStream
from genai_cost.instrumentation.core.guard import run_guarded

MODULE: Final = "anthropic.lib.streaming._messages"
CLASSES: Final = ("MessageStream", "AsyncMessageStream")
_ATTR: Final = "_genai_cost_stream"

installed = False
"""Set by the instrumentor while the shim is in place."""


def needs_shim(cls: type[Any]) -> bool:
    """Whether this helper class rebuilds its stream from the response (older SDKs)."""
    params = inspect.signature(cls.__init__).parameters
    return "response" in params and "raw_stream" not in params


def remember(stream: MessageEventStream) -> None:
    """Leave a weak reference to the proxy on the HTTP response its stream reads."""
    response = getattr(stream.__wrapped__, "response", None)
    if response is not None:
        setattr(response, _ATTR, weakref.ref(stream))


def _adopt(helper: Any) -> None:
    response = getattr(helper, "response", None)
    ref = getattr(response, _ATTR, None)
    old = ref() if ref is not None else None
    raw = getattr(helper, "_raw_stream", None)
    if not isinstance(old, MessageEventStream) or raw is None or isinstance(raw, MessageEventStream):
        return
    old._self_finalized = True  # the dropped proxy must not end the span when collected
    helper._raw_stream = MessageEventStream(raw, old._self_call)
    delattr(response, _ATTR)


def init_wrapper(wrapped: Any, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    """Wrapper of ``MessageStream.__init__``: hand the helper's stream to the call's proxy."""
    wrapped(*args, **kwargs)
    run_guarded(_adopt, instance)
