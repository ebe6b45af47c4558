"""Test helpers: LlmCall / PricedCall values, a table pricer and a decoder double (fixture ``calls``)."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from genai_cost.processor.domain.records import Cost, LlmCall, PricedCall, PriceSource, TokenUsage
from genai_cost.processor.pipeline import SpanRejection
from genai_cost.processor.pipeline.service import Decoders

_ids = itertools.count(1)


def call(**values: Any) -> LlmCall:
    """An LlmCall with unique ids; ``values`` override any field (``usage`` as a TokenUsage)."""
    n = next(_ids)
    fields: dict[str, Any] = {
        "trace_id": f"{n:032x}",
        "span_id": f"{n:016x}",
        "parent_span_id": None,
        "start_time_ns": 1_700_000_000_000_000_000,
        "end_time_ns": 1_700_000_001_000_000_000,
        "provider": "openai",
        "operation": "chat",
        "request_model": "gpt-4o-mini",
        "response_model": "gpt-4o-mini-2024-07-18",
        "response_id": f"chatcmpl-{n}",
        "agent": "planner",
        "service": "svc",
        "usage": TokenUsage(input=100, output=20),
    }
    fields.update(values)
    return LlmCall(**fields)


def cost(input: str = "0.000015", output: str = "0.000012", **values: Any) -> Cost:
    """A genai-prices cost with Decimal amounts given as strings."""
    amounts = {k: Decimal(v) for k, v in values.items() if k in ("cache_read", "cache_write", "reasoning")}
    source = values.get("source", PriceSource.PRICES)
    return Cost(source=source, input=Decimal(input), output=Decimal(output), **amounts)


def priced(c: LlmCall | None = None, k: Cost | None = None) -> PricedCall:
    return PricedCall(c or call(), k or cost())


class TablePricer:
    """A pricer for tests: a fixed price per token type per model, UNPRICED for unknown models."""

    def __init__(self, prices: dict[str, tuple[str, str]] | None = None) -> None:
        # model -> (USD per input token, USD per output token)
        self.prices = prices or {"gpt-4o-mini-2024-07-18": ("0.00000015", "0.0000006")}
        self.calls = 0

    def price(self, c: LlmCall) -> Cost:
        self.calls += 1
        found = self.prices.get(c.model)
        if found is None:
            return Cost(source=PriceSource.UNPRICED)
        per_in, per_out = (Decimal(p) for p in found)
        return Cost(
            source=PriceSource.PRICES,
            input=per_in * c.usage.input,
            output=per_out * (c.usage.output + c.usage.reasoning),
        )


@dataclass
class FakeBatch:
    spans_received: int
    calls: list[LlmCall]
    rejected: list[SpanRejection] = field(default_factory=list)
    skipped_aggregate: int = 0


class FakeDecodeError(Exception):
    pass


class TableDecoder:
    """A decoder double: a request body names a prepared batch (the real decoder is tested by ingest)."""

    def __init__(self) -> None:
        self.batches: dict[bytes, FakeBatch] = {}
        self.seen: list[tuple[str, bytes]] = []

    def protobuf(self, body: bytes, options: object) -> FakeBatch:
        return self._decode("protobuf", body)

    def json(self, body: bytes, options: object) -> FakeBatch:
        return self._decode("json", body)

    def _decode(self, kind: str, body: bytes) -> FakeBatch:
        self.seen.append((kind, body))
        try:
            return self.batches[body]
        except KeyError:
            raise FakeDecodeError(f"cannot decode {len(body)} bytes as an ExportTraceServiceRequest") from None

    def decoders(self) -> Decoders:
        return Decoders(self.protobuf, self.json, FakeDecodeError)
