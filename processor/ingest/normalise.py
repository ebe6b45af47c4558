"""Candidate spans -> LlmCall records: pick the dialect, normalise token accounting, attribute.

Token accounting (records.TokenUsage is disjoint): ``input`` = reported input minus cache reads and
writes when the dialect counts them inside input; ``output`` = reported output minus reasoning.
A span whose parts exceed its whole (cache > input, reasoning > output) is rejected, not guessed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from types import ModuleType

from genai_cost.processor.domain import attribution
from genai_cost.processor.domain.attribution import (
    UNKNOWN_SERVICE,
    Attribution,
    service_name,
    span_attribution,
    tags,
)
from genai_cost.processor.domain.records import Outcome, TokenUsage
from genai_cost.processor.domain.records_fast import new_llm_call, new_token_usage
from genai_cost.processor.ingest.dialects import (
    anthropic_sdk,
    openinference,
    openlit,
    semconv,
    traceloop,
)
from genai_cost.processor.ingest.dialects.base import Reading, Role, error_type
from genai_cost.processor.ingest.model import (
    INVALID_ID,
    INVALID_TOKENS,
    MISSING_MODEL,
    DecodedBatch,
    IngestOptions,
    Rejection,
    SpanView,
)
from genai_cost.processor.ingest.providers import normalise_provider
from genai_cost.processor.ingest.values import InvalidSpan, text

#: Most specific first; semconv claims everything left.
DIALECTS: tuple[ModuleType, ...] = (openinference, anthropic_sdk, openlit, traceloop, semconv)
_STATUS_ERROR = 2
_MAX_ANCESTORS = 32
_ERROR_TYPE = "error.type"
_NO_USAGE = TokenUsage()

#: Every span attribute key a dialect or the attribution reads: the only ones decoders convert.
SPAN_KEYS: frozenset[str] = frozenset().union(
    *(dialect.KEYS for dialect in DIALECTS), attribution.SPAN_KEYS, (_ERROR_TYPE,)
)
_keys_by_options: dict[int, tuple[IngestOptions, frozenset[str]]] = {}


def span_keys(options: IngestOptions) -> frozenset[str]:
    """:data:`SPAN_KEYS` plus the attribute keys configured as tags."""
    if not options.tag_attributes:
        return SPAN_KEYS
    found = _keys_by_options.get(id(options))
    if found is None or found[0] is not options:
        if len(_keys_by_options) >= 64:
            _keys_by_options.clear()
        found = _keys_by_options[id(options)] = (options, SPAN_KEYS.union(options.tag_attributes))
    return found[1]


#: The attribute keys any dialect's ``claims`` reads; without them, only the scope can decide.
CLAIM_KEYS: frozenset[str] = frozenset().union(*(dialect.CLAIM_KEYS for dialect in DIALECTS))
_SCOPE_CACHE_LIMIT = 256
_dialect_by_scope: dict[tuple[str, str], ModuleType] = {}


def claiming_dialect(span: SpanView) -> ModuleType:
    """The first dialect that claims the span (semconv claims every span)."""
    if CLAIM_KEYS.isdisjoint(span.attributes):
        # The claims depend on the scope only: ask once per scope, with no attributes.
        scope = (span.scope_name, span.scope_version)
        found = _dialect_by_scope.get(scope)
        if found is None:
            if len(_dialect_by_scope) >= _SCOPE_CACHE_LIMIT:
                _dialect_by_scope.clear()
            bare = SpanView("", "", None, 0, 0, 0, {}, span.scope_name, span.scope_version, {})
            found = _dialect_by_scope[scope] = next(d for d in DIALECTS if d.claims(bare))
        return found
    return next(dialect for dialect in DIALECTS if dialect.claims(span))


def read_span(span: SpanView) -> Reading:
    """The first dialect that claims the span reads it (raises InvalidSpan on bad values)."""
    reading: Reading = claiming_dialect(span).read(span)
    return reading


def _usage(reading: Reading, span: SpanView) -> TokenUsage:
    """Disjoint usage from the dialect's counts; InvalidSpan when parts exceed the whole."""
    input_tokens = reading.input or 0
    output = reading.output or 0
    cache_read = reading.cache_read or 0
    cache_write = reading.cache_write or 0
    reasoning = reading.reasoning or 0
    if reading.input_includes_cache:
        cached = cache_read + cache_write
        if cached > input_tokens:
            raise InvalidSpan(
                INVALID_TOKENS,
                f"cache read {cache_read} + cache write {cache_write} tokens exceed input tokens "
                f"{input_tokens} ({reading.dialect} counts cached tokens inside input)",
            )
        input_tokens -= cached
    output -= min(reading.output_overcount, output)
    if reading.output_includes_reasoning:
        if reasoning > output:
            raise InvalidSpan(INVALID_TOKENS, f"reasoning tokens {reasoning} exceed output tokens {output}")
        output -= reasoning
    if reading.cache_write_1h > cache_write:
        raise InvalidSpan(
            INVALID_TOKENS,
            f"1-hour cache write tokens {reading.cache_write_1h} exceed cache write tokens {cache_write}",
        )
    return new_token_usage(input_tokens, cache_read, cache_write, output, reasoning)


