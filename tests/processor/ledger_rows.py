"""Builds test ledgers: a database created with the schema's MIGRATIONS and rows inserted as given.

Loaded by the conftests of the report, export and HTTP API tests (fixture ``ledger_rows``), so
rows are written independently of the processor's own write path.
"""

from __future__ import annotations

import itertools
import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from genai_cost.processor.adapters.ledger.schema import CALL_COLUMNS, MIGRATIONS

_ids = itertools.count(1)

COST_SPLIT = (
    "cost_input_pusd",
    "cost_cache_read_pusd",
    "cost_cache_write_pusd",
    "cost_output_pusd",
    "cost_reasoning_pusd",
)


def row(**values: Any) -> dict[str, Any]:
    """A complete ledger row: defaults for every column, ``values`` on top.

    ``cost_total_pusd`` defaults to the sum of the split costs; ids are unique per call.
    """
    n = next(_ids)
    out: dict[str, Any] = {
        "trace_id": f"{n:032x}",
        "span_id": f"{n:016x}",
        "parent_span_id": None,
        "response_id": f"resp-{n}",
        "start_time_ns": 0,
        "end_time_ns": 0,
        "agent": "agent-a",
        "service": "svc",
        "session": None,
        "user_id": None,
        "tags": "{}",
        "provider": "openai",
        "model": "gpt-4o",
        "request_model": "gpt-4o",
        "response_model": "gpt-4o",
        "operation": "chat",
        "outcome": "ok",
        "error_type": None,
        "dialect": "semconv",
        "usage_reported": 1,
        "input_tokens": 0,
        "cache_read_tokens": 0,
        "cache_write_tokens": 0,
        "output_tokens": 0,
        "reasoning_tokens": 0,
        "price_source": "genai-prices",
        "cost_input_pusd": 0,
        "cost_cache_read_pusd": 0,
        "cost_cache_write_pusd": 0,
        "cost_output_pusd": 0,
        "cost_reasoning_pusd": 0,
        "cost_total_pusd": None,
        "ingested_at_ns": 1,
        "cache_write_1h_tokens": 0,
        "service_tier": None,
    }
    unknown = set(values) - set(out)
    if unknown:
        raise KeyError(f"not ledger columns: {sorted(unknown)}")
    out.update(values)
    if "start_time_ns" not in values:
        out["start_time_ns"] = out["end_time_ns"] - 1_000_000
    if out["cost_total_pusd"] is None:
        out["cost_total_pusd"] = sum(out[c] for c in COST_SPLIT)
    return out


def create_ledger(path: Path, rows: list[dict[str, Any]] = (), *, wal: bool = True) -> Path:  # type: ignore[assignment]
    """Create ``path`` with every migration applied (WAL mode) and insert ``rows``."""
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        if wal:
            conn.execute("PRAGMA journal_mode=WAL")
        for script in MIGRATIONS:
            conn.executescript(script)
        conn.execute(f"PRAGMA user_version = {len(MIGRATIONS)}")
        insert(conn, rows)
    finally:
        conn.close()
    return path


def insert(conn: sqlite3.Connection, rows: list[dict[str, Any]]) -> None:
    """Insert ``rows`` (complete, as made by :func:`row`) in one transaction."""
    sql = f"INSERT INTO calls ({', '.join(CALL_COLUMNS)}) VALUES ({', '.join('?' for _ in CALL_COLUMNS)})"
    conn.execute("BEGIN")
    conn.executemany(sql, [tuple(r[c] for c in CALL_COLUMNS) for r in rows])
    conn.execute("COMMIT")


def read_all(path: Path) -> list[dict[str, Any]]:
    """Every row of the ledger as a dict, in insertion order (``id`` included)."""
    conn = sqlite3.connect(path)
    conn.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in conn.execute("SELECT * FROM calls ORDER BY id")]
    finally:
        conn.close()


def old_ledger(path: Path, version: int, rows: Sequence[Sequence[object]] = ()) -> Path:
    """A ledger at schema ``version`` (its first migrations only) holding ``rows``.

    ``rows`` are in ``CALL_COLUMNS`` order (e.g. ``SqliteLedger.prepare(...).row``); the columns
    that schema's table does not have yet are left out.
    """
    conn = sqlite3.connect(path)
    try:
        for script in MIGRATIONS[:version]:
            conn.executescript(script)
        conn.execute(f"PRAGMA user_version={version}")
        existing = {r[1] for r in conn.execute("PRAGMA table_info(calls)")}
        names = [name for name in CALL_COLUMNS if name in existing]
        sql = f"INSERT INTO calls ({', '.join(names)}) VALUES ({', '.join('?' for _ in names)})"
        for values in rows:
            conn.execute(sql, [v for name, v in zip(CALL_COLUMNS, values, strict=True) if name in existing])
        conn.commit()
    finally:
        conn.close()
    return path
