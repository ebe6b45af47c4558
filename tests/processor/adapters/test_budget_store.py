"""SqliteBudgetStore: spend per scope and window from the ledger, admin changes with audit."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from types import ModuleType

import pytest

from genai_cost.processor.adapters.budget_store import SqliteBudgetStore, to_pusd
from genai_cost.processor.adapters.ledger.rows import to_entry
from genai_cost.processor.adapters.ledger.sqlite import SqliteLedger
from genai_cost.processor.domain.budgets import BudgetMatch, Period, PeriodWindow

DAY = 86_400 * 10**9
T0 = 1_741_910_400 * 10**9  # 2025-03-14T00:00:00Z
WINDOW = PeriodWindow(Period.DAY, T0, T0 + DAY)


@pytest.fixture
def ledger_path(tmp_path: Path, calls: ModuleType) -> Path:
    """A ledger with five calls written through the processor's own write path."""
    path = tmp_path / "ledger.sqlite3"
    ledger = SqliteLedger(path)
    rows = [
        ("researcher", "openai", {"team": "search"}, T0 + 1, "0.25"),
        ("researcher", "openai", {"team": "search", "x": 'q"uote'}, T0 + DAY - 1, "0.125"),
        ("writer", "anthropic", {"team": "search"}, T0 + 5, "1.000000000001"),
        ("researcher", "openai", {}, T0 - 1, "7"),  # the day before
        ("researcher", "openai", {}, T0 + DAY, "9"),  # the day after
    ]
    entries = []
    for agent, provider, tags, end, amount in rows:
        call = calls.call(agent=agent, provider=provider, tags=tags, end_time_ns=end, start_time_ns=end - 1)
        entries.append(to_entry(calls.priced(call, calls.cost(input=amount, output="0")), T0))
    ledger.commit(entries)
    ledger.close()
    return path


def test_spend_sums_the_scope_inside_the_window_exactly(ledger_path: Path) -> None:
    store = SqliteBudgetStore(ledger_path)
    try:
        assert store.spend(BudgetMatch(), WINDOW) == Decimal("1.375000000001")
        assert store.spend(BudgetMatch(agent="researcher"), WINDOW) == Decimal("0.375")
        assert store.spend(BudgetMatch(tags=(("team", "search"),)), WINDOW) == Decimal("1.375000000001")
        assert store.spend(BudgetMatch(tags=(("x", 'q"uote'),)), WINDOW) == Decimal("0.125")
        assert store.spend(BudgetMatch(provider="anthropic", agent="researcher"), WINDOW) == Decimal(0)
        assert store.spend(BudgetMatch(), PeriodWindow(Period.TOTAL, 0, None)) == Decimal("17.375000000001")
    finally:
        store.close()


def test_admin_changes_persist_with_an_audit_trail(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite3"
    store = SqliteBudgetStore(path)
    store.set_limit("a", Decimal("12.5"), actor="ops", at_ns=1)
    store.set_limit("a", Decimal("20"), actor="ops (alice)", at_ns=2)
    assert store.set_paused("a", BudgetMatch(agent="x"), True, actor="ops", at_ns=3, reason="loop") is True
    assert store.set_paused("a", BudgetMatch(agent="x"), True, actor="ops", at_ns=4) is False
    assert store.set_paused(None, BudgetMatch(model="o1"), True, actor="ops", at_ns=5) is True
    store.close()

    reopened = SqliteBudgetStore(path)
    admin = reopened.load()
    assert admin.limits == {"a": Decimal("20")}
    assert [(p.budget, p.match, p.reason, p.paused_at_ns, p.paused_by) for p in admin.pauses] == [
        ("a", BudgetMatch(agent="x"), "loop", 3, "ops"),
        (None, BudgetMatch(model="o1"), None, 5, "ops"),
    ]
    reopened.set_limit("a", None, actor="ops", at_ns=6)
    assert reopened.set_paused(None, BudgetMatch(model="o1"), False, actor="ops", at_ns=7) is True
    assert reopened.load().limits == {}
    assert [(e.at_ns, e.actor, e.action, e.budget, dict(e.detail)) for e in reopened.audit()] == [
        (7, "ops", "unpause", None, {"match": {"model": "o1"}}),
        (6, "ops", "reset_limit", "a", {"old_limit_usd": "20"}),
        (5, "ops", "pause", None, {"match": {"model": "o1"}}),
        (3, "ops", "pause", "a", {"match": {"agent": "x"}, "reason": "loop"}),
        (2, "ops (alice)", "set_limit", "a", {"old_limit_usd": "12.5", "limit_usd": "20"}),
        (1, "ops", "set_limit", "a", {"old_limit_usd": None, "limit_usd": "12.5"}),
    ]
    assert json.dumps(reopened.audit(1)[0].as_json()) == (
        '{"at_ns": 7, "actor": "ops", "action": "unpause", "budget": null, "detail": {"match": {"model": "o1"}}}'
    )
    reopened.close()


def test_limits_finer_than_a_pico_usd_are_refused() -> None:
    assert to_pusd(Decimal("1.5")) == 1_500_000_000_000
    with pytest.raises(ValueError, match="finer than a pico-USD"):
        to_pusd(Decimal("0.0000000000001"))
