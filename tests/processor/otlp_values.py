"""OTLP ``AnyValue``s from plain Python values, for tests that build spans."""

from __future__ import annotations

from typing import Any

from opentelemetry.proto.common.v1.common_pb2 import AnyValue


def otlp_value(value: Any) -> AnyValue:
    """``value`` as an AnyValue (an AnyValue is kept as it is; bool before int, as Python's types nest)."""
    if isinstance(value, AnyValue):
        return value
    if isinstance(value, bool):
        return AnyValue(bool_value=value)
    if isinstance(value, int):
        return AnyValue(int_value=value)
    if isinstance(value, float):
        return AnyValue(double_value=value)
    if isinstance(value, bytes):
        return AnyValue(bytes_value=value)
    return AnyValue(string_value=value)
