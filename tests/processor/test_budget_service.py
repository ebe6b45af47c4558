"""BudgetService: start-up spend, evaluation on commit, roll-over, admin changes, gauges.

These run the service with an in-memory store and a recording alert sink; the end-to-end
acceptance tests with the real processor and Alertmanager are in ``test_budget_acceptance.py``.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from prometheus_client import CollectorRegistry

from genai_cost.processor.adapters.alertmanager import Alert, AlertmanagerSettings
from genai_cost.processor.adapters.budget_metrics import BudgetCollector
from genai_cost.processor.adapters.budget_store import AdminState, AuditEntry, PausedScope
from genai_cost.processor.budget_service import BudgetService, UnknownBudgetError
from genai_cost.processor.domain.budgets import BudgetMatch, PeriodWindow, parse_budgets
from genai_cost.processor.domain.records import Cost, LlmCall, PricedCall, PriceSource

_ids = itertools.count(1)


def ns(iso: str) -> int:
    return int(datetime.fromisoformat(iso).replace(tzinfo=ZoneInfo("UTC")).timestamp()) * 1_000_000_000


NOW = ns("2025-03-14T12:00")


class Clock:
    def __init__(self, t: int = NOW) -> None:
        self.t = t

    def __call__(self) -> int:
        return self.t


class Sink:
    def __init__(self) -> None:
        self.updates: list[list[Alert]] = []

    def update(self, firing: Iterable[Alert]) -> None:
        self.updates.append(list(firing))

    def current(self) -> list[tuple[str, str, str]]:
        return sorted((a.labels["budget"], a.labels["threshold"], a.labels["severity"]) for a in self.updates[-1])


class MemoryStore:
    """A BudgetStore in memory; ``spend`` answers from a table keyed by budget match."""

    def __init__(self, spend: Mapping[BudgetMatch, Decimal] | None = None, admin: AdminState | None = None) -> None:
        self._spend = dict(spend or {})
        self.admin = admin or AdminState()
        self.windows: list[PeriodWindow] = []
        self.writes: list[tuple[object, ...]] = []

    def spend(self, match: BudgetMatch, window: PeriodWindow) -> Decimal:
        self.windows.append(window)
        return self._spend.get(match, Decimal(0))

    def load(self) -> AdminState:
        return self.admin

    def set_limit(self, budget: str, limit: Decimal | None, *, actor: str, at_ns: int) -> None:
        self.writes.append(("limit", budget, limit, actor, at_ns))

    def set_paused(
        self, budget: str | None, match: BudgetMatch, paused: bool, *, actor: str, at_ns: int, reason: str | None = None
    ) -> bool:
        self.writes.append(("pause", budget, match, paused, actor, reason))
        return True

    def audit(self, limit: int = 100) -> list[AuditEntry]:
        return []

    def close(self) -> None:
        pass


def priced(cost: str, *, at: int = NOW, agent: str = "researcher") -> PricedCall:
    n = next(_ids)
    call = LlmCall(
        trace_id=f"{n:032x}", span_id=f"{n:016x}", parent_span_id=None, start_time_ns=at - 1000, end_time_ns=at,
        provider="openai", operation="chat", request_model="gpt-4o", response_model="gpt-4o", response_id=None,
        agent=agent, service="app",
    )  # fmt: skip
    return PricedCall(call=call, cost=Cost(source=PriceSource.PRICES, output=Decimal(cost)))


BUDGETS = parse_budgets(
    [
        {"name": "research", "period": "day", "limit_usd": "1", "match": {"agent": "researcher"}},
        {"name": "all", "period": "month", "limit_usd": "10", "enforce": {"grace": "0.1"}},
    ]
)
RESEARCH = BudgetMatch(agent="researcher")


def service(store: MemoryStore | None = None, clock: Clock | None = None) -> tuple[BudgetService, Sink]:
    sink = Sink()
    svc = BudgetService(
        BUDGETS,
        store=store or MemoryStore(),
        alerts=sink,
        alert_settings=AlertmanagerSettings(runbook_url="https://runbooks.example/budget"),
        clock=clock or Clock(),
        tick_interval=0,
    )
    svc.start()
    return svc, sink


def test_start_up_reads_spend_of_the_current_periods_and_fires_what_is_due() -> None:
    store = MemoryStore({RESEARCH: Decimal("0.8"), BudgetMatch(): Decimal("2")})
    svc, sink = service(store)
    assert store.windows == [
        PeriodWindow(BUDGETS[0].period, ns("2025-03-14T00:00"), ns("2025-03-15T00:00")),
        PeriodWindow(BUDGETS[1].period, ns("2025-03-01T00:00"), ns("2025-04-01T00:00")),
    ]
    assert {s.name: s.spend_usd for s in svc.statuses()} == {"research": Decimal("0.8"), "all": Decimal("2")}
    assert sink.current() == [("research", "0.5", "info"), ("research", "0.75", "warning")]


def test_a_commit_that_crosses_a_threshold_updates_the_alerts_at_once() -> None:
    svc, sink = service()
    svc.on_commit([priced("0.49")])
    assert sink.current() == []
    svc.on_commit([priced("0.01"), priced("0.02", agent="writer")])
    assert sink.current() == [("research", "0.5", "info")]
    (alert,) = sink.updates[-1]
    assert alert.labels == {
        "alertname": "GenAIBudgetThreshold", "budget": "research", "threshold": "0.5", "severity": "info",
        "period": "day", "agent": "researcher",
    }  # fmt: skip
    assert alert.annotations == {
        "summary": "Budget 'research' has used 50.0% of its $1.00 day limit (today)",
        "description": (
            "Spend $0.50 of $1.00 (50.0%) since 2025-03-14T00:00:00+00:00, reaching the 50.0% threshold (info); "
            "projected $1.00 by the end of the period (2025-03-15T00:00:00+00:00). Scope: agent=researcher."
        ),
        "spend_usd": "0.50",
        "limit_usd": "1",
        "utilization": "0.5000",
        "projected_usd": "1.000000",
        "period_start": "2025-03-14T00:00:00+00:00",
        "period_end": "2025-03-15T00:00:00+00:00",
        "runbook_url": "https://runbooks.example/budget",
    }
    assert {s.name: s.spend_usd for s in svc.statuses()} == {"research": Decimal("0.50"), "all": Decimal("0.52")}


def test_roll_over_on_the_clock_resolves_the_periods_alerts() -> None:
    clock = Clock()
    svc, sink = service(clock=clock)
    svc.on_commit([priced("1.5")])
    assert sink.current() == [
        ("research", "0.5", "info"), ("research", "0.75", "warning"),
        ("research", "0.9", "warning"), ("research", "1", "critical"),
    ]  # fmt: skip
    clock.t = ns("2025-03-14T23:59:59")
    assert svc.tick() == []
    clock.t = ns("2025-03-15T00:00")
    assert [(t.kind.value, t.budget, t.threshold.label) for t in svc.tick()] == [
        ("resolved", "research", "0.5"), ("resolved", "research", "0.75"),
        ("resolved", "research", "0.9"), ("resolved", "research", "1"),
    ]  # fmt: skip
    assert sink.current() == []
    assert {s.name: s.spend_usd for s in svc.statuses()} == {"research": Decimal(0), "all": Decimal("1.5")}


def test_limit_change_and_pauses_are_persisted_and_take_effect() -> None:
    store = MemoryStore()
    svc, sink = service(store)
    svc.on_commit([priced("0.8")])
    status = svc.set_limit("research", Decimal("4"), actor="ops")
    assert (status.limit_usd, status.limit_overridden) == (Decimal("4"), True)
    assert sink.current() == []  # 0.8 of 4 is 20 %: both alerts resolved
    assert svc.set_limit("research", None, actor="ops").limit_usd == Decimal("1")
    assert sink.current() == [("research", "0.5", "info"), ("research", "0.75", "warning")]
    assert svc.blocked() == ()
    svc.set_budget_paused("research", True, actor="ops", reason="runaway loop")
    assert [(b.budget, b.reason) for b in svc.blocked()] == [("research", "paused")]
    assert svc.set_scope_paused(BudgetMatch(service="batch"), True, actor="ops") is True
    assert svc.set_scope_paused(BudgetMatch(service="batch"), True, actor="ops") is False
    assert [(b.budget, b.reason, b.match) for b in svc.blocked()] == [
        ("research", "paused", RESEARCH),
        (None, "paused", BudgetMatch(service="batch")),
    ]
    assert store.writes == [
        ("limit", "research", Decimal("4"), "ops", NOW),
        ("limit", "research", None, "ops", NOW),
        ("pause", "research", RESEARCH, True, "ops", "runaway loop"),
        ("pause", None, BudgetMatch(service="batch"), True, "ops", None),
    ]
    with pytest.raises(UnknownBudgetError, match="no budget named 'nope'"):
        svc.set_limit("nope", Decimal(1), actor="ops")


def test_admin_state_is_restored_at_start_up() -> None:
    admin = AdminState(
        limits={"research": Decimal("0.5"), "deleted-budget": Decimal(3)},
        pauses=(PausedScope(BudgetMatch(model="o1"), None, "costly", NOW - 5, "ops"),),
    )
    svc, sink = service(MemoryStore({RESEARCH: Decimal("0.3")}, admin))
    assert svc.status("research").limit_usd == Decimal("0.5")
    assert sink.current() == [("research", "0.5", "info")]  # 0.3 of 0.5 = 60 %
    assert [(b.reason, b.match) for b in svc.blocked()] == [("paused", BudgetMatch(model="o1"))]


def test_enforced_budget_blocks_over_limit_plus_grace() -> None:
    svc, _ = service()
    svc.on_commit([priced("10.99", agent="x")])
    assert svc.blocked() == ()
    svc.on_commit([priced("0.01", agent="x")])
    (blocked,) = svc.blocked()
    assert (blocked.budget, blocked.reason, blocked.spend_usd, blocked.limit_usd, blocked.grace) == (
        "all", "over_limit", Decimal("11.00"), Decimal("10"), Decimal("0.1"),
    )  # fmt: skip


def test_gauges_and_send_counter() -> None:
    svc, _ = service()
    svc.on_commit([priced("0.25")])
    registry = CollectorRegistry()
    registry.register(BudgetCollector(svc))
    value = registry.get_sample_value
    assert value("genai_budget_limit_usd", {"budget": "research"}) == 1.0
    assert value("genai_budget_spend_usd", {"budget": "research"}) == 0.25
    assert value("genai_budget_utilization_ratio", {"budget": "research"}) == 0.25
    assert value("genai_budget_period_end_timestamp_seconds", {"budget": "research"}) == ns("2025-03-15T00:00") / 1e9
    assert value("genai_budget_projected_spend_usd", {"budget": "research"}) == 0.5  # 12 of 24 hours
    assert value("genai_budget_utilization_ratio", {"budget": "all"}) == 0.025
    assert value("genai_processor_alert_sends_total", {"outcome": "success"}) == 0.0
