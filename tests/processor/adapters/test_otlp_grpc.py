"""OTLP/gRPC receiver: raw-bytes Export, partial success, status codes with RetryInfo, size limit."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import grpc
import pytest
from google.rpc import error_details_pb2, status_pb2
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse

from genai_cost.processor.adapters.otlp_grpc import OtlpGrpcReceiver
from genai_cost.processor.pipeline import SpanRejection

LIMIT = 64 * 1024
METHOD = "/opentelemetry.proto.collector.trace.v1.TraceService/Export"


@pytest.fixture
def export(stack: Any) -> Iterator[Any]:
    receiver = OtlpGrpcReceiver(stack.service, "127.0.0.1", 0, workers=4, max_request_bytes=LIMIT)
    receiver.start()
    channel = grpc.insecure_channel(f"127.0.0.1:{receiver.port}")
    yield channel.unary_unary(METHOD)  # bytes in, bytes out
    channel.close()
    receiver.stop(1)


def test_export_is_committed_then_acknowledged(export: Any, stack: Any, calls: Any) -> None:
    stack.decoder.batches[b"b1"] = stack.batch(512, [calls.call(), calls.call()])
    assert ExportTraceServiceResponse.FromString(export(b"b1", timeout=10)) == ExportTraceServiceResponse()
    assert stack.ledger.count_calls() == 2
    assert stack.sample("genai_processor_spans_received_total", transport="grpc") == 512
    assert stack.decoder.seen == [("protobuf", b"b1")]


def test_partial_success_names_the_rejected_spans(export: Any, stack: Any, calls: Any) -> None:
    rejection = SpanRejection(
        "invalid_tokens", "0" * 32, "1" * 16, "gen_ai.usage.output_tokens='12.5' is not an integer"
    )
    stack.decoder.batches[b"b2"] = stack.batch(2, [calls.call()], [rejection])
    partial = ExportTraceServiceResponse.FromString(export(b"b2", timeout=10)).partial_success
    assert partial.rejected_spans == 1
    assert partial.error_message == (
        "1 span(s) rejected (1 invalid_tokens): span "
        f"{'0' * 32}/{'1' * 16}: gen_ai.usage.output_tokens='12.5' is not an integer"
    )


def test_undecodable_is_invalid_argument(export: Any, stack: Any) -> None:
    with pytest.raises(grpc.RpcError) as info:
        export(b"\xff\xff", timeout=10)
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert info.value.details() == "cannot decode 2 bytes as an ExportTraceServiceRequest"
    assert stack.sample("genai_processor_spans_rejected_total", reason="malformed_payload") == 1


def test_oversize_is_resource_exhausted(export: Any, stack: Any) -> None:
    with pytest.raises(grpc.RpcError) as info:
        export(b"x" * (LIMIT + 10), timeout=10)
    assert info.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert info.value.details() == f"message of {LIMIT + 10} bytes exceeds the limit of {LIMIT} bytes"
    assert stack.sample("genai_processor_spans_rejected_total", reason="payload_too_large") == 1
    assert stack.decoder.seen == []


def test_retryable_refusal_is_unavailable_with_retry_info(export: Any, stack: Any, calls: Any) -> None:
    stack.decoder.batches[b"late"] = stack.batch(1, [calls.call()])
    stack.pipeline.stop(5)
    with pytest.raises(grpc.RpcError) as info:
        export(b"late", timeout=10)
    assert info.value.code() == grpc.StatusCode.UNAVAILABLE
    details = dict(info.value.trailing_metadata())["grpc-status-details-bin"]
    status = status_pb2.Status.FromString(details)
    retry = error_details_pb2.RetryInfo()
    assert status.code == 14 and status.details[0].Unpack(retry)
    assert retry.retry_delay.seconds == 2


def test_a_decoder_bug_is_internal_and_counted(export: Any, stack: Any) -> None:
    def broken(body: bytes, options: object) -> Any:
        raise ValueError("too many values to unpack (expected 2)")

    decoders = stack.service.decoders
    stack.service.decoders = type(decoders)(broken, broken, decoders.error)
    with pytest.raises(grpc.RpcError) as info:
        export(b"anything", timeout=10)
    assert info.value.code() == grpc.StatusCode.INTERNAL
    assert info.value.details() == (
        "internal error while decoding the export: ValueError('too many values to unpack (expected 2)')"
    )
    assert stack.sample("genai_processor_spans_rejected_total", reason="internal_error") == 1
