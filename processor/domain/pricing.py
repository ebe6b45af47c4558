"""Price one call exactly (Decimal), with the bundled ``genai-prices`` data and optional overrides.

- The price is the one valid at the span's **end** time (dated prices, time-of-day prices).
- Overrides (price_overrides.py) win over the bundled data.
- Tiers are cliffs on the call's total input tokens (input + cache read + cache write), as in
  ``genai-prices``: past a tier's start, all tokens of that type pay the tier price.
- Cache reads/writes without their own price pay the input price; 1-hour cache writes pay their own
  price where the data has one (Anthropic), else the cache-write price; reasoning pays the output price.
- A provider-reported cost (``provider_cost_usd``) is kept: source PROVIDER.
- A call with tokens of a type that has no price, or a model without a price, is UNPRICED (never $0).
  So is a successful call that reported no usage (its spend is unknown); a failed call without usage
  billed nothing and costs exactly $0.
- OTel providers map onto genai-prices ids; a provider the map does not know is unpriced unless an
  override covers it; an absent provider ("unknown") lets genai-prices infer it from the model name.

Only the bundled snapshot is used: nothing here fetches price updates.
Look-ups are cached: model matching per (provider, model), resolved prices per (provider, model,
service tier, UTC day) or per minute for models with time-of-day prices. The hot path keeps, per
(provider, model, service tier), the prices of the period last asked for with their rates already
resolved (fallbacks applied, untiered rates as plain Decimals), so a repeat costs one dict look-up
before the Decimal arithmetic.
"""

from __future__ import annotations

import datetime as dt
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from genai_prices import data_snapshot
from genai_prices import types as gp

from genai_cost.processor.domain.price_overrides import PriceOverride
from genai_cost.processor.domain.records import PICO_PER_USD, UNPRICED, Cost, LlmCall, Outcome, PriceSource, TokenUsage
from genai_cost.processor.domain.records_fast import new_cost

MILLION = Decimal(1_000_000)
_NS_PER_DAY = 86_400 * 10**9
_NS_PER_MINUTE = 60 * 10**9

#: OTel ``gen_ai.provider.name`` -> genai-prices provider id.
PROVIDER_IDS: dict[str, str | None] = {
    "openai": "openai",
    "anthropic": "anthropic",
    "azure.ai.openai": "azure",
    "azure.ai.inference": "azure",
    "gcp.gemini": "google",
    "gcp.vertex_ai": "google",
    "gcp.gen_ai": "google",
    "aws.bedrock": "aws",
    "mistral_ai": "mistral",
    "groq": "groq",
    "cohere": "cohere",
    "deepseek": "deepseek",
    "x_ai": "x-ai",
    "perplexity": "perplexity",
    "openrouter": "openrouter",
    "together": "together",
    "fireworks": "fireworks",
    "cerebras": "cerebras",
    "unknown": None,  # no provider on the span: genai-prices infers it from the model name
}


@dataclass(frozen=True, slots=True)
class Rate:
    """USD per million tokens, with optional cliff tiers on total input tokens."""

    base: Decimal
    tiers: tuple[tuple[int, Decimal], ...] = ()  # (start, price), ascending

    def at(self, total_input: int) -> Decimal:
        price = self.base
        for start, tier_price in self.tiers:
            if total_input > start:
                price = tier_price
        return price

    def __str__(self) -> str:
        extra = "".join(f", >{start:,} input tokens: {price}" for start, price in self.tiers)
        return f"{self.base}{extra}"


@dataclass(frozen=True, slots=True)
class ModelPrices:
    """The prices that apply to one model at one time: what :meth:`Pricer.lookup` describes."""

    source: PriceSource  # PRICES or OVERRIDE
    provider: str  # the OTel provider asked for
    model: str  # the model asked for
    matched: str  # genai-prices "provider/model id", or the override's "provider/model" pattern
    input: Rate | None = None
    cache_read: Rate | None = None
    cache_write: Rate | None = None
    cache_write_1h: Rate | None = None
    output: Rate | None = None
    valid_from: dt.date | None = None
    valid_to: dt.date | None = None
    notes: tuple[str, ...] = field(default_factory=tuple)

    def describe(self) -> str:
        """One line per price, USD per million tokens."""
        lines = [f"{self.provider} {self.model}: {self.source.value} ({self.matched})"]
        for name in ("input", "cache_read", "cache_write", "cache_write_1h", "output"):
            rate = getattr(self, name)
            if rate is not None:
                lines.append(f"  {name}: ${rate} / MTok")
        if self.valid_from or self.valid_to:
            lines.append(f"  valid: {self.valid_from or '-'} .. {self.valid_to or '-'}")
        return "\n".join(lines)


