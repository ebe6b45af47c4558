"""Environment variables read by the instrumentation. Code imports these names, never literals."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from typing import Any, Final, Generic, TypeVar

_logger = logging.getLogger(__name__)

OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT: Final = "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"
"""``true`` records prompt and response content on spans. Default ``false``: no content is recorded."""

GENAI_COST_OPENAI_INCLUDE_USAGE: Final = "GENAI_COST_OPENAI_INCLUDE_USAGE"
"""Whether to add ``stream_options.include_usage`` to OpenAI streams that did not ask for it.

``auto`` (default): on for endpoints known to support it (OpenAI, Azure OpenAI and compatible
providers that document it), off for unknown OpenAI-compatible servers. ``true``/``false`` force it.
A caller's explicit ``stream_options`` always wins."""

GENAI_COST_ENFORCE: Final = "GENAI_COST_ENFORCE"
"""``true`` refuses calls in scopes that are over budget (asks the processor; fail-open). Default ``false``."""

GENAI_COST_PROCESSOR_URL: Final = "GENAI_COST_PROCESSOR_URL"
"""Base URL of the processor's HTTP API (e.g. ``http://localhost:9464``), used by enforcement."""

_TRUE = frozenset({"true", "1", "yes", "on"})
_FALSE = frozenset({"false", "0", "no", "off", ""})


def env_flag(name: str, default: bool = False) -> bool:
    """A boolean env var; a bad value is logged and replaced by the default."""
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    _logger.warning("%s=%r is not a boolean; using %s", name, raw, default)
    return default


def env_choice(name: str, choices: tuple[str, ...], default: str) -> str:
    """An env var restricted to ``choices``; a bad value is logged and replaced by the default."""
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in choices:
        return value
    _logger.warning("%s=%r is not one of %s; using %r", name, raw, ", ".join(choices), default)
    return default


T = TypeVar("T")

_UNREAD: Final = object()
_ENVIRON: Final = os.environ
# CPython keeps the process environment in ``os.environ._data`` (encoded key -> encoded value);
# reading it directly costs a dict look-up instead of ``os.environ.get``'s encode-and-KeyError path.
_ENV_DATA: Final[Any] = getattr(_ENVIRON, "_data", None)
_ENCODE_KEY: Final[Any] = getattr(_ENVIRON, "encodekey", None)


class CachedEnv(Generic[T]):
    """An env var read on every call but parsed only when its raw value changes.

    Settings stay live (an app or a test may change the environment at any time), while the
    per-call cost is one dict look-up and an identity check. A bad value is logged once.
    """

    __slots__ = ("_key", "_name", "_parse", "_raw", "_value")

    def __init__(self, name: str, parse: Callable[[str], T]) -> None:
        self._name = name
        self._parse = parse
        self._key: Any = _ENCODE_KEY(name) if isinstance(_ENV_DATA, dict) and callable(_ENCODE_KEY) else None
        self._raw: object = _UNREAD
        self._value: Any = None

    def __call__(self) -> T:
        if self._key is not None and os.environ is _ENVIRON:
            raw = _ENV_DATA.get(self._key)
        else:  # os.environ replaced, or not CPython's mapping
            raw = os.environ.get(self._name)
        if raw is not self._raw:
            # Keep the raw object itself: while we hold it, an unchanged value is the same object.
            self._value = self._parse(self._name)
            self._raw = raw
        return self._value  # type: ignore[no-any-return]


capture_content: Final[CachedEnv[bool]] = CachedEnv(OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT, env_flag)
"""``capture_content()``: whether message content may be recorded (live: follows the environment)."""
