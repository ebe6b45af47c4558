"""Shared machinery of the SDK instrumentors: guard, attribution, span helpers, stream proxy."""
