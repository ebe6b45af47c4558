"""Ledger schema, version by version. Money is stored as integer pico-USD (10^-12 USD).

Every price in the bundled data and in overrides is given per million tokens with at most six
decimals, so a call's cost per token type is a whole number of pico-USD; the write path checks
this and rounds half-even (and counts it) only if an override is finer than that.
Sums of costs are kept in two parts (``COST_SPLIT``), so no SQL integer overflows.
"""

from __future__ import annotations

from genai_cost.processor.domain.records import PICO_PER_USD

__all__ = ["PICO_PER_USD"]

TOKEN_COLUMNS: tuple[str, ...] = (
    "input_tokens", "cache_read_tokens", "cache_write_tokens", "output_tokens", "reasoning_tokens",
)  # fmt: skip
COST_COLUMNS: tuple[str, ...] = (
    "cost_input_pusd", "cost_cache_read_pusd", "cost_cache_write_pusd", "cost_output_pusd",
    "cost_reasoning_pusd", "cost_total_pusd",
)  # fmt: skip

COST_SPLIT = 10**6
"""Summed costs are kept as ``high * COST_SPLIT + low`` pico-USD (``high`` = the sum of each
cost // COST_SPLIT, ``low`` of each cost % COST_SPLIT): one 64-bit integer overflows at about 9.2
million USD, the parts never do."""

# ``call_totals`` (schema 5). Its migration below is generated from these constants: changing them
# means a new migration, not an edit.

#: A group of calls in ``call_totals``: what the counters' labels are made of.
TOTALS_KEY: tuple[str, ...] = ("agent", "provider", "model", "operation", "outcome", "unpriced", "tags")
#: ``call_totals`` columns: the key, the group's first call id, then its sums.
TOTALS_COLUMNS: tuple[str, ...] = (
    *TOTALS_KEY,
    "first_id",
    "requests",
    *TOKEN_COLUMNS,
    *(f"{c}_{part}" for c in COST_COLUMNS for part in ("high", "low")),
)
_TEXT_KEY = ("agent", "provider", "model", "operation", "outcome", "tags")
_TOTALS_COLUMNS_DDL = ",\n        ".join(
    f"{c} {'TEXT' if c in _TEXT_KEY else 'INTEGER'} NOT NULL" for c in TOTALS_COLUMNS
)
_SUMS = TOTALS_COLUMNS[len(TOTALS_KEY) + 1 :]
TOTALS_ON_CONFLICT = (
    f"ON CONFLICT ({', '.join(TOTALS_KEY)}) DO UPDATE SET first_id = min(first_id, excluded.first_id), "
    + ", ".join(f"{c} = {c} + excluded.{c}" for c in _SUMS)
)
"""Completes ``INSERT INTO call_totals (TOTALS_COLUMNS) ...``: a group's sums are added to its row."""


def _row_values(prefix: str) -> list[str]:
    """SQL for one call's contribution to its group, from the trigger row ``prefix`` (OLD or NEW)."""
    values = [f"{prefix}.{c}" for c in TOTALS_KEY if c != "unpriced"]
    values.insert(TOTALS_KEY.index("unpriced"), f"({prefix}.price_source = 'unpriced')")
    values += [f"{prefix}.id", "1", *(f"{prefix}.{c}" for c in TOKEN_COLUMNS)]
    for c in COST_COLUMNS:
        values += [f"{prefix}.{c} / {COST_SPLIT}", f"{prefix}.{c} % {COST_SPLIT}"]
    return values


_OLD = _row_values("OLD")
_TRIGGER_OLD_KEY = " AND ".join(f"{c} = {v}" for c, v in zip(TOTALS_KEY, _OLD, strict=False))
_TRIGGER_SUBTRACT = ", ".join(f"{c} = {c} - {v}" for c, v in zip(TOTALS_COLUMNS, _OLD, strict=True) if c in _SUMS)
_TRIGGER_ADD_NEW = (
    f"INSERT INTO call_totals ({', '.join(TOTALS_COLUMNS)}) VALUES ({', '.join(_row_values('NEW'))}) "
    + TOTALS_ON_CONFLICT
)

