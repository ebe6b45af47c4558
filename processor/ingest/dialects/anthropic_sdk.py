"""The spans the ``anthropic`` Python SDK (>= 2) emits itself (scope ``com.anthropic.sdk.python``).

Semantic-convention names; ``input_tokens`` includes cache reads and writes (12050 = 50 + 10000 + 2000);
``anthropic.usage.cache_creation.ephemeral_1h_input_tokens`` says how many writes have a 1-hour TTL.
"""

from __future__ import annotations

from genai_cost.processor.ingest.dialects import base
from genai_cost.processor.ingest.dialects.base import Reading, read_semconv
from genai_cost.processor.ingest.model import SpanView
from genai_cost.processor.ingest.values import token_count

NAME = "anthropic-sdk"
_SCOPE_PREFIX = "com.anthropic.sdk"
#: The attribute keys :func:`claims` reads (none: the scope decides).
CLAIM_KEYS: frozenset[str] = frozenset()
_CACHE_1H = "anthropic.usage.cache_creation.ephemeral_1h_input_tokens"

#: Every attribute key this dialect reads.
KEYS = frozenset((_CACHE_1H,)) | base.KEYS


def claims(span: SpanView) -> bool:
    return span.scope_name.startswith(_SCOPE_PREFIX)


def read(span: SpanView) -> Reading:
    reading = read_semconv(span.attributes, NAME)
    reading.cache_write_1h = token_count(span.attributes, _CACHE_1H) or 0
    return reading
