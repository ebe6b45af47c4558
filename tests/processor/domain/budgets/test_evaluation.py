from __future__ import annotations

from decimal import Decimal

from genai_cost.processor.domain.budgets import (
    BudgetBook,
    BudgetMatch,
    Period,
    PeriodWindow,
    Transition,
    TransitionKind,
    blocked_scopes,
    firing_thresholds,
    parse_budgets,
    projected_spend,
    window_at,
)

from .conftest import ns, priced

NOW = ns("2025-03-14T12:00")
MARCH = window_at(Period.MONTH, NOW)


def book(*budgets: dict[str, object], now: int = NOW) -> BudgetBook:
    return BudgetBook(parse_budgets(list(budgets)), now)


def labels(transitions: list[Transition]) -> list[tuple[str, str, str]]:
    return [(t.kind.value, t.budget, t.threshold.label) for t in transitions]


def test_spend_counts_matching_calls_in_the_current_period_only() -> None:
    b = book(
        {"name": "all", "period": "month", "limit_usd": "10"},
        {"name": "researcher", "period": "month", "limit_usd": "10", "match": {"agent": "researcher"}},
        {"name": "team", "period": "day", "limit_usd": "10", "match": {"tags": {"team": "search"}}},
    )
    changed = b.add_calls(
        [
            priced("1.25", at=NOW),
            priced("0.10", at=NOW, agent="writer", tags={"team": "search"}),
            priced("7", at=ns("2025-02-28T23:59:59")),  # last month: not counted anywhere
            priced("0.5", at=ns("2025-03-13T08:00"), tags={"team": "search"}),  # yesterday
        ]
    )
    assert changed == {"all", "researcher", "team"}
    spend = {s.name: s.spend_usd for s in b.statuses(NOW)}
    assert spend == {"all": Decimal("1.85"), "researcher": Decimal("1.75"), "team": Decimal("0.10")}


def test_crossing_thresholds_fires_each_once_and_in_order() -> None:
    b = book({"name": "a", "period": "month", "limit_usd": "10"})
    b.add_calls([priced("4.99", at=NOW)])
    assert b.evaluate() == []
    b.add_calls([priced("0.01", at=NOW)])
    assert labels(b.evaluate()) == [("fired", "a", "0.5")]
    assert b.evaluate() == []
    b.add_calls([priced("5.5", at=NOW)])
    assert labels(b.evaluate()) == [("fired", "a", "0.75"), ("fired", "a", "0.9"), ("fired", "a", "1")]
    status = b.status("a", NOW)
    assert [t.severity.value for t in status.firing] == ["info", "warning", "warning", "critical"]
    assert status.utilization == Decimal("1.05")


def test_raising_the_limit_resolves_and_lowering_fires() -> None:
    b = book({"name": "a", "period": "month", "limit_usd": "10"})
    b.add_calls([priced("8", at=NOW)])
    b.evaluate()
    b.tracker("a").limit = Decimal("12")  # 8 / 12 = 0.67
    assert labels(b.evaluate()) == [("resolved", "a", "0.75")]
    b.tracker("a").limit = Decimal("8")
    assert labels(b.evaluate()) == [
        ("fired", "a", "0.75"),
        ("fired", "a", "0.9"),
        ("fired", "a", "1"),
    ]
    assert b.status("a", NOW).limit_overridden is True


def test_roll_over_resets_spend_and_resolves_the_periods_alerts() -> None:
    b = book(
        {"name": "daily", "period": "day", "limit_usd": "1"},
        {"name": "monthly", "period": "month", "limit_usd": "100"},
    )
    b.add_calls([priced("0.6", at=NOW)])
    assert labels(b.evaluate()) == [("fired", "daily", "0.5")]
    assert b.roll_over(ns("2025-03-14T23:59:59")) == []
    tomorrow = ns("2025-03-15T00:00")
    assert b.due_roll_over(tomorrow) == ["daily"]
    resolved = b.roll_over(tomorrow)
    assert resolved == [
        Transition(
            TransitionKind.RESOLVED,
            "daily",
            b.budgets[0].thresholds[0],
            PeriodWindow(Period.DAY, ns("2025-03-14T00:00"), tomorrow),
        )
    ]
    statuses = {s.name: s for s in b.statuses(tomorrow)}
    assert statuses["daily"].spend_usd == 0 and statuses["daily"].firing == ()
    assert statuses["daily"].window == PeriodWindow(Period.DAY, tomorrow, ns("2025-03-16T00:00"))
    assert statuses["monthly"].spend_usd == Decimal("0.6")


