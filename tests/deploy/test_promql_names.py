"""Series names found in PromQL expressions."""

from __future__ import annotations

import pytest
from promql_names import selected_series


@pytest.mark.parametrize(
    ("expr", "expected"),
    [
        ("up", {"up"}),
        ('sum by (agent) (rate(genai_cost_usd_total{agent=~"$agent"}[$__rate_interval]))', {"genai_cost_usd_total"}),
        (
            "histogram_quantile(0.99, sum by (le) (rate(genai_processor_batch_duration_seconds_bucket[5m])))",
            {"genai_processor_batch_duration_seconds_bucket"},
        ),
        (
            "agent:genai_cost_usd:rate1h * 3600 > 1 and agent:genai_cost_usd:rate1h > 3 * "
            "agent:genai_cost_usd:avg_over_time7d_rate1h",
            {"agent:genai_cost_usd:rate1h", "agent:genai_cost_usd:avg_over_time7d_rate1h"},
        ),
        (
            "a / on (job) group_left (reason) b offset 1h unless ignoring(x) c or bool_metric",
            {"a", "b", "c", "bool_metric"},
        ),
        ('count(ALERTS{alertname=~"GenAI.*", job="sum(x)"}) or vector(0)', {"ALERTS"}),
        ("max(x) * 1e3 + 0.5 - Inf", {"x"}),
        ("time() - genai_budget_period_end_timestamp_seconds", {"genai_budget_period_end_timestamp_seconds"}),
    ],
)
def test_selected_series(expr: str, expected: set[str]) -> None:
    assert selected_series(expr) == expected
