"""The pipeline: commit before ack, idempotency, back-pressure, failures, listeners, drain, nesting."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from decimal import Decimal
from pathlib import Path
from types import ModuleType

import pytest

from genai_cost.processor.adapters.ledger import SqliteLedger
from genai_cost.processor.domain.records import Cost, LlmCall, PricedCall, PriceSource, TokenUsage
from genai_cost.processor.pipeline import Pipeline, Totals, Unavailable
from genai_cost.processor.pipeline.ports import CommitResult, LedgerEntry, LedgerError, TotalsRow


class RecordingObserver:
    def __init__(self) -> None:
        self.rejected: Counter[str] = Counter()
        self.duplicate: Counter[str] = Counter()
        self.suspected = 0
        self.commits: list[bool] = []
        self.listener_errors = 0
        self.rounded = 0

    def spans_received(self, transport: str, count: int) -> None: ...
    def aggregate_spans_skipped(self, count: int) -> None: ...
    def batch_duration(self, transport: str, seconds: float) -> None: ...

    def spans_rejected(self, reason: str, count: int) -> None:
        self.rejected[reason] += count

    def duplicates(self, kind: str, count: int) -> None:
        self.duplicate[kind] += count

    def suspected_duplicates(self, count: int) -> None:
        self.suspected += count

    def commit_duration(self, seconds: float, ok: bool) -> None:
        self.commits.append(ok)

    def listener_error(self) -> None:
        self.listener_errors += 1

    def costs_rounded(self, count: int) -> None:
        self.rounded += count


class GatedLedger:
    """Wraps a real ledger; commits wait for ``gate`` and can be made to fail."""

    def __init__(self, inner: SqliteLedger) -> None:
        self.inner = inner
        self.gate = threading.Event()
        self.gate.set()
        self.entered = threading.Event()
        self.fail: Exception | None = None
        self.batches: list[int] = []
        self.in_flight = 0  # calls of the commit waiting at the gate

    def prepare(self, priced: PricedCall) -> LedgerEntry:
        return self.inner.prepare(priced)

    def commit(self, entries: Sequence[LedgerEntry]) -> CommitResult:
        self.in_flight = len(entries)
        self.entered.set()
        self.gate.wait(10)
        if self.fail is not None:
            raise self.fail
        self.batches.append(len(entries))
        return self.inner.commit(entries)

    def iter_totals(self) -> Iterator[TotalsRow]:
        return self.inner.iter_totals()

    def count_calls(self) -> int:
        return self.inner.count_calls()

    def close(self) -> None:
        self.inner.close()


@pytest.fixture
def ledger(tmp_path: Path) -> Iterator[GatedLedger]:
    store = GatedLedger(SqliteLedger(tmp_path / "ledger.sqlite3", synchronous="normal"))
    yield store
    store.gate.set()
    store.close()


@pytest.fixture
def observer() -> RecordingObserver:
    return RecordingObserver()


@pytest.fixture
def pipeline(ledger: GatedLedger, observer: RecordingObserver, calls: ModuleType) -> Iterator[Pipeline]:
    p = Pipeline(ledger, calls.TablePricer(), Totals(), observer=observer, queue_max_calls=4, ack_timeout_s=5)
    p.start()
    yield p
    ledger.gate.set()
    p.stop(5)


def _series(totals: Totals) -> dict[tuple[str, str, str, str], tuple[list[int], list[int], dict[str, int]]]:
    return {k: (s.tokens, s.cost_pusd, s.requests) for k, s in totals.snapshot().series.items()}


def test_calls_are_priced_committed_counted_and_announced(pipeline: Pipeline, calls: ModuleType) -> None:
    seen: list[list[LlmCall]] = []
    pipeline.add_commit_listener(lambda committed: seen.append([p.call for p in committed]))
    a = calls.call(usage=TokenUsage(input=1000, output=100))
    b = calls.call(response_model="unknown-model-x", usage=TokenUsage(input=7, cache_read=3))
    assert pipeline.process([a, b]) == []
    assert pipeline.ledger.count_calls() == 2
    assert seen == [[a, b]]
    assert _series(pipeline.totals) == {
        ("planner", "openai", "gpt-4o-mini-2024-07-18", "chat"): (
            [1000, 0, 0, 100, 0],
            [150_000_000, 0, 0, 60_000_000, 0],  # 1000 * 0.15/M and 100 * 0.6/M, in pico-USD
            {"ok": 1},
        ),
        ("planner", "openai", "unknown-model-x", "chat"): ([7, 3, 0, 0, 0], [0, 0, 0, 0, 0], {"ok": 1}),
    }
    assert pipeline.totals.snapshot().unpriced == {("openai", "unknown-model-x"): 1}


def test_the_same_batch_twice_is_counted_once(
    pipeline: Pipeline, observer: RecordingObserver, calls: ModuleType
) -> None:
    seen: list[int] = []
    pipeline.add_commit_listener(lambda committed: seen.append(len(committed)))
    batch = [calls.call(), calls.call()]
    pipeline.process(batch)
    before = _series(pipeline.totals)
    pipeline.process(batch)
    assert _series(pipeline.totals) == before
    assert seen == [2]  # the replay announced nothing
    assert observer.duplicate == {"span_replay": 2}
    assert pipeline.ledger.count_calls() == 2


def test_an_export_returns_only_after_its_commit(pipeline: Pipeline, ledger: GatedLedger, calls: ModuleType) -> None:
    ledger.gate.clear()
    done = threading.Event()
    worker = threading.Thread(target=lambda: (pipeline.process([calls.call()]), done.set()))
    worker.start()
    assert ledger.entered.wait(5)
    assert not done.wait(0.2)  # the commit is blocked, so no acknowledgement yet
    assert ledger.count_calls() == 0
    ledger.gate.set()
    assert done.wait(5)
    worker.join()
    assert ledger.count_calls() == 1


def test_a_failing_ledger_gives_a_retryable_error_and_counts_nothing(
    pipeline: Pipeline, ledger: GatedLedger, observer: RecordingObserver, calls: ModuleType
) -> None:
    seen: list[int] = []
    pipeline.add_commit_listener(lambda committed: seen.append(len(committed)))
    ledger.fail = LedgerError("ledger commit failed: disk I/O error")
    batch = [calls.call()]
    with pytest.raises(Unavailable, match="ledger unavailable: ledger commit failed: disk I/O error") as info:
        pipeline.process(batch)
    assert (info.value.reason, info.value.retry_after_s) == ("ledger_unavailable", 2)
    assert _series(pipeline.totals) == {}
    assert seen == []
    assert observer.commits == [False]
    ledger.fail = None  # the exporter retries once the ledger is back
    assert pipeline.process(batch) == []
    assert seen == [1]
    assert ledger.count_calls() == 1


def test_a_full_queue_refuses_with_a_retryable_error(
    pipeline: Pipeline, ledger: GatedLedger, calls: ModuleType
) -> None:
    ledger.gate.clear()
    first = threading.Thread(target=pipeline.process, args=([calls.call()],))
    first.start()
    assert ledger.entered.wait(5)  # the writer holds batch 1; the queue is empty again
    queued = threading.Thread(target=pipeline.process, args=([calls.call() for _ in range(3)],))
    queued.start()
    deadline = time.monotonic() + 5
    while pipeline.queue_depth != 3:
        assert time.monotonic() < deadline, pipeline.queue_depth
        threading.Event().wait(0.01)
    with pytest.raises(Unavailable, match=r"ingest queue full \(3 calls pending, limit 4\)") as info:
        pipeline.process([calls.call(), calls.call()])
    assert info.value.reason == "queue_full"
    ledger.gate.set()
    first.join(5)
    queued.join(5)
    assert ledger.count_calls() == 4
    assert ledger.batches == [1, 3]


def test_stop_commits_everything_accepted_then_refuses(
    pipeline: Pipeline, ledger: GatedLedger, calls: ModuleType
) -> None:
    ledger.gate.clear()
    workers = [threading.Thread(target=pipeline.process, args=([calls.call()],)) for _ in range(3)]
    for w in workers:
        w.start()
    assert ledger.entered.wait(5)
    # All three accepted: some in the commit held at the gate (group commit may take two), the rest queued.
    deadline = time.monotonic() + 5
    while ledger.in_flight + pipeline.queue_depth != 3:
        assert time.monotonic() < deadline, (ledger.in_flight, pipeline.queue_depth)
        threading.Event().wait(0.01)
    stopper = threading.Thread(target=pipeline.stop, args=(5,))
    stopper.start()
    with pytest.raises(Unavailable, match="not accepting exports") as info:
        pipeline.process([calls.call()])
    assert info.value.reason == "shutting_down"
    ledger.gate.set()
    stopper.join(5)
    for w in workers:
        w.join(5)
    assert ledger.count_calls() == 3
    assert not pipeline.alive


def test_listener_errors_are_contained(pipeline: Pipeline, observer: RecordingObserver, calls: ModuleType) -> None:
    seen: list[int] = []

    def broken(committed: Sequence[PricedCall]) -> None:
        raise RuntimeError("boom")

    pipeline.add_commit_listener(broken)
    pipeline.add_commit_listener(lambda committed: seen.append(len(committed)))
    assert pipeline.process([calls.call()]) == []
    assert pipeline.process([calls.call()]) == []
    assert seen == [1, 1]
    assert observer.listener_errors == 2


def test_unstorable_and_unpriceable_calls_are_rejected_alone(
    ledger: GatedLedger, observer: RecordingObserver, calls: ModuleType
) -> None:
    class FlakyPricer:
        def price(self, call: LlmCall) -> Cost:
            if call.request_model == "explode":
                raise ValueError("no tier for 5e9 tokens")
            return calls.TablePricer().price(call)

    p = Pipeline(ledger, FlakyPricer(), Totals(), observer=observer)
    p.start()
    try:
        ok = calls.call()
        boom = calls.call(request_model="explode")
        huge = calls.call(usage=TokenUsage(output=2**64))
        rejected = p.process([ok, boom, huge])
    finally:
        p.stop(5)
    assert [(r.reason, r.span_id, r.message) for r in rejected] == [
        ("pricing_error", boom.span_id, "pricing failed: no tier for 5e9 tokens"),
        ("out_of_range", huge.span_id, f"output_tokens={2**64} is outside 0..{2**63 - 1}"),
    ]
    assert ledger.count_calls() == 1


def test_nested_spans_of_one_call_across_exports_count_once(
    pipeline: Pipeline, observer: RecordingObserver, calls: ModuleType
) -> None:
    inner = calls.call(provider="anthropic", response_id=None, dialect="anthropic-sdk")
    outer = calls.call(
        provider="anthropic",
        trace_id=inner.trace_id,
        span_id="a" * 16,
        response_id="msg_1",
    )
    inner = calls.call(**{**_fields(inner), "parent_span_id": outer.span_id})
    pipeline.process([inner])  # the child ends first and is exported first
    pipeline.process([outer])
    assert pipeline.ledger.count_calls() == 1
    assert observer.duplicate == {"nested": 1}
    # A child of a different provider is not merged (a router calling another provider): suspected.
    router_child = calls.call(provider="openai", trace_id=inner.trace_id, parent_span_id=inner.span_id)
    pipeline.process([router_child])
    assert pipeline.ledger.count_calls() == 2
    assert observer.suspected == 1


def test_rounded_costs_are_counted(ledger: GatedLedger, observer: RecordingObserver, calls: ModuleType) -> None:
    class FinePricer:
        def price(self, call: LlmCall) -> Cost:
            return Cost(source=PriceSource.OVERRIDE, input=Decimal("0.0000000000001"))

    p = Pipeline(ledger, FinePricer(), Totals(), observer=observer)
    p.start()
    try:
        p.process([calls.call(), calls.call()])
    finally:
        p.stop(5)
    assert observer.rounded == 2
    assert [s.cost_pusd for s in p.totals.snapshot().series.values()] == [[0, 0, 0, 0, 0]]


def test_label_values_beyond_the_cap_become_other(ledger: GatedLedger, calls: ModuleType) -> None:
    p = Pipeline(ledger, calls.TablePricer(), Totals(label_value_limit=2, overflow_value="other"))
    p.start()
    try:
        p.process([calls.call(agent=name, usage=TokenUsage(input=1)) for name in ("a", "b", "c", "d")])
    finally:
        p.stop(5)
    agents = {key[0]: s.tokens[0] for key, s in p.totals.snapshot().series.items()}
    assert agents == {"a": 1, "b": 1, "other": 2}
    assert p.totals.overflowed_values == 2


def _fields(c: LlmCall) -> dict[str, object]:
    return {name: getattr(c, name) for name in LlmCall.__slots__}  # type: ignore[attr-defined]


def test_records_of_one_call_within_an_export_are_linked(
    pipeline: Pipeline, observer: RecordingObserver, calls: ModuleType
) -> None:
    outer = calls.call(provider="anthropic", response_id="msg_9", usage=TokenUsage(input=10, output=5))
    replay = outer
    sdk_span = calls.call(
        provider="anthropic",
        trace_id=outer.trace_id,
        parent_span_id=outer.span_id,
        response_id=None,
        usage=TokenUsage(input=10, output=5),
        dialect="anthropic-sdk",
    )
    other_instrumentation = calls.call(provider="anthropic", response_id="msg_9", usage=TokenUsage(input=10, output=5))
    seen: list[int] = []
    pipeline.add_commit_listener(lambda committed: seen.append(len(committed)))
    assert pipeline.process([outer, replay, sdk_span, other_instrumentation]) == []
    assert seen == [1]
    assert pipeline.ledger.count_calls() == 1
    assert observer.duplicate == {"span_replay": 1, "nested": 1, "response_id": 1}


def test_a_nested_span_with_different_usage_is_kept_and_suspected(
    pipeline: Pipeline, observer: RecordingObserver, calls: ModuleType
) -> None:
    outer = calls.call(provider="anthropic", response_id=None, usage=TokenUsage(input=10, output=5))
    pipeline.process([outer])
    inner = calls.call(
        provider="anthropic",
        trace_id=outer.trace_id,
        parent_span_id=outer.span_id,
        response_id=None,
        usage=TokenUsage(input=99, output=1),
    )
    pipeline.process([inner])
    assert pipeline.ledger.count_calls() == 2
    assert (observer.duplicate, observer.suspected) == ({}, 1)
