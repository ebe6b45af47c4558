"""``genai-cost prices``: look up a model's price, or list the models recorded without one."""

from __future__ import annotations

import argparse
import csv
import io
import sys
from collections.abc import Sequence
from datetime import UTC, datetime, tzinfo

import orjson

from genai_cost.processor.adapters.ledger.queries import UnpricedModel, connect_readonly, unpriced_models
from genai_cost.processor.commands import query_options as opts
from genai_cost.processor.domain.pricing import ModelPrices, Pricer, Rate
from genai_cost.processor.domain.timespec import from_ns
from genai_cost.processor.pipeline.ports import LedgerError

NAME = "prices"
DESCRIPTION = """\
genai-cost prices MODEL [--provider P] [--at WHEN] shows the prices the processor applies to a
model (the overrides file first, then the bundled price data), in USD per million tokens by
token type; it exits 1 when the model has no price (its calls are recorded as unpriced).

genai-cost prices missing lists the (provider, model) pairs recorded as unpriced in the ledger,
with how many calls and when first and last seen: add them to the overrides file
(pricing.overrides_file) and run genai-cost reprice.
"""
MISSING = "missing"
FORMATS = ("table", "json", "csv")
UNKNOWN_PROVIDER = "unknown"  # lets the price data infer the provider from the model name
TOKEN_PRICES = ("input", "cache_read", "cache_write", "cache_write_1h", "output")


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``prices`` subcommand."""
    parser = subparsers.add_parser(
        NAME,
        help="look up a model's price, or list unpriced models ('prices missing')",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("target", metavar="MODEL|missing", help="a model name, or 'missing'")
    parser.add_argument(
        "--provider",
        type=opts.non_empty,
        help="provider, as OTel gen_ai.provider.name (default: inferred from the model name); "
        "with 'missing': only this provider",
    )
    parser.add_argument(
        "--at",
        type=opts.time_spec,
        metavar="WHEN",
        help="price valid at this time (default: now); same forms as --since",
    )
    parser.add_argument(
        "--format", choices=FORMATS, default=None, help="output format (default: table on a terminal, csv otherwise)"
    )
    opts.add_range_options(parser)
    opts.add_ledger_options(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Dispatch to the look-up or to the unpriced list."""
    if args.target == MISSING:
        if args.at is not None:
            return opts.usage_error(NAME, "--at applies to a price look-up, not to 'prices missing'")
        return run_missing(args)
    if args.since is not None or args.until is not None:
        return opts.usage_error(NAME, "--since/--until apply to 'prices missing'; use --at for a look-up")
    return run_lookup(args)


# ----- prices missing ---------------------------------------------------------------------------


def run_missing(args: argparse.Namespace) -> int:
    """List the unpriced models of the ledger (optionally in a range, for one provider)."""
    try:
        _cfg, tz, selection, path = opts.resolve(args)
    except opts.UsageError as exc:
        return opts.usage_error(NAME, str(exc))
    try:
        conn = connect_readonly(path)
    except LedgerError as exc:
        return opts.runtime_error(NAME, str(exc))
    try:
        models = unpriced_models(conn, selection.where)
    finally:
        conn.close()
    fmt = args.format or ("table" if sys.stdout.isatty() else "csv")
    sys.stdout.write(format_missing(models, fmt, tz))
    return 0


def format_missing(models: Sequence[UnpricedModel], fmt: str, tz: tzinfo) -> str:
    """The unpriced list as a table, JSON array or CSV (times in ``tz``, ISO 8601)."""
    records = [
        {
            "provider": m.provider,
            "model": m.model,
            "calls": m.calls,
            "first_seen": from_ns(m.first_seen_ns, tz).isoformat(),
            "last_seen": from_ns(m.last_seen_ns, tz).isoformat(),
        }
        for m in models
    ]
    if fmt == "json":
        return orjson.dumps(records, option=orjson.OPT_INDENT_2).decode() + "\n"
    columns = ["provider", "model", "calls", "first_seen", "last_seen"]
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(columns)
        writer.writerows([r[c] for c in columns] for r in records)
        return out.getvalue()
    if not records:
        return "no unpriced calls recorded\n"
    cells = [["provider", "model", "calls", "first seen", "last seen"]]
    cells += [[str(r[c]) if c != "calls" else f"{r[c]:,}" for c in columns] for r in records]
    widths = [max(len(row[i]) for row in cells) for i in range(len(columns))]
    lines = []
    for row in cells:
        parts = [
            cell.rjust(w) if i == 2 else cell.ljust(w) for i, (cell, w) in enumerate(zip(row, widths, strict=True))
        ]
        lines.append("  ".join(parts).rstrip())
    lines.append("")
    lines.append("Add prices for these models to the overrides file (pricing.overrides_file), then run")
    lines.append("'genai-cost reprice --since WHEN' to price the calls already recorded.")
    return "\n".join(lines) + "\n"


# ----- price look-up ----------------------------------------------------------------------------


def run_lookup(args: argparse.Namespace) -> int:
    """Show the prices that apply to one model; exit 1 when it has none (its calls are unpriced)."""
    try:
        cfg = opts.load_config(args)
        tz = opts.report_zone(args, cfg)
        pricer = opts.build_pricer(cfg)
    except opts.UsageError as exc:
        return opts.usage_error(NAME, str(exc))
    if not isinstance(pricer, Pricer):  # pragma: no cover - the processor always builds a Pricer
        return opts.runtime_error(NAME, "the configured pricer cannot look prices up")
    now = datetime.now(UTC)
    at = args.at.resolve(now, tz) if args.at is not None else now
    provider = args.provider or UNKNOWN_PROVIDER
    prices = pricer.lookup(provider, args.target, at)
    if prices is None:
        return opts.runtime_error(
            NAME,
            f"no price for model {args.target!r} of provider {provider!r} at {at.isoformat()}: its calls are "
            "recorded as unpriced; add it to the overrides file (pricing.overrides_file)",
        )
    fmt = args.format or ("table" if sys.stdout.isatty() else "csv")
    sys.stdout.write(format_prices(prices, at, fmt))
    return 0


def _rate_record(rate: Rate) -> dict[str, object]:
    return {
        "usd_per_mtok": str(rate.base),
        "tiers": [{"above_input_tokens": start, "usd_per_mtok": str(price)} for start, price in rate.tiers],
    }


def format_prices(prices: ModelPrices, at: datetime, fmt: str) -> str:
    """A model's prices (USD per million tokens, exact) as a table, JSON or CSV."""
    rates = [(name, rate) for name in TOKEN_PRICES if (rate := getattr(prices, name)) is not None]
    if fmt == "json":
        document = {
            "provider": prices.provider,
            "model": prices.model,
            "at": at.isoformat(),
            "source": prices.source.value,
            "matched": prices.matched,
            "prices": {name: _rate_record(rate) for name, rate in rates},
            "valid_from": prices.valid_from.isoformat() if prices.valid_from else None,
            "valid_to": prices.valid_to.isoformat() if prices.valid_to else None,
            "notes": list(prices.notes),
        }
        return orjson.dumps(document, option=orjson.OPT_INDENT_2).decode() + "\n"
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["token_type", "usd_per_mtok", "tiers", "source", "matched"])
        for name, rate in rates:
            tiers = ";".join(f">{start}:{price}" for start, price in rate.tiers)
            writer.writerow([name, str(rate.base), tiers, prices.source.value, prices.matched])
        return out.getvalue()
    lines = [f"{prices.describe()}", f"  at: {at.isoformat()}"]
    lines += [f"  note: {note}" for note in prices.notes]
    return "\n".join(lines) + "\n"
