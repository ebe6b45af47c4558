"""The metric contract list and its exposition checker."""

from __future__ import annotations

import pytest
from fake_exporter import exposition
from metric_contract import CONTRACT_SERIES, METRICS, METRICS_BY_NAME, missing_from_exposition
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest


def test_contract_lists_the_design_metrics_exactly() -> None:
    assert [m.name for m in METRICS] == [
        "genai_cost_usd_total",
        "genai_tokens_total",
        "genai_requests_total",
        "genai_unpriced_requests_total",
        "genai_budget_limit_usd",
        "genai_budget_spend_usd",
        "genai_budget_utilization_ratio",
        "genai_budget_period_end_timestamp_seconds",
        "genai_budget_projected_spend_usd",
        "genai_processor_spans_received_total",
        "genai_processor_spans_rejected_total",
        "genai_processor_duplicate_calls_total",
        "genai_processor_suspected_duplicate_calls_total",
        "genai_processor_batch_duration_seconds",
        "genai_processor_ledger_commit_duration_seconds",
        "genai_processor_alert_sends_total",
        "genai_processor_queue_depth",
    ]
    assert METRICS_BY_NAME["genai_cost_usd_total"].labels == ("agent", "provider", "model", "operation", "token_type")
    assert METRICS_BY_NAME["genai_processor_batch_duration_seconds"].sample_names() == {
        "genai_processor_batch_duration_seconds_bucket",
        "genai_processor_batch_duration_seconds_sum",
        "genai_processor_batch_duration_seconds_count",
    }
    assert len(CONTRACT_SERIES) == 17 + 2 * 2  # two histograms add two series each


def test_fake_exporter_serves_the_whole_contract() -> None:
    assert missing_from_exposition(exposition(1)) == []


def test_missing_series_and_labels_are_named() -> None:
    text = exposition(1)
    without_queue = "\n".join(line for line in text.splitlines() if "genai_processor_queue_depth" not in line)
    assert missing_from_exposition(without_queue) == ["genai_processor_queue_depth: not in the exposition"]
    no_reason = text.replace(
        'genai_processor_spans_rejected_total{reason="invalid_usage"}', "genai_processor_spans_rejected_total"
    )
    assert missing_from_exposition(no_reason) == ["genai_processor_spans_rejected_total: label(s) reason missing"]
    no_bucket = "\n".join(line for line in text.splitlines() if "ledger_commit_duration_seconds_bucket" not in line)
    assert missing_from_exposition(no_bucket) == [
        "genai_processor_ledger_commit_duration_seconds_bucket: not in the exposition"
    ]


def _client_registry() -> CollectorRegistry:
    """The contract declared with prometheus_client, as the processor would, with no samples yet."""
    registry = CollectorRegistry()
    for spec in METRICS:
        if spec.kind == "counter":
            Counter(spec.name, spec.name, spec.labels, registry=registry)
        elif spec.kind == "gauge":
            Gauge(spec.name, spec.name, spec.labels, registry=registry)
        else:
            Histogram(spec.name, spec.name, spec.labels, registry=registry)
    return registry


def test_declared_families_without_samples_pass_only_when_samples_are_not_required() -> None:
    registry = _client_registry()
    text = generate_latest(registry).decode()
    assert missing_from_exposition(text, require_samples=False) == []
    missing = missing_from_exposition(text)
    # Every labelled family lacks samples; label-less ones (two histograms, a counter, a gauge) have a 0.
    assert missing == [f"{spec.name}: not in the exposition" for spec in METRICS if spec.labels]
    assert len(missing) == 13


@pytest.mark.parametrize(
    ("declaration", "message"),
    [
        ("# TYPE genai_processor_queue_depth counter", "genai_processor_queue_depth: declared as counter"),
        ("# TYPE genai_tokens gauge", "genai_tokens_total: declared as gauge"),
    ],
)
def test_wrong_declared_type_is_reported(declaration: str, message: str) -> None:
    name = declaration.split()[2]
    text = "\n".join(
        declaration if line.startswith(f"# TYPE {name}") or line.startswith(f"# TYPE {name}_total") else line
        for line in exposition(1).splitlines()
    )
    problems = missing_from_exposition(text)
    assert len(problems) == 1
    assert problems[0].startswith(message)
