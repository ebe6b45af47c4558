"""OTLP/HTTP receiver: content types, gzip, size limit, partial success, status bodies, retryable errors."""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from typing import Any

import httpx
import orjson
import pytest
from google.rpc import error_details_pb2, status_pb2
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse

from genai_cost.processor.adapters.http_server import HttpServer, Routes
from genai_cost.processor.adapters.otlp_http import OtlpHttpReceiver
from genai_cost.processor.domain.records import TokenUsage
from genai_cost.processor.pipeline import SpanRejection

LIMIT = 64 * 1024
PB = {"Content-Type": "application/x-protobuf"}
JS = {"Content-Type": "application/json"}


@pytest.fixture
def client(stack: Any) -> Iterator[httpx.Client]:
    routes = Routes()
    OtlpHttpReceiver(stack.service, LIMIT).register(routes)
    server = HttpServer("127.0.0.1", 0, routes)
    server.start()
    with httpx.Client(base_url=f"http://127.0.0.1:{server.port}", timeout=10) as c:
        yield c
    server.stop(2)


def _status(response: httpx.Response) -> status_pb2.Status:
    return status_pb2.Status.FromString(response.content)


def test_protobuf_export_is_committed_then_acknowledged(client: httpx.Client, stack: Any, calls: Any) -> None:
    call = calls.call(usage=TokenUsage(input=1000, output=100))
    stack.decoder.batches[b"batch-1"] = stack.batch(3, [call])
    response = client.post("/v1/traces", content=b"batch-1", headers=PB)
    assert (response.status_code, response.headers["content-type"]) == (200, "application/x-protobuf")
    assert ExportTraceServiceResponse.FromString(response.content) == ExportTraceServiceResponse()
    assert stack.ledger.count_calls() == 1
    assert stack.sample("genai_processor_spans_received_total", transport="http_protobuf") == 3
    labels = {"agent": "planner", "provider": "openai", "model": "gpt-4o-mini-2024-07-18", "operation": "chat"}
    assert stack.sample("genai_cost_usd_total", **labels, token_type="input") == 0.00015
    assert stack.sample("genai_tokens_total", **labels, token_type="output") == 100


def test_json_export_and_partial_success(client: httpx.Client, stack: Any, calls: Any) -> None:
    good = calls.call()
    bad = SpanRejection("negative_tokens", "ab" * 16, "cd" * 8, "gen_ai.usage.input_tokens=-5 is negative")
    stack.decoder.batches[b'{"resourceSpans":[]}'] = stack.batch(2, [good], [bad])
    response = client.post(
        "/v1/traces", content=b'{"resourceSpans":[]}', headers={"Content-Type": "application/json; charset=utf-8"}
    )
    assert (response.status_code, response.headers["content-type"]) == (200, "application/json")
    assert orjson.loads(response.content) == {
        "partialSuccess": {
            "rejectedSpans": "1",
            "errorMessage": "1 span(s) rejected (1 negative_tokens): span "
            + "ab" * 16
            + "/"
            + "cd" * 8
            + ": gen_ai.usage.input_tokens=-5 is negative",
        }
    }
    assert stack.ledger.count_calls() == 1
    assert stack.sample("genai_processor_spans_rejected_total", reason="negative_tokens") == 1
    assert stack.sample("genai_processor_spans_received_total", transport="http_json") == 2


def test_protobuf_partial_success(client: httpx.Client, stack: Any, calls: Any) -> None:
    rejections = [SpanRejection("unknown_operation", f"{i:032x}", f"{i:016x}", "bad op") for i in range(7)]
    stack.decoder.batches[b"p"] = stack.batch(7, [], rejections)
    response = client.post("/v1/traces", content=b"p", headers=PB)
    partial = ExportTraceServiceResponse.FromString(response.content).partial_success
    assert (response.status_code, partial.rejected_spans) == (200, 7)
    assert partial.error_message.startswith("7 span(s) rejected (7 unknown_operation): span ")
    assert partial.error_message.endswith("; and 2 more")


