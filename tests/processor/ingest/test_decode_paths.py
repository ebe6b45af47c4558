"""The three entry points agree: raw protobuf, a parsed gRPC message, OTLP/JSON."""

from __future__ import annotations

from typing import Any

import orjson
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from genai_cost.processor.ingest import IngestOptions, decode_json, decode_protobuf, decode_request


def test_all_entry_points_give_the_same_batch(load_pb: Any, otlp_json: Any) -> None:
    body = load_pb("openinference", "anthropic_messages")
    options = IngestOptions(tag_attributes={"service.name": "svc"})
    raw = decode_protobuf(body, options)
    parsed = decode_request(ExportTraceServiceRequest.FromString(body), options)
    as_json = decode_json(orjson.dumps(otlp_json(body)), options)
    assert raw == parsed == as_json
    assert [(c.dialect, dict(c.tags)) for c in raw.calls] == [
        ("anthropic-sdk", {"svc": "openinference-demo"}),
        ("openinference", {"svc": "openinference-demo"}),
    ]


def test_memoryview_body_accepted(load_pb: Any) -> None:
    body = load_pb("sdk-native", "anthropic_messages")
    assert decode_protobuf(memoryview(body), IngestOptions()) == decode_protobuf(body, IngestOptions())  # type: ignore[arg-type]
