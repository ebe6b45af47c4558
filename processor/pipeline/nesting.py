"""Cross-batch nested duplicates: two usage spans of one call, one the direct child of the other.

Some stacks record one provider call twice, e.g. an instrumentation's span around the SDK's own
span. Within one export the ingest dedup links such pairs; when the two spans arrive in different
exports, this window of recently recorded calls links them with the same rule: a new call whose
parent span, or whose direct child span, in the same trace is a recorded call of the SAME provider
with equal usage (or usage on one side only) and no conflicting response id is a duplicate
(``kind="nested"``) and is not recorded again: the first recorded span wins (it cannot be merged
into a committed row). If the provider or the usage differs, or both spans carry different
response ids, the pair is not merged (a wrong merge under-reports real spend); the new call is
recorded and counted as a *suspected* duplicate.
The window holds the most recent calls only (a few seconds of traffic is what the exporters'
batching can split) and starts empty after a restart.
"""

from __future__ import annotations

from collections import deque
from enum import Enum
from typing import Final

from genai_cost.processor.domain.records import LlmCall, TokenUsage

DEFAULT_WINDOW_CALLS: Final = 20_000
"""Recently recorded calls remembered for cross-batch nested-duplicate linking."""


class Link(Enum):
    NONE = 0
    DUPLICATE = 1
    SUSPECTED = 2


_Recorded = tuple[str, str | None, TokenUsage | None]
"""(provider, response id, usage or None when the span reported none) of a recorded call."""


def classify(new: LlmCall, recorded: _Recorded) -> Link:
    """How ``new`` relates to a recorded call nested directly in or around it.

    The same rule as within one export (``domain.dedup``): same provider, and equal usage or usage
    on one side only. Different response ids on both sides mean different calls.
    """
    provider, response_id, usage = recorded
    if new.provider != provider:
        return Link.SUSPECTED
    if new.response_id is not None and response_id is not None and new.response_id != response_id:
        return Link.SUSPECTED
    if usage is not None and new.usage_reported and new.usage != usage:
        return Link.SUSPECTED
    return Link.DUPLICATE


class NestedWindow:
    """The recently recorded calls by span and by parent span (one writer thread)."""

    def __init__(self, capacity: int = DEFAULT_WINDOW_CALLS) -> None:
        self._capacity = capacity
        # Keys are (trace id, span id) pairs: the ids' string hashes are cached, a joined string's are not.
        self._by_span: dict[tuple[str, str], _Recorded] = {}
        self._by_parent: dict[tuple[str, str], _Recorded] = {}
        self._order: deque[tuple[tuple[str, str], tuple[str, str] | None]] = deque()  # (span key, parent key)

    def __len__(self) -> int:
        return len(self._by_span)

    def check(self, call: LlmCall) -> Link:
        """Whether ``call`` duplicates (or may duplicate) a recorded call nested with it."""
        if not self._by_span:
            return Link.NONE
        trace = call.trace_id
        link = Link.NONE
        if call.parent_span_id:
            parent = self._by_span.get((trace, call.parent_span_id))
            if parent is not None:
                link = classify(call, parent)
                if link is Link.DUPLICATE:
                    return link
        child = self._by_parent.get((trace, call.span_id))
        if child is not None:
            link = classify(call, child)
        return link

    def add(self, call: LlmCall) -> None:
        """Remember a recorded call, forgetting the oldest beyond the capacity."""
        if self._capacity <= 0:
            return
        trace = call.trace_id
        key = (trace, call.span_id)
        recorded = (call.provider, call.response_id, call.usage if call.usage_reported else None)
        self._by_span[key] = recorded
        parent_key = (trace, call.parent_span_id) if call.parent_span_id else None
        if parent_key is not None:
            self._by_parent[parent_key] = recorded
        self._order.append((key, parent_key))
        if len(self._order) > self._capacity:
            old_key, old_parent = self._order.popleft()
            self._by_span.pop(old_key, None)
            if old_parent is not None:
                self._by_parent.pop(old_parent, None)

    def discard(self, call: LlmCall) -> None:
        """Forget a call that was staged but not committed (its queue slot ages out normally)."""
        self._by_span.pop((call.trace_id, call.span_id), None)
        if call.parent_span_id:
            self._by_parent.pop((call.trace_id, call.parent_span_id), None)
