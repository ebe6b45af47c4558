"""Every ``GENAI_COST_*`` environment variable the processor reads (precedence: flag > env > file > default).

Each constant is the variable's name; its docstring gives the meaning and the default. The YAML
key of a setting is its dotted path (``GENAI_COST_OTLP_GRPC_PORT`` is ``otlp.grpc.port``) and its
``genai-cost serve`` flag the same with dashes (``--otlp-grpc-port``). A bad environment value is
logged with the variable and the value and then ignored (the file or default value applies).
"""

from typing import Final

GENAI_COST_CONFIG: Final = "GENAI_COST_CONFIG"
"""Path of the YAML configuration file (default: none, embedded defaults apply)."""

GENAI_COST_OTLP_GRPC_ENABLED: Final = "GENAI_COST_OTLP_GRPC_ENABLED"
"""Run the OTLP/gRPC receiver (``true``/``false``; default true)."""

GENAI_COST_OTLP_GRPC_HOST: Final = "GENAI_COST_OTLP_GRPC_HOST"
"""Bind address of the OTLP/gRPC receiver (default ``127.0.0.1``; ``0.0.0.0`` in containers)."""

GENAI_COST_OTLP_GRPC_PORT: Final = "GENAI_COST_OTLP_GRPC_PORT"
"""Port of the OTLP/gRPC receiver (default 4317; 0 picks a free port)."""

GENAI_COST_OTLP_GRPC_WORKERS: Final = "GENAI_COST_OTLP_GRPC_WORKERS"
"""Threads serving OTLP/gRPC exports concurrently (default 8)."""

GENAI_COST_OTLP_HTTP_ENABLED: Final = "GENAI_COST_OTLP_HTTP_ENABLED"
"""Run the OTLP/HTTP receiver (default true)."""

GENAI_COST_OTLP_HTTP_HOST: Final = "GENAI_COST_OTLP_HTTP_HOST"
"""Bind address of the OTLP/HTTP receiver (default ``127.0.0.1``)."""

GENAI_COST_OTLP_HTTP_PORT: Final = "GENAI_COST_OTLP_HTTP_PORT"
"""Port of the OTLP/HTTP receiver, ``POST /v1/traces`` (default 4318; 0 picks a free port)."""

GENAI_COST_OTLP_MAX_REQUEST_BYTES: Final = "GENAI_COST_OTLP_MAX_REQUEST_BYTES"
"""Largest export accepted, in bytes AFTER decompression (default 16 MiB); larger ones get 413 /
RESOURCE_EXHAUSTED."""

GENAI_COST_HTTP_HOST: Final = "GENAI_COST_HTTP_HOST"
"""Bind address of the HTTP server for ``/metrics``, ``/healthz``, ``/readyz``, ``/api/v1`` (default ``127.0.0.1``)."""

GENAI_COST_HTTP_PORT: Final = "GENAI_COST_HTTP_PORT"
"""Port of that HTTP server (default 9464; 0 picks a free port)."""

GENAI_COST_LEDGER_PATH: Final = "GENAI_COST_LEDGER_PATH"
"""SQLite ledger file (default ``ledger.sqlite3`` in the user data dir, e.g. ``~/.local/share/genai-cost``)."""

GENAI_COST_LEDGER_SYNCHRONOUS: Final = "GENAI_COST_LEDGER_SYNCHRONOUS"
"""SQLite ``synchronous`` mode: ``full`` (default; acknowledged exports survive power loss) or
``normal`` (faster; survives a process crash, a power loss may drop the last commits)."""

GENAI_COST_LEDGER_RESPONSE_WINDOW_CALLS: Final = "GENAI_COST_LEDGER_RESPONSE_WINDOW_CALLS"
"""Recent calls whose provider response ids the ledger remembers to drop repeats (default 500000)."""

GENAI_COST_PIPELINE_QUEUE_MAX_CALLS: Final = "GENAI_COST_PIPELINE_QUEUE_MAX_CALLS"
"""LLM calls waiting for the ledger writer before exports are refused as retryable (default 50000)."""

GENAI_COST_PIPELINE_MAX_COMMIT_CALLS: Final = "GENAI_COST_PIPELINE_MAX_COMMIT_CALLS"
"""Most calls in one ledger transaction (default 20000)."""

GENAI_COST_PIPELINE_ACK_TIMEOUT_SECONDS: Final = "GENAI_COST_PIPELINE_ACK_TIMEOUT_SECONDS"
"""Longest an export waits for its commit before a retryable answer (default 9)."""

GENAI_COST_PIPELINE_NESTED_WINDOW_CALLS: Final = "GENAI_COST_PIPELINE_NESTED_WINDOW_CALLS"
"""Recent calls remembered to link nested duplicate spans across exports (default 20000; 0 disables)."""

GENAI_COST_PIPELINE_SHUTDOWN_GRACE_SECONDS: Final = "GENAI_COST_PIPELINE_SHUTDOWN_GRACE_SECONDS"
"""On SIGTERM/SIGINT, how long in-flight exports may take to finish and commit (default 10)."""

GENAI_COST_METRICS_LABEL_VALUE_LIMIT: Final = "GENAI_COST_METRICS_LABEL_VALUE_LIMIT"
"""Distinct values kept per metric label (agent, provider, model, operation) before ``other`` (default 1000)."""

GENAI_COST_METRICS_OVERFLOW_VALUE: Final = "GENAI_COST_METRICS_OVERFLOW_VALUE"
"""Label value standing for the values beyond the limit (default ``other``)."""

GENAI_COST_PRICING_OVERRIDES_FILE: Final = "GENAI_COST_PRICING_OVERRIDES_FILE"
"""YAML file of custom, fine-tuned or negotiated prices (default: none)."""

GENAI_COST_INGEST_TAG_ATTRIBUTES: Final = "GENAI_COST_INGEST_TAG_ATTRIBUTES"
"""Attributes recorded as tag dimensions, ``attr[=label],...``, e.g. ``app.team=team,tenant`` (default: none).
In YAML: a list of attribute names or a mapping ``{attribute: label}``."""

GENAI_COST_LOG_LEVEL: Final = "GENAI_COST_LOG_LEVEL"
"""Log level: debug, info, warning, error (default info)."""
