"""The SQLite ledger: WAL mode, versioned schema, idempotent batched inserts.

Durability: ``synchronous=FULL`` by default. In WAL mode that syncs the WAL on every commit, so
a commit that returned (and therefore every acknowledged export) survives both a process crash
and a power loss / OS crash. ``synchronous=NORMAL`` is faster (no sync per commit) and still
survives a process crash with nothing lost, but a power loss may roll back the most recent
commits (the database stays consistent; exporters that were already acknowledged won't resend).

Write path: every index grows at its right edge (``calls_span_end`` leads with the end time,
``calls_agent_time`` with one of a few agents), rows go in with multi-row INSERT statements, and
(provider, response id) duplicates are found in memory (:mod:`.recent_responses`), so an insert
dirties the last pages of its B-trees instead of a random page per unique index. Each commit also
adds its calls' sums per group to the running sums (:mod:`.totals_table`), which start-up reads
instead of scanning every call, and returns them for the in-memory totals.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from itertools import chain
from pathlib import Path
from typing import Final

from genai_cost.processor.adapters.ledger import totals_table
from genai_cost.processor.adapters.ledger.recent_responses import (
    DEFAULT_RESPONSE_WINDOW,
    RecentResponses,
    response_key,
)
from genai_cost.processor.adapters.ledger.rows import to_entry
from genai_cost.processor.adapters.ledger.schema import CALL_COLUMNS, MIGRATIONS, SCHEMA_VERSION
from genai_cost.processor.domain.records import LlmCall, PricedCall
from genai_cost.processor.pipeline.ports import (
    CommitResult,
    DuplicateKind,
    LedgerEntry,
    LedgerError,
    TotalsRow,
)


def _null(value: None) -> None:
    """None binds as NULL, as it would anyway; registered only to make that cheap.

    sqlite3 (Python 3.11) passes every parameter that is not an exact int, float, str or
    bytearray through its adaptation protocol, which for None ends in an attribute look-up on a
    type that fails: an AttributeError built and cleared per NULL parameter (measured: 1.1 us per
    row of 37 parameters with four NULLs). With an adapter registered for None's type, one dict
    look-up finds this function instead. The registry is process-wide; the result is the same.
    """
    return value


sqlite3.register_adapter(type(None), _null)

SYNCHRONOUS_MODES: Final = ("full", "normal", "extra", "off")
"""Accepted values of ``ledger.synchronous`` (SQLite ``PRAGMA synchronous``)."""

_ROW_PLACEHOLDERS: Final = f"({', '.join('?' for _ in CALL_COLUMNS)})"
MAX_ROWS_PER_INSERT: Final = 512
"""Rows per multi-row INSERT statement (a power of two; 512 x 35 columns stays below SQLite's
32766 bound parameters). ``executemany`` steps once per row, and sqlite3 releases and takes the GIL
around every step: under load, the receivers' threads then hold the writer up at each row
(measured: twice the writer's CPU per row and ten times its wall time)."""


_INSERT_SQL: Final = {
    rows: f"INSERT OR IGNORE INTO calls ({', '.join(CALL_COLUMNS)}) VALUES " + ", ".join([_ROW_PLACEHOLDERS] * rows)
    for rows in (MAX_ROWS_PER_INSERT >> shift for shift in range(MAX_ROWS_PER_INSERT.bit_length()))
}
"""The INSERT statement for each chunk size."""


def insert_rows(conn: sqlite3.Connection, rows: Sequence[tuple[object, ...]]) -> int:
    """Insert ``rows`` (``CALL_COLUMNS`` order), ignoring span replays; return how many were inserted.

    Statements of ``MAX_ROWS_PER_INSERT``, 256, 128, ... 1 rows, so that at most ten distinct
    statements exist (sqlite3 keeps them compiled); rows keep their order, hence their row ids.
    """
    inserted = 0
    start = 0
    size = MAX_ROWS_PER_INSERT
    total = len(rows)
    while start < total:
        while size > total - start:
            size >>= 1
        values = list(chain.from_iterable(rows[start : start + size]))
        inserted += conn.execute(_INSERT_SQL[size], values).rowcount
        start += size
    return inserted


def connect(path: Path | str, *, synchronous: str = "full", busy_timeout_s: float = 5.0) -> sqlite3.Connection:
    """Open (creating parent folders) a ledger database in WAL mode, migrated to the current schema."""
    if synchronous not in SYNCHRONOUS_MODES:
        raise LedgerError(f"ledger.synchronous: {synchronous!r} is not one of {', '.join(SYNCHRONOUS_MODES)}")
    target = Path(path)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(target, timeout=busy_timeout_s, isolation_level=None, check_same_thread=False)
    except (OSError, sqlite3.Error) as exc:
        raise LedgerError(f"ledger.path: cannot open {str(target)!r}: {exc}") from exc
    try:
        mode = conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]
        if mode != "wal":
            raise LedgerError(f"ledger.path: {str(target)!r} cannot use WAL mode (got {mode!r})")
        conn.execute(f"PRAGMA synchronous={synchronous.upper()}")
        migrate(conn)
    except sqlite3.Error as exc:
        conn.close()
        raise LedgerError(f"ledger.path: {str(target)!r} is not a usable ledger: {exc}") from exc
    except LedgerError:
        conn.close()
        raise
    return conn


