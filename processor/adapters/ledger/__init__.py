"""The durable ledger: one row per priced LLM call (SQLite by default, behind ``LedgerStore``)."""

from genai_cost.processor.adapters.ledger.sqlite import SqliteLedger, connect, migrate

__all__ = ["SqliteLedger", "connect", "migrate"]
