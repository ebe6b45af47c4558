"""The anthropic SDK versions this instrumentation supports (read by ``instrumentation_dependencies``)."""

_instruments = ("anthropic >= 0.40.0",)
