"""The SQLite ledger: migrations, WAL/durability settings, idempotent commits, totals for restart."""

from __future__ import annotations

import sqlite3
from decimal import Decimal
from pathlib import Path
from types import ModuleType

import pytest

from genai_cost.processor.adapters.ledger import SqliteLedger, connect
from genai_cost.processor.adapters.ledger.schema import CALL_COLUMNS, PICO_PER_USD, SCHEMA_VERSION
from genai_cost.processor.domain.records import Cost, Outcome, PriceSource, TokenUsage
from genai_cost.processor.pipeline import money
from genai_cost.processor.pipeline.ports import DuplicateKind, LedgerError, RowError


@pytest.fixture
def ledger(tmp_path: Path) -> SqliteLedger:
    store = SqliteLedger(tmp_path / "sub" / "ledger.sqlite3")
    yield store
    store.close()


def _rows(path: Path) -> list[dict[str, object]]:
    conn = sqlite3.connect(path)
    conn.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in conn.execute("SELECT * FROM calls ORDER BY id")]
    finally:
        conn.close()


def test_money_constant_matches_the_schema() -> None:
    assert money.PICO_PER_USD == PICO_PER_USD


def test_new_ledger_is_migrated_in_wal_mode_with_full_sync(tmp_path: Path) -> None:
    path = tmp_path / "a" / "b" / "ledger.sqlite3"
    conn = connect(path)
    try:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION >= 1
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
        columns = [r[1] for r in conn.execute("PRAGMA table_info(calls)")]
        assert columns == ["id", *CALL_COLUMNS]
        indexes = {r[1] for r in conn.execute("PRAGMA index_list(calls)")}
        assert {"calls_span", "calls_response", "calls_end_time", "calls_agent_time"} <= indexes
    finally:
        conn.close()
    again = connect(path, synchronous="normal")  # reopening does not migrate twice
    try:
        assert again.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert again.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL
    finally:
        again.close()


def test_a_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite3"
    raw = sqlite3.connect(path)
    raw.execute(f"PRAGMA user_version={SCHEMA_VERSION + 1}")
    raw.close()
    expected = f"schema version {SCHEMA_VERSION + 1} is newer than this genai-cost supports \\({SCHEMA_VERSION}\\)"
    with pytest.raises(LedgerError, match=expected):
        SqliteLedger(path)


def test_bad_synchronous_mode_names_the_setting(tmp_path: Path) -> None:
    with pytest.raises(LedgerError, match=r"ledger\.synchronous: 'fast' is not one of full, normal, extra, off"):
        SqliteLedger(tmp_path / "l.sqlite3", synchronous="fast")


