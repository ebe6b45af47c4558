"""The SQLite ledger: migrations, WAL/durability settings, idempotent commits, totals for restart."""

from __future__ import annotations

import sqlite3
from decimal import Decimal
from pathlib import Path
from types import ModuleType

import pytest

from genai_cost.processor.adapters.ledger import SqliteLedger, connect
from genai_cost.processor.adapters.ledger import sqlite as sqlite_module
from genai_cost.processor.adapters.ledger.recent_responses import RecentResponses
from genai_cost.processor.adapters.ledger.schema import CALL_COLUMNS, PICO_PER_USD, SCHEMA_VERSION
from genai_cost.processor.domain.records import Cost, Outcome, PriceSource, TokenUsage
from genai_cost.processor.pipeline import money
from genai_cost.processor.pipeline.ports import CommitResult, DuplicateKind, LedgerError, RowError


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
        indexes = {r[1]: (r[2], r[4]) for r in conn.execute("PRAGMA index_list(calls)")}  # name: (unique, partial)
        assert indexes == {"calls_span_end": (1, 0), "calls_agent_time": (0, 0), "calls_unpriced": (0, 1)}
        span_end = [r[2] for r in conn.execute("PRAGMA index_info(calls_span_end)")]
        assert span_end == ["end_time_ns", "trace_id", "span_id"]
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
        cache_write_1h=20,
        service_tier="flex",
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
        "cache_write_1h_tokens": 20,
        "service_tier": "flex",
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


@pytest.mark.parametrize("response_id", ["chatcmpl-twice", None])
def test_the_same_span_twice_in_one_commit_is_recorded_once(
    ledger: SqliteLedger, calls: ModuleType, response_id: str | None
) -> None:
    c = calls.call(response_id=response_id)  # with a response id the window drops it, without one the index
    result = ledger.commit([ledger.prepare(calls.priced(c)), ledger.prepare(calls.priced(c))])
    assert [e.priced.call for e in result.inserted] == [c]
    assert result.duplicates == {DuplicateKind.SPAN_REPLAY: 1}
    assert ledger.count_calls() == 1


def test_two_spans_of_one_call_in_one_commit_are_recorded_once(ledger: SqliteLedger, calls: ModuleType) -> None:
    sdk_span = calls.call(provider="anthropic", response_id="msg_same")
    wrapper_span = calls.call(provider="anthropic", response_id="msg_same")
    result = ledger.commit([ledger.prepare(calls.priced(sdk_span)), ledger.prepare(calls.priced(wrapper_span))])
    assert [e.priced.call for e in result.inserted] == [sdk_span]
    assert result.duplicates == {DuplicateKind.RESPONSE_ID: 1}
    assert ledger.count_calls() == 1


def test_a_replay_is_ignored_forever_and_the_rows_keep_the_order_of_a_large_commit(
    tmp_path: Path, calls: ModuleType
) -> None:
    path = tmp_path / "ledger.sqlite3"
    store = SqliteLedger(path, response_window=1)  # the window forgets at once: only the index is left
    old = calls.call(response_id=None, end_time_ns=1_700_000_000_500_000_000)
    store.commit([store.prepare(calls.priced(old))])
    for i in range(3):
        store.commit([store.prepare(calls.priced(calls.call(response_id=f"r-{i}")))])
    batch = [calls.call(response_id=f"big-{i}", end_time_ns=1_700_000_002_000_000_000 + i) for i in range(1000)]
    entries = [store.prepare(calls.priced(c)) for c in batch]
    entries.insert(700, store.prepare(calls.priced(old)))  # 1001 rows: statements of 512, 256, 128, 64, 32, 8, 1
    result = store.commit(entries)
    store.close()
    assert [e.priced.call for e in result.inserted] == batch
    assert result.duplicates == {DuplicateKind.SPAN_REPLAY: 1}
    rows = _rows(path)
    assert [r["id"] for r in rows] == list(range(1, 1005))
    assert [r["span_id"] for r in rows[4:]] == [c.span_id for c in batch]


