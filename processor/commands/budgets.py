"""``genai-cost budgets``: every budget's spend, limit, utilization, projection and firing thresholds.

By default it asks the running processor (``GET /api/v1/budgets``); with ``--offline`` it
evaluates the budgets of ``--config`` against the ledger itself (admin overrides included), so
it works while the processor is stopped.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import urllib.error
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

from genai_cost.processor import config as config_module
from genai_cost.processor.adapters.budget_api import BUDGETS_PATH, status_json
from genai_cost.processor.adapters.budget_store import SqliteBudgetStore
from genai_cost.processor.budget_service import BudgetService
from genai_cost.processor.commands import query_options as opts
from genai_cost.processor.domain.budgets import BudgetConfigError, parse_budgets

NAME = "budgets"
DEFAULT_URL = "http://127.0.0.1:9464"
PROCESSOR_URL_ENV = "GENAI_COST_PROCESSOR_URL"
COLUMNS = ("budget", "period", "spend", "limit", "used", "projected", "firing", "state")


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``budgets`` subcommand."""
    parser = subparsers.add_parser(NAME, help="show every budget's spend, limit and alerts", description=__doc__)
    parser.add_argument(
        "--url",
        default=None,
        help=f"processor HTTP address (default: ${PROCESSOR_URL_ENV}, else {DEFAULT_URL})",
    )
    parser.add_argument("--offline", action="store_true", help="read the ledger directly instead of the processor")
    parser.add_argument("--format", choices=("table", "json"), default="table", help="output format (default: table)")
    opts.add_ledger_options(parser)
    parser.set_defaults(handler=run)


def fetch(url: str, timeout: float = 5.0) -> list[dict[str, Any]]:
    """The budget statuses of a running processor."""
    with urllib.request.urlopen(url.rstrip("/") + BUDGETS_PATH, timeout=timeout) as response:
        document = json.loads(response.read())
    budgets: list[dict[str, Any]] = document["budgets"]
    return budgets


def evaluate_offline(config_file: Path | None, ledger: Path | None) -> list[dict[str, Any]]:
    """The budget statuses computed from the configuration and the ledger, without a processor."""
    cfg = config_module.load(config_file=config_file)
    budgets = parse_budgets(cfg.sections.get("budgets"))
    store = SqliteBudgetStore(ledger or cfg.ledger_path)
    try:
        service = BudgetService(budgets, store=store, tick_interval=0)
        service.start()
        return [status_json(s) for s in service.statuses()]
    finally:
        store.close()


def render_table(budgets: Sequence[dict[str, Any]], out: TextIO) -> None:
    rows = [COLUMNS]
    for b in budgets:
        used = f"{float(b['utilization']) * 100:.1f}%"
        firing = ",".join(f"{t['threshold']}:{t['severity']}" for t in b["firing"]) or "-"
        state = "paused" if b["paused"] else "blocked" if b["blocked"] else "ok"
        rows.append(
            (b["name"], b["period"], f"${b['spend_usd']}", f"${b['limit_usd']}", used, f"${b['projected_usd']}",
             firing, state)
        )  # fmt: skip
    widths = [max(len(str(row[i])) for row in rows) for i in range(len(COLUMNS))]
    for row in rows:
        out.write("  ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() + "\n")


def run(args: argparse.Namespace, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    try:
        if args.offline:
            ledger = Path(args.ledger) if args.ledger else None
            budgets = evaluate_offline(args.config, ledger)
        else:
            url = args.url or os.environ.get(PROCESSOR_URL_ENV) or DEFAULT_URL
            budgets = fetch(url)
    except (BudgetConfigError, config_module.ConfigError) as exc:
        print(f"genai-cost budgets: {exc}", file=sys.stderr)
        return 2
    except (OSError, urllib.error.URLError, ValueError, KeyError) as exc:
        where = "the ledger" if args.offline else "the processor"
        hint = "" if args.offline else " (is genai-cost serve running? --offline reads the ledger instead)"
        print(f"genai-cost budgets: cannot read {where}: {exc}{hint}", file=sys.stderr)
        return 1
    if args.format == "json":
        out.write(json.dumps({"budgets": budgets}, indent=2) + "\n")
    elif not budgets:
        out.write("no budgets configured\n")
    else:
        render_table(budgets, out)
    return 0
