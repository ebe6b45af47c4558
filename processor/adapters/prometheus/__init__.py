"""Prometheus exposition: the cost/token/request totals and the processor's self-metrics."""

from genai_cost.processor.adapters.prometheus.collector import TotalsCollector
from genai_cost.processor.adapters.prometheus.self_metrics import ProcessorMetrics

__all__ = ["ProcessorMetrics", "TotalsCollector"]
