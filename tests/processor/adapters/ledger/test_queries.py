"""Read-side ledger queries against ledgers built row by row; expected sums written out by hand."""

from __future__ import annotations

import math
import random
import sqlite3
from datetime import datetime
from pathlib import Path
from types import ModuleType
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from genai_cost.processor.adapters.ledger import queries
from genai_cost.processor.adapters.ledger.queries import (
    CallFilter,
    CostUpdate,
    apply_cost_updates,
    connect_readonly,
    connect_readwrite,
    count_calls,
    iter_calls,
    rows_to_reprice,
    summarize,
    total,
    unpriced_models,
)
from genai_cost.processor.adapters.ledger.schema import CALL_COLUMNS
from genai_cost.processor.domain.records import PriceSource, TokenUsage
from genai_cost.processor.domain.report import GroupBy, Totals, periods
from genai_cost.processor.pipeline.ports import LedgerError

UTC = ZoneInfo("UTC")


def ns(text: str) -> int:
    return int(datetime.fromisoformat(text).timestamp()) * 1_000_000_000


def sample(lr: ModuleType) -> list[dict[str, Any]]:
    """Five calls: two agents' priced calls, one unpriced call, one provider-reported cost."""
    return [
        lr.row(agent="a", provider="openai", model="gpt-4o", session="s1",
               end_time_ns=ns("2024-05-01T10:00:00+00:00"),
               input_tokens=1000, cache_read_tokens=200, output_tokens=300, reasoning_tokens=50,
               cost_input_pusd=2_500_000_000, cost_cache_read_pusd=250_000_000,
               cost_output_pusd=3_000_000_000, cost_reasoning_pusd=500_000_000),
        lr.row(agent="a", provider="anthropic", model="claude-sonnet-4", session="s1",
               end_time_ns=ns("2024-05-01T23:30:00+00:00"),
               input_tokens=500, cache_write_tokens=100, output_tokens=100,
               cost_input_pusd=1_500_000_000, cost_cache_write_pusd=375_000_000,
               cost_output_pusd=1_500_000_000),
        lr.row(agent="b", provider="openai", model="gpt-4o",
               end_time_ns=ns("2024-05-02T00:30:00+00:00"),
               input_tokens=2000, output_tokens=1000,
               cost_input_pusd=5_000_000_000, cost_output_pusd=10_000_000_000),
        lr.row(agent="b", provider="openai", model="mystery-model", price_source="unpriced",
               end_time_ns=ns("2024-05-02T12:00:00+00:00"), input_tokens=100, output_tokens=10),
        lr.row(agent="c", provider="openrouter", model="x", price_source="provider",
               end_time_ns=ns("2024-06-01T00:00:00+00:00"), input_tokens=10, output_tokens=10,
               cost_total_pusd=123_456_789),
    ]  # fmt: skip


@pytest.fixture
def ledger(tmp_path: Path, ledger_rows: ModuleType) -> sqlite3.Connection:
    path = ledger_rows.create_ledger(tmp_path / "ledger.db", sample(ledger_rows))
    conn = connect_readonly(path)
    yield conn
    conn.close()


def keyed(rows: list[Any]) -> list[tuple[str | None, int, int]]:
    return [(r.key, r.totals.calls, r.totals.cost_total_pusd) for r in rows]


def test_by_agent_sums_every_column_exactly(ledger: sqlite3.Connection) -> None:
    rows = summarize(ledger, GroupBy.AGENT, CallFilter(), UTC)
    assert [r.key for r in rows] == ["b", "a", "c"]  # largest cost first
    assert rows[1].totals == Totals(
        calls=2, unpriced_calls=0, input_tokens=1500, cache_read_tokens=200, cache_write_tokens=100,
        output_tokens=400, reasoning_tokens=50, cost_input_pusd=4_000_000_000,
        cost_cache_read_pusd=250_000_000, cost_cache_write_pusd=375_000_000,
        cost_output_pusd=4_500_000_000, cost_reasoning_pusd=500_000_000, cost_total_pusd=9_625_000_000,
    )  # fmt: skip
    assert rows[0].totals == Totals(
        calls=2, unpriced_calls=1, input_tokens=2100, output_tokens=1010,
        cost_input_pusd=5_000_000_000, cost_output_pusd=10_000_000_000, cost_total_pusd=15_000_000_000,
    )  # fmt: skip
    # a provider-reported total is kept even though its split is zero
    assert rows[2].totals.cost_total_pusd == 123_456_789
    assert rows[2].totals.cost_output_pusd == 0


