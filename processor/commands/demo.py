"""``genai-cost demo``: fake LLM server + processor + instrumented multi-agent workload, no API key."""

from __future__ import annotations

import argparse
import json
import os
import socket
import sys
import tempfile
import time
import urllib.request
from collections.abc import Sequence
from datetime import UTC
from decimal import Decimal
from pathlib import Path
from typing import Any

DEMO_BUDGET = "demo-monthly"
DEFAULT_ROUNDS = 12
DEFAULT_BUDGET_USD = "0.40"  # the default run spends about $0.45: every threshold fires, the last one critical


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = subparsers.add_parser(
        "demo",
        help="see costs, metrics and a budget alert with no API key",
        description="Start a fake LLM server, the processor (embedded defaults plus a demo budget) and a "
        "multi-agent workload through the real openai and anthropic SDKs; show a live per-agent table, "
        "then a report.",
    )
    parser.add_argument("--rounds", type=_positive_int, default=DEFAULT_ROUNDS, help="workload rounds (8 calls each)")
    parser.add_argument("--budget-usd", default=DEFAULT_BUDGET_USD, help="monthly limit of the demo budget (USD)")
    parser.add_argument(
        "--alertmanager", action="append", default=[], metavar="URL", help="send the budget alert there too"
    )
    parser.add_argument("--ledger", type=Path, help="ledger file (default: a temporary one, removed at the end)")
    parser.add_argument("--http-port", type=int, default=9464, help="metrics/API port (any free one if taken)")
    parser.add_argument("--keep-running", action="store_true", help="keep the processor up until Ctrl-C")
    parser.set_defaults(handler=run)


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _port_or_any(port: int) -> int:
    """``port`` if it is free on 127.0.0.1, else 0 (any free port)."""
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return 0
    return port


def demo_config(ledger: Path, http_port: int, budget_usd: str, alertmanagers: Sequence[str]) -> Any:
    """The processor's embedded defaults, on loopback and free ports, plus the demo budget."""
    from genai_cost.processor.config import Config

    sections: dict[str, Any] = {
        "budgets": [{"name": DEMO_BUDGET, "period": "month", "limit_usd": budget_usd}],
    }
    if alertmanagers:
        sections["alertmanager"] = {"urls": list(alertmanagers), "resend_interval": "10s"}
    values = {
        "otlp.grpc.host": "127.0.0.1",
        "otlp.grpc.port": 0,
        "otlp.http.host": "127.0.0.1",
        "otlp.http.port": 0,
        "http.host": "127.0.0.1",
        "http.port": _port_or_any(http_port),
        "ledger.path": ledger,
        "ledger.synchronous": "normal",
        "ingest.tag_attributes": {"genai_cost.tag.team": "team"},
        "log_level": "warning",
    }
    return Config.from_values(values, sections)


def run(args: argparse.Namespace) -> int:
    if args.ledger is not None:
        return _run(args, args.ledger)
    with tempfile.TemporaryDirectory(prefix="genai-cost-demo-") as tmp:
        return _run(args, Path(tmp) / "ledger.sqlite3")


