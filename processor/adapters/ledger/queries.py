"""Read-side queries over the SQLite ledger: summaries, export rows, unpriced models, re-pricing.

Money is summed without any chance of overflow or rounding: SQLite's ``SUM`` of 64-bit integers
raises past 2^63 pico-USD (about 9.2 million USD), so each cost column is summed as two parts,
``x / 10^6`` and ``x % 10^6``, neither of which can overflow for any real ledger, and the parts
are recombined as Python ints. Callers turn pico-USD into Decimal (``domain.report``).

Calendar grouping (day, month) is exact in any IANA zone. The local midnights covering the
selected calls are computed in Python; one scan sums the calls by ``end_time_ns / bucket``, where
the bucket is the greatest common divisor of those boundaries (a day in UTC, an hour or 15 minutes
in zones with DST or half-hour offsets), so no bucket straddles two periods, and the buckets are
added up per period. Zones with odd historical offsets fall back to a range scan of the
``end_time_ns`` index per period. A call belongs to the period its ``end_time_ns`` falls in.
"""

from __future__ import annotations

import bisect
import contextlib
import math
import sqlite3
from collections.abc import Generator, Sequence
from dataclasses import dataclass
from datetime import tzinfo
from pathlib import Path

from genai_cost.processor.adapters.ledger.schema import CALL_COLUMNS, COST_COLUMNS, COST_SPLIT, TOKEN_COLUMNS
from genai_cost.processor.domain.records import PriceSource, TokenUsage
from genai_cost.processor.domain.report import GroupBy, Period, SummaryRow, Totals, periods, sort_rows
from genai_cost.processor.pipeline.ports import LedgerError

BUSY_TIMEOUT_MS = 10_000
MIN_BUCKET_NS = 60 * 10**9  # calendar sums scan once, grouped by buckets of at least a minute...
MAX_BUCKETS = 2_000_000  # ...and at most this many, else each period is read through the index

_CATEGORY_COLUMNS = {
    GroupBy.AGENT: "agent",
    GroupBy.MODEL: "model",
    GroupBy.PROVIDER: "provider",
    GroupBy.SESSION: "session",
}


def _sums_sql(alias: str) -> str:
    parts = ["COUNT(*)", f"SUM({alias}price_source = 'unpriced')"]
    parts += [f"SUM({alias}{col})" for col in TOKEN_COLUMNS]
    for col in COST_COLUMNS:
        parts += [f"SUM({alias}{col} / {COST_SPLIT})", f"SUM({alias}{col} % {COST_SPLIT})"]
    return ", ".join(parts)


def _totals(values: Sequence[object]) -> Totals:
    """Totals from the columns of :func:`_sums_sql` (``NULL`` sums of no rows are 0)."""
    ints = [int(v) if v is not None else 0 for v in values]  # type: ignore[call-overload]
    calls, unpriced = ints[0], ints[1]
    tokens = ints[2 : 2 + len(TOKEN_COLUMNS)]
    split = ints[2 + len(TOKEN_COLUMNS) :]
    costs = [split[i] * COST_SPLIT + split[i + 1] for i in range(0, len(split), 2)]
    return Totals(calls, unpriced, *tokens, *costs)


# ----- connections ------------------------------------------------------------------------------


def _connect(path: str | Path, mode: str) -> sqlite3.Connection:
    file = Path(path).expanduser()
    if not file.is_file():
        raise LedgerError(f"ledger {str(file)!r} does not exist")
    try:
        conn = sqlite3.connect(f"{file.resolve().as_uri()}?mode={mode}", uri=True, check_same_thread=False)
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        found = conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'calls'").fetchone()
    except sqlite3.Error as exc:
        raise LedgerError(f"ledger {str(file)!r} cannot be read: {exc}") from exc
    if found is None:
        conn.close()
        raise LedgerError(f"ledger {str(file)!r} is not a genai-cost ledger (no 'calls' table)")
    return conn


def connect_readonly(path: str | Path) -> sqlite3.Connection:
    """Open an existing ledger read-only (never creates or migrates one).

    Safe while ``genai-cost serve`` writes to it: in WAL mode readers see the last committed
    state and never block the writer. The connection may be used from another thread.
    """
    conn = _connect(path, "ro")
    conn.isolation_level = None  # autocommit: no read transaction is left open
    return conn


def connect_readwrite(path: str | Path) -> sqlite3.Connection:
    """Open an existing ledger for :func:`apply_cost_updates` (autocommit; transactions explicit)."""
    conn = _connect(path, "rw")
    conn.isolation_level = None
    return conn


# ----- filters ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CallFilter:
    """Which calls a query covers: ``since_ns <= end_time_ns < until_ns`` and exact label matches."""

    since_ns: int | None = None
    until_ns: int | None = None
    agent: str | None = None
    model: str | None = None
    provider: str | None = None
    session: str | None = None

    def where(self, alias: str = "") -> tuple[str, list[object]]:
        """A ``WHERE`` clause body (``1`` when empty) and its parameters."""
        clauses: list[str] = []
        params: list[object] = []
        if self.since_ns is not None:
            clauses.append(f"{alias}end_time_ns >= ?")
            params.append(self.since_ns)
        if self.until_ns is not None:
            clauses.append(f"{alias}end_time_ns < ?")
            params.append(self.until_ns)
        for column in ("agent", "model", "provider", "session"):
            value = getattr(self, column)
            if value is not None:
                clauses.append(f"{alias}{column} = ?")
                params.append(value)
        return (" AND ".join(clauses) or "1"), params


