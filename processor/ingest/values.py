"""Typed reads of span attributes; a bad value raises :class:`InvalidSpan` naming the key and value."""

from __future__ import annotations

from collections.abc import Mapping

from genai_cost.processor.ingest.model import INVALID_ATTRIBUTE, INVALID_TOKENS, AttrValue

#: More tokens than this in one call is not a real call: the value is corrupt.
MAX_TOKENS_PER_CALL = 1_000_000_000


class InvalidSpan(Exception):
    """A span whose attribute values cannot be accepted; becomes a Rejection."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


def token_count(attrs: Mapping[str, AttrValue], key: str) -> int | None:
    """A token count attribute: None when absent; a non-negative integer up to MAX_TOKENS_PER_CALL."""
    value = attrs.get(key)
    if value is None:
        return None
    if type(value) is int:
        if value < 0:
            raise InvalidSpan(INVALID_TOKENS, f"{key}: {value} must be >= 0")
        if value > MAX_TOKENS_PER_CALL:
            raise InvalidSpan(INVALID_TOKENS, f"{key}: {value} exceeds {MAX_TOKENS_PER_CALL} tokens per call")
        return value
    if type(value) is float and value.is_integer():
        return token_count({key: int(value)}, key)
    raise InvalidSpan(INVALID_TOKENS, f"{key}: {value!r} is not an integer token count")


def first_count(attrs: Mapping[str, AttrValue], keys: tuple[str, ...]) -> int | None:
    """The first present token count among ``keys`` (new names before deprecated ones)."""
    for key in keys:
        if key in attrs:
            value = attrs[key]
            if type(value) is int and 0 <= value <= MAX_TOKENS_PER_CALL:
                return value
            return token_count(attrs, key)
    return None


def text(attrs: Mapping[str, AttrValue], key: str) -> str | None:
    """A string attribute (None when absent or empty); any other type is invalid."""
    value = attrs.get(key)
    if value is None:
        return None
    if type(value) is not str:
        raise InvalidSpan(INVALID_ATTRIBUTE, f"{key}: {value!r} is not a string")
    return value or None


def first_text(attrs: Mapping[str, AttrValue], keys: tuple[str, ...]) -> str | None:
    """The first non-empty string among ``keys``; a present value that is not a string is invalid."""
    get = attrs.get
    for key in keys:
        value = get(key)
        if value is None:
            continue
        if type(value) is not str:
            raise InvalidSpan(INVALID_ATTRIBUTE, f"{key}: {value!r} is not a string")
        if value:
            return value
    return None


def label_text(value: AttrValue) -> str | None:
    """An attribution value as text (ids are sometimes recorded as numbers); None for empty/compound."""
    if value is None or isinstance(value, list | dict | bytes):
        return None
    if type(value) is bool:
        return "true" if value else "false"
    result = str(value)
    return result or None
