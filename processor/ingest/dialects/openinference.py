"""OpenInference (Arize): ``openinference.span.kind`` = LLM | EMBEDDING are calls; AGENT, CHAIN, TOOL
and the other kinds are framework spans, never priced.

Names: ``llm.token_count.prompt`` (includes cache reads and writes, for OpenAI and Anthropic alike),
``llm.token_count.completion`` (includes reasoning), ``llm.token_count.prompt_details.cache_read`` /
``cache_write``, ``llm.token_count.completion_details.reasoning``; model ``llm.model_name`` (the
response model), ``llm.request.model_name`` or the ``model`` of ``llm.invocation_parameters`` (JSON);
embeddings ``embedding.model_name``; provider ``llm.provider``, else ``llm.system``.
"""

from __future__ import annotations

import json

from genai_cost.processor.ingest.dialects.base import Reading, Role
from genai_cost.processor.ingest.model import AttrValue, SpanView
from genai_cost.processor.ingest.values import first_count, first_text, text

NAME = "openinference"
KIND = "openinference.span.kind"
#: The attribute keys :func:`claims` reads.
CLAIM_KEYS = frozenset((KIND,))
_OPERATIONS = {"LLM": "chat", "EMBEDDING": "embeddings"}

PROMPT = "llm.token_count.prompt"
COMPLETION = "llm.token_count.completion"
CACHE_READ = "llm.token_count.prompt_details.cache_read"
CACHE_WRITE = "llm.token_count.prompt_details.cache_write"
REASONING = "llm.token_count.completion_details.reasoning"
_EMBEDDING_MODEL = ("embedding.model_name", "llm.model_name")
_RESPONSE_MODEL = ("llm.response.model_name", "llm.model_name")
_REQUEST_MODEL = ("llm.request.model_name",)
_PROVIDER = ("llm.provider", "llm.system")
_INVOCATION = "llm.invocation_parameters"
_EMBEDDING_INVOCATION = "embedding.invocation_parameters"

#: Every attribute key this dialect reads.
KEYS = frozenset(
    (KIND, PROMPT, COMPLETION, CACHE_READ, CACHE_WRITE, REASONING, _INVOCATION, _EMBEDDING_INVOCATION)
).union(_EMBEDDING_MODEL, _RESPONSE_MODEL, _REQUEST_MODEL, _PROVIDER)


def claims(span: SpanView) -> bool:
    return KIND in span.attributes


def _invocation_model(attrs: dict[str, AttrValue], key: str) -> str | None:
    """The ``model`` in an invocation-parameters JSON string (None when absent or not JSON)."""
    raw = attrs.get(key)
    if type(raw) is not str or '"model"' not in raw:
        return None
    try:
        params = json.loads(raw)
    except ValueError:
        return None
    model = params.get("model") if isinstance(params, dict) else None
    return model if isinstance(model, str) and model else None


def read(span: SpanView) -> Reading:
    attrs = span.attributes
    kind = (text(attrs, KIND) or "").upper()
    operation = _OPERATIONS.get(kind)
    prompt = first_count(attrs, (PROMPT,))
    completion = first_count(attrs, (COMPLETION,))
    if operation is None:
        has_usage = prompt is not None or completion is not None
        return Reading(NAME, Role.AGGREGATE if has_usage else Role.CONTEXT)
    if operation == "embeddings":
        response_model = first_text(attrs, _EMBEDDING_MODEL)
        request_model = _invocation_model(attrs, _EMBEDDING_INVOCATION)
    else:
        response_model = first_text(attrs, _RESPONSE_MODEL)
        request_model = first_text(attrs, _REQUEST_MODEL) or _invocation_model(attrs, _INVOCATION)
    return Reading(
        NAME,
        Role.INFERENCE,
        operation=operation,
        provider=first_text(attrs, _PROVIDER),
        request_model=request_model,
        response_model=response_model,
        input=prompt,
        output=completion,
        cache_read=first_count(attrs, (CACHE_READ,)),
        cache_write=first_count(attrs, (CACHE_WRITE,)),
        reasoning=first_count(attrs, (REASONING,)),
    )
