"""The cost API is wired into ``genai-cost serve`` as an extension, and answers from a running serve."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import httpx
import ledger_rows as ledger_rows_helpers
import orjson
import pytest
from prometheus_client import CollectorRegistry

from genai_cost.processor.adapters.http_server import Routes
from genai_cost.processor.app import discover_extensions
from genai_cost.processor.extensions import costs_api


def test_setup_registers_both_routes_for_the_configured_ledger(tmp_path: Path) -> None:
    routes = Routes()
    registry = CollectorRegistry()
    ctx = SimpleNamespace(routes=routes, ledger_path=tmp_path / "ledger.sqlite3", registry=registry)
    costs_api.setup(ctx)  # type: ignore[arg-type]
    assert routes.paths() == ["/api/v1/costs", "/api/v1/export"]
    assert registry.get_sample_value("genai_processor_api_errors_total", {"route": "x", "reason": "y"}) is None
    assert "genai_processor_api_errors" in {m.name for m in registry.collect()}
    handler = routes.resolve("GET", "/api/v1/costs")
    assert handler.__self__._ledger_path == tmp_path / "ledger.sqlite3"  # type: ignore[union-attr]


def test_serve_loads_the_extension() -> None:
    assert "genai_cost.processor.extensions.costs_api" in [name for name, _ in discover_extensions()]


READY = re.compile(r"genai-cost ready: .*http 127\.0\.0\.1:(\d+)")


@pytest.mark.slow
def test_running_serve_answers_costs_and_export_from_its_ledger(tmp_path: Path) -> None:
    lr = ledger_rows_helpers
    ledger = lr.create_ledger(
        tmp_path / "ledger.sqlite3",
        [
            lr.row(agent="planner", end_time_ns=1_714_557_600 * 10**9, input_tokens=10, cost_input_pusd=25_000_000),
            lr.row(agent="writer", end_time_ns=1_714_561_200 * 10**9, output_tokens=3, cost_output_pusd=30_000_007),
        ],
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("GENAI_COST_")}
    env |= {"HOME": str(tmp_path), "XDG_DATA_HOME": str(tmp_path / "data"), "GENAI_COST_LEDGER_PATH": str(ledger)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "genai_cost.processor.cli", "serve", "--otlp-grpc-port", "0",
         "--otlp-http-port", "0", "--http-port", "0", "--log-level", "warning"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        match = READY.search(line)
        assert match is not None, line
        base = f"http://127.0.0.1:{match[1]}"
        doc = httpx.get(f"{base}/api/v1/costs", params={"group_by": "agent"}, timeout=10).json()
        assert [(g["agent"], g["cost_usd"]) for g in doc["groups"]] == [
            ("writer", "0.000030000007"),
            ("planner", "0.000025"),
        ]
        assert doc["total"]["cost_usd"] == "0.000055000007"
        lines = httpx.get(f"{base}/api/v1/export", params={"format": "jsonl"}, timeout=10).text.splitlines()
        assert [orjson.loads(x)["agent"] for x in lines] == ["planner", "writer"]
        bad = httpx.get(f"{base}/api/v1/costs", params={"group_by": "year"}, timeout=10)
        assert (bad.status_code, bad.json()["parameter"], bad.json()["value"]) == (400, "group_by", "year")
        metrics = httpx.get(f"{base}/metrics", timeout=10).text
        assert 'genai_processor_api_errors_total{reason="bad_parameter",route="/api/v1/costs"} 1.0' in metrics
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)
