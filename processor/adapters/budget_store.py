"""Budget state kept in the ledger database: spend per scope and period, admin changes, audit.

Admin changes (a limit override, a paused budget or scope) are written together with their
audit row in one transaction, so the trail is complete. Money is integer pico-USD, as in
``calls``. The store opens its own connection (WAL: readers never block the ledger's writer).
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, Protocol

from genai_cost.processor.adapters.ledger.schema import PICO_PER_USD
from genai_cost.processor.adapters.ledger.sqlite import connect
from genai_cost.processor.domain.budgets import BudgetMatch, PeriodWindow, parse_match

_PICO = Decimal(PICO_PER_USD)


def to_pusd(amount: Decimal) -> int:
    """Exact pico-USD of ``amount``; ``ValueError`` if it is finer than that."""
    scaled = amount * _PICO
    if scaled != scaled.to_integral_value():
        raise ValueError(f"{amount} is finer than a pico-USD")
    return int(scaled)


def from_pusd(value: int) -> Decimal:
    return Decimal(value) / _PICO


def canonical(match: BudgetMatch) -> str:
    return json.dumps(match.as_dict(), sort_keys=True, separators=(",", ":"))


@dataclass(frozen=True, slots=True)
class PausedScope:
    match: BudgetMatch
    budget: str | None
    reason: str | None
    paused_at_ns: int
    paused_by: str


@dataclass(frozen=True, slots=True)
class AdminState:
    """What administrators changed, as loaded at start-up."""

    limits: Mapping[str, Decimal] = field(default_factory=dict)
    pauses: tuple[PausedScope, ...] = ()


@dataclass(frozen=True, slots=True)
class AuditEntry:
    at_ns: int
    actor: str
    action: str
    budget: str | None
    detail: Mapping[str, Any]

    def as_json(self) -> dict[str, Any]:
        return {
            "at_ns": self.at_ns,
            "actor": self.actor,
            "action": self.action,
            "budget": self.budget,
            "detail": dict(self.detail),
        }


class BudgetStore(Protocol):
    """Where budget spend is read and admin changes are kept (SQLite now, PostgreSQL later)."""

    def spend(self, match: BudgetMatch, window: PeriodWindow) -> Decimal: ...

    def load(self) -> AdminState: ...

    def set_limit(self, budget: str, limit: Decimal | None, *, actor: str, at_ns: int) -> None: ...

    def set_paused(
        self, budget: str | None, match: BudgetMatch, paused: bool, *, actor: str, at_ns: int,
        reason: str | None = None,
    ) -> bool: ...  # fmt: skip

    def audit(self, limit: int = 100) -> list[AuditEntry]: ...

    def close(self) -> None: ...


def _spend_query(match: BudgetMatch, window: PeriodWindow) -> tuple[str, list[object]]:
    where = ["end_time_ns >= ?"]
    params: list[object] = [window.start_ns]
    if window.end_ns is not None:
        where.append("end_time_ns < ?")
        params.append(window.end_ns)
    for column in ("agent", "provider", "model", "service"):
        value = getattr(match, column)
        if value is not None:
            where.append(f"{column} = ?")
            params.append(value)
    for key, value in match.tags:
        where.append("json_extract(tags, ?) = ?")
        params.extend(['$."' + key.replace("\\", "\\\\").replace('"', '\\"') + '"', value])
    return " AND ".join(where), params


class SqliteBudgetStore:
    """:class:`BudgetStore` on the SQLite ledger file (migrating it if needed)."""

    def __init__(self, path: Path | str, *, busy_timeout_s: float = 5.0) -> None:
        self._conn = connect(path, busy_timeout_s=busy_timeout_s)
        self._lock = threading.Lock()

    def spend(self, match: BudgetMatch, window: PeriodWindow) -> Decimal:
        """Sum of ``cost_total_pusd`` of the calls in ``match`` that ended inside ``window``."""
        where, params = _spend_query(match, window)
        with self._lock:
            try:
                row = self._conn.execute(
                    f"SELECT COALESCE(SUM(cost_total_pusd), 0) FROM calls WHERE {where}", params
                ).fetchone()
                total = int(row[0])
            except (OverflowError, sqlite3.OperationalError):  # SQLite's 64-bit SUM overflowed
                cursor = self._conn.execute(f"SELECT cost_total_pusd FROM calls WHERE {where}", params)
                total = sum(value for (value,) in cursor)
        return from_pusd(total)

    def load(self) -> AdminState:
        with self._lock:
            limits = {
                name: from_pusd(pusd)
                for name, pusd in self._conn.execute("SELECT budget, limit_pusd FROM budget_limits")
            }
            rows = self._conn.execute(
                "SELECT budget, match, reason, paused_at_ns, paused_by FROM budget_pauses ORDER BY paused_at_ns"
            ).fetchall()
        pauses = tuple(
            PausedScope(parse_match(json.loads(m)), budget, reason, at, by) for budget, m, reason, at, by in rows
        )
        return AdminState(limits=limits, pauses=pauses)

    def _write(self, statements: list[tuple[str, tuple[object, ...]]]) -> None:
        with self._lock:
            conn = self._conn
            conn.execute("BEGIN IMMEDIATE")
            try:
                for sql, params in statements:
                    conn.execute(sql, params)
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise

    def _audit_row(
        self, at_ns: int, actor: str, action: str, budget: str | None, detail: Mapping[str, Any]
    ) -> tuple[str, tuple[object, ...]]:
        return (
            "INSERT INTO budget_audit (at_ns, actor, action, budget, detail) VALUES (?, ?, ?, ?, ?)",
            (at_ns, actor, action, budget, json.dumps(detail, sort_keys=True)),
        )

    def set_limit(self, budget: str, limit: Decimal | None, *, actor: str, at_ns: int) -> None:
        """Override ``budget``'s limit (``None``: back to the configured one), audited."""
        with self._lock:
            row = self._conn.execute("SELECT limit_pusd FROM budget_limits WHERE budget = ?", (budget,)).fetchone()
        old = str(from_pusd(row[0])) if row else None
        if limit is None:
            self._write(
                [
                    ("DELETE FROM budget_limits WHERE budget = ?", (budget,)),
                    self._audit_row(at_ns, actor, "reset_limit", budget, {"old_limit_usd": old}),
                ]
            )
            return
        self._write(
            [
                (
                    "INSERT INTO budget_limits (budget, limit_pusd, updated_at_ns, updated_by) VALUES (?, ?, ?, ?) "
                    "ON CONFLICT (budget) DO UPDATE SET limit_pusd = excluded.limit_pusd, "
                    "updated_at_ns = excluded.updated_at_ns, updated_by = excluded.updated_by",
                    (budget, to_pusd(limit), at_ns, actor),
                ),
                self._audit_row(at_ns, actor, "set_limit", budget, {"old_limit_usd": old, "limit_usd": str(limit)}),
            ]
        )

    def set_paused(
        self,
        budget: str | None,
        match: BudgetMatch,
        paused: bool,
        *,
        actor: str,
        at_ns: int,
        reason: str | None = None,
    ) -> bool:
        """Pause or unpause a budget's scope (``budget`` given) or a scope by match; audited.

        Returns whether anything changed (pausing a paused scope changes nothing and is not audited).
        """
        scope = f"budget:{budget}" if budget is not None else f"match:{canonical(match)}"
        with self._lock:
            exists = self._conn.execute("SELECT 1 FROM budget_pauses WHERE scope = ?", (scope,)).fetchone()
        if bool(exists) == paused:
            return False
        detail: dict[str, Any] = {"match": match.as_dict()}
        if reason:
            detail["reason"] = reason
        if paused:
            change: tuple[str, tuple[object, ...]] = (
                "INSERT INTO budget_pauses (scope, budget, match, reason, paused_at_ns, paused_by) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (scope, budget, canonical(match), reason, at_ns, actor),
            )
        else:
            change = ("DELETE FROM budget_pauses WHERE scope = ?", (scope,))
        self._write([change, self._audit_row(at_ns, actor, "pause" if paused else "unpause", budget, detail)])
        return True

    def audit(self, limit: int = 100) -> list[AuditEntry]:
        """The latest ``limit`` audit entries, newest first."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT at_ns, actor, action, budget, detail FROM budget_audit ORDER BY id DESC LIMIT ?", (limit,)
            ).fetchall()
        return [AuditEntry(at, actor, action, budget, json.loads(detail)) for at, actor, action, budget, detail in rows]

    def close(self) -> None:
        with self._lock:
            self._conn.close()
