"""The response-id window: the compiled table answers exactly as the Python reference."""

from __future__ import annotations

import random

import pytest
from required import compiled as compiled_module

from genai_cost.processor.adapters.ledger import recent_responses
from genai_cost.processor.adapters.ledger.recent_responses import PyRecentResponses


def compiled() -> type:
    """The compiled table (required in CI)."""
    table: type = compiled_module(recent_responses._Compiled, "genai_cost.processor.adapters.ledger._recent")
    return table


def test_the_compiled_table_is_the_one_the_ledger_uses() -> None:
    assert recent_responses.RecentResponses is compiled()


@pytest.mark.parametrize("window", [1, 2, 7, 8, 64])
def test_random_adds_answer_as_the_reference(window: int) -> None:
    rng = random.Random(window)
    fast, reference = compiled()(window), PyRecentResponses(window)
    assert fast.window == reference.window == window
    pool = [rng.getrandbits(64) - 2**63 for _ in range(window * 3 + 5)]  # repeats: keys come back
    row = 0
    for step in range(3000):
        key = rng.choice(pool)
        row += rng.randint(1, 3)
        fast.add(key, row)
        reference.add(key, row)
        if step % 7 == 0 or window < 8:
            assert [fast.get(k) for k in pool] == [reference.get(k) for k in pool], step
            assert len(fast) == len(reference), step


def test_a_full_window_keeps_at_least_the_last_window_calls() -> None:
    fast = compiled()(1000)
    for row in range(1, 5001):
        fast.add(row * 7919, row)
    assert all(fast.get(row * 7919) == row for row in range(4001, 5001))
    assert 1000 <= len(fast) <= 1250  # whole generations of 250 go
    assert fast.get(7919) is None


def test_bad_arguments_are_refused() -> None:
    table = compiled()
    with pytest.raises(ValueError, match="response window must be >= 1 call, got 0"):
        table(0)
    fast = table(8)
    fast.add(1, 5)
    with pytest.raises(ValueError, match="row ids must grow: 5 after 5"):
        fast.add(2, 5)
    with pytest.raises(OverflowError):
        fast.get(2**64)
    assert fast.get(1) == 5 and fast.get(2) is None
