"""Cost summaries as plain values: grouping keys, calendar periods, exact money text, table layout.

Money arrives here as integer pico-USD (sums of ledger columns, exact Python ints) and leaves as
text with at least six decimals and as many more as needed to stay exact (``0.015150``,
``0.000001234567``): never rounded, never a float.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields
from datetime import datetime, timedelta, tzinfo
from decimal import Decimal
from enum import StrEnum

from genai_cost.processor.domain.timespec import from_ns, to_ns

PICO_DIGITS = 12
MIN_USD_DECIMALS = 6
NO_KEY = "(none)"
ZERO_USD = "0.000000"


class GroupBy(StrEnum):
    """The dimensions a report can be grouped by."""

    AGENT = "agent"
    MODEL = "model"
    PROVIDER = "provider"
    SESSION = "session"
    DAY = "day"
    MONTH = "month"

    @property
    def is_period(self) -> bool:
        return self in (GroupBy.DAY, GroupBy.MONTH)


@dataclass(frozen=True, slots=True)
class Totals:
    """Summed usage and cost of a set of calls; costs are integer pico-USD."""

    calls: int = 0
    unpriced_calls: int = 0
    input_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    output_tokens: int = 0
    reasoning_tokens: int = 0
    cost_input_pusd: int = 0
    cost_cache_read_pusd: int = 0
    cost_cache_write_pusd: int = 0
    cost_output_pusd: int = 0
    cost_reasoning_pusd: int = 0
    cost_total_pusd: int = 0

    def __add__(self, other: Totals) -> Totals:
        return Totals(*(getattr(self, f.name) + getattr(other, f.name) for f in fields(Totals)))

    @property
    def cost_usd(self) -> Decimal:
        return pico_to_usd(self.cost_total_pusd)


@dataclass(frozen=True, slots=True)
class SummaryRow:
    """One group of a report: its key (``None`` for calls without a session) and totals."""

    key: str | None
    totals: Totals


@dataclass(frozen=True, slots=True)
class Period:
    """A calendar day or month in a time zone, as the half-open ns range ``[start_ns, end_ns)``."""

    label: str
    start_ns: int
    end_ns: int


def pico_to_usd(pusd: int) -> Decimal:
    """Integer pico-USD as an exact Decimal amount of USD."""
    return Decimal(pusd).scaleb(-PICO_DIGITS)


def format_usd(pusd: int) -> str:
    """Exact USD text: six decimals at least, more only when needed (``15150000000`` -> ``0.015150``)."""
    if pusd == 0:
        return ZERO_USD
    sign = "-" if pusd < 0 else ""
    whole, frac = divmod(abs(pusd), 10**PICO_DIGITS)
    digits = f"{frac:0{PICO_DIGITS}d}".rstrip("0").ljust(MIN_USD_DECIMALS, "0")
    return f"{sign}{whole}.{digits}"


def total_of(rows: Iterable[SummaryRow]) -> Totals:
    """The grand total of a report's rows."""
    total = Totals()
    for row in rows:
        total = total + row.totals
    return total


def sort_rows(rows: Iterable[SummaryRow], group_by: GroupBy) -> list[SummaryRow]:
    """Periods in calendar order; other groups by cost, largest first, then by key."""
    if group_by.is_period:
        return sorted(rows, key=lambda r: r.key or "")
    return sorted(rows, key=lambda r: (-r.totals.cost_total_pusd, r.key is None, r.key or ""))


def periods(start_ns: int, end_ns: int, group_by: GroupBy, tz: tzinfo) -> list[Period]:
    """The calendar days or months in ``tz`` that cover ``[start_ns, end_ns]`` (both inclusive).

    Boundaries are local midnights, so days around a DST change are 23 or 25 hours long.
    """
    if not group_by.is_period:
        raise ValueError(f"group_by {group_by.value!r} is not a calendar period")
    first = from_ns(start_ns, tz)
    if group_by is GroupBy.DAY:
        cursor = datetime(first.year, first.month, first.day, tzinfo=tz)
    else:
        cursor = datetime(first.year, first.month, 1, tzinfo=tz)
    out: list[Period] = []
    cursor_ns = to_ns(cursor)
    while cursor_ns <= end_ns:
        following = _next_period(cursor, group_by, tz)
        following_ns = to_ns(following)
        label = cursor.strftime("%Y-%m-%d" if group_by is GroupBy.DAY else "%Y-%m")
        out.append(Period(label, cursor_ns, following_ns))
        cursor, cursor_ns = following, following_ns
    return out


