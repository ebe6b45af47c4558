"""``OpenAIInstrumentor``: wires the wrappers onto the OpenAI SDK (entry point ``genai_cost_openai``)."""

from __future__ import annotations

import importlib
import logging
from collections.abc import Collection
from typing import Any, Final

from opentelemetry import trace
from opentelemetry.instrumentation.instrumentor import BaseInstrumentor  # type: ignore[attr-defined]
from wrapt import wrap_function_wrapper

from genai_cost.instrumentation.core import enforcement
from genai_cost.instrumentation.core.guard import run_guarded
from genai_cost.instrumentation.openai.calls import CHAT, EMBEDDINGS, OPERATIONS, RESPONSES
from genai_cost.instrumentation.openai.package import _instruments
from genai_cost.instrumentation.openai.wrappers import SdkTypes, async_wrapper, sync_wrapper

_logger = logging.getLogger(__name__)

_SCOPE: Final = "genai_cost.instrumentation.openai"

# (module, class, method, api, is_async). Optional surfaces are probed; missing ones are skipped.
# The streaming helpers (``chat.completions.stream``, ``responses.stream``) call ``create`` and the
# raw-response wrappers call the bound ``create``, so they are covered without wrappers of their own.
_TARGETS: Final = (
    ("openai.resources.chat.completions", "Completions", "create", CHAT, False),
    ("openai.resources.chat.completions", "AsyncCompletions", "create", CHAT, True),
    ("openai.resources.chat.completions", "Completions", "parse", CHAT, False),
    ("openai.resources.chat.completions", "AsyncCompletions", "parse", CHAT, True),
    ("openai.resources.responses", "Responses", "create", RESPONSES, False),
    ("openai.resources.responses", "AsyncResponses", "create", RESPONSES, True),
    ("openai.resources.responses", "Responses", "parse", RESPONSES, False),
    ("openai.resources.responses", "AsyncResponses", "parse", RESPONSES, True),
    ("openai.resources.embeddings", "Embeddings", "create", EMBEDDINGS, False),
    ("openai.resources.embeddings", "AsyncEmbeddings", "create", EMBEDDINGS, True),
)
# Older 1.x SDKs have ``parse`` only under ``beta`` (it posts itself, not through ``create``).
_BETA_PARSE: Final = (
    ("openai.resources.beta.chat.completions", "Completions", "parse", CHAT, False),
    ("openai.resources.beta.chat.completions", "AsyncCompletions", "parse", CHAT, True),
)


def _attr(module: str, name: str) -> Any:
    try:
        return getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError):
        return None


def _sdk_types() -> SdkTypes:
    def present(*pairs: tuple[str, str]) -> tuple[type, ...]:
        return tuple(t for t in (_attr(m, n) for m, n in pairs) if isinstance(t, type))

    return SdkTypes(
        streams=present(("openai._streaming", "Stream"), ("openai._streaming", "AsyncStream")),
        eager_raw=present(("openai._legacy_response", "LegacyAPIResponse")),
        lazy_raw=present(("openai._response", "APIResponse")),
        async_raw=present(("openai._response", "AsyncAPIResponse")),
        not_given=present(("openai._types", "NotGiven"), ("openai._types", "Omit")),
        models=present(("openai._models", "BaseModel")),
    )


class OpenAIInstrumentor(BaseInstrumentor):  # type: ignore[misc]
    """One CLIENT span with exact token usage per OpenAI SDK call (chat, Responses, embeddings).

    ``OpenAIInstrumentor().instrument(tracer_provider=...)``; ``uninstrument()`` restores the SDK.
    """

    def instrumentation_dependencies(self) -> Collection[str]:
        return _instruments

    # BaseInstrumentor is a singleton whose __init__ may run again: state is set in _instrument.
    _wrapped: list[tuple[type, str, Any]]

    def _instrument(self, **kwargs: Any) -> None:
        self._wrapped = []
        run_guarded(self._wrap_all, kwargs.get("tracer_provider"))
        run_guarded(enforcement.ensure_configured)

    def _wrap_all(self, tracer_provider: Any) -> None:
        from genai_cost.instrumentation import __version__

        tracer = trace.get_tracer(_SCOPE, __version__, tracer_provider)
        types = _sdk_types()
        targets = list(_TARGETS)
        completions = _attr("openai.resources.chat.completions", "Completions")
        if completions is None or not hasattr(completions, "parse"):
            targets.extend(_BETA_PARSE)
        for module, cls_name, method, api, is_async in targets:
            run_guarded(self._wrap_one, tracer, types, module, cls_name, method, api, is_async)

    def _wrap_one(
        self, tracer: Any, types: SdkTypes, module: str, cls_name: str, method: str, api: str, is_async: bool
    ) -> None:
        cls = _attr(module, cls_name)
        if not isinstance(cls, type) or not callable(getattr(cls, method, None)):
            return
        if any(c is cls and m == method for c, m, _ in self._wrapped):
            return
        original = cls.__dict__.get(method, _MISSING)
        factory = async_wrapper if is_async else sync_wrapper
        wrap_function_wrapper(cls, method, factory(tracer, OPERATIONS[api], types))
        self._wrapped.append((cls, method, original))

    def _uninstrument(self, **kwargs: Any) -> None:
        wrapped = getattr(self, "_wrapped", [])
        while wrapped:
            cls, method, original = wrapped.pop()
            run_guarded(_restore, cls, method, original)


_MISSING: Final = object()


def _restore(cls: type, method: str, original: Any) -> None:
    """Put back exactly what the class held before (or remove what we added to it)."""
    if original is _MISSING:
        delattr(cls, method)
    else:
        setattr(cls, method, original)