def test_by_model_provider_and_session(ledger: sqlite3.Connection) -> None:
    assert keyed(summarize(ledger, GroupBy.MODEL, CallFilter(), UTC)) == [
        ("gpt-4o", 2, 21_250_000_000),
        ("claude-sonnet-4", 1, 3_375_000_000),
        ("x", 1, 123_456_789),
        ("mystery-model", 1, 0),
    ]
    assert keyed(summarize(ledger, GroupBy.PROVIDER, CallFilter(), UTC)) == [
        ("openai", 3, 21_250_000_000),
        ("anthropic", 1, 3_375_000_000),
        ("openrouter", 1, 123_456_789),
    ]
    assert keyed(summarize(ledger, GroupBy.SESSION, CallFilter(), UTC)) == [
        (None, 3, 15_123_456_789),
        ("s1", 2, 9_625_000_000),
    ]


@pytest.mark.parametrize(
    ("zone", "expected"),
    [
        ("UTC", [("2024-05-01", 2, 9_625_000_000), ("2024-05-02", 2, 15_000_000_000),
                 ("2024-06-01", 1, 123_456_789)]),
        # +05:30: 23:30Z and 00:30Z both fall on the local 2 May
        ("Asia/Kolkata", [("2024-05-01", 1, 6_250_000_000), ("2024-05-02", 3, 18_375_000_000),
                          ("2024-06-01", 1, 123_456_789)]),
        # -04:00: the first three calls are on the local 1 May, the last on 31 May
        ("America/New_York", [("2024-05-01", 3, 24_625_000_000), ("2024-05-02", 1, 0),
                              ("2024-05-31", 1, 123_456_789)]),
    ],
)  # fmt: skip
def test_by_day_in_a_time_zone(ledger: sqlite3.Connection, zone: str, expected: list[tuple[str, int, int]]) -> None:
    assert keyed(summarize(ledger, GroupBy.DAY, CallFilter(), ZoneInfo(zone))) == expected


def test_by_month_in_a_time_zone(ledger: sqlite3.Connection) -> None:
    assert keyed(summarize(ledger, GroupBy.MONTH, CallFilter(), UTC)) == [
        ("2024-05", 4, 24_625_000_000),
        ("2024-06", 1, 123_456_789),
    ]
    assert keyed(summarize(ledger, GroupBy.MONTH, CallFilter(), ZoneInfo("America/New_York"))) == [
        ("2024-05", 5, 24_748_456_789),
    ]


def test_day_boundaries_across_daylight_saving(tmp_path: Path, ledger_rows: ModuleType) -> None:
    """Paris switches to +02:00 on 2024-03-31, a 23-hour day; local midnights bound each day."""
    lr = ledger_rows
    times = {
        "2024-03-30T22:59:59.999999999+00:00": 1,  # 23:59:59.999999999 local, 30 March
        "2024-03-30T23:00:00+00:00": 10,  # local midnight, 31 March
        "2024-03-31T21:59:59+00:00": 100,  # 23:59:59 local (+02:00), 31 March
        "2024-03-31T22:00:00+00:00": 1000,  # local midnight, 1 April (and a new month)
    }
    rows = []
    for text, cost in times.items():
        whole, _, frac = text.partition(".")
        end = ns(whole if frac else text) + (999_999_999 if frac else 0)
        rows.append(lr.row(end_time_ns=end, cost_output_pusd=cost))
    conn = connect_readonly(lr.create_ledger(tmp_path / "l.db", rows))
    paris = ZoneInfo("Europe/Paris")
    assert keyed(summarize(conn, GroupBy.DAY, CallFilter(), paris)) == [
        ("2024-03-30", 1, 1),
        ("2024-03-31", 2, 110),
        ("2024-04-01", 1, 1000),
    ]
    assert keyed(summarize(conn, GroupBy.MONTH, CallFilter(), paris)) == [
        ("2024-03", 3, 111),
        ("2024-04", 1, 1000),
    ]
    assert keyed(summarize(conn, GroupBy.DAY, CallFilter(), UTC)) == [
        ("2024-03-30", 2, 11),
        ("2024-03-31", 2, 1100),
    ]


