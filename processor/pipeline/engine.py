"""The pipeline core: dedup in the export -> price -> (queue) -> dedup across exports -> commit ->
totals -> listeners.

Receiver threads call :meth:`Pipeline.process`: it links the records of one provider call within
the export (``domain.dedup``), prices the calls and prepares their ledger
rows on the caller's thread, queues them, and waits until ONE writer thread has committed them
(an export is acknowledged only after its calls are durable). The writer takes everything queued
while it was busy and commits it in one transaction (group commit), so commits stay few under
load without any timer. The queue is bounded in calls; a full queue, a stopped pipeline, a failed
commit or an ack that takes too long raise :class:`Unavailable` (retryable: exporters resend, and
resending is idempotent).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Final, Protocol

from genai_cost.processor.domain.dedup import link_duplicates, provider_call_key
from genai_cost.processor.domain.records import Cost, LlmCall, PricedCall
from genai_cost.processor.domain.records_fast import new_priced_call
from genai_cost.processor.pipeline.nesting import DEFAULT_WINDOW_CALLS, Link, NestedWindow
from genai_cost.processor.pipeline.observer import NullObserver, PipelineObserver
from genai_cost.processor.pipeline.ports import DuplicateKind, LedgerEntry, LedgerStore, RowError
from genai_cost.processor.pipeline.totals import Totals

logger = logging.getLogger(__name__)

DEFAULT_QUEUE_MAX_CALLS: Final = 50_000
"""Calls waiting for the writer before new exports are refused with a retryable error."""

DEFAULT_MAX_COMMIT_CALLS: Final = 20_000
"""Most calls the writer puts in one transaction (one export is never split)."""

DEFAULT_ACK_TIMEOUT_S: Final = 9.0
"""How long an export waits for its commit before answering retryable (below exporters' 10 s)."""

RETRY_AFTER_S: Final = 2
"""Seconds suggested to clients in Retry-After / RetryInfo after a retryable refusal."""

CommitListener = Callable[[Sequence[PricedCall]], None]
"""Called on the writer thread after each commit with the newly recorded calls (no duplicates)."""


class PricerLike(Protocol):
    def price(self, call: LlmCall) -> Cost: ...


class Unavailable(Exception):
    """A retryable refusal: nothing of this export was recorded (or it will be, idempotently)."""

    def __init__(self, message: str, reason: str, retry_after_s: int = RETRY_AFTER_S) -> None:
        super().__init__(message)
        self.reason = reason
        self.retry_after_s = retry_after_s


@dataclass(frozen=True, slots=True)
class SpanRejection:
    """One span that cannot be accepted (same fields as the ingest rejections)."""

    reason: str
    trace_id: str
    span_id: str
    message: str


def duplicate_kind(kept: LlmCall, dropped: LlmCall) -> DuplicateKind:
    """Why ``dropped`` is the same provider call as ``kept``."""
    if dropped.key == kept.key:
        return DuplicateKind.SPAN_REPLAY
    response = provider_call_key(dropped)
    if response is not None and response == provider_call_key(kept):
        return DuplicateKind.RESPONSE_ID
    return DuplicateKind.NESTED


class _Ticket:
    __slots__ = ("error", "event")

    def __init__(self) -> None:
        self.event = threading.Event()
        self.error: BaseException | None = None

    def done(self, error: BaseException | None = None) -> None:
        self.error = error
        self.event.set()


@dataclass(slots=True)
class _Work:
    entries: list[LedgerEntry]
    ticket: _Ticket = field(default_factory=_Ticket)


class Pipeline:
    """Commits priced calls through one writer thread; see the module docstring."""

    def __init__(
        self,
        ledger: LedgerStore,
        pricer: PricerLike,
        totals: Totals,
        *,
        observer: PipelineObserver | None = None,
        queue_max_calls: int = DEFAULT_QUEUE_MAX_CALLS,
        max_commit_calls: int = DEFAULT_MAX_COMMIT_CALLS,
        ack_timeout_s: float = DEFAULT_ACK_TIMEOUT_S,
        nested_window_calls: int = DEFAULT_WINDOW_CALLS,
    ) -> None:
        self.ledger = ledger
        self.pricer = pricer
        self.totals = totals
        self.observer: PipelineObserver = observer or NullObserver()
        self._queue_max = queue_max_calls
        self._max_commit = max_commit_calls
        self._ack_timeout = ack_timeout_s
        self._window = NestedWindow(nested_window_calls)
        self._queue: deque[_Work] = deque()
        self._pending = 0
        self._cond = threading.Condition()
        self._closing = False
        self._thread: threading.Thread | None = None
        self._listeners: list[CommitListener] = []

    # -- wiring --------------------------------------------------------------------------------

    def add_commit_listener(self, listener: CommitListener) -> None:
        """Call ``listener`` after each commit with the newly recorded calls (never duplicates).

        It runs on the writer thread before the exports of the batch are acknowledged (so an
        acknowledged export has been seen by every listener): keep it fast. Exceptions are logged and counted
        (``genai_processor_listener_errors_total``), never raised into the pipeline.
        """
        self._listeners.append(listener)

    def start(self) -> None:
        if self._thread is not None:
            return
        self._thread = threading.Thread(target=self._run, name="genai-cost-writer", daemon=True)
        self._thread.start()

    def stop(self, timeout_s: float | None = None) -> bool:
        """Refuse new work, commit everything queued, stop the writer; False if it did not finish."""
        with self._cond:
            self._closing = True
            self._cond.notify_all()
        if self._thread is None:
            return True
        self._thread.join(timeout_s)
        return not self._thread.is_alive()

    @property
    def alive(self) -> bool:
        """The writer thread runs (or has not been started yet)."""
        return self._thread is None or self._thread.is_alive()

    @property
    def queue_depth(self) -> int:
        """Calls queued for the writer."""
        return self._pending

    # -- receiver side -------------------------------------------------------------------------

    def process(self, calls: Sequence[LlmCall]) -> list[SpanRejection]:
        """Dedup within the export, price, queue and wait for the commit; return the refused spans.

        Raises :class:`Unavailable` when the export must be retried.
        """
        if len(calls) > 1:
            calls = self.link(calls)
        entries, rejected = self.prepare(calls)
        if entries:
            ticket = self.enqueue(entries)
            if not ticket.event.wait(self._ack_timeout):
                raise Unavailable(
                    f"commit not finished within {self._ack_timeout:g}s; retry (it is idempotent)", "commit_timeout"
                )
            if ticket.error is not None:
                raise Unavailable(f"ledger unavailable: {ticket.error}", "ledger_unavailable") from ticket.error
        return rejected

    def link(self, calls: Sequence[LlmCall]) -> list[LlmCall]:
        """One record per provider call of this export (:func:`domain.dedup.link_duplicates`), counted."""
        linked = link_duplicates(calls)
        if linked.duplicates:
            kinds: dict[str, int] = {}
            for kept, dropped in linked.duplicates:
                kind = duplicate_kind(kept, dropped).value
                kinds[kind] = kinds.get(kind, 0) + 1
            for kind, count in kinds.items():
                self.observer.duplicates(kind, count)
        if linked.suspected:
            self.observer.suspected_duplicates(len(linked.suspected))
        return linked.unique

    def prepare(self, calls: Sequence[LlmCall]) -> tuple[list[LedgerEntry], list[SpanRejection]]:
        """Price each call and build its ledger entry; calls that cannot be stored are rejected."""
        entries: list[LedgerEntry] = []
        rejected: list[SpanRejection] = []
        price = self.pricer.price
        prepare = self.ledger.prepare
        for call in calls:
            try:
                cost = price(call)
            except Exception as exc:  # a pricing bug must not drop the export
                logger.exception("pricing failed for span %s/%s", call.trace_id, call.span_id)
                rejected.append(SpanRejection("pricing_error", call.trace_id, call.span_id, f"pricing failed: {exc}"))
                continue
            try:
                entries.append(prepare(new_priced_call(call, cost)))  # PricedCall(call, cost)
            except RowError as exc:
                rejected.append(SpanRejection("out_of_range", call.trace_id, call.span_id, str(exc)))
        return entries, rejected

    def enqueue(self, entries: list[LedgerEntry]) -> _Ticket:
        """Queue prepared entries for the writer (raises :class:`Unavailable` when full or stopping)."""
        work = _Work(entries)
        with self._cond:
            if self._closing or self._thread is None:
                raise Unavailable("the processor is not accepting exports (stopping)", "shutting_down")
            if self._pending and self._pending + len(entries) > self._queue_max:
                raise Unavailable(
                    f"ingest queue full ({self._pending} calls pending, limit {self._queue_max})", "queue_full"
                )
            self._queue.append(work)
            self._pending += len(entries)
            self._cond.notify()
        return work.ticket

    # -- writer side ---------------------------------------------------------------------------

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._queue and not self._closing:
                    self._cond.wait()
                if not self._queue:
                    return
                group: list[_Work] = []
                taken = 0
                while self._queue and (not group or taken + len(self._queue[0].entries) <= self._max_commit):
                    work = self._queue.popleft()
                    group.append(work)
                    taken += len(work.entries)
                self._pending -= taken
            try:
                self._commit(group)
            except BaseException as exc:  # never leave an exporter waiting
                logger.exception("writer failed")
                for work in group:
                    if not work.ticket.event.is_set():
                        work.ticket.done(exc)

    def _commit(self, group: list[_Work]) -> None:
        window = self._window
        staged: list[LedgerEntry] = []
        nested = suspected = 0
        for work in group:
            for entry in work.entries:
                call = entry.priced.call
                link = window.check(call)
                if link is Link.DUPLICATE:
                    nested += 1
                    continue
                if link is Link.SUSPECTED:
                    suspected += 1
                window.add(call)
                staged.append(entry)
        started = time.perf_counter()
        try:
            result = self.ledger.commit(staged)
        except Exception as exc:
            self.observer.commit_duration(time.perf_counter() - started, False)
            logger.error("ledger commit of %d calls failed: %s", len(staged), exc)
            for entry in staged:
                window.discard(entry.priced.call)
            for work in group:
                work.ticket.done(exc)
            return
        self.observer.commit_duration(time.perf_counter() - started, True)
        self.totals.add_groups(result.groups)
        observer = self.observer
        if nested:
            result.add_duplicate(DuplicateKind.NESTED, nested)
        for kind, count in result.duplicates.items():
            observer.duplicates(kind.value, count)
        if suspected:
            observer.suspected_duplicates(suspected)
        if result.rounded_costs:
            observer.costs_rounded(result.rounded_costs)
        if result.inserted and self._listeners:
            self._notify([entry.priced for entry in result.inserted])
        for work in group:
            work.ticket.done()

    def _notify(self, inserted: list[PricedCall]) -> None:
        for listener in self._listeners:
            try:
                listener(inserted)
            except Exception:
                self.observer.listener_error()
                logger.exception("commit listener %r failed", listener)
