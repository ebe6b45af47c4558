"""Decimal USD <-> integer pico-USD: exact where the amount allows, half-even rounding otherwise."""

from __future__ import annotations

import random
from decimal import Decimal
from fractions import Fraction

import pytest

from genai_cost.processor.pipeline.money import PICO_PER_USD, from_pusd, to_pusd


def reference(amount: Decimal) -> tuple[int, bool]:
    """pico-USD by exact rational arithmetic, ties to even."""
    scaled = Fraction(amount) * PICO_PER_USD
    whole, rest = divmod(scaled.numerator, scaled.denominator)
    if not rest:
        return whole, False
    twice = 2 * rest
    if twice > scaled.denominator or (twice == scaled.denominator and whole % 2):
        whole += 1
    return whole, True


@pytest.mark.parametrize(
    ("amount", "expected"),
    [
        ("0", (0, False)),
        ("0.00018510", (185_100_000, False)),
        ("1.5", (1_500_000_000_000, False)),
        ("-2.25", (-2_250_000_000_000, False)),
        ("0.0000000000005", (0, True)),  # half: to even (0)
        ("0.0000000000015", (2, True)),  # half: to even (2)
        ("0.00000000000151", (2, True)),
        ("123456789.123456789012", (123_456_789_123_456_789_012, False)),
    ],
)
def test_known_amounts(amount: str, expected: tuple[int, bool]) -> None:
    assert to_pusd(Decimal(amount)) == expected


def test_random_amounts_match_exact_rational_arithmetic() -> None:
    rng = random.Random(3)
    for _ in range(5000):
        amount = Decimal(rng.randint(-(10**20), 10**20)).scaleb(-rng.randint(0, 20))
        assert to_pusd(amount) == reference(amount), amount
        pusd, rounded = to_pusd(amount)
        if not rounded:
            assert from_pusd(pusd) == amount


@pytest.mark.parametrize("bad", ["NaN", "Infinity"])
def test_non_finite_amounts_raise(bad: str) -> None:
    with pytest.raises((ValueError, OverflowError)):
        to_pusd(Decimal(bad))
