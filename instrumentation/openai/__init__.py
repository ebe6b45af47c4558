"""Auto-instrumentation of the OpenAI Python SDK (entry point ``genai_cost_openai``).

Importing this package does not import ``openai``; :class:`OpenAIInstrumentor` does, when it
instruments.
"""

from genai_cost.instrumentation.openai.instrumentor import OpenAIInstrumentor

__all__ = ["OpenAIInstrumentor"]
