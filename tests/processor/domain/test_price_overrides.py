"""Overrides file: exact Decimal parsing and precise validation errors."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from genai_cost.processor.domain.price_overrides import OverridesError, PriceOverride, parse_overrides_yaml


def test_parse_exact_decimals_and_dates() -> None:
    text = """
overrides:
  - provider: openai
    model: "ft:gpt-4o-mini:*"
    input_per_mtok: 0.30000000000000001
    output_per_mtok: "1.2"
    cache_read_per_mtok: 1
    valid_from: 2026-01-01
    valid_to: "2026-07-01"
"""
    assert parse_overrides_yaml(text) == [
        PriceOverride(
            "openai",
            "ft:gpt-4o-mini:*",
            Decimal("0.30000000000000001"),
            output_per_mtok=Decimal("1.2"),
            cache_read_per_mtok=Decimal(1),
            valid_from=dt.date(2026, 1, 1),
            valid_to=dt.date(2026, 7, 1),
        )
    ]


def test_top_level_list_and_empty() -> None:
    assert parse_overrides_yaml("- {provider: x, model: y, input_per_mtok: 2}") == [PriceOverride("x", "y", Decimal(2))]
    assert parse_overrides_yaml("") == []


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "- {provider: a, model: b, input_per_mtok: 1}\n- {provider: a, model: b, input_per_mtok: 1}\n"
            "- {provider: a, model: b, input_per_mtok: '-1'}",
            "overrides[2].input_per_mtok: '-1' must be >= 0",
        ),
        ("- {provider: a, model: b, input_per_mtok: -0.5}", "overrides[0].input_per_mtok: '-0.5' must be >= 0"),
        (
            "- {provider: a, model: b, input_per_mtok: abc}",
            "overrides[0].input_per_mtok: 'abc' is not a decimal number",
        ),
        (
            "- {provider: a, model: b, input_per_mtok: true}",
            "overrides[0].input_per_mtok: True is not a number (write prices as decimal numbers)",
        ),
        (
            "- {provider: a, model: b, input_per_mtok: .inf}",
            "overrides[0].input_per_mtok: '.inf' is not a decimal number",
        ),
        ("- {provider: a, model: b}", "overrides[0].input_per_mtok: required field is missing"),
        ("- {model: b, input_per_mtok: 1}", "overrides[0].provider: required field is missing"),
        ("- {provider: a, model: '', input_per_mtok: 1}", "overrides[0].model: '' must be a non-empty string"),
        (
            "- {provider: a, model: b, inptu_per_mtok: 1}",
            "overrides[0].inptu_per_mtok: unknown field (expected one of provider, model, input_per_mtok, "
            "output_per_mtok, cache_read_per_mtok, cache_write_per_mtok, cache_write_1h_per_mtok, valid_from, "
            "valid_to)",
        ),
        (
            "- {provider: a, model: b, input_per_mtok: 1, valid_from: 'soon'}",
            "overrides[0].valid_from: 'soon' is not a date (YYYY-MM-DD)",
        ),
        (
            "- {provider: a, model: b, input_per_mtok: 1, valid_from: 2026-02-01, valid_to: 2026-01-01}",
            "overrides[0].valid_to: '2026-01-01' must be after valid_from '2026-02-01'",
        ),
        ("- just-a-string", "overrides[0]: expected a mapping with provider, model and prices, got 'just-a-string'"),
        ("prices: []", "prices: unknown top-level key (expected 'overrides')"),
        ("overrides: 3", "overrides: expected a list of entries, got int"),
    ],
)
def test_validation_messages(text: str, message: str) -> None:
    with pytest.raises(OverridesError) as raised:
        parse_overrides_yaml(text)
    assert str(raised.value) == message


def test_invalid_yaml() -> None:
    with pytest.raises(OverridesError, match=r"^overrides: invalid YAML \("):
        parse_overrides_yaml("- {provider: [unclosed")


@pytest.mark.parametrize(
    ("provider", "model", "day", "matches"),
    [
        ("openai", "FT:GPT-4O-MINI:acme", dt.date(2026, 1, 1), True),
        ("openai", "gpt-4o-mini", dt.date(2026, 1, 1), False),
        ("anthropic", "ft:gpt-4o-mini:acme", dt.date(2026, 1, 1), False),
        ("openai", "ft:gpt-4o-mini:acme", dt.date(2025, 12, 31), False),
        ("openai", "ft:gpt-4o-mini:acme", dt.date(2026, 7, 1), False),  # valid_to is exclusive
    ],
)
def test_matching(provider: str, model: str, day: dt.date, matches: bool) -> None:
    override = PriceOverride(
        "openai", "ft:gpt-4o-mini:*", Decimal(1), valid_from=dt.date(2026, 1, 1), valid_to=dt.date(2026, 7, 1)
    )
    assert override.matches(provider, model, day) is matches
