"""Points in time as users type them: ISO dates, ISO datetimes, ``now`` and relative ``7d``.

A spec is parsed once (so a bad value is reported before anything runs) and resolved later
against a clock and a time zone: a date means local midnight there, a datetime without an
offset is local time there, ``7d`` means seven days before now.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
NS_PER_US = 1_000

_RELATIVE = re.compile(r"(\d{1,9})([smhdw])")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")

HELP = (
    "an ISO date (2024-05-01), an ISO datetime (2024-05-01T12:00, 2024-05-01T12:00Z), 'now', "
    "or a duration ago (30m, 12h, 7d, 2w)"
)


class TimeSpecError(ValueError):
    """A time spec that cannot be parsed; the message names the value."""


@dataclass(frozen=True, slots=True)
class TimeSpec:
    """A parsed, not yet resolved, point in time."""

    text: str
    ago: timedelta | None = None
    day: date | None = None
    moment: datetime | None = None  # naive means local time in the resolving zone

    @classmethod
    def parse(cls, text: str) -> TimeSpec:
        """Parse ``text``; raises :class:`TimeSpecError` naming it when it is none of :data:`HELP`."""
        value = text.strip()
        if value == "now":
            return cls(text, ago=timedelta(0))
        match = _RELATIVE.fullmatch(value)
        if match:
            return cls(text, ago=timedelta(**{_UNITS[match[2]]: int(match[1])}))
        try:
            if _DATE.fullmatch(value):
                return cls(text, day=date.fromisoformat(value))
            if "T" in value or " " in value:
                return cls(text, moment=datetime.fromisoformat(value))
        except ValueError:
            pass
        raise TimeSpecError(f"{text!r} is not {HELP}")

    def resolve(self, now: datetime, tz: tzinfo) -> datetime:
        """The aware datetime this spec names, given the current time and the local zone."""
        if self.ago is not None:
            return now - self.ago
        if self.day is not None:
            return datetime(self.day.year, self.day.month, self.day.day, tzinfo=tz)
        assert self.moment is not None
        if self.moment.tzinfo is None:
            return self.moment.replace(tzinfo=tz)
        return self.moment

    def resolve_ns(self, now: datetime, tz: tzinfo) -> int:
        """Like :meth:`resolve`, as integer nanoseconds since the Unix epoch."""
        return to_ns(self.resolve(now, tz))


def to_ns(moment: datetime) -> int:
    """Nanoseconds since the epoch of an aware datetime (exact, no float)."""
    return (moment - EPOCH) // timedelta(microseconds=1) * NS_PER_US


def from_ns(ns: int, tz: tzinfo = UTC) -> datetime:
    """The aware datetime (microsecond precision) of ``ns`` nanoseconds since the epoch."""
    return (EPOCH + timedelta(microseconds=ns // NS_PER_US)).astimezone(tz)


def iso_utc_ns(ns: int) -> str:
    """RFC 3339 UTC text with all nine fractional digits, e.g. ``2024-05-01T12:00:00.000000001Z``."""
    seconds, frac = divmod(ns, 1_000_000_000)
    t = time.gmtime(seconds)
    return f"{t[0]:04d}-{t[1]:02d}-{t[2]:02d}T{t[3]:02d}:{t[4]:02d}:{t[5]:02d}.{frac:09d}Z"


def parse_zone(text: str) -> ZoneInfo:
    """An IANA time zone by name; raises ``ValueError`` naming the value when unknown."""
    try:
        return ZoneInfo(text)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"{text!r} is not a known IANA time zone (e.g. UTC, Europe/Paris)") from None
