"""Price each provider call once, within one batch (the pipeline does the same across batches with
the ledger's keys: the span key and :func:`provider_call_key`).

Two records are the **same call** when

1. they have the same span key (the same span delivered twice), or
2. they have the same provider and provider response id (two instrumentations of one call, e.g.
   OpenLLMetry and the anthropic SDK's own span), or
3. one span is the direct parent of the other in the same trace, with the same provider and equal
   usage (or usage on one side only): OpenInference's ``messages.create`` span with the anthropic
   SDK's span as its child.

Of a linked group one record is kept: the one with the most detailed usage (usage reported, most
token types split out, the 1-hour cache-write split, a provider cost, a response id), earliest in
the batch on a tie. What the kept record lacks in attribution (an explicit agent, session, user,
tags, response id) is taken from the others, so nothing the dropped spans said is lost.

Records that may be the same call but cannot be linked safely are **not merged** (a wrong merge
under-reports spend) but reported as *suspected*: two records from different dialects, same
provider and billed model, identical non-zero usage, ending within ``window_ns`` of each other
(e.g. OpenLLMetry + the anthropic SDK, two root spans in two traces, no response id on one side;
or OpenInference's ``messages.stream()`` span, which lands in a different trace than the SDK's).
The lower-ranked record of such a pair is listed once in ``suspected``; both stay in ``unique``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import NamedTuple

from genai_cost.processor.domain.records import LlmCall

DEFAULT_WINDOW_NS = 5_000_000_000


class Linked(NamedTuple):
    """The outcome of :func:`link_duplicates`."""

    unique: list[LlmCall]  # one record per call, in first-seen order
    duplicates: list[tuple[LlmCall, LlmCall]]  # (kept record, dropped duplicate)
    suspected: list[LlmCall]  # records in ``unique`` that may duplicate another one


def provider_call_key(call: LlmCall) -> tuple[str, str] | None:
    """(provider, response id): the same provider call whatever span recorded it; None without an id."""
    if not call.response_id:
        return None
    return (call.provider, call.response_id)


def _explicit_agent(call: LlmCall) -> bool:
    return call.agent != call.service


def _rank(call: LlmCall) -> tuple[int, int, int, int, int]:
    usage = call.usage
    detail = sum(1 for n in (usage.cache_read, usage.cache_write, usage.reasoning) if n)
    return (
        int(call.usage_reported),
        detail,
        int(call.cache_write_1h > 0),
        int(call.provider_cost_usd is not None),
        int(call.response_id is not None),
    )


def _merge(kept: LlmCall, others: Sequence[LlmCall]) -> LlmCall:
    """``kept`` with attribution it lacks filled in from ``others``."""
    changes: dict[str, object] = {}
    agent_source = next((o for o in others if _explicit_agent(o)), None)
    if not _explicit_agent(kept) and agent_source is not None:
        changes["agent"] = agent_source.agent
    for name in ("session", "user", "response_id", "request_model", "response_model"):
        if getattr(kept, name) is None:
            value = next((getattr(o, name) for o in others if getattr(o, name) is not None), None)
            if value is not None:
                changes[name] = value
    missing_tags = {k: v for o in others for k, v in o.tags.items() if k not in kept.tags}
    if missing_tags:
        changes["tags"] = {**missing_tags, **kept.tags}
    return dataclasses.replace(kept, **changes) if changes else kept  # type: ignore[arg-type]


class _Groups:
    """Union-find over record indexes."""

    def __init__(self, size: int) -> None:
        self.parent = list(range(size))

    def find(self, i: int) -> int:
        while self.parent[i] != i:
            self.parent[i] = self.parent[self.parent[i]]
            i = self.parent[i]
        return i

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)


def _nested_same_call(child: LlmCall, parent: LlmCall) -> bool:
    if child.provider != parent.provider:
        return False
    if child.usage_reported and parent.usage_reported:
        return child.usage == parent.usage
    return True


def _suspected(unique: list[LlmCall], window_ns: int) -> list[LlmCall]:
    if len({call.dialect for call in unique}) < 2:
        return []  # a suspected pair has two dialects
    # Bucket key: provider, billed model (LlmCall.model) and the usage counts (TokenUsage equality).
    buckets: dict[tuple[object, ...], list[LlmCall]] = {}
    for call in unique:
        if not call.usage_reported:
            continue
        usage = call.usage
        counts = (usage.input, usage.cache_read, usage.cache_write, usage.output, usage.reasoning)
        if sum(counts) > 0:
            key = (call.provider, call.response_model or call.request_model or "unknown", *counts)
            group = buckets.get(key)
            if group is None:
                buckets[key] = [call]
            else:
                group.append(call)
    flagged: list[LlmCall] = []
    paired: set[tuple[str, str]] = set()  # each record is in at most one suspected pair
    for group in buckets.values():
        if len(group) < 2:
            continue
        for i, a in enumerate(group):
            for b in group[i + 1 :]:
                if a.dialect == b.dialect or abs(a.end_time_ns - b.end_time_ns) > window_ns:
                    continue
                if a.key in paired or b.key in paired:
                    continue
                paired.update((a.key, b.key))
                flagged.append(b if _rank(a) >= _rank(b) else a)
    return flagged


def link_duplicates(calls: Sequence[LlmCall], window_ns: int = DEFAULT_WINDOW_NS) -> Linked:
    """Collapse records of the same provider call; flag unlinkable look-alikes (see module doc)."""
    groups: _Groups | None = None  # created at the first link: most exports have none
    by_key: dict[tuple[str, str], int] = {}
    by_response: dict[tuple[str, str], int] = {}
    for index, call in enumerate(calls):
        first = by_key.setdefault((call.trace_id, call.span_id), index)
        if first != index:
            groups = groups or _Groups(len(calls))
            groups.union(first, index)
        if call.response_id:  # provider_call_key
            first = by_response.setdefault((call.provider, call.response_id), index)
            if first != index:
                groups = groups or _Groups(len(calls))
                groups.union(first, index)
    for index, call in enumerate(calls):
        if call.parent_span_id:
            parent_index = by_key.get((call.trace_id, call.parent_span_id))
            if parent_index is not None and _nested_same_call(call, calls[parent_index]):
                groups = groups or _Groups(len(calls))
                groups.union(parent_index, index)
    if groups is None:
        unique = list(calls)
        return Linked(unique, [], _suspected(unique, window_ns))

    members: dict[int, list[int]] = {}
    for index in range(len(calls)):
        members.setdefault(groups.find(index), []).append(index)
    unique = []
    duplicates: list[tuple[LlmCall, LlmCall]] = []
    for indexes in members.values():  # dicts keep first-seen order of roots
        if len(indexes) == 1:
            unique.append(calls[indexes[0]])
            continue
        best = max(indexes, key=lambda i: (_rank(calls[i]), -i))
        others = [calls[i] for i in indexes if i != best]
        kept = _merge(calls[best], others)
        unique.append(kept)
        duplicates.extend((kept, other) for other in others)
    return Linked(unique, duplicates, _suspected(unique, window_ns))
