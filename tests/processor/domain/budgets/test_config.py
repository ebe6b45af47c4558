from __future__ import annotations

from decimal import Decimal

import pytest

from genai_cost.processor.domain.budgets import (
    BudgetConfigError,
    BudgetMatch,
    Enforcement,
    Period,
    Severity,
    Threshold,
    parse_budgets,
)

VALID = {"name": "team-a", "period": "month", "limit_usd": "100"}


def errors_of(raw: object) -> list[str]:
    with pytest.raises(BudgetConfigError) as info:
        parse_budgets(raw)
    return list(info.value.errors)


def test_minimal_budget_gets_the_documented_defaults() -> None:
    (budget,) = parse_budgets([VALID])
    assert budget.name == "team-a"
    assert budget.period is Period.MONTH
    assert budget.limit_usd == Decimal("100")
    assert budget.match == BudgetMatch()
    assert budget.thresholds == (
        Threshold(Decimal("0.5"), Severity.INFO),
        Threshold(Decimal("0.75"), Severity.WARNING),
        Threshold(Decimal("0.9"), Severity.WARNING),
        Threshold(Decimal("1.0"), Severity.CRITICAL),
    )
    assert budget.enforce is None
    assert budget.timezone == "UTC"
    assert budget.week_start == 0


def test_full_budget() -> None:
    (budget,) = parse_budgets(
        [
            {
                "name": "search",
                "match": {"agent": "researcher", "provider": "openai", "tags": {"team": "search", "tier": 2}},
                "period": "week",
                "limit_usd": 0.1,  # a YAML float converts through its repr, not its binary value
                "thresholds": [0.8, {"ratio": "1.2", "severity": "critical"}],
                "severities": ["warning", "info"],
                "enforce": {"grace": 0.05},
                "timezone": "Europe/Berlin",
                "week_start": "Sunday",
            }
        ]
    )
    assert budget.limit_usd == Decimal("0.1")
    assert budget.match == BudgetMatch(agent="researcher", provider="openai", tags=(("team", "search"), ("tier", "2")))
    assert budget.thresholds == (
        Threshold(Decimal("0.8"), Severity.WARNING),
        Threshold(Decimal("1.2"), Severity.CRITICAL),
    )
    assert budget.enforce == Enforcement(grace=Decimal("0.05"))
    assert budget.timezone == "Europe/Berlin"
    assert budget.week_start == 6


def test_thresholds_without_severities_default_by_ratio_and_sort() -> None:
    (budget,) = parse_budgets([{**VALID, "thresholds": [1, 0.25, 0.8]}])
    assert [(t.label, t.severity) for t in budget.thresholds] == [
        ("0.25", Severity.INFO),
        ("0.8", Severity.WARNING),
        ("1", Severity.CRITICAL),
    ]


def test_enforce_true_means_no_grace_and_empty_list_is_no_budgets() -> None:
    (budget,) = parse_budgets([{**VALID, "enforce": True}])
    assert budget.enforce == Enforcement(grace=Decimal(0))
    assert parse_budgets([]) == ()
    assert parse_budgets(None) == ()