def migrate(conn: sqlite3.Connection) -> int:
    """Apply the pending ``MIGRATIONS`` (each in its own transaction); return the final version."""
    version = int(conn.execute("PRAGMA user_version").fetchone()[0])
    if version > SCHEMA_VERSION:
        raise LedgerError(f"ledger schema version {version} is newer than this genai-cost supports ({SCHEMA_VERSION})")
    for target in range(version, SCHEMA_VERSION):
        conn.execute("BEGIN IMMEDIATE")
        try:
            for statement in _statements(MIGRATIONS[target]):
                conn.execute(statement)
            conn.execute(f"PRAGMA user_version={target + 1}")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
    return SCHEMA_VERSION


def _statements(script: str) -> list[str]:
    """Split a migration script into statements (``executescript`` would commit implicitly)."""
    statements: list[str] = []
    pending = ""
    for line in script.splitlines(keepends=True):
        pending += line
        if sqlite3.complete_statement(pending):
            statements.append(pending.strip())
            pending = ""
    if pending.strip():
        statements.append(pending.strip())
    return statements


def _kind(trace_id: str, span_id: str, duplicate: LlmCall) -> DuplicateKind:
    """Why ``duplicate`` repeats a call recorded (or staged) with the same provider and response id."""
    if duplicate.trace_id == trace_id and duplicate.span_id == span_id:
        return DuplicateKind.SPAN_REPLAY
    return DuplicateKind.RESPONSE_ID


def _recorded_as(conn: sqlite3.Connection, row_id: int, call: LlmCall) -> DuplicateKind | None:
    """Whether row ``row_id`` (a response-key hit) is really the same provider call as ``call``."""
    row = conn.execute("SELECT provider, response_id, trace_id, span_id FROM calls WHERE id = ?", (row_id,)).fetchone()
    if row is None or row[0] != call.provider or row[1] != call.response_id:
        return None  # a hash collision
    return _kind(row[2], row[3], call)


