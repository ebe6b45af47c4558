"""Budgets at run time: spend from the ledger at start-up, then from every committed batch.

Wiring: :class:`BudgetService` owns a :class:`BudgetBook` (pure state), reads start-up spend and
admin changes from a :class:`BudgetStore`, is registered as the pipeline's commit listener, and
states the firing alerts to an alert sink (the :class:`AlertmanagerClient`) after every change.
A ticker thread rolls periods over on the (injectable) clock. After a restart, spend comes back
from the ledger and the alerts that should fire are sent again.

Start the service before the receivers accept data: calls committed between the start-up spend
query and the listener registration would otherwise be missed.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from decimal import Decimal
from typing import Protocol

from genai_cost.processor.adapters.alertmanager import Alert, AlertmanagerSettings
from genai_cost.processor.adapters.budget_alerts import budget_alerts
from genai_cost.processor.adapters.budget_store import AuditEntry, BudgetStore, PausedScope, to_pusd
from genai_cost.processor.domain.budgets import (
    BlockedScope,
    Budget,
    BudgetBook,
    BudgetMatch,
    BudgetStatus,
    Transition,
    blocked_scopes,
)
from genai_cost.processor.domain.records import PricedCall

logger = logging.getLogger(__name__)

Clock = Callable[[], int]
"""Unix time in nanoseconds (``time.time_ns``); tests inject a fake one."""


class AlertSink(Protocol):
    """Receives the complete set of firing alerts after every change."""

    def update(self, firing: Iterable[Alert]) -> None: ...


class UnknownBudgetError(KeyError):
    """No budget has this name."""

    def __str__(self) -> str:
        return f"no budget named {self.args[0]!r}"


class BudgetService:
    """Evaluates budgets as calls are committed and keeps Alertmanager told."""

    def __init__(
        self,
        budgets: Sequence[Budget],
        *,
        store: BudgetStore | None = None,
        alerts: AlertSink | None = None,
        alert_settings: AlertmanagerSettings | None = None,
        clock: Clock = time.time_ns,
        tick_interval: float = 1.0,
    ) -> None:
        self.budgets = tuple(budgets)
        self._store = store
        self._alerts = alerts
        self._alert_settings = alert_settings or AlertmanagerSettings()
        self._clock = clock
        self._tick_interval = tick_interval
        self._lock = threading.RLock()
        self._book = BudgetBook(self.budgets, clock())
        self._paused_scopes: list[PausedScope] = []
        self._blocked: tuple[BlockedScope, ...] = ()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._started = False

    # -- lifecycle ------------------------------------------------------------------------------

    def start(self) -> None:
        """Load admin changes and the current periods' spend, publish alerts, start the ticker."""
        with self._lock:
            now = self._clock()
            self._book = BudgetBook(self.budgets, now)
            if self._store is not None:
                admin = self._store.load()
                for name, limit in admin.limits.items():
                    if name in self._book:
                        self._book.tracker(name).limit = limit
                for pause in admin.pauses:
                    if pause.budget is None:
                        self._paused_scopes.append(pause)
                    elif pause.budget in self._book:
                        self._book.tracker(pause.budget).paused = True
                windows = self._book.windows()
                spend = {b.name: self._store.spend(b.match, windows[b.name]) for b in self.budgets}
                self._book.set_spend(spend)
            self._book.evaluate()
            self._publish(now)
            self._started = True
        if self._thread is None and self._tick_interval > 0:
            self._thread = threading.Thread(target=self._run, name="genai-cost-budgets", daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _run(self) -> None:
        while not self._stop.wait(self._tick_interval):
            try:
                self.tick()
            except Exception:
                logger.exception("budget tick failed")

    # -- evaluation -----------------------------------------------------------------------------

    def on_commit(self, calls: Sequence[PricedCall]) -> None:
        """Commit listener: count newly recorded calls; alert at once on a crossed threshold."""
        with self._lock:
            changed = self._book.add_calls(calls)
            if not changed:
                return
            transitions = self._book.evaluate(changed)
            self._log(transitions)
            self._publish(self._clock())

    def tick(self) -> list[Transition]:
        """Roll over ended periods (resolving their alerts) and refresh alerts and projections."""
        with self._lock:
            now = self._clock()
            transitions = self._book.roll_over(now)
            self._log(transitions)
            self._publish(now)
            return transitions

    def _log(self, transitions: Sequence[Transition]) -> None:
        for t in transitions:
            logger.info("budget %s: threshold %s %s", t.budget, t.threshold.label, t.kind.value)

    def _publish(self, now: int) -> None:
        statuses = self._book.statuses(now)
        self._blocked = tuple(blocked_scopes(statuses, [p.match for p in self._paused_scopes]))
        if self._alerts is not None:
            firing: list[Alert] = []
            for status in statuses:
                firing.extend(budget_alerts(status, self._alert_settings))
            self._alerts.update(firing)

    # -- queries --------------------------------------------------------------------------------

    def now(self) -> int:
        return self._clock()

    def statuses(self) -> list[BudgetStatus]:
        with self._lock:
            return self._book.statuses(self._clock())

    def status(self, name: str) -> BudgetStatus:
        with self._lock:
            if name not in self._book:
                raise UnknownBudgetError(name)
            return self._book.status(name, self._clock())

    def blocked(self) -> tuple[BlockedScope, ...]:
        """Scopes enforcement must refuse (as of the last change or tick)."""
        return self._blocked

    def paused_scopes(self) -> list[PausedScope]:
        with self._lock:
            return list(self._paused_scopes)

    def audit(self, limit: int = 100) -> list[AuditEntry]:
        return self._store.audit(limit) if self._store is not None else []

    # -- administration -------------------------------------------------------------------------

    def set_limit(self, name: str, limit: Decimal | None, *, actor: str) -> BudgetStatus:
        """Override a budget's limit (``None`` restores the configured one); persisted and audited."""
        if limit is not None:
            to_pusd(limit)  # ValueError if finer than a pico-USD
        with self._lock:
            if name not in self._book:
                raise UnknownBudgetError(name)
            now = self._clock()
            if self._store is not None:
                self._store.set_limit(name, limit, actor=actor, at_ns=now)
            self._book.tracker(name).limit = limit
            self._log(self._book.evaluate([name]))
            self._publish(now)
            return self._book.status(name, now)

    def set_budget_paused(self, name: str, paused: bool, *, actor: str, reason: str | None = None) -> BudgetStatus:
        """Pause (refuse every call in its scope) or unpause a budget; persisted and audited."""
        with self._lock:
            if name not in self._book:
                raise UnknownBudgetError(name)
            now = self._clock()
            tracker = self._book.tracker(name)
            if self._store is not None:
                self._store.set_paused(name, tracker.budget.match, paused, actor=actor, at_ns=now, reason=reason)
            tracker.paused = paused
            self._publish(now)
            return self._book.status(name, now)

    def set_scope_paused(self, match: BudgetMatch, paused: bool, *, actor: str, reason: str | None = None) -> bool:
        """Pause or unpause an arbitrary scope; returns whether anything changed."""
        with self._lock:
            now = self._clock()
            current = [p for p in self._paused_scopes if p.match == match]
            if bool(current) == paused:
                return False
            if self._store is not None:
                self._store.set_paused(None, match, paused, actor=actor, at_ns=now, reason=reason)
            if paused:
                self._paused_scopes.append(PausedScope(match, None, reason, now, actor))
            else:
                self._paused_scopes = [p for p in self._paused_scopes if p.match != match]
            self._publish(now)
            return True
