"""The SQLite ledger: WAL mode, versioned schema, idempotent batched inserts.

Durability: ``synchronous=FULL`` by default. In WAL mode that syncs the WAL on every commit, so
a commit that returned (and therefore every acknowledged export) survives both a process crash
and a power loss / OS crash. ``synchronous=NORMAL`` is faster (no sync per commit) and still
survives a process crash with nothing lost, but a power loss may roll back the most recent
commits (the database stays consistent; exporters that were already acknowledged won't resend).
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Final

from genai_cost.processor.adapters.ledger.rows import to_entry
from genai_cost.processor.adapters.ledger.schema import CALL_COLUMNS, MIGRATIONS, SCHEMA_VERSION
from genai_cost.processor.domain.records import PricedCall, PriceSource
from genai_cost.processor.pipeline.ports import (
    CommitResult,
    DuplicateKind,
    LedgerEntry,
    LedgerError,
    TotalsRow,
)

SYNCHRONOUS_MODES: Final = ("full", "normal", "extra", "off")
"""Accepted values of ``ledger.synchronous`` (SQLite ``PRAGMA synchronous``)."""

_INSERT: Final = (
    f"INSERT OR IGNORE INTO calls ({', '.join(CALL_COLUMNS)}) VALUES ({', '.join('?' for _ in CALL_COLUMNS)})"
)
_TOTALS: Final = f"""
    SELECT agent, provider, model, operation, outcome, price_source = '{PriceSource.UNPRICED.value}',
           COUNT(*), SUM(input_tokens), SUM(cache_read_tokens), SUM(cache_write_tokens),
           SUM(output_tokens), SUM(reasoning_tokens), SUM(cost_input_pusd), SUM(cost_cache_read_pusd),
           SUM(cost_cache_write_pusd), SUM(cost_output_pusd), SUM(cost_reasoning_pusd),
           SUM(cost_total_pusd)
    FROM calls
    GROUP BY agent, provider, model, operation, outcome, price_source = '{PriceSource.UNPRICED.value}'
    ORDER BY MIN(id)
"""


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


class SqliteLedger:
    """A :class:`LedgerStore` on one SQLite file; ``commit`` is meant for a single writer thread."""

    def __init__(self, path: Path | str, *, synchronous: str = "full", busy_timeout_s: float = 5.0) -> None:
        self.path = Path(path)
        self._conn = connect(self.path, synchronous=synchronous, busy_timeout_s=busy_timeout_s)
        self._lock = threading.Lock()
        self._max_id = int(self._conn.execute("SELECT COALESCE(MAX(id), 0) FROM calls").fetchone()[0])

    def prepare(self, priced: PricedCall) -> LedgerEntry:
        """The row for ``priced``; :class:`RowError` if a value does not fit a column."""
        return to_entry(priced, time.time_ns())

    def commit(self, entries: Sequence[LedgerEntry]) -> CommitResult:
        """Insert ``entries`` in one transaction, ignoring and counting the already recorded ones."""
        result = CommitResult()
        if not entries:
            return result
        with self._lock:
            conn = self._conn
            before = self._max_id
            try:
                conn.execute("BEGIN IMMEDIATE")
                try:
                    cursor = conn.executemany(_INSERT, [entry.row for entry in entries])
                    inserted = cursor.rowcount
                    if inserted == len(entries):
                        result.inserted = list(entries)
                    else:
                        self._sort_ignored(conn, entries, before, result)
                    conn.execute("COMMIT")
                except BaseException:
                    if conn.in_transaction:
                        conn.execute("ROLLBACK")
                    raise
            except sqlite3.Error as exc:
                raise LedgerError(f"ledger commit failed: {exc}") from exc
            self._max_id = before + inserted
        result.rounded_costs = sum(entry.rounded for entry in entries)
        return result

    @staticmethod
    def _sort_ignored(
        conn: sqlite3.Connection, entries: Sequence[LedgerEntry], before: int, result: CommitResult
    ) -> None:
        """Split ``entries`` into inserted calls and duplicates (the rare path: some were ignored)."""
        new_keys = set(conn.execute("SELECT trace_id, span_id FROM calls WHERE id > ?", (before,)))
        for entry in entries:
            call = entry.priced.call
            key = (call.trace_id, call.span_id)
            if key in new_keys:
                new_keys.discard(key)  # a second copy of the same span in this batch is a replay
                result.inserted.append(entry)
                continue
            existing = conn.execute("SELECT 1 FROM calls WHERE trace_id = ? AND span_id = ?", key).fetchone()
            result.add_duplicate(DuplicateKind.SPAN_REPLAY if existing else DuplicateKind.RESPONSE_ID)

    def iter_totals(self) -> Iterator[TotalsRow]:
        """Sums per group, in the order the groups were first recorded."""
        with self._lock:
            rows = self._conn.execute(_TOTALS).fetchall()
        for row in rows:
            yield TotalsRow(
                agent=row[0],
                provider=row[1],
                model=row[2],
                operation=row[3],
                outcome=row[4],
                unpriced=bool(row[5]),
                requests=row[6],
                tokens=(row[7], row[8], row[9], row[10], row[11]),
                cost_pusd=(row[12], row[13], row[14], row[15], row[16]),
                cost_total_pusd=row[17],
            )

    def count_calls(self) -> int:
        with self._lock:
            return int(self._conn.execute("SELECT COUNT(*) FROM calls").fetchone()[0])

    def close(self) -> None:
        with self._lock:
            self._conn.close()
