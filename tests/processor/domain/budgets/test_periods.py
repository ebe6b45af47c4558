from __future__ import annotations

import pytest

from genai_cost.processor.domain.budgets import Period, PeriodWindow, local_iso, window_at

from .conftest import ns


@pytest.mark.parametrize(
    ("period", "at", "tz", "week_start", "start", "end"),
    [
        (Period.DAY, "2025-03-14T12:30", "UTC", 0, "2025-03-14T00:00", "2025-03-15T00:00"),
        (Period.DAY, "2025-03-14T00:00", "UTC", 0, "2025-03-14T00:00", "2025-03-15T00:00"),
        (Period.DAY, "2025-03-14T23:59:59", "Asia/Tokyo", 0, "2025-03-14T00:00", "2025-03-15T00:00"),
        # Friday 14 March 2025: weeks start on Monday 10 March, or Sunday 9 March
        (Period.WEEK, "2025-03-14T08:00", "UTC", 0, "2025-03-10T00:00", "2025-03-17T00:00"),
        (Period.WEEK, "2025-03-14T08:00", "UTC", 6, "2025-03-09T00:00", "2025-03-16T00:00"),
        (Period.WEEK, "2025-03-10T00:00", "UTC", 0, "2025-03-10T00:00", "2025-03-17T00:00"),
        (Period.MONTH, "2025-12-31T23:00", "UTC", 0, "2025-12-01T00:00", "2026-01-01T00:00"),
        (Period.MONTH, "2024-02-29T10:00", "Europe/Berlin", 0, "2024-02-01T00:00", "2024-03-01T00:00"),
        # DST: Berlin springs forward on 30 March 2025 (a 23 h day) and back on 26 October (25 h)
        (Period.DAY, "2025-03-30T12:00", "Europe/Berlin", 0, "2025-03-30T00:00", "2025-03-31T00:00"),
        (Period.DAY, "2025-10-26T12:00", "Europe/Berlin", 0, "2025-10-26T00:00", "2025-10-27T00:00"),
    ],
)
def test_calendar_windows(period: Period, at: str, tz: str, week_start: int, start: str, end: str) -> None:
    window = window_at(period, ns(at, tz), timezone=tz, week_start=week_start)
    assert window == PeriodWindow(period, ns(start, tz), ns(end, tz))


def test_dst_days_last_23_and_25_hours() -> None:
    spring = window_at(Period.DAY, ns("2025-03-30T12:00", "Europe/Berlin"), timezone="Europe/Berlin")
    autumn = window_at(Period.DAY, ns("2025-10-26T12:00", "Europe/Berlin"), timezone="Europe/Berlin")
    assert spring.end_ns is not None and autumn.end_ns is not None
    assert (spring.end_ns - spring.start_ns) // 3_600_000_000_000 == 23
    assert (autumn.end_ns - autumn.start_ns) // 3_600_000_000_000 == 25


def test_timezone_decides_the_day() -> None:
    # 23:30 UTC on 14 March is already 15 March in Berlin
    t = ns("2025-03-14T23:30")
    assert window_at(Period.DAY, t, timezone="UTC").start_ns == ns("2025-03-14T00:00")
    assert window_at(Period.DAY, t, timezone="Europe/Berlin").start_ns == ns("2025-03-15T00:00", "Europe/Berlin")


def test_midnight_in_a_dst_gap_starts_at_the_change() -> None:
    # America/Havana springs forward at midnight: 2025-03-09 00:00 does not exist (-05:00 -> -04:00)
    window = window_at(Period.DAY, ns("2025-03-09T12:00", "America/Havana"), timezone="America/Havana")
    assert window.start_ns == ns("2025-03-09T05:00")
    assert window.contains(ns("2025-03-09T05:00")) and not window.contains(ns("2025-03-09T04:59:59"))


def test_total_never_ends_and_boundaries_are_half_open() -> None:
    total = window_at(Period.TOTAL, ns("2025-03-14T12:00"))
    assert total == PeriodWindow(Period.TOTAL, 0, None)
    assert total.contains(0) and not total.is_before(10**19)
    day = window_at(Period.DAY, ns("2025-03-14T12:00"))
    assert day.contains(ns("2025-03-14T00:00")) and not day.contains(ns("2025-03-15T00:00"))
    assert day.is_before(ns("2025-03-15T00:00")) and not day.is_before(ns("2025-03-14T23:59:59"))


def test_local_iso() -> None:
    assert local_iso(ns("2025-03-01T00:00", "Europe/Berlin"), "Europe/Berlin") == "2025-03-01T00:00:00+01:00"
