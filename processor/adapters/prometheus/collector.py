"""A custom collector over the totals snapshot: counters that resume from the ledger after a restart.

Series (a public contract, listed in the README):
``genai_cost_usd_total{agent,provider,model,operation,token_type}``,
``genai_tokens_total{agent,provider,model,operation,token_type}``,
``genai_requests_total{agent,provider,model,operation,outcome}``,
``genai_unpriced_requests_total{provider,model}``.
Configured tag dimensions (``ingest.tag_attributes``, e.g. team) follow as extra labels on the first
three. Token types are disjoint (input excludes cache, output excludes reasoning). Cost a provider reported
only as a total is exposed with ``token_type="unsplit"``. Pico-USD become float USD only here.
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.core import CounterMetricFamily
from prometheus_client.registry import Collector

from genai_cost.processor.pipeline.money import pusd_to_float
from genai_cost.processor.pipeline.totals import TOKEN_TYPES, UNSPLIT, Totals

SERIES_LABELS = ("agent", "provider", "model", "operation")


class TotalsCollector(Collector):
    """Yields the totals families fresh on each scrape (no I/O: a copy of the in-memory snapshot)."""

    def __init__(self, totals: Totals) -> None:
        self._totals = totals

    def describe(self) -> Iterator[CounterMetricFamily]:
        return iter(self._families(self._totals.tag_labels))

    def collect(self) -> Iterator[CounterMetricFamily]:
        cost, tokens, requests, unpriced = self._families(self._totals.tag_labels)
        snapshot = self._totals.snapshot()
        for key, series in snapshot.series.items():
            labels, tags = list(key[:4]), list(key[4:])
            for token_type, pusd, count in zip(TOKEN_TYPES, series.cost_pusd, series.tokens, strict=True):
                cost.add_metric([*labels, token_type, *tags], pusd_to_float(pusd))
                tokens.add_metric([*labels, token_type, *tags], float(count))
            if series.unsplit_pusd:
                cost.add_metric([*labels, UNSPLIT, *tags], pusd_to_float(series.unsplit_pusd))
            for outcome, count in series.requests.items():
                requests.add_metric([*labels, outcome, *tags], float(count))
        for (provider, model), count in snapshot.unpriced.items():
            unpriced.add_metric([provider, model], float(count))
        yield cost
        yield tokens
        yield requests
        yield unpriced

    @staticmethod
    def _families(
        tag_labels: tuple[str, ...],
    ) -> tuple[CounterMetricFamily, CounterMetricFamily, CounterMetricFamily, CounterMetricFamily]:
        return (
            CounterMetricFamily(
                "genai_cost_usd",
                "Cost of LLM calls in USD, by token type (disjoint types).",
                labels=[*SERIES_LABELS, "token_type", *tag_labels],
            ),
            CounterMetricFamily(
                "genai_tokens",
                "Tokens of LLM calls by type: input excludes cache, output excludes reasoning.",
                labels=[*SERIES_LABELS, "token_type", *tag_labels],
            ),
            CounterMetricFamily(
                "genai_requests",
                "LLM calls recorded, by outcome.",
                labels=[*SERIES_LABELS, "outcome", *tag_labels],
            ),
            CounterMetricFamily(
                "genai_unpriced_requests",
                "LLM calls with no known price (recorded, never counted as $0).",
                labels=["provider", "model"],
            ),
        )
