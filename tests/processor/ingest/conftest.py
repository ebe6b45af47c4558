"""Shared helpers for the ingest tests: the recorded corpus and OTLP/JSON conversion."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from google.protobuf.json_format import MessageToDict
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from required import missing

ROOT = Path(__file__).resolve().parents[3]
CORPUS = ROOT.parent / "shared" / "corpus"
OPENLIT_DATA = Path(__file__).resolve().parent / "data" / "openlit"


def require_corpus() -> Path:
    """The shared corpus folder; missing fails in CI and skips elsewhere."""
    if not CORPUS.is_dir():
        missing(f"recorded corpus not found at {CORPUS}")
    return CORPUS


def corpus_pb(folder: str, scenario: str) -> bytes:
    return (require_corpus() / folder / f"{scenario}.pb").read_bytes()


def to_otlp_json(body: bytes) -> dict[str, Any]:
    """Protobuf request -> proper OTLP/JSON (ids as hex, not protobuf-JSON's base64)."""
    request = ExportTraceServiceRequest.FromString(body)
    document = MessageToDict(request)
    for rs_msg, rs in zip(request.resource_spans, document.get("resourceSpans", []), strict=True):
        for ss_msg, ss in zip(rs_msg.scope_spans, rs.get("scopeSpans", []), strict=True):
            for span_msg, span in zip(ss_msg.spans, ss.get("spans", []), strict=True):
                span["traceId"] = span_msg.trace_id.hex()
                span["spanId"] = span_msg.span_id.hex()
                if span_msg.parent_span_id:
                    span["parentSpanId"] = span_msg.parent_span_id.hex()
    return document


@pytest.fixture
def load_pb() -> Any:
    """``load_pb(folder, scenario) -> bytes`` from the corpus (folder "openlit": our recordings)."""

    def load(folder: str, scenario: str) -> bytes:
        if folder == "openlit":
            return (OPENLIT_DATA / f"{scenario}.pb").read_bytes()
        return corpus_pb(folder, scenario)

    return load


@pytest.fixture
def otlp_json() -> Any:
    """``otlp_json(pb_bytes) -> dict``: the request as proper OTLP/JSON (hex ids)."""
    return to_otlp_json


@pytest.fixture
def corpus_dir() -> Path:
    return require_corpus()
