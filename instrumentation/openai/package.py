"""The OpenAI SDK versions this instrumentation supports (read by ``BaseInstrumentor``)."""

_instruments = ("openai >= 1.66.0",)
