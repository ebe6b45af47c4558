"""Budgets end to end: the processor's pipeline, ledger, HTTP API and the real Alertmanager.

The processor here is the real pipeline (SQLite ledger, writer thread, commit listeners), the
real :9464 HTTP server and the ``budgets`` extension, fed through ``Pipeline.process`` (what the
OTLP receivers call). Alertmanager is the Debian ``prometheus-alertmanager`` on free ports, with a
webhook receiver in the test. The budget clock is injected so periods can roll over.
"""

from __future__ import annotations

import itertools
import json
import time
import urllib.error
import urllib.request
from decimal import Decimal
from pathlib import Path
from typing import Any

import alertmanager_harness
import pytest
from prometheus_client import CollectorRegistry

from genai_cost.processor.adapters.http_server import HttpServer, Routes
from genai_cost.processor.adapters.ledger import SqliteLedger
from genai_cost.processor.app import AppContext
from genai_cost.processor.config import Config
from genai_cost.processor.domain.records import Cost, LlmCall, PriceSource
from genai_cost.processor.extensions import budgets as budgets_extension
from genai_cost.processor.pipeline import Pipeline, Totals

h = alertmanager_harness
DAY_NS = 86_400 * 10**9
_ids = itertools.count(1)
TOKEN = "s3cret-token"


class Clock:
    """The budget clock: real time plus an offset the test moves forward."""

    def __init__(self) -> None:
        self.offset = 0

    def __call__(self) -> int:
        return time.time_ns() + self.offset


class PerTokenPricer:
    """$0.001 per input token: 600 tokens cost exactly $0.60."""

    def price(self, call: LlmCall) -> Cost:
        return Cost(source=PriceSource.PRICES, input=Decimal(call.usage.input) / 1000)


def llm_call(tokens: int, *, at: int, agent: str = "researcher") -> LlmCall:
    from genai_cost.processor.domain.records import TokenUsage

    n = next(_ids) + time.time_ns() % 10**9 * 1000
    return LlmCall(
        trace_id=f"{n:032x}", span_id=f"{n:016x}", parent_span_id=None, start_time_ns=at - 10**6, end_time_ns=at,
        provider="openai", operation="chat", request_model="gpt-4o", response_model="gpt-4o", response_id=None,
        agent=agent, service="app", usage=TokenUsage(input=tokens),
    )  # fmt: skip


BUDGETS = [
    {"name": "research-daily", "period": "day", "limit_usd": "1", "match": {"agent": "researcher"}},
]
ALERTMANAGER = {
    "resend_interval": "1s",
    "backoff_initial": "50ms",
    "backoff_max": "200ms",
    "timeout": "1s",
    "runbook_url": "https://runbooks.example/genai-budget",
    "dashboard_url": "http://grafana.example/d/genai-cost-budgets?var-budget={budget}",
}


class Processor:
    """The processor parts budgets plug into, started and stopped like ``genai-cost serve``."""

    def __init__(self, ledger_path: Path, clock: Clock, sections: dict[str, Any]) -> None:
        self.config = Config.from_values({"ledger.path": ledger_path, "http.port": 0}, sections=sections)
        self.ledger = SqliteLedger(ledger_path)
        self.registry = CollectorRegistry()
        self.totals = Totals()
        self.pipeline = Pipeline(self.ledger, PerTokenPricer(), self.totals)
        self.routes = Routes()
        self.http = HttpServer("127.0.0.1", 0, self.routes)
        self.ctx = AppContext(self.config, self.registry, self.pipeline, self.routes, self.totals, ledger_path)
        self.pipeline.start()
        self.service = budgets_extension.setup(self.ctx, clock=clock, tick_interval=0.05, admin_tokens={"ops": TOKEN})
        self.http.start()
        self.url = f"http://127.0.0.1:{self.http.port}"

    def spend(self, tokens: int, at: int, agent: str = "researcher") -> None:
        assert self.pipeline.process([llm_call(tokens, at=at, agent=agent)]) == []

    def get(self, path: str) -> Any:
        with urllib.request.urlopen(self.url + path, timeout=5) as response:
            return json.loads(response.read())

    def stop(self) -> None:
        self.pipeline.stop(5)
        for closer in reversed(self.ctx._closers):
            closer()
        self.http.stop(1)
        self.ledger.close()


