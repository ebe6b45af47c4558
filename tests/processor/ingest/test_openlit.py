"""OpenLIT spans (recorded with data/openlit/record.py through the real SDKs against a fake server).

OpenLIT prices calls itself from a pricing file (data/openlit/pricing.json, same per-1K prices as
genai-prices' per-million ones): its ``gen_ai.usage.cost`` is kept as the provider cost.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import orjson
import pytest

from genai_cost.processor.domain.pricing import Pricer
from genai_cost.processor.domain.records import UNPRICED, Outcome, PriceSource, TokenUsage
from genai_cost.processor.ingest import IngestOptions, decode_json, decode_protobuf

CHAT = TokenUsage(input=176, cache_read=1024, output=300)  # OpenLIT records no reasoning on chat
ANTHROPIC = TokenUsage(input=50, cache_read=10000, cache_write=2000, output=300)  # input 50 excludes cache

# (usage, provider cost as OpenLIT computed it, rounded to 1e-12 USD from its float)
CASES: dict[str, tuple[str, str, TokenUsage | None, Decimal | None]] = {
    # (176 * 0.15 + 1024 * 0.075 + 300 * 0.6) / 1e6; float 0.00028319999999999994 -> 0.0002832
    "openai_chat": ("openai", "gpt-4o-mini-2024-07-18", CHAT, Decimal("0.0002832")),
    "openai_chat_assoc": ("openai", "gpt-4o-mini-2024-07-18", CHAT, Decimal("0.0002832")),
    "openai_chat_stream_usage": ("openai", "gpt-4o-mini-2024-07-18", CHAT, Decimal("0.0002832")),
    # OpenLIT estimates 18/16 tokens from text length: not taken as usage
    "openai_chat_stream_nousage": ("openai", "gpt-4o-mini-2024-07-18", None, None),
    "openai_embeddings": ("openai", "text-embedding-3-small", TokenUsage(input=14), Decimal("2.8E-7")),
    "openai_responses": (
        "openai",
        "o4-mini-2025-04-16",
        TokenUsage(input=180, cache_read=1030, output=180, reasoning=130),
        Decimal("0.00184525"),
    ),
    # float 0.015149999999999999 -> 0.01515 = (50 * 3 + 10000 * 0.3 + 2000 * 3.75 + 300 * 15) / 1e6
    "anthropic_messages": ("anthropic", "claude-sonnet-4-5-20250929", ANTHROPIC, Decimal("0.01515")),
    "anthropic_messages_stream": ("anthropic", "claude-sonnet-4-5-20250929", ANTHROPIC, Decimal("0.01515")),
}


@pytest.mark.parametrize("fmt", ["protobuf", "json"])
@pytest.mark.parametrize("scenario", list(CASES))
def test_openlit_scenario(scenario: str, fmt: str, load_pb: Any, otlp_json: Any) -> None:
    provider, model, usage, cost = CASES[scenario]
    body = load_pb("openlit", scenario)
    if fmt == "json":
        batch = decode_json(orjson.dumps(otlp_json(body)), IngestOptions())
    else:
        batch = decode_protobuf(body, IngestOptions())
    # OpenLIT adds an httpx POST child span: received, not an LLM call
    assert (batch.spans_received, len(batch.calls), batch.rejected) == (2, 1, [])
    (call,) = batch.calls
    assert (call.dialect, call.provider, call.model, call.agent) == ("openlit", provider, model, "openlit-demo")
    assert call.usage == (usage or TokenUsage())
    assert call.usage_reported is (usage is not None)
    assert call.provider_cost_usd == cost
    priced = Pricer().price(call)
    if cost is None:
        assert priced == UNPRICED
    else:
        assert (priced.source, priced.total) == (PriceSource.PROVIDER, cost)


def test_openlit_user_and_error(load_pb: Any) -> None:
    (assoc,) = decode_protobuf(load_pb("openlit", "openai_chat_assoc"), IngestOptions()).calls
    assert assoc.user == "user-42"
    (error,) = decode_protobuf(load_pb("openlit", "openai_chat_error"), IngestOptions()).calls
    assert (error.outcome, error.error_type, error.usage_reported) == (Outcome.ERROR, "RateLimitError", False)


def test_openlit_anthropic_error_span_has_no_attributes_to_recognise(load_pb: Any) -> None:
    """OpenLIT 1.45 records an Anthropic failure as a bare span (no gen_ai.* attributes)."""
    batch = decode_protobuf(load_pb("openlit", "anthropic_messages_error"), IngestOptions())
    assert (batch.spans_received, batch.calls, batch.rejected) == (2, [], [])
