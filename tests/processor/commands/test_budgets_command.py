"""``genai-cost budgets``: offline from the ledger, and from a running processor's API."""

from __future__ import annotations

import io
import json
import time
from pathlib import Path
from types import ModuleType

import yaml

from genai_cost.processor.adapters.budget_api import BudgetApi
from genai_cost.processor.adapters.http_server import HttpServer, Routes
from genai_cost.processor.budget_service import BudgetService
from genai_cost.processor.cli import build_parser
from genai_cost.processor.commands import budgets as command
from genai_cost.processor.domain.budgets import parse_budgets

BUDGETS = [
    {"name": "research", "period": "total", "limit_usd": "2", "match": {"agent": "researcher"}},
    {"name": "everything", "period": "total", "limit_usd": "100"},
]


def run(argv: list[str]) -> tuple[int, str]:
    args = build_parser().parse_args(["budgets", *argv])
    out = io.StringIO()
    return command.run(args, out), out.getvalue()


def test_offline_reads_the_ledger(tmp_path: Path, ledger_rows: ModuleType) -> None:
    now = time.time_ns()
    ledger = ledger_rows.create_ledger(
        tmp_path / "ledger.sqlite3",
        [
            ledger_rows.row(agent="researcher", end_time_ns=now, cost_input_pusd=1_500_000_000_000),
            ledger_rows.row(agent="writer", end_time_ns=now, cost_input_pusd=250_000_000_000),
        ],
    )
    config = tmp_path / "genai-cost.yaml"
    config.write_text(yaml.safe_dump({"budgets": BUDGETS}))
    code, out = run(["--offline", "--config", str(config), "--ledger", str(ledger)])
    assert code == 0
    assert out.splitlines() == [
        "budget      period  spend  limit  used   projected  firing                 state",
        "research    total   $1.5   $2     75.0%  $1.500000  0.5:info,0.75:warning  ok",
        "everything  total   $1.75  $100   1.8%   $1.750000  -                      ok",
    ]


def test_online_asks_the_processor_and_reports_when_it_is_down() -> None:
    service = BudgetService(parse_budgets(BUDGETS), tick_interval=0)
    service.start()
    routes = Routes()
    BudgetApi(service).register(routes)
    server = HttpServer("127.0.0.1", 0, routes)
    server.start()
    url = f"http://127.0.0.1:{server.port}"
    try:
        code, out = run(["--url", url, "--format", "json"])
        assert code == 0
        document = json.loads(out)
        assert [(b["name"], b["spend_usd"], b["limit_usd"]) for b in document["budgets"]] == [
            ("research", "0", "2"),
            ("everything", "0", "100"),
        ]
    finally:
        server.stop(1)
    code, out = run(["--url", url])
    assert (code, out) == (1, "")
