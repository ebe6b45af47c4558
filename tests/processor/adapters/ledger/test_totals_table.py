"""The persisted call totals: in step with the calls through commits, re-pricing, other writers and upgrades."""

from __future__ import annotations

import sqlite3
from decimal import Decimal
from pathlib import Path
from types import ModuleType

from genai_cost.processor.adapters.ledger import SqliteLedger
from genai_cost.processor.adapters.ledger.queries import CostUpdate, apply_cost_updates, connect_readwrite
from genai_cost.processor.adapters.ledger.schema import COST_COLUMNS, TOKEN_COLUMNS
from genai_cost.processor.domain.records import Cost, Outcome, PriceSource, TokenUsage
from genai_cost.processor.pipeline.ports import TotalsRow

_TOKENS = TOKEN_COLUMNS
_COSTS = COST_COLUMNS[:5]  # the split; the total is summed on its own


def _scanned(path: Path) -> list[TotalsRow]:
    """The totals computed here, in Python, from every call of the ledger (groups in first-id order)."""
    conn = sqlite3.connect(path)
    conn.row_factory = sqlite3.Row
    groups: dict[tuple[object, ...], dict[str, object]] = {}
    for r in conn.execute("SELECT * FROM calls ORDER BY id"):
        key = (
            r["agent"],
            r["provider"],
            r["model"],
            r["operation"],
            r["outcome"],
            r["price_source"] == "unpriced",
            r["tags"],
        )
        g = groups.setdefault(key, {"requests": 0, "tokens": [0] * 5, "costs": [0] * 5, "total": 0})
        g["requests"] += 1  # type: ignore[operator]
        for i in range(5):
            g["tokens"][i] += r[_TOKENS[i]]  # type: ignore[index]
            g["costs"][i] += r[_COSTS[i]]  # type: ignore[index]
        g["total"] += r["cost_total_pusd"]  # type: ignore[operator]
    conn.close()
    return [
        TotalsRow(*key[:6], g["requests"], tuple(g["tokens"]), tuple(g["costs"]), g["total"], key[6])  # type: ignore[arg-type]
        for key, g in groups.items()
    ]


def _reopened_totals(path: Path) -> list[TotalsRow]:
    store = SqliteLedger(path)
    try:
        return list(store.iter_totals())
    finally:
        store.close()


def _covered_id(path: Path) -> int:
    conn = sqlite3.connect(path)
    try:
        return int(conn.execute("SELECT covered_id FROM call_totals_state").fetchone()[0])
    finally:
        conn.close()


def test_commits_keep_the_totals_equal_to_a_scan_of_the_calls(tmp_path: Path, calls: ModuleType) -> None:
    path = tmp_path / "ledger.sqlite3"
    store = SqliteLedger(path)
    first = calls.call(agent="a", usage=TokenUsage(input=10, cache_read=2, output=3, reasoning=1))
    batch = [
        calls.priced(first),
        calls.priced(calls.call(agent="b", tags={"team": "x"}), calls.cost(cache_read="0.000001")),
        calls.priced(calls.call(agent="b", outcome=Outcome.ERROR)),
        calls.priced(calls.call(agent="b", response_model="mystery-1"), Cost(source=PriceSource.UNPRICED)),
        calls.priced(calls.call(agent="a"), Cost(source=PriceSource.PROVIDER, total_override=Decimal("0.5"))),
    ]
    store.commit([store.prepare(p) for p in batch])
    replay_and_more = [calls.priced(first), calls.priced(calls.call(agent="a", usage=TokenUsage(input=7)))]
    result = store.commit([store.prepare(p) for p in replay_and_more])
    assert len(result.inserted) == 1  # the replay is not summed twice
    in_process = list(store.iter_totals())
    store.close()
    expected = _scanned(path)
    assert len(expected) == 4  # a (ok, incl. the provider-priced call), b (team x), b (error), b (unpriced)
    assert in_process == expected
    assert _reopened_totals(path) == expected
    assert _covered_id(path) == 6


