"""Acceptance: bad input gets a precise status or partial success, is counted by reason, the
processor keeps serving and earlier data stays intact (real decoders and pricer, in process)."""

from __future__ import annotations

import gzip
import itertools
from collections.abc import Iterator
from pathlib import Path

import grpc
import httpx
import orjson
import pytest
from google.rpc import status_pb2
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from prometheus_client import CollectorRegistry

from genai_cost.processor.app import App
from genai_cost.processor.config import Config

PB = {"Content-Type": "application/x-protobuf"}
JS = {"Content-Type": "application/json"}
LIMIT = 256 * 1024
TRACE = bytes.fromhex("0af7651916cd43dd8448eb211c80319c")


def _kv(key: str, value: object) -> KeyValue:
    if isinstance(value, int):
        return KeyValue(key=key, value=AnyValue(int_value=value))
    if isinstance(value, float):
        return KeyValue(key=key, value=AnyValue(double_value=value))
    return KeyValue(key=key, value=AnyValue(string_value=str(value)))


_span_ids = itertools.count(1)


def request(*spans: dict[str, object], service: str = "shop") -> bytes:
    """An ExportTraceServiceRequest with one LLM span per attribute dict (fresh span ids)."""
    message = ExportTraceServiceRequest()
    rs = message.resource_spans.add()
    rs.resource.attributes.append(_kv("service.name", service))
    ss = rs.scope_spans.add()
    for attributes in spans:
        span = ss.spans.add()
        span.trace_id = TRACE
        span.span_id = next(_span_ids).to_bytes(8, "big")
        span.name = "chat"
        span.kind = 3
        span.start_time_unix_nano = 1_750_000_000_000_000_000
        span.end_time_unix_nano = 1_750_000_001_000_000_000
        span.attributes.extend(_kv(k, v) for k, v in attributes.items())
    return message.SerializeToString()


def llm(**overrides: object) -> dict[str, object]:
    attributes: dict[str, object] = {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "openai",
        "gen_ai.request.model": "gpt-4o-mini",
        "gen_ai.usage.input_tokens": 1000,
        "gen_ai.usage.output_tokens": 100,
    }
    attributes.update(overrides)
    return {k: v for k, v in attributes.items() if v is not None}


@pytest.fixture
def app(tmp_path: Path) -> Iterator[App]:
    config = Config.from_values(
        {
            "otlp.grpc.port": 0,
            "otlp.http.port": 0,
            "http.port": 0,
            "ledger.path": tmp_path / "ledger.sqlite3",
            "ledger.synchronous": "normal",
            "otlp.max_request_bytes": LIMIT,
        }
    )
    running = App(config, registry=CollectorRegistry(), extensions=[])
    running.start()
    yield running
    running.stop()


def post(app: App, body: bytes, headers: dict[str, str]) -> httpx.Response:
    return httpx.post(f"http://127.0.0.1:{app.otlp_http_port}/v1/traces", content=body, headers=headers, timeout=10)


def sample(app: App, name: str, **labels: str) -> float | None:
    return app.registry.get_sample_value(name, labels)


MINI = {"agent": "shop", "provider": "openai", "model": "gpt-4o-mini", "operation": "chat"}