# Applied in order; MIGRATIONS[i] upgrades a database from version i to version i + 1.
MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE calls (
        id                INTEGER PRIMARY KEY,
        trace_id          TEXT    NOT NULL,   -- 32 hex
        span_id           TEXT    NOT NULL,   -- 16 hex
        parent_span_id    TEXT,
        response_id       TEXT,
        start_time_ns     INTEGER NOT NULL,
        end_time_ns       INTEGER NOT NULL,
        agent             TEXT    NOT NULL,
        service           TEXT    NOT NULL,
        session           TEXT,
        user_id           TEXT,
        tags              TEXT    NOT NULL DEFAULT '{}',  -- JSON object of configured tag dimensions
        provider          TEXT    NOT NULL,
        model             TEXT    NOT NULL,  -- billed model: response model, else request model
        request_model     TEXT,
        response_model    TEXT,
        operation         TEXT    NOT NULL,
        outcome           TEXT    NOT NULL,  -- ok | error
        error_type        TEXT,
        dialect           TEXT    NOT NULL,
        usage_reported    INTEGER NOT NULL,  -- 0 when the span carried no token counts
        input_tokens      INTEGER NOT NULL,  -- uncached input
        cache_read_tokens INTEGER NOT NULL,
        cache_write_tokens INTEGER NOT NULL,
        output_tokens     INTEGER NOT NULL,  -- excludes reasoning
        reasoning_tokens  INTEGER NOT NULL,
        price_source      TEXT    NOT NULL,  -- genai-prices | override | provider | unpriced
        cost_input_pusd       INTEGER NOT NULL,
        cost_cache_read_pusd  INTEGER NOT NULL,
        cost_cache_write_pusd INTEGER NOT NULL,
        cost_output_pusd      INTEGER NOT NULL,
        cost_reasoning_pusd   INTEGER NOT NULL,
        cost_total_pusd       INTEGER NOT NULL,  -- sum of the above, or the provider-reported total
        ingested_at_ns    INTEGER NOT NULL
    );
    CREATE UNIQUE INDEX calls_span ON calls (trace_id, span_id);
    CREATE UNIQUE INDEX calls_response ON calls (provider, response_id) WHERE response_id IS NOT NULL;
    CREATE INDEX calls_end_time ON calls (end_time_ns);
    CREATE INDEX calls_agent_time ON calls (agent, end_time_ns);
    CREATE INDEX calls_unpriced ON calls (provider, model) WHERE price_source = 'unpriced';
    """,
    # 1 -> 2: budget administration (limit overrides, paused scopes) and its audit trail.
    """
    CREATE TABLE budget_limits (
        budget        TEXT    PRIMARY KEY,
        limit_pusd    INTEGER NOT NULL,
        updated_at_ns INTEGER NOT NULL,
        updated_by    TEXT    NOT NULL
    );
    CREATE TABLE budget_pauses (
        scope        TEXT    PRIMARY KEY,  -- 'budget:<name>' or 'match:<canonical JSON match>'
        budget       TEXT,                 -- the paused budget, NULL for a scope paused by match
        match        TEXT    NOT NULL,     -- JSON object: agent, provider, model, service, tags
        reason       TEXT,
        paused_at_ns INTEGER NOT NULL,
        paused_by    TEXT    NOT NULL
    );
    CREATE TABLE budget_audit (
        id     INTEGER PRIMARY KEY,
        at_ns  INTEGER NOT NULL,
        actor  TEXT    NOT NULL,
        action TEXT    NOT NULL,  -- set_limit | reset_limit | pause | unpause
        budget TEXT,
        detail TEXT    NOT NULL   -- JSON object: what changed (old and new values)
    );
    """,
    # 2 -> 3: write-path indexes that grow at their right edge. A replayed span has the same end
    # time, trace id and span id, so the UNIQUE (end_time_ns, trace_id, span_id) index drops every
    # replay while new rows land near its end (end times mostly increase); it also serves all
    # end-time range queries (so calls_end_time goes). (provider, response_id) duplicates are found
    # by the writer in memory over a window of recent calls (adapters.ledger.sqlite): a UNIQUE index
    # on random response ids dirtied a random page per insert and cost more than the rest of the row.
    """
    DROP INDEX calls_span;
    DROP INDEX calls_response;
    DROP INDEX calls_end_time;
    CREATE UNIQUE INDEX calls_span_end ON calls (end_time_ns, trace_id, span_id);
    """,
    # 3 -> 4: what re-pricing needs to price a call as it was priced at ingest: the share of cache
    # writes made with a 1-hour TTL (Anthropic prices them higher) and the provider's service tier
    # (OpenAI's flex and priority tiers have their own prices). Rows recorded before have 0 and
    # NULL, so they are re-priced as 5-minute writes at the default tier.
    """
    ALTER TABLE calls ADD COLUMN cache_write_1h_tokens INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE calls ADD COLUMN service_tier TEXT;
    """,
    # 4 -> 5: running sums per group (see TOTALS_* below and adapters.ledger.totals_table), so
    # start-up reads one row per group instead of scanning every call. The writer adds each
    # commit's calls in the same transaction; the trigger moves a call's sums when its cost is
    # re-priced. The sums are filled from the calls at the first start-up after this migration.
    f"""
    CREATE TABLE call_totals (
        {_TOTALS_COLUMNS_DDL},
        PRIMARY KEY ({", ".join(TOTALS_KEY)})
    ) WITHOUT ROWID;
    CREATE TABLE call_totals_state (covered_id INTEGER NOT NULL);  -- calls up to this id are summed
    INSERT INTO call_totals_state VALUES (0);
    CREATE TRIGGER call_totals_follow_repricing
    AFTER UPDATE OF price_source, {", ".join(COST_COLUMNS)} ON calls
    WHEN OLD.id <= (SELECT covered_id FROM call_totals_state)
    BEGIN
        UPDATE call_totals SET {_TRIGGER_SUBTRACT} WHERE {_TRIGGER_OLD_KEY};
        DELETE FROM call_totals WHERE requests <= 0 AND {_TRIGGER_OLD_KEY};
        {_TRIGGER_ADD_NEW};
    END;
    """,
)

SCHEMA_VERSION = len(MIGRATIONS)

CALL_COLUMNS: tuple[str, ...] = (
    "trace_id", "span_id", "parent_span_id", "response_id", "start_time_ns", "end_time_ns",
    "agent", "service", "session", "user_id", "tags", "provider", "model", "request_model",
    "response_model", "operation", "outcome", "error_type", "dialect", "usage_reported",
    "input_tokens", "cache_read_tokens", "cache_write_tokens", "output_tokens", "reasoning_tokens",
    "price_source", "cost_input_pusd", "cost_cache_read_pusd", "cost_cache_write_pusd",
    "cost_output_pusd", "cost_reasoning_pusd", "cost_total_pusd", "ingested_at_ns",
    "cache_write_1h_tokens", "service_tier",
)  # fmt: skip