def test_undecodable_payloads_get_400_with_a_status_in_the_request_encoding(client: httpx.Client, stack: Any) -> None:
    response = client.post("/v1/traces", content=b"\x0a\xff\xff", headers=PB)
    assert (response.status_code, response.headers["content-type"]) == (400, "application/x-protobuf")
    status = _status(response)
    assert (status.code, status.message) == (3, "cannot decode 3 bytes as an ExportTraceServiceRequest")
    response = client.post("/v1/traces", content=b"{not json", headers=JS)
    assert (response.status_code, response.headers["content-type"]) == (400, "application/json")
    assert orjson.loads(response.content) == {
        "code": 3,
        "message": "cannot decode 9 bytes as an ExportTraceServiceRequest",
    }
    assert stack.sample("genai_processor_spans_rejected_total", reason="malformed_payload") == 2


def test_other_content_types_and_encodings_get_415(client: httpx.Client, stack: Any) -> None:
    response = client.post("/v1/traces", content=b"x", headers={"Content-Type": "text/plain"})
    assert response.status_code == 415
    assert response.text == "unsupported Content-Type text/plain: use application/x-protobuf or application/json\n"
    response = client.post("/v1/traces", content=b"x", headers={**PB, "Content-Encoding": "br"})
    assert (response.status_code, _status(response).message) == (415, "unsupported Content-Encoding 'br': use gzip")
    assert stack.sample("genai_processor_spans_rejected_total", reason="unsupported_content_type") == 1
    assert stack.sample("genai_processor_spans_rejected_total", reason="unsupported_content_encoding") == 1


def test_bodies_over_the_limit_get_413(client: httpx.Client, stack: Any) -> None:
    response = client.post("/v1/traces", content=b"x" * (LIMIT + 1), headers=PB)
    assert response.status_code == 413
    status = _status(response)
    assert (status.code, status.message) == (8, f"body of {LIMIT + 1} bytes exceeds the limit of {LIMIT} bytes")
    assert stack.decoder.seen == []


def test_gzip_is_inflated_and_a_gzip_bomb_is_refused_after_decompression(
    client: httpx.Client, stack: Any, calls: Any
) -> None:
    stack.decoder.batches[b"zipped"] = stack.batch(1, [calls.call()])
    response = client.post("/v1/traces", content=gzip.compress(b"zipped"), headers={**PB, "Content-Encoding": "gzip"})
    assert response.status_code == 200
    bomb = gzip.compress(b"\0" * (16 * 1024 * 1024))  # 16 MiB inflated, 16 KiB on the wire
    assert len(bomb) < LIMIT
    response = client.post("/v1/traces", content=bomb, headers={**JS, "Content-Encoding": "gzip"})
    assert response.status_code == 413
    assert orjson.loads(response.content)["message"] == f"decompressed body exceeds the limit of {LIMIT} bytes"
    response = client.post(
        "/v1/traces", content=gzip.compress(b"zipped")[:-6], headers={**PB, "Content-Encoding": "gzip"}
    )
    assert (response.status_code, _status(response).message) == (
        400,
        "cannot read the request body: truncated gzip stream",
    )
    assert stack.sample("genai_processor_spans_rejected_total", reason="payload_too_large") == 1
    assert stack.ledger.count_calls() == 1  # earlier data intact, still serving


def test_retryable_refusal_is_503_with_retry_after(client: httpx.Client, stack: Any, calls: Any) -> None:
    stack.decoder.batches[b"late"] = stack.batch(1, [calls.call()])
    stack.pipeline.stop(5)
    response = client.post("/v1/traces", content=b"late", headers=PB)
    assert (response.status_code, response.headers["retry-after"]) == (503, "2")
    status = _status(response)
    assert (status.code, status.message) == (14, "the processor is not accepting exports (stopping)")
    (detail,) = status.details
    info = error_details_pb2.RetryInfo()
    assert detail.Unpack(info) and info.retry_delay.seconds == 2
    assert stack.sample("genai_processor_spans_rejected_total", reason="shutting_down") == 1


def test_wrong_method_and_path(client: httpx.Client) -> None:
    response = client.get("/v1/traces")
    assert (response.status_code, response.headers["allow"]) == (405, "POST")
    assert client.post("/v1/metrics", content=b"", headers=PB).status_code == 404
