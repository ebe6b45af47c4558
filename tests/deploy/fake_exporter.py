"""A tiny /metrics endpoint serving every contract metric, its counters growing on each scrape.

Stands in for the processor when testing the Prometheus rules and the dashboards' queries: rates and
increases need at least two scrapes with growing counters to return anything.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType

from metric_contract import ALERT_SEND_OUTCOMES, REQUEST_OUTCOMES, TOKEN_TYPES

# (agent, provider, model): the usage series the fake reports.
CALLS = (
    ("support", "openai", "gpt-4o"),
    ("support", "anthropic", "claude-sonnet-4"),
    ("research", "anthropic", "claude-sonnet-4"),
)
# Tokens and USD per token added per scrape, by token type.
TOKENS_PER_SCRAPE = {"input": 1000, "cache_read": 4000, "cache_write": 500, "output": 300, "reasoning": 100}
USD_PER_TOKEN = {
    "input": 0.000003,
    "cache_read": 0.0000003,
    "cache_write": 0.00000375,
    "output": 0.000015,
    "reasoning": 0.000015,
}
# budget: (limit, spend, projected); period end is fixed.
BUDGETS = {"team-monthly": (100.0, 80.0, 125.0), "research-daily": (20.0, 5.0, 12.0)}
PERIOD_END = 1_767_225_600.0  # 2026-01-01T00:00:00Z
BUCKETS = ("0.005", "0.05", "0.5", "+Inf")


def _labels(**labels: str) -> str:
    return "{" + ",".join(f'{name}="{value}"' for name, value in labels.items()) + "}"


def exposition(scrape: int) -> str:
    """The text exposition of the ``scrape``-th scrape (1-based): counters are ``scrape`` times a step."""
    n = scrape
    lines: list[str] = []

    def family(name: str, kind: str, samples: Iterator[tuple[str, str, float]]) -> None:
        lines.append(f"# TYPE {name} {kind}")
        lines.extend(f"{series}{labels} {value!r}" for series, labels, value in samples)

    def usage(metric: str, per_type: dict[str, float]) -> Iterator[tuple[str, str, float]]:
        for agent, provider, model in CALLS:
            for token_type in TOKEN_TYPES:
                labels = _labels(agent=agent, provider=provider, model=model, operation="chat", token_type=token_type)
                yield metric, labels, n * per_type[token_type]

    cost = {t: TOKENS_PER_SCRAPE[t] * USD_PER_TOKEN[t] for t in TOKEN_TYPES}
    family("genai_cost_usd_total", "counter", usage("genai_cost_usd_total", cost))
    family("genai_tokens_total", "counter", usage("genai_tokens_total", {**TOKENS_PER_SCRAPE}))
    family(
        "genai_requests_total",
        "counter",
        (
            (
                "genai_requests_total",
                _labels(agent=agent, provider=provider, model=model, operation="chat", outcome=outcome),
                float(n * (10 if outcome == "ok" else 1)),
            )
            for agent, provider, model in CALLS
            for outcome in REQUEST_OUTCOMES
        ),
    )
    family(
        "genai_unpriced_requests_total",
        "counter",
        iter([("genai_unpriced_requests_total", _labels(provider="acme", model="mystery-1"), float(n))]),
    )
    for budget, (limit, spend, projected) in BUDGETS.items():
        for name, value in (
            ("genai_budget_limit_usd", limit),
            ("genai_budget_spend_usd", spend),
            ("genai_budget_utilization_ratio", spend / limit),
            ("genai_budget_period_end_timestamp_seconds", PERIOD_END),
            ("genai_budget_projected_spend_usd", projected),
        ):
            family(name, "gauge", iter([(name, _labels(budget=budget), value)]))
    family(
        "genai_processor_spans_received_total",
        "counter",
        iter(
            [
                ("genai_processor_spans_received_total", _labels(transport="grpc"), float(100 * n)),
                ("genai_processor_spans_received_total", _labels(transport="http"), float(20 * n)),
            ]
        ),
    )
    family(
        "genai_processor_spans_rejected_total",
        "counter",
        iter([("genai_processor_spans_rejected_total", _labels(reason="invalid_usage"), float(n))]),
    )
    family(
        "genai_processor_duplicate_calls_total",
        "counter",
        iter([("genai_processor_duplicate_calls_total", _labels(kind="redelivery"), float(n))]),
    )
    family(
        "genai_processor_suspected_duplicate_calls_total",
        "counter",
        iter([("genai_processor_suspected_duplicate_calls_total", "", float(n))]),
    )
    for histogram in ("genai_processor_batch_duration_seconds", "genai_processor_ledger_commit_duration_seconds"):
        cumulative = (n, 3 * n, 4 * n, 4 * n)
        samples = [(f"{histogram}_bucket", _labels(le=le), float(c)) for le, c in zip(BUCKETS, cumulative, strict=True)]
        samples += [(f"{histogram}_sum", "", 0.25 * n), (f"{histogram}_count", "", float(4 * n))]
        family(histogram, "histogram", iter(samples))
    family(
        "genai_processor_alert_sends_total",
        "counter",
        (
            ("genai_processor_alert_sends_total", _labels(outcome=outcome), float(n if outcome == "success" else 0))
            for outcome in ALERT_SEND_OUTCOMES
        ),
    )
    family("genai_processor_queue_depth", "gauge", iter([("genai_processor_queue_depth", "", 3.0)]))
    return "\n".join(lines) + "\n"


class FakeExporter:
    """Serves :func:`exposition` on ``http://127.0.0.1:<free port>/metrics``; a context manager."""

    def __init__(self) -> None:
        self.scrapes = 0
        self._lock = threading.Lock()
        exporter = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path.split("?")[0] != "/metrics":
                    self.send_error(404)
                    return
                with exporter._lock:
                    exporter.scrapes += 1
                    body = exposition(exporter.scrapes).encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, name="fake-exporter", daemon=True)

    @property
    def address(self) -> str:
        """``host:port`` to scrape."""
        host, port = self._server.server_address[:2]
        return f"{host!s}:{port}"

    def __enter__(self) -> FakeExporter:
        self._thread.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
