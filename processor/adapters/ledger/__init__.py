"""The durable ledger: one row per priced LLM call (SQLite by default)."""
