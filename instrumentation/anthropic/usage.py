"""Anthropic usage -> semconv token attributes (pure: plain values in, plain values out).

Anthropic's raw ``input_tokens`` excludes cache reads and cache writes; semconv's
``gen_ai.usage.input_tokens`` includes them, so ``input = input_tokens + cache_read + cache_write``.
Cache writes are split by TTL (5 minutes / 1 hour, priced differently) in extra attributes named
as the anthropic SDK's own spans name them.

Streams: ``message_start`` carries input and cache usage (and a placeholder ``output_tokens``);
``message_delta`` carries the cumulative ``output_tokens`` (never added to message_start's) and,
on the current API, the final input and cache counts too, which then replace message_start's.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from opentelemetry.util.types import AttributeValue

from genai_cost.instrumentation.core import semconv

CACHE_WRITE_5M: Final = "anthropic.usage.cache_creation.ephemeral_5m_input_tokens"
CACHE_WRITE_1H: Final = "anthropic.usage.cache_creation.ephemeral_1h_input_tokens"
SERVICE_TIER: Final = "anthropic.response.service_tier"
SPEED: Final = "anthropic.usage.speed"
INFERENCE_GEO: Final = "anthropic.usage.inference_geo"
SERVER_TOOL_USE_PREFIX: Final = "anthropic.usage.server_tool_use."
_MISSING: Final = object()


def field(obj: Any, name: str) -> Any:
    """``obj.name`` for SDK models, ``obj[name]`` for decoded JSON; ``None`` when absent."""
    if type(obj) is dict:  # decoded JSON
        return obj.get(name)
    value = getattr(obj, name, _MISSING)  # SDK models (and None)
    if value is not _MISSING:
        return value
    return obj.get(name) if isinstance(obj, Mapping) else None


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


@dataclass(slots=True)
class Usage:
    """Anthropic's own accounting of one call (``input_tokens`` excludes the cache)."""

    input_tokens: int | None = None
    cache_read: int | None = None
    cache_write: int | None = None
    cache_write_5m: int | None = None
    cache_write_1h: int | None = None
    output_tokens: int | None = None
    reasoning: int | None = None
    service_tier: str | None = None
    speed: str | None = None
    inference_geo: str | None = None
    server_tool_use: dict[str, int] | None = None

    @classmethod
    def of(cls, usage: Any) -> Usage:
        """Read a ``usage`` object (model or dict) of a message or a ``message_start``."""
        out = cls()
        out.update(usage)
        return out

    def update(self, usage: Any) -> None:
        """Overwrite with every field ``usage`` carries (a later event's values are final)."""
        if usage is None:
            return
        for name, attr in (
            ("input_tokens", "input_tokens"),
            ("cache_read_input_tokens", "cache_read"),
            ("cache_creation_input_tokens", "cache_write"),
            ("output_tokens", "output_tokens"),
        ):
            value = _int(field(usage, name))
            if value is not None:
                setattr(self, attr, value)
        split = field(usage, "cache_creation")
        if split is not None:
            five = _int(field(split, "ephemeral_5m_input_tokens"))
            hour = _int(field(split, "ephemeral_1h_input_tokens"))
            if five is not None:
                self.cache_write_5m = five
            if hour is not None:
                self.cache_write_1h = hour
        reasoning = _int(field(field(usage, "output_tokens_details"), "thinking_tokens"))
        if reasoning is not None:
            self.reasoning = reasoning
        for name in ("service_tier", "speed", "inference_geo"):
            value = field(usage, name)
            if isinstance(value, str):
                setattr(self, name, value)
        tools = field(usage, "server_tool_use")
        if tools is not None:
            counts = tools if isinstance(tools, Mapping) else _model_fields(tools)
            found = {str(k): v for k, v in counts.items() if _int(v) is not None}
            if found:
                self.server_tool_use = found

    @property
    def semconv_input_tokens(self) -> int | None:
        """Input the semconv way: uncached input plus cache reads plus cache writes."""
        if self.input_tokens is None:
            return None
        return self.input_tokens + (self.cache_read or 0) + (self.cache_write or 0)

    def attributes(self, *, with_output: bool = True) -> dict[str, AttributeValue]:
        """Span attributes; ``with_output=False`` leaves out output counts that are not final."""
        attrs: dict[str, AttributeValue] = {}
        values: tuple[tuple[str, int | None], ...] = (
            (semconv.USAGE_INPUT_TOKENS, self.semconv_input_tokens),
            (semconv.USAGE_CACHE_READ_INPUT_TOKENS, self.cache_read),
            (semconv.USAGE_CACHE_WRITE_INPUT_TOKENS, self.cache_write),
            (CACHE_WRITE_5M, self.cache_write_5m),
            (CACHE_WRITE_1H, self.cache_write_1h),
        )
        if with_output:
            values += (
                (semconv.USAGE_OUTPUT_TOKENS, self.output_tokens),
                (semconv.USAGE_REASONING_OUTPUT_TOKENS, self.reasoning),
            )
        for key, value in values:
            if value is not None:
                attrs[key] = value
        for key, text in ((SERVICE_TIER, self.service_tier), (SPEED, self.speed), (INFERENCE_GEO, self.inference_geo)):
            if text is not None:
                attrs[key] = text
        if with_output and self.server_tool_use:
            for name, count in self.server_tool_use.items():
                attrs[SERVER_TOOL_USE_PREFIX + name] = count
        return attrs


def _model_fields(model: Any) -> dict[str, Any]:
    dump = getattr(model, "model_dump", None) or getattr(model, "dict", None)
    if dump is None:
        return {}
    result = dump()
    return result if isinstance(result, dict) else {}