def test_time_range_is_half_open_on_end_time(ledger: sqlite3.Connection) -> None:
    where = CallFilter(since_ns=ns("2024-05-01T12:00:00+00:00"), until_ns=ns("2024-05-02T12:00:00+00:00"))
    assert keyed(summarize(ledger, GroupBy.PROVIDER, where, UTC)) == [
        ("openai", 1, 15_000_000_000),
        ("anthropic", 1, 3_375_000_000),
    ]
    # the call ending exactly at `since` is included
    since_only = CallFilter(since_ns=ns("2024-05-02T12:00:00+00:00"))
    assert keyed(summarize(ledger, GroupBy.MODEL, since_only, UTC)) == [
        ("x", 1, 123_456_789),
        ("mystery-model", 1, 0),
    ]
    assert keyed(summarize(ledger, GroupBy.DAY, where, UTC)) == [
        ("2024-05-01", 1, 3_375_000_000),
        ("2024-05-02", 1, 15_000_000_000),
    ]


def test_label_filters_combine(ledger: sqlite3.Connection) -> None:
    assert keyed(summarize(ledger, GroupBy.AGENT, CallFilter(provider="openai"), UTC)) == [
        ("b", 2, 15_000_000_000),
        ("a", 1, 6_250_000_000),
    ]
    assert keyed(summarize(ledger, GroupBy.DAY, CallFilter(agent="a", model="gpt-4o"), UTC)) == [
        ("2024-05-01", 1, 6_250_000_000),
    ]
    assert keyed(summarize(ledger, GroupBy.MODEL, CallFilter(session="s1", provider="anthropic"), UTC)) == [
        ("claude-sonnet-4", 1, 3_375_000_000),
    ]


def test_empty_selection(ledger: sqlite3.Connection) -> None:
    nothing = CallFilter(agent="nobody")
    for group_by in GroupBy:
        assert summarize(ledger, group_by, nothing, UTC) == []
    assert total(ledger, nothing) == Totals()
    assert count_calls(ledger, nothing) == 0


def test_total_and_count(ledger: sqlite3.Connection) -> None:
    t = total(ledger, CallFilter())
    assert (t.calls, t.unpriced_calls, t.cost_total_pusd) == (5, 1, 24_748_456_789)
    assert (t.input_tokens, t.output_tokens) == (3610, 1420)
    assert count_calls(ledger, CallFilter(agent="b")) == 2


def test_sums_beyond_64_bit_integers_stay_exact(tmp_path: Path, ledger_rows: ModuleType) -> None:
    big = 4_000_000_000_000_000_123  # 4 million USD in pico-USD; three of them exceed 2**63 - 1
    lr = ledger_rows
    path = lr.create_ledger(
        tmp_path / "big.db", [lr.row(model="m", cost_output_pusd=big, end_time_ns=i) for i in range(3)]
    )
    conn = connect_readonly(path)
    with pytest.raises(sqlite3.OperationalError, match="integer overflow"):
        conn.execute("SELECT SUM(cost_total_pusd) FROM calls").fetchone()
    for group_by in (GroupBy.MODEL, GroupBy.MONTH):
        (only,) = summarize(conn, group_by, CallFilter(), UTC)
        assert only.totals.cost_total_pusd == 12_000_000_000_000_000_369
        assert only.totals.cost_output_pusd == 12_000_000_000_000_000_369


