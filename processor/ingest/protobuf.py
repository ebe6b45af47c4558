"""OTLP/protobuf -> DecodedBatch, parsing only the spans that can be LLM spans.

1. The request is walked at the wire level (wire.py) into resource/scope/span byte ranges.
2. A span is a candidate when its bytes hold one of the dialects' attribute-key prefixes; each
   prefix's next occurrence in the whole body is remembered, so a span without any costs two
   comparisons instead of a search.
3. The candidates are parsed together (their bytes joined into one ScopeSpans, one C call) as
   ``Span`` (validation and the scalar fields) and as ``ScopeAttributeMaps`` (attribute_maps.py:
   only the attributes the dialects read are converted to Python values).
4. Resource and scope messages are parsed once per block, and only when one of their spans is a
   candidate; resource attributes are remembered per distinct resource.

A payload that does not parse is parsed again span by span in request order, so the error names
the first bad message exactly as a span-by-span decoder would.

When the compiled ``_spanscan`` module is present (built from ``_spanscan.c`` at install), it does
steps 1-3 in one pass over the bytes for any plain, valid payload, calling back here for resources,
scopes and array values; for anything else it returns None and the steps above run, so both give
the same batch or the same error.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from google.protobuf.message import DecodeError
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import InstrumentationScope
from opentelemetry.proto.resource.v1.resource_pb2 import Resource
from opentelemetry.proto.trace.v1.trace_pb2 import ScopeSpans, Span

from genai_cost.processor.ingest.attribute_maps import (
    ScopeAttributeMaps,
    SpanAttributeMaps,
    any_value,
    attributes_dict,
    value_of,
    wanted_attributes,
)
from genai_cost.processor.ingest.model import (
    AttrValue,
    DecodedBatch,
    IngestOptions,
    OtlpDecodeError,
    SpanView,
    new_span_view,
)
from genai_cost.processor.ingest.normalise import build_batch, span_keys
from genai_cost.processor.ingest.wire import ResourceBlock, ScopeBlock, SpanRange, walk_request

try:
    from genai_cost.processor.ingest import _spanscan
except ImportError:  # built without a C compiler: the Python path below does everything
    _spanscan = None  # type: ignore[assignment]

__all__ = ["MARKERS", "any_value", "decode_protobuf", "decode_request"]

#: Attribute-key prefixes of every dialect: a span without any of them is not an LLM span.
MARKERS = (b"gen_ai.", b"llm.", b"openinference.", b"traceloop.")
_NOWHERE = 1 << 62  # "no further occurrence"
_RESOURCE_CACHE_LIMIT = 256
_resources: dict[bytes, dict[str, AttrValue]] = {}

Candidate = tuple[ResourceBlock, ScopeBlock, SpanRange]


def _find_candidates(body: bytes, blocks: list[ResourceBlock]) -> tuple[list[Candidate], int]:
    """The spans whose bytes contain a marker, in request order, and the number of spans.

    For each marker the next occurrence not before the current span is remembered and only searched
    again once a span starts past it. ``gen_ai.`` (in nearly every LLM span) is looked for first;
    the other markers only in spans without it, so a batch of LLM spans is never searched for them.
    """
    find = body.find
    primary, primary_size = MARKERS[0], len(MARKERS[0])
    others = MARKERS[1:]
    sizes = [len(marker) for marker in others]
    count = len(others)
    following = [-1] * count  # -1: not searched yet
    low = -1  # min(following)
    at_primary = -1
    found: list[Candidate] = []
    received = 0
    for block in blocks:
        for scope in block.scopes:
            spans = scope.spans
            received += len(spans)
            for span in spans:
                _, start, end = span
                if at_primary < start:
                    at_primary = find(primary, start)
                    if at_primary < 0:
                        at_primary = _NOWHERE
                if at_primary + primary_size <= end:
                    found.append((block, scope, span))
                    continue
                if low >= end:
                    continue  # no marker before this span ends: the usual non-LLM span
                for i in range(count):
                    at = following[i]
                    if at < start:
                        at = find(others[i], start)
                        following[i] = at if at >= 0 else _NOWHERE
                low = min(following)
                if low < end and any(following[i] + sizes[i] <= end for i in range(count)):
                    found.append((block, scope, span))
    return found, received


def _resource(body: bytes, block: ResourceBlock) -> dict[str, AttrValue]:
    if block.resource is None:
        return {}
    start, end = block.resource
    raw = body[start:end]
    attributes = _resources.get(raw)
    if attributes is None:
        attributes = attributes_dict(Resource.FromString(raw).attributes)
        if len(_resources) >= _RESOURCE_CACHE_LIMIT:
            _resources.clear()
        _resources[raw] = attributes
    return attributes


def _scope(body: bytes, block: ScopeBlock) -> tuple[str, str]:
    if block.scope is None:
        return "", ""
    start, end = block.scope
    scope = InstrumentationScope.FromString(body[start:end])
    return scope.name, scope.version


def _block_info(
    body: bytes, resource_start: int, resource_end: int, scope_start: int, scope_end: int
) -> tuple[str, str, dict[str, AttrValue]]:
    """A ScopeSpans' scope name and version and its resource's attributes (for ``_spanscan``; -1: absent)."""
    block = ResourceBlock()
    if resource_start >= 0:
        block.resource = (resource_start, resource_end)
    scope_block = ScopeBlock()
    if scope_start >= 0:
        scope_block.scope = (scope_start, scope_end)
    name, version = _scope(body, scope_block)
    return name, version, _resource(body, block)


def _scanned(body: bytes, wanted: frozenset[str]) -> tuple[int, list[SpanView]] | None:
    """(spans received, candidate views) from the compiled scanner; None when the Python path must decode."""
    if _spanscan is None:
        return None
    try:
        return _spanscan.scan(body, MARKERS, wanted, value_of, lambda *at: _block_info(body, *at), new_span_view)
    except DecodeError:  # a resource or scope does not parse: the Python path names it precisely
        return None


def _joined(body: bytes, found: list[Candidate]) -> bytes:
    """The candidates' ScopeSpans fields (tag, length, span) back to back: a ScopeSpans of them."""
    pieces: list[tuple[int, int]] = []
    run_start = run_end = -1
    for _, _, (tag_start, _, end) in found:
        if tag_start != run_end:
            if run_end >= 0:
                pieces.append((run_start, run_end))
            run_start = tag_start
        run_end = end
    pieces.append((run_start, run_end))
    if len(pieces) == 1:
        return body[run_start:run_end]
    return b"".join([body[start:end] for start, end in pieces])


