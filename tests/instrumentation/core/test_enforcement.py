"""Budget enforcement on the instrumentation side: cached blocked scopes, fail-open, refusal."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from genai_cost.instrumentation import BudgetExceededError, attribute_to
from genai_cost.instrumentation.core import enforcement

BLOCKED = {
    "refresh_seconds": 0.05,
    "blocked": [
        {"budget": "research-daily", "reason": "over_limit", "match": {"agent": "researcher"},
         "spend_usd": "1.05", "limit_usd": "1", "grace": "0.05"},
        {"budget": None, "reason": "paused", "match": {"provider": "anthropic", "model": "claude-opus-4"},
         "spend_usd": None, "limit_usd": None, "grace": None},
        {"budget": "search-team", "reason": "over_limit", "match": {"tags": {"team": "search"}},
         "spend_usd": "50", "limit_usd": "40", "grace": None},
        {"budget": "batch", "reason": "paused", "match": {"service": "batch-jobs"},
         "spend_usd": "0", "limit_usd": "10", "grace": None},
    ],
}  # fmt: skip


class FakeProcessor:
    """Serves ``GET /api/v1/enforcement`` with a document the test sets (or a status)."""

    def __init__(self) -> None:
        self.document: Any = {"refresh_seconds": 0.05, "blocked": []}
        self.status = 200
        self.hits = 0
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                fake.hits += 1
                body = json.dumps(fake.document).encode() if fake.status == 200 else b"{}"
                self.send_response(fake.status if self.path == "/api/v1/enforcement" else 404)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(autouse=True)
def _reset(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in ("GENAI_COST_ENFORCE", "GENAI_COST_PROCESSOR_URL", "OTEL_SERVICE_NAME"):
        monkeypatch.delenv(name, raising=False)
    enforcement.reset()
    yield
    enforcement.reset()


@pytest.fixture
def processor() -> Iterator[FakeProcessor]:
    fake = FakeProcessor()
    yield fake
    fake.close()


def enable(monkeypatch: pytest.MonkeyPatch, url: str, service: str = "app") -> enforcement.Enforcer:
    monkeypatch.setenv("GENAI_COST_ENFORCE", "true")
    monkeypatch.setenv("GENAI_COST_PROCESSOR_URL", url)
    monkeypatch.setenv("OTEL_SERVICE_NAME", service)
    enforcement.check_call("openai", "gpt-4o")  # the first call reads the environment
    enforcer = enforcement._enforcer
    assert isinstance(enforcer, enforcement.Enforcer)
    return enforcer


def test_off_by_default_and_without_a_processor_url(monkeypatch: pytest.MonkeyPatch) -> None:
    assert enforcement.check_call("openai", "gpt-4o") is None
    assert enforcement._enforcer is enforcement._DISABLED
    enforcement.reset()
    monkeypatch.setenv("GENAI_COST_ENFORCE", "true")
    assert enforcement.check_call("openai", "gpt-4o") is None
    assert enforcement._enforcer is enforcement._DISABLED


def test_blocked_scopes_refuse_matching_calls_only(monkeypatch: pytest.MonkeyPatch, processor: FakeProcessor) -> None:
    processor.document = BLOCKED
    enforcer = enable(monkeypatch, processor.url)
    assert enforcer.wait_refreshed(1, 5)

    with attribute_to(agent="researcher"), pytest.raises(BudgetExceededError) as info:
        enforcement.check_call("openai", "gpt-4o")
    error = info.value
    assert str(error) == (
        "openai/gpt-4o call refused: budget 'research-daily' is exceeded for agent=researcher: "
        "spend $1.05 of the $1 limit + 5% grace"
    )
    assert (error.budget, error.scope, error.reason, error.spend_usd, error.limit_usd) == (
        "research-daily", {"agent": "researcher"}, "over_limit", Decimal("1.05"), Decimal("1"),
    )  # fmt: skip
    assert (error.provider, error.model) == ("openai", "gpt-4o")

    with attribute_to(agent="writer"):
        enforcement.check_call("openai", "gpt-4o")  # another agent: allowed
        enforcement.check_call("anthropic", "claude-sonnet-4")
        with pytest.raises(
            BudgetExceededError,
            match=r"^anthropic/claude-opus-4 call refused: calls for "
            r"provider=anthropic, model=claude-opus-4 are paused by an administrator$",
        ):
            enforcement.check_call("anthropic", "claude-opus-4")
        with attribute_to(tags={"team": "search"}), pytest.raises(BudgetExceededError) as tagged:
            enforcement.check_call("openai", "gpt-4o")
        assert tagged.value.budget == "search-team"
        with attribute_to(tags={"team": "care"}):
            enforcement.check_call("openai", "gpt-4o")


def test_without_an_agent_the_service_is_the_agent(monkeypatch: pytest.MonkeyPatch, processor: FakeProcessor) -> None:
    processor.document = BLOCKED
    enforcer = enable(monkeypatch, processor.url, service="researcher")
    assert enforcer.wait_refreshed(1, 5)
    with pytest.raises(BudgetExceededError):
        enforcement.check_call("openai", "gpt-4o")  # agent falls back to service.name, as in the processor
    enforcement.reset()
    enforcer = enable(monkeypatch, processor.url, service="batch-jobs")
    assert enforcer.wait_refreshed(1, 5)
    with pytest.raises(BudgetExceededError, match="paused by budget 'batch'"):
        enforcement.check_call("openai", "gpt-4o")


def test_fail_open_when_the_processor_is_unreachable_or_answers_badly(
    monkeypatch: pytest.MonkeyPatch, processor: FakeProcessor
) -> None:
    processor.document = BLOCKED
    enforcer = enable(monkeypatch, processor.url)
    assert enforcer.wait_refreshed(1, 5)
    assert len(enforcer.rules) == 4
    processor.status = 500
    failures = enforcer.failures
    with enforcer._refreshed:
        assert enforcer._refreshed.wait_for(lambda: enforcer.failures > failures, 5)
    assert enforcer.rules == ()
    with attribute_to(agent="researcher"):
        enforcement.check_call("openai", "gpt-4o")  # allowed
    processor.status = 200
    processor.document = {"blocked": "everything"}
    assert enforcer.refresh() is False and enforcer.rules == ()
    processor.document = BLOCKED
    assert enforcer.refresh() is True and len(enforcer.rules) == 4


def test_unreachable_processor_from_the_start(monkeypatch: pytest.MonkeyPatch, processor: FakeProcessor) -> None:
    url = processor.url
    processor.close()
    enforcer = enable(monkeypatch, url)
    with attribute_to(agent="researcher"):
        enforcement.check_call("openai", "gpt-4o")
    assert enforcer.refresh() is False and enforcer.rules == ()


def test_parse_rules_refresh_interval() -> None:
    rules, refresh = enforcement.parse_rules({"blocked": [], "refresh_seconds": 7})
    assert (rules, refresh) == ((), 7.0)
    assert enforcement.parse_rules({"blocked": [], "refresh_seconds": -1})[1] == 5.0
    with pytest.raises(ValueError, match="blocked entry with a malformed match"):
        enforcement.parse_rules({"blocked": [{"match": {"agent": 3}}]})


# -- end to end: the OpenAI SDK, the processor's budget API and the fake LLM server ---------------


@pytest.fixture
def budget_processor() -> Iterator[Any]:
    """The processor's budget service and HTTP API with one enforced budget already over its limit."""
    from genai_cost.processor.adapters.budget_api import BudgetApi
    from genai_cost.processor.adapters.http_server import HttpServer, Routes
    from genai_cost.processor.budget_service import BudgetService
    from genai_cost.processor.domain.budgets import parse_budgets
    from genai_cost.processor.domain.records import Cost, LlmCall, PricedCall, PriceSource

    budgets = parse_budgets(
        [{"name": "research", "period": "total", "limit_usd": "1", "match": {"agent": "researcher"}, "enforce": True}]
    )
    service = BudgetService(budgets, tick_interval=0)
    service.start()
    spent = LlmCall(
        trace_id="1" * 32, span_id="1" * 16, parent_span_id=None, start_time_ns=1, end_time_ns=2, provider="openai",
        operation="chat", request_model="gpt-4o-mini", response_model="gpt-4o-mini", response_id=None,
        agent="researcher", service="app",
    )  # fmt: skip
    service.on_commit([PricedCall(spent, Cost(source=PriceSource.PRICES, output=Decimal("1.25")))])
    routes = Routes()
    BudgetApi(service).register(routes)
    server = HttpServer("127.0.0.1", 0, routes)
    server.start()
    server.url = f"http://127.0.0.1:{server.port}"  # type: ignore[attr-defined]
    yield server
    server.stop(1)


