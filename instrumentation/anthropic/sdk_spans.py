"""Keeping anthropic >= 2's own call span off the calls we instrument (one usage span per call).

anthropic 2.x traces every API call itself by default (``anthropic/_tracing.py``), with token
usage on its span. A client gets that tracer from its ``_tracer`` property, and a client whose
tracing is off (``open_telemetry=False`` or ``ANTHROPIC_OPEN_TELEMETRY=false``) has ``None``
there and sends the request on the SDK's untraced path. While instrumented, that property
answers ``None`` inside the messages calls we trace, so those calls take the SDK's own
"tracing off" path; every other call (files, batches, tool spans, ...) keeps the SDK's spans.
``uninstall`` puts the original property back. Older SDKs have no such property: nothing to do.
"""

from __future__ import annotations

from contextvars import ContextVar, Token
from typing import Any

_OURS: ContextVar[bool] = ContextVar("genai_cost_anthropic_call", default=False)


def claim() -> Token[bool]:
    """Mark the current context as inside a call we trace (the SDK then starts no span of its own)."""
    return _OURS.set(True)


def release(token: Token[bool]) -> None:
    _OURS.reset(token)


class SdkSpanSwitch:
    """Installs and removes the ``_tracer`` override on the SDK's ``BaseClient``."""

    def __init__(self) -> None:
        self._owner: type[Any] | None = None
        self._original: property | None = None

    @property
    def installed(self) -> bool:
        return self._owner is not None

    def install(self) -> bool:
        """Override ``BaseClient._tracer`` if this SDK has it; ``False`` when there is nothing to do."""
        if self._owner is not None:
            return True
        try:
            from anthropic._base_client import BaseClient
        except ImportError:
            return False
        original = BaseClient.__dict__.get("_tracer")
        if not isinstance(original, property) or original.fget is None:
            return False
        fget = original.fget

        def _tracer(client: Any) -> Any:
            if _OURS.get():
                return None
            return fget(client)

        owner: Any = BaseClient
        owner._tracer = property(_tracer, doc=original.__doc__)
        self._owner, self._original = owner, original
        return True

    def uninstall(self) -> None:
        """Restore the SDK's own ``_tracer`` property."""
        if self._owner is not None and self._original is not None:
            self._owner._tracer = self._original  # type: ignore[attr-defined]
        self._owner = self._original = None