def test_calls_ending_after_the_period_count_when_their_period_begins() -> None:
    b = book({"name": "daily", "period": "day", "limit_usd": "1"})
    b.add_calls([priced("0.7", at=ns("2025-03-15T00:00:01"))])  # the sender's clock is ahead
    assert b.status("daily", NOW).spend_usd == 0
    transitions = b.roll_over(ns("2025-03-15T00:00:02"))
    assert labels(transitions) == [("fired", "daily", "0.5")]
    assert b.status("daily", ns("2025-03-15T00:00:02")).spend_usd == Decimal("0.7")


def test_total_budgets_never_roll_over() -> None:
    b = book({"name": "forever", "period": "total", "limit_usd": "1"})
    b.add_calls([priced("0.3", at=ns("2001-01-01T00:00")), priced("0.3", at=NOW)])
    assert b.roll_over(ns("2099-01-01T00:00")) == []
    assert b.status("forever", NOW).spend_usd == Decimal("0.6")


def test_projection_exact_values() -> None:
    # 15.5 of March's 31 days elapsed: the spend doubles by the end
    assert projected_spend(Decimal("10"), MARCH, ns("2025-03-16T12:00")) == Decimal("20")
    assert projected_spend(Decimal("0"), MARCH, ns("2025-03-16T12:00")) == Decimal("0")
    # one second in: elapsed is floored at one hour (March has 744 h)
    assert projected_spend(Decimal("1"), MARCH, ns("2025-03-01T00:00:01")) == Decimal("744")
    assert projected_spend(Decimal("31"), MARCH, ns("2025-04-01T00:00")) == Decimal("31")  # over: spend
    assert projected_spend(Decimal("5"), PeriodWindow(Period.TOTAL, 0, None), NOW) == Decimal("5")


def test_firing_thresholds_is_inclusive() -> None:
    (budget,) = parse_budgets([{"name": "a", "period": "day", "limit_usd": "3"}])
    assert [t.label for t in firing_thresholds(Decimal("1.5"), Decimal(3), budget.thresholds)] == ["0.5"]
    assert firing_thresholds(Decimal("1.4999"), Decimal(3), budget.thresholds) == ()


def test_blocked_scopes_over_limit_plus_grace_or_paused() -> None:
    b = book(
        {"name": "enforced", "period": "month", "limit_usd": "10", "match": {"agent": "researcher"},
         "enforce": {"grace": "0.1"}},
        {"name": "watched", "period": "month", "limit_usd": "1"},
        {"name": "paused", "period": "month", "limit_usd": "100", "match": {"model": "o1"}},
    )  # fmt: skip
    b.add_calls([priced("10.99", at=NOW)])
    assert blocked_scopes(b.statuses(NOW)) == []  # 10.99 < 10 x 1.1; "watched" is not enforced
    b.add_calls([priced("0.01", at=NOW)])
    b.tracker("paused").paused = True
    extra = BudgetMatch(service="batch")
    scopes = blocked_scopes(b.statuses(NOW), [extra])
    assert [(s.budget, s.reason, s.match.as_dict(), s.spend_usd, s.limit_usd, s.grace) for s in scopes] == [
        ("enforced", "over_limit", {"agent": "researcher"}, Decimal("11.00"), Decimal("10"), Decimal("0.1")),
        ("paused", "paused", {"model": "o1"}, Decimal("0"), Decimal("100"), None),
        (None, "paused", {"service": "batch"}, None, None, None),
    ]


def test_start_up_spend_is_set_from_the_ledger() -> None:
    b = book({"name": "a", "period": "month", "limit_usd": "10"})
    b.set_spend({"a": Decimal("9.5"), "unknown": Decimal(1)})
    assert labels(b.evaluate()) == [("fired", "a", "0.5"), ("fired", "a", "0.75"), ("fired", "a", "0.9")]


def test_zero_cost_calls_change_nothing() -> None:
    b = book({"name": "a", "period": "month", "limit_usd": "10"})
    assert b.add_calls([priced("0", at=NOW)]) == set()
