"""Pricer: exact Decimal costs from genai-prices' bundled data and overrides (expected values are
written from the published per-million prices, not computed by the Pricer)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import time
from decimal import Decimal

import pytest

from genai_cost.processor.domain.price_overrides import PriceOverride
from genai_cost.processor.domain.pricing import Pricer
from genai_cost.processor.domain.records import UNPRICED, Cost, LlmCall, Outcome, PriceSource, TokenUsage

M = Decimal(1_000_000)


def ns(*args: int) -> int:
    return int(dt.datetime(*args, tzinfo=dt.UTC).timestamp()) * 10**9  # type: ignore[misc]


def call(provider: str, model: str, usage: TokenUsage, end: int = ns(2026, 11, 1), **kw: object) -> LlmCall:
    return LlmCall(
        trace_id="a" * 32,
        span_id="b" * 16,
        parent_span_id=None,
        start_time_ns=end - 10**9,
        end_time_ns=end,
        provider=provider,
        operation="chat",
        request_model=model,
        response_model=None,
        response_id=None,
        agent="svc",
        service="svc",
        usage=usage,
        **kw,
    )  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("provider", "model", "usage", "end", "expected"),
    [
        # gpt-4o-mini: input 0.15, cache read 0.075, output 0.60 (reasoning priced as output)
        (
            "openai",
            "gpt-4o-mini",
            TokenUsage(1000, 2000, 0, 300, 100),
            ns(2026, 11, 1),
            Cost(
                PriceSource.PRICES,
                input=1000 * Decimal("0.15") / M,
                cache_read=2000 * Decimal("0.075") / M,
                output=300 * Decimal("0.60") / M,
                reasoning=100 * Decimal("0.60") / M,
            ),
        ),
        # OpenAI has no cache-write price: writes pay the input price
        (
            "openai",
            "gpt-4o-mini",
            TokenUsage(0, 0, 1000, 0, 0),
            ns(2026, 11, 1),
            Cost(PriceSource.PRICES, cache_write=Decimal("0.00015")),
        ),
        # tiers are cliffs on total input (input + cache): 150k + 60k cached > 200k -> tier prices
        # gemini-2.5-pro tier: input 2.5, cache read 0.25, output 15
        (
            "gcp.gemini",
            "gemini-2.5-pro",
            TokenUsage(150_000, 60_000, 0, 1000, 0),
            ns(2026, 11, 1),
            Cost(PriceSource.PRICES, input=Decimal("0.375"), cache_read=Decimal("0.015"), output=Decimal("0.015")),
        ),
        # exactly 200k is not past the tier start: base prices 1.25 / 10
        (
            "gcp.gemini",
            "gemini-2.5-pro",
            TokenUsage(200_000, 0, 0, 1000, 0),
            ns(2026, 11, 1),
            Cost(PriceSource.PRICES, input=Decimal("0.25"), output=Decimal("0.01")),
        ),
        # dated prices: claude-sonnet-4-6 was tiered (>200k: input 6, output 22.5) until 2026-03-12 ...
        (
            "anthropic",
            "claude-sonnet-4-6",
            TokenUsage(250_000, 0, 0, 1000, 0),
            ns(2026, 3, 12, 23, 59),
            Cost(PriceSource.PRICES, input=Decimal("1.5"), output=Decimal("0.0225")),
        ),
        # ... and flat (input 3, output 15) from 2026-03-13
        (
            "anthropic",
            "claude-sonnet-4-6",
            TokenUsage(250_000, 0, 0, 1000, 0),
            ns(2026, 3, 13),
            Cost(PriceSource.PRICES, input=Decimal("0.75"), output=Decimal("0.015")),
        ),
        # deepseek-v4-flash: 0.14 until 2026-08-16, 0.22 from 08-17, 0.15 from 09-10, 0.30 01:00-04:00 UTC
        (
            "deepseek",
            "deepseek-v4-flash",
            TokenUsage(1_000_000),
            ns(2026, 8, 16, 12),
            Cost(PriceSource.PRICES, input=Decimal("0.14")),
        ),
        (
            "deepseek",
            "deepseek-v4-flash",
            TokenUsage(1_000_000),
            ns(2026, 8, 17, 12),
            Cost(PriceSource.PRICES, input=Decimal("0.22")),
        ),
        (
            "deepseek",
            "deepseek-v4-flash",
            TokenUsage(1_000_000),
            ns(2026, 9, 10, 12),
            Cost(PriceSource.PRICES, input=Decimal("0.15")),
        ),
        (
            "deepseek",
            "deepseek-v4-flash",
            TokenUsage(1_000_000),
            ns(2026, 9, 10, 2),
            Cost(PriceSource.PRICES, input=Decimal("0.30")),
        ),
    ],
)
def test_price_table(provider: str, model: str, usage: TokenUsage, end: int, expected: Cost) -> None:
    assert Pricer().price(call(provider, model, usage, end)) == expected


def test_time_of_day_prices_not_shared_by_the_cache() -> None:
    pricer = Pricer()
    usage = TokenUsage(1_000_000)
    costs = [pricer.price(call("deepseek", "deepseek-v4-flash", usage, ns(2026, 9, 10, h))).total for h in (2, 5, 3)]
    assert costs == [Decimal("0.30"), Decimal("0.15"), Decimal("0.30")]


def test_price_at_end_time_not_start() -> None:
    end = ns(2026, 3, 13, 0, 0)
    started_day_before = dataclasses.replace(
        call("anthropic", "claude-sonnet-4-6", TokenUsage(250_000)), end_time_ns=end, start_time_ns=end - 60 * 10**9
    )
    assert Pricer().price(started_day_before).total == Decimal("0.75")  # flat 3/MTok, not tiered 6


def test_anthropic_one_hour_cache_writes() -> None:
    # claude-sonnet-4-5: 5-minute writes 3.75, 1-hour writes 6 per million
    priced = Pricer().price(call("anthropic", "claude-sonnet-4-5", TokenUsage(cache_write=2000), cache_write_1h=500))
    assert priced == Cost(PriceSource.PRICES, cache_write=(1500 * Decimal("3.75") + 500 * Decimal(6)) / M)
    assert priced.cache_write == Decimal("0.008625")


def test_service_tier_prices() -> None:
    # gpt-4o-mini priority tier from 2026-10-12: input 0.25, output 1
    usage = TokenUsage(input=1000, output=1000)
    assert Pricer().price(call("openai", "gpt-4o-mini", usage, service_tier="priority")).total == Decimal("0.00125")
    assert Pricer().price(call("openai", "gpt-4o-mini", usage, service_tier="default")).total == Decimal("0.00075")


def test_response_model_then_request_model() -> None:
    c = dataclasses.replace(call("openai", "gpt-4o-mini", TokenUsage(1000)), response_model="gpt-4o-mini-2024-07-18")
    assert Pricer().price(c).total == Decimal("0.00015")
    c = dataclasses.replace(c, response_model="my-proxy-alias")
    assert Pricer().price(c).total == Decimal("0.00015")


@pytest.mark.parametrize(
    ("provider", "model"),
    [("openai", "no-such-model-xyz"), ("my-gateway", "gpt-4o-mini"), ("openai", "fake-error-429")],
)
def test_unknown_model_or_provider_is_unpriced_never_zero(provider: str, model: str) -> None:
    assert Pricer().price(call(provider, model, TokenUsage(100, output=10))) == UNPRICED


def test_tokens_without_a_price_make_the_call_unpriced() -> None:
    # text-embedding-3-small has an input price only
    assert Pricer().price(call("openai", "text-embedding-3-small", TokenUsage(10, output=5))) == UNPRICED


def test_provider_cost_kept() -> None:
    c = call("openai", "gpt-4o-mini", TokenUsage(1000), provider_cost_usd=Decimal("0.0123"))
    assert Pricer().price(c) == Cost(PriceSource.PROVIDER, total_override=Decimal("0.0123"))


def test_no_usage() -> None:
    ok = call("openai", "gpt-4o-mini", TokenUsage(), usage_reported=False)
    failed = dataclasses.replace(ok, outcome=Outcome.ERROR)
    assert (Pricer().price(ok), Pricer().price(failed)) == (UNPRICED, Cost(PriceSource.PRICES))


def test_overrides_win_and_respect_dates() -> None:
    overrides = [
        PriceOverride(
            "openai", "ft:gpt-4o-mini:*", Decimal("0.30"), output_per_mtok=Decimal("1.20"), valid_to=dt.date(2026, 1, 1)
        ),
        PriceOverride(
            "openai",
            "ft:gpt-4o-mini:*",
            Decimal("0.40"),
            output_per_mtok=Decimal("1.60"),
            cache_read_per_mtok=Decimal("0.10"),
        ),
        PriceOverride("*", "gpt-4o-mini", Decimal("0.10"), output_per_mtok=Decimal("0.50")),
    ]
    pricer = Pricer(overrides)
    usage = TokenUsage(input=1000, cache_read=1000, output=1000)
    ft = "ft:gpt-4o-mini:acme:custom:abc123"
    # before 2026: 1000 * (0.30 + 0.30 [cache read falls back to input] + 1.20) / 1e6
    assert pricer.price(call("openai", ft, usage, ns(2025, 12, 31))) == Cost(
        PriceSource.OVERRIDE, input=Decimal("0.0003"), cache_read=Decimal("0.0003"), output=Decimal("0.0012")
    )
    # from 2026: 1000 * (0.40 + 0.10 + 1.60) / 1e6
    assert pricer.price(call("openai", ft, usage, ns(2026, 1, 1))).total == Decimal("0.0021")
    assert pricer.price(call("openai", "gpt-4o-mini", usage, ns(2026, 1, 1))).total == Decimal("0.0007")
    lookup = pricer.lookup("openai", ft, dt.datetime(2026, 2, 1))
    assert lookup is not None
    assert lookup.describe() == (
        f"openai {ft}: override (openai/ft:gpt-4o-mini:*)\n  input: $0.40 / MTok\n"
        "  cache_read: $0.10 / MTok\n  output: $1.60 / MTok"
    )


def test_lookup_bundled_and_missing() -> None:
    pricer = Pricer()
    found = pricer.lookup("openai", "gpt-4o-mini", dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
    assert found is not None
    assert found.describe() == (
        "openai gpt-4o-mini: genai-prices (openai/gpt-4o-mini)\n  input: $0.15 / MTok\n"
        "  cache_read: $0.075 / MTok\n  output: $0.6 / MTok"
    )
    assert pricer.lookup("openai", "no-such-model-xyz", dt.datetime(2026, 1, 1)) is None


def test_cache_makes_repeat_lookups_cheap() -> None:
    """The cached hot path must be much cheaper than genai-prices' own per-call matching."""
    from genai_prices import Usage, calc_price

    c = call("anthropic", "claude-sonnet-4-5-20250929", TokenUsage(50, 10000, 2000, 300))
    pricer = Pricer()
    pricer.price(c)
    n = 2000
    start = time.process_time()
    for _ in range(n):
        pricer.price(c)
    cached = time.process_time() - start
    at = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
    usage = Usage(input_tokens=12050, cache_read_tokens=10000, cache_write_tokens=2000, output_tokens=300)
    start = time.process_time()
    for _ in range(n):
        calc_price(usage, "claude-sonnet-4-5-20250929", provider_id="anthropic", genai_request_timestamp=at)
    library = time.process_time() - start
    assert cached * 2 < library


