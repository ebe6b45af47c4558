"""Running sums per group of calls (table ``call_totals``), kept in step with ``calls``.

The counters of ``/metrics`` resume from these sums at start-up, so a restart reads one row per
group instead of scanning every call (about 33 s at 10 M calls). The sums cover the calls up to
``call_totals_state.covered_id``:
- the writer folds each commit's new calls in, in the same transaction (:func:`add_calls_after`);
- re-pricing a covered call moves its sums between groups (trigger ``call_totals_follow_repricing``);
- at start-up, calls beyond ``covered_id`` (written by another tool, or before schema 5) are
  folded in first (:func:`catch_up`).

Costs are summed as two parts (``schema.COST_SPLIT``) so no SQL integer overflows.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from typing import Final

from genai_cost.processor.adapters.ledger.schema import (
    COST_COLUMNS,
    COST_SPLIT,
    TOKEN_COLUMNS,
    TOTALS_COLUMNS,
    TOTALS_KEY,
    TOTALS_ON_CONFLICT,
)
from genai_cost.processor.domain.records import PriceSource
from genai_cost.processor.pipeline.ports import TotalsRow

_UNPRICED: Final = f"price_source = '{PriceSource.UNPRICED.value}'"
_GROUP: Final = ", ".join(_UNPRICED if c == "unpriced" else c for c in TOTALS_KEY)
_ADD_CALLS_AFTER: Final = (
    f"INSERT INTO call_totals ({', '.join(TOTALS_COLUMNS)}) "
    f"SELECT {_GROUP}, MIN(id), COUNT(*), "
    + ", ".join(f"SUM({c})" for c in TOKEN_COLUMNS)
    + ", "
    + ", ".join(f"SUM({c} / {COST_SPLIT}), SUM({c} % {COST_SPLIT})" for c in COST_COLUMNS)
    + f" FROM calls WHERE id > ? GROUP BY {_GROUP} "
    + TOTALS_ON_CONFLICT
)
_READ: Final = f"SELECT {', '.join(TOTALS_COLUMNS)} FROM call_totals ORDER BY first_id"
_COSTS_AT: Final = TOTALS_COLUMNS.index(f"{COST_COLUMNS[0]}_high")


def add_calls_after(conn: sqlite3.Connection, last_covered_id: int, new_covered_id: int) -> None:
    """Fold the calls with ids in (``last_covered_id``, ``new_covered_id``] into the sums (in the caller's transaction).

    The calls must be the newest ones (no call has a larger id than ``new_covered_id``).
    """
    if new_covered_id > last_covered_id:
        conn.execute(_ADD_CALLS_AFTER, (last_covered_id,))
    conn.execute("UPDATE call_totals_state SET covered_id = ?", (new_covered_id,))


def catch_up(conn: sqlite3.Connection) -> None:
    """Make the sums cover every call (one transaction); a no-op when they already do."""
    max_id = int(conn.execute("SELECT COALESCE(MAX(id), 0) FROM calls").fetchone()[0])
    covered = int(conn.execute("SELECT covered_id FROM call_totals_state").fetchone()[0])
    if covered == max_id:
        return
    conn.execute("BEGIN IMMEDIATE")
    try:
        if covered > max_id:  # calls were removed behind the writer's back: sum them all again
            conn.execute("DELETE FROM call_totals")
            covered = 0
        add_calls_after(conn, covered, max_id)
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise


def read(conn: sqlite3.Connection) -> Iterator[TotalsRow]:
    """The sums per group, in the order the groups were first recorded."""
    for row in conn.execute(_READ).fetchall():
        costs = [row[i] * COST_SPLIT + row[i + 1] for i in range(_COSTS_AT, _COSTS_AT + 12, 2)]
        yield TotalsRow(
            agent=row[0],
            provider=row[1],
            model=row[2],
            operation=row[3],
            outcome=row[4],
            unpriced=bool(row[5]),
            requests=row[8],
            tokens=(row[9], row[10], row[11], row[12], row[13]),
            cost_pusd=(costs[0], costs[1], costs[2], costs[3], costs[4]),
            cost_total_pusd=costs[5],
            tags=row[6],
        )
