"""Compiled positional constructors for slots dataclasses (see ``_slots.c`` and ``records_fast``)."""

from collections.abc import Callable
from typing import Any

def constructor(cls: type, names: tuple[str, ...], defaults: tuple[tuple[Any, bool], ...], /) -> Callable[..., Any]: ...
