"""Conversion of a :class:`PricedCall` into a ledger row (money as integer pico-USD)."""

from __future__ import annotations

import orjson

from genai_cost.processor.domain.records import PricedCall
from genai_cost.processor.pipeline.money import cost_pusd
from genai_cost.processor.pipeline.ports import LedgerEntry, RowError

INT64_MAX = 2**63 - 1


def to_entry(priced: PricedCall, ingested_at_ns: int) -> LedgerEntry:
    """The row for ``priced`` in ``schema.CALL_COLUMNS`` order; :class:`RowError` if it cannot be stored."""
    call = priced.call
    cost = priced.cost
    usage = call.usage
    split, total, rounded = cost_pusd(cost)
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
        call.outcome.value,
        call.error_type,
        call.dialect,
        1 if call.usage_reported else 0,
        usage.input,
        usage.cache_read,
        usage.cache_write,
        usage.output,
        usage.reasoning,
        cost.source.value,
        split[0],
        split[1],
        split[2],
        split[3],
        split[4],
        total,
        ingested_at_ns,
    )
    _check_range(priced, split, total)
    return LedgerEntry(priced, row, rounded)


def _check_range(priced: PricedCall, split: tuple[int, ...], total: int) -> None:
    usage = priced.call.usage
    for name, value in (
        ("input_tokens", usage.input),
        ("cache_read_tokens", usage.cache_read),
        ("cache_write_tokens", usage.cache_write),
        ("output_tokens", usage.output),
        ("reasoning_tokens", usage.reasoning),
        ("cost_total_pusd", total),
        *zip(_COST_COLUMNS, split, strict=True),
    ):
        if not 0 <= value <= INT64_MAX:
            raise RowError(f"{name}={value} is outside 0..{INT64_MAX}")


_COST_COLUMNS = (
    "cost_input_pusd",
    "cost_cache_read_pusd",
    "cost_cache_write_pusd",
    "cost_output_pusd",
    "cost_reasoning_pusd",
)