def test_time_of_day_prices_with_overrides_configured() -> None:
    pricer = Pricer([PriceOverride("openai", "ft:*", Decimal(1))])
    usage = TokenUsage(1_000_000)
    costs = [pricer.price(call("deepseek", "deepseek-v4-flash", usage, ns(2026, 9, 10, h))).total for h in (2, 5)]
    assert costs == [Decimal("0.30"), Decimal("0.15")]


def test_repeat_prices_follow_the_period_and_tier_of_each_call() -> None:
    pricer = Pricer()
    usage = TokenUsage(1_000_000)
    hours = (2, 5, 2, 5, 5, 2)
    costs = [pricer.price(call("deepseek", "deepseek-v4-flash", usage, ns(2026, 9, 10, h))).total for h in hours]
    assert costs == [
        Decimal("0.30"),
        Decimal("0.15"),
        Decimal("0.30"),
        Decimal("0.15"),
        Decimal("0.15"),
        Decimal("0.30"),
    ]
    tiers = [None, "flex", None]
    fresh = [Pricer().price(call("openai", "gpt-5", usage, service_tier=tier)) for tier in tiers]
    assert [pricer.price(call("openai", "gpt-5", usage, service_tier=tier)) for tier in tiers] == fresh
    assert fresh[0].input == Decimal("1.25") and fresh[1].input == Decimal("0.625")


