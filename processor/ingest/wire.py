"""A minimal protobuf wire-format walker for ``ExportTraceServiceRequest``.

It finds each span's byte range without building Python objects for it, so the caller can
byte-search a span for the dialects' keys and fully parse only the matches. Structural damage
(truncation, impossible lengths, invalid wire types or field numbers) raises OtlpDecodeError.
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


def fields(buf: bytes, start: int, end: int, where: str) -> Iterator[tuple[int, int, int]]:
    """Yield ``(field_number, start, end)`` of the length-delimited fields in ``buf[start:end]``.

    Scalar fields are skipped; unknown fields are allowed (forward compatibility).
    """
    pos = start
    while pos < end:
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
            yield number, pos, stop
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


# Field numbers (opentelemetry/proto/trace/v1/trace.proto, collector/trace/v1/trace_service.proto).
REQUEST_RESOURCE_SPANS = 1
RESOURCE_SPANS_RESOURCE = 1
RESOURCE_SPANS_SCOPE_SPANS = 2
SCOPE_SPANS_SCOPE = 1
SCOPE_SPANS_SPANS = 2


class ScopeBlock:
    """One ScopeSpans: the scope's byte range and its spans' byte ranges."""

    __slots__ = ("scope", "spans")

    def __init__(self) -> None:
        self.scope: tuple[int, int] | None = None
        self.spans: list[tuple[int, int]] = []


class ResourceBlock:
    """One ResourceSpans: the resource's byte range and its scope blocks."""

    __slots__ = ("resource", "scopes")

    def __init__(self) -> None:
        self.resource: tuple[int, int] | None = None
        self.scopes: list[ScopeBlock] = []


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
                scope = ScopeBlock()
                spans = scope.spans
                for ss_number, s_start, s_end in fields(body, start, end, "ScopeSpans"):
                    if ss_number == SCOPE_SPANS_SPANS:
                        spans.append((s_start, s_end))
                    elif ss_number == SCOPE_SPANS_SCOPE:
                        scope.scope = (s_start, s_end)
                block.scopes.append(scope)
        blocks.append(block)
    return blocks
