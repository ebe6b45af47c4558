"""The (provider, response id) of recently recorded calls, for the writer's response-id dedup.

A UNIQUE index on random response ids dirties a random B-tree page per insert (and writes it to
the WAL on every commit), which cost more than everything else on the write path. The writer
instead remembers, in memory, a 64-bit hash of (provider, response id) -> ledger row id for the
calls it recorded last. A hit is only a candidate: the writer reads that row by id and compares
the real values, so a hash collision never drops a call (it can only make the window forget the
older of the two colliding calls, with a chance of about window / 2^64 per call).

Window: at least the last ``window`` recorded calls are remembered, in generations of
``window / GENERATIONS`` calls; the oldest generation is dropped whole when a new one starts, so
at most ``window * (1 + 1 / GENERATIONS)`` entries are kept (measured: the default window, full,
holds about 80 MB of Python objects). At start-up
the writer reloads the last ``window`` rows of the ledger (a row-id range), so the guarantee holds
across restarts.
"""

from __future__ import annotations

from collections import deque
from typing import Final

DEFAULT_RESPONSE_WINDOW: Final = 500_000
"""Recorded calls whose (provider, response id) is remembered at least (about 70-85 MB when full)."""

GENERATIONS: Final = 4
"""Full generations kept besides the one being filled."""


def response_key(provider: str, response_id: str) -> int:
    """A 64-bit hash of the pair (this process's string hashing; never stored)."""
    return hash((provider, response_id))


class RecentResponses:
    """Response-id hashes of recently recorded calls -> their row ids (one writer thread).

    One dict answers look-ups; each generation keeps the keys it added and its last row id, so
    dropping it removes the keys whose row is that old (a key recorded again since stays).
    """

    __slots__ = ("_current", "_generation_size", "_older", "_rows", "window")

    def __init__(self, window: int = DEFAULT_RESPONSE_WINDOW) -> None:
        if window < 1:
            raise ValueError(f"response window must be >= 1 call, got {window}")
        self.window = window
        self._generation_size = -(-window // GENERATIONS)  # GENERATIONS full ones cover the window
        self._rows: dict[int, int] = {}
        self._current: list[int] = []  # keys added to the generation being filled
        self._older: deque[tuple[list[int], int]] = deque()  # (keys, last row id), oldest first

    def __len__(self) -> int:
        return len(self._rows)

    def get(self, key: int) -> int | None:
        """The row id last recorded under ``key``, if it is still remembered."""
        return self._rows.get(key)

    def add(self, key: int, row_id: int) -> None:
        """Remember a recorded call (row ids only grow); the oldest generation goes when a new one starts."""
        self._rows[key] = row_id
        current = self._current
        current.append(key)
        if len(current) >= self._generation_size:
            self._older.append((current, row_id))
            self._current = []
            if len(self._older) > GENERATIONS:
                keys, last_row = self._older.popleft()
                rows = self._rows
                for old in keys:
                    recorded = rows.get(old)
                    if recorded is not None and recorded <= last_row:
                        del rows[old]