def test_sums_match_the_rows_on_a_random_ledger(tmp_path: Path, ledger_rows: ModuleType) -> None:
    rng = random.Random(7)
    lr = ledger_rows
    rows = []
    for _ in range(400):
        cost = {c: rng.randrange(0, 10**10) for c in lr.COST_SPLIT}
        rows.append(
            lr.row(
                agent=rng.choice(["a", "b", "c"]),
                model=rng.choice(["m1", "m2"]),
                session=rng.choice([None, "s1", "s2"]),
                end_time_ns=ns("2024-01-01T00:00:00+00:00") + rng.randrange(0, 400 * 86_400) * 10**9,
                input_tokens=rng.randrange(0, 10**6),
                price_source=rng.choice(["genai-prices", "unpriced"]),
                **cost,
            )
        )
    conn = connect_readonly(lr.create_ledger(tmp_path / "r.db", rows))
    tz = ZoneInfo("Australia/Lord_Howe")  # +10:30 / +11:00: half-hour DST shifts

    def key_of(r: dict[str, Any], group_by: GroupBy) -> str | None:
        if group_by is GroupBy.DAY:
            return datetime.fromtimestamp(r["end_time_ns"] // 10**9, tz).strftime("%Y-%m-%d")
        if group_by is GroupBy.MONTH:
            return datetime.fromtimestamp(r["end_time_ns"] // 10**9, tz).strftime("%Y-%m")
        return r[group_by.value]

    for group_by in GroupBy:
        expected: dict[str | None, list[int]] = {}
        for r in rows:
            acc = expected.setdefault(key_of(r, group_by), [0, 0, 0, 0])
            acc[0] += 1
            acc[1] += r["price_source"] == "unpriced"
            acc[2] += r["input_tokens"]
            acc[3] += r["cost_total_pusd"]
        got = {
            s.key: [s.totals.calls, s.totals.unpriced_calls, s.totals.input_tokens, s.totals.cost_total_pusd]
            for s in summarize(conn, group_by, CallFilter(), tz)
        }
        assert got == expected, group_by


def test_iter_calls_streams_rows_as_stored_in_end_time_order(
    ledger: sqlite3.Connection, ledger_rows: ModuleType
) -> None:
    inserted = sorted(sample(ledger_rows), key=lambda r: r["end_time_ns"])
    got = list(iter_calls(ledger, CallFilter(), batch_size=2))
    assert len(got) == 5
    for stored, expected in zip(got, inserted, strict=True):
        assert dict(zip(CALL_COLUMNS, stored, strict=True)) == {
            **expected,
            "trace_id": stored[0],
            "span_id": stored[1],
            "response_id": stored[3],
        }
    assert [r[CALL_COLUMNS.index("agent")] for r in iter_calls(ledger, CallFilter(agent="b"))] == ["b", "b"]


def test_unpriced_models(tmp_path: Path, ledger_rows: ModuleType) -> None:
    lr = ledger_rows
    rows = [
        lr.row(provider="openai", model="ft:custom", price_source="unpriced", end_time_ns=300),
        lr.row(provider="openai", model="ft:custom", price_source="unpriced", end_time_ns=100),
        lr.row(provider="acme", model="m9", price_source="unpriced", end_time_ns=200),
        lr.row(provider="openai", model="ft:custom", price_source="unpriced", end_time_ns=500),
        lr.row(provider="openai", model="gpt-4o", price_source="genai-prices", end_time_ns=50),
    ]
    conn = connect_readonly(lr.create_ledger(tmp_path / "u.db", rows))
    got = [(m.provider, m.model, m.calls, m.first_seen_ns, m.last_seen_ns) for m in unpriced_models(conn)]
    assert got == [("openai", "ft:custom", 3, 100, 500), ("acme", "m9", 1, 200, 200)]
    recent = unpriced_models(conn, CallFilter(since_ns=250))
    assert [(m.model, m.calls, m.first_seen_ns) for m in recent] == [("ft:custom", 2, 300)]


def test_reprice_selection_and_update(tmp_path: Path, ledger_rows: ModuleType) -> None:
    lr = ledger_rows
    rows = [
        lr.row(model="ft:a", price_source="unpriced", end_time_ns=100, input_tokens=7, output_tokens=3),
        lr.row(model="ft:a", price_source="unpriced", end_time_ns=900, input_tokens=1),
        lr.row(model="ft:a", price_source="provider", end_time_ns=150, cost_total_pusd=5),
        lr.row(model="ft:a", price_source="override", end_time_ns=160, cost_input_pusd=9),
        lr.row(model="gpt-4o", price_source="genai-prices", end_time_ns=170, cost_input_pusd=11),
    ]
    path = lr.create_ledger(tmp_path / "p.db", rows)
    conn = connect_readwrite(path)
    window = CallFilter(since_ns=0, until_ns=500)
    picked = rows_to_reprice(conn, window)
    assert [(r.id, r.model, r.price_source) for r in picked] == [(1, "ft:a", "unpriced")]
    assert picked[0].usage == TokenUsage(input=7, output=3)
    every = rows_to_reprice(conn, CallFilter(model="ft:a"), only_unpriced=False)
    assert [(r.id, r.price_source) for r in every] == [(1, "unpriced"), (2, "unpriced"), (4, "override")]

    updates = [
        CostUpdate(1, "unpriced", PriceSource.OVERRIDE, (70, 0, 0, 30, 0), 100),
        CostUpdate(4, "unpriced", PriceSource.OVERRIDE, (1, 0, 0, 0, 0), 1),  # stale: it is 'override'
    ]
    assert apply_cost_updates(conn, updates) == 1
    stored = lr.read_all(path)
    assert {k: stored[0][k] for k in ("price_source", "cost_input_pusd", "cost_output_pusd", "cost_total_pusd")} == {
        "price_source": "override", "cost_input_pusd": 70, "cost_output_pusd": 30, "cost_total_pusd": 100,
    }  # fmt: skip
    assert stored[3]["cost_input_pusd"] == 9
    assert stored[1]["price_source"] == "unpriced"


def test_failed_update_writes_nothing(tmp_path: Path, ledger_rows: ModuleType) -> None:
    lr = ledger_rows
    path = lr.create_ledger(tmp_path / "f.db", [lr.row(price_source="unpriced"), lr.row(price_source="unpriced")])
    conn = connect_readwrite(path)
    updates = [
        CostUpdate(1, "unpriced", PriceSource.OVERRIDE, (1, 0, 0, 0, 0), 1),
        CostUpdate(2, "unpriced", PriceSource.OVERRIDE, (2**63, 0, 0, 0, 0), 2**63),  # too big for SQLite
    ]
    with pytest.raises((LedgerError, OverflowError)):
        apply_cost_updates(conn, updates)
    assert [r["price_source"] for r in lr.read_all(path)] == ["unpriced", "unpriced"]


def test_missing_or_foreign_ledger_is_a_precise_error(tmp_path: Path) -> None:
    missing = tmp_path / "none.db"
    with pytest.raises(LedgerError, match=f"ledger '{missing}' does not exist"):
        connect_readonly(missing)
    other = tmp_path / "other.db"
    sqlite3.connect(other).execute("CREATE TABLE t (x)").connection.close()
    with pytest.raises(LedgerError, match="is not a genai-cost ledger \\(no 'calls' table\\)"):
        connect_readonly(other)
    garbage = tmp_path / "garbage.db"
    garbage.write_bytes(b"not a database at all" * 100)
    with pytest.raises(LedgerError, match="cannot be read: file is not a database"):
        connect_readonly(garbage)


def test_readonly_connection_cannot_write(tmp_path: Path, ledger_rows: ModuleType) -> None:
    conn = connect_readonly(ledger_rows.create_ledger(tmp_path / "ro.db", [ledger_rows.row()]))
    with pytest.raises(sqlite3.OperationalError, match="readonly"):
        conn.execute("DELETE FROM calls")


def test_odd_historical_offset_reads_each_period_through_the_index(
    tmp_path: Path, ledger_rows: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Monrovia was at -00:44:30 in 1971: midnights fall on half minutes, so no bucket fits them."""
    lr = ledger_rows
    rows = [
        lr.row(end_time_ns=ns("1971-03-10T00:44:29+00:00"), cost_output_pusd=1),  # 23:59:59 local, 9 March
        lr.row(end_time_ns=ns("1971-03-10T00:44:30+00:00"), cost_output_pusd=10),  # local midnight
        lr.row(end_time_ns=ns("1971-03-11T00:44:29+00:00"), cost_output_pusd=100),
    ]
    conn = connect_readonly(lr.create_ledger(tmp_path / "m.db", rows))
    buckets: list[int] = []
    monkeypatch.setattr(queries, "_sum_by_buckets", lambda *a: buckets.append(a[2]) or [])
    assert keyed(summarize(conn, GroupBy.DAY, CallFilter(), ZoneInfo("Africa/Monrovia"))) == [
        ("1971-03-09", 1, 1),
        ("1971-03-10", 2, 110),
    ]
    assert buckets == []  # the index path answered
    assert summarize(conn, GroupBy.DAY, CallFilter(), UTC) == []  # UTC days: the (stubbed) bucket path
    assert buckets == [86_400 * 10**9]


@pytest.mark.parametrize("zone", ["UTC", "Europe/Paris", "Asia/Kathmandu", "Australia/Lord_Howe", "America/St_Johns"])
def test_bucket_and_index_paths_agree(tmp_path: Path, ledger_rows: ModuleType, zone: str) -> None:
    rng = random.Random(zone)
    lr = ledger_rows
    start = ns("2023-01-01T00:00:00+00:00")
    rows = [
        lr.row(end_time_ns=start + rng.randrange(0, 800 * 86_400 * 10**9), cost_input_pusd=rng.randrange(10**9),
               input_tokens=rng.randrange(1000), price_source=rng.choice(["unpriced", "override"]))
        for _ in range(300)
    ]  # fmt: skip
    conn = connect_readonly(lr.create_ledger(tmp_path / "agree.db", rows))
    tz = ZoneInfo(zone)
    for group_by in (GroupBy.DAY, GroupBy.MONTH):
        low = min(r["end_time_ns"] for r in rows)
        high = max(r["end_time_ns"] for r in rows)
        spans = periods(low, high, group_by, tz)
        bucket = math.gcd(*(p.start_ns for p in spans), spans[-1].end_ns)
        assert bucket >= 15 * 60 * 10**9
        clause, params = CallFilter().where()
        by_buckets = queries._sum_by_buckets(conn, spans, bucket, clause, params)
        by_index = queries._sum_by_join(conn, spans, CallFilter())
        assert by_buckets == by_index
        assert sum(r.totals.calls for r in by_buckets) == 300
