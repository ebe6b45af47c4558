"""A minimal protobuf wire-format walker for ``ExportTraceServiceRequest``.

It finds each span's byte range without building Python objects for it, so the caller can
byte-search a span for the dialects' keys and fully parse only the matches. Structural damage
(truncation, impossible lengths, invalid wire types or field numbers) raises OtlpDecodeError.

The span list of a ScopeSpans (where nearly all the bytes are) is walked by an unrolled loop for the
usual encoding (one-byte tags, lengths of up to three bytes); anything else in that ScopeSpans makes
it walk the block again with the general :func:`fields`, so results and errors are the same.
"""

from __future__ import annotations

from collections.abc import Iterator

from genai_cost.processor.ingest.model import OtlpDecodeError

_VARINT, _I64, _LEN, _SGROUP, _EGROUP, _I32 = 0, 1, 2, 3, 4, 5


def _varint(buf: bytes, pos: int, end: int) -> tuple[int, int]:
    """Decode a varint at ``pos``; returns (value, next position)."""
    if pos < end:
        byte = buf[pos]
        if byte < 0x80:
            return byte, pos + 1
    result = 0
    shift = 0
    while pos < end and shift < 64:
        byte = buf[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if byte < 0x80:
            return result, pos
        shift += 7
    raise OtlpDecodeError(f"truncated or malformed varint at byte {pos}")


def fields_with_tags(buf: bytes, start: int, end: int, where: str) -> Iterator[tuple[int, int, int, int]]:
    """Yield ``(field_number, tag_start, start, end)`` of the length-delimited fields in ``buf[start:end]``.

    Scalar fields are skipped; unknown fields are allowed (forward compatibility).
    """
    pos = start
    while pos < end:
        tag_start = pos
        tag, pos = _varint(buf, pos, end)
        number, wire_type = tag >> 3, tag & 7
        if number == 0:
            raise OtlpDecodeError(f"invalid protobuf: field number 0 in {where} at byte {pos}")
        if wire_type == _LEN:
            length, pos = _varint(buf, pos, end)
            stop = pos + length
            if stop > end:
                raise OtlpDecodeError(
                    f"invalid protobuf: {where} field {number} declares {length} bytes at byte {pos}, "
                    f"only {end - pos} remain (truncated?)"
                )
            yield number, tag_start, pos, stop
            pos = stop
        elif wire_type == _VARINT:
            _, pos = _varint(buf, pos, end)
        elif wire_type == _I64:
            pos += 8
        elif wire_type == _I32:
            pos += 4
        else:
            raise OtlpDecodeError(f"invalid protobuf: wire type {wire_type} in {where} at byte {pos}")
        if pos > end:
            raise OtlpDecodeError(f"invalid protobuf: {where} ends inside a field (truncated?)")


def fields(buf: bytes, start: int, end: int, where: str) -> Iterator[tuple[int, int, int]]:
    """Yield ``(field_number, start, end)`` of the length-delimited fields in ``buf[start:end]``."""
    for number, _, field_start, field_end in fields_with_tags(buf, start, end, where):
        yield number, field_start, field_end


# Field numbers (opentelemetry/proto/trace/v1/trace.proto, collector/trace/v1/trace_service.proto).
REQUEST_RESOURCE_SPANS = 1
RESOURCE_SPANS_RESOURCE = 1
RESOURCE_SPANS_SCOPE_SPANS = 2
SCOPE_SPANS_SCOPE = 1
SCOPE_SPANS_SPANS = 2
_SCOPE_TAG = SCOPE_SPANS_SCOPE << 3 | _LEN  # 0x0a
_SPAN_TAG = SCOPE_SPANS_SPANS << 3 | _LEN  # 0x12

#: A span's location: (start of its tag in the ScopeSpans, start of its bytes, end of its bytes).
SpanRange = tuple[int, int, int]


class ScopeBlock:
    """One ScopeSpans: the scope's byte range and its spans' ranges (see :data:`SpanRange`)."""

    __slots__ = ("scope", "spans")

    def __init__(self) -> None:
        self.scope: tuple[int, int] | None = None
        self.spans: list[SpanRange] = []


class ResourceBlock:
    """One ResourceSpans: the resource's byte range and its scope blocks."""

    __slots__ = ("resource", "scopes")

    def __init__(self) -> None:
        self.resource: tuple[int, int] | None = None
        self.scopes: list[ScopeBlock] = []


def _scope_block_general(body: bytes, start: int, end: int) -> ScopeBlock:
    scope = ScopeBlock()
    spans = scope.spans
    for number, tag_start, s_start, s_end in fields_with_tags(body, start, end, "ScopeSpans"):
        if number == SCOPE_SPANS_SPANS:
            spans.append((tag_start, s_start, s_end))
        elif number == SCOPE_SPANS_SCOPE:
            scope.scope = (s_start, s_end)
    return scope


def _scope_block(body: bytes, start: int, end: int) -> ScopeBlock:
    """The spans of one ScopeSpans (hot loop: one iteration per span of the request)."""
    scope = ScopeBlock()
    spans = scope.spans
    append = spans.append
    pos = start
    last = end - 1
    while pos < end:
        tag = body[pos]
        # One-byte tag of a length-delimited field with a non-zero number; else the general walk.
        if tag & 7 != _LEN or tag < 0x08 or tag >= 0x80 or pos + 1 > last:
            return _scope_block_general(body, start, end)
        at = pos + 1
        length = body[at]
        if length < 0x80:
            at += 1
        elif at + 1 <= last and body[at + 1] < 0x80:
            length = (length & 0x7F) | body[at + 1] << 7
            at += 2
        elif at + 2 <= last and body[at + 1] >= 0x80 and body[at + 2] < 0x80:
            length = (length & 0x7F) | (body[at + 1] & 0x7F) << 7 | body[at + 2] << 14
            at += 3
        else:
            return _scope_block_general(body, start, end)
        stop = at + length
        if stop > end:
            return _scope_block_general(body, start, end)
        if tag == _SPAN_TAG:
            append((pos, at, stop))
        elif tag == _SCOPE_TAG:
            scope.scope = (at, stop)
        pos = stop
    return scope


def walk_request(body: bytes) -> list[ResourceBlock]:
    """Split an ExportTraceServiceRequest into resource/scope/span byte ranges."""
    blocks: list[ResourceBlock] = []
    for number, rs_start, rs_end in fields(body, 0, len(body), "ExportTraceServiceRequest"):
        if number != REQUEST_RESOURCE_SPANS:
            continue
        block = ResourceBlock()
        for rs_number, start, end in fields(body, rs_start, rs_end, "ResourceSpans"):
            if rs_number == RESOURCE_SPANS_RESOURCE:
                block.resource = (start, end)
            elif rs_number == RESOURCE_SPANS_SCOPE_SPANS:
                block.scopes.append(_scope_block(body, start, end))
        blocks.append(block)
    return blocks
