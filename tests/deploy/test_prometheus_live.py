"""The real Prometheus with deploy/prometheus rules, scraping a fake processor: every query works.

Runs every dashboard panel query, every template variable, every recording rule and every alert
expression through the HTTP API. One Prometheus serves the whole module.
"""

from __future__ import annotations

import math

import pytest
from dashboard_queries import PanelQuery, annotation_queries, panel_queries, variable_queries
from fake_exporter import BUDGETS, TOKENS_PER_SCRAPE, USD_PER_TOKEN
from prom_harness import PrometheusServer

pytestmark = pytest.mark.slow

PANEL_QUERIES = panel_queries()


def test_every_rule_loaded_and_evaluates_without_error(prometheus_on_fake: PrometheusServer) -> None:
    rules = prometheus_on_fake.rules()
    assert len(rules) == 14
    broken = {rule["name"]: rule.get("lastError") for rule in rules if rule["health"] != "ok"}
    assert broken == {}


def test_every_recording_rule_has_data(prometheus_on_fake: PrometheusServer) -> None:
    for rule in prometheus_on_fake.rules():
        if rule["type"] != "recording":
            continue
        recorded = prometheus_on_fake.query(rule["name"])
        assert recorded, rule["name"]
        assert prometheus_on_fake.query(rule["query"]), rule["query"]


def test_every_alert_expression_evaluates(prometheus_on_fake: PrometheusServer) -> None:
    for rule in prometheus_on_fake.rules():
        if rule["type"] == "alerting":
            prometheus_on_fake.query(rule["query"])  # raises PromQueryError on any error


@pytest.mark.parametrize("query", PANEL_QUERIES, ids=str)
def test_every_panel_query_returns_data(prometheus_on_fake: PrometheusServer, query: PanelQuery) -> None:
    result = prometheus_on_fake.query(query.promql())
    assert result, f"{query}: no data for {query.promql()}"
    values = [float(sample["value"][1]) for sample in result]
    assert all(math.isfinite(v) for v in values), f"{query}: {values}"


def test_annotation_queries_are_valid(prometheus_on_fake: PrometheusServer) -> None:
    queries = annotation_queries()
    assert len(queries) == 3
    for query in queries:
        prometheus_on_fake.query(query.promql())


def test_every_template_variable_lists_values(prometheus_on_fake: PrometheusServer) -> None:
    found = {(v.dashboard, v.name): prometheus_on_fake.label_values(v.label, v.match()) for v in variable_queries()}
    instance = found.pop(("genai-cost-processor", "instance"))
    assert len(instance) == 1
    assert found == {
        ("genai-cost-overview", "agent"): ["research", "support"],
        ("genai-cost-overview", "provider"): ["anthropic", "openai"],
        ("genai-cost-overview", "model"): ["claude-sonnet-4", "gpt-4o"],
        ("genai-cost-budgets", "budget"): sorted(BUDGETS),
    }


def _value(
    prometheus: PrometheusServer, title: str, at: float, ref_id: str = "A"
) -> list[tuple[dict[str, str], float]]:
    query = next(q for q in PANEL_QUERIES if q.panel == title and q.ref_id == ref_id)
    return [(s["metric"], float(s["value"][1])) for s in prometheus.query(query.promql(), at=at)]


def test_budget_panels_show_the_gauges(prometheus_on_fake: PrometheusServer) -> None:
    at = float(prometheus_on_fake.query("time()")[0]["value"][0])
    assert _value(prometheus_on_fake, "Budgets", at) == [({}, 2.0)]
    assert _value(prometheus_on_fake, "Over their limit", at) == [({}, 0.0)]
    assert _value(prometheus_on_fake, "Projected to overspend", at) == [({}, 1.0)]
    utilization = dict((m["budget"], v) for m, v in _value(prometheus_on_fake, "Utilization now", at))
    assert utilization == {"team-monthly": 0.8, "research-daily": 0.25}


def test_cache_savings_match_the_fake_prices(prometheus_on_fake: PrometheusServer) -> None:
    """Every counter of the fake steps at the same scrapes, so ratios of rates are exact."""
    at = float(prometheus_on_fake.query("time()")[0]["value"][0])
    cached = ("cache_read", "cache_write")
    input_price = USD_PER_TOKEN["input"]
    per_step_savings = sum(TOKENS_PER_SCRAPE[t] * (input_price - USD_PER_TOKEN[t]) for t in cached)
    per_step_spend = sum(TOKENS_PER_SCRAPE[t] * USD_PER_TOKEN[t] for t in TOKENS_PER_SCRAPE)
    savings = _value(prometheus_on_fake, "Cache savings in range", at)[0][1]
    spend = _value(prometheus_on_fake, "Spend in range", at)[0][1]
    assert savings / spend == pytest.approx(per_step_savings / per_step_spend, rel=1e-9)
    assert per_step_savings / per_step_spend == pytest.approx(0.010425 / 0.012075, rel=1e-12)
    by_model = {m["model"]: v for m, v in _value(prometheus_on_fake, "Cache savings rate by model", at)}
    spend_by_model = {m["model"]: v for m, v in _value(prometheus_on_fake, "Spend rate by model", at)}
    assert by_model.keys() == {"gpt-4o", "claude-sonnet-4"}
    for model, value in by_model.items():
        assert value / spend_by_model[model] == pytest.approx(per_step_savings / per_step_spend, rel=1e-9)
