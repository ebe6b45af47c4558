"""The (provider, response id) of recently recorded calls, for the writer's response-id dedup.

A UNIQUE index on random response ids dirties a random B-tree page per insert (and writes it to
the WAL on every commit), which cost more than everything else on the write path. The writer
instead remembers, in memory, a 64-bit hash of (provider, response id) -> ledger row id for the
calls it recorded last. A hit is only a candidate: the writer reads that row by id and compares
the real values, so a hash collision never drops a call (it can only make the window forget the
older of the two colliding calls, with a chance of about window / 2^64 per call).

Window: at least the last ``window`` recorded calls are remembered, in generations of
``window / GENERATIONS`` calls; the oldest generation is dropped whole when a new one starts, so
at most ``window * (1 + 1 / GENERATIONS)`` entries are kept (measured: 500,000 entries add
about 70 MB to the process's RSS). At start-up
the writer reloads the last ``window`` rows of the ledger (a row-id range), so the guarantee holds
across restarts.

:data:`RecentResponses` is the compiled table of ``_recent.c`` when it is built: the same answers
with one probe sequence per look-up instead of up to five dict look-ups (measured on a full
default window: about 1 us less per call) in about half the memory. :class:`PyRecentResponses`
is the reference, and the fallback without a C compiler.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import Final, Protocol

DEFAULT_RESPONSE_WINDOW: Final = 500_000
"""Recorded calls whose (provider, response id) is remembered at least (about 70-85 MB when full)."""

GENERATIONS: Final = 4
"""Full generations kept besides the one being filled."""


def response_key(provider: str, response_id: str) -> int:
    """A 64-bit hash of the pair (this process's string hashing; never stored)."""
    return hash((provider, response_id))


class RecentWindow(Protocol):
    """What the writer uses of a window of recent response keys."""

    @property
    def window(self) -> int: ...
    def get(self, key: int, /) -> int | None: ...
    def add(self, key: int, row_id: int, /) -> None: ...
    def __len__(self) -> int: ...


class PyRecentResponses:
    """Response-id hashes of recently recorded calls -> their row ids (one writer thread; row ids grow)."""

    __slots__ = ("_current", "_generation_size", "_older", "window")

    def __init__(self, window: int = DEFAULT_RESPONSE_WINDOW) -> None:
        if window < 1:
            raise ValueError(f"response window must be >= 1 call, got {window}")
        self.window = window
        self._generation_size = -(-window // GENERATIONS)  # GENERATIONS full ones cover the window
        self._current: dict[int, int] = {}
        self._older: deque[dict[int, int]] = deque(maxlen=GENERATIONS)  # newest first

    def __len__(self) -> int:
        """Distinct keys remembered."""
        return len(set(self._current).union(*self._older))

    def get(self, key: int) -> int | None:
        """The row id last recorded under ``key``, if it is still remembered."""
        row_id = self._current.get(key)
        if row_id is None:
            for generation in self._older:
                row_id = generation.get(key)
                if row_id is not None:
                    break
        return row_id

    def add(self, key: int, row_id: int) -> None:
        """Remember a recorded call; the oldest generation goes when a new one starts."""
        current = self._current
        current[key] = row_id
        if len(current) >= self._generation_size:
            self._older.appendleft(current)  # maxlen drops the oldest
            self._current = {}


try:
    from genai_cost.processor.adapters.ledger._recent import RecentResponses as _Compiled
except ImportError:  # built without a C compiler
    _Compiled = None  # type: ignore[assignment,misc]

RecentResponses: Callable[[int], RecentWindow] = _Compiled if _Compiled is not None else PyRecentResponses
"""``RecentResponses(window)``: the compiled table when built, else :class:`PyRecentResponses`."""
