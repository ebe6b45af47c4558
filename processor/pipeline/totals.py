"""The in-memory totals snapshot behind ``/metrics``: rebuilt from the ledger, updated per commit.

Money is integer pico-USD here; it becomes a float only in the Prometheus collector.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from genai_cost.processor.pipeline.labels import DEFAULT_LABEL_VALUE_LIMIT, DEFAULT_OVERFLOW_VALUE, LabelCap
from genai_cost.processor.pipeline.ports import TotalsRow

SeriesKey = tuple[str, ...]
"""(agent, provider, model, operation, *tag values), after the label caps."""

TOKEN_TYPES = ("input", "cache_read", "cache_write", "output", "reasoning")
"""Token types in the order of the ``tokens`` and ``cost`` arrays (``records.TokenType`` values)."""

UNSPLIT = "unsplit"
"""``token_type`` of cost a provider reported only as a total (not split by token type)."""


@dataclass(slots=True)
class SeriesTotals:
    """Sums of one (agent, provider, model, operation) series."""

    tokens: list[int]  # by TOKEN_TYPES
    cost_pusd: list[int]  # by TOKEN_TYPES
    unsplit_pusd: int
    requests: dict[str, int]  # by outcome


@dataclass(frozen=True, slots=True)
class TotalsSnapshot:
    """A consistent copy for one scrape."""

    series: dict[SeriesKey, SeriesTotals]
    unpriced: dict[tuple[str, str], int]  # (provider, model) -> requests


class Totals:
    """Running totals per capped label set; ``add_groups`` on the writer thread, ``snapshot`` anywhere.

    ``tag_labels`` are the configured tag dimensions (e.g. team, tenant): extra labels after the
    fixed ones, each capped like them; a call without a tag has the empty value (no label).
    """

    def __init__(
        self,
        label_value_limit: int = DEFAULT_LABEL_VALUE_LIMIT,
        overflow_value: str = DEFAULT_OVERFLOW_VALUE,
        tag_labels: Sequence[str] = (),
    ) -> None:
        self.tag_labels = tuple(tag_labels)
        self._caps = tuple(LabelCap(label_value_limit, overflow_value) for _ in range(4 + len(self.tag_labels)))
        self._series: dict[SeriesKey, SeriesTotals] = {}
        self._unpriced: dict[tuple[str, str], int] = {}
        self._lock = threading.Lock()

    def _key(self, agent: str, provider: str, model: str, operation: str, tags: Mapping[str, str]) -> SeriesKey:
        caps = self._caps
        key = (caps[0](agent), caps[1](provider), caps[2](model), caps[3](operation))
        if not self.tag_labels:
            return key
        values = tuple(
            caps[4 + i](value) if (value := tags.get(label)) else "" for i, label in enumerate(self.tag_labels)
        )
        return key + values

    def _series_for(self, key: SeriesKey) -> SeriesTotals:
        series = self._series.get(key)
        if series is None:
            series = self._series[key] = SeriesTotals([0] * 5, [0] * 5, 0, {})
        return series

    def add_groups(self, rows: Iterable[TotalsRow]) -> int:
        """Add sums per group of recorded calls (the ledger's at start-up, then each commit's).

        Returns the number of requests added.
        """
        loaded = 0
        with self._lock:
            for row in rows:
                tags = json.loads(row.tags) if self.tag_labels and row.tags != "{}" else {}
                key = self._key(row.agent, row.provider, row.model, row.operation, tags)
                series = self._series_for(key)
                for i in range(5):
                    series.tokens[i] += row.tokens[i]
                    series.cost_pusd[i] += row.cost_pusd[i]
                series.unsplit_pusd += row.cost_total_pusd - sum(row.cost_pusd)
                series.requests[row.outcome] = series.requests.get(row.outcome, 0) + row.requests
                if row.unpriced:
                    pm = (key[1], key[2])
                    self._unpriced[pm] = self._unpriced.get(pm, 0) + row.requests
                loaded += row.requests
        return loaded

    def snapshot(self) -> TotalsSnapshot:
        """A copy that later commits do not change (cheap: a few hundred series)."""
        with self._lock:
            series = {
                key: SeriesTotals(list(s.tokens), list(s.cost_pusd), s.unsplit_pusd, dict(s.requests))
                for key, s in self._series.items()
            }
            return TotalsSnapshot(series, dict(self._unpriced))

    @property
    def overflowed_values(self) -> int:
        """Label values reported as the overflow value so far."""
        return sum(cap.overflowed for cap in self._caps)
