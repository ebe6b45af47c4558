"""The ingest API's values: options, the decoded batch, rejections and the span view dialects read."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from genai_cost.processor.domain.records import LlmCall
from genai_cost.processor.domain.records_fast import positional_constructor

#: An OTLP ``AnyValue`` as Python: str, bool, int, float, bytes, list (array) or dict (kvlist).
AttrValue = str | bool | int | float | bytes | list | dict | None

_EMPTY: Mapping[str, str] = MappingProxyType({})

# Rejection reasons (a bounded set: they become the ``reason`` label of the rejected-spans counter).
INVALID_TOKENS = "invalid_tokens"
INVALID_ATTRIBUTE = "invalid_attribute"
INVALID_ID = "invalid_id"
MISSING_MODEL = "missing_model"
REJECTION_REASONS = (INVALID_TOKENS, INVALID_ATTRIBUTE, INVALID_ID, MISSING_MODEL)


class OtlpDecodeError(ValueError):
    """The whole payload is undecodable (answer 400 / INVALID_ARGUMENT); the message says where and why."""


@dataclass(frozen=True, slots=True)
class IngestOptions:
    """How spans are read. ``tag_attributes`` maps a span/resource attribute key to a tag label name."""

    tag_attributes: Mapping[str, str] = field(default_factory=lambda: _EMPTY)


@dataclass(frozen=True, slots=True)
class Rejection:
    """One span that could not be accepted (OTLP partial success); ``message`` names attribute and value."""

    reason: str  # one of REJECTION_REASONS
    trace_id: str
    span_id: str
    message: str


@dataclass(slots=True)
class DecodedBatch:
    """What one export request held, as far as spend is concerned."""

    spans_received: int = 0  # all spans in the request
    calls: list[LlmCall] = field(default_factory=list)  # inference spans, normalised
    rejected: list[Rejection] = field(default_factory=list)  # spans that could not be accepted
    skipped_aggregate: int = 0  # agent/workflow spans carrying usage, deliberately not priced


@dataclass(slots=True)
class SpanView:
    """The parts of one candidate span that dialect readers need, whatever the wire encoding.

    ``attributes`` holds the span's attributes whose keys a dialect, attribution or a configured tag
    reads (``normalise.span_keys``), not the others; :func:`recorded_order` gives their order.
    """

    trace_id: str  # lowercase hex, "" when the id has the wrong length
    span_id: str
    parent_span_id: str | None
    start_time_ns: int
    end_time_ns: int
    status_code: int  # 0 unset, 1 ok, 2 error
    attributes: dict[str, AttrValue]  # in recorded order unless ``message`` is set
    scope_name: str
    scope_version: str
    resource: Mapping[str, AttrValue]
    ids_valid: bool = True
    id_problem: str = ""
    message: Any = None  # the parsed protobuf Span, when ``attributes`` is not in recorded order


new_span_view: Callable[..., SpanView] = positional_constructor(SpanView)
"""``SpanView(*fields)`` for the hot path (positional, in field order)."""


def recorded_order(span: SpanView) -> list[str]:
    """The span's attribute keys in recorded order (first occurrence of each key)."""
    if span.message is None:
        return list(span.attributes)
    return list(dict.fromkeys(kv.key for kv in span.message.attributes))