def test_start_up_reads_the_sums_instead_of_scanning_the_calls(tmp_path: Path, calls: ModuleType) -> None:
    path = tmp_path / "ledger.sqlite3"
    store = SqliteLedger(path)
    store.commit([store.prepare(calls.priced(calls.call(usage=TokenUsage(input=100, output=20))))])
    store.close()
    conn = sqlite3.connect(path)
    conn.execute("UPDATE calls SET input_tokens = 999")  # behind the sums' back
    conn.commit()
    conn.close()
    (row,) = _reopened_totals(path)
    assert row.tokens == (100, 0, 0, 20, 0)


def test_calls_written_by_another_tool_are_summed_at_start_up(
    tmp_path: Path, calls: ModuleType, ledger_rows: ModuleType
) -> None:
    lr = ledger_rows
    path = lr.create_ledger(
        tmp_path / "ledger.sqlite3",
        [lr.row(agent="x", input_tokens=5, cost_input_pusd=50), lr.row(agent="y", price_source="unpriced")],
    )
    assert _covered_id(path) == 0
    store = SqliteLedger(path)
    store.commit([store.prepare(calls.priced(calls.call(agent="x")))])
    store.close()
    assert _covered_id(path) == 3
    assert [(r.agent, r.requests, r.unpriced) for r in _reopened_totals(path)] == [
        ("x", 1, False),
        ("y", 1, True),
        ("x", 1, False),  # the processor's call: another model, another group
    ]
    assert _reopened_totals(path) == _scanned(path)


def test_repricing_moves_a_call_between_groups(tmp_path: Path, calls: ModuleType) -> None:
    path = tmp_path / "ledger.sqlite3"
    store = SqliteLedger(path)
    mystery = calls.call(response_model="ft:mystery", usage=TokenUsage(input=1000, output=10))
    store.commit(
        [
            store.prepare(calls.priced(mystery, Cost(source=PriceSource.UNPRICED))),
            store.prepare(calls.priced(calls.call(response_model="ft:mystery"), Cost(source=PriceSource.UNPRICED))),
        ]
    )
    store.close()
    conn = connect_readwrite(path)
    update = CostUpdate(1, "unpriced", PriceSource.OVERRIDE, (2_000_000_000, 0, 0, 80_000_000, 0), 2_080_000_000)
    assert apply_cost_updates(conn, [update]) == 1
    conn.close()
    totals = _reopened_totals(path)
    assert {(r.unpriced, r.requests, r.tokens[0], r.cost_total_pusd) for r in totals} == {
        (True, 1, 100, 0),  # the call left unpriced
        (False, 1, 1000, 2_080_000_000),  # the re-priced call, in the priced group
    }
    assert sorted(totals, key=repr) == sorted(_scanned(path), key=repr)
    conn = connect_readwrite(path)
    second = CostUpdate(2, "unpriced", PriceSource.OVERRIDE, (15, 0, 0, 12, 0), 27)
    apply_cost_updates(conn, [second])
    conn.close()
    (priced,) = _reopened_totals(path)  # the emptied unpriced group is gone
    assert (priced.unpriced, priced.requests, priced.cost_total_pusd) == (False, 2, 2_080_000_027)


def test_a_version_4_ledger_gets_its_totals_from_its_calls(
    tmp_path: Path, calls: ModuleType, ledger_rows: ModuleType
) -> None:
    scratch = SqliteLedger(tmp_path / "scratch.sqlite3")
    rows = [scratch.prepare(calls.priced(calls.call(agent=agent))).row for agent in ("a", "b", "a")]
    scratch.close()
    path = ledger_rows.old_ledger(tmp_path / "v4.sqlite3", 4, rows)
    totals = _reopened_totals(path)
    assert [(r.agent, r.requests) for r in totals] == [("a", 2), ("b", 1)]
    assert totals == _scanned(path)
    assert _covered_id(path) == 3


def test_sums_ahead_of_the_calls_are_rebuilt(tmp_path: Path, calls: ModuleType) -> None:
    path = tmp_path / "ledger.sqlite3"
    store = SqliteLedger(path)
    store.commit([store.prepare(calls.priced(calls.call())) for _ in range(3)])
    store.close()
    conn = sqlite3.connect(path)
    conn.execute("DELETE FROM calls WHERE id = 3")  # e.g. a restored backup older than the sums
    conn.commit()
    conn.close()
    (row,) = _reopened_totals(path)
    assert row.requests == 2
    assert _covered_id(path) == 2
