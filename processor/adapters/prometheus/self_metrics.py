"""The processor's own metrics (``genai_processor_*``), registered in a registry passed in."""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

TRANSPORTS = ("grpc", "http_protobuf", "http_json")
DUPLICATE_KINDS = ("span_replay", "response_id", "nested")
INITIAL_REJECTION_REASONS = (
    "malformed_payload",
    "payload_too_large",
    "invalid_tokens",
    "invalid_attribute",
    "invalid_id",
    "missing_model",
    "queue_full",
    "ledger_unavailable",
)
_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class ProcessorMetrics:
    """Implements the pipeline's observer with prometheus-client instruments (thread-safe)."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.received = Counter(
            "genai_processor_spans_received",
            "Spans received in OTLP exports, by transport (grpc, http_protobuf, http_json).",
            ["transport"],
            registry=registry,
        )
        self.rejected = Counter(
            "genai_processor_spans_rejected",
            "Spans (or whole undecodable payloads, counted as one) not accepted, by reason.",
            ["reason"],
            registry=registry,
        )
        self.skipped_aggregate = Counter(
            "genai_processor_aggregate_spans_skipped",
            "Agent/workflow spans with summed usage that are deliberately not priced.",
            registry=registry,
        )
        self.duplicate = Counter(
            "genai_processor_duplicate_calls",
            "Calls not recorded again: span_replay, response_id (same provider response), nested.",
            ["kind"],
            registry=registry,
        )
        self.suspected = Counter(
            "genai_processor_suspected_duplicate_calls",
            "Calls recorded although they may duplicate another (could not be linked safely).",
            registry=registry,
        )
        self.batch = Histogram(
            "genai_processor_batch_duration_seconds",
            "Time from receiving an export to answering it (decode, price, commit).",
            ["transport"],
            buckets=_LATENCY_BUCKETS,
            registry=registry,
        )
        self.commit = Histogram(
            "genai_processor_ledger_commit_duration_seconds",
            "Duration of ledger transactions.",
            ["outcome"],
            buckets=_LATENCY_BUCKETS,
            registry=registry,
        )
        self.listener_errors = Counter(
            "genai_processor_listener_errors",
            "Exceptions raised by commit listeners (budgets, ...), caught and logged.",
            registry=registry,
        )
        self.rounded = Counter(
            "genai_processor_costs_rounded",
            "Cost values finer than a pico-USD (from overrides) rounded half-even when recorded.",
            registry=registry,
        )
        self.queue = Gauge(
            "genai_processor_queue_depth",
            "LLM calls waiting for the ledger writer.",
            registry=registry,
        )

        # Known label values start at 0, so dashboards and rate() see the series before the first event.
        for transport in TRANSPORTS:
            self.received.labels(transport)
        for kind in DUPLICATE_KINDS:
            self.duplicate.labels(kind)
        for reason in INITIAL_REJECTION_REASONS:
            self.rejected.labels(reason)

    def track_queue(self, depth: Callable[[], float]) -> None:
        """Read the queue depth at scrape time."""
        self.queue.set_function(depth)

    # PipelineObserver
    def spans_received(self, transport: str, count: int) -> None:
        self.received.labels(transport).inc(count)

    def spans_rejected(self, reason: str, count: int) -> None:
        if count:
            self.rejected.labels(reason).inc(count)

    def aggregate_spans_skipped(self, count: int) -> None:
        if count:
            self.skipped_aggregate.inc(count)

    def duplicates(self, kind: str, count: int) -> None:
        self.duplicate.labels(kind).inc(count)

    def suspected_duplicates(self, count: int) -> None:
        self.suspected.inc(count)

    def batch_duration(self, transport: str, seconds: float) -> None:
        self.batch.labels(transport).observe(seconds)

    def commit_duration(self, seconds: float, ok: bool) -> None:
        self.commit.labels("ok" if ok else "error").observe(seconds)

    def listener_error(self) -> None:
        self.listener_errors.inc()

    def costs_rounded(self, count: int) -> None:
        self.rounded.inc(count)
