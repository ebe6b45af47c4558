#!/usr/bin/env python3
"""Build the genai-cost Grafana dashboards (grafana/dashboards/*.json) from this one file.

The JSON files are committed; run ``python grafana/build_dashboards.py`` after editing this file
and ``python grafana/build_dashboards.py --check`` to verify they are up to date (a test does).

Every panel queries through the ``${datasource}`` variable (never a fixed datasource uid), has a
unit, and uses the recording rules of ``deploy/prometheus/rules`` for the heavy rate queries.
Standard library only, so it runs anywhere Python 3.11 does.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

Json = dict[str, Any]

DASHBOARD_DIR = Path(__file__).resolve().parent / "dashboards"
SCHEMA_VERSION = 39
TAGS = ["genai-cost"]
DATASOURCE: Json = {"type": "prometheus", "uid": "${datasource}"}
GRID_WIDTH = 24

# Label filters applied by the template variables.
USAGE = 'agent=~"$agent", provider=~"$provider", model=~"$model"'
PRICE = 'provider=~"$provider", model=~"$model"'
BUDGET = 'budget=~"$budget"'
INSTANCE = 'instance=~"$instance"'


def steps(base: str, *thresholds: tuple[float, str]) -> list[Json]:
    """Threshold colour steps: ``base`` below the first threshold, then each (value, colour)."""
    return [{"color": base, "value": None}, *({"color": color, "value": value} for value, color in thresholds)]


# Default budget thresholds (0.5, 0.75, 0.9, 1.0), drawn as lines and colour steps.
BUDGET_STEPS = steps("green", (0.5, "yellow"), (0.75, "orange"), (0.9, "red"), (1.0, "dark-red"))
GREEN: list[Json] = steps("green")


@dataclass(frozen=True)
class Query:
    """One Prometheus query of a panel."""

    expr: str
    legend: str = ""
    instant: bool = False
    table: bool = False

    def to_json(self, ref_id: str) -> Json:
        return {
            "datasource": DATASOURCE,
            "editorMode": "code",
            "expr": self.expr,
            "format": "table" if self.table else "time_series",
            "instant": self.instant,
            "legendFormat": self.legend or "__auto",
            "range": not self.instant,
            "refId": ref_id,
        }


@dataclass
class Panel:
    """A panel before layout: its JSON body (without id and gridPos) and its size."""

    body: Json
    width: int
    height: int


@dataclass
class Layout:
    """Places panels left to right, wrapping at the grid width."""

    x: int = 0
    y: int = 0
    row_height: int = 0
    placed: list[Json] = field(default_factory=list)

    def add(self, panels: Iterable[Panel]) -> None:
        for panel in panels:
            if self.x + panel.width > GRID_WIDTH:
                self.x, self.y, self.row_height = 0, self.y + self.row_height, 0
            body = {"id": len(self.placed) + 1, **panel.body}
            body["gridPos"] = {"h": panel.height, "w": panel.width, "x": self.x, "y": self.y}
            self.placed.append(body)
            self.x += panel.width
            self.row_height = max(self.row_height, panel.height)


def _targets(queries: Sequence[Query]) -> list[Json]:
    return [q.to_json(chr(ord("A") + i)) for i, q in enumerate(queries)]


def _field_config(unit: str, steps: list[Json], **defaults: Any) -> Json:
    return {
        "defaults": {
            "unit": unit,
            "color": {"mode": "palette-classic" if steps is GREEN else "thresholds"},
            "thresholds": {"mode": "absolute", "steps": steps},
            **defaults,
        },
        "overrides": [],
    }


def stat(
    title: str,
    description: str,
    unit: str,
    query: Query,
    *,
    width: int = 4,
    time_from: str | None = None,
    steps: list[Json] = GREEN,
    decimals: int | None = None,
) -> Panel:
    """A single-value panel on an instant query."""
    field_config = _field_config(unit, steps)
    field_config["defaults"]["color"] = {"mode": "thresholds"}
    if decimals is not None:
        field_config["defaults"]["decimals"] = decimals
    body: Json = {
        "type": "stat",
        "title": title,
        "description": description,
        "datasource": DATASOURCE,
        "targets": _targets([Query(query.expr, query.legend, instant=True)]),
        "fieldConfig": field_config,
        "options": {
            "colorMode": "value",
            "graphMode": "none",
            "justifyMode": "auto",
            "orientation": "auto",
            "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
            "textMode": "auto",
        },
    }
    if time_from is not None:
        body["timeFrom"] = time_from
    return Panel(body, width, 4)


def timeseries(
    title: str,
    description: str,
    unit: str,
    queries: Sequence[Query],
    *,
    width: int = 12,
    height: int = 8,
    steps: list[Json] = GREEN,
    threshold_lines: bool = False,
    stack: bool = False,
    overrides: list[Json] | None = None,
) -> Panel:
    """A time series panel on range queries."""
    field_config = _field_config(unit, steps, min=0)
    field_config["defaults"]["color"] = {"mode": "palette-classic"}
    field_config["defaults"]["custom"] = {
        "drawStyle": "line",
        "fillOpacity": 10,
        "lineWidth": 1,
        "showPoints": "never",
        "spanNulls": False,
        "stacking": {"group": "A", "mode": "normal" if stack else "none"},
        "thresholdsStyle": {"mode": "dashed" if threshold_lines else "off"},
    }
    field_config["overrides"] = overrides or []
    body: Json = {
        "type": "timeseries",
        "title": title,
        "description": description,
        "datasource": DATASOURCE,
        "targets": _targets(queries),
        "fieldConfig": field_config,
        "options": {
            "legend": {"calcs": ["mean", "max"], "displayMode": "table", "placement": "bottom", "showLegend": True},
            "tooltip": {"mode": "multi", "sort": "desc"},
        },
    }
    return Panel(body, width, height)


def bargauge(
    title: str,
    description: str,
    unit: str,
    query: Query,
    *,
    width: int = 12,
    height: int = 8,
    steps: list[Json] = GREEN,
    maximum: float | None = None,
) -> Panel:
    """Horizontal bars, one per series of an instant query."""
    field_config = _field_config(unit, steps, min=0)
    if maximum is not None:
        field_config["defaults"]["max"] = maximum
    if steps is GREEN:
        field_config["defaults"]["color"] = {"mode": "continuous-GrYlRd"}
    body: Json = {
        "type": "bargauge",
        "title": title,
        "description": description,
        "datasource": DATASOURCE,
        "targets": _targets([Query(query.expr, query.legend, instant=True)]),
        "fieldConfig": field_config,
        "options": {
            "displayMode": "gradient",
            "orientation": "horizontal",
            "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
            "showUnfilled": True,
            "valueMode": "color",
        },
    }
    return Panel(body, width, height)


def table(
    title: str,
    description: str,
    unit: str,
    queries: Sequence[Query],
    *,
    columns: dict[str, str],
    column_units: dict[str, str] | None = None,
    width: int = 12,
    height: int = 8,
    sort_by: str | None = None,
) -> Panel:
    """A table of instant queries merged on their labels; ``columns`` renames the value columns."""
    instant = [Query(q.expr, q.legend, instant=True, table=True) for q in queries]
    field_config = _field_config(unit, GREEN)
    field_config["defaults"]["color"] = {"mode": "thresholds"}
    field_config["overrides"] = [
        {"matcher": {"id": "byName", "options": name}, "properties": [{"id": "unit", "value": column_unit}]}
        for name, column_unit in (column_units or {}).items()
    ]
    body: Json = {
        "type": "table",
        "title": title,
        "description": description,
        "datasource": DATASOURCE,
        "targets": _targets(instant),
        "fieldConfig": field_config,
        "options": {
            "cellHeight": "sm",
            "showHeader": True,
            "sortBy": [{"desc": True, "displayName": sort_by}] if sort_by else [],
        },
        "transformations": [
            {"id": "merge", "options": {}},
            {"id": "organize", "options": {"excludeByName": {"Time": True}, "renameByName": columns}},
        ],
    }
    return Panel(body, width, height)


def datasource_variable() -> Json:
    return {
        "name": "datasource",
        "label": "Data source",
        "type": "datasource",
        "query": "prometheus",
        "current": {},
        "hide": 0,
        "includeAll": False,
        "multi": False,
        "refresh": 1,
        "regex": "",
    }


def query_variable(name: str, label: str, query: str) -> Json:
    """A multi-value label filter; "All" matches everything (``.*``)."""
    return {
        "name": name,
        "label": label,
        "type": "query",
        "datasource": DATASOURCE,
        "definition": query,
        "query": {"query": query, "refId": f"{name}-variable"},
        "current": {"selected": True, "text": ["All"], "value": ["$__all"]},
        "hide": 0,
        "includeAll": True,
        "allValue": ".*",
        "multi": True,
        "refresh": 2,
        "regex": "",
        "sort": 1,
    }


def dashboard(
    uid: str, title: str, description: str, variables: list[Json], panels: Iterable[Panel], time_from: str
) -> Json:
    layout = Layout()
    layout.add(panels)
    return {
        "uid": uid,
        "title": title,
        "description": description,
        "tags": TAGS,
        "editable": True,
        "graphTooltip": 1,
        "schemaVersion": SCHEMA_VERSION,
        "version": 1,
        "timezone": "browser",
        "refresh": "1m",
        "time": {"from": time_from, "to": "now"},
        "timepicker": {},
        "links": [
            {
                "type": "dashboards",
                "title": "GenAI cost dashboards",
                "tags": TAGS,
                "asDropdown": True,
                "includeVars": False,
                "keepTime": True,
                "targetBlank": False,
            }
        ],
        "annotations": {
            "list": [
                {
                    "builtIn": 1,
                    "datasource": {"type": "grafana", "uid": "-- Grafana --"},
                    "enable": True,
                    "hide": True,
                    "iconColor": "rgba(0, 211, 255, 1)",
                    "name": "Annotations & Alerts",
                    "type": "dashboard",
                },
                {
                    "datasource": DATASOURCE,
                    "enable": True,
                    "expr": 'ALERTS{alertname=~"GenAI.*", alertstate="firing"}',
                    "iconColor": "red",
                    "name": "GenAI alerts (Prometheus)",
                    "step": "1m",
                    "tagKeys": "alertname,severity",
                    "textFormat": "{{alertname}}",
                    "titleFormat": "Firing",
                    "useValueForTime": False,
                },
            ]
        },
        "templating": {"list": [datasource_variable(), *variables]},
        "panels": layout.placed,
    }


def _sum_by(labels: str, expr: str) -> str:
    return f"sum by ({labels}) ({expr})"


def _cost_rate(by: str) -> str:
    """Spend rate in USD per hour from the recorded 5-minute rate."""
    return f"{_sum_by(by, f'agent_provider_model_operation:genai_cost_usd:rate5m{{{USAGE}}}')} * 3600"


def _range(metric: str, selector: str) -> str:
    return f"increase({metric}{{{selector}}}[$__range])"


def cache_savings(window: str) -> str:
    """Net cache savings per (provider, model): cached tokens at the input price minus their cost.

    The input price of a model is what its uncached input tokens have cost per token (cumulative
    cost / tokens with ``token_type="input"``). Models that never had uncached input have no price
    to compare with and are left out. Cache writes count too: where they cost more
    than input (Anthropic), the premium is subtracted from the savings.
    ``window="range"`` sums over the dashboard range (USD); ``window="rate"`` uses the recorded
    5-minute rates (USD per hour).
    """
    cached = 'token_type=~"cache_read|cache_write"'
    uncached = 'token_type="input"'
    if window == "range":
        tokens_metric, cost_metric, scale = "genai_tokens_total", "genai_cost_usd_total", ""
    else:
        tokens_metric = "agent_provider_model_token_type:genai_tokens:rate5m"
        cost_metric = "agent_provider_model_token_type:genai_cost_usd:rate5m"
        scale = " * 3600"

    def total(metric: str, token_types: str) -> str:
        selector = f"{{{USAGE}, {token_types}}}"
        series = f"increase({metric}{selector}[$__range])" if window == "range" else f"{metric}{selector}"
        return _sum_by("provider, model", series)

    # The price comes from the cumulative counters, not the window: a window in which no uncached
    # input arrived still has cached tokens to value, and a model's input price does not depend on it.
    price_cost = _sum_by("provider, model", f"genai_cost_usd_total{{{USAGE}, {uncached}}}")
    price_tokens = _sum_by("provider, model", f"genai_tokens_total{{{USAGE}, {uncached}}}")
    input_price = f"{price_cost}\n    / ({price_tokens} > 0)"
    return (
        f"(\n  {total(tokens_metric, cached)}\n  * on (provider, model) (\n    {input_price}\n  )\n"
        f"  - on (provider, model)\n  {total(cost_metric, cached)}\n){scale}"
    )


def overview() -> Json:
    """GenAI cost overview: who is spending what."""
    spend = f"sum({_range('genai_cost_usd_total', USAGE)})"
    unpriced = f"sum({_range('genai_unpriced_requests_total', PRICE)})"
    tokens_rate = f"agent_provider_model_token_type:genai_tokens:rate5m{{{USAGE}}}"
    cost_by_type = f"agent_provider_model_token_type:genai_cost_usd:rate5m{{{USAGE}}}"
    requests = f"agent_provider_model_outcome:genai_requests:rate5m{{{USAGE}}}"
    red_above_zero = steps("green", (1, "red"))
    panels = [
        stat(
            "Spend today",
            "Spend since midnight (dashboard timezone).",
            "currencyUSD",
            Query(spend),
            time_from="now/d",
            decimals=2,
        ),
        stat(
            "Spend this month",
            "Spend since the first of the month (dashboard timezone).",
            "currencyUSD",
            Query(spend),
            time_from="now/M",
            decimals=2,
        ),
        stat("Spend in range", "Spend over the dashboard time range.", "currencyUSD", Query(spend), decimals=2),
        stat(
            "Spend rate",
            "Current spend rate in USD per hour (5-minute rate).",
            "currencyUSD",
            Query(f"sum(agent_provider_model_operation:genai_cost_usd:rate5m{{{USAGE}}}) * 3600"),
            decimals=2,
        ),
        stat(
            "Cache savings in range",
            "What cached tokens would have cost at each model's input price, minus what they cost "
            "(cache-write premiums subtracted). The input price is the model's uncached input cost per "
            "token (from the cumulative counters).",
            "currencyUSD",
            Query(f"sum(\n{cache_savings('range')}\n)"),
            decimals=2,
        ),
        stat(
            "Unpriced calls in range",
            "Calls to models with no known price: their spend is missing here.",
            "short",
            Query(unpriced),
            steps=red_above_zero,
            decimals=0,
        ),
        timeseries(
            "Spend rate by agent",
            "USD per hour, by agent.",
            "currencyUSD",
            [Query(_cost_rate("agent"), "{{agent}}")],
            stack=True,
        ),
        timeseries(
            "Spend rate by model",
            "USD per hour, by provider and model.",
            "currencyUSD",
            [Query(_cost_rate("provider, model"), "{{provider}} / {{model}}")],
            stack=True,
        ),
        timeseries(
            "Spend rate by provider",
            "USD per hour, by provider.",
            "currencyUSD",
            [Query(_cost_rate("provider"), "{{provider}}")],
            stack=True,
        ),
        timeseries(
            "Spend rate by operation",
            "USD per hour, by operation (chat, embeddings, ...).",
            "currencyUSD",
            [Query(_cost_rate("operation"), "{{operation}}")],
            stack=True,
        ),
        bargauge(
            "Top models by spend",
            "The ten models that cost most over the dashboard range.",
            "currencyUSD",
            Query(
                f"topk(10, {_sum_by('provider, model', _range('genai_cost_usd_total', USAGE))})",
                "{{provider}} / {{model}}",
            ),
        ),
        bargauge(
            "Spend by agent",
            "Spend over the dashboard range, by agent.",
            "currencyUSD",
            Query(_sum_by("agent", _range("genai_cost_usd_total", USAGE)), "{{agent}}"),
        ),
        timeseries(
            "Tokens by type",
            "Tokens per second by type. Input excludes cached tokens and output "
            "excludes reasoning, so the types add up to the total.",
            "short",
            [Query(_sum_by("token_type", tokens_rate), "{{token_type}}")],
            stack=True,
        ),
        timeseries(
            "Spend rate by token type",
            "USD per hour, by token type.",
            "currencyUSD",
            [Query(f"{_sum_by('token_type', cost_by_type)} * 3600", "{{token_type}}")],
            stack=True,
        ),
        timeseries(
            "Cache savings rate by model",
            "USD per hour saved by cached tokens, net of cache-write premiums (see Cache savings).",
            "currencyUSD",
            [Query(cache_savings("rate"), "{{provider}} / {{model}}")],
        ),
        timeseries(
            "Requests by outcome",
            "LLM calls per second, by outcome (ok, error).",
            "reqps",
            [Query(_sum_by("outcome", requests), "{{outcome}}")],
            stack=True,
        ),
        bargauge(
            "Tokens in range by type",
            "Tokens over the dashboard range, by type.",
            "short",
            Query(_sum_by("token_type", _range("genai_tokens_total", USAGE)), "{{token_type}}"),
        ),
        table(
            "Unpriced models",
            "Every model called without a known price, with its calls so far "
            "(counters resume from the ledger). Add prices for them to the pricing overrides file.",
            "short",
            [Query(_sum_by("provider, model", f"genai_unpriced_requests_total{{{PRICE}}}"))],
            columns={"provider": "Provider", "model": "Model", "Value": "Unpriced calls"},
            sort_by="Unpriced calls",
        ),
        timeseries(
            "Unpriced call rate by model",
            "Calls per second to models with no known price.",
            "cps",
            [
                Query(
                    _sum_by("provider, model", f"provider_model:genai_unpriced_requests:rate5m{{{PRICE}}}"),
                    "{{provider}} / {{model}}",
                )
            ],
        ),
    ]
    variables = [
        query_variable("agent", "Agent", "label_values(genai_requests_total, agent)"),
        query_variable("provider", "Provider", 'label_values(genai_requests_total{agent=~"$agent"}, provider)'),
        query_variable(
            "model", "Model", 'label_values(genai_requests_total{agent=~"$agent", provider=~"$provider"}, model)'
        ),
    ]
    return dashboard(
        "genai-cost-overview",
        "GenAI cost overview",
        "LLM spend by agent, model, provider and operation; tokens by type; cache savings; unpriced calls.",
        variables,
        panels,
        "now-24h",
    )


def budgets() -> Json:
    """Budgets: utilization against thresholds, spend against limit, projection."""
    limit = f"max by (budget) (genai_budget_limit_usd{{{BUDGET}}})"
    spend = f"max by (budget) (genai_budget_spend_usd{{{BUDGET}}})"
    projected = f"max by (budget) (genai_budget_projected_spend_usd{{{BUDGET}}})"
    utilization = f"max by (budget) (genai_budget_utilization_ratio{{{BUDGET}}})"
    period_end = f"max by (budget) (genai_budget_period_end_timestamp_seconds{{{BUDGET}}}) * 1000"
    dashed_limit = [
        {
            "matcher": {"id": "byRegexp", "options": ".* limit$"},
            "properties": [
                {"id": "custom.lineStyle", "value": {"dash": [10, 10], "fill": "dash"}},
                {"id": "custom.fillOpacity", "value": 0},
            ],
        }
    ]
    panels = [
        stat("Budgets", "Budgets reported by the processor.", "short", Query(f"count({limit})")),
        stat(
            "Over their limit",
            "Budgets whose spend has reached their limit this period.",
            "short",
            Query(f"count({utilization} >= 1) or vector(0)"),
            steps=steps("green", (1, "red")),
        ),
        stat(
            "Projected to overspend",
            "Budgets whose projected end-of-period spend exceeds their limit.",
            "short",
            Query(f"count({projected} > {limit}) or vector(0)"),
            steps=steps("green", (1, "orange")),
        ),
        stat(
            "Budget alerts firing",
            "Budget alerts firing in Prometheus (GenAIBudgetProjectedOverspend). The processor's own "
            "GenAIBudgetThreshold alerts go straight to Alertmanager; the utilization colours below show "
            "which thresholds are crossed.",
            "short",
            Query(f'count(ALERTS{{alertname=~"GenAIBudget.*", alertstate="firing", {BUDGET}}}) or vector(0)'),
            steps=steps("green", (1, "red")),
        ),
        timeseries(
            "Utilization per budget",
            "Spend divided by limit, with the default alert thresholds (50, 75, 90, 100 %) as lines.",
            "percentunit",
            [Query(utilization, "{{budget}}")],
            width=16,
            steps=BUDGET_STEPS,
            threshold_lines=True,
        ),
        bargauge(
            "Utilization now",
            "Current utilization, coloured by the default thresholds.",
            "percentunit",
            Query(utilization, "{{budget}}"),
            width=8,
            steps=BUDGET_STEPS,
            maximum=1.0,
        ),
        timeseries(
            "Spend vs limit",
            "Spend this period (solid) against the limit (dashed).",
            "currencyUSD",
            [Query(spend, "{{budget}} spend"), Query(limit, "{{budget}} limit")],
            overrides=dashed_limit,
        ),
        timeseries(
            "Projected end-of-period spend",
            "Where spend ends the period at the current rate (solid), against the limit (dashed).",
            "currencyUSD",
            [Query(projected, "{{budget}} projected"), Query(limit, "{{budget}} limit")],
            overrides=dashed_limit,
        ),
        table(
            "Budget status",
            "Every budget now.",
            "currencyUSD",
            [Query(limit), Query(spend), Query(projected), Query(utilization), Query(period_end)],
            columns={
                "budget": "Budget",
                "Value #A": "Limit",
                "Value #B": "Spend",
                "Value #C": "Projected",
                "Value #D": "Utilization",
                "Value #E": "Period ends",
            },
            column_units={"Utilization": "percentunit", "Period ends": "dateTimeAsIso"},
            width=24,
            sort_by="Utilization",
        ),
    ]
    variables = [query_variable("budget", "Budget", "label_values(genai_budget_limit_usd, budget)")]
    return dashboard(
        "genai-cost-budgets",
        "GenAI cost budgets",
        "Budget utilization with threshold lines, spend against limit, projected end-of-period spend.",
        variables,
        panels,
        "now-7d",
    )


def _quantiles(metric: str) -> list[Query]:
    bucket = f"sum by (le) (rate({metric}_bucket{{{INSTANCE}}}[$__rate_interval]))"
    return [Query(f"histogram_quantile({q}, {bucket})", f"p{round(q * 100)}") for q in (0.5, 0.9, 0.99)]


def processor() -> Json:
    """Processor health: ingest, rejections, latency, alert delivery."""

    def rate(metric: str) -> str:
        return f"rate({metric}{{{INSTANCE}}}[$__rate_interval])"

    received = "genai_processor_spans_received_total"
    rejected = "genai_processor_spans_rejected_total"
    panels = [
        stat(
            "Processors up",
            "Processor targets Prometheus scrapes successfully.",
            "short",
            Query(f'sum(up{{job="genai-cost", {INSTANCE}}})'),
            steps=steps("red", (1, "green")),
            width=6,
        ),
        stat("Spans received", "Spans per second, all transports.", "cps", Query(f"sum({rate(received)})"), width=6),
        stat(
            "Rejected",
            "Share of received spans rejected.",
            "percentunit",
            Query(f"sum({rate(rejected)}) / sum({rate(received)})"),
            steps=steps("green", (0.01, "orange"), (0.05, "red")),
            width=6,
        ),
        stat(
            "Queue depth",
            "Batches waiting to be priced and committed, all processors.",
            "short",
            Query(f"sum(genai_processor_queue_depth{{{INSTANCE}}})"),
            width=6,
        ),
        timeseries(
            "Spans received by transport",
            "Spans per second, by OTLP transport.",
            "cps",
            [Query(_sum_by("transport", rate(received)), "{{transport}}")],
            stack=True,
        ),
        timeseries(
            "Spans rejected by reason",
            "Rejected spans per second, by reason.",
            "cps",
            [Query(_sum_by("reason", rate(rejected)), "{{reason}}")],
            stack=True,
        ),
        timeseries(
            "Batch duration",
            "Time to ingest, price and commit one OTLP batch (quantiles).",
            "s",
            _quantiles("genai_processor_batch_duration_seconds"),
        ),
        timeseries(
            "Ledger commit duration",
            "Time of one ledger commit (quantiles).",
            "s",
            _quantiles("genai_processor_ledger_commit_duration_seconds"),
        ),
        timeseries(
            "Alert sends by outcome",
            "Sends to Alertmanager per interval, by outcome.",
            "short",
            [
                Query(
                    _sum_by("outcome", f"increase(genai_processor_alert_sends_total{{{INSTANCE}}}[$__rate_interval])"),
                    "{{outcome}}",
                )
            ],
            stack=True,
        ),
        timeseries(
            "Duplicate calls",
            "Calls seen again (by kind) and calls suspected to be duplicates, per second.",
            "cps",
            [
                Query(_sum_by("kind", rate("genai_processor_duplicate_calls_total")), "{{kind}}"),
                Query(f"sum({rate('genai_processor_suspected_duplicate_calls_total')})", "suspected"),
            ],
        ),
        timeseries(
            "Queue depth per processor",
            "Batches waiting, by processor instance.",
            "short",
            [Query(_sum_by("instance", f"genai_processor_queue_depth{{{INSTANCE}}}"), "{{instance}}")],
            width=24,
        ),
    ]
    variables = [query_variable("instance", "Instance", 'label_values(up{job="genai-cost"}, instance)')]
    return dashboard(
        "genai-cost-processor",
        "GenAI cost processor health",
        "Spans received and rejected, batch and ledger commit latency, alert delivery, queue depth.",
        variables,
        panels,
        "now-6h",
    )


DASHBOARDS = {
    "genai-cost-overview.json": overview,
    "genai-cost-budgets.json": budgets,
    "genai-cost-processor.json": processor,
}


def render() -> dict[str, str]:
    """Return each dashboard file name with its JSON text."""
    return {name: json.dumps(build(), indent=2) + "\n" for name, build in DASHBOARDS.items()}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if the committed JSON is out of date")
    parser.add_argument("--out", type=Path, default=DASHBOARD_DIR, help="output folder")
    args = parser.parse_args(argv)
    stale: list[str] = []
    for name, text in render().items():
        path = args.out / name
        if args.check:
            if not path.exists() or path.read_text() != text:
                stale.append(str(path))
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    if stale:
        print("out of date (run grafana/build_dashboards.py): " + ", ".join(stale), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