def test_a_call_over_budget_is_refused_before_reaching_the_llm_and_goes_through_when_the_processor_is_down(
    monkeypatch: pytest.MonkeyPatch, budget_processor: Any, fake_llm: Any, tracer_provider: Any, span_exporter: Any
) -> None:
    import openai
    from opentelemetry.trace import StatusCode

    from genai_cost.instrumentation.core import semconv
    from genai_cost.instrumentation.openai import OpenAIInstrumentor

    monkeypatch.setenv("GENAI_COST_ENFORCE", "true")
    monkeypatch.setenv("GENAI_COST_PROCESSOR_URL", budget_processor.url)
    instrumentor = OpenAIInstrumentor()
    instrumentor.instrument(tracer_provider=tracer_provider)
    try:
        enforcer = enforcement.configure()
        assert enforcer is not None and enforcer.wait_refreshed(1, 5)
        client = openai.OpenAI(base_url=fake_llm.openai_base_url, api_key="test-key", max_retries=0)
        messages = [{"role": "user", "content": "hello"}]
        with attribute_to(agent="researcher"), pytest.raises(BudgetExceededError) as info:
            client.chat.completions.create(model="gpt-4o-mini", messages=messages)
        assert str(info.value) == (
            "openai/gpt-4o-mini call refused: budget 'research' is exceeded for agent=researcher: "
            "spend $1.25 of the $1 limit"
        )
        assert fake_llm.requests == []  # nothing was sent
        (span,) = span_exporter.get_finished_spans()
        assert span.status.status_code is StatusCode.ERROR
        assert span.attributes[semconv.BUDGET_REFUSED] is True
        assert span.attributes[semconv.ERROR_TYPE] == "BudgetExceededError"

        with attribute_to(agent="writer"):  # another scope is not affected
            client.chat.completions.create(model="gpt-4o-mini", messages=messages)
        assert len(fake_llm.requests) == 1

        budget_processor.stop(1)  # the processor goes away: fail open
        assert enforcer.refresh() is False
        with attribute_to(agent="researcher"):
            client.chat.completions.create(model="gpt-4o-mini", messages=messages)
        assert len(fake_llm.requests) == 2
    finally:
        instrumentor.uninstrument()


@pytest.mark.parametrize("name", ["OpenAIInstrumentor", "AnthropicInstrumentor"])
def test_instrumenting_starts_the_refresher_before_the_first_call(
    monkeypatch: pytest.MonkeyPatch, processor: FakeProcessor, name: str
) -> None:
    import genai_cost.instrumentation as instrumentation

    processor.document = BLOCKED
    monkeypatch.setenv("GENAI_COST_ENFORCE", "true")
    monkeypatch.setenv("GENAI_COST_PROCESSOR_URL", processor.url)
    instrumentor = getattr(instrumentation, name)()
    instrumentor.instrument()
    try:
        enforcer = enforcement._enforcer
        assert isinstance(enforcer, enforcement.Enforcer)  # configured by instrument(), no call made yet
        assert enforcer.wait_refreshed(1, 5)
        assert enforcer.rules != ()
    finally:
        instrumentor.uninstrument()