def _id_problem(trace_id: bytes, span_id: bytes, parent: bytes) -> str:
    if len(trace_id) != 16:
        return f"trace_id: {trace_id.hex()!r} is {len(trace_id)} bytes, not 16"
    if len(span_id) != 8:
        return f"span_id: {span_id.hex()!r} is {len(span_id)} bytes, not 8"
    if parent and len(parent) != 8:
        return f"parent_span_id: {parent.hex()!r} is {len(parent)} bytes, not 8"
    return ""


def _views(body: bytes, found: list[Candidate], messages: Any, maps: Any, wanted: frozenset[str]) -> list[SpanView]:
    """One SpanView per candidate, from its parsed Span and attribute map."""
    resources: dict[int, Mapping[str, AttrValue]] = {}
    scopes: dict[int, tuple[str, str]] = {}
    views: list[SpanView] = []
    append = views.append
    for (block, scope_block, _), span, amap in zip(found, messages, maps, strict=True):
        resource = resources.get(id(block))
        if resource is None:
            resource = resources[id(block)] = _resource(body, block)
        scope = scopes.get(id(scope_block))
        if scope is None:
            scope = scopes[id(scope_block)] = _scope(body, scope_block)
        trace_id, span_id, parent = span.trace_id, span.span_id, span.parent_span_id
        if len(trace_id) == 16 and len(span_id) == 8 and (not parent or len(parent) == 8):
            problem = ""
        else:
            problem = _id_problem(trace_id, span_id, parent)
        append(
            SpanView(
                trace_id.hex(),
                span_id.hex(),
                parent.hex() or None,
                span.start_time_unix_nano,
                span.end_time_unix_nano,
                span.status.code,
                wanted_attributes(amap.attributes, wanted),
                scope[0],
                scope[1],
                resource,
                not problem,
                problem,
                span,
            )
        )
    return views


def _raise_first_error(body: bytes, found: list[Candidate]) -> None:
    """Parse the candidates one by one in request order and raise for the first bad message."""
    seen_blocks: set[int] = set()
    seen_scopes: set[int] = set()
    try:
        for block, scope_block, (_, start, end) in found:
            if id(block) not in seen_blocks:
                seen_blocks.add(id(block))
                if block.resource is not None:
                    Resource.FromString(body[block.resource[0] : block.resource[1]])
            if id(scope_block) not in seen_scopes:
                seen_scopes.add(id(scope_block))
                if scope_block.scope is not None:
                    InstrumentationScope.FromString(body[scope_block.scope[0] : scope_block.scope[1]])
            Span.FromString(body[start:end])
    except DecodeError as error:
        raise OtlpDecodeError(f"invalid protobuf: a span could not be parsed ({error})") from None


def decode_protobuf(body: bytes, options: IngestOptions) -> DecodedBatch:
    """Decode a serialized ExportTraceServiceRequest; OtlpDecodeError if the payload is malformed."""
    if not isinstance(body, bytes):
        body = bytes(body)
    wanted = span_keys(options)
    scanned = _scanned(body, wanted)
    if scanned is not None:
        received, views = scanned
        return build_batch(views, received, options) if views else DecodedBatch(spans_received=received)
    found, received = _find_candidates(body, walk_request(body))
    if not found:
        return DecodedBatch(spans_received=received)
    try:
        joined = _joined(body, found)
        messages = ScopeSpans.FromString(joined).spans
        maps = ScopeAttributeMaps.FromString(joined).spans
        views = _views(body, found, messages, maps, wanted)
    except DecodeError:
        _raise_first_error(body, found)
        # Every message parses alone (the joined parse hit a limit, e.g. nesting depth): one by one.
        ranges = [body[start:end] for _, _, (_, start, end) in found]
        messages = [Span.FromString(raw) for raw in ranges]
        maps = [SpanAttributeMaps.FromString(raw) for raw in ranges]
        views = _views(body, found, messages, maps, wanted)
    return build_batch(views, received, options)


def decode_request(request: ExportTraceServiceRequest, options: IngestOptions) -> DecodedBatch:
    """Decode an already-parsed request (gRPC with the default deserializer).

    Serializing back is cheaper than reading every span's attributes through the message API; a
    gRPC server that registers an identity deserializer can call :func:`decode_protobuf` directly.
    """
    return decode_protobuf(request.SerializeToString(), options)
