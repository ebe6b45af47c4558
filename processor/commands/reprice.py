"""``genai-cost reprice``: price recorded calls again, e.g. unpriced ones after an override was added."""

from __future__ import annotations

import argparse
import sqlite3
import sys
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from genai_cost.processor.adapters.ledger.queries import (
    CallFilter,
    CostUpdate,
    RepriceRow,
    apply_cost_updates,
    connect_readwrite,
    rows_to_reprice,
)
from genai_cost.processor.commands import query_options as opts
from genai_cost.processor.domain.records import LlmCall, Outcome, PriceSource
from genai_cost.processor.domain.report import format_usd
from genai_cost.processor.pipeline.engine import PricerLike
from genai_cost.processor.pipeline.money import cost_pusd
from genai_cost.processor.pipeline.ports import LedgerError

NAME = "reprice"
DESCRIPTION = """\
Price recorded calls again, e.g. the unpriced ones after their model was added to the overrides
file (pricing.overrides_file). By default only calls recorded as unpriced are re-priced; --all
also re-prices the calls of one --model that were priced from price data or an override (after
an override changed its price). Calls that carry a provider-reported cost are never touched.

Each call is priced as at ingest: at its end time, with its service tier and its 1-hour share of
cache writes (calls recorded before the ledger stored these count as default tier and 5-minute
writes). All new costs are written in ONE transaction, each row guarded by the price source it
was read with (a concurrent change wins).
Reports and exports see the new costs at once; a running genai-cost serve shows them in /metrics
after its next restart, when its counters resume from the ledger.
"""
_PRICED = (PriceSource.PRICES, PriceSource.OVERRIDE)


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``reprice`` subcommand."""
    parser = subparsers.add_parser(
        NAME,
        help="price recorded calls again (unpriced ones, after adding an override)",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    opts.add_range_options(parser)
    opts.add_label_filters(parser, session=False)
    parser.add_argument(
        "--all",
        action="store_true",
        help="also re-price calls already priced from price data (requires --model)",
    )
    parser.add_argument("--dry-run", action="store_true", help="show what would change, write nothing")
    opts.add_ledger_options(parser)
    parser.set_defaults(handler=run)


@dataclass(slots=True)
class RepriceResult:
    """What a re-pricing found and changed."""

    selected: int = 0
    priced: int = 0  # rows given a (new) cost
    written: int = 0  # rows actually updated (0 on a dry run)
    added_pusd: int = 0  # change of the total cost of the priced rows
    still_unpriced: Counter[tuple[str, str]] = field(default_factory=Counter)
    updates: list[CostUpdate] = field(default_factory=list)


def plan(rows: Sequence[RepriceRow], pricer: PricerLike) -> RepriceResult:
    """Price each row again; rows whose cost would not change are left out of the updates."""
    result = RepriceResult(selected=len(rows))
    for row in rows:
        cost = pricer.price(_call_of(row))
        if cost.source not in _PRICED:
            result.still_unpriced[(row.provider, row.model)] += 1
            continue
        split, total, _rounded = cost_pusd(cost)
        if row.price_source == cost.source.value and total == row.cost_total_pusd:
            continue
        result.priced += 1
        result.added_pusd += total - row.cost_total_pusd
        result.updates.append(CostUpdate(row.id, row.price_source, cost.source, split, total))
    return result


def _call_of(row: RepriceRow) -> LlmCall:
    return LlmCall(
        trace_id=row.trace_id,
        span_id=row.span_id,
        parent_span_id=None,
        start_time_ns=row.start_time_ns,
        end_time_ns=row.end_time_ns,
        provider=row.provider,
        operation=row.operation,
        request_model=row.request_model,
        response_model=row.response_model,
        response_id=None,
        agent=row.agent,
        service=row.service,
        usage=row.usage,
        usage_reported=row.usage_reported,
        outcome=Outcome(row.outcome),
        cache_write_1h=row.cache_write_1h,
        service_tier=row.service_tier,
    )


def reprice(
    conn: sqlite3.Connection, where: CallFilter, pricer: PricerLike, *, only_unpriced: bool, dry_run: bool
) -> RepriceResult:
    """Select, price and (unless ``dry_run``) write; raises :class:`LedgerError` if the write fails."""
    result = plan(rows_to_reprice(conn, where, only_unpriced=only_unpriced), pricer)
    if not dry_run and result.updates:
        result.written = apply_cost_updates(conn, result.updates)
    return result


def run(args: argparse.Namespace) -> int:
    """Re-price and print a summary; exit 0, 1 when the ledger cannot be used, 2 for bad options."""
    if args.all and not args.model:
        return opts.usage_error(NAME, "--all re-prices every call of one model: give --model too")
    try:
        cfg, _tz, selection, path = opts.resolve(args)
    except opts.UsageError as exc:
        return opts.usage_error(NAME, str(exc))
    try:
        pricer = opts.build_pricer(cfg)
    except opts.UsageError as exc:
        return opts.usage_error(NAME, str(exc))
    try:
        conn = connect_readwrite(path)
    except LedgerError as exc:
        return opts.runtime_error(NAME, str(exc))
    try:
        result = reprice(conn, selection.where, pricer, only_unpriced=not args.all, dry_run=args.dry_run)
    except LedgerError as exc:
        return opts.runtime_error(NAME, str(exc))
    finally:
        conn.close()
    sys.stdout.write(summary(result, dry_run=args.dry_run, only_unpriced=not args.all))
    return 0


def summary(result: RepriceResult, *, dry_run: bool, only_unpriced: bool) -> str:
    """The lines printed after a re-pricing."""
    kind = "unpriced calls" if only_unpriced else "calls"
    verb = "would re-price" if dry_run else "re-priced"
    count = result.priced if dry_run else result.written
    sign = "-" if result.added_pusd < 0 else "+"
    lines = [
        f"{verb} {count} of {result.selected} {kind} selected; "
        f"cost change {sign}{format_usd(abs(result.added_pusd))} USD"
    ]
    if not dry_run and result.written != result.priced:
        lines.append(f"{_calls(result.priced - result.written)} changed meanwhile and were left as they were")
    if result.still_unpriced:
        total = sum(result.still_unpriced.values())
        lines.append(f"still unpriced: {_calls(total)}")
        for (provider, model), n in sorted(result.still_unpriced.items(), key=lambda kv: (-kv[1], kv[0])):
            lines.append(f"  {provider}  {model}  {_calls(n)}")
    return "\n".join(lines) + "\n"


def _calls(n: int) -> str:
    return f"{n} call" if n == 1 else f"{n} calls"
