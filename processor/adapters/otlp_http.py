"""OTLP/HTTP receiver: ``POST /v1/traces`` with protobuf or JSON bodies, optionally gzip-compressed.

Status codes follow the OTLP/HTTP spec: 200 with an ExportTraceServiceResponse (``partialSuccess``
when spans were rejected), 400 for undecodable payloads, 413 over the size limit (applied AFTER
decompression, so a gzip bomb is refused while inflating), 415 for other content types or
encodings, 503 with ``Retry-After`` when the export must be retried (back-pressure, ledger down).
Error bodies are a google.rpc.Status in the request's encoding.
"""

from __future__ import annotations

import zlib
from typing import Final

from genai_cost.processor.adapters.http_server import BadBody, BodyTooLarge, Request, Response, Routes
from genai_cost.processor.adapters.otlp_responses import (
    INTERNAL,
    INVALID_ARGUMENT,
    RESOURCE_EXHAUSTED,
    UNAVAILABLE,
    export_response_json,
    export_response_protobuf,
    status_json,
    status_protobuf,
)
from genai_cost.processor.pipeline.engine import Unavailable
from genai_cost.processor.pipeline.service import ExportService, InternalError, PayloadError

TRACES_PATH: Final = "/v1/traces"
PROTOBUF: Final = "application/x-protobuf"
JSON: Final = "application/json"
TRANSPORT_PROTOBUF: Final = "http_protobuf"
TRANSPORT_JSON: Final = "http_json"
_INFLATE_CHUNK: Final = 256 * 1024


class _TooLarge(Exception):
    pass


def inflate(body: bytes, limit: int) -> bytes:
    """Gunzip ``body``, refusing (:class:`_TooLarge`) as soon as the output passes ``limit`` bytes."""
    inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    out: list[bytes] = []
    size = 0
    data = body
    while data:
        chunk = inflater.decompress(data, _INFLATE_CHUNK)
        size += len(chunk)
        if size > limit:
            raise _TooLarge(f"decompressed body exceeds the limit of {limit} bytes")
        out.append(chunk)
        data = inflater.unconsumed_tail
    tail = inflater.flush()
    size += len(tail)
    if size > limit:
        raise _TooLarge(f"decompressed body exceeds the limit of {limit} bytes")
    if not inflater.eof:
        raise zlib.error("truncated gzip stream")
    out.append(tail)
    return b"".join(out)


class OtlpHttpReceiver:
    """The ``/v1/traces`` handler."""

    def __init__(self, service: ExportService, max_request_bytes: int) -> None:
        self.service = service
        self.max_request_bytes = max_request_bytes

    def register(self, routes: Routes) -> None:
        routes.add("POST", TRACES_PATH, self.handle)

    def handle(self, request: Request) -> Response:
        media_type = request.header("Content-Type").split(";", 1)[0].strip().lower()
        if media_type not in (PROTOBUF, JSON):
            self.service.refuse("unsupported_content_type")
            shown = media_type or "(none)"
            return Response.text(415, f"unsupported Content-Type {shown}: use {PROTOBUF} or {JSON}")
        is_json = media_type == JSON
        encoding = request.header("Content-Encoding").strip().lower()
        if encoding not in ("", "identity", "gzip"):
            self.service.refuse("unsupported_content_encoding")
            return self._error(is_json, 415, INVALID_ARGUMENT, f"unsupported Content-Encoding {encoding!r}: use gzip")
        limit = self.max_request_bytes
        try:
            body = request.read_body(limit)
            if encoding == "gzip":
                body = inflate(body, limit)
        except (BodyTooLarge, _TooLarge) as exc:
            self.service.refuse("payload_too_large")
            return self._error(is_json, 413, RESOURCE_EXHAUSTED, str(exc))
        except (BadBody, zlib.error) as exc:
            self.service.refuse("malformed_payload")
            return self._error(is_json, 400, INVALID_ARGUMENT, f"cannot read the request body: {exc}")
        transport = TRANSPORT_JSON if is_json else TRANSPORT_PROTOBUF
        try:
            if is_json:
                result = self.service.export_json(body, transport)
            else:
                result = self.service.export_protobuf(body, transport)
        except PayloadError as exc:
            return self._error(is_json, 400, INVALID_ARGUMENT, str(exc))
        except InternalError as exc:
            return self._error(is_json, 500, INTERNAL, str(exc))
        except Unavailable as exc:
            return self._error(
                is_json, 503, UNAVAILABLE, str(exc), exc.retry_after_s, {"Retry-After": str(exc.retry_after_s)}
            )
        if is_json:
            return Response(200, export_response_json(result), JSON)
        return Response(200, export_response_protobuf(result), PROTOBUF)

    @staticmethod
    def _error(
        is_json: bool,
        status: int,
        code: int,
        message: str,
        retry_after_s: int | None = None,
        headers: dict[str, str] | None = None,
    ) -> Response:
        if is_json:
            return Response(status, status_json(code, message, retry_after_s), JSON, headers or {})
        return Response(status, status_protobuf(code, message, retry_after_s), PROTOBUF, headers or {})
