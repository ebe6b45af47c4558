"""OTLP -> LlmCall: decode export requests (protobuf, gRPC message, JSON), find the inference spans
of every attribute dialect, normalise their token accounting and attribute them."""

from genai_cost.processor.ingest.model import (
    REJECTION_REASONS,
    DecodedBatch,
    IngestOptions,
    OtlpDecodeError,
    Rejection,
)
from genai_cost.processor.ingest.otlp_json import decode_json
from genai_cost.processor.ingest.protobuf import decode_protobuf, decode_request

__all__ = [
    "REJECTION_REASONS",
    "DecodedBatch",
    "IngestOptions",
    "OtlpDecodeError",
    "Rejection",
    "decode_json",
    "decode_protobuf",
    "decode_request",
]
