"""OTLP/JSON -> DecodedBatch with orjson and a hand mapping (``json_format`` is slow and reads ids
as base64, but OTLP/JSON encodes trace and span ids as hex).

Structure errors (not JSON, wrong shapes, ids that are not hex) make the whole payload undecodable:
OtlpDecodeError with the JSON path of the offending field.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

import orjson

from genai_cost.processor.ingest.model import (
    AttrValue,
    DecodedBatch,
    IngestOptions,
    OtlpDecodeError,
    SpanView,
)
from genai_cost.processor.ingest.normalise import build_batch, span_keys

_PREFIXES = ("gen_ai.", "llm.", "openinference.", "traceloop.")
_STATUS_CODES = {"STATUS_CODE_UNSET": 0, "STATUS_CODE_OK": 1, "STATUS_CODE_ERROR": 2}
_HEX = frozenset("0123456789abcdefABCDEF")
_NO_VALUE: dict[str, Any] = {}


def _get(obj: dict[str, Any], camel: str, snake: str) -> Any:
    value = obj.get(camel)
    return obj.get(snake) if value is None else value


def _list(obj: dict[str, Any], camel: str, snake: str, where: str) -> list[Any]:
    value = _get(obj, camel, snake)
    if value is None:
        return []
    if not isinstance(value, list):
        raise OtlpDecodeError(f"{where}.{camel}: expected an array, got {type(value).__name__}")
    return value


def _object(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise OtlpDecodeError(f"{where}: expected an object, got {type(value).__name__}")
    return value


def _any_value(value: Any, where: str) -> AttrValue:
    if not isinstance(value, dict):
        raise OtlpDecodeError(f"{where}: expected an AnyValue object, got {type(value).__name__}")
    for key, raw in value.items():
        if key in ("stringValue", "string_value"):
            return raw if isinstance(raw, str) else str(raw)
        if key in ("intValue", "int_value"):
            try:
                return int(raw)
            except (TypeError, ValueError):
                raise OtlpDecodeError(f"{where}.intValue: {raw!r} is not an integer") from None
        if key in ("doubleValue", "double_value"):
            try:
                return float(raw)
            except (TypeError, ValueError):
                raise OtlpDecodeError(f"{where}.doubleValue: {raw!r} is not a number") from None
        if key in ("boolValue", "bool_value"):
            return bool(raw)
        if key in ("arrayValue", "array_value"):
            items = _object(raw, where + ".arrayValue").get("values") or []
            return [_any_value(item, f"{where}.arrayValue.values[{i}]") for i, item in enumerate(items)]
        if key in ("kvlistValue", "kvlist_value"):
            pairs = _object(raw, where + ".kvlistValue").get("values") or []
            return _attributes(pairs, where + ".kvlistValue.values")
        if key in ("bytesValue", "bytes_value"):
            try:
                return base64.b64decode(raw, validate=True)
            except (binascii.Error, TypeError, ValueError):
                raise OtlpDecodeError(f"{where}.bytesValue: {raw!r} is not base64") from None
    return None


def _attributes(pairs: Any, where: str, wanted: frozenset[str] | None = None) -> dict[str, AttrValue]:
    """The key/value list as a dict (only the ``wanted`` keys when given; every value is validated)."""
    if not isinstance(pairs, list):
        raise OtlpDecodeError(f"{where}: expected an array of key/value objects")
    result: dict[str, AttrValue] = {}
    for i, pair in enumerate(pairs):
        if type(pair) is dict:
            key = pair.get("key")
            value = pair.get("value", _NO_VALUE)
            if type(key) is str and type(value) is dict and len(value) == 1:
                # Fast path for the usual one-member AnyValue; anything else goes the general way.
                (kind, raw), *_ = value.items()
                if kind == "stringValue" and type(raw) is str:
                    if wanted is None or key in wanted:
                        result[key] = raw
                    continue
                if kind == "intValue" and type(raw) is str and len(raw) < 19 and raw.isdigit() and raw.isascii():
                    if wanted is None or key in wanted:
                        result[key] = int(raw)
                    continue
        pair = _object(pair, f"{where}[{i}]")
        key = pair.get("key")
        if not isinstance(key, str):
            raise OtlpDecodeError(f"{where}[{i}].key: {key!r} is not a string")
        converted = _any_value(pair.get("value", {}), f"{where}[{i}].value")
        if wanted is None or key in wanted:
            result[key] = converted
    return result


def _hex_id(raw: Any, chars: int, where: str) -> str:
    """A hex id of ``chars`` characters, lowercased; "" when absent. Base64 gets a precise error."""
    if raw is None or raw == "":
        return ""
    if not isinstance(raw, str):
        raise OtlpDecodeError(f"{where}: {raw!r} is not a string of {chars} hex characters")
    if len(raw) == chars and _HEX.issuperset(raw):
        return raw.lower()
    hint = ""
    try:
        if len(base64.b64decode(raw, validate=True)) == chars // 2:
            hint = " (it looks base64-encoded: OTLP/JSON encodes trace and span ids as hex)"
    except (binascii.Error, ValueError):
        pass
    raise OtlpDecodeError(f"{where}: {raw!r} is not {chars} hex characters{hint}")


def _plain_hex(raw: Any, chars: int) -> bool:
    """True when :func:`_hex_id` accepts ``raw`` (absent, or ``chars`` hex characters)."""
    return raw is None or raw == "" or (type(raw) is str and len(raw) == chars and _HEX.issuperset(raw))


def _int(raw: Any, where: str) -> int:
    if raw is None:
        return 0
    try:
        return int(raw)
    except (TypeError, ValueError):
        raise OtlpDecodeError(f"{where}: {raw!r} is not an integer") from None


def _status_code(status: Any, where: str) -> int:
    if not isinstance(status, dict):
        return 0
    code = status.get("code", 0)
    if isinstance(code, str):
        if code in _STATUS_CODES:
            return _STATUS_CODES[code]
        raise OtlpDecodeError(f"{where}.status.code: {code!r} is not a status code")
    return _int(code, where + ".status.code")


def _is_candidate(raw_attrs: Any) -> bool:
    if not isinstance(raw_attrs, list):
        return False
    for pair in raw_attrs:
        key = pair.get("key") if isinstance(pair, dict) else None
        if isinstance(key, str) and key.startswith(_PREFIXES):
            return True
    return False


def _view(
    span: dict[str, Any],
    where: str,
    scope: dict[str, Any],
    resource: dict[str, AttrValue],
    wanted: frozenset[str],
) -> SpanView:
    trace_id = _hex_id(_get(span, "traceId", "trace_id"), 32, where + ".traceId")
    span_id = _hex_id(_get(span, "spanId", "span_id"), 16, where + ".spanId")
    parent = _hex_id(_get(span, "parentSpanId", "parent_span_id"), 16, where + ".parentSpanId")
    problem = ""
    if not trace_id:
        problem = "traceId: missing or empty"
    elif not span_id:
        problem = "spanId: missing or empty"
    return SpanView(
        trace_id=trace_id,
        span_id=span_id,
        parent_span_id=parent or None,
        start_time_ns=_int(_get(span, "startTimeUnixNano", "start_time_unix_nano"), where + ".startTimeUnixNano"),
        end_time_ns=_int(_get(span, "endTimeUnixNano", "end_time_unix_nano"), where + ".endTimeUnixNano"),
        status_code=_status_code(span.get("status"), where),
        attributes=_attributes(span.get("attributes") or [], where + ".attributes", wanted),
        scope_name=scope.get("name") or "",
        scope_version=scope.get("version") or "",
        resource=resource,
        ids_valid=not problem,
        id_problem=problem,
    )


def decode_json(body: bytes, options: IngestOptions) -> DecodedBatch:
    """Decode an OTLP/JSON ExportTraceServiceRequest; OtlpDecodeError if the payload is malformed."""
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError as error:
        raise OtlpDecodeError(f"invalid JSON: {error}") from None
    document = _object(document, "request")
    views: list[SpanView] = []
    received = 0
    wanted = span_keys(options)
    for r, rs in enumerate(_list(document, "resourceSpans", "resource_spans", "request")):
        r_where = f"resourceSpans[{r}]"
        rs = _object(rs, r_where)
        resource: dict[str, AttrValue] | None = None
        for s, ss in enumerate(_list(rs, "scopeSpans", "scope_spans", r_where)):
            s_where = f"{r_where}.scopeSpans[{s}]"
            ss = _object(ss, s_where)
            spans = _list(ss, "spans", "spans", s_where)
            received += len(spans)
            scope = ss.get("scope") or {}
            for i, span in enumerate(spans):
                if type(span) is dict and not _is_candidate(span.get("attributes")):
                    # Ids are still checked: a payload with base64 ids is wrongly encoded as a whole.
                    if not (
                        _plain_hex(_get(span, "traceId", "trace_id"), 32)
                        and _plain_hex(_get(span, "spanId", "span_id"), 16)
                    ):
                        where = f"{s_where}.spans[{i}]"
                        _hex_id(_get(span, "traceId", "trace_id"), 32, where + ".traceId")
                        _hex_id(_get(span, "spanId", "span_id"), 16, where + ".spanId")
                    continue
                where = f"{s_where}.spans[{i}]"
                span = _object(span, where)  # a candidate: not a dict raises here
                if resource is None:
                    raw_resource = _object(rs.get("resource") or {}, r_where + ".resource")
                    resource = _attributes(raw_resource.get("attributes") or [], r_where + ".resource.attributes")
                views.append(_view(span, where, _object(scope, s_where + ".scope"), resource, wanted))
    return build_batch(views, received, options)
