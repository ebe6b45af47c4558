"""Builders for budget domain tests."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from genai_cost.processor.domain.records import Cost, LlmCall, PricedCall, PriceSource

_counter = iter(range(1, 10**9))


def ns(iso: str, tz: str = "UTC") -> int:
    """Unix ns of a local ISO time (``2025-03-14T12:00``) in ``tz``."""
    local = datetime.fromisoformat(iso).replace(tzinfo=ZoneInfo(tz))
    return int(local.timestamp()) * 1_000_000_000


def priced(
    cost: str,
    *,
    at: int,
    agent: str = "researcher",
    provider: str = "openai",
    model: str = "gpt-4o",
    service: str = "app",
    tags: Mapping[str, str] | None = None,
) -> PricedCall:
    n = next(_counter)
    call = LlmCall(
        trace_id=f"{n:032x}",
        span_id=f"{n:016x}",
        parent_span_id=None,
        start_time_ns=at - 1_000_000,
        end_time_ns=at,
        provider=provider,
        operation="chat",
        request_model=model,
        response_model=model,
        response_id=None,
        agent=agent,
        service=service,
        tags=dict(tags or {}),
    )
    return PricedCall(call=call, cost=Cost(source=PriceSource.PRICES, input=Decimal(cost)))