def _rate(value: Any) -> Rate | None:
    if value is None:
        return None
    if isinstance(value, gp.TieredPrices):
        return Rate(value.base, tuple((tier.start, tier.price) for tier in value.tiers))
    return Rate(Decimal(value))


def _flat(value: Decimal | None) -> Rate | None:
    return None if value is None else Rate(value)


def _has_time_of_day(model: gp.ModelInfo) -> bool:
    prices = model.prices
    if isinstance(prices, list) and any(isinstance(c.constraint, gp.TimeOfDateConstraint) for c in prices):
        return True
    return any(isinstance(v.constraint, gp.TimeOfDateConstraint) for v in model.price_variants or ())


def _utc(ns: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(ns // 10**9, tz=dt.UTC).replace(microsecond=(ns // 1000) % 1_000_000)


class _Lru(OrderedDict[Any, Any]):
    def __init__(self, size: int) -> None:
        super().__init__()
        self.size = size

    def put(self, key: Any, value: Any) -> None:
        self[key] = value
        if len(self) > self.size:
            self.popitem(last=False)


_MISS = object()


class Pricer:
    """Prices calls; cheap on the hot path thanks to its caches. Not thread-safe: one per worker."""

    def __init__(self, overrides: Sequence[PriceOverride] = (), cache_size: int = 4096) -> None:
        self._overrides = tuple(overrides)
        self._snapshot = data_snapshot.get_snapshot()
        self._matches: _Lru = _Lru(cache_size)
        self._prices: _Lru = _Lru(cache_size)
        self._plans: dict[tuple[str, str, str | None], _Plan] = {}
        self._plans_size = cache_size

    # -- look-ups -------------------------------------------------------------------------------

    def _match(self, provider: str, model: str) -> tuple[gp.Provider, gp.ModelInfo, bool] | None:
        """genai-prices' provider and model for an OTel provider and model name (cached)."""
        key = (provider, model)
        found = self._matches.get(key, _MISS)
        if found is not _MISS:
            return found  # type: ignore[no-any-return]
        result = None
        if provider in PROVIDER_IDS:
            try:
                gp_provider, info = self._snapshot.find_provider_model(model, None, PROVIDER_IDS[provider], None)
                result = (gp_provider, info, _has_time_of_day(info))
            except LookupError:
                result = None
        self._matches.put(key, result)
        return result

    def _override(self, provider: str, model: str, day: dt.date) -> PriceOverride | None:
        for override in self._overrides:
            if override.matches(provider, model, day):
                return override
        return None

    def _resolve(self, provider: str, model: str, tier: str | None, at: dt.datetime) -> ModelPrices | None:
        override = self._override(provider, model, at.date()) if self._overrides else None
        if override is not None:
            return ModelPrices(
                PriceSource.OVERRIDE,
                provider,
                model,
                f"{override.provider}/{override.model}",
                input=_flat(override.input_per_mtok),
                cache_read=_flat(override.cache_read_per_mtok),
                cache_write=_flat(override.cache_write_per_mtok),
                cache_write_1h=_flat(override.cache_write_1h_per_mtok),
                output=_flat(override.output_per_mtok),
                valid_from=override.valid_from,
                valid_to=override.valid_to,
            )
        match = self._match(provider, model)
        if match is None:
            return None
        gp_provider, info, _ = match
        context = {"service_tier": tier} if tier else None
        price = info.get_prices(at, context)  # type: ignore[arg-type]
        prices = ModelPrices(
            PriceSource.PRICES,
            provider,
            model,
            f"{gp_provider.id}/{info.id}",
            input=_rate(price.input_mtok),
            cache_read=_rate(price.cache_read_mtok),
            cache_write=_rate(price.cache_write_mtok),
            cache_write_1h=_rate(price.cache_write_1h_mtok),
            output=_rate(price.output_mtok),
            notes=(info.price_comments,) if info.price_comments else (),
        )
        if prices.input is None and prices.output is None:
            return None  # priced per request, image, second...: not a token price we can apply
        return prices

    def _prices_for(self, provider: str, model: str, tier: str | None, end_ns: int) -> ModelPrices | None:
        match = self._match(provider, model)  # cached; says whether prices vary by time of day
        per_minute = match is not None and match[2]
        period = end_ns // _NS_PER_MINUTE if per_minute else end_ns // _NS_PER_DAY
        key = (provider, model, tier, per_minute, period)
        found = self._prices.get(key, _MISS)
        if found is _MISS:
            found = self._resolve(provider, model, tier, _utc(end_ns))
            self._prices.put(key, found)
        return found  # type: ignore[no-any-return]

    def _plan_for(self, provider: str, model: str, tier: str | None, end_ns: int) -> _Plan | None:
        """The resolved rates for a call (hot path: the last period asked for is kept per model)."""
        key = (provider, model, tier)
        plan = self._plans.get(key)
        if plan is not None:
            period = end_ns // plan.period_ns
            if period == plan.period:
                return plan
        prices = self._prices_for(provider, model, tier, end_ns)
        if prices is None:
            return None
        match = self._match(provider, model)
        period_ns = _NS_PER_MINUTE if match is not None and match[2] else _NS_PER_DAY
        plan = _Plan(prices, period_ns, end_ns // period_ns)
        if len(self._plans) >= self._plans_size:
            self._plans.clear()
        self._plans[key] = plan
        return plan

    def lookup(self, provider: str, model: str, at: dt.datetime, service_tier: str | None = None) -> ModelPrices | None:
        """The prices for ``model`` of ``provider`` valid at ``at`` (None: unpriced)."""
        if at.tzinfo is None:
            at = at.replace(tzinfo=dt.UTC)
        return self._resolve(provider, model, service_tier, at)

    # -- pricing --------------------------------------------------------------------------------

    def price(self, call: LlmCall) -> Cost:
        """The exact cost of ``call`` (see the module doc for every rule)."""
        if call.provider_cost_usd is not None:
            return Cost(PriceSource.PROVIDER, total_override=call.provider_cost_usd)
        usage = call.usage
        if not call.usage_reported or usage.total == 0:
            return Cost(PriceSource.PRICES) if call.outcome is Outcome.ERROR or call.usage_reported else UNPRICED
        plan = None
        response_model, request_model = call.response_model, call.request_model
        if response_model:
            plan = self._plan_for(call.provider, response_model, call.service_tier, call.end_time_ns)
        if plan is None and request_model and request_model != response_model:
            plan = self._plan_for(call.provider, request_model, call.service_tier, call.end_time_ns)
        if plan is None:
            return UNPRICED
        return plan.cost(usage, call.cache_write_1h)


class _Plan:
    """One model's prices for one period, with each token type's rate resolved (see :func:`cost_of`)."""

    __slots__ = (
        "cache_1h", "cache_read", "cache_write", "input", "output", "period", "period_ns", "pusd_rates", "singles",
        "source",
    )  # fmt: skip

    def __init__(self, prices: ModelPrices, period_ns: int, period: int) -> None:
        self.source = prices.source
        self.period_ns = period_ns
        self.period = period
        input_rate = prices.input
        cache_write = prices.cache_write or input_rate
        # Each: None (no price), a Decimal (one price, per token) or a Rate (per million tokens,
        # tiers on total input tokens).
        self.input = _resolved(input_rate)
        self.cache_read = _resolved(prices.cache_read or input_rate)
        self.cache_write = _resolved(cache_write)
        self.cache_1h = _resolved(prices.cache_write_1h or cache_write)
        self.output = _resolved(prices.output)
        # Whole pico-USD per token of input, cache read, cache write, 1-hour cache write and output,
        # when every rate is a single price of a whole number of pico-USD per token (as all bundled
        # prices are): the cost is then also computed in integers (Cost.pusd).
        self.singles = _singles((self.input, self.cache_read, self.cache_write, self.cache_1h, self.output))
        self.pusd_rates = _whole_pusd(self.singles) if self.singles is not None else None

    def cost(self, usage: TokenUsage, cache_1h: int) -> Cost:
        """Exactly what :func:`cost_of` computes: count * rate / MILLION per token type."""
        singles, rates = self.singles, self.pusd_rates
        if singles is not None and rates is not None:  # single known prices (the usual case): unrolled
            i, cr, o, r = usage.input, usage.cache_read, usage.output, usage.reasoning
            cw = usage.cache_write - cache_1h
            input_rate, cache_read_rate, cache_write_rate, cache_1h_rate, output_rate = singles
            return new_cost(  # Cost(...), positional
                self.source,
                i * input_rate if i else _ZERO,
                cr * cache_read_rate if cr else _ZERO,
                (cw * cache_write_rate if cw else _ZERO) + (cache_1h * cache_1h_rate if cache_1h else _ZERO),
                o * output_rate if o else _ZERO,
                r * output_rate if r else _ZERO,
                None,
                (i * rates[0], cr * rates[1], cw * rates[2] + cache_1h * rates[3], o * rates[4], r * rates[4]),
            )
        total_input = usage.input + usage.cache_read + usage.cache_write
        amounts: list[Decimal] = []
        append = amounts.append
        for count, rate in (
            (usage.input, self.input),
            (usage.cache_read, self.cache_read),
            (usage.cache_write - cache_1h, self.cache_write),
            (cache_1h, self.cache_1h),
            (usage.output, self.output),
            (usage.reasoning, self.output),
        ):
            if not count:
                append(_ZERO)
            elif rate is None:
                return UNPRICED
            elif type(rate) is Decimal:
                append(count * rate)  # the same exact value as Decimal(count) * rate / MILLION
            else:
                append(Decimal(count) * rate.at(total_input) / MILLION)  # type: ignore[union-attr]
        input_cost, cache_read_cost, cache_write_5m, cache_write_1h, output_cost, reasoning_cost = amounts
        return new_cost(  # Cost(...), positional
            self.source, input_cost, cache_read_cost, cache_write_5m + cache_write_1h, output_cost, reasoning_cost
        )


_ZERO = Decimal(0)


_Singles = tuple[Decimal, Decimal, Decimal, Decimal, Decimal]


def _singles(rates: tuple[Rate | Decimal | None, ...]) -> _Singles | None:
    """The five resolved rates when each is a single price per token (none missing or tiered)."""
    a, b, c, d, e = rates
    if type(a) is Decimal and type(b) is Decimal and type(c) is Decimal and type(d) is Decimal and type(e) is Decimal:
        return (a, b, c, d, e)
    return None


def _whole_pusd(rates: _Singles) -> tuple[int, ...] | None:
    """Per-token rates (USD) as whole pico-USD; None if one is finer than that."""
    whole: list[int] = []
    for rate in rates:
        scaled = rate * PICO_PER_USD  # pico-USD per token, exact
        if scaled != scaled.to_integral_value():
            return None
        whole.append(int(scaled))
    return tuple(whole)


def _resolved(rate: Rate | None) -> Rate | Decimal | None:
    """A tiered rate as it is; a single rate as its exact price per token (per million / 10^6)."""
    if rate is None or rate.tiers:
        return rate
    return rate.base.scaleb(-6)


def cost_of(call: LlmCall, prices: ModelPrices) -> Cost:
    """Apply ``prices`` to the call's disjoint usage; UNPRICED if some tokens have no price."""
    usage = call.usage
    total_input = usage.input + usage.cache_read + usage.cache_write
    input_rate = prices.input
    cache_read_rate = prices.cache_read or input_rate
    cache_write_rate = prices.cache_write or input_rate
    cache_1h_rate = prices.cache_write_1h or cache_write_rate
    output_rate = prices.output
    cache_1h = call.cache_write_1h
    parts = (
        (usage.input, input_rate),
        (usage.cache_read, cache_read_rate),
        (usage.cache_write - cache_1h, cache_write_rate),
        (cache_1h, cache_1h_rate),
        (usage.output, output_rate),
        (usage.reasoning, output_rate),
    )
    amounts: list[Decimal] = []
    for count, rate in parts:
        if not count:
            amounts.append(Decimal(0))
        elif rate is None:
            return UNPRICED
        else:
            amounts.append(Decimal(count) * rate.at(total_input) / MILLION)
    input_cost, cache_read_cost, cache_write_5m, cache_write_1h, output_cost, reasoning_cost = amounts
    return Cost(
        prices.source,
        input=input_cost,
        cache_read=cache_read_cost,
        cache_write=cache_write_5m + cache_write_1h,
        output=output_cost,
        reasoning=reasoning_cost,
    )