def test_another_span_of_a_recorded_call_is_a_duplicate_after_a_restart(tmp_path: Path, calls: ModuleType) -> None:
    path = tmp_path / "ledger.sqlite3"
    store = SqliteLedger(path)
    first = calls.call(provider="anthropic", response_id="msg_restart")
    store.commit([store.prepare(calls.priced(first))])
    store.close()
    reopened = SqliteLedger(path)  # the window is reloaded from the last rows of the ledger
    second = calls.call(provider="anthropic", response_id="msg_restart")  # the other instrumentation's span
    result = reopened.commit([reopened.prepare(calls.priced(second)), reopened.prepare(calls.priced(first))])
    assert (result.inserted, result.duplicates) == ([], {DuplicateKind.RESPONSE_ID: 1, DuplicateKind.SPAN_REPLAY: 1})
    assert reopened.count_calls() == 1
    reopened.close()


def test_the_response_window_holds_at_least_the_last_window_calls(tmp_path: Path, calls: ModuleType) -> None:
    path = tmp_path / "ledger.sqlite3"
    store = SqliteLedger(path, response_window=4)  # generations of one call: exactly the last 4 or 5 remembered
    for n in range(1, 7):
        store.commit([store.prepare(calls.priced(calls.call(response_id=f"r{n}")))])

    def again(ledger: SqliteLedger, response_id: str) -> CommitResult:
        return ledger.commit([ledger.prepare(calls.priced(calls.call(response_id=response_id)))])

    assert [again(store, f"r{n}").duplicates for n in (3, 4, 5, 6)] == [{DuplicateKind.RESPONSE_ID: 1}] * 4
    assert len(again(store, "r2").inserted) == 1  # older than the window: recorded again (row 7)
    store.close()
    reopened = SqliteLedger(path, response_window=4)  # reloads rows 4 to 7: r4, r5, r6, r2
    try:
        assert again(reopened, "r2").duplicates == {DuplicateKind.RESPONSE_ID: 1}
        assert len(again(reopened, "r3").inserted) == 1
        assert reopened.count_calls() == 8
    finally:
        reopened.close()


def test_recent_responses_keep_whole_generations() -> None:
    recent = RecentResponses(window=8)  # 4 older generations of 2, plus the one being filled
    for n in range(1, 12):
        recent.add(n, 100 + n)
    assert len(recent) == 9  # 3..10 in four full generations, 11 in the new one
    assert [recent.get(n) for n in range(1, 12)] == [None, None, *range(103, 112)]
    recent.add(3, 999)  # the same key again (a collision): the newest row wins
    assert (recent.get(3), len(recent)) == (999, 8)  # a new generation started: 3..4 dropped, 3 re-added
    with pytest.raises(ValueError, match="response window must be >= 1 call, got 0"):
        RecentResponses(window=0)


def test_a_response_key_collision_never_drops_a_call(
    ledger: SqliteLedger, calls: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sqlite_module, "response_key", lambda provider, response_id: 42)  # every key collides
    a = calls.call(response_id="resp-a")
    b = calls.call(response_id="resp-b")
    first = ledger.commit([ledger.prepare(calls.priced(a)), ledger.prepare(calls.priced(b))])  # collide in one commit
    c = calls.call(response_id="resp-c")  # collides with the remembered row of b: compared, recorded
    second = ledger.commit([ledger.prepare(calls.priced(c))])
    c_again = calls.call(response_id="resp-c")  # the key points at c's row: the same call
    third = ledger.commit([ledger.prepare(calls.priced(c_again))])
    b_again = calls.call(response_id="resp-b")  # b's row is no longer under the key: recorded (never dropped)
    fourth = ledger.commit([ledger.prepare(calls.priced(b_again))])
    assert [len(r.inserted) for r in (first, second, third, fourth)] == [2, 1, 0, 1]
    assert third.duplicates == {DuplicateKind.RESPONSE_ID: 1}
    assert ledger.count_calls() == 4


def test_a_version_3_ledger_gains_the_repricing_columns_with_defaults(
    tmp_path: Path, calls: ModuleType, ledger_rows: ModuleType
) -> None:
    scratch = SqliteLedger(tmp_path / "scratch.sqlite3")
    row = scratch.prepare(calls.priced(calls.call(cache_write_1h=0))).row
    scratch.close()
    path = ledger_rows.old_ledger(tmp_path / "v3.sqlite3", 3, [row])
    SqliteLedger(path).close()
    (upgraded,) = _rows(path)
    assert (upgraded["cache_write_1h_tokens"], upgraded["service_tier"], upgraded["model"]) == (
        0,
        None,
        "gpt-4o-mini-2024-07-18",
    )


