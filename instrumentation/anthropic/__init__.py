"""OpenTelemetry instrumentation of the ``anthropic`` SDK: one span per messages call, exact tokens.

Entry point ``genai_cost_anthropic`` (``opentelemetry-instrument`` loads it); or in code::

    from genai_cost.instrumentation.anthropic import AnthropicInstrumentor
    AnthropicInstrumentor().instrument(tracer_provider=provider)
"""

from genai_cost.instrumentation.anthropic.instrumentor import AnthropicInstrumentor

__all__ = ["AnthropicInstrumentor"]
