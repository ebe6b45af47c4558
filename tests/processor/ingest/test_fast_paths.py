"""The hot-path shortcuts (attribute maps, candidate search, wire walk, record construction) give
exactly what the plain protobuf API gives."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import (
    AnyValue,
    ArrayValue,
    InstrumentationScope,
    KeyValue,
    KeyValueList,
)
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans, Span
from otlp_values import otlp_value

from genai_cost.processor.domain import attribution
from genai_cost.processor.domain.records import LlmCall, TokenUsage
from genai_cost.processor.domain.records_fast import new_llm_call, new_token_usage, positional_constructor
from genai_cost.processor.ingest import IngestOptions, OtlpDecodeError, Rejection, decode_json, decode_protobuf
from genai_cost.processor.ingest.attribute_maps import SpanAttributeMaps, any_value, value_of, wanted_attributes
from genai_cost.processor.ingest.dialects import openinference, traceloop
from genai_cost.processor.ingest.model import SpanView
from genai_cost.processor.ingest.normalise import DIALECTS, SPAN_KEYS, claiming_dialect, read_span, span_keys

TRACE = bytes.fromhex("0af7651916cd43dd8448eb211c80319c")
GOOD = {
    "gen_ai.operation.name": "chat",
    "gen_ai.provider.name": "openai",
    "gen_ai.request.model": "gpt-4o-mini",
    "gen_ai.usage.input_tokens": 10,
    "gen_ai.usage.output_tokens": 5,
}

VALUES = [
    AnyValue(),
    AnyValue(string_value=""),
    AnyValue(string_value="chat"),
    AnyValue(string_value="x" * 127),
    AnyValue(string_value="x" * 128),
    AnyValue(string_value="modèle-日本-🤖"),
    AnyValue(int_value=0),
    AnyValue(int_value=127),
    AnyValue(int_value=128),
    AnyValue(int_value=16_383),
    AnyValue(int_value=16_384),
    AnyValue(int_value=2**21 - 1),
    AnyValue(int_value=2**21),
    AnyValue(int_value=-1),
    AnyValue(int_value=2**63 - 1),
    AnyValue(int_value=-(2**63)),
    AnyValue(double_value=0.25),
    AnyValue(double_value=-0.0),
    AnyValue(double_value=1e300),
    AnyValue(bool_value=True),
    AnyValue(bool_value=False),
    AnyValue(bytes_value=b"\x00\xff"),
    AnyValue(array_value=ArrayValue(values=[AnyValue(string_value="a"), AnyValue(int_value=3)])),
    AnyValue(kvlist_value=KeyValueList(values=[KeyValue(key="k", value=AnyValue(bool_value=True))])),
]


def span(n: int, attrs: dict[str, Any] | list[tuple[str, Any]], parent: int = 0) -> Span:
    pairs = attrs.items() if isinstance(attrs, dict) else attrs
    return Span(
        trace_id=TRACE,
        span_id=n.to_bytes(8, "big"),
        parent_span_id=parent.to_bytes(8, "big") if parent else b"",
        name="chat",
        start_time_unix_nano=1,
        end_time_unix_nano=2,
        attributes=[KeyValue(key=k, value=otlp_value(v)) for k, v in pairs],
    )


def request(*spans: Span, scope: str = "") -> bytes:
    scope_spans = ScopeSpans(spans=spans, scope=InstrumentationScope(name=scope))
    return ExportTraceServiceRequest(resource_spans=[ResourceSpans(scope_spans=[scope_spans])]).SerializeToString()


def sid(n: int) -> str:
    return n.to_bytes(8, "big").hex()


@pytest.mark.parametrize("value", VALUES, ids=lambda v: str(v).replace("\n", " ")[:40] or "empty")
def test_value_of_matches_the_message_api(value: AnyValue) -> None:
    raw = value.SerializeToString()
    expected = any_value(value)
    assert value_of(raw) == expected
    assert type(value_of(raw)) is type(expected)


def test_wanted_attributes_reads_only_wanted_keys_last_value_wins() -> None:
    message = span(1, [("gen_ai.request.model", "a"), ("content", "x" * 5000), ("gen_ai.request.model", "b")])
    entries = SpanAttributeMaps.FromString(message.SerializeToString()).attributes
    assert wanted_attributes(entries, frozenset({"gen_ai.request.model", "absent"})) == {"gen_ai.request.model": "b"}


def test_every_value_type_reaches_the_readers_as_the_message_api_gives_it() -> None:
    keys = sorted(SPAN_KEYS)
    message = span(1, [(keys[i % len(keys)], value) for i, value in enumerate(VALUES)])
    entries = SpanAttributeMaps.FromString(message.SerializeToString()).attributes
    expected = {kv.key: any_value(kv.value) for kv in message.attributes}
    assert wanted_attributes(entries, SPAN_KEYS) == expected


def test_unwanted_content_and_repeated_keys_do_not_change_the_call() -> None:
    attrs = [*GOOD.items(), ("gen_ai.input.messages", "[" + "x" * 100_000 + "]"), ("gen_ai.request.model", "gpt-4o")]
    (call,) = decode_protobuf(request(span(1, attrs)), IngestOptions()).calls
    assert (call.request_model, call.usage, call.span_id) == ("gpt-4o", TokenUsage(input=10, output=5), sid(1))


def test_bad_utf8_in_an_unread_attribute_of_an_llm_span_is_still_undecodable() -> None:
    body = request(span(1, {**GOOD, "note": "ok"}))
    broken = body.replace(b"\x0a\x02ok", b"\x0a\x02\xff\xfe")
    with pytest.raises(OtlpDecodeError) as raised:
        decode_protobuf(broken, IngestOptions())
    assert str(raised.value) == (
        "invalid protobuf: a span could not be parsed (Error parsing message with type "
        "'opentelemetry.proto.trace.v1.Span': String field had bad UTF-8)"
    )
    # A span without any dialect key is not parsed at all.
    other = request(span(1, {"http.method": "ok"})).replace(b"\x0a\x02ok", b"\x0a\x02\xff\xfe")
    assert decode_protobuf(other, IngestOptions()).spans_received == 1


def test_marker_in_a_value_makes_a_context_span_whose_attribution_children_inherit() -> None:
    parent = span(1, {"session.id": "s1", "url.full": "https://example.com/llm.v1"})
    unmarked = span(2, {"enduser.id": "u2"})  # no dialect key or marker anywhere: never read
    child = span(3, GOOD, parent=1)
    grandchild = span(4, GOOD, parent=2)
    calls = decode_protobuf(request(parent, unmarked, child, grandchild), IngestOptions()).calls
    assert [(c.span_id, c.session, c.user) for c in calls] == [(sid(3), "s1", None), (sid(4), None, None)]


def test_markers_in_every_position_of_a_mixed_request() -> None:
    spans = [
        span(1, {"http.method": "GET"}),
        span(2, {"openinference.span.kind": "LLM", "llm.model_name": "gpt-4o", "llm.token_count.prompt": 3}),
        span(3, {"db.system": "x"}),
        span(4, {"traceloop.span.kind": "task", "gen_ai.usage.input_tokens": 1}),
        span(5, {"http.url": "traceloop."}),
        span(6, GOOD),
        span(7, {"http.method": "POST"}),
    ]
    batch = decode_protobuf(request(*spans), IngestOptions())
    assert (batch.spans_received, [c.span_id for c in batch.calls], batch.skipped_aggregate) == (7, [sid(2), sid(6)], 1)


def _with_long_tags(body: bytes) -> bytes:
    """The same request with every span field of its ScopeSpans re-encoded with a two-byte tag."""
    request_message = ExportTraceServiceRequest.FromString(body)
    scope_spans = request_message.resource_spans[0].scope_spans[0]
    scope_bytes = scope_spans.scope.SerializeToString()
    out = b"\x0a" + bytes([len(scope_bytes)]) + scope_bytes
    for message in scope_spans.spans:
        raw = message.SerializeToString()
        length = bytes([len(raw) & 0x7F | 0x80, len(raw) >> 7]) if len(raw) >= 128 else bytes([len(raw)])
        out += b"\x92\x00" + length + raw  # field 2, wire type 2, as a non-minimal two-byte varint
    rs = b"\x12" + bytes([len(out) & 0x7F | 0x80, len(out) >> 7]) + out
    return b"\x0a" + bytes([len(rs) & 0x7F | 0x80, len(rs) >> 7]) + rs


def test_unusual_wire_encodings_take_the_general_walk_with_the_same_result() -> None:
    body = request(span(1, GOOD), span(2, {"http.method": "GET"}), span(3, GOOD), scope="bench")
    with_schema = ExportTraceServiceRequest.FromString(body)
    with_schema.resource_spans[0].scope_spans[0].schema_url = "https://opentelemetry.io/schemas/1.26.0"
    expected = decode_protobuf(body, IngestOptions())
    assert [c.span_id for c in expected.calls] == [sid(1), sid(3)]
    assert decode_protobuf(with_schema.SerializeToString(), IngestOptions()) == expected
    assert decode_protobuf(_with_long_tags(body), IngestOptions()) == expected


def test_json_fast_path_validates_unread_values() -> None:
    import orjson

    def body(extra: dict[str, Any]) -> bytes:
        attrs = [{"key": k, "value": {"stringValue": v}} for k, v in (("gen_ai.request.model", "gpt-4o"),)]
        attrs += [{"key": "gen_ai.usage.input_tokens", "value": {"intValue": "12"}}, extra]
        span_json = {"traceId": TRACE.hex(), "spanId": sid(1), "attributes": attrs}
        return orjson.dumps({"resourceSpans": [{"scopeSpans": [{"spans": [span_json]}]}]})

    (call,) = decode_json(body({"key": "other", "value": {"intValue": "7"}}), IngestOptions()).calls
    assert call.usage == TokenUsage(input=12)
    with pytest.raises(OtlpDecodeError) as raised:
        decode_json(body({"key": "other", "value": {"intValue": "seven"}}), IngestOptions())
    assert str(raised.value) == (
        "resourceSpans[0].scopeSpans[0].spans[0].attributes[2].value.intValue: 'seven' is not an integer"
    )


def test_values_that_used_to_crash_are_rejected_or_ignored() -> None:
    nan_cost = span(1, {**GOOD, "gen_ai.usage.cost": float("nan")})
    batch = decode_protobuf(request(nan_cost, scope="openlit.instrumentation.openai"), IngestOptions())
    assert batch.rejected == [
        Rejection("invalid_attribute", TRACE.hex(), sid(1), "gen_ai.usage.cost: nan is not a finite cost")
    ]
    kind = AnyValue(array_value=ArrayValue(values=[AnyValue(string_value="task")]))
    (call,) = decode_protobuf(request(span(2, {**GOOD, "traceloop.span.kind": kind})), IngestOptions()).calls
    assert (call.dialect, call.span_id) == ("traceloop", sid(2))


class _Spy(dict[str, Any]):
    """Records every key a reader looks at."""

    seen: set[str]

    def get(self, key: str, default: Any = None) -> Any:
        self.seen.add(key)
        return super().get(key, default)

    def __contains__(self, key: object) -> bool:
        self.seen.add(str(key))
        return super().__contains__(key)

    def __getitem__(self, key: str) -> Any:
        self.seen.add(key)
        return super().__getitem__(key)


def _spy(attrs: dict[str, Any]) -> _Spy:
    spy = _Spy(attrs)
    spy.seen = set()
    return spy


@pytest.mark.parametrize(
    ("scope", "attrs"),
    [
        ("", {}),
        ("", {"gen_ai.operation.name": "invoke_agent", "metadata": "{}"}),
        ("", {"openinference.span.kind": "LLM"}),
        ("", {"openinference.span.kind": "EMBEDDING", "llm.token_count.prompt": 1}),
        ("openlit.instrumentation.openai", {"gen_ai.operation.name": "chat", "gen_ai.usage.input_tokens": 1}),
        ("com.anthropic.sdk.python", {"gen_ai.usage.output_tokens": 1}),
        ("opentelemetry.instrumentation.anthropic", {"gen_ai.usage.output_tokens": 3}),
        ("", {"traceloop.span.kind": "agent", "gen_ai.usage.output_tokens": 3}),
    ],
)
def test_readers_only_look_at_span_keys(scope: str, attrs: dict[str, Any]) -> None:
    view = SpanView(TRACE.hex(), sid(1), None, 1, 2, 2, _spy(attrs), scope, "0.40.0", {})
    spy = view.attributes
    assert isinstance(spy, _Spy)
    read_span(view)
    attribution.span_attribution(spy)
    # Every dialect's own reader, not only the one that claims the span.
    for dialect in (openinference, traceloop):
        dialect.claims(view)
    assert spy.seen <= SPAN_KEYS
    assert span_keys(IngestOptions(tag_attributes={"team": "team"})) == SPAN_KEYS | {"team"}


def test_positional_constructors_build_equal_records() -> None:
    fields = [f.name for f in dataclasses.fields(LlmCall)]
    full = LlmCall(*[f"v{i}" for i in range(len(fields))])  # type: ignore[arg-type]
    assert new_llm_call(*[f"v{i}" for i in range(len(fields))]) == full
    short = new_llm_call("t", "s", None, 1, 2, "openai", "chat", "m", None, None, "a", "svc")
    assert short == LlmCall("t", "s", None, 1, 2, "openai", "chat", "m", None, None, "a", "svc")
    assert short.tags == {} and short.tags is not new_llm_call(*range(12)).tags  # a fresh default dict
    assert new_token_usage(1, 2, 3, 4, 5) == TokenUsage(1, 2, 3, 4, 5)
    with pytest.raises(dataclasses.FrozenInstanceError):
        short.agent = "other"  # type: ignore[misc]


def test_positional_constructor_keeps_classes_it_cannot_build() -> None:
    @dataclasses.dataclass(frozen=True, slots=True)
    class Checked:
        value: int

        def __post_init__(self) -> None:
            if self.value < 0:
                raise ValueError("negative")

    @dataclasses.dataclass(frozen=True)
    class NoSlots:
        value: int

    assert positional_constructor(Checked) is Checked
    assert positional_constructor(NoSlots) is NoSlots


@pytest.mark.parametrize(
    ("scope", "attrs"),
    [
        ("", {}),
        ("", {"openinference.span.kind": "LLM"}),
        ("", {"telemetry.sdk.name": "openlit"}),
        ("openlit.instrumentation.openai", {"gen_ai.usage.input_tokens": 1}),
        ("com.anthropic.sdk.python", {"gen_ai.usage.output_tokens": 1}),
        ("opentelemetry.instrumentation.anthropic", {}),
        ("", {"traceloop.entity.name": "x"}),
        ("", {"llm.usage.total_tokens": 3}),
    ],
)
def test_claims_read_only_their_claim_keys_so_the_scope_cache_picks_the_same_dialect(
    scope: str, attrs: dict[str, Any]
) -> None:
    for dialect in DIALECTS:
        view = SpanView(TRACE.hex(), sid(1), None, 1, 2, 0, _spy(attrs), scope, "0.40.0", {})
        dialect.claims(view)
        assert view.attributes.seen <= dialect.CLAIM_KEYS, dialect.NAME  # type: ignore[attr-defined]
    view = SpanView(TRACE.hex(), sid(1), None, 1, 2, 0, dict(attrs), scope, "0.40.0", {})
    expected = next(dialect for dialect in DIALECTS if dialect.claims(view))
    assert claiming_dialect(view) is expected
    assert claiming_dialect(view) is expected  # from the cache when no claim key is present