def test_a_version_2_ledger_gets_the_write_path_indexes_and_keeps_deduplicating(
    tmp_path: Path, calls: ModuleType, ledger_rows: ModuleType
) -> None:
    scratch = SqliteLedger(tmp_path / "scratch.sqlite3")
    recorded = calls.call(provider="anthropic", response_id="msg_v2")
    path = ledger_rows.old_ledger(tmp_path / "v2.sqlite3", 2, [scratch.prepare(calls.priced(recorded)).row])
    scratch.close()
    upgraded = SqliteLedger(path)
    try:
        indexes = {r[1] for r in upgraded._conn.execute("PRAGMA index_list(calls)")}
        assert indexes == {"calls_span_end", "calls_agent_time", "calls_unpriced"}
        other_span = calls.call(provider="anthropic", response_id="msg_v2")
        result = upgraded.commit([upgraded.prepare(calls.priced(c)) for c in (recorded, other_span)])
        assert (result.inserted, result.duplicates) == (
            [],
            {DuplicateKind.SPAN_REPLAY: 1, DuplicateKind.RESPONSE_ID: 1},
        )
        assert upgraded.count_calls() == 1
    finally:
        upgraded.close()


def test_values_beyond_64_bits_are_refused_before_the_commit(ledger: SqliteLedger, calls: ModuleType) -> None:
    huge = calls.call(usage=TokenUsage(input=2**63))
    with pytest.raises(RowError, match=f"input_tokens={2**63} is outside 0..{2**63 - 1}"):
        ledger.prepare(calls.priced(huge))
    huge_1h = calls.call(usage=TokenUsage(cache_write=2**64), cache_write_1h=2**64)
    with pytest.raises(RowError, match=f"cache_write_tokens={2**64} is outside"):
        ledger.prepare(calls.priced(huge_1h))
    only_1h = calls.call(cache_write_1h=2**63)
    with pytest.raises(RowError, match=f"cache_write_1h_tokens={2**63} is outside"):
        ledger.prepare(calls.priced(only_1h))
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


def test_a_version_1_ledger_is_upgraded_with_its_rows_kept(
    tmp_path: Path, calls: ModuleType, ledger_rows: ModuleType
) -> None:
    scratch = SqliteLedger(tmp_path / "scratch.sqlite3")
    entry = scratch.prepare(calls.priced())
    scratch.close()
    path = ledger_rows.old_ledger(tmp_path / "old.sqlite3", 1, [entry.row])  # one row written by a version-1 ledger
    upgraded = SqliteLedger(path)
    try:
        version = upgraded._conn.execute("PRAGMA user_version").fetchone()[0]
        assert (version, upgraded.count_calls()) == (SCHEMA_VERSION, 1)
    finally:
        upgraded.close()


def test_totals_sum_costs_beyond_64_bits_exactly(tmp_path: Path, calls: ModuleType) -> None:
    path = tmp_path / "ledger.sqlite3"
    store = SqliteLedger(path)
    dear = Cost(source=PriceSource.PROVIDER, total_override=Decimal("6000000.000000000001"))  # 6e18 + 1 pico-USD
    store.commit([store.prepare(calls.priced(calls.call(), dear)) for _ in range(2)])  # 1.2e19 > 2^63 - 1
    (row,) = store.iter_totals()
    store.close()
    assert (row.requests, row.cost_total_pusd, row.cost_pusd) == (2, 12_000_000_000_000_000_002, (0, 0, 0, 0, 0))


def test_null_parameters_bind_through_a_registered_adapter(ledger: SqliteLedger) -> None:
    """None needs sqlite3's adaptation protocol; the ledger registers the cheap path for it."""
    assert sqlite3.adapters[(type(None), sqlite3.PrepareProtocol)] is sqlite_module._null
    conn = sqlite3.connect(":memory:")
    assert conn.execute("SELECT ? IS NULL, typeof(?)", (None, None)).fetchone() == (1, "null")
    conn.close()
