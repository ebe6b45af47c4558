"""Calendar periods in an IANA time zone: the window ``[start, end)`` that contains an instant.

Days start at local midnight, weeks on the configured weekday (Monday by default), months on
the 1st. Boundaries are computed on the local calendar, so a day across a DST change lasts 23 or
25 hours; a local midnight that does not exist (a DST gap) starts at the instant of the change.
"""

from __future__ import annotations

import functools
import zoneinfo
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Final

from genai_cost.processor.domain.budgets.config import Period

NS_PER_S: Final = 1_000_000_000


@dataclass(frozen=True, slots=True)
class PeriodWindow:
    """One period: ``start_ns`` inclusive, ``end_ns`` exclusive (``None``: never ends)."""

    period: Period
    start_ns: int
    end_ns: int | None

    def contains(self, t_ns: int) -> bool:
        return t_ns >= self.start_ns and (self.end_ns is None or t_ns < self.end_ns)

    def is_before(self, t_ns: int) -> bool:
        """Whether the window has ended by ``t_ns``."""
        return self.end_ns is not None and t_ns >= self.end_ns


@functools.lru_cache(maxsize=64)
def _zone(name: str) -> zoneinfo.ZoneInfo:
    return zoneinfo.ZoneInfo(name)


def _midnight_ns(day: date, tz: zoneinfo.ZoneInfo) -> int:
    local = datetime(day.year, day.month, day.day, tzinfo=tz)  # fold=0: a gap maps to the change
    return int(local.timestamp()) * NS_PER_S


def window_at(period: Period, t_ns: int, *, timezone: str = "UTC", week_start: int = 0) -> PeriodWindow:
    """The window of ``period`` containing the instant ``t_ns`` (Unix ns)."""
    if period is Period.TOTAL:
        return PeriodWindow(period, 0, None)
    tz = _zone(timezone)
    local = datetime.fromtimestamp(t_ns // NS_PER_S, tz)
    today = local.date()
    if period is Period.DAY:
        first, after = today, today + timedelta(days=1)
    elif period is Period.WEEK:
        first = today - timedelta(days=(today.weekday() - week_start) % 7)
        after = first + timedelta(days=7)
    else:
        first = today.replace(day=1)
        after = date(first.year + 1, 1, 1) if first.month == 12 else date(first.year, first.month + 1, 1)
    start, end = _midnight_ns(first, tz), _midnight_ns(after, tz)
    if t_ns < start:  # t_ns's local date maps before midnight only inside a DST gap's shadow
        return window_at(period, start - 1, timezone=timezone, week_start=week_start)
    return PeriodWindow(period, start, end)


def local_iso(t_ns: int, timezone: str) -> str:
    """``2025-03-01T00:00:00+01:00``: an instant as local time with its offset."""
    return datetime.fromtimestamp(t_ns // NS_PER_S, _zone(timezone)).isoformat()
