"""OpenTelemetry auto-instrumentation for LLM SDKs that records exact token usage."""
