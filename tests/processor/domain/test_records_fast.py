"""Positional constructors (compiled and generated) build exactly what the dataclass builds."""

from __future__ import annotations

import dataclasses
import gc
import sys
from decimal import Decimal
from typing import Any

import pytest
from required import compiled as compiled_module

from genai_cost.processor.domain import records_fast
from genai_cost.processor.domain.attribution import Attribution
from genai_cost.processor.domain.records import Cost, LlmCall, PricedCall, PriceSource, TokenUsage
from genai_cost.processor.domain.records_fast import positional_constructor
from genai_cost.processor.ingest.dialects.base import Reading, Role
from genai_cost.processor.ingest.model import SpanView


@pytest.fixture(params=[True, False], ids=["compiled", "generated"])
def compiled(request: pytest.FixtureRequest) -> bool:
    if request.param:
        compiled_module(records_fast._slots, "genai_cost.processor.domain._slots")
    return bool(request.param)


def _values(cls: type, count: int) -> list[Any]:
    return [object() for _ in range(count)]


@pytest.mark.parametrize("cls", [LlmCall, TokenUsage, Cost, PricedCall, SpanView, Reading, Attribution])
def test_every_field_lands_in_its_slot(cls: type, compiled: bool) -> None:
    fields = dataclasses.fields(cls)
    values = _values(cls, len(fields))
    make = positional_constructor(cls, compiled=compiled)
    assert make is not cls
    built = make(*values)
    assert type(built) is cls
    assert [getattr(built, f.name) for f in fields] == values
    assert built == cls(*values)


def test_defaults_and_fresh_factory_values(compiled: bool) -> None:
    make = positional_constructor(LlmCall, compiled=compiled)
    short = make("t", "s", None, 1, 2, "openai", "chat", "m", None, None, "a", "svc")
    assert short == LlmCall("t", "s", None, 1, 2, "openai", "chat", "m", None, None, "a", "svc")
    other = make("t", "s", None, 1, 2, "openai", "chat", "m", None, None, "a", "svc")
    assert short.tags == {} and short.tags is not other.tags  # a new dict per instance
    assert short.usage == TokenUsage() and short.usage is not other.usage
    cost = positional_constructor(Cost, compiled=compiled)(PriceSource.PRICES, Decimal(1))
    assert cost == Cost(PriceSource.PRICES, Decimal(1)) and cost.total_override is None
    reading = positional_constructor(Reading, compiled=compiled)("semconv", Role.INFERENCE)
    assert reading == Reading("semconv", Role.INFERENCE)
    reading.output_overcount = 1  # mutable classes stay mutable
    with pytest.raises(dataclasses.FrozenInstanceError):
        short.agent = "other"  # type: ignore[misc]


def test_argument_count_and_keywords_are_checked(compiled: bool) -> None:
    make = positional_constructor(TokenUsage, compiled=compiled)
    assert make() == TokenUsage()
    with pytest.raises(TypeError):
        make(1, 2, 3, 4, 5, 6)
    with pytest.raises(TypeError):
        positional_constructor(LlmCall, compiled=compiled)("only", "two")
    if compiled:
        with pytest.raises(TypeError, match="positional arguments only"):
            make(input=1)


def test_no_reference_is_leaked_or_lost(compiled: bool) -> None:
    make = positional_constructor(PricedCall, compiled=compiled)
    marker = object()
    before = sys.getrefcount(marker)
    built = [make(marker, marker) for _ in range(1000)]
    assert sys.getrefcount(marker) == before + 2000
    del built
    gc.collect()
    assert sys.getrefcount(marker) == before


def test_the_compiled_module_refuses_what_is_not_a_slot() -> None:
    if records_fast._slots is None:
        pytest.skip("the compiled constructors are not built here")

    class Plain:
        pass

    with pytest.raises(TypeError, match="no slot"):
        records_fast._slots.constructor(Plain, ("value",), ())
    with pytest.raises(TypeError, match="pairs"):
        records_fast._slots.constructor(TokenUsage, ("input",), (0,))
