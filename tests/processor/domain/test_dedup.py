"""Dedup within a batch: same span, same response id, nested spans; suspected look-alikes."""

from __future__ import annotations

import dataclasses

from genai_cost.processor.domain.dedup import link_duplicates, provider_call_key
from genai_cost.processor.domain.records import LlmCall, TokenUsage

USAGE = TokenUsage(50, 10000, 2000, 300)


def call(span: str, trace: str = "t1", **kw: object) -> LlmCall:
    base = dict(
        trace_id=trace,
        span_id=span,
        parent_span_id=None,
        start_time_ns=0,
        end_time_ns=10**9,
        provider="anthropic",
        operation="chat",
        request_model="claude-sonnet-4-5",
        response_model=None,
        response_id=None,
        agent="svc",
        service="svc",
        usage=USAGE,
        dialect="semconv",
    )
    base.update(kw)
    return LlmCall(**base)  # type: ignore[arg-type]


def test_same_span_twice() -> None:
    a = call("s1")
    unique, duplicates, suspected = link_duplicates([a, a])
    assert (unique, duplicates, suspected) == ([a], [(a, a)], [])


def test_same_response_id_across_traces_keeps_richer_usage_and_merges_attribution() -> None:
    sdk = call("s1", "t1", response_id="msg_1", dialect="anthropic-sdk", cache_write_1h=500)
    tl = call(
        "s2",
        "t2",
        response_id="msg_1",
        dialect="traceloop",
        agent="billing",
        session="sess",
        usage=TokenUsage(50, 10000, 2000, 300),
    )
    unique, duplicates, _ = link_duplicates([tl, sdk])
    kept = dataclasses.replace(sdk, agent="billing", session="sess")
    assert unique == [kept]
    assert duplicates == [(kept, tl)]


def test_nested_spans_same_usage_linked() -> None:
    parent = call("p", dialect="openinference", session="s", user="u")
    child = call("c", parent_span_id="p", response_id="msg_1", dialect="anthropic-sdk")
    unique, duplicates, _ = link_duplicates([child, parent])
    kept = dataclasses.replace(child, session="s", user="u")
    assert (unique, duplicates) == ([kept], [(kept, parent)])


def test_nested_spans_different_usage_not_linked() -> None:
    parent = call("p", usage=TokenUsage(100, output=600))
    child = call("c", parent_span_id="p")
    assert link_duplicates([parent, child]).unique == [parent, child]


def test_suspected_not_merged() -> None:
    tl = call("s1", "t1", dialect="traceloop", end_time_ns=10**9)
    sdk = call("s2", "t2", dialect="anthropic-sdk", response_id="msg_9", end_time_ns=10**9 + 5 * 10**6)
    same_dialect = call("s3", "t3", dialect="traceloop", end_time_ns=10**9)
    far = call("s4", "t4", dialect="openinference", end_time_ns=60 * 10**9)
    unique, duplicates, suspected = link_duplicates([tl, sdk, same_dialect, far])
    assert (unique, duplicates, suspected) == ([tl, sdk, same_dialect, far], [], [tl])


def test_provider_call_key() -> None:
    assert provider_call_key(call("s", response_id="r")) == ("anthropic", "r")
    assert provider_call_key(call("s")) is None


def test_no_links_keeps_every_record_in_order_and_still_flags_look_alikes() -> None:
    a = call("s1", response_id="r1")
    b = call("s2", trace="t2", dialect="anthropic-sdk", end_time_ns=2 * 10**9)
    c = call("s3", usage=TokenUsage(1, 0, 0, 1), parent_span_id="s9")
    unique, duplicates, suspected = link_duplicates([a, b, c])
    assert (unique, duplicates, suspected) == ([a, b, c], [], [b])
