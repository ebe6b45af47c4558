"""OpenTelemetry auto-instrumentation for LLM SDKs that records exact token usage.

Public API: :class:`attribute_to` (attribution context manager / decorator),
:class:`BudgetExceededError` (raised when enforcement refuses a call),
:class:`OpenAIInstrumentor` and :class:`AnthropicInstrumentor`. The instrumentors are imported
lazily, so importing this package imports no LLM SDK.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from genai_cost.instrumentation.core.attribution import attribute_to
from genai_cost.instrumentation.core.enforcement import BudgetExceededError

if TYPE_CHECKING:
    from genai_cost.instrumentation.anthropic import AnthropicInstrumentor
    from genai_cost.instrumentation.openai import OpenAIInstrumentor

__version__ = "0.1.0"

__all__ = ["AnthropicInstrumentor", "BudgetExceededError", "OpenAIInstrumentor", "__version__", "attribute_to"]


def __getattr__(name: str) -> Any:
    if name == "OpenAIInstrumentor":
        from genai_cost.instrumentation.openai import OpenAIInstrumentor

        return OpenAIInstrumentor
    if name == "AnthropicInstrumentor":
        from genai_cost.instrumentation.anthropic import AnthropicInstrumentor

        return AnthropicInstrumentor
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
