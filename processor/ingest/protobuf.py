"""OTLP/protobuf -> DecodedBatch, parsing only the spans that can be LLM spans.

The request is walked at the wire level (wire.py); each span's bytes are searched for the dialects'
attribute-key prefixes and only the matches are parsed with ``Span.FromString``. Resource and scope
messages are parsed once per block, and only when one of their spans matched.
"""

from __future__ import annotations

from collections.abc import Iterable

from google.protobuf.message import DecodeError
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, InstrumentationScope, KeyValue
from opentelemetry.proto.resource.v1.resource_pb2 import Resource
from opentelemetry.proto.trace.v1.trace_pb2 import Span

from genai_cost.processor.ingest.model import (
    AttrValue,
    DecodedBatch,
    IngestOptions,
    OtlpDecodeError,
    SpanView,
)
from genai_cost.processor.ingest.normalise import build_batch
from genai_cost.processor.ingest.wire import walk_request

#: Attribute-key prefixes of every dialect: a span without any of them is not an LLM span.
MARKERS = (b"gen_ai.", b"llm.", b"openinference.", b"traceloop.")


def any_value(value: AnyValue) -> AttrValue:
    """An OTLP AnyValue as a plain Python value."""
    kind = value.WhichOneof("value")
    if kind == "string_value":
        return value.string_value
    if kind == "int_value":
        return value.int_value
    if kind == "double_value":
        return value.double_value
    if kind == "bool_value":
        return value.bool_value
    if kind == "array_value":
        return [any_value(item) for item in value.array_value.values]
    if kind == "kvlist_value":
        return {kv.key: any_value(kv.value) for kv in value.kvlist_value.values}
    if kind == "bytes_value":
        return value.bytes_value
    return None


_SCALARS = frozenset({"string_value", "int_value", "double_value", "bool_value", "bytes_value"})


def _attributes(pairs: Iterable[KeyValue]) -> dict[str, AttrValue]:
    """Attributes as a dict in recorded order (hot path: scalar values read inline)."""
    result: dict[str, AttrValue] = {}
    scalars = _SCALARS
    for kv in pairs:
        value = kv.value
        kind = value.WhichOneof("value")
        result[kv.key] = getattr(value, kind) if kind in scalars else any_value(value)
    return result


def _is_candidate(body: bytes, start: int, end: int) -> bool:
    find = body.find
    return any(find(marker, start, end) >= 0 for marker in MARKERS)


def _view(span: Span, scope: InstrumentationScope, resource: dict[str, AttrValue]) -> SpanView:
    trace_id, span_id, parent = span.trace_id, span.span_id, span.parent_span_id
    problem = ""
    if len(trace_id) != 16:
        problem = f"trace_id: {trace_id.hex()!r} is {len(trace_id)} bytes, not 16"
    elif len(span_id) != 8:
        problem = f"span_id: {span_id.hex()!r} is {len(span_id)} bytes, not 8"
    elif parent and len(parent) != 8:
        problem = f"parent_span_id: {parent.hex()!r} is {len(parent)} bytes, not 8"
    return SpanView(
        trace_id=trace_id.hex(),
        span_id=span_id.hex(),
        parent_span_id=parent.hex() or None,
        name=span.name,
        start_time_ns=span.start_time_unix_nano,
        end_time_ns=span.end_time_unix_nano,
        status_code=span.status.code,
        attributes=_attributes(span.attributes),
        scope_name=scope.name,
        scope_version=scope.version,
        resource=resource,
        ids_valid=not problem,
        id_problem=problem,
    )


def decode_protobuf(body: bytes, options: IngestOptions) -> DecodedBatch:
    """Decode a serialized ExportTraceServiceRequest; OtlpDecodeError if the payload is malformed."""
    if not isinstance(body, bytes):
        body = bytes(body)
    blocks = walk_request(body)
    views: list[SpanView] = []
    received = 0
    try:
        for block in blocks:
            resource: dict[str, AttrValue] | None = None
            for scope_block in block.scopes:
                received += len(scope_block.spans)
                scope: InstrumentationScope | None = None
                for start, end in scope_block.spans:
                    if not _is_candidate(body, start, end):
                        continue
                    if resource is None:
                        resource = {}
                        if block.resource is not None:
                            r_start, r_end = block.resource
                            resource = _attributes(Resource.FromString(body[r_start:r_end]).attributes)
                    if scope is None:
                        scope = InstrumentationScope()
                        if scope_block.scope is not None:
                            s_start, s_end = scope_block.scope
                            scope = InstrumentationScope.FromString(body[s_start:s_end])
                    views.append(_view(Span.FromString(body[start:end]), scope, resource))
    except DecodeError as error:
        raise OtlpDecodeError(f"invalid protobuf: a span could not be parsed ({error})") from None
    return build_batch(views, received, options)


def decode_request(request: ExportTraceServiceRequest, options: IngestOptions) -> DecodedBatch:
    """Decode an already-parsed request (gRPC with the default deserializer).

    Serializing back is cheaper than reading every span's attributes through the message API; a
    gRPC server that registers an identity deserializer can call :func:`decode_protobuf` directly.
    """
    return decode_protobuf(request.SerializeToString(), options)