# ----- summaries --------------------------------------------------------------------------------


def summarize(conn: sqlite3.Connection, group_by: GroupBy, where: CallFilter, tz: tzinfo) -> list[SummaryRow]:
    """Totals per group, sorted (periods chronologically, other keys by cost, largest first).

    ``tz`` sets the calendar of ``day`` and ``month`` groups; other groupings ignore it.
    """
    if group_by.is_period:
        return sort_rows(_summarize_periods(conn, group_by, where, tz), group_by)
    column = _CATEGORY_COLUMNS[group_by]
    clause, params = where.where()
    # "+column": group with a temp b-tree over a plain scan; walking the (agent, end_time) index
    # instead costs one random table read per row (3x slower on 10M rows)
    sql = f"SELECT {column}, {_sums_sql('')} FROM calls WHERE {clause} GROUP BY +{column}"
    rows = [SummaryRow(r[0], _totals(r[1:])) for r in conn.execute(sql, params)]
    return sort_rows(rows, group_by)


def _summarize_periods(conn: sqlite3.Connection, group_by: GroupBy, where: CallFilter, tz: tzinfo) -> list[SummaryRow]:
    clause, params = where.where()
    conn.execute("BEGIN")  # one snapshot for the range and the sums
    try:
        low = conn.execute(f"SELECT MIN(end_time_ns) FROM calls WHERE {clause}", params).fetchone()[0]
        if low is None:
            return []
        high = conn.execute(f"SELECT MAX(end_time_ns) FROM calls WHERE {clause}", params).fetchone()[0]
        spans = periods(low, high, group_by, tz)
        bucket = math.gcd(*(p.start_ns for p in spans), spans[-1].end_ns)
        if bucket >= MIN_BUCKET_NS and (high - low) // bucket <= MAX_BUCKETS:
            return _sum_by_buckets(conn, spans, bucket, clause, params)
        return _sum_by_join(conn, spans, where)
    finally:
        conn.execute("COMMIT")


def _sum_by_buckets(
    conn: sqlite3.Connection, spans: Sequence[Period], bucket: int, clause: str, params: list[object]
) -> list[SummaryRow]:
    """One scan grouped by ``end_time_ns / bucket``; every period boundary is a multiple of
    ``bucket``, so each bucket lies in exactly one period and the sums are exact."""
    starts = [p.start_ns for p in spans]
    sums: dict[int, Totals] = {}
    sql = f"SELECT end_time_ns / {bucket}, {_sums_sql('')} FROM calls WHERE {clause} GROUP BY 1"
    for r in conn.execute(sql, params):
        index = bisect.bisect_right(starts, r[0] * bucket) - 1
        sums[index] = sums[index] + _totals(r[1:]) if index in sums else _totals(r[1:])
    return [SummaryRow(spans[i].label, sums[i]) for i in sorted(sums)]


def _sum_by_join(conn: sqlite3.Connection, spans: Sequence[Period], where: CallFilter) -> list[SummaryRow]:
    """Each period read by a range scan of the end-time index (zones with odd historical offsets)."""
    conn.execute(
        "CREATE TEMP TABLE IF NOT EXISTS report_periods "
        "(start_ns INTEGER PRIMARY KEY, end_ns INTEGER NOT NULL, label TEXT NOT NULL)"
    )
    try:
        conn.executemany(
            "INSERT INTO temp.report_periods VALUES (?, ?, ?)",
            [(p.start_ns, p.end_ns, p.label) for p in spans],
        )
        c_clause, c_params = where.where("c.")
        sql = (
            f"SELECT p.label, {_sums_sql('c.')} FROM temp.report_periods AS p CROSS JOIN calls AS c "
            f"WHERE c.end_time_ns >= p.start_ns AND c.end_time_ns < p.end_ns AND {c_clause} "
            "GROUP BY p.start_ns"
        )
        return [SummaryRow(r[0], _totals(r[1:])) for r in conn.execute(sql, c_params)]
    finally:
        conn.execute("DELETE FROM temp.report_periods")


def total(conn: sqlite3.Connection, where: CallFilter) -> Totals:
    """The totals of every call ``where`` selects."""
    clause, params = where.where()
    return _totals(conn.execute(f"SELECT {_sums_sql('')} FROM calls WHERE {clause}", params).fetchone())


# ----- export -----------------------------------------------------------------------------------


def count_calls(conn: sqlite3.Connection, where: CallFilter) -> int:
    """How many calls ``where`` selects (for progress reporting)."""
    clause, params = where.where()
    return int(conn.execute(f"SELECT COUNT(*) FROM calls WHERE {clause}", params).fetchone()[0])


