"""Pure report values: exact money text, calendar periods, sorting and the table layout."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from genai_cost.processor.domain.report import (
    GroupBy,
    SummaryRow,
    Totals,
    format_usd,
    nested_record,
    periods,
    pico_to_usd,
    render_table,
    sort_rows,
)
from genai_cost.processor.domain.timespec import to_ns


@pytest.mark.parametrize(
    ("pusd", "text"),
    [
        (0, "0.000000"),
        (15_150_000_000, "0.015150"),
        (1, "0.000000000001"),
        (1_234_567, "0.000001234567"),
        (1_000_000, "0.000001"),
        (10**12, "1.000000"),
        (123_456_789_012_345_678, "123456.789012345678"),
        (12_000_000_000_000_000_369, "12000000.000000000369"),
        (-2_500_000, "-0.0000025"),
    ],
)
def test_format_usd_is_exact_with_at_least_six_decimals(pusd: int, text: str) -> None:
    assert format_usd(pusd) == text
    assert Decimal(text) == pico_to_usd(pusd)


def test_pico_to_usd_is_an_exact_decimal() -> None:
    assert pico_to_usd(15_150_000_000) == Decimal("0.01515")
    assert pico_to_usd(3) + pico_to_usd(4) == Decimal("0.000000000007")


def utc(text: str) -> int:
    return to_ns(datetime.fromisoformat(text))


def test_day_periods_in_utc() -> None:
    got = periods(utc("2024-05-01T10:00:00+00:00"), utc("2024-05-03T00:00:00+00:00"), GroupBy.DAY, UTC)
    assert [(p.label, p.start_ns, p.end_ns) for p in got] == [
        ("2024-05-01", utc("2024-05-01T00:00:00+00:00"), utc("2024-05-02T00:00:00+00:00")),
        ("2024-05-02", utc("2024-05-02T00:00:00+00:00"), utc("2024-05-03T00:00:00+00:00")),
        ("2024-05-03", utc("2024-05-03T00:00:00+00:00"), utc("2024-05-04T00:00:00+00:00")),
    ]


def test_day_periods_across_dst_are_23_and_25_hours() -> None:
    paris = ZoneInfo("Europe/Paris")
    spring = periods(utc("2024-03-31T12:00:00+00:00"), utc("2024-03-31T12:00:00+00:00"), GroupBy.DAY, paris)
    assert [(p.label, (p.end_ns - p.start_ns) // 3_600_000_000_000) for p in spring] == [("2024-03-31", 23)]
    assert spring[0].start_ns == utc("2024-03-30T23:00:00+00:00")
    autumn = periods(utc("2024-10-27T12:00:00+00:00"), utc("2024-10-27T12:00:00+00:00"), GroupBy.DAY, paris)
    assert [(p.label, (p.end_ns - p.start_ns) // 3_600_000_000_000) for p in autumn] == [("2024-10-27", 25)]


def test_month_periods_cross_a_year() -> None:
    tokyo = ZoneInfo("Asia/Tokyo")
    got = periods(utc("2023-11-30T15:00:00+00:00"), utc("2024-01-05T00:00:00+00:00"), GroupBy.MONTH, tokyo)
    assert [(p.label, p.start_ns) for p in got] == [
        ("2023-12", utc("2023-11-30T15:00:00+00:00")),  # local midnight of 1 December
        ("2024-01", utc("2023-12-31T15:00:00+00:00")),
    ]
    assert got[-1].end_ns == utc("2024-01-31T15:00:00+00:00")


def test_periods_reject_non_calendar_grouping() -> None:
    with pytest.raises(ValueError, match="group_by 'agent' is not a calendar period"):
        periods(0, 1, GroupBy.AGENT, UTC)


def test_sort_rows() -> None:
    rows = [SummaryRow("b", Totals(cost_total_pusd=5)), SummaryRow(None, Totals(cost_total_pusd=5)),
            SummaryRow("a", Totals(cost_total_pusd=5)), SummaryRow("z", Totals(cost_total_pusd=9))]  # fmt: skip
    assert [r.key for r in sort_rows(rows, GroupBy.SESSION)] == ["z", "a", "b", None]
    days = [SummaryRow("2024-05-02", Totals(cost_total_pusd=1)), SummaryRow("2024-05-01", Totals())]
    assert [r.key for r in sort_rows(days, GroupBy.DAY)] == ["2024-05-01", "2024-05-02"]


def test_nested_record() -> None:
    t = Totals(calls=3, unpriced_calls=1, input_tokens=10, reasoning_tokens=2, cost_input_pusd=7,
               cost_reasoning_pusd=15_000_000, cost_total_pusd=15_000_007)  # fmt: skip
    assert nested_record(t) == {
        "calls": 3,
        "unpriced_calls": 1,
        "tokens": {"input": 10, "cache_read": 0, "cache_write": 0, "output": 0, "reasoning": 2},
        "cost_usd": "0.000015000007",
        "cost_usd_by_type": {
            "input": "0.000000000007",
            "cache_read": "0.000000",
            "cache_write": "0.000000",
            "output": "0.000000",
            "reasoning": "0.000015",
        },
    }


def test_table_layout_aligns_decimal_points_and_totals() -> None:
    rows = [
        SummaryRow("planner", Totals(calls=1200, input_tokens=1_234_567, output_tokens=89,
                                     cost_total_pusd=15_150_000_000)),
        SummaryRow(None, Totals(calls=1, unpriced_calls=1, cost_total_pusd=1_234_567)),
    ]  # fmt: skip
    assert render_table(rows, GroupBy.SESSION).splitlines() == [
        "session  calls  unpriced      input  cache read  cache write  output  reasoning      cost (USD)",
        "-------  -----  --------  ---------  ----------  -----------  ------  ---------  --------------",
        "planner  1,200         0  1,234,567           0            0      89          0  0.015150      ",
        "(none)       1         1          0           0            0       0          0  0.000001234567",
        "-------  -----  --------  ---------  ----------  -----------  ------  ---------  --------------",
        "TOTAL    1,201         1  1,234,567           0            0      89          0  0.015151234567",
    ]
