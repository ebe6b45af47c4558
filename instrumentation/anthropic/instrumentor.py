"""``AnthropicInstrumentor``: one CLIENT span with exact token usage per Anthropic messages call."""

from __future__ import annotations

import importlib
import logging
from collections.abc import Collection
from typing import Any

from opentelemetry import trace
from opentelemetry.instrumentation.instrumentor import BaseInstrumentor  # type: ignore[attr-defined]
from opentelemetry.instrumentation.utils import unwrap
from wrapt import wrap_function_wrapper

from genai_cost.instrumentation.anthropic import legacy_helper, wrappers
from genai_cost.instrumentation.anthropic.package import _instruments
from genai_cost.instrumentation.anthropic.sdk_spans import SdkSpanSwitch
from genai_cost.instrumentation.core import enforcement
from genai_cost.instrumentation.core.guard import run_guarded

_logger = logging.getLogger(__name__)

_MODULE = "anthropic._base_client"
_TARGETS = (("SyncAPIClient", wrappers.sync_request), ("AsyncAPIClient", wrappers.async_request))
_SCOPE = "genai_cost.instrumentation.anthropic"


def _version() -> str:
    try:
        from importlib.metadata import version

        return version("genai-cost")
    except Exception:
        return "0.0.0"


class AnthropicInstrumentor(BaseInstrumentor):  # type: ignore[misc]
    """Traces ``messages.create`` (JSON and ``stream=True``), the ``.stream()`` helper, ``parse``,
    raw responses and the beta/Bedrock/Vertex variants, sync and async.

    ``instrument(tracer_provider=...)`` wraps; ``uninstrument()`` restores the originals. While
    instrumented, anthropic >= 2's own span is turned off for the calls traced here, so each call
    has exactly one span carrying token usage.
    """

    # BaseInstrumentor is a singleton whose __init__ runs on every construction: state lives on the class.
    _wrapped: list[tuple[type[Any], str]] = []
    _sdk_spans: SdkSpanSwitch = SdkSpanSwitch()

    def instrumentation_dependencies(self) -> Collection[str]:
        return _instruments

    def _instrument(self, **kwargs: Any) -> None:
        try:
            tracer = trace.get_tracer(_SCOPE, _version(), tracer_provider=kwargs.get("tracer_provider"))
            import anthropic._base_client as base_client
        except Exception:
            _logger.warning("genai-cost: anthropic instrumentation not installed", exc_info=True)
            return
        self._wrapped = []
        for class_name, factory in _TARGETS:
            cls = getattr(base_client, class_name, None)
            if cls is None or not callable(getattr(cls, "request", None)):
                _logger.debug("genai-cost: anthropic has no %s.request; not wrapped", class_name)
                continue
            try:
                wrap_function_wrapper(_MODULE, f"{class_name}.request", factory(tracer))
                self._wrapped.append((cls, "request"))
            except Exception:
                _logger.warning("genai-cost: could not wrap anthropic %s.request", class_name, exc_info=True)
        self._wrap_legacy_helper()
        run_guarded(enforcement.ensure_configured)
        if self._wrapped:
            try:
                self._sdk_spans.install()
            except Exception:
                _logger.warning("genai-cost: could not turn anthropic's own spans off", exc_info=True)

    def _wrap_legacy_helper(self) -> None:
        """Older SDKs: the ``.stream()`` helper rebuilds its stream; hand it to our proxy (probed)."""
        try:
            module = importlib.import_module(legacy_helper.MODULE)
            for name in legacy_helper.CLASSES:
                cls = getattr(module, name, None)
                if isinstance(cls, type) and legacy_helper.needs_shim(cls):
                    wrap_function_wrapper(legacy_helper.MODULE, f"{name}.__init__", legacy_helper.init_wrapper)
                    self._wrapped.append((cls, "__init__"))
                    legacy_helper.installed = True
        except Exception:
            _logger.warning("genai-cost: could not wrap the anthropic stream helper", exc_info=True)

    def _uninstrument(self, **kwargs: Any) -> None:
        while self._wrapped:
            cls, name = self._wrapped.pop()
            try:
                unwrap(cls, name)
            except Exception:
                _logger.warning("genai-cost: could not unwrap anthropic %s.%s", cls.__name__, name, exc_info=True)
        legacy_helper.installed = False
        try:
            self._sdk_spans.uninstall()
        except Exception:
            _logger.warning("genai-cost: could not restore anthropic's own spans", exc_info=True)