def test_the_cached_plans_price_every_bundled_model_as_cost_of_does() -> None:
    """The hot path (per-token rates resolved once per model and period) against the plain rules."""
    import random

    from genai_prices import data_snapshot

    from genai_cost.processor.domain.pricing import PROVIDER_IDS, cost_of

    rng = random.Random(7)
    snapshot = data_snapshot.get_snapshot()
    ours = {gp_id: name for name, gp_id in PROVIDER_IDS.items() if gp_id}
    pricer = Pricer()
    compared = in_integers = 0
    for provider in snapshot.providers:
        if provider.id not in ours:
            continue
        for model in provider.models:
            for _ in range(3):
                cache_write = rng.choice([0, rng.randint(1, 50_000)])
                usage = TokenUsage(
                    rng.randint(0, 400_000),
                    rng.choice([0, rng.randint(1, 300_000)]),
                    cache_write,
                    rng.randint(0, 20_000),
                    rng.choice([0, rng.randint(1, 5_000)]),
                )
                c = call(ours[provider.id], model.id, usage, cache_write_1h=rng.randint(0, cache_write))
                prices = pricer.lookup(c.provider, model.id, dt.datetime.fromtimestamp(c.end_time_ns / 1e9, dt.UTC))
                if prices is None:
                    continue
                cost = pricer.price(c)
                assert cost == cost_of(c, prices), (provider.id, model.id, usage)
                compared += 1
                if cost.pusd is not None:  # the integer amounts are the exact Decimal ones
                    amounts = (cost.input, cost.cache_read, cost.cache_write, cost.output, cost.reasoning)
                    assert [Decimal(p).scaleb(-12) for p in cost.pusd] == list(amounts), (model.id, usage)
                    in_integers += 1
    assert compared > 500
    assert in_integers > compared * 0.8  # every bundled single price is a whole pico-USD per token


def test_prices_finer_than_a_pico_usd_per_token_are_priced_in_decimals_only() -> None:
    from genai_cost.processor.pipeline.money import cost_pusd

    pricer = Pricer([PriceOverride("openai", "ft:fine", Decimal("0.0000005"), output_per_mtok=Decimal("2"))])
    cost = pricer.price(call("openai", "ft:fine", TokenUsage(input=3, output=5)))
    assert cost.pusd is None
    assert cost.input == 3 * Decimal("0.0000005") / M
    assert cost_pusd(cost) == ((2, 0, 0, 10_000_000, 0), 10_000_002, 1)  # 1.5 pico-USD rounds to 2 (half even)
    whole = pricer.price(call("openai", "gpt-4o-mini", TokenUsage(input=1000, output=10)))
    assert whole.pusd == (150_000_000, 0, 0, 6_000_000, 0)
    assert cost_pusd(whole) == ((150_000_000, 0, 0, 6_000_000, 0), 156_000_000, 0)
