"""Budget status -> Alertmanager alerts: one ``GenAIBudgetThreshold`` alert per reached threshold.

Labels (the alert's identity, what routes and inhibition rules match on): ``alertname``,
``budget``, ``threshold`` (the ratio, e.g. ``0.75``), ``severity``, ``period`` (day, week, month,
total) and the budget's scope (``agent``, ``provider``, ``model``, ``service`` and one label per
tag). Annotations: ``summary``, ``description`` (spend, limit, utilization, projection),
``runbook_url`` and ``dashboard_url`` when configured, and the raw figures (``spend_usd``,
``limit_usd``, ``utilization``, ``projected_usd``, ``period_start``, ``period_end``) for webhooks.
"""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal
from typing import Final
from urllib.parse import quote

from genai_cost.processor.adapters.alertmanager import Alert, AlertmanagerSettings
from genai_cost.processor.domain.budgets import BudgetStatus, Threshold, local_iso

ALERT_NAME: Final = "GenAIBudgetThreshold"
_CENT: Final = Decimal("0.01")
_MICRO: Final = Decimal("0.000001")
_PERIOD_WORDS: Final = {"day": "today", "week": "this week", "month": "this month", "total": "in total"}


def usd(amount: Decimal) -> str:
    """``$1,234.50``; amounts under a cent keep up to six decimals (``$0.000125``)."""
    cents = amount.quantize(_CENT, rounding=ROUND_HALF_EVEN)
    if cents == amount or abs(amount) >= 1:
        return f"${cents:,}"
    return f"${format(amount.quantize(_MICRO, rounding=ROUND_HALF_EVEN).normalize(), 'f')}"


def percent(ratio: Decimal) -> str:
    """``52.5%`` (one decimal, half-even)."""
    return f"{(ratio * 100).quantize(Decimal('0.1'), rounding=ROUND_HALF_EVEN)}%"


def threshold_labels(status: BudgetStatus, threshold: Threshold) -> dict[str, str]:
    budget = status.budget
    labels = {
        "alertname": ALERT_NAME,
        "budget": budget.name,
        "threshold": threshold.label,
        "severity": threshold.severity.value,
        "period": budget.period.value,
    }
    labels.update(budget.match.labels())
    return labels


def budget_alerts(status: BudgetStatus, settings: AlertmanagerSettings) -> list[Alert]:
    """The alerts of every threshold ``status`` has reached."""
    if not status.firing:
        return []
    budget = status.budget
    window = status.window
    when = _PERIOD_WORDS[budget.period.value]
    start = local_iso(window.start_ns, budget.timezone) if window.end_ns is not None else None
    end = local_iso(window.end_ns, budget.timezone) if window.end_ns is not None else None
    if end is not None:
        projection = f"; projected {usd(status.projected_usd)} by the end of the period ({end})"
        since = f" since {start}"
    else:
        projection, since = "", ""
    figures = {
        "spend_usd": str(status.spend_usd),
        "limit_usd": str(status.limit_usd),
        "utilization": str(status.utilization.quantize(Decimal("0.0001"), rounding=ROUND_HALF_EVEN)),
        "projected_usd": str(status.projected_usd.quantize(_MICRO, rounding=ROUND_HALF_EVEN)),
    }
    if start is not None and end is not None:
        figures["period_start"] = start
        figures["period_end"] = end
    out: list[Alert] = []
    for threshold in status.firing:
        annotations = {
            "summary": (
                f"Budget {budget.name!r} has used {percent(status.utilization)} of its "
                f"{usd(status.limit_usd)} {budget.period.value} limit ({when})"
            ),
            "description": (
                f"Spend {usd(status.spend_usd)} of {usd(status.limit_usd)} "
                f"({percent(status.utilization)}){since}, reaching the {percent(threshold.ratio)} "
                f"threshold ({threshold.severity.value}){projection}. Scope: {budget.match.describe()}."
            ),
            **figures,
        }
        if settings.runbook_url:
            annotations["runbook_url"] = settings.runbook_url
        if settings.dashboard_url:
            annotations["dashboard_url"] = settings.dashboard_url.replace("{budget}", quote(budget.name, safe=""))
        out.append(Alert(labels=threshold_labels(status, threshold), annotations=annotations))
    return out
