"""The durable ledger: one row per priced LLM call (SQLite by default, behind :class:`LedgerStore`)."""

from genai_cost.processor.adapters.ledger.rows import LedgerEntry, RowError, from_pusd, to_entry, to_pusd
from genai_cost.processor.adapters.ledger.sqlite import SqliteLedger
from genai_cost.processor.adapters.ledger.store import (
    CommitResult,
    DuplicateKind,
    LedgerError,
    LedgerStore,
    TotalsRow,
)

__all__ = [
    "CommitResult",
    "DuplicateKind",
    "LedgerEntry",
    "LedgerError",
    "LedgerStore",
    "RowError",
    "SqliteLedger",
    "TotalsRow",
    "from_pusd",
    "to_entry",
    "to_pusd",
]
