"""Conversion of a :class:`PricedCall` into a ledger row (money as integer pico-USD)."""

from __future__ import annotations

import orjson

from genai_cost.processor.adapters.ledger.schema import COST_COLUMNS, TOKEN_COLUMNS
from genai_cost.processor.domain.records import Outcome, PricedCall, PriceSource
from genai_cost.processor.domain.records_fast import positional_constructor
from genai_cost.processor.pipeline.money import cost_pusd
from genai_cost.processor.pipeline.ports import LedgerEntry, RowError

INT64_MAX = 2**63 - 1
_new_entry = positional_constructor(LedgerEntry)  # LedgerEntry(priced, row, pusd, total, rounded)
_TEXT = {member: member.value for enum in (Outcome, PriceSource) for member in enum}
"""Enum member -> its stored text (``.value`` of an Enum is a slow descriptor)."""


def to_entry(priced: PricedCall, ingested_at_ns: int) -> LedgerEntry:
    """The row for ``priced`` in ``schema.CALL_COLUMNS`` order; :class:`RowError` if it cannot be stored."""
    call = priced.call
    cost = priced.cost
    usage = call.usage
    split, total, rounded = cost_pusd(cost)
    tokens = (usage.input, usage.cache_read, usage.cache_write, usage.output, usage.reasoning)
    cache_1h = call.cache_write_1h
    combined = tokens[0] | tokens[1] | tokens[2] | tokens[3] | tokens[4] | cache_1h
    combined |= split[0] | split[1] | split[2] | split[3] | split[4] | total
    if combined < 0 or combined > INT64_MAX:  # one OR finds any negative or too-large value
        _raise_out_of_range((*tokens, cache_1h), split, total)
    tags = orjson.dumps(dict(call.tags), option=orjson.OPT_SORT_KEYS).decode() if call.tags else "{}"
    row = (
        call.trace_id,
        call.span_id,
        call.parent_span_id,
        call.response_id,
        call.start_time_ns,
        call.end_time_ns,
        call.agent,
        call.service,
        call.session,
        call.user,
        tags,
        call.provider,
        call.model,
        call.request_model,
        call.response_model,
        call.operation,
        _TEXT[call.outcome],
        call.error_type,
        call.dialect,
        1 if call.usage_reported else 0,
        *tokens,
        _TEXT[cost.source],
        *split,
        total,
        ingested_at_ns,
        cache_1h,
        call.service_tier,
    )
    return _new_entry(priced, row, split, total, rounded)


_COLUMNS = (*TOKEN_COLUMNS, "cache_write_1h_tokens", *COST_COLUMNS)
"""The checked values, in the order ``_raise_out_of_range`` receives them."""


def _raise_out_of_range(tokens: tuple[int, ...], split: tuple[int, ...], total: int) -> None:
    for name, value in zip(_COLUMNS, (*tokens, *split, total), strict=True):
        if not 0 <= value <= INT64_MAX:
            raise RowError(f"{name}={value} is outside 0..{INT64_MAX}")
