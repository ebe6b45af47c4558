"""Span attributes read from OpenAI SDK response objects (chat, Responses, embeddings, errors).

Attribute access only (no ``model_dump``): this runs once per call on the hot path. Every value is
type-checked; a field the SDK or a compatible server leaves out is left out, never invented.
"""

from __future__ import annotations

from typing import Any

from opentelemetry.util.types import AttributeValue

from genai_cost.instrumentation.core import semconv
from genai_cost.instrumentation.core.spans import error_type_of, usage_attributes

Attributes = dict[str, AttributeValue]


def _int(value: Any) -> int | None:
    if value.__class__ is int:  # the common case, decided without isinstance
        return value  # type: ignore[no-any-return]
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _get(obj: Any, key: str) -> Any:
    """A field of an SDK object or of a plain JSON dict (``None`` when absent)."""
    return obj.get(key) if obj.__class__ is dict else getattr(obj, key, None)


def _detail(details: Any, key: str) -> int | None:
    """A ``*_details`` count; older SDKs keep details they do not model as plain dicts."""
    if details is None:
        return None
    return _int(_get(details, key))


def chat_usage(usage: Any) -> Attributes:
    """``CompletionUsage`` (or its JSON dict) -> token attributes.

    ``prompt_tokens`` already includes cached tokens. Runs once per call: fields are read
    directly, without a helper call per field.
    """
    if usage.__class__ is dict:
        prompt, completion = usage.get("prompt_tokens"), usage.get("completion_tokens")
        prompt_details, completion_details = usage.get("prompt_tokens_details"), usage.get("completion_tokens_details")
    else:
        prompt, completion = getattr(usage, "prompt_tokens", None), getattr(usage, "completion_tokens", None)
        prompt_details = getattr(usage, "prompt_tokens_details", None)
        completion_details = getattr(usage, "completion_tokens_details", None)
    attrs: Attributes = {}
    if prompt.__class__ is int or _int(prompt) is not None:
        attrs[semconv.USAGE_INPUT_TOKENS] = prompt
    if completion.__class__ is int or _int(completion) is not None:
        attrs[semconv.USAGE_OUTPUT_TOKENS] = completion
    cached = _detail(prompt_details, "cached_tokens")
    if cached is None:
        # DeepSeek reports its cache hits beside prompt_tokens (hit + miss = prompt_tokens).
        cached = _int(_get(usage, "prompt_cache_hit_tokens"))
    if cached is not None:
        attrs[semconv.USAGE_CACHE_READ_INPUT_TOKENS] = cached
    reasoning = _detail(completion_details, "reasoning_tokens")
    if reasoning is not None:
        attrs[semconv.USAGE_REASONING_OUTPUT_TOKENS] = reasoning
    return attrs


def responses_usage(usage: Any) -> Attributes:
    """``ResponseUsage`` -> token attributes (``input_tokens`` already includes cached tokens)."""
    return usage_attributes(
        input_tokens=_int(getattr(usage, "input_tokens", None)),
        output_tokens=_int(getattr(usage, "output_tokens", None)),
        cache_read=_detail(getattr(usage, "input_tokens_details", None), "cached_tokens"),
        reasoning=_detail(getattr(usage, "output_tokens_details", None), "reasoning_tokens"),
    )


def embeddings_usage(usage: Any) -> Attributes:
    """Embeddings usage: ``prompt_tokens`` is the whole input; there are no output tokens."""
    return usage_attributes(input_tokens=_int(getattr(usage, "prompt_tokens", None)), output_tokens=None)


def _usage_or_unavailable(attrs: Attributes, usage_attrs: Attributes | None) -> None:
    if usage_attrs:
        attrs.update(usage_attrs)
    else:
        attrs[semconv.USAGE_UNAVAILABLE] = True


def _metadata(obj: Any, attrs: Attributes) -> None:
    response_id = getattr(obj, "id", None)
    if response_id and isinstance(response_id, str):
        attrs[semconv.RESPONSE_ID] = response_id
    model = getattr(obj, "model", None)
    if model and isinstance(model, str):
        attrs[semconv.RESPONSE_MODEL] = model
    tier = getattr(obj, "service_tier", None)
    if tier and isinstance(tier, str):
        attrs[semconv.OPENAI_SERVICE_TIER] = tier


def chat_completion(completion: Any) -> Attributes:
    """A ``ChatCompletion`` (or ``ParsedChatCompletion``) -> span attributes."""
    attrs: Attributes = {}
    _metadata(completion, attrs)
    choices = getattr(completion, "choices", None)
    if choices:
        reasons = [r for c in choices if (r := getattr(c, "finish_reason", None)) and isinstance(r, str)]
        if reasons:
            attrs[semconv.RESPONSE_FINISH_REASONS] = reasons
    usage = getattr(completion, "usage", None)
    _usage_or_unavailable(attrs, chat_usage(usage) if usage is not None else None)
    return attrs


def response(resp: Any) -> Attributes:
    """A Responses-API ``Response`` -> span attributes.

    Finish reason: the ``incomplete_details.reason`` of an incomplete response (e.g.
    ``max_output_tokens``), else the response ``status`` (``completed``, ``failed``, ...).
    """
    attrs: Attributes = {}
    _metadata(resp, attrs)
    incomplete = getattr(resp, "incomplete_details", None)
    reason = _str(getattr(incomplete, "reason", None)) if incomplete is not None else None
    reason = reason or _str(getattr(resp, "status", None))
    if reason:
        attrs[semconv.RESPONSE_FINISH_REASONS] = [reason]
    usage = getattr(resp, "usage", None)
    _usage_or_unavailable(attrs, responses_usage(usage) if usage is not None else None)
    return attrs


def response_failure(resp: Any) -> str | None:
    """The error code of a Responses-API response whose ``status`` is ``failed``, else ``None``."""
    if getattr(resp, "status", None) != "failed":
        return None
    error = getattr(resp, "error", None)
    return _str(getattr(error, "code", None)) or "failed"


def embeddings(result: Any) -> Attributes:
    """A ``CreateEmbeddingResponse`` -> span attributes (no response id in this API)."""
    attrs: Attributes = {}
    model = _str(getattr(result, "model", None))
    if model:
        attrs[semconv.RESPONSE_MODEL] = model
    usage = getattr(result, "usage", None)
    _usage_or_unavailable(attrs, embeddings_usage(usage) if usage is not None else None)
    return attrs


def error_type(exc: BaseException) -> str:
    """``error.type`` of a failed call: the API error's ``code`` (``rate_limit_exceeded``,
    ``invalid_api_key``, ...), else its ``type`` (``server_error``, ...), else the class name."""
    return _str(getattr(exc, "code", None)) or error_type_of(exc)