def _next_period(start: datetime, group_by: GroupBy, tz: tzinfo) -> datetime:
    if group_by is GroupBy.DAY:
        nxt = (start.replace(tzinfo=None) + timedelta(days=1)).date()
        return datetime(nxt.year, nxt.month, nxt.day, tzinfo=tz)
    year, month = (start.year + 1, 1) if start.month == 12 else (start.year, start.month + 1)
    return datetime(year, month, 1, tzinfo=tz)


# ----- presentation -----------------------------------------------------------------------------

TOKEN_FIELDS: tuple[tuple[str, str], ...] = (
    ("input_tokens", "input"),
    ("cache_read_tokens", "cache_read"),
    ("cache_write_tokens", "cache_write"),
    ("output_tokens", "output"),
    ("reasoning_tokens", "reasoning"),
)
COST_FIELDS: tuple[tuple[str, str], ...] = (
    ("cost_input_pusd", "input"),
    ("cost_cache_read_pusd", "cache_read"),
    ("cost_cache_write_pusd", "cache_write"),
    ("cost_output_pusd", "output"),
    ("cost_reasoning_pusd", "reasoning"),
)

FLAT_COLUMNS: tuple[str, ...] = (
    "calls",
    "unpriced_calls",
    *(f"{name}_tokens" for _, name in TOKEN_FIELDS),
    *(f"cost_{name}_usd" for _, name in COST_FIELDS),
    "cost_usd",
)


def flat_record(key: str | None, totals: Totals) -> dict[str, int | str | None]:
    """A flat mapping for CSV: token counts as ints, money as exact USD text."""
    record: dict[str, int | str | None] = {"key": key}
    record["calls"] = totals.calls
    record["unpriced_calls"] = totals.unpriced_calls
    for attr, name in TOKEN_FIELDS:
        record[f"{name}_tokens"] = getattr(totals, attr)
    for attr, name in COST_FIELDS:
        record[f"cost_{name}_usd"] = format_usd(getattr(totals, attr))
    record["cost_usd"] = format_usd(totals.cost_total_pusd)
    return record


def nested_record(totals: Totals) -> dict[str, object]:
    """A nested mapping for JSON: ``tokens`` and ``cost_usd_by_type`` objects, money as strings."""
    return {
        "calls": totals.calls,
        "unpriced_calls": totals.unpriced_calls,
        "tokens": {name: getattr(totals, attr) for attr, name in TOKEN_FIELDS},
        "cost_usd": format_usd(totals.cost_total_pusd),
        "cost_usd_by_type": {name: format_usd(getattr(totals, attr)) for attr, name in COST_FIELDS},
    }


def report_document(rows: Sequence[SummaryRow], group_by: GroupBy, meta: dict[str, object]) -> dict[str, object]:
    """The JSON document of a report (shared by the CLI and the HTTP API)."""
    return {
        **meta,
        "group_by": group_by.value,
        "currency": "USD",
        "groups": [{group_by.value: row.key, **nested_record(row.totals)} for row in rows],
        "total": nested_record(total_of(rows)),
    }


def _int(n: int) -> str:
    return f"{n:,}"


TABLE_HEADERS: tuple[str, ...] = (
    "calls",
    "unpriced",
    "input",
    "cache read",
    "cache write",
    "output",
    "reasoning",
    "cost (USD)",
)


def render_table(rows: Sequence[SummaryRow], group_by: GroupBy) -> str:
    """A plain-text table with a total line: key left-aligned, numbers right-aligned."""
    body: list[list[str]] = []
    for row in [*rows, SummaryRow("TOTAL", total_of(rows))]:
        t = row.totals
        body.append(
            [
                NO_KEY if row.key is None else row.key,
                _int(t.calls),
                _int(t.unpriced_calls),
                *(_int(getattr(t, attr)) for attr, _ in TOKEN_FIELDS),
                format_usd(t.cost_total_pusd),
            ]
        )
    _align_decimals(body, column=-1)
    header = [group_by.value, *TABLE_HEADERS]
    widths = [max(len(line[i]) for line in [header, *body]) for i in range(len(header))]

    def line(cells: Sequence[str]) -> str:
        first = cells[0].ljust(widths[0])
        rest = (cell.rjust(width) for cell, width in zip(cells[1:], widths[1:], strict=True))
        return "  ".join([first, *rest])

    rule = "  ".join("-" * w for w in widths)
    lines = [line(header), rule, *(line(cells) for cells in body[:-1]), rule, line(body[-1])]
    return "\n".join(lines) + "\n"


def _align_decimals(body: list[list[str]], column: int) -> None:
    """Pad amounts on the right so their decimal points line up once right-aligned."""
    width = max(len(cells[column].partition(".")[2]) for cells in body)
    for cells in body:
        cells[column] = cells[column] + " " * (width - len(cells[column].partition(".")[2]))
