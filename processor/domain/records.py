"""The plain values that flow through the processor: one LLM call, its usage and its cost.

Token accounting is normalised here once, whatever dialect a span came in:
every field of :class:`TokenUsage` is disjoint, so the five counts add up to the call's total.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum


class TokenType(StrEnum):
    """The ``token_type`` label values (disjoint: they sum to the call's total tokens)."""

    INPUT = "input"  # uncached input: excludes cache reads and cache writes
    CACHE_READ = "cache_read"
    CACHE_WRITE = "cache_write"
    OUTPUT = "output"  # visible output: excludes reasoning
    REASONING = "reasoning"


class PriceSource(StrEnum):
    """Where a call's cost came from."""

    PRICES = "genai-prices"
    OVERRIDE = "override"
    PROVIDER = "provider"  # a cost the span already carried (e.g. OpenLIT, OpenRouter)
    UNPRICED = "unpriced"  # no price known: never silently $0


class Outcome(StrEnum):
    OK = "ok"
    ERROR = "error"


ZERO = Decimal(0)
PICO_PER_USD = 10**12
"""Whole pico-USD (10^-12 USD) per USD: the integer sub-unit money is stored and summed in."""


@dataclass(frozen=True, slots=True)
class TokenUsage:
    """Disjoint token counts of one call (all non-negative integers)."""

    input: int = 0
    cache_read: int = 0
    cache_write: int = 0
    output: int = 0
    reasoning: int = 0

    @property
    def total(self) -> int:
        return self.input + self.cache_read + self.cache_write + self.output + self.reasoning

    def by_type(self) -> dict[TokenType, int]:
        return {
            TokenType.INPUT: self.input,
            TokenType.CACHE_READ: self.cache_read,
            TokenType.CACHE_WRITE: self.cache_write,
            TokenType.OUTPUT: self.output,
            TokenType.REASONING: self.reasoning,
        }


@dataclass(frozen=True, slots=True)
class LlmCall:
    """One provider call, found in one inference span and normalised from its dialect."""

    trace_id: str  # 32 lowercase hex chars
    span_id: str  # 16 lowercase hex chars
    parent_span_id: str | None
    start_time_ns: int
    end_time_ns: int
    provider: str  # OTel gen_ai.provider.name value (openai, anthropic, azure.ai.openai, ...)
    operation: str  # chat, text_completion, generate_content, embeddings
    request_model: str | None
    response_model: str | None
    response_id: str | None
    agent: str  # span attribute, else a peer's agent/association attribute, else service.name
    service: str  # resource service.name
    session: str | None = None
    user: str | None = None
    tags: Mapping[str, str] = field(default_factory=dict)  # configured extra dimensions
    usage: TokenUsage = field(default_factory=TokenUsage)
    usage_reported: bool = True  # False when the span carried no token counts at all
    provider_cost_usd: Decimal | None = None
    outcome: Outcome = Outcome.OK
    error_type: str | None = None
    dialect: str = "semconv"
    cache_write_1h: int = 0  # of usage.cache_write: tokens written with a 1-hour TTL (Anthropic prices them higher)
    service_tier: str | None = None  # provider service tier when reported (OpenAI: default, flex, priority)

    @property
    def model(self) -> str:
        """The model billed: the response model when known, else the requested one."""
        return self.response_model or self.request_model or "unknown"

    @property
    def key(self) -> tuple[str, str]:
        """Idempotency key: the same span delivered twice has the same key."""
        return (self.trace_id, self.span_id)


@dataclass(frozen=True, slots=True)
class Cost:
    """The USD cost of one call, split by token type, exact."""

    source: PriceSource
    input: Decimal = ZERO
    cache_read: Decimal = ZERO
    cache_write: Decimal = ZERO
    output: Decimal = ZERO
    reasoning: Decimal = ZERO
    total_override: Decimal | None = None  # a provider-reported total not split by type
    # The same five amounts in whole pico-USD, when the pricer computed them exactly in integers
    # (every price a whole number of pico-USD per token); None otherwise. Not part of equality.
    pusd: tuple[int, int, int, int, int] | None = field(default=None, compare=False, repr=False)

    @property
    def total(self) -> Decimal:
        if self.total_override is not None:
            return self.total_override
        return self.input + self.cache_read + self.cache_write + self.output + self.reasoning

    def by_type(self) -> dict[TokenType, Decimal]:
        return {
            TokenType.INPUT: self.input,
            TokenType.CACHE_READ: self.cache_read,
            TokenType.CACHE_WRITE: self.cache_write,
            TokenType.OUTPUT: self.output,
            TokenType.REASONING: self.reasoning,
        }


UNPRICED = Cost(source=PriceSource.UNPRICED)


@dataclass(frozen=True, slots=True)
class PricedCall:
    """A call with its cost: what the ledger stores, one row per call."""

    call: LlmCall
    cost: Cost
