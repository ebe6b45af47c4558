"""Bounded label values: each label keeps its first N distinct values, later ones become ``other``."""

from __future__ import annotations

from typing import Final

DEFAULT_LABEL_VALUE_LIMIT: Final = 1000
"""Distinct values kept per label before new ones are reported as the overflow value."""

DEFAULT_OVERFLOW_VALUE: Final = "other"
"""The label value that stands for every value beyond the limit."""


class LabelCap:
    """Caps the number of distinct values of one label (not thread-safe: one writer)."""

    __slots__ = ("_limit", "_overflow", "_seen", "overflowed")

    def __init__(self, limit: int = DEFAULT_LABEL_VALUE_LIMIT, overflow: str = DEFAULT_OVERFLOW_VALUE) -> None:
        if limit < 1:
            raise ValueError(f"label value limit must be >= 1, got {limit}")
        self._limit = limit
        self._overflow = overflow
        self._seen: set[str] = {overflow}
        self.overflowed = 0  # values mapped to the overflow value so far

    def __call__(self, value: str) -> str:
        if value in self._seen:
            return value
        if len(self._seen) - 1 < self._limit:
            self._seen.add(value)
            return value
        self.overflowed += 1
        return self._overflow
