"""Ours and the OTel GenAI semantic conventions (current and deprecated names), incl. the official
``opentelemetry-instrumentation-openai-v2`` in both its modes.

Accounting: ``gen_ai.usage.input_tokens`` includes cache reads and writes; ``output_tokens`` includes
reasoning. ``opentelemetry-instrumentation-openai-v2`` records neither cached nor reasoning counts, so
its calls are priced as uncached input (an upper bound: the span does not say what was cached).
"""

from __future__ import annotations

from genai_cost.processor.ingest.dialects import base
from genai_cost.processor.ingest.dialects.base import Reading, read_semconv
from genai_cost.processor.ingest.model import SpanView

NAME = "semconv"

#: Every attribute key this dialect reads.
KEYS = base.KEYS
#: The attribute keys :func:`claims` reads (none: it claims every span).
CLAIM_KEYS: frozenset[str] = frozenset()


def claims(span: SpanView) -> bool:
    """The fallback dialect: any span with ``gen_ai.*`` attributes."""
    return True


def read(span: SpanView) -> Reading:
    return read_semconv(span.attributes, NAME)