@pytest.fixture
def webhook() -> Any:
    receiver = h.WebhookReceiver()
    yield receiver
    receiver.close()


@pytest.fixture
def alertmanager(tmp_path: Path, webhook: Any) -> Any:
    am = h.Alertmanager(tmp_path, webhook.url)
    am.start()
    yield am
    am.stop()


def thresholds(alerts: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return sorted((a["labels"]["threshold"], a["status"]["state"]) for a in alerts)


@pytest.mark.slow
def test_thresholds_alert_within_two_seconds_route_inhibit_and_resolve_on_roll_over(
    tmp_path: Path, alertmanager: Any, webhook: Any
) -> None:
    clock = Clock()
    proc = Processor(tmp_path / "ledger.sqlite3", clock, {"budgets": BUDGETS, "alertmanager": {
        **ALERTMANAGER, "urls": [alertmanager.url]}})  # fmt: skip
    try:
        started = time.monotonic()
        proc.spend(600, clock())  # $0.60 of $1: over 50 %
        (alert,) = h.wait_for(lambda: alertmanager.alerts(budget="research-daily"), timeout=2.0)
        assert time.monotonic() - started < 2.0
        assert alert["labels"] == {
            "alertname": "GenAIBudgetThreshold", "budget": "research-daily", "threshold": "0.5",
            "severity": "info", "period": "day", "agent": "researcher",
        }  # fmt: skip
        annotations = alert["annotations"]
        assert annotations["summary"] == "Budget 'research-daily' has used 60.0% of its $1.00 day limit (today)"
        assert annotations["description"].startswith("Spend $0.60 of $1.00 (60.0%) since ")
        assert "reaching the 50.0% threshold (info); projected $" in annotations["description"]
        assert annotations["description"].endswith("Scope: agent=researcher.")
        assert (annotations["spend_usd"], annotations["limit_usd"], annotations["utilization"]) == (
            "0.6", "1", "0.6000"
        )  # fmt: skip
        assert annotations["runbook_url"] == "https://runbooks.example/genai-budget"
        assert annotations["dashboard_url"] == "http://grafana.example/d/genai-cost-budgets?var-budget=research-daily"

        # Alertmanager groups by budget and notifies the webhook receiver
        notes = webhook.wait(lambda ns: any(n["status"] == "firing" for n in ns))
        first = next(n for n in notes if n["status"] == "firing")
        assert first["groupLabels"] == {"alertname": "GenAIBudgetThreshold", "budget": "research-daily"}
        assert [a["labels"]["threshold"] for a in first["alerts"]] == ["0.5"]

        # 100 %: critical; it inhibits the budget's info and warning alerts
        proc.spend(450, clock())
        h.wait_for(lambda: len(alertmanager.alerts(budget="research-daily")) == 4, timeout=2.0)
        states = h.wait_for(
            lambda: (
                (s := thresholds(alertmanager.alerts(budget="research-daily")))
                and s[-1] == ("1", "active")
                and all(state == "suppressed" for _, state in s[:-1])
                and s
            ),
            timeout=5.0,
        )
        assert states == [("0.5", "suppressed"), ("0.75", "suppressed"), ("0.9", "suppressed"), ("1", "active")]
        critical = next(a for a in alertmanager.alerts(budget="research-daily") if a["labels"]["threshold"] == "1")
        assert critical["labels"]["severity"] == "critical"
        notes = webhook.wait(lambda ns: any(a["labels"]["threshold"] == "1" for n in ns for a in n["alerts"]))
        with_critical = [n for n in notes if any(a["labels"]["threshold"] == "1" for a in n["alerts"])]
        assert [a["labels"]["threshold"] for a in with_critical[0]["alerts"]] == ["1"]  # warnings inhibited

        status = proc.get("/api/v1/budgets")["budgets"][0]
        assert (status["spend_usd"], status["utilization"], status["firing"][-1]) == (
            "1.05", "1.05", {"threshold": "1", "severity": "critical"}
        )  # fmt: skip
        value = proc.registry.get_sample_value
        assert value("genai_budget_spend_usd", {"budget": "research-daily"}) == 1.05
        assert value("genai_budget_limit_usd", {"budget": "research-daily"}) == 1.0
        assert value("genai_processor_alert_sends_total", {"outcome": "success"}) >= 2

        # the day ends: the period's alerts resolve in Alertmanager and the receiver hears it
        clock.offset += DAY_NS
        h.wait_for(lambda: alertmanager.alerts(budget="research-daily") == [], timeout=5.0)
        resolved = webhook.wait(lambda ns: ns[-1]["status"] == "resolved")[-1]
        assert sorted(a["labels"]["threshold"] for a in resolved["alerts"]) == ["0.5", "0.75", "0.9", "1"]
        assert proc.get("/api/v1/budgets")["budgets"][0]["spend_usd"] == "0"
    finally:
        proc.stop()


@pytest.mark.slow
def test_threshold_crossed_while_alertmanager_is_down_arrives_when_it_is_back(
    tmp_path: Path, alertmanager: Any
) -> None:
    clock = Clock()
    proc = Processor(tmp_path / "ledger.sqlite3", clock, {"budgets": BUDGETS, "alertmanager": {
        **ALERTMANAGER, "urls": [alertmanager.url]}})  # fmt: skip
    try:
        alertmanager.stop()
        proc.spend(1000, clock())
        value = proc.registry.get_sample_value
        h.wait_for(lambda: (value("genai_processor_alert_sends_total", {"outcome": "unreachable"}) or 0) >= 2)
        alertmanager.start()
        alerts = h.wait_for(lambda: alertmanager.alerts(budget="research-daily", threshold="1"), timeout=3.0)
        assert alerts[0]["labels"]["severity"] == "critical"
    finally:
        proc.stop()


@pytest.mark.slow
def test_restart_mid_period_keeps_spend_and_fires_the_same_alerts_again(tmp_path: Path, webhook: Any) -> None:
    clock = Clock()
    ledger = tmp_path / "ledger.sqlite3"
    (tmp_path / "am1").mkdir()
    first_am = h.Alertmanager(tmp_path / "am1", webhook.url)
    first_am.start()
    proc = Processor(ledger, clock, {"budgets": BUDGETS, "alertmanager": {**ALERTMANAGER, "urls": [first_am.url]}})
    try:
        proc.spend(800, clock())
        proc.spend(100, clock() - DAY_NS)  # yesterday: not in this period
        before = proc.get("/api/v1/budgets")["budgets"]
        firing_before = h.wait_for(lambda: thresholds(first_am.alerts(budget="research-daily")), timeout=2.0)
    finally:
        proc.stop()
        first_am.stop()

    (tmp_path / "am2").mkdir()
    second_am = h.Alertmanager(tmp_path / "am2", webhook.url)  # knows nothing of the first run
    second_am.start()
    proc = Processor(ledger, clock, {"budgets": BUDGETS, "alertmanager": {**ALERTMANAGER, "urls": [second_am.url]}})
    try:
        after = proc.get("/api/v1/budgets")["budgets"]
        assert [b["spend_usd"] for b in after] == [b["spend_usd"] for b in before] == ["0.8"]
        assert [b["firing"] for b in after] == [b["firing"] for b in before]
        firing_after = h.wait_for(lambda: thresholds(second_am.alerts(budget="research-daily")), timeout=2.0)
        assert firing_after == firing_before == [("0.5", "active"), ("0.75", "active")]
    finally:
        proc.stop()
        second_am.stop()


def _request(url: str, method: str, body: object | None, headers: dict[str, str]) -> tuple[int, Any]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(
        url, data=data, method=method, headers={"Content-Type": "application/json", **headers}
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_admin_api_requires_the_token_and_persists_audited_changes(tmp_path: Path) -> None:
    clock = Clock()
    ledger = tmp_path / "ledger.sqlite3"
    budgets = [{**BUDGETS[0], "enforce": {"grace": "0.1"}}]
    proc = Processor(ledger, clock, {"budgets": budgets})
    limit_url = proc.url + "/api/v1/budgets/limit"
    change = {"budget": "research-daily", "limit_usd": "0.5"}
    try:
        assert _request(limit_url, "POST", change, {}) == (
            401, {"error": "missing Authorization: Bearer <token> header"}
        )  # fmt: skip
        assert _request(limit_url, "POST", change, {"Authorization": TOKEN})[0] == 401
        assert _request(limit_url, "POST", change, {"Authorization": "Basic b3BzOnB3"})[0] == 401
        assert _request(limit_url, "POST", change, {"Authorization": "Bearer wrong"}) == (
            403, {"error": "the bearer token is not valid for the admin API"}
        )  # fmt: skip
        assert proc.get("/api/v1/budgets")["budgets"][0]["limit_usd"] == "1"  # nothing changed

        auth = {"Authorization": f"Bearer {TOKEN}", "X-GenAI-Cost-Actor": "alice"}
        assert _request(limit_url, "PUT", {"budget": "research-daily", "limit_usd": "-1"}, auth) == (
            400, {"error": "limit_usd: '-1' is not a positive amount of USD", "field": "limit_usd", "value": "-1"}
        )  # fmt: skip
        assert _request(limit_url, "PUT", {"budget": "nope", "limit_usd": "1"}, auth) == (
            404, {"error": "no budget named 'nope'", "field": "budget", "value": "nope"}
        )  # fmt: skip
        status, body = _request(limit_url, "PUT", change, auth)
        assert (status, body["limit_usd"], body["limit_overridden"]) == (200, "0.5", True)

        proc.spend(560, clock())  # $0.56 >= 0.5 x 1.1: over limit + grace
        enforcement = proc.get("/api/v1/enforcement")
        assert enforcement == {
            "refresh_seconds": 5,
            "blocked": [
                {"budget": "research-daily", "reason": "over_limit", "match": {"agent": "researcher"},
                 "spend_usd": "0.56", "limit_usd": "0.5", "grace": "0.1"}
            ],
        }  # fmt: skip
        pause = proc.url + "/api/v1/budgets/pause"
        assert _request(pause, "POST", {"match": {"model": "o1"}, "reason": "too dear"}, auth) == (
            200, {"match": {"model": "o1"}, "paused": True, "changed": True}
        )  # fmt: skip
        assert _request(pause, "POST", {"match": {"colour": "red"}}, auth)[1]["error"] == (
            "match.colour: unknown field; expected one of agent, provider, model, service, tags"
        )
    finally:
        proc.stop()

    proc = Processor(ledger, clock, {"budgets": budgets})  # restart: the changes are still there
    try:
        status = proc.get("/api/v1/budgets")
        assert status["budgets"][0]["limit_usd"] == "0.5"
        assert [(p["match"], p["reason"], p["paused_by"]) for p in status["paused_scopes"]] == [
            ({"model": "o1"}, "too dear", "ops (alice)")
        ]
        assert [b["reason"] for b in proc.get("/api/v1/enforcement")["blocked"]] == ["over_limit", "paused"]
        code, audit = _request(proc.url + "/api/v1/budgets/audit", "GET", None, {"Authorization": f"Bearer {TOKEN}"})
        assert code == 200
        assert [(e["actor"], e["action"], e["budget"], e["detail"]) for e in audit["entries"]] == [
            ("ops (alice)", "pause", None, {"match": {"model": "o1"}, "reason": "too dear"}),
            ("ops (alice)", "set_limit", "research-daily", {"old_limit_usd": None, "limit_usd": "0.5"}),
        ]
        assert _request(proc.url + "/api/v1/budgets/audit", "GET", None, {})[0] == 401
    finally:
        proc.stop()


def test_bad_budget_config_stops_the_start_up_with_a_precise_message(tmp_path: Path) -> None:
    config = Config.from_values(
        {"ledger.path": tmp_path / "l.sqlite3"},
        sections={"budgets": [BUDGETS[0], {"name": "b", "period": "fortnight", "limit_usd": "5"}]},
    )
    ctx = AppContext(config, CollectorRegistry(), None, Routes(), Totals(), tmp_path / "l.sqlite3")  # type: ignore[arg-type]
    with pytest.raises(ValueError) as info:
        budgets_extension.setup(ctx)
    assert str(info.value) == "budgets[1].period: 'fortnight' is not one of day, week, month, total"