@pytest.mark.parametrize(
    ("budget", "message"),
    [
        ({**VALID, "period": "fortnight"}, "budgets[2].period: 'fortnight' is not one of day, week, month, total"),
        ({"name": "x", "limit_usd": 1}, "budgets[2].period: missing; one of day, week, month, total"),
        ({**VALID, "limit_usd": "-5"}, "budgets[2].limit_usd: '-5' is not a positive amount of USD"),
        ({**VALID, "limit_usd": "ten"}, "budgets[2].limit_usd: 'ten' is not a positive amount of USD"),
        ({**VALID, "limit_usd": True}, "budgets[2].limit_usd: True is not a positive amount of USD"),
        ({**VALID, "limit_usd": "NaN"}, "budgets[2].limit_usd: 'NaN' is not a positive amount of USD"),
        (
            {**VALID, "limit_usd": "1e-13"},
            "budgets[2].limit_usd: '1e-13' is finer than a pico-USD (10^-12)",
        ),
        (
            {"name": "x", "period": "day"},
            "budgets[2].limit_usd: missing; a positive amount of USD such as '100.00'",
        ),
        ({**VALID, "name": ""}, "budgets[2].name: '' is not a non-empty string"),
        (
            {**VALID, "limt_usd": 3},
            "budgets[2].limt_usd: unknown field; expected one of name, match, period, limit_usd, "
            "thresholds, severities, enforce, timezone, week_start, description",
        ),
        (
            {**VALID, "match": {"team": "a"}},
            "budgets[2].match.team: unknown field; expected one of agent, provider, model, service, tags",
        ),
        ({**VALID, "match": {"agent": 7}}, "budgets[2].match.agent: 7 is not a non-empty string"),
        (
            {**VALID, "match": {"tags": ["team"]}},
            "budgets[2].match.tags: expected a mapping of tag name to value, got list",
        ),
        (
            {**VALID, "thresholds": [0.5, 0]},
            "budgets[2].thresholds[1]: 0 is not a ratio of the limit in (0, 100]",
        ),
        ({**VALID, "thresholds": [0.5, 0.5]}, "budgets[2].thresholds[1]: 0.5 is listed twice"),
        (
            {**VALID, "thresholds": [0.5], "severities": ["loud"]},
            "budgets[2].severities[0]: 'loud' is not one of info, warning, critical",
        ),
        (
            {**VALID, "thresholds": [0.5, 1], "severities": ["info"]},
            "budgets[2].severities: expected a list of 2 severities (one per threshold), got list",
        ),
        (
            {**VALID, "thresholds": []},
            "budgets[2].thresholds: expected a non-empty list of ratios such as 0.5, got list",
        ),
        (
            {**VALID, "enforce": {"grace": -0.1}},
            "budgets[2].enforce.grace: -0.1 is not a fraction of the limit >= 0 (e.g. 0.1)",
        ),
        ({**VALID, "enforce": {"grase": 0.1}}, "budgets[2].enforce.grase: unknown field; expected grace"),
        (
            {**VALID, "timezone": "Mars/Olympus"},
            "budgets[2].timezone: 'Mars/Olympus' is not an IANA time zone (e.g. 'Europe/Berlin', 'UTC')",
        ),
        (
            {**VALID, "week_start": "someday"},
            "budgets[2].week_start: 'someday' is not one of monday, tuesday, wednesday, thursday, friday, "
            "saturday, sunday",
        ),
        ("team-a", "budgets[2]: expected a mapping with name, period and limit_usd, got 'team-a'"),
    ],
)
def test_each_mistake_names_the_field_and_value(budget: object, message: str) -> None:
    others = [{**VALID, "name": "one"}, {**VALID, "name": "two"}]
    assert errors_of([*others, budget]) == [message]


def test_all_mistakes_are_reported_together_and_names_must_be_unique() -> None:
    errors = errors_of(
        [
            VALID,
            {"name": "b", "period": "year", "limit_usd": 0},
            {**VALID},
        ]
    )
    assert errors == [
        "budgets[1].period: 'year' is not one of day, week, month, total",
        "budgets[1].limit_usd: 0 is not a positive amount of USD",
        "budgets[2].name: 'team-a' is already used by budgets[0]",
    ]
    assert str(BudgetConfigError(errors)) == "\n".join(errors)


def test_budgets_must_be_a_list() -> None:
    assert errors_of({"name": "x"}) == ["budgets: expected a list of budgets, got dict"]


def test_overlapping_budgets_are_fine() -> None:
    budgets = parse_budgets([{**VALID, "name": "all"}, {**VALID, "name": "a", "match": {"agent": "a"}}])
    assert [b.name for b in budgets] == ["all", "a"]


def test_scope_labels_rename_tags_that_clash_with_alert_labels() -> None:
    match = BudgetMatch(agent="a", tags=(("severity", "x"), ("team.name", "s")))
    assert match.labels() == {"agent": "a", "tag_severity": "x", "team_name": "s"}
    assert match.describe() == "agent=a, tags.severity=x, tags.team.name=s"
    assert BudgetMatch().describe() == "everything"
