"""Bad payloads raise OtlpDecodeError with a precise message; bad spans become precise Rejections
while the good spans of the same request are still accepted."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans, Span
from otlp_values import otlp_value

from genai_cost.processor.domain.records import TokenUsage
from genai_cost.processor.ingest import IngestOptions, OtlpDecodeError, Rejection, decode_json, decode_protobuf

TRACE = bytes.fromhex("0af7651916cd43dd8448eb211c80319c")
GOOD = {
    "gen_ai.operation.name": "chat",
    "gen_ai.provider.name": "openai",
    "gen_ai.request.model": "gpt-4o-mini",
    "gen_ai.usage.input_tokens": 10,
    "gen_ai.usage.output_tokens": 5,
}


def span(n: int, attrs: dict[str, Any], trace_id: bytes = TRACE) -> Span:
    return Span(
        trace_id=trace_id,
        span_id=n.to_bytes(8, "big"),
        name="chat",
        start_time_unix_nano=1,
        end_time_unix_nano=2,
        attributes=[KeyValue(key=k, value=otlp_value(v)) for k, v in attrs.items()],
    )


def request(*spans: Span) -> bytes:
    return ExportTraceServiceRequest(
        resource_spans=[ResourceSpans(scope_spans=[ScopeSpans(spans=spans)])]
    ).SerializeToString()


def sid(n: int) -> str:
    return n.to_bytes(8, "big").hex()


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"\x00\x01garbage", "invalid protobuf: field number 0 in ExportTraceServiceRequest at byte 1"),
        (
            b"\x0a\x05ab",
            "invalid protobuf: ExportTraceServiceRequest field 1 declares 5 bytes at byte 2, "
            "only 2 remain (truncated?)",
        ),
        (b"\x0f", "invalid protobuf: wire type 7 in ExportTraceServiceRequest at byte 1"),
        (b"\x0a\x80", "truncated or malformed varint at byte 2"),
    ],
)
def test_undecodable_protobuf(body: bytes, message: str) -> None:
    with pytest.raises(OtlpDecodeError) as raised:
        decode_protobuf(body, IngestOptions())
    assert str(raised.value) == message


def test_truncated_real_request_is_undecodable() -> None:
    body = request(span(1, GOOD), span(2, GOOD))
    with pytest.raises(OtlpDecodeError, match=r"declares \d+ bytes at byte \d+, only \d+ remain"):
        decode_protobuf(body[:-7], IngestOptions())


def test_empty_body_is_an_empty_request() -> None:
    batch = decode_protobuf(b"", IngestOptions())
    assert (batch.spans_received, batch.calls, batch.rejected) == (0, [], [])


@pytest.mark.parametrize(
    ("attrs", "reason", "message"),
    [
        ({"gen_ai.usage.input_tokens": -5}, "invalid_tokens", "gen_ai.usage.input_tokens: -5 must be >= 0"),
        (
            {"gen_ai.usage.output_tokens": 12.5},
            "invalid_tokens",
            "gen_ai.usage.output_tokens: 12.5 is not an integer token count",
        ),
        (
            {"gen_ai.usage.output_tokens": "300"},
            "invalid_tokens",
            "gen_ai.usage.output_tokens: '300' is not an integer token count",
        ),
        (
            {"gen_ai.usage.input_tokens": 2_000_000_000},
            "invalid_tokens",
            "gen_ai.usage.input_tokens: 2000000000 exceeds 1000000000 tokens per call",
        ),
        ({"gen_ai.request.model": 42}, "invalid_attribute", "gen_ai.request.model: 42 is not a string"),
        (
            {"gen_ai.usage.cache_read.input_tokens": 11},
            "invalid_tokens",
            "cache read 11 + cache write 0 tokens exceed input tokens 10 (semconv counts cached tokens inside input)",
        ),
        ({"gen_ai.usage.reasoning.output_tokens": 6}, "invalid_tokens", "reasoning tokens 6 exceed output tokens 5"),
        ({"gen_ai.request.model": ""}, "missing_model", "semconv inference span names no model"),
    ],
)
def test_bad_span_rejected_precisely_and_others_kept(attrs: dict[str, Any], reason: str, message: str) -> None:
    body = request(span(1, GOOD), span(2, {**GOOD, **attrs}), span(3, {"http.method": "GET"}))
    batch = decode_protobuf(body, IngestOptions())
    assert batch.spans_received == 3
    assert [c.span_id for c in batch.calls] == [sid(1)]
    assert batch.rejected == [Rejection(reason, TRACE.hex(), sid(2), message)]


def test_wrong_length_ids_rejected() -> None:
    batch = decode_protobuf(request(span(1, GOOD, trace_id=b"\x01\x02")), IngestOptions())
    assert batch.rejected == [Rejection("invalid_id", "0102", sid(1), "trace_id: '0102' is 2 bytes, not 16")]


def test_unicode_names_kept() -> None:
    attrs = {**GOOD, "gen_ai.request.model": "modèle-日本", "gen_ai.agent.name": "agent-🤖"}
    (call,) = decode_protobuf(request(span(1, attrs)), IngestOptions()).calls
    assert (call.model, call.agent) == ("modèle-日本", "agent-🤖")


def test_aggregate_span_with_usage_is_skipped_not_priced() -> None:
    agent = {
        "gen_ai.operation.name": "invoke_agent",
        "gen_ai.agent.name": "planner",
        "gen_ai.usage.input_tokens": 100,
        "gen_ai.usage.output_tokens": 50,
    }
    workflow = {"traceloop.span.kind": "workflow", "gen_ai.usage.input_tokens": 100}
    chain = {"openinference.span.kind": "CHAIN", "llm.token_count.prompt": 100}
    batch = decode_protobuf(request(span(1, agent), span(2, workflow), span(3, chain), span(4, GOOD)), IngestOptions())
    assert (batch.skipped_aggregate, [c.span_id for c in batch.calls]) == (3, [sid(4)])


def test_deprecated_semconv_names() -> None:
    attrs = {
        "gen_ai.system": "Anthropic",
        "gen_ai.request.model": "claude-3-5-haiku",
        "gen_ai.usage.prompt_tokens": 1000,
        "gen_ai.usage.completion_tokens": 40,
        "gen_ai.usage.cache_creation.input_tokens": 300,
    }
    (call,) = decode_protobuf(request(span(1, attrs)), IngestOptions()).calls
    assert (call.provider, call.operation, call.usage) == (
        "anthropic",
        "chat",
        TokenUsage(input=700, cache_write=300, output=40),
    )


def test_tags_from_span_then_resource() -> None:
    from opentelemetry.proto.resource.v1.resource_pb2 import Resource

    resource = Resource(
        attributes=[
            KeyValue(key="team", value=otlp_value("infra")),
            KeyValue(key="tenant", value=otlp_value("acme")),
            KeyValue(key="service.name", value=otlp_value("svc")),
        ]
    )
    spans = [span(1, {**GOOD, "team": "search"})]
    body = ExportTraceServiceRequest(
        resource_spans=[ResourceSpans(resource=resource, scope_spans=[ScopeSpans(spans=spans)])]
    ).SerializeToString()
    options = IngestOptions(tag_attributes={"team": "team", "tenant": "tenant", "region": "region"})
    (call,) = decode_protobuf(body, options).calls
    assert (dict(call.tags), call.agent, call.service) == ({"team": "search", "tenant": "acme"}, "svc", "svc")


# --- OTLP/JSON --------------------------------------------------------------------------------------


def _json_request(span_fields: dict[str, Any]) -> bytes:
    span_json = {
        "traceId": TRACE.hex(),
        "spanId": sid(1),
        "name": "chat",
        "startTimeUnixNano": "1",
        "endTimeUnixNano": "2",
        "attributes": [
            {"key": "gen_ai.request.model", "value": {"stringValue": "gpt-4o-mini"}},
            {"key": "gen_ai.usage.input_tokens", "value": {"intValue": "10"}},
        ],
        **span_fields,
    }
    return orjson.dumps({"resourceSpans": [{"scopeSpans": [{"spans": [span_json]}]}]})


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"{not json", "invalid JSON: "),
        (b"[]", "request: expected an object, got list"),
        (b'{"resourceSpans": {}}', "request.resourceSpans: expected an array, got dict"),
        (
            _json_request({"spanId": "AAAAAAAAAAE="}),
            "resourceSpans[0].scopeSpans[0].spans[0].spanId: 'AAAAAAAAAAE=' is not 16 hex characters "
            "(it looks base64-encoded: OTLP/JSON encodes trace and span ids as hex)",
        ),
        (
            _json_request({"traceId": "xyz"}),
            "resourceSpans[0].scopeSpans[0].spans[0].traceId: 'xyz' is not 32 hex characters",
        ),
    ],
)
def test_undecodable_json(body: bytes, message: str) -> None:
    with pytest.raises(OtlpDecodeError) as raised:
        decode_json(body, IngestOptions())
    assert str(raised.value).startswith(message)
    if not message.endswith(": "):
        assert str(raised.value) == message


def test_json_int_values_as_strings_and_missing_ids() -> None:
    (call,) = decode_json(_json_request({}), IngestOptions()).calls
    assert (call.usage, call.trace_id, call.end_time_ns) == (TokenUsage(input=10), TRACE.hex(), 2)
    batch = decode_json(_json_request({"spanId": ""}), IngestOptions())
    assert batch.rejected == [Rejection("invalid_id", TRACE.hex(), "", "spanId: missing or empty")]
