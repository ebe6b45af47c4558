"""Money at the processor's edges: exact integer pico-USD (10^-12 USD) inside, floats only for Prometheus."""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal
from typing import Final

from genai_cost.processor.domain.records import PICO_PER_USD, Cost

__all__ = ["PICO_PER_USD", "cost_pusd", "from_pusd", "pusd_to_float", "to_pusd"]

_PICO_EXPONENT: Final = 12
_ZERO: Final = Decimal(0)


def to_pusd(amount: Decimal) -> tuple[int, bool]:
    """Return ``amount`` USD as whole pico-USD and whether it had to be rounded (half-even)."""
    if not amount:
        return 0, False
    numerator, denominator = amount.as_integer_ratio()  # exact (cheaper than Decimal arithmetic)
    numerator *= PICO_PER_USD
    if not numerator % denominator:
        return numerator // denominator, False
    return int(amount.scaleb(_PICO_EXPONENT).to_integral_value(rounding=ROUND_HALF_EVEN)), True


def from_pusd(pusd: int) -> Decimal:
    """The exact Decimal USD value of a pico-USD amount."""
    return Decimal(pusd).scaleb(-_PICO_EXPONENT) if pusd else _ZERO


def pusd_to_float(pusd: int) -> float:
    """USD as a float: for the Prometheus boundary only."""
    return pusd / PICO_PER_USD


def cost_pusd(cost: Cost) -> tuple[tuple[int, int, int, int, int], int, int]:
    """A cost as pico-USD: (split by token type, total, number of values rounded)."""
    exact = cost.pusd
    if exact is not None and cost.total_override is None:  # computed by the pricer in integers
        return exact, exact[0] + exact[1] + exact[2] + exact[3] + exact[4], 0
    i, r1 = to_pusd(cost.input)
    cr, r2 = to_pusd(cost.cache_read)
    cw, r3 = to_pusd(cost.cache_write)
    o, r4 = to_pusd(cost.output)
    rs, r5 = to_pusd(cost.reasoning)
    rounded = r1 + r2 + r3 + r4 + r5
    if cost.total_override is not None:
        total, r6 = to_pusd(cost.total_override)
        rounded += r6
    else:
        total = i + cr + cw + o + rs
    return (i, cr, cw, o, rs), total, rounded
