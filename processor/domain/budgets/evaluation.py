"""Spend per budget and period, threshold crossings, projection and roll-over (pure, exact).

:class:`BudgetBook` holds one :class:`BudgetTracker` per budget. It is fed committed calls and the
current time; it answers which thresholds are firing and which scopes must be refused. It does
no I/O and takes no locks: the service that owns it serialises access.

Which period a call counts in is decided by the call's end time, not by when it arrived:
a call that ended in a period that is already over is not added to the current one; a call that
ended after the current period (a clock ahead of ours) is kept aside and counted when that
period begins.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from typing import Final

from genai_cost.processor.domain.budgets.config import Budget, BudgetMatch, Threshold
from genai_cost.processor.domain.budgets.periods import PeriodWindow, window_at
from genai_cost.processor.domain.records import PricedCall

ZERO: Final = Decimal(0)
PROJECTION_MIN_ELAPSED_NS: Final = 3600 * 1_000_000_000
"""Projection divides by the time elapsed in the period, but by at least one hour, so the first
minutes of a period do not extrapolate a single call to an absurd figure."""


def projected_spend(spend: Decimal, window: PeriodWindow, now_ns: int) -> Decimal:
    """Linear end-of-period projection: spend x period length / time elapsed (>= 1 h).

    A ``total`` budget has no end: its projection is its spend.
    """
    if window.end_ns is None or spend == 0:
        return spend
    length = window.end_ns - window.start_ns
    elapsed = min(max(now_ns - window.start_ns, PROJECTION_MIN_ELAPSED_NS), length)
    return spend * Decimal(length) / Decimal(elapsed)


def firing_thresholds(spend: Decimal, limit: Decimal, thresholds: Sequence[Threshold]) -> tuple[Threshold, ...]:
    """The thresholds reached: spend >= ratio x limit."""
    return tuple(t for t in thresholds if spend >= t.ratio * limit)


class TransitionKind(StrEnum):
    FIRED = "fired"
    RESOLVED = "resolved"


@dataclass(frozen=True, slots=True)
class Transition:
    """A threshold of a budget started or stopped firing (roll-over, a raised limit)."""

    kind: TransitionKind
    budget: str
    threshold: Threshold
    window: PeriodWindow


@dataclass(frozen=True, slots=True)
class BudgetStatus:
    """A snapshot of one budget, as metrics, the API and alerts show it."""

    budget: Budget
    window: PeriodWindow
    limit_usd: Decimal  # the effective limit (an admin override, else the configured one)
    spend_usd: Decimal
    projected_usd: Decimal
    firing: tuple[Threshold, ...]
    paused: bool
    over_enforced_limit: bool  # enforcement is on and spend >= limit x (1 + grace)
    limit_overridden: bool = False

    @property
    def name(self) -> str:
        return self.budget.name

    @property
    def utilization(self) -> Decimal:
        return self.spend_usd / self.limit_usd

    @property
    def blocked(self) -> bool:
        """Whether calls in this budget's scope are refused (over limit + grace, or paused)."""
        return self.paused or self.over_enforced_limit


@dataclass(slots=True)
class BudgetTracker:
    """The running state of one budget in its current period."""

    budget: Budget
    window: PeriodWindow
    spend: Decimal = ZERO
    limit: Decimal | None = None  # admin override
    paused: bool = False
    firing: tuple[Threshold, ...] = ()
    early: dict[int, Decimal] = field(default_factory=dict)  # spend of calls ending in a later window

    @property
    def effective_limit(self) -> Decimal:
        return self.limit if self.limit is not None else self.budget.limit_usd

    def add(self, end_time_ns: int, amount: Decimal) -> bool:
        """Count a call's cost; return whether the current period's spend changed."""
        if self.window.contains(end_time_ns):
            self.spend += amount
            return True
        if self.window.is_before(end_time_ns):
            start = window_at(
                self.budget.period, end_time_ns, timezone=self.budget.timezone,
                week_start=self.budget.week_start,
            ).start_ns  # fmt: skip
            self.early[start] = self.early.get(start, ZERO) + amount
        return False

    def roll_to(self, window: PeriodWindow) -> None:
        """Start ``window``: spend restarts from the calls already seen that end inside it."""
        self.window = window
        self.spend = self.early.pop(window.start_ns, ZERO)
        self.early = {start: amount for start, amount in self.early.items() if start > window.start_ns}

    def evaluate(self) -> list[Transition]:
        """Update the firing thresholds; return what started and stopped firing."""
        now_firing = firing_thresholds(self.spend, self.effective_limit, self.budget.thresholds)
        out = [
            Transition(TransitionKind.RESOLVED, self.budget.name, t, self.window)
            for t in self.firing
            if t not in now_firing
        ]
        out.extend(
            Transition(TransitionKind.FIRED, self.budget.name, t, self.window)
            for t in now_firing
            if t not in self.firing
        )
        self.firing = now_firing
        return out

    def status(self, now_ns: int) -> BudgetStatus:
        limit = self.effective_limit
        enforce = self.budget.enforce
        return BudgetStatus(
            budget=self.budget,
            window=self.window,
            limit_usd=limit,
            spend_usd=self.spend,
            projected_usd=projected_spend(self.spend, self.window, now_ns),
            firing=self.firing,
            paused=self.paused,
            over_enforced_limit=enforce is not None and self.spend >= limit * (1 + enforce.grace),
            limit_overridden=self.limit is not None,
        )


