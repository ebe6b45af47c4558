"""Environment variables read by the instrumentation. Code imports these names, never literals."""

from __future__ import annotations

import logging
import os
from typing import Final

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


def capture_content() -> bool:
    """Whether message content may be recorded (read per call so tests and apps can toggle it)."""
    return env_flag(OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT)
