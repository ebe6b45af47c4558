"""OTLP response bodies: ExportTraceServiceResponse (partial success) and google.rpc.Status errors."""

from __future__ import annotations

import orjson
from google.protobuf.duration_pb2 import Duration
from google.rpc import code_pb2, error_details_pb2, status_pb2
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse

from genai_cost.processor.pipeline.service import ExportResult

INTERNAL = code_pb2.INTERNAL
INVALID_ARGUMENT = code_pb2.INVALID_ARGUMENT
UNAVAILABLE = code_pb2.UNAVAILABLE
RESOURCE_EXHAUSTED = code_pb2.RESOURCE_EXHAUSTED
_EMPTY_RESPONSE = ExportTraceServiceResponse().SerializeToString()


def export_response_protobuf(result: ExportResult) -> bytes:
    """Full success is an empty message; otherwise ``partial_success`` says what was rejected."""
    if not result.rejected_spans:
        return _EMPTY_RESPONSE
    response = ExportTraceServiceResponse()
    response.partial_success.rejected_spans = result.rejected_spans
    response.partial_success.error_message = result.error_message
    return response.SerializeToString()


def export_response_json(result: ExportResult) -> bytes:
    """The JSON form (proto3 JSON mapping: int64 as a decimal string)."""
    if not result.rejected_spans:
        return b"{}"
    return orjson.dumps(
        {"partialSuccess": {"rejectedSpans": str(result.rejected_spans), "errorMessage": result.error_message}}
    )


def status_message(code: int, message: str, retry_after_s: int | None = None) -> status_pb2.Status:
    """A google.rpc.Status, with a RetryInfo detail when the client should retry after a delay."""
    status = status_pb2.Status(code=code, message=message)
    if retry_after_s is not None:
        status.details.add().Pack(error_details_pb2.RetryInfo(retry_delay=Duration(seconds=retry_after_s)))
    return status


def status_protobuf(code: int, message: str, retry_after_s: int | None = None) -> bytes:
    return status_message(code, message, retry_after_s).SerializeToString()


def status_json(code: int, message: str, retry_after_s: int | None = None) -> bytes:
    body: dict[str, object] = {"code": code, "message": message}
    if retry_after_s is not None:
        body["details"] = [{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": f"{retry_after_s}s"}]
    return orjson.dumps(body)
