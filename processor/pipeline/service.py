"""The export use case shared by the gRPC and HTTP receivers: decode -> pipeline -> answer."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final, Protocol

from genai_cost.processor.pipeline.engine import Pipeline, Unavailable

logger = logging.getLogger(__name__)

MAX_ERROR_SPANS: Final = 5
"""Rejected spans described one by one in a partial-success ``error_message``."""


class RejectionLike(Protocol):
    @property
    def reason(self) -> str: ...
    @property
    def trace_id(self) -> str: ...
    @property
    def span_id(self) -> str: ...
    @property
    def message(self) -> str: ...


class BatchLike(Protocol):
    """What a decoder returns (``ingest.DecodedBatch``)."""

    @property
    def spans_received(self) -> int: ...
    @property
    def calls(self) -> Sequence[Any]: ...
    @property
    def rejected(self) -> Sequence[RejectionLike]: ...
    @property
    def skipped_aggregate(self) -> int: ...


class Decoder(Protocol):
    def __call__(self, body: bytes, options: Any, /) -> BatchLike: ...


@dataclass(frozen=True, slots=True)
class Decoders:
    """The OTLP decoders and the exception they raise for undecodable payloads."""

    protobuf: Decoder
    json: Decoder
    error: type[Exception]

    @classmethod
    def ingest(cls) -> Decoders:
        """The real decoders of :mod:`genai_cost.processor.ingest`."""
        from genai_cost.processor.ingest import OtlpDecodeError, decode_json, decode_protobuf

        return cls(decode_protobuf, decode_json, OtlpDecodeError)


class PayloadError(Exception):
    """An undecodable export (non-retryable: INVALID_ARGUMENT / 400)."""


class InternalError(Exception):
    """A processor bug while handling an export (INTERNAL / 500); logged with its traceback."""


@dataclass(frozen=True, slots=True)
class ExportResult:
    """The answer to one export: how many spans were refused, and why."""

    rejected_spans: int = 0
    error_message: str = ""


def describe_rejections(rejected: Sequence[RejectionLike]) -> str:
    """A short, useful ``error_message``: counts by reason, then the first few spans."""
    if not rejected:
        return ""
    counts: dict[str, int] = {}
    for rejection in rejected:
        counts[rejection.reason] = counts.get(rejection.reason, 0) + 1
    summary = ", ".join(f"{count} {reason}" for reason, count in counts.items())
    details = "; ".join(f"span {r.trace_id}/{r.span_id}: {r.message}" for r in rejected[:MAX_ERROR_SPANS])
    more = f"; and {len(rejected) - MAX_ERROR_SPANS} more" if len(rejected) > MAX_ERROR_SPANS else ""
    return f"{len(rejected)} span(s) rejected ({summary}): {details}{more}"


class ExportService:
    """Decodes an export, sends its LLM calls through the pipeline and builds the answer."""

    def __init__(self, pipeline: Pipeline, options: Any, decoders: Decoders | None = None) -> None:
        self.pipeline = pipeline
        self.options = options
        self.decoders = decoders or Decoders.ingest()

    def export_protobuf(self, body: bytes, transport: str) -> ExportResult:
        return self._export(body, transport, json=False)

    def export_json(self, body: bytes, transport: str) -> ExportResult:
        return self._export(body, transport, json=True)

    def refuse(self, reason: str, count: int = 1) -> None:
        """Count a payload refused before decoding (too large, wrong content type)."""
        self.pipeline.observer.spans_rejected(reason, count)

    def _export(self, body: bytes, transport: str, *, json: bool) -> ExportResult:
        started = time.perf_counter()
        observer = self.pipeline.observer
        decoders = self.decoders
        try:
            batch = (decoders.json if json else decoders.protobuf)(body, self.options)
        except decoders.error as exc:
            observer.spans_rejected("malformed_payload", 1)
            raise PayloadError(str(exc)) from exc
        except Exception as exc:
            logger.exception("decoding a %d-byte %s export failed", len(body), transport)
            observer.spans_rejected("internal_error", 1)
            raise InternalError(f"internal error while decoding the export: {exc!r}") from exc
        observer.spans_received(transport, batch.spans_received)
        observer.aggregate_spans_skipped(batch.skipped_aggregate)
        rejected: list[RejectionLike] = list(batch.rejected)
        try:
            rejected.extend(self.pipeline.process(batch.calls))
        except Unavailable as exc:
            observer.spans_rejected(exc.reason, len(batch.calls))
            raise
        finally:
            observer.batch_duration(transport, time.perf_counter() - started)
        counts: dict[str, int] = {}
        for rejection in rejected:
            counts[rejection.reason] = counts.get(rejection.reason, 0) + 1
        for reason, count in counts.items():
            observer.spans_rejected(reason, count)
        return ExportResult(len(rejected), describe_rejections(rejected))