def _run(args: argparse.Namespace, ledger: Path) -> int:
    import logging

    from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    from genai_cost.fakes.llm_server import FakeLLMServer
    from genai_cost.instrumentation.anthropic import AnthropicInstrumentor
    from genai_cost.instrumentation.core.settings import GENAI_COST_OPENAI_INCLUDE_USAGE
    from genai_cost.instrumentation.openai import OpenAIInstrumentor
    from genai_cost.processor.app import App
    from genai_cost.processor.config import ConfigError
    from genai_cost.processor.demo.live import LiveTable, agent_table
    from genai_cost.processor.demo.workload import ROUND, Workload, steps

    # The fake server is a local OpenAI-compatible server, for which usage on streams is opt-in.
    os.environ.setdefault(GENAI_COST_OPENAI_INCLUDE_USAGE, "true")
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s")
    out = sys.stdout
    try:
        config = demo_config(ledger, args.http_port, args.budget_usd, args.alertmanager)
        app = App(config)
        app.start()
    except (ConfigError, ValueError) as exc:
        print(f"genai-cost demo: {exc}", file=sys.stderr)
        return 2
    server = FakeLLMServer().start()
    provider = TracerProvider(resource=Resource.create({"service.name": "genai-cost-demo"}))
    exporter = OTLPSpanExporter(endpoint=f"http://127.0.0.1:{app.grpc_port}", insecure=True)
    provider.add_span_processor(BatchSpanProcessor(exporter, schedule_delay_millis=200))
    instrumentors: list[Any] = [OpenAIInstrumentor(), AnthropicInstrumentor()]
    for instrumentor in instrumentors:
        instrumentor.instrument(tracer_provider=provider)
    api = f"http://127.0.0.1:{app.http_port}"
    print(f"fake LLM server  {server.base_url}  (OpenAI and Anthropic wire formats, no API key)", file=out)
    print(f"processor        {app.endpoints()}", file=out)
    print(f"metrics          {api}/metrics    budgets {api}/api/v1/budgets\n", file=out, flush=True)

    plan = list(steps(args.rounds))
    done = [0]
    live = LiveTable(ledger, out, lambda: f"calls made {done[0]}/{len(plan)}", tty=out.isatty())
    workload = Workload(server)
    status = 0
    try:
        live.start()
        workload.run_all(plan, on_call=lambda n: done.__setitem__(0, n))
        provider.force_flush()
        recorded = _wait_recorded(ledger, len(plan), timeout=20.0)
        live.stop()
        if args.alertmanager:
            _wait_alert_sent(api, timeout=10.0)
        _, table = agent_table(ledger)
        print(f"\nSpend by agent ({recorded} of {len(plan)} calls recorded, {len(ROUND)} per round):\n", file=out)
        print(table, file=out)
        _print_models_and_budget(ledger, api, out)
        if recorded != len(plan):
            print(f"genai-cost demo: only {recorded} of {len(plan)} calls were recorded", file=sys.stderr)
            status = 1
        if args.keep_running:
            print(f"\nThe processor keeps running: {api}/metrics (Ctrl-C to stop)", file=out, flush=True)
            _sleep_until_interrupted()
    finally:
        live.stop()
        workload.close()
        for instrumentor in instrumentors:
            instrumentor.uninstrument()
        provider.shutdown()
        server.stop()
        app.stop()
    return status


def _wait_recorded(ledger: Path, expected: int, timeout: float) -> int:
    from genai_cost.processor.demo.live import agent_table

    deadline = time.monotonic() + timeout
    calls = 0
    while time.monotonic() < deadline:
        calls, _ = agent_table(ledger)
        if calls >= expected:
            break
        time.sleep(0.1)
    return calls


def _get_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=5) as response:
        return json.loads(response.read())


def _wait_alert_sent(api: str, timeout: float) -> None:
    """Give the Alertmanager client a moment to deliver the alerts raised at the end of the run."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with urllib.request.urlopen(f"{api}/metrics", timeout=5) as response:
            text = response.read().decode()
        if 'genai_processor_alert_sends_total{outcome="success"}' in text:
            return
        time.sleep(0.2)


def _print_models_and_budget(ledger: Path, api: str, out: Any) -> None:
    from genai_cost.processor.adapters.ledger.queries import CallFilter, connect_readonly, summarize, unpriced_models
    from genai_cost.processor.domain.report import GroupBy, render_table

    conn = connect_readonly(ledger)
    try:
        print("\nSpend by model:\n", file=out)
        print(render_table(summarize(conn, GroupBy.MODEL, CallFilter(), UTC), GroupBy.MODEL), file=out)
        missing = unpriced_models(conn)
    finally:
        conn.close()
    for model in missing:
        print(
            f"\nUnpriced: {model.provider}/{model.model} ({model.calls} calls) has no known price; it is counted, "
            "not priced at $0. Add it to a pricing overrides file, then `genai-cost reprice`.",
            file=out,
        )
    for budget in _get_json(f"{api}/api/v1/budgets").get("budgets", []):
        print("\n" + budget_line(budget), file=out)


def budget_line(budget: dict[str, Any]) -> str:
    """One budget's status as a sentence (from ``GET /api/v1/budgets``)."""
    spend, limit = Decimal(budget["spend_usd"]), Decimal(budget["limit_usd"])
    firing = ", ".join(
        f"{Decimal(t['threshold']) * 100:.0f}% {t['severity']}" for t in budget.get("firing", [])
    )  # fmt: skip
    return (
        f"Budget {budget['name']} ({budget['period']}): ${spend:.4f} of ${limit:.2f} "
        f"({Decimal(budget['utilization']) * 100:.0f}%), projected ${Decimal(budget['projected_usd']):.4f} "
        f"by {str(budget['period_end'])[:10]}; alerts firing: {firing or 'none'}"
    )


def _sleep_until_interrupted() -> None:
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
