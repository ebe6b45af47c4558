"""What the pipeline needs from the ledger: one storage interface, so a PostgreSQL backend can follow SQLite."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol

from genai_cost.processor.domain.records import PricedCall


class DuplicateKind(StrEnum):
    """Why a call was not recorded again (the ``kind`` label of the duplicate counter)."""

    SPAN_REPLAY = "span_replay"  # the same (trace_id, span_id) delivered again (exporter retry)
    RESPONSE_ID = "response_id"  # another span of the same provider call (same provider response id)
    NESTED = "nested"  # a span nested directly in (or around) a recorded span of the same call


class LedgerError(Exception):
    """The ledger could not open, migrate or commit; a commit error leaves nothing written."""


class RowError(ValueError):
    """A call that the ledger cannot hold (e.g. a count or cost beyond 64-bit integers)."""


@dataclass(frozen=True, slots=True, eq=False)
class LedgerEntry:
    """A priced call with its backend row, prepared once before the commit (off the writer thread).

    ``pusd`` (input, cache_read, cache_write, output, reasoning) and ``total_pusd`` are the cost in
    pico-USD, computed once for both the row and the totals.
    """

    priced: PricedCall
    row: tuple[object, ...]
    pusd: tuple[int, int, int, int, int]
    total_pusd: int
    rounded: int = 0  # cost values that were rounded to a whole pico-USD


@dataclass(slots=True)
class CommitResult:
    """What one committed transaction recorded: the new calls and the duplicates it ignored."""

    inserted: list[LedgerEntry] = field(default_factory=list)
    duplicates: dict[DuplicateKind, int] = field(default_factory=dict)
    rounded_costs: int = 0  # cost values finer than a pico-USD, rounded half-even
    groups: list[TotalsRow] = field(default_factory=list)  # ``inserted`` summed per group

    def add_duplicate(self, kind: DuplicateKind, count: int = 1) -> None:
        self.duplicates[kind] = self.duplicates.get(kind, 0) + count


@dataclass(frozen=True, slots=True)
class TotalsRow:
    """One group of recorded calls, summed: how counters resume after a restart."""

    agent: str
    provider: str
    model: str
    operation: str
    outcome: str
    unpriced: bool
    requests: int
    tokens: tuple[int, int, int, int, int]  # input, cache_read, cache_write, output, reasoning
    cost_pusd: tuple[int, int, int, int, int]  # same order, pico-USD
    cost_total_pusd: int  # may exceed the sum of the split when a provider reported only a total
    tags: str = "{}"  # the group's tag dimensions, as recorded (a JSON object with sorted keys)


class LedgerStore(Protocol):
    """A durable, idempotent store of priced calls.

    ``prepare`` turns a priced call into an entry (raising :class:`RowError` for values the
    backend cannot store); it is called on receiver threads. ``commit`` writes all given entries
    in ONE transaction and returns only after it is durable (as durable as the backend's
    configuration promises); it raises :class:`LedgerError` and writes nothing if it cannot.
    Entries already recorded are left out and counted as duplicates: a replayed span (same trace
    id, span id and end time) always; another span of a recorded provider call (same provider and
    response id) at least while that call is among the backend's recent calls (the SQLite ledger:
    the last ``response_window`` calls; a backend with a unique index: always).
    """

    def prepare(self, priced: PricedCall) -> LedgerEntry: ...

    def commit(self, entries: Sequence[LedgerEntry]) -> CommitResult: ...

    def iter_totals(self) -> Iterator[TotalsRow]:
        """Sums per (agent, provider, model, operation, outcome, unpriced), first-seen order."""
        ...

    def count_calls(self) -> int: ...

    def close(self) -> None: ...
