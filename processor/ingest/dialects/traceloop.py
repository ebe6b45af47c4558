"""OpenLLMetry (traceloop): ``opentelemetry-instrumentation-openai`` / ``-anthropic`` and ``traceloop-sdk``.

Semantic-convention names plus ``gen_ai.usage.reasoning_tokens``, ``cache_creation_input_tokens`` and
``llm.usage.total_tokens``; Anthropic ``input_tokens`` includes cache reads and writes (12050).
``traceloop.span.kind`` = workflow/task/agent/tool marks framework spans: never priced.

Known bug corrected here: the Anthropic instrumentation's streaming path (0.62.x and before) adds
``message_start``'s ``output_tokens`` (1 in Anthropic's API) to ``message_delta``'s cumulative count
(301 for 300). It is recognised by ``gen_ai.is_streaming`` = true or, for the ``messages.stream()``
helper which does not set it, by that path recording usage before ``gen_ai.response.model``.
"""

from __future__ import annotations

from genai_cost.processor.ingest.dialects import base
from genai_cost.processor.ingest.dialects.base import Reading, Role, read_semconv
from genai_cost.processor.ingest.model import SpanView, recorded_order

NAME = "traceloop"
_SPAN_KIND = "traceloop.span.kind"
_FRAMEWORK_KINDS = frozenset({"workflow", "task", "agent", "tool"})
_ANTHROPIC_SCOPE = "opentelemetry.instrumentation.anthropic"
_OPENAI_SCOPE = "opentelemetry.instrumentation.openai.v1"
_STREAM_BUG_VERSIONS = ((0, 0), (0, 62, 4))  # inclusive range verified against recorded spans
_ENTITY = "traceloop.entity.name"
_TOTAL = "llm.usage.total_tokens"
#: The attribute keys :func:`claims` reads.
CLAIM_KEYS = frozenset((_SPAN_KIND, _ENTITY, _TOTAL))
_STREAMING = "gen_ai.is_streaming"
_OUTPUT = "gen_ai.usage.output_tokens"
_RESPONSE_MODEL = "gen_ai.response.model"

#: Every attribute key this dialect reads.
KEYS = frozenset((_SPAN_KIND, _ENTITY, _TOTAL, _STREAMING, _OUTPUT, _RESPONSE_MODEL)) | base.KEYS


def claims(span: SpanView) -> bool:
    if span.scope_name in (_ANTHROPIC_SCOPE, _OPENAI_SCOPE):
        return True
    attrs = span.attributes
    return _SPAN_KIND in attrs or _ENTITY in attrs or _TOTAL in attrs


def _version(raw: str) -> tuple[int, ...] | None:
    parts: list[int] = []
    for piece in raw.split("."):
        if not piece.isdigit():
            return None
        parts.append(int(piece))
    return tuple(parts) or None


def _anthropic_stream_overcount(span: SpanView, reading: Reading) -> int:
    """1 when the span comes from the streaming path with the message_start double count, else 0."""
    if span.scope_name != _ANTHROPIC_SCOPE or not reading.output:
        return 0
    version = _version(span.scope_version)
    low, high = _STREAM_BUG_VERSIONS
    if version is None or not low <= version <= high:
        return 0
    attrs = span.attributes
    if attrs.get(_STREAMING) is True:
        return 1
    if _RESPONSE_MODEL in attrs and _OUTPUT in attrs:
        keys = recorded_order(span)
        return 1 if keys.index(_OUTPUT) < keys.index(_RESPONSE_MODEL) else 0
    return 0


def read(span: SpanView) -> Reading:
    reading = read_semconv(span.attributes, NAME)
    kind = span.attributes.get(_SPAN_KIND)
    if type(kind) is str and kind in _FRAMEWORK_KINDS:
        reading.role = Role.AGGREGATE if reading.has_usage else Role.CONTEXT
        return reading
    if reading.role is Role.INFERENCE:
        reading.output_overcount = _anthropic_stream_overcount(span, reading)
    return reading
