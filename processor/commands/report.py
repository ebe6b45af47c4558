"""``genai-cost report``: spend from the ledger grouped by agent, model, provider, session, day or month."""

from __future__ import annotations

import argparse
import csv
import sys
from collections.abc import Sequence
from typing import Any, TextIO

import orjson

from genai_cost.processor.adapters.ledger.queries import connect_readonly, summarize
from genai_cost.processor.commands import query_options as opts
from genai_cost.processor.domain.report import (
    FLAT_COLUMNS,
    GroupBy,
    SummaryRow,
    flat_record,
    render_table,
    report_document,
)
from genai_cost.processor.pipeline.ports import LedgerError

NAME = "report"
FORMATS = ("table", "json", "csv")

DESCRIPTION = """\
Summarize recorded LLM spend from the ledger. Money is exact: USD with at least six decimals
and more when needed (never rounded). A call counts in the range and in the day or month its
end time falls in; --since is inclusive, --until exclusive. Calls without a session are grouped
under (none) in tables and null in JSON.
"""


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``report`` subcommand."""
    parser = subparsers.add_parser(
        NAME, help="summarize spend by agent, model, provider, session, day or month", description=DESCRIPTION
    )
    parser.add_argument(
        "--by",
        "--group-by",
        dest="group_by",
        choices=[g.value for g in GroupBy],
        default=GroupBy.AGENT.value,
        help="grouping (default: agent)",
    )
    parser.add_argument(
        "--format",
        choices=FORMATS,
        default=None,
        help="output format (default: table on a terminal, csv otherwise)",
    )
    opts.add_range_options(parser)
    opts.add_label_filters(parser)
    opts.add_ledger_options(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Print the report; exit 0, 1 when the ledger cannot be read, 2 for bad options."""
    try:
        _cfg, _tz, selection, path = opts.resolve(args)
    except opts.UsageError as exc:
        return opts.usage_error(NAME, str(exc))
    group_by = GroupBy(args.group_by)
    try:
        conn = connect_readonly(path)
    except LedgerError as exc:
        return opts.runtime_error(NAME, str(exc))
    try:
        rows = summarize(conn, group_by, selection.where, selection.tz)
    finally:
        conn.close()
    out = sys.stdout
    fmt = args.format or ("table" if out.isatty() else "csv")
    if fmt == "table":
        out.write(render_table(rows, group_by))
    elif fmt == "csv":
        write_csv(out, rows, group_by)
    else:
        document = report_document(rows, group_by, describe(args, selection))
        out.write(orjson.dumps(document, option=orjson.OPT_INDENT_2).decode() + "\n")
    out.flush()
    return 0


def write_csv(out: TextIO, rows: Sequence[SummaryRow], group_by: GroupBy) -> None:
    """One CSV line per group (no total line): the key, counts, tokens and exact USD amounts."""
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([group_by.value, *FLAT_COLUMNS])
    for row in rows:
        record = flat_record(row.key, row.totals)
        writer.writerow([record["key"], *(record[c] for c in FLAT_COLUMNS)])


def describe(args: argparse.Namespace, selection: opts.Selection) -> dict[str, Any]:
    """What a report covers: the resolved range, the zone and the filters given."""
    return {
        "since": selection.since.isoformat() if selection.since else None,
        "until": selection.until.isoformat() if selection.until else None,
        "timezone": str(selection.tz),
        "filters": {
            key: value
            for key in ("agent", "model", "provider", "session")
            if (value := getattr(args, key, None)) is not None
        },
    }