class _Ancestry:
    """Attribution inherited from ancestor spans of the same batch (agent spans, invoke_agent, ...)."""

    def __init__(self, spans: Iterable[SpanView]) -> None:
        self._spans = {span.span_id: span for span in spans if span.span_id}
        self._own: dict[str, Attribution] = {}

    def _attribution_of(self, span: SpanView) -> Attribution:
        found = self._own.get(span.span_id)
        if found is None:
            found = self._own[span.span_id] = attribution.span_attribution(span.attributes)
        return found

    def resolve(self, span: SpanView, own: Attribution) -> Attribution:
        """``own`` (the span's attribution) completed from its ancestors in the batch."""
        result = own
        parent_id = span.parent_span_id
        depth = 0
        while not result.complete and parent_id and depth < _MAX_ANCESTORS:
            parent = self._spans.get(parent_id)
            if parent is None or parent.trace_id != span.trace_id:
                break
            result = attribution.inherit(result, self._attribution_of(parent))
            parent_id = parent.parent_span_id
            depth += 1
        return result


def build_batch(
    spans: list[SpanView],
    spans_received: int,
    options: IngestOptions,
    reader: Callable[[SpanView], Reading] = read_span,
) -> DecodedBatch:
    """Classify candidate spans and normalise the inference ones into calls (hot loop: one pass)."""
    batch = DecodedBatch(spans_received=spans_received)
    calls = batch.calls
    tag_attributes = options.tag_attributes
    ancestry: _Ancestry | None = None
    last_resource: object = None
    service = UNKNOWN_SERVICE
    inference, aggregate, ok, error = Role.INFERENCE, Role.AGGREGATE, Outcome.OK, Outcome.ERROR
    for span in spans:
        try:
            reading = reader(span)
            role = reading.role
            if role is not inference:
                if role is aggregate:
                    batch.skipped_aggregate += 1
                continue
            if not span.ids_valid:
                raise InvalidSpan(INVALID_ID, span.id_problem)
            attrs = span.attributes
            who = span_attribution(attrs)
            if not who.complete and span.parent_span_id:
                if ancestry is None:
                    ancestry = _Ancestry(spans)
                who = ancestry.resolve(span, who)
            if reading.request_model is None and reading.response_model is None:
                raise InvalidSpan(MISSING_MODEL, f"{reading.dialect} inference span names no model")
            has_usage = reading.input is not None or reading.output is not None
            usage = _usage(reading, span) if has_usage else _NO_USAGE
            resource = span.resource
            if resource is not last_resource:
                service = service_name(resource)
                last_resource = resource
            failed = span.status_code == _STATUS_ERROR
            calls.append(
                new_llm_call(  # LlmCall(...): positional, in field order
                    span.trace_id,
                    span.span_id,
                    span.parent_span_id,
                    span.start_time_ns,
                    span.end_time_ns,
                    normalise_provider(reading.provider),
                    reading.operation,
                    reading.request_model,
                    reading.response_model,
                    reading.response_id,
                    who.agent or service,
                    service,
                    who.session,
                    who.user,
                    tags(attrs, resource, tag_attributes) if tag_attributes else {},
                    usage,
                    has_usage,
                    reading.provider_cost_usd,
                    error if failed else ok,
                    error_type(text(attrs, _ERROR_TYPE)) if failed else None,
                    reading.dialect,
                    reading.cache_write_1h,
                    reading.service_tier,
                )
            )
        except InvalidSpan as bad:
            batch.rejected.append(Rejection(bad.reason, span.trace_id, span.span_id, bad.message))
    return batch