class SqliteLedger:
    """A :class:`LedgerStore` on one SQLite file; ``commit`` is meant for a single writer thread.

    Duplicates: a replayed span (same end time, trace id and span id) is never recorded twice, by
    the UNIQUE ``calls_span_end`` index, over the whole ledger. Another span of an already recorded
    provider call (same provider and response id) is recognised while that call is among the last
    ``response_window`` recorded calls (:mod:`.recent_responses`; also after a restart), which is
    far more than the seconds that separate two instrumentations' spans of one call. One process
    writes a ledger file: a second writer's calls are not in this one's window.
    """

    def __init__(
        self,
        path: Path | str,
        *,
        synchronous: str = "full",
        busy_timeout_s: float = 5.0,
        response_window: int = DEFAULT_RESPONSE_WINDOW,
    ) -> None:
        self.path = Path(path)
        self._conn = connect(self.path, synchronous=synchronous, busy_timeout_s=busy_timeout_s)
        self._lock = threading.Lock()
        self._max_id = int(self._conn.execute("SELECT COALESCE(MAX(id), 0) FROM calls").fetchone()[0])
        self._recent = RecentResponses(response_window)
        self._reload_recent()
        try:
            totals_table.catch_up(self._conn)
        except sqlite3.Error as exc:
            self._conn.close()
            raise LedgerError(f"ledger.path: {str(self.path)!r}: cannot update the call totals: {exc}") from exc

    @property
    def response_window(self) -> int:
        """Recorded calls whose (provider, response id) are remembered at least."""
        return self._recent.window

    def _reload_recent(self) -> None:
        """Remember the response ids of the last ``response_window`` rows (a row-id range)."""
        recent = self._recent
        rows = self._conn.execute(
            "SELECT id, provider, response_id FROM calls WHERE id > ? AND response_id IS NOT NULL ORDER BY id",
            (self._max_id - recent.window,),
        )
        for row_id, provider, response_id in rows:
            recent.add(response_key(provider, response_id), row_id)

    def prepare(self, priced: PricedCall) -> LedgerEntry:
        """The row for ``priced``; :class:`RowError` if a value does not fit a column."""
        return to_entry(priced, time.time_ns())

    def commit(self, entries: Sequence[LedgerEntry]) -> CommitResult:
        """Insert ``entries`` in one transaction, leaving out and counting the already recorded ones."""
        result = CommitResult()
        if not entries:
            return result
        with self._lock:
            conn = self._conn
            before = self._max_id
            try:
                conn.execute("BEGIN IMMEDIATE")
                try:
                    staged, keys = self._screen(conn, entries, result)
                    inserted = insert_rows(conn, [entry.row for entry in staged])
                    row_ids: Sequence[int] = range(before + 1, before + 1 + inserted)
                    if inserted == len(staged):
                        result.inserted = staged
                    else:
                        keys, row_ids = self._sort_ignored(conn, staged, keys, before, result)
                    groups = totals_table.group_sums([entry.row for entry in result.inserted], row_ids)
                    totals_table.add_groups(conn, groups, before + inserted)
                    conn.execute("COMMIT")
                except BaseException:
                    if conn.in_transaction:
                        conn.execute("ROLLBACK")
                    raise
            except sqlite3.Error as exc:
                raise LedgerError(f"ledger commit failed: {exc}") from exc
            self._max_id = before + inserted
            self._remember(keys, row_ids)
            result.groups = [sums for _, sums in groups]
        result.rounded_costs = sum(entry.rounded for entry in entries)
        return result

    def _screen(
        self, conn: sqlite3.Connection, entries: Sequence[LedgerEntry], result: CommitResult
    ) -> tuple[list[LedgerEntry], list[int | None]]:
        """Leave out (and count) the entries whose provider call is already recorded or staged.

        Returns the entries to insert and, for each, its response key (None without a response id).
        """
        recent = self._recent
        staged: list[LedgerEntry] = []
        keys: list[int | None] = []
        pending: dict[int, LlmCall] = {}
        for entry in entries:
            call = entry.priced.call
            response_id = call.response_id
            if response_id is None:
                staged.append(entry)
                keys.append(None)
                continue
            key = response_key(call.provider, response_id)
            first = pending.get(key)
            if first is not None:
                if first.provider == call.provider and first.response_id == response_id:
                    result.add_duplicate(_kind(first.trace_id, first.span_id, call))
                    continue
            else:
                row_id = recent.get(key)
                if row_id is not None:
                    kind = _recorded_as(conn, row_id, call)
                    if kind is not None:
                        result.add_duplicate(kind)
                        continue
                pending[key] = call
            staged.append(entry)
            keys.append(key)
        return staged, keys

    @staticmethod
    def _sort_ignored(
        conn: sqlite3.Connection,
        staged: Sequence[LedgerEntry],
        keys: Sequence[int | None],
        before: int,
        result: CommitResult,
    ) -> tuple[list[int | None], list[int]]:
        """Split ``staged`` into inserted calls and span replays (the rare path: the index ignored some).

        Returns the response keys and row ids of the inserted entries.
        """
        new_rows = {
            (end, trace, span): row_id
            for row_id, end, trace, span in conn.execute(
                "SELECT id, end_time_ns, trace_id, span_id FROM calls WHERE id > ?", (before,)
            )
        }
        inserted_keys: list[int | None] = []
        row_ids: list[int] = []
        for entry, key in zip(staged, keys, strict=True):
            call = entry.priced.call
            row_id = new_rows.pop((call.end_time_ns, call.trace_id, call.span_id), None)
            if row_id is None:  # recorded before, or staged twice in this commit
                result.add_duplicate(DuplicateKind.SPAN_REPLAY)
                continue
            result.inserted.append(entry)
            inserted_keys.append(key)
            row_ids.append(row_id)
        return inserted_keys, row_ids

    def _remember(self, keys: Sequence[int | None], row_ids: Sequence[int]) -> None:
        """Add the committed calls' response keys to the window."""
        add = self._recent.add
        for key, row_id in zip(keys, row_ids, strict=True):
            if key is not None:
                add(key, row_id)

    def iter_totals(self) -> Iterator[TotalsRow]:
        """Sums per group, in the order the groups were first recorded (:mod:`.totals_table`)."""
        with self._lock:
            rows = list(totals_table.read(self._conn))
        yield from rows

    def count_calls(self) -> int:
        with self._lock:
            return int(self._conn.execute("SELECT COUNT(*) FROM calls").fetchone()[0])

    def close(self) -> None:
        with self._lock:
            self._conn.close()