def iter_calls(
    conn: sqlite3.Connection, where: CallFilter, batch_size: int = 2_000
) -> Generator[tuple[object, ...], None, None]:
    """Stream the selected rows in ``schema.CALL_COLUMNS`` order, oldest end time first.

    Rows are fetched ``batch_size`` at a time, so memory stays flat on any ledger size.
    """
    clause, params = where.where()
    cursor = conn.execute(
        f"SELECT {', '.join(CALL_COLUMNS)} FROM calls WHERE {clause} ORDER BY end_time_ns, id",
        params,
    )
    try:
        while batch := cursor.fetchmany(batch_size):
            yield from batch
    finally:
        with contextlib.suppress(sqlite3.ProgrammingError):  # the connection was closed first
            cursor.close()


# ----- unpriced models and re-pricing -----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class UnpricedModel:
    """A (provider, model) recorded without a price: how often and when."""

    provider: str
    model: str
    calls: int
    first_seen_ns: int
    last_seen_ns: int


def unpriced_models(conn: sqlite3.Connection, where: CallFilter | None = None) -> list[UnpricedModel]:
    """Models with unpriced calls, most calls first (uses the ``calls_unpriced`` index)."""
    clause, params = (where or CallFilter()).where()
    sql = (
        "SELECT provider, model, COUNT(*), MIN(end_time_ns), MAX(end_time_ns) FROM calls "
        f"WHERE price_source = 'unpriced' AND {clause} GROUP BY provider, model "
        "ORDER BY COUNT(*) DESC, provider, model"
    )
    return [UnpricedModel(*row) for row in conn.execute(sql, params)]


@dataclass(frozen=True, slots=True)
class RepriceRow:
    """What pricing a recorded call needs again."""

    id: int
    trace_id: str
    span_id: str
    price_source: str
    cost_total_pusd: int
    agent: str
    service: str
    provider: str
    model: str
    request_model: str | None
    response_model: str | None
    operation: str
    outcome: str
    start_time_ns: int
    end_time_ns: int
    usage: TokenUsage
    usage_reported: bool
    cache_write_1h: int  # of usage.cache_write
    service_tier: str | None


def rows_to_reprice(conn: sqlite3.Connection, where: CallFilter, *, only_unpriced: bool = True) -> list[RepriceRow]:
    """Calls to price again: the unpriced ones selected by ``where``, or (``only_unpriced=False``)
    every selected call that was priced from price data (``genai-prices`` or ``override``).

    Calls carrying a provider-reported cost are never re-priced.
    """
    clause, params = where.where()
    source_clause = "price_source = 'unpriced'" if only_unpriced else "price_source <> 'provider'"
    sql = (
        "SELECT id, trace_id, span_id, price_source, cost_total_pusd, agent, service, provider, model, "
        "request_model, response_model, operation, outcome, start_time_ns, end_time_ns, input_tokens, "
        "cache_read_tokens, cache_write_tokens, output_tokens, reasoning_tokens, usage_reported, "
        "cache_write_1h_tokens, service_tier "
        f"FROM calls WHERE {source_clause} AND {clause} ORDER BY id"
    )
    out: list[RepriceRow] = []
    for r in conn.execute(sql, params):
        out.append(
            RepriceRow(
                id=r[0],
                trace_id=r[1],
                span_id=r[2],
                price_source=r[3],
                cost_total_pusd=r[4],
                agent=r[5],
                service=r[6],
                provider=r[7],
                model=r[8],
                request_model=r[9],
                response_model=r[10],
                operation=r[11],
                outcome=r[12],
                start_time_ns=r[13],
                end_time_ns=r[14],
                usage=TokenUsage(r[15], r[16], r[17], r[18], r[19]),
                usage_reported=bool(r[20]),
                cache_write_1h=r[21],
                service_tier=r[22],
            )
        )
    return out


@dataclass(frozen=True, slots=True)
class CostUpdate:
    """New cost of one recorded call; ``expected_source`` guards against concurrent changes."""

    id: int
    expected_source: str
    price_source: PriceSource
    cost_pusd: tuple[int, int, int, int, int]  # input, cache_read, cache_write, output, reasoning
    cost_total_pusd: int


def apply_cost_updates(conn: sqlite3.Connection, updates: Sequence[CostUpdate]) -> int:
    """Write ``updates`` in ONE transaction; returns how many rows changed.

    A row whose ``price_source`` is no longer ``expected_source`` is left alone. On any error
    nothing is written and :class:`LedgerError` is raised.
    """
    sql = (
        "UPDATE calls SET price_source = ?, cost_input_pusd = ?, cost_cache_read_pusd = ?, "
        "cost_cache_write_pusd = ?, cost_output_pusd = ?, cost_reasoning_pusd = ?, "
        "cost_total_pusd = ? WHERE id = ? AND price_source = ?"
    )
    changed = 0
    try:
        conn.execute("BEGIN IMMEDIATE")
        try:
            for u in updates:
                cursor = conn.execute(
                    sql, (u.price_source.value, *u.cost_pusd, u.cost_total_pusd, u.id, u.expected_source)
                )
                changed += cursor.rowcount
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
    except sqlite3.Error as exc:
        raise LedgerError(f"re-pricing could not commit: {exc}") from exc
    return changed
