"""End to end on the real stack.

An app run under ``opentelemetry-instrument`` with our instrumentors calls the fake LLM server
through the real SDKs -> OTLP/gRPC -> ``genai-cost serve`` -> the real Prometheus scrapes it with
the ``deploy/prometheus`` config and rules -> every query of every dashboard panel returns data
(and, for the panels that read gauges and raw counters, the ledger's exact figures) -> the budget
alert reaches the real Alertmanager running the ``deploy/alertmanager`` config -> its webhook
receiver gets the notification.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml
from am_harness import WebhookReceiver, running_alertmanager
from dashboard_queries import panel_queries
from prom_harness import running_prometheus, stop_process

from genai_cost.fakes.llm_server import FakeLLMServer, Script

pytestmark = pytest.mark.slow

APP = Path(__file__).with_name("instrumented_app.py")
BIN = Path(sys.executable).parent
BUDGET = "e2e-monthly"
BUDGET_LIMIT = Decimal("0.02")  # two Claude calls (0.01515 each) take it past 100 %

_READY = re.compile(r"genai-cost ready: otlp-grpc [\d.]+:(\d+), otlp-http [\d.]+:(\d+), http [\d.]+:(\d+)")


def _tool(name: str) -> str:
    path = BIN / name
    if path.exists():
        return str(path)
    found = shutil.which(name)
    if found is None:
        pytest.fail(f"{name} is not installed") if os.environ.get("CI") else pytest.skip(f"{name} missing")
    return str(found)


@contextmanager
def running_processor(config: Path, log: Path) -> Iterator[tuple[int, int, int, subprocess.Popen[str]]]:
    """``genai-cost serve --config`` in a subprocess; yields (grpc, otlp-http, http) ports once ready."""
    proc = subprocess.Popen(
        [_tool("genai-cost"), "serve", "--config", str(config)],
        stdout=subprocess.PIPE,
        stderr=log.open("w"),
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = ""
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line and proc.poll() is not None:
                break
            if _READY.search(line):
                break
        match = _READY.search(line)
        assert match, f"processor did not start: {line!r}\n{log.read_text()}"
        grpc, otlp_http, http = (int(g) for g in match.groups())
        yield grpc, otlp_http, http, proc
    finally:
        stop_process(proc, timeout_s=20)


def _get(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=5) as response:
        return json.loads(response.read())


def _post_json(url: str, body: dict[str, Any]) -> tuple[int, Any]:
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}, method="POST"
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        return response.status, json.loads(response.read() or b"{}")


def _bad_span_export() -> dict[str, Any]:
    """An OTLP/JSON export with one LLM span whose token count is negative (rejected, counted)."""
    attrs = [
        {"key": "gen_ai.operation.name", "value": {"stringValue": "chat"}},
        {"key": "gen_ai.provider.name", "value": {"stringValue": "openai"}},
        {"key": "gen_ai.request.model", "value": {"stringValue": "gpt-4o-mini"}},
        {"key": "gen_ai.usage.input_tokens", "value": {"intValue": "-5"}},
        {"key": "gen_ai.usage.output_tokens", "value": {"intValue": "3"}},
    ]
    span = {
        "traceId": "5b8efff798038103d269b633813fc60c",
        "spanId": "eee19b7ec3c1b174",
        "name": "chat gpt-4o-mini",
        "kind": 3,
        "startTimeUnixNano": str(time.time_ns() - 1_000_000),
        "endTimeUnixNano": str(time.time_ns()),
        "attributes": attrs,
    }
    resource = {"attributes": [{"key": "service.name", "value": {"stringValue": "e2e-bad"}}]}
    return {"resourceSpans": [{"resource": resource, "scopeSpans": [{"spans": [span]}]}]}


def _ledger_rows(path: Path) -> list[sqlite3.Row]:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    conn.row_factory = sqlite3.Row
    try:
        return conn.execute("SELECT * FROM calls ORDER BY id").fetchall()
    finally:
        conn.close()


def _usd(pusd: int) -> float:
    return float(Decimal(pusd) / Decimal(10**12))


def test_app_to_dashboards_and_alertmanager(tmp_path: Path) -> None:
    ledger = tmp_path / "ledger.sqlite3"
    with (
        WebhookReceiver() as webhook,
        running_alertmanager(tmp_path / "alertmanager", webhook.url) as alertmanager,
        FakeLLMServer() as llm,
    ):
        # The labs agent's second call fails with a rate limit: an error outcome, no tokens.
        config = {
            "otlp": {"grpc": {"host": "127.0.0.1", "port": 0}, "http": {"host": "127.0.0.1", "port": 0}},
            "http": {"host": "127.0.0.1", "port": 0},
            "ledger": {"path": str(ledger)},
            "alertmanager": {"urls": [alertmanager.url], "resend_interval": "2s"},
            "budgets": [{"name": BUDGET, "period": "month", "limit_usd": str(BUDGET_LIMIT)}],
        }
        config_path = tmp_path / "genai-cost.yaml"
        config_path.write_text(yaml.safe_dump(config))
        with running_processor(config_path, tmp_path / "processor.log") as (grpc, otlp_http, http, _proc):
            api = f"http://127.0.0.1:{http}"
            for _ in range(4):  # calls before the labs agent's failing one use the defaults
                llm.script(Script())
            llm.script(
                Script(input_tokens=400, cached_tokens=0, output_tokens=80, reasoning_tokens=0), Script(status=429)
            )
            env = {
                **os.environ,
                "OTEL_SERVICE_NAME": "e2e-app",
                "OTEL_TRACES_EXPORTER": "otlp",
                "OTEL_METRICS_EXPORTER": "none",
                "OTEL_LOGS_EXPORTER": "none",
                "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc",
                "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{grpc}",
                "OTEL_EXPORTER_OTLP_INSECURE": "true",
                "GENAI_COST_OPENAI_INCLUDE_USAGE": "true",  # a local server: opt in, the fake speaks it
                "FAKE_OPENAI_URL": llm.openai_base_url,
                "FAKE_ANTHROPIC_URL": llm.anthropic_base_url,
            }
            app = subprocess.run(
                [_tool("opentelemetry-instrument"), sys.executable, str(APP)],
                env=env,
                capture_output=True,
                text=True,
                timeout=120,
            )
            assert app.returncode == 0, app.stderr
            assert len(llm.requests) == 6

            # One malformed span over OTLP/HTTP JSON: partial success, counted by reason.
            status, answer = _post_json(f"http://127.0.0.1:{otlp_http}/v1/traces", _bad_span_export())
            assert status == 200
            assert answer["partialSuccess"]["rejectedSpans"] == "1" or answer["partialSuccess"]["rejectedSpans"] == 1

            deadline = time.monotonic() + 20
            while len(_ledger_rows(ledger)) < 6 and time.monotonic() < deadline:
                time.sleep(0.1)
            rows = _ledger_rows(ledger)
            assert len(rows) == 6, "\n".join(str(dict(r)) for r in rows)
            by_agent: dict[str, int] = {}
            for row in rows:
                by_agent[row["agent"]] = by_agent.get(row["agent"], 0) + row["cost_total_pusd"]
            total_pusd = sum(by_agent.values())
            assert set(by_agent) == {"support-bot", "research-agent", "labs-agent"}
            assert Decimal(total_pusd) / 10**12 > BUDGET_LIMIT  # the budget went critical
            unpriced = [r for r in rows if r["price_source"] == "unpriced"]
            assert [(r["provider"], r["model"]) for r in unpriced] == [("openai", "acme-llm-1")]

            with running_prometheus(f"127.0.0.1:{http}", tmp_path / "prometheus") as prometheus:
                prometheus.wait_for_scrapes(3)
                prometheus.wait_for_rules_evaluated()
                empty = []
                for query in panel_queries():
                    if not prometheus.query(query.promql()):
                        empty.append(str(query))
                assert empty == [], f"dashboard queries with no data: {empty}"

                # Panels that read gauges and raw counters show the ledger's exact figures.
                def series(expr: str, label: str) -> dict[str, float]:
                    return {s["metric"].get(label, ""): float(s["value"][1]) for s in prometheus.query(expr)}

                spend = series("max by (budget) (genai_budget_spend_usd)", "budget")
                assert spend == pytest.approx({BUDGET: _usd(total_pusd)}, rel=1e-12)
                limit = series("max by (budget) (genai_budget_limit_usd)", "budget")
                assert limit == {BUDGET: float(BUDGET_LIMIT)}
                utilization = series("max by (budget) (genai_budget_utilization_ratio)", "budget")
                assert utilization == pytest.approx({BUDGET: float(Decimal(total_pusd) / 10**12 / BUDGET_LIMIT)})
                unpriced_panel = series("sum by (provider, model) (genai_unpriced_requests_total)", "model")
                assert unpriced_panel == {"acme-llm-1": 1.0}
                per_agent = series("sum by (agent) (genai_cost_usd_total)", "agent")
                assert per_agent == pytest.approx({agent: _usd(p) for agent, p in by_agent.items()}, rel=1e-12)
                outcomes = series("sum by (outcome) (genai_requests_total)", "outcome")
                assert outcomes == {"ok": 5.0, "error": 1.0}
                rejected = series("sum by (reason) (genai_processor_spans_rejected_total) > 0", "reason")
                assert rejected == {"invalid_tokens": 1.0}

            # The processor's budget alert went through the deploy Alertmanager config to the webhook.
            notifications = webhook.wait_for(1, timeout=30)
            alerts = [a for n in notifications for a in n["alerts"]]
            labels = [a["labels"] for a in alerts if a["labels"].get("alertname") == "GenAIBudgetThreshold"]
            assert labels, notifications
            assert {label["budget"] for label in labels} == {BUDGET}
            # Inhibition: the critical (100 %) alert silences the same budget's warnings and info.
            assert {label["severity"] for label in labels} == {"critical"}
            budget_api = _get(f"{api}/api/v1/budgets")
            status_row = next(b for b in budget_api["budgets"] if b["name"] == BUDGET)
            assert Decimal(status_row["spend_usd"]) == Decimal(total_pusd) / 10**12
