"""What a dialect reader extracts from one span, before token accounting is normalised."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from enum import Enum
from typing import Any

from genai_cost.processor.domain.records_fast import positional_constructor
from genai_cost.processor.ingest.model import AttrValue
from genai_cost.processor.ingest.values import MAX_TOKENS_PER_CALL, first_count, first_text

try:
    from genai_cost.processor.ingest._spanscan import pick as _pick
except ImportError:  # built without a C compiler: key by key
    _pick = None  # type: ignore[assignment]

#: Operations that are provider calls (priced); others are never priced.
INFERENCE_OPERATIONS = frozenset({"chat", "text_completion", "generate_content", "embeddings"})
#: Operations whose spans sum their children's usage: never priced again.
AGGREGATE_OPERATIONS = frozenset({"invoke_agent", "invoke_workflow", "create_agent"})
#: Older names for inference operations (``llm.request.type`` and early semconv drafts).
OPERATION_ALIASES = {
    "completion": "text_completion",
    "completions": "text_completion",
    "embedding": "embeddings",
    "chat_completion": "chat",
    "generate": "generate_content",
}

_CLASS_REPR = re.compile(r"^<class '([^']+)'>$")


class Role(Enum):
    """What a span is to the processor."""

    INFERENCE = "inference"  # one provider call: priced
    AGGREGATE = "aggregate"  # agent/workflow/task span carrying summed usage: counted, never priced
    CONTEXT = "context"  # carries attribution for its descendants only


@dataclass(slots=True)
class Reading:
    """One span as a dialect reads it. Counts are as the span reports them (None = absent)."""

    dialect: str
    role: Role
    operation: str = "chat"
    provider: str | None = None
    request_model: str | None = None
    response_model: str | None = None
    response_id: str | None = None
    input: int | None = None
    output: int | None = None
    cache_read: int | None = None
    cache_write: int | None = None
    reasoning: int | None = None
    cache_write_1h: int = 0
    input_includes_cache: bool = True  # semconv: input_tokens counts cache reads and writes
    output_includes_reasoning: bool = True  # output_tokens counts reasoning tokens
    output_overcount: int = 0  # a known peer bug's excess output tokens (see traceloop)
    provider_cost_usd: Decimal | None = None
    service_tier: str | None = None

    @property
    def has_usage(self) -> bool:
        return self.input is not None or self.output is not None


new_reading: Callable[..., Reading] = positional_constructor(Reading)
"""``Reading(*fields)`` for the hot path (positional, in field order)."""


# Semantic-convention usage keys, newest first, then the deprecated and peer spellings.
INPUT_KEYS = ("gen_ai.usage.input_tokens", "gen_ai.usage.prompt_tokens")
OUTPUT_KEYS = ("gen_ai.usage.output_tokens", "gen_ai.usage.completion_tokens")
CACHE_READ_KEYS = ("gen_ai.usage.cache_read.input_tokens", "gen_ai.usage.cache_read_input_tokens")
CACHE_WRITE_KEYS = (
    "gen_ai.usage.cache_write.input_tokens",
    "gen_ai.usage.cache_creation.input_tokens",
    "gen_ai.usage.cache_creation_input_tokens",
)
REASONING_KEYS = ("gen_ai.usage.reasoning.output_tokens", "gen_ai.usage.reasoning_tokens")
SERVICE_TIER_KEYS = (
    "openai.response.service_tier",
    "gen_ai.openai.response.service_tier",
    "openai.request.service_tier",
    "gen_ai.openai.request.service_tier",
)
OPERATION_KEYS = ("gen_ai.operation.name", "llm.request.type")
PROVIDER_KEYS = ("gen_ai.provider.name", "gen_ai.system")
_REQUEST_MODEL = ("gen_ai.request.model",)
_RESPONSE_MODEL = ("gen_ai.response.model",)
_RESPONSE_ID = ("gen_ai.response.id",)

#: Every attribute key :func:`read_semconv` reads.
KEYS = frozenset(
    INPUT_KEYS
    + OUTPUT_KEYS
    + CACHE_READ_KEYS
    + CACHE_WRITE_KEYS
    + REASONING_KEYS
    + SERVICE_TIER_KEYS
    + OPERATION_KEYS
    + PROVIDER_KEYS
    + _REQUEST_MODEL
    + _RESPONSE_MODEL
    + _RESPONSE_ID
)


def semconv_operation(attrs: Mapping[str, AttrValue]) -> str | None:
    """``gen_ai.operation.name`` (else the older ``llm.request.type``), mapped to current names."""
    return _operation_name(first_text(attrs, OPERATION_KEYS))


def _operation_name(raw: str | None) -> str | None:
    if raw is None:
        return None
    raw = raw.lower()
    return OPERATION_ALIASES.get(raw, raw)


def role_for(operation: str | None, has_usage: bool) -> Role:
    """Inference operations are calls; aggregates and unnamed operations with usage are not re-priced."""
    if operation in INFERENCE_OPERATIONS:
        return Role.INFERENCE
    if operation is None:
        # Older spans name no operation; a span with usage and no operation is an LLM call.
        return Role.INFERENCE if has_usage else Role.CONTEXT
    return Role.AGGREGATE if has_usage and operation in AGGREGATE_OPERATIONS else Role.CONTEXT


_COUNT, _TEXT = 0, 1
#: What :func:`read_semconv` reads, in the order of its Reading fields (for ``_spanscan.pick``).
_SEMCONV_PLAN: tuple[tuple[tuple[str, ...], int], ...] = (
    (INPUT_KEYS, _COUNT),
    (OUTPUT_KEYS, _COUNT),
    (OPERATION_KEYS, _TEXT),
    (PROVIDER_KEYS, _TEXT),
    (_REQUEST_MODEL, _TEXT),
    (_RESPONSE_MODEL, _TEXT),
    (_RESPONSE_ID, _TEXT),
    (CACHE_READ_KEYS, _COUNT),
    (CACHE_WRITE_KEYS, _COUNT),
    (REASONING_KEYS, _COUNT),
    (SERVICE_TIER_KEYS, _TEXT),
)


def read_semconv(attrs: Mapping[str, AttrValue], dialect: str) -> Reading:
    """The semantic-convention fields (current and deprecated names) shared by most dialects."""
    picked = _pick(attrs, _SEMCONV_PLAN, MAX_TOKENS_PER_CALL) if _pick is not None and type(attrs) is dict else None
    if picked is None:  # a value that is not plain (or no compiled module)
        picked = _picked_key_by_key(attrs)
    input_tokens, output_tokens = picked[0], picked[1]
    operation = _operation_name(picked[2])
    role = role_for(operation, input_tokens is not None or output_tokens is not None)
    if role is Role.CONTEXT:
        return Reading(dialect, role)
    provider, request_model, response_model, response_id, cache_read, cache_write, reasoning, tier = picked[3:]
    return new_reading(  # Reading(...), positional in field order
        dialect,
        role,
        operation or "chat",
        provider,
        request_model,
        response_model,
        response_id,
        input_tokens,
        output_tokens,
        cache_read,
        cache_write,
        reasoning,
        0,
        True,
        True,
        0,
        None,
        tier,
    )


def _picked_key_by_key(attrs: Mapping[str, AttrValue]) -> tuple[Any, ...]:
    """The values of :data:`_SEMCONV_PLAN`, read in order by the typed readers (which raise InvalidSpan).

    Only the usage and the operation are read from a span that is not a call or an aggregate.
    """
    input_tokens = first_count(attrs, INPUT_KEYS)
    output_tokens = first_count(attrs, OUTPUT_KEYS)
    operation = first_text(attrs, OPERATION_KEYS)
    if role_for(_operation_name(operation), input_tokens is not None or output_tokens is not None) is Role.CONTEXT:
        return (input_tokens, output_tokens, operation)
    return (
        input_tokens,
        output_tokens,
        operation,
        first_text(attrs, PROVIDER_KEYS),
        first_text(attrs, _REQUEST_MODEL),
        first_text(attrs, _RESPONSE_MODEL),
        first_text(attrs, _RESPONSE_ID),
        first_count(attrs, CACHE_READ_KEYS),
        first_count(attrs, CACHE_WRITE_KEYS),
        first_count(attrs, REASONING_KEYS),
        first_text(attrs, SERVICE_TIER_KEYS),
    )


def error_type(raw: str | None) -> str | None:
    """``error.type``, with the class repr some peers record (``<class 'openai.RateLimitError'>``) unwrapped."""
    if raw is None:
        return None
    match = _CLASS_REPR.match(raw)
    return match.group(1) if match else raw
