"""``genai-cost prices``: look up a model's price, or list the models recorded without one.

``genai-cost prices MODEL [--provider P] [--at WHEN]`` shows the price the processor would apply
(overrides first, then the bundled price data), per million tokens by token type.
``genai-cost prices missing`` lists the (provider, model) pairs recorded as unpriced in the ledger,
with how many calls and when first and last seen: add them to the overrides file
(``pricing.overrides_file``) and run ``genai-cost reprice``.
"""

from __future__ import annotations

import argparse
import csv
import io
import sys
from collections.abc import Sequence
from datetime import tzinfo

import orjson

from genai_cost.processor.adapters.ledger.queries import UnpricedModel, connect_readonly, unpriced_models
from genai_cost.processor.commands import query_options as opts
from genai_cost.processor.domain.timespec import from_ns
from genai_cost.processor.pipeline.ports import LedgerError

NAME = "prices"
MISSING = "missing"
FORMATS = ("table", "json", "csv")


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``prices`` subcommand."""
    parser = subparsers.add_parser(
        NAME,
        help="look up a model's price, or list unpriced models ('prices missing')",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("target", metavar="MODEL|missing", help="a model name, or 'missing'")
    parser.add_argument("--provider", type=opts.non_empty, help="provider (OTel gen_ai.provider.name value)")
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
        cfg = opts.load_config(args)
        tz = opts.report_zone(args, cfg)
        selection = opts.selection(args, tz)
        path = opts.ledger_path(args, cfg)
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
    """Show the price of one model (filled in with the pricer's look-up API)."""
    return opts.runtime_error(NAME, "price look-up is not available")
