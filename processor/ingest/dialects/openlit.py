"""OpenLIT (scope ``openlit.instrumentation.*``): semantic-convention names plus its own.

Accounting differs by provider: OpenAI ``input_tokens`` includes cached tokens (1200 with 1024
cached), Anthropic's excludes cache reads and writes (50, as Anthropic's API reports it).
``gen_ai.usage.cost`` is the cost OpenLIT computed from its pricing file: kept as the provider cost
(rounded to 1e-12 USD, it is a float); 0 means OpenLIT had no price (offline) and is ignored.
OpenLIT 1.45 estimates tokens from text length for an OpenAI chat stream without usage: such a span
(streamed, no ``cache_read`` count, which OpenLIT records whenever the response had usage) is taken
as carrying no usage rather than priced as if the estimate were real.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from genai_cost.processor.ingest.dialects import base
from genai_cost.processor.ingest.dialects.base import Reading, Role, read_semconv
from genai_cost.processor.ingest.model import INVALID_ATTRIBUTE, SpanView
from genai_cost.processor.ingest.values import InvalidSpan

NAME = "openlit"
COST = "gen_ai.usage.cost"
_SCOPE_PREFIX = "openlit."
_CACHE_READ = "gen_ai.usage.cache_read.input_tokens"
_FLOAT_QUANTUM = Decimal("1e-12")
_SDK_NAME = "telemetry.sdk.name"
#: The attribute keys :func:`claims` reads.
CLAIM_KEYS = frozenset((_SDK_NAME,))
_STREAM = "gen_ai.request.stream"

#: Every attribute key this dialect reads.
KEYS = frozenset((COST, _CACHE_READ, _SDK_NAME, _STREAM)) | base.KEYS


def claims(span: SpanView) -> bool:
    return span.scope_name.startswith(_SCOPE_PREFIX) or span.attributes.get(_SDK_NAME) == "openlit"


def _cost(value: object) -> Decimal | None:
    if value is None:
        return None
    if type(value) not in (int, float):
        raise InvalidSpan(INVALID_ATTRIBUTE, f"{COST}: {value!r} is not a number")
    try:
        cost = Decimal(repr(value)).quantize(_FLOAT_QUANTUM).normalize()
    except InvalidOperation:
        cost = Decimal("NaN")
    if not cost.is_finite():
        raise InvalidSpan(INVALID_ATTRIBUTE, f"{COST}: {value!r} is not a finite cost")
    if cost < 0:
        raise InvalidSpan(INVALID_ATTRIBUTE, f"{COST}: {value!r} must be >= 0")
    return cost if cost > 0 else None


def read(span: SpanView) -> Reading:
    attrs = span.attributes
    reading = read_semconv(attrs, NAME)
    if reading.role is not Role.INFERENCE:
        return reading
    provider = (reading.provider or "").lower()
    reading.input_includes_cache = provider != "anthropic"
    estimated = (
        provider == "openai" and reading.operation == "chat" and attrs.get(_STREAM) is True and _CACHE_READ not in attrs
    )
    if estimated:
        reading.input = reading.output = reading.reasoning = None
        return reading
    reading.provider_cost_usd = _cost(attrs.get(COST))
    return reading
