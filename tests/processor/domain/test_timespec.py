"""Time specs: ISO dates and datetimes, ``now`` and relative durations, resolved in a zone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from genai_cost.processor.domain.timespec import (
    TimeSpec,
    TimeSpecError,
    from_ns,
    iso_utc_ns,
    parse_zone,
    to_ns,
)

NOW = datetime(2024, 5, 10, 12, 30, tzinfo=UTC)
PARIS = ZoneInfo("Europe/Paris")


@pytest.mark.parametrize(
    ("text", "zone", "expected"),
    [
        ("7d", UTC, datetime(2024, 5, 3, 12, 30, tzinfo=UTC)),
        ("12h", PARIS, datetime(2024, 5, 10, 0, 30, tzinfo=UTC)),
        ("30m", UTC, datetime(2024, 5, 10, 12, 0, tzinfo=UTC)),
        ("45s", UTC, datetime(2024, 5, 10, 12, 29, 15, tzinfo=UTC)),
        ("2w", UTC, datetime(2024, 4, 26, 12, 30, tzinfo=UTC)),
        ("now", PARIS, NOW),
        ("2024-05-01", UTC, datetime(2024, 5, 1, tzinfo=UTC)),
        ("2024-05-01", PARIS, datetime(2024, 4, 30, 22, tzinfo=UTC)),  # local midnight, +02:00
        ("2024-05-01T12:00", PARIS, datetime(2024, 5, 1, 10, tzinfo=UTC)),
        ("2024-05-01 12:00:05", UTC, datetime(2024, 5, 1, 12, 0, 5, tzinfo=UTC)),
        ("2024-05-01T12:00Z", PARIS, datetime(2024, 5, 1, 12, tzinfo=UTC)),  # explicit offset wins
        ("2024-05-01T12:00:00-05:00", PARIS, datetime(2024, 5, 1, 17, tzinfo=UTC)),
    ],
)
def test_resolve(text: str, zone: ZoneInfo, expected: datetime) -> None:
    resolved = TimeSpec.parse(text).resolve(NOW, zone)
    assert resolved == expected
    assert TimeSpec.parse(text).resolve_ns(NOW, zone) == to_ns(expected)


@pytest.mark.parametrize("text", ["7x", "7", "d7", "-7d", "yesterday", "2024-13-01", "2024-05-01T25:00", "", "1.5d"])
def test_parse_rejects_with_the_value_named(text: str) -> None:
    with pytest.raises(TimeSpecError) as info:
        TimeSpec.parse(text)
    assert str(info.value).startswith(f"{text!r} is not an ISO date (2024-05-01), an ISO datetime")


def test_ns_conversions_are_exact() -> None:
    moment = datetime(2024, 5, 1, 12, 0, 0, 123456, tzinfo=UTC)
    assert to_ns(moment) == 1_714_564_800_123_456_000
    assert from_ns(1_714_564_800_123_456_789) == moment
    assert iso_utc_ns(1_714_564_800_123_456_789) == "2024-05-01T12:00:00.123456789Z"
    assert iso_utc_ns(0) == "1970-01-01T00:00:00.000000000Z"
    assert to_ns(datetime(2024, 5, 1, tzinfo=UTC) - timedelta(microseconds=1)) == 1_714_521_599_999_999_000


def test_parse_zone() -> None:
    assert parse_zone("Asia/Kolkata").key == "Asia/Kolkata"
    with pytest.raises(ValueError, match="'Mars/Olympus' is not a known IANA time zone"):
        parse_zone("Mars/Olympus")
    with pytest.raises(ValueError, match=r"'\.\./etc/passwd' is not a known IANA time zone"):
        parse_zone("../etc/passwd")
