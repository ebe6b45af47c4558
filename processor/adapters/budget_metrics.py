"""Prometheus collector of the budget gauges and the Alertmanager send counter.

Built fresh from a snapshot on each scrape (no I/O in ``collect``); Decimal becomes float only here.

- ``genai_budget_limit_usd{budget}``, ``genai_budget_spend_usd{budget}``,
  ``genai_budget_utilization_ratio{budget}``, ``genai_budget_projected_spend_usd{budget}``
- ``genai_budget_period_end_timestamp_seconds{budget}`` (absent for ``total`` budgets: they never end)
- ``genai_processor_alert_sends_total{outcome}`` (success, http_error, unreachable)
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from genai_cost.processor.adapters.alertmanager import AlertmanagerClient, SendOutcome
from genai_cost.processor.budget_service import BudgetService


class BudgetCollector(Collector):
    """Exposes every budget's state and the alert sends of ``client`` (if any)."""

    def __init__(self, service: BudgetService, client: AlertmanagerClient | None = None) -> None:
        self._service = service
        self._client = client

    def collect(self) -> Iterator[Metric]:
        statuses = self._service.statuses()
        limit = GaugeMetricFamily(
            "genai_budget_limit_usd", "Budget limit for the current period, USD.", labels=["budget"]
        )
        spend = GaugeMetricFamily(
            "genai_budget_spend_usd", "Spend in the budget's current period, USD.", labels=["budget"]
        )
        utilization = GaugeMetricFamily(
            "genai_budget_utilization_ratio", "Spend divided by limit (1 = limit reached).", labels=["budget"]
        )
        period_end = GaugeMetricFamily(
            "genai_budget_period_end_timestamp_seconds",
            "Unix time at which the budget's current period ends.",
            labels=["budget"],
        )
        projected = GaugeMetricFamily(
            "genai_budget_projected_spend_usd",
            "Linear projection of the spend at the end of the current period, USD.",
            labels=["budget"],
        )
        for status in statuses:
            labels = [status.name]
            limit.add_metric(labels, float(status.limit_usd))
            spend.add_metric(labels, float(status.spend_usd))
            utilization.add_metric(labels, float(status.utilization))
            projected.add_metric(labels, float(status.projected_usd))
            if status.window.end_ns is not None:
                period_end.add_metric(labels, status.window.end_ns / 1e9)
        yield from (limit, spend, utilization, period_end, projected)
        sends = CounterMetricFamily(
            "genai_processor_alert_sends", "Alert batches posted to Alertmanager, by outcome.", labels=["outcome"]
        )
        counts = self._client.sends() if self._client is not None else dict.fromkeys(SendOutcome, 0)
        for outcome in SendOutcome:
            sends.add_metric([outcome.value], float(counts.get(outcome, 0)))
        yield sends
