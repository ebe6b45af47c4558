"""OTLP/gRPC receiver: ``opentelemetry.proto.collector.trace.v1.TraceService/Export``.

A generic handler hands the raw request bytes to the decoder (no intermediate message object).
Status codes per the OTLP spec: OK (with ``partial_success`` when spans were rejected),
INVALID_ARGUMENT for undecodable payloads, RESOURCE_EXHAUSTED over the size limit, UNAVAILABLE
with a RetryInfo detail when the export must be retried. gzip request compression is handled by
gRPC; the size limit applies to the decompressed message.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Final

import grpc

from genai_cost.processor.adapters.otlp_responses import export_response_protobuf, status_message
from genai_cost.processor.pipeline.engine import Unavailable
from genai_cost.processor.pipeline.service import ExportService, InternalError, PayloadError

SERVICE_NAME: Final = "opentelemetry.proto.collector.trace.v1.TraceService"
TRANSPORT: Final = "grpc"
_STATUS_DETAILS_KEY: Final = "grpc-status-details-bin"
_SLACK_BYTES: Final = 1024 * 1024
"""gRPC itself refuses messages this much over the limit (uncounted); up to that we count them."""


class OtlpGrpcReceiver:
    """A grpcio server for TraceService/Export."""

    def __init__(self, service: ExportService, host: str, port: int, *, workers: int, max_request_bytes: int) -> None:
        self.service = service
        self.max_request_bytes = max_request_bytes
        self._server = grpc.server(
            ThreadPoolExecutor(max_workers=workers, thread_name_prefix="genai-cost-grpc"),
            options=[
                ("grpc.max_receive_message_length", max_request_bytes + _SLACK_BYTES),
                ("grpc.so_reuseport", 0),
            ],
        )
        handler = grpc.unary_unary_rpc_method_handler(self._export)  # raw bytes in and out
        self._server.add_generic_rpc_handlers(
            (grpc.method_handlers_generic_handler(SERVICE_NAME, {"Export": handler}),)
        )
        self.port = self._server.add_insecure_port(f"{host}:{port}")
        if self.port == 0:
            raise OSError(f"otlp.grpc: cannot bind {host}:{port}")

    def start(self) -> None:
        self._server.start()

    def stop(self, grace_s: float) -> None:
        """Refuse new RPCs and wait up to ``grace_s`` for those in progress."""
        self._server.stop(grace_s).wait()

    def _export(self, request: bytes, context: grpc.ServicerContext) -> bytes:
        if len(request) > self.max_request_bytes:
            self.service.refuse("payload_too_large")
            context.abort(
                grpc.StatusCode.RESOURCE_EXHAUSTED,
                f"message of {len(request)} bytes exceeds the limit of {self.max_request_bytes} bytes",
            )
        try:
            result = self.service.export_protobuf(request, TRANSPORT)
        except PayloadError as exc:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(exc))
        except InternalError as exc:
            context.abort(grpc.StatusCode.INTERNAL, str(exc))
        except Unavailable as exc:
            status = status_message(grpc.StatusCode.UNAVAILABLE.value[0], str(exc), exc.retry_after_s)
            context.set_trailing_metadata(((_STATUS_DETAILS_KEY, status.SerializeToString()),))
            context.abort(grpc.StatusCode.UNAVAILABLE, str(exc))
        return export_response_protobuf(result)