def test_unusable_path_names_the_setting(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(LedgerError, match=r"ledger\.path: cannot open"):
        SqliteLedger(blocker / "ledger.sqlite3")
    garbage = tmp_path / "garbage.sqlite3"
    garbage.write_bytes(b"not a database" * 100)
    with pytest.raises(LedgerError, match="is not a usable ledger"):
        SqliteLedger(garbage)


def test_commit_writes_exact_rows(ledger: SqliteLedger, calls: ModuleType) -> None:
    c = calls.call(
        usage=TokenUsage(input=1000, cache_read=200, cache_write=30, output=40, reasoning=5),
        session="s-1",
        user="u-1",
        tags={"team": "search", "env": "prod"},
        outcome=Outcome.ERROR,
        error_type="RateLimitError",
        dialect="openllmetry",
    )
    k = Cost(
        source=PriceSource.PRICES,
        input=Decimal("0.00015"),
        cache_read=Decimal("0.0000150"),
        cache_write=Decimal("0.000005625"),
        output=Decimal("0.000024"),
        reasoning=Decimal("0.000003"),
    )
    result = ledger.commit([ledger.prepare(calls.priced(c, k))])
    assert [e.priced.call for e in result.inserted] == [c]
    assert result.duplicates == {}
    (row,) = _rows(ledger.path)
    assert {name: row[name] for name in row if name not in ("id", "ingested_at_ns")} == {
        "trace_id": c.trace_id,
        "span_id": c.span_id,
        "parent_span_id": None,
        "response_id": c.response_id,
        "start_time_ns": 1_700_000_000_000_000_000,
        "end_time_ns": 1_700_000_001_000_000_000,
        "agent": "planner",
        "service": "svc",
        "session": "s-1",
        "user_id": "u-1",
        "tags": '{"env":"prod","team":"search"}',
        "provider": "openai",
        "model": "gpt-4o-mini-2024-07-18",
        "request_model": "gpt-4o-mini",
        "response_model": "gpt-4o-mini-2024-07-18",
        "operation": "chat",
        "outcome": "error",
        "error_type": "RateLimitError",
        "dialect": "openllmetry",
        "usage_reported": 1,
        "input_tokens": 1000,
        "cache_read_tokens": 200,
        "cache_write_tokens": 30,
        "output_tokens": 40,
        "reasoning_tokens": 5,
        "price_source": "genai-prices",
        "cost_input_pusd": 150_000_000,
        "cost_cache_read_pusd": 15_000_000,
        "cost_cache_write_pusd": 5_625_000,
        "cost_output_pusd": 24_000_000,
        "cost_reasoning_pusd": 3_000_000,
        "cost_total_pusd": 197_625_000,
    }
    assert row["ingested_at_ns"] > 1_700_000_000_000_000_000


def test_provider_total_is_kept_when_not_split(ledger: SqliteLedger, calls: ModuleType) -> None:
    k = Cost(source=PriceSource.PROVIDER, total_override=Decimal("0.0123"))
    ledger.commit([ledger.prepare(calls.priced(calls.call(), k))])
    (row,) = _rows(ledger.path)
    assert (row["price_source"], row["cost_input_pusd"], row["cost_total_pusd"]) == ("provider", 0, 12_300_000_000)


def test_replayed_span_and_same_response_id_are_ignored_and_classified(ledger: SqliteLedger, calls: ModuleType) -> None:
    first = calls.call(response_id="msg_1", provider="anthropic")
    ledger.commit([ledger.prepare(calls.priced(first))])
    replay = first  # the exporter retried the same span
    other_span_same_response = calls.call(response_id="msg_1", provider="anthropic")
    other_provider_same_id = calls.call(response_id="msg_1", provider="openai")
    new = calls.call(response_id=None)
    result = ledger.commit(
        [ledger.prepare(calls.priced(c)) for c in (replay, other_span_same_response, other_provider_same_id, new)]
    )
    assert [e.priced.call for e in result.inserted] == [other_provider_same_id, new]
    assert result.duplicates == {DuplicateKind.SPAN_REPLAY: 1, DuplicateKind.RESPONSE_ID: 1}
    assert ledger.count_calls() == 3
    # The next commit after an ignore path still classifies correctly (max id bookkeeping).
    again = ledger.commit([ledger.prepare(calls.priced(new)), ledger.prepare(calls.priced(calls.call()))])
    assert len(again.inserted) == 1
    assert again.duplicates == {DuplicateKind.SPAN_REPLAY: 1}


def test_the_same_span_twice_in_one_commit_is_recorded_once(ledger: SqliteLedger, calls: ModuleType) -> None:
    c = calls.call()
    result = ledger.commit([ledger.prepare(calls.priced(c)), ledger.prepare(calls.priced(c))])
    assert [e.priced.call for e in result.inserted] == [c]
    assert result.duplicates == {DuplicateKind.SPAN_REPLAY: 1}
    assert ledger.count_calls() == 1


def test_values_beyond_64_bits_are_refused_before_the_commit(ledger: SqliteLedger, calls: ModuleType) -> None:
    huge = calls.call(usage=TokenUsage(input=2**63))
    with pytest.raises(RowError, match=f"input_tokens={2**63} is outside 0..{2**63 - 1}"):
        ledger.prepare(calls.priced(huge))
    dear = Cost(source=PriceSource.PROVIDER, total_override=Decimal(10_000_000))  # 10M USD > 2^63 pico
    with pytest.raises(RowError, match="cost_total_pusd=10000000000000000000 is outside"):
        ledger.prepare(calls.priced(calls.call(), dear))


def test_costs_finer_than_a_pico_dollar_are_rounded_half_even_and_counted(
    ledger: SqliteLedger, calls: ModuleType
) -> None:
    k = Cost(source=PriceSource.OVERRIDE, input=Decimal("0.0000000000025"), output=Decimal("0.0000000000035"))
    entry = ledger.prepare(calls.priced(calls.call(), k))
    assert entry.rounded == 2
    result = ledger.commit([entry])
    assert result.rounded_costs == 2
    (row,) = _rows(ledger.path)
    assert (row["cost_input_pusd"], row["cost_output_pusd"], row["cost_total_pusd"]) == (2, 4, 6)


def test_a_failed_commit_writes_nothing(tmp_path: Path, calls: ModuleType) -> None:
    path = tmp_path / "ledger.sqlite3"
    store = SqliteLedger(path, busy_timeout_s=0.05)
    blocker = sqlite3.connect(path, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")  # another writer holds the lock
    try:
        with pytest.raises(LedgerError, match="ledger commit failed: database is locked"):
            store.commit([store.prepare(calls.priced())])
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    assert store.count_calls() == 0
    c = calls.call()
    assert [e.priced.call for e in store.commit([store.prepare(calls.priced(c))]).inserted] == [c]  # usable again
    store.close()


def test_totals_sum_per_group_in_first_seen_order_and_survive_reopen(tmp_path: Path, calls: ModuleType) -> None:
    path = tmp_path / "ledger.sqlite3"
    store = SqliteLedger(path)
    batch = [
        calls.priced(calls.call(agent="b", usage=TokenUsage(input=10, output=1)), calls.cost("0.1", "0.2")),
        calls.priced(calls.call(agent="a", usage=TokenUsage(input=5, cache_read=2)), calls.cost("0.01", "0")),
        calls.priced(calls.call(agent="b", usage=TokenUsage(input=1, reasoning=3)), calls.cost("0.3", "0.4")),
        calls.priced(calls.call(agent="b", outcome=Outcome.ERROR, usage=TokenUsage()), Cost(source=PriceSource.PRICES)),
        calls.priced(calls.call(agent="b", response_model="mystery-1"), Cost(source=PriceSource.UNPRICED)),
    ]
    store.commit([store.prepare(p) for p in batch])
    store.close()
    reopened = SqliteLedger(path)
    rows = list(reopened.iter_totals())
    reopened.close()
    assert [(r.agent, r.model, r.outcome, r.unpriced, r.requests) for r in rows] == [
        ("b", "gpt-4o-mini-2024-07-18", "ok", False, 2),
        ("a", "gpt-4o-mini-2024-07-18", "ok", False, 1),
        ("b", "gpt-4o-mini-2024-07-18", "error", False, 1),
        ("b", "mystery-1", "ok", True, 1),
    ]
    assert rows[0].tokens == (11, 0, 0, 1, 3)
    assert rows[0].cost_pusd == (400_000_000_000, 0, 0, 600_000_000_000, 0)
    assert rows[0].cost_total_pusd == 1_000_000_000_000
    assert rows[1].tokens == (5, 2, 0, 0, 0)
    assert rows[3].cost_total_pusd == 0


def test_a_version_1_ledger_is_upgraded_with_its_rows_kept(tmp_path: Path, calls: ModuleType) -> None:
    from genai_cost.processor.adapters.ledger.schema import MIGRATIONS

    path = tmp_path / "old.sqlite3"
    raw = sqlite3.connect(path)
    raw.executescript(MIGRATIONS[0])
    raw.execute("PRAGMA user_version=1")
    raw.close()
    scratch = SqliteLedger(tmp_path / "scratch.sqlite3")
    entry = scratch.prepare(calls.priced())
    scratch.close()
    raw = sqlite3.connect(path)  # one row written by a version-1 ledger
    placeholders = ", ".join("?" for _ in CALL_COLUMNS)
    raw.execute(f"INSERT INTO calls ({', '.join(CALL_COLUMNS)}) VALUES ({placeholders})", entry.row)
    raw.commit()
    raw.close()
    upgraded = SqliteLedger(path)
    try:
        version = upgraded._conn.execute("PRAGMA user_version").fetchone()[0]
        assert (version, upgraded.count_calls()) == (SCHEMA_VERSION, 1)
    finally:
        upgraded.close()