class BudgetBook:
    """All budgets' trackers: counts committed calls, rolls periods, reports transitions."""

    def __init__(self, budgets: Iterable[Budget], now_ns: int) -> None:
        self._trackers: dict[str, BudgetTracker] = {}
        for budget in budgets:
            self._trackers[budget.name] = BudgetTracker(budget, self._window(budget, now_ns))
        self._uses_tags = any(b.match.tags for b in self.budgets)
        self._scope_cache: dict[tuple[object, ...], tuple[BudgetTracker, ...]] = {}

    @staticmethod
    def _window(budget: Budget, now_ns: int) -> PeriodWindow:
        return window_at(budget.period, now_ns, timezone=budget.timezone, week_start=budget.week_start)

    @property
    def budgets(self) -> tuple[Budget, ...]:
        return tuple(t.budget for t in self._trackers.values())

    def tracker(self, name: str) -> BudgetTracker:
        """The tracker of budget ``name``; ``KeyError`` if there is none."""
        return self._trackers[name]

    def __contains__(self, name: object) -> bool:
        return name in self._trackers

    def windows(self) -> dict[str, PeriodWindow]:
        return {name: t.window for name, t in self._trackers.items()}

    def set_spend(self, spend: Mapping[str, Decimal]) -> None:
        """Set the current period's spend (e.g. summed from the ledger at start-up)."""
        for name, amount in spend.items():
            if name in self._trackers:
                self._trackers[name].spend = amount

    def _matching(self, priced: PricedCall) -> tuple[BudgetTracker, ...]:
        call = priced.call
        tags = tuple(sorted(call.tags.items())) if self._uses_tags and call.tags else ()
        key = (call.agent, call.provider, call.model, call.service, tags)
        found = self._scope_cache.get(key)
        if found is None:
            found = tuple(t for t in self._trackers.values() if t.budget.match.matches(call))
            if len(self._scope_cache) >= 10_000:
                self._scope_cache.clear()
            self._scope_cache[key] = found
        return found

    def add_calls(self, calls: Iterable[PricedCall]) -> set[str]:
        """Count committed calls; return the names of budgets whose current spend changed."""
        changed: set[str] = set()
        if not self._trackers:
            return changed
        for priced in calls:
            amount = priced.cost.total
            if amount == 0:
                continue
            for tracker in self._matching(priced):
                if tracker.add(priced.call.end_time_ns, amount):
                    changed.add(tracker.budget.name)
        return changed

    def due_roll_over(self, now_ns: int) -> list[str]:
        """Budgets whose current period has ended by ``now_ns``."""
        return [name for name, t in self._trackers.items() if t.window.is_before(now_ns)]

    def roll_over(self, now_ns: int) -> list[Transition]:
        """Move every ended period to the one containing ``now_ns``; resolve its alerts.

        Returns the resolutions of the old period and any thresholds the new period starts with
        (calls seen early).
        """
        out: list[Transition] = []
        for name in self.due_roll_over(now_ns):
            tracker = self._trackers[name]
            out.extend(Transition(TransitionKind.RESOLVED, name, t, tracker.window) for t in tracker.firing)
            tracker.firing = ()
            tracker.roll_to(self._window(tracker.budget, now_ns))
            out.extend(tracker.evaluate())
        return out

    def evaluate(self, names: Iterable[str] | None = None) -> list[Transition]:
        """Re-evaluate thresholds (of ``names``, default all); return the transitions."""
        out: list[Transition] = []
        for name in self._trackers if names is None else names:
            out.extend(self._trackers[name].evaluate())
        return out

    def statuses(self, now_ns: int) -> list[BudgetStatus]:
        return [t.status(now_ns) for t in self._trackers.values()]

    def status(self, name: str, now_ns: int) -> BudgetStatus:
        return self._trackers[name].status(now_ns)


@dataclass(frozen=True, slots=True)
class BlockedScope:
    """A scope whose calls enforcement refuses, and why."""

    match: BudgetMatch
    reason: str  # "over_limit" or "paused"
    budget: str | None = None
    spend_usd: Decimal | None = None
    limit_usd: Decimal | None = None
    grace: Decimal | None = None


def blocked_scopes(statuses: Iterable[BudgetStatus], paused: Iterable[BudgetMatch] = ()) -> list[BlockedScope]:
    """Scopes to refuse: budgets paused or over limit + grace, plus scopes paused by hand."""
    out: list[BlockedScope] = []
    for status in statuses:
        if not status.blocked:
            continue
        enforce = status.budget.enforce
        out.append(
            BlockedScope(
                match=status.budget.match,
                reason="paused" if status.paused else "over_limit",
                budget=status.name,
                spend_usd=status.spend_usd,
                limit_usd=status.limit_usd,
                grace=enforce.grace if enforce is not None else None,
            )
        )
    out.extend(BlockedScope(match=m, reason="paused") for m in paused)
    return out