def test_bad_input_is_refused_precisely_and_earlier_data_survives(app: App) -> None:
    good = request(llm(**{"gen_ai.response.id": "chatcmpl-good"}))
    assert post(app, good, PB).status_code == 200
    assert sample(app, "genai_cost_usd_total", **MINI, token_type="input") == 0.00015

    # Truncated and garbage protobuf: 400 with a google.rpc.Status, nothing recorded.
    for body in (good[:-7], b"\xff\xfe\xfd garbage"):
        response = post(app, body, PB)
        status = status_pb2.Status.FromString(response.content)
        assert (response.status_code, status.code) == (400, 3)
        assert status.message.startswith("invalid protobuf")

    # Invalid JSON and base64 (not hex) ids in OTLP/JSON.
    response = post(app, b'{"resourceSpans": [', JS)
    assert (response.status_code, orjson.loads(response.content)["code"]) == (400, 3)
    b64 = {
        "resourceSpans": [
            {
                "scopeSpans": [
                    {
                        "spans": [
                            {
                                "traceId": "CvdlGRbNQ92ESOshHIAxnA==",
                                "spanId": "AAAAAAAAAAE=",
                                "name": "chat",
                                "attributes": [
                                    {"key": "gen_ai.operation.name", "value": {"stringValue": "chat"}},
                                    {"key": "gen_ai.provider.name", "value": {"stringValue": "openai"}},
                                    {"key": "gen_ai.request.model", "value": {"stringValue": "gpt-4o-mini"}},
                                    {"key": "gen_ai.usage.input_tokens", "value": {"intValue": "5"}},
                                ],
                            }
                        ]
                    }
                ]
            }
        ]
    }
    response = post(app, orjson.dumps(b64), JS)
    assert (response.status_code, orjson.loads(response.content)) == (
        400,
        {
            "code": 3,
            "message": "resourceSpans[0].scopeSpans[0].spans[0].traceId: 'CvdlGRbNQ92ESOshHIAxnA==' is not 32 hex "
            "characters (it looks base64-encoded: OTLP/JSON encodes trace and span ids as hex)",
        },
    )

    # Wrong content type, oversize body, gzip bomb.
    assert post(app, good, {"Content-Type": "text/plain"}).status_code == 415
    assert post(app, b"\0" * (LIMIT + 1), PB).status_code == 413
    bomb = gzip.compress(b"\0" * (8 * LIMIT))
    assert post(app, bomb, {**PB, "Content-Encoding": "gzip"}).status_code == 413

    # Negative, non-integer and absurd token counts: partial success naming attribute and value.
    bad = request(
        llm(**{"gen_ai.usage.input_tokens": -5}),
        llm(**{"gen_ai.usage.output_tokens": 12.5}),
        llm(**{"gen_ai.usage.input_tokens": 10**15}),
        llm(**{"gen_ai.response.id": "chatcmpl-ok-in-bad-batch", "gen_ai.usage.input_tokens": 10}),
    )
    response = post(app, bad, PB)
    partial = ExportTraceServiceResponse.FromString(response.content).partial_success
    assert (response.status_code, partial.rejected_spans) == (200, 3)
    assert "gen_ai.usage.input_tokens: -5 must be >= 0" in partial.error_message
    assert "gen_ai.usage.output_tokens: 12.5 is not an integer token count" in partial.error_message
    assert "gen_ai.usage.input_tokens: 1000000000000000 exceeds 1000000000 tokens per call" in partial.error_message
    assert sample(app, "genai_processor_spans_rejected_total", reason="invalid_tokens") == 3

    # Unknown model: recorded, unpriced (never $0), counted; unicode names kept as label values.
    odd = request(
        llm(**{"gen_ai.request.model": "my-private-model-9", "gen_ai.response.id": "chatcmpl-odd"}),
        llm(**{"gen_ai.response.id": "chatcmpl-uni", "gen_ai.agent.name": "Agent Ünïcødé 🤖"}),
    )
    assert post(app, odd, PB).status_code == 200
    assert sample(app, "genai_unpriced_requests_total", provider="openai", model="my-private-model-9") == 1
    unicode_labels = {**MINI, "agent": "Agent Ünïcødé 🤖"}
    assert sample(app, "genai_cost_usd_total", **unicode_labels, token_type="input") == 0.00015
    metrics = httpx.get(f"http://127.0.0.1:{app.http_port}/metrics").text
    assert 'agent="Agent Ünïcødé 🤖"' in metrics

    # Still serving; the first call is still counted exactly once.
    assert post(app, good, PB).status_code == 200
    assert sample(app, "genai_requests_total", **MINI, outcome="ok") == 2  # good + the valid one in `bad`
    assert sample(app, "genai_processor_spans_rejected_total", reason="malformed_payload") == 4
    assert sample(app, "genai_processor_spans_rejected_total", reason="payload_too_large") == 2
    assert sample(app, "genai_processor_spans_rejected_total", reason="unsupported_content_type") == 1
    assert sample(app, "genai_processor_duplicate_calls_total", kind="span_replay") == 1


def test_grpc_bad_input(app: App) -> None:
    channel = grpc.insecure_channel(f"127.0.0.1:{app.grpc_port}")
    export = channel.unary_unary("/opentelemetry.proto.collector.trace.v1.TraceService/Export")
    try:
        good = request(llm(**{"gen_ai.response.id": "chatcmpl-grpc"}))
        assert ExportTraceServiceResponse.FromString(export(good, timeout=10)) == ExportTraceServiceResponse()
        with pytest.raises(grpc.RpcError) as info:
            export(good[:-3], timeout=10)
        assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        with pytest.raises(grpc.RpcError) as info:
            export(b"\0" * (LIMIT + 1), timeout=10)
        assert info.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        bad = request(llm(**{"gen_ai.usage.output_tokens": -1}))
        bad_span = int.from_bytes(
            ExportTraceServiceRequest.FromString(bad).resource_spans[0].scope_spans[0].spans[0].span_id, "big"
        )
        partial = ExportTraceServiceResponse.FromString(export(bad, timeout=10)).partial_success
        assert (partial.rejected_spans, partial.error_message) == (
            1,
            f"1 span(s) rejected (1 invalid_tokens): span {TRACE.hex()}/{bad_span:016x}: "
            "gen_ai.usage.output_tokens: -1 must be >= 0",
        )
        assert sample(app, "genai_requests_total", **MINI, outcome="ok") == 1
    finally:
        channel.close()
