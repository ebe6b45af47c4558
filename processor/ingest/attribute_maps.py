"""Read only the span attributes the dialects use, straight from the protobuf bytes.

Going through ``Span.attributes`` costs a Python object per KeyValue and per AnyValue. Instead the
candidate spans are parsed a second time as :data:`SpanAttributeMaps`, a message type declared here
that reads the same bytes as ``map<string, bytes> attributes = 9``: upb builds the key -> serialized
AnyValue map in C, and only the keys in a wanted set are looked up and converted (scalars by hand,
anything else through ``AnyValue``). Large content attributes are never converted.

Equivalence with ``Span.FromString`` (which is still run first, so the payload is validated exactly
as before): the same key keeps its last value, and every value converts to the same Python value.
One payload no OTLP encoder produces reads differently: a KeyValue that repeats its ``value`` field
(protobuf merges repeated message fields; the map keeps the last one).
"""

from __future__ import annotations

import struct
from collections.abc import Iterable
from typing import Any

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
from opentelemetry.proto.common.v1.common_pb2 import AnyValue

from genai_cost.processor.ingest.model import AttrValue

_F = descriptor_pb2.FieldDescriptorProto


def _message_types() -> tuple[Any, Any]:
    """``SpanAttributeMaps`` and ``ScopeAttributeMaps`` (a ScopeSpans whose spans are read as such)."""
    file = descriptor_pb2.FileDescriptorProto(
        name="genai_cost/attribute_maps.proto", package="genai_cost.attribute_maps", syntax="proto3"
    )
    span = file.message_type.add(name="SpanAttributeMaps")
    entry = span.nested_type.add(name="AttributesEntry")
    entry.options.map_entry = True
    entry.field.add(name="key", number=1, type=_F.TYPE_STRING, label=_F.LABEL_OPTIONAL)
    entry.field.add(name="value", number=2, type=_F.TYPE_BYTES, label=_F.LABEL_OPTIONAL)
    span.field.add(
        name="attributes",
        number=9,  # Span.attributes
        type=_F.TYPE_MESSAGE,
        label=_F.LABEL_REPEATED,
        type_name=".genai_cost.attribute_maps.SpanAttributeMaps.AttributesEntry",
    )
    scope = file.message_type.add(name="ScopeAttributeMaps")
    scope.field.add(
        name="spans",
        number=2,  # ScopeSpans.spans
        type=_F.TYPE_MESSAGE,
        label=_F.LABEL_REPEATED,
        type_name=".genai_cost.attribute_maps.SpanAttributeMaps",
    )
    pool = descriptor_pool.DescriptorPool()
    pool.Add(file)
    get = message_factory.GetMessageClass
    return (
        get(pool.FindMessageTypeByName("genai_cost.attribute_maps.SpanAttributeMaps")),
        get(pool.FindMessageTypeByName("genai_cost.attribute_maps.ScopeAttributeMaps")),
    )


SpanAttributeMaps, ScopeAttributeMaps = _message_types()

_DOUBLE = struct.Struct("<d").unpack_from
_STRING_TAG, _BOOL_TAG, _INT_TAG, _DOUBLE_TAG = 0x0A, 0x10, 0x18, 0x21
_CACHE_LIMIT = 16_384  # distinct small values remembered (model names, providers, counts, ...)
_CACHEABLE_BYTES = 64
_cache: dict[bytes, AttrValue] = {}
_MISS: Any = object()


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


def value_of(raw: bytes) -> AttrValue:
    """A serialized AnyValue (already validated by a full parse) as a plain Python value."""
    size = len(raw)
    if size >= 2:
        tag = raw[0]
        if tag == _STRING_TAG:
            if raw[1] == size - 2 and size < 0x82:  # one string field with a one-byte length
                return raw[2:].decode()
        elif tag == _INT_TAG:
            if size == 2 and raw[1] < 0x80:
                return raw[1]
            if size == 3 and raw[1] >= 0x80 and raw[2] < 0x80:
                return (raw[1] & 0x7F) | raw[2] << 7
            if size == 4 and raw[1] >= 0x80 and raw[2] >= 0x80 and raw[3] < 0x80:
                return (raw[1] & 0x7F) | (raw[2] & 0x7F) << 7 | raw[3] << 14
        elif tag == _DOUBLE_TAG:
            if size == 9:
                value: float = _DOUBLE(raw, 1)[0]
                return value
        elif tag == _BOOL_TAG and size == 2 and raw[1] < 0x80:
            return raw[1] != 0
    elif not size:
        return None
    return any_value(AnyValue.FromString(raw))


def wanted_attributes(entries: Any, wanted: frozenset[str]) -> dict[str, AttrValue]:
    """The ``wanted`` keys of one span's attribute map (upb ``map<string, bytes>``) as Python values."""
    result: dict[str, AttrValue] = {}
    cache = _cache
    for key in wanted.intersection(entries):
        raw = entries[key]
        value = cache.get(raw, _MISS)
        if value is _MISS:
            value = value_of(raw)
            if len(raw) <= _CACHEABLE_BYTES and not isinstance(value, list | dict):
                if len(cache) >= _CACHE_LIMIT:
                    cache.clear()
                cache[raw] = value
        result[key] = value
    return result


def attributes_dict(pairs: Iterable[Any]) -> dict[str, AttrValue]:
    """All of a repeated KeyValue as a dict in recorded order (resources: once per block)."""
    return {kv.key: any_value(kv.value) for kv in pairs}
