"""The processor's Prometheus metric contract (README, Metrics): one list, used by every test.

Dashboards, recording rules and alert rules may only name metrics listed here (plus the few series
Prometheus makes itself). A test against the real processor can call :func:`missing_from_exposition`
on its ``/metrics`` text to check that the processor exports every one of them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

Kind = Literal["counter", "gauge", "histogram"]

TOKEN_TYPES = ("input", "cache_read", "cache_write", "output", "reasoning")
REQUEST_OUTCOMES = ("ok", "error")
ALERT_SEND_OUTCOMES = ("success", "http_error", "unreachable")  # the processor's values

# Ports the processor listens on (README, Run the processor).
OTLP_GRPC_PORT = 4317
OTLP_HTTP_PORT = 4318
HTTP_PORT = 9464  # /metrics, /healthz, /readyz, /api/v1/...
METRICS_PATH = "/metrics"
HEALTH_PATH = "/healthz"
READY_PATH = "/readyz"

# Prometheus scrape job name used by deploy/prometheus/prometheus.yml and the Kubernetes Service
# (a ServiceMonitor names the job after the Service). Alert rules select ``up{job=...}`` with it.
SCRAPE_JOB = "genai-cost"

# The alert the processor itself sends to Alertmanager (budgets).
BUDGET_ALERT_NAME = "GenAIBudgetThreshold"
BUDGET_ALERT_SEVERITIES = ("info", "warning", "critical")


@dataclass(frozen=True)
class MetricSpec:
    """One exported metric family: its full sample name (counters keep ``_total``) and labels."""

    name: str
    kind: Kind
    labels: tuple[str, ...]

    def sample_names(self) -> frozenset[str]:
        """The series names this family puts in an exposition (histograms get three)."""
        if self.kind == "histogram":
            return frozenset({f"{self.name}_bucket", f"{self.name}_sum", f"{self.name}_count"})
        return frozenset({self.name})


_USAGE_LABELS = ("agent", "provider", "model", "operation", "token_type")

METRICS: tuple[MetricSpec, ...] = (
    MetricSpec("genai_cost_usd_total", "counter", _USAGE_LABELS),
    MetricSpec("genai_tokens_total", "counter", _USAGE_LABELS),
    MetricSpec("genai_requests_total", "counter", ("agent", "provider", "model", "operation", "outcome")),
    MetricSpec("genai_unpriced_requests_total", "counter", ("provider", "model")),
    MetricSpec("genai_budget_limit_usd", "gauge", ("budget",)),
    MetricSpec("genai_budget_spend_usd", "gauge", ("budget",)),
    MetricSpec("genai_budget_utilization_ratio", "gauge", ("budget",)),
    MetricSpec("genai_budget_period_end_timestamp_seconds", "gauge", ("budget",)),
    MetricSpec("genai_budget_projected_spend_usd", "gauge", ("budget",)),
    MetricSpec("genai_processor_spans_received_total", "counter", ("transport",)),
    MetricSpec("genai_processor_spans_rejected_total", "counter", ("reason",)),
    MetricSpec("genai_processor_duplicate_calls_total", "counter", ("kind",)),
    MetricSpec("genai_processor_suspected_duplicate_calls_total", "counter", ()),
    MetricSpec("genai_processor_batch_duration_seconds", "histogram", ()),
    MetricSpec("genai_processor_ledger_commit_duration_seconds", "histogram", ()),
    MetricSpec("genai_processor_alert_sends_total", "counter", ("outcome",)),
    MetricSpec("genai_processor_queue_depth", "gauge", ()),
)

METRICS_BY_NAME: dict[str, MetricSpec] = {m.name: m for m in METRICS}

# Every series name a query may select that comes from the processor.
CONTRACT_SERIES: frozenset[str] = frozenset().union(*(m.sample_names() for m in METRICS))

# Series that Prometheus itself makes; queries may select these too.
PROMETHEUS_SERIES: frozenset[str] = frozenset({"up", "ALERTS", "ALERTS_FOR_STATE"})

_SAMPLE_LINE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{([^}]*)\})?\s")
_LABEL_NAME = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="')


def exposition_series(text: str) -> dict[str, set[str]]:
    """Map each series name in a text exposition to the label names seen on it."""
    found: dict[str, set[str]] = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        match = _SAMPLE_LINE.match(line)
        if match is None:
            continue
        labels = found.setdefault(match.group(1), set())
        if match.group(2):
            labels.update(_LABEL_NAME.findall(match.group(2)))
    return found


_TYPE_LINE = re.compile(r"^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (\w+)")


def declared_families(text: str) -> dict[str, str]:
    """Map each ``# TYPE`` name in a text exposition to its declared type."""
    declared: dict[str, str] = {}
    for line in text.splitlines():
        match = _TYPE_LINE.match(line)
        if match is not None:
            declared[match.group(1)] = match.group(2)
    return declared


def missing_from_exposition(
    text: str, metrics: Iterable[MetricSpec] = METRICS, *, require_samples: bool = True
) -> list[str]:
    """Return one message per contract series (or label) absent from ``text``; empty means it conforms.

    Histograms are checked for ``_bucket``/``_sum``/``_count``; a label counts as present when at
    least one sample of the series carries it (``le`` on buckets is Prometheus' own). With
    ``require_samples=False`` a family that is declared (``# TYPE``) but has no sample yet (a labelled
    counter before its first increment, e.g. no span rejected so far) is accepted, provided its
    declared type matches.
    """
    found = exposition_series(text)
    declared = declared_families(text)
    problems: list[str] = []
    for spec in metrics:
        family = spec.name.removesuffix("_total") if spec.kind == "counter" else spec.name
        declared_type = declared.get(spec.name, declared.get(family))
        if declared_type is not None and declared_type != spec.kind:
            problems.append(f"{spec.name}: declared as {declared_type}, the contract says {spec.kind}")
            continue
        for series in sorted(spec.sample_names()):
            if series not in found:
                if not require_samples and declared_type is not None:
                    continue
                problems.append(f"{series}: not in the exposition")
                continue
            missing = sorted(set(spec.labels) - found[series])
            if missing:
                problems.append(f"{series}: label(s) {', '.join(missing)} missing")
    return problems
