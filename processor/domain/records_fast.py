"""Cheaper construction of the slots record dataclasses on the hot path (ingest, pricing, pipeline).

A dataclass's generated ``__init__`` sets each field by name: ``object.__setattr__(self, name,
value)`` when frozen (about 1.7 us for ``LlmCall``'s 23 fields), an attribute store otherwise. For
a *slots* dataclass without ``__post_init__`` the same object is built by storing each argument in
its slot. :func:`positional_constructor` returns a compiled constructor doing that (``_slots.c``,
about 0.15 us for ``LlmCall``) or, without the compiled module, a generated function calling each
slot descriptor's ``__set__`` (about twice as fast as a frozen ``__init__``). For any other class
it returns the class itself, so callers stay correct if a record gains validation.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any, TypeVar

from genai_cost.processor.domain.records import Cost, LlmCall, PricedCall, TokenUsage

try:
    from genai_cost.processor.domain import _slots
except ImportError:  # built without a C compiler: the generated Python constructors below
    _slots = None  # type: ignore[assignment]

T = TypeVar("T")


def positional_constructor(cls: type[T], *, compiled: bool = True) -> Callable[..., T]:
    """``cls(*args)`` for a slots dataclass, storing each argument in its slot (see the module doc).

    ``compiled=False`` returns the generated Python constructor even when ``_slots`` is built.
    """
    params = getattr(cls, "__dataclass_params__", None)
    if (
        params is None
        or "__slots__" not in cls.__dict__
        or hasattr(cls, "__post_init__")
        or any(not f.init or f.kw_only for f in dataclasses.fields(cls))  # type: ignore[arg-type]
    ):
        return cls
    names = [f.name for f in dataclasses.fields(cls)]  # type: ignore[arg-type]
    if compiled and _slots is not None:
        defaults = tuple(
            (f.default_factory, True) if f.default is dataclasses.MISSING else (f.default, False)
            for f in dataclasses.fields(cls)  # type: ignore[arg-type]
            if f.default is not dataclasses.MISSING or f.default_factory is not dataclasses.MISSING
        )
        return _slots.constructor(cls, tuple(names), defaults)  # type: ignore[no-any-return]
    namespace: dict[str, Any] = {"_new": object.__new__, "_cls": cls}
    params_src: list[str] = []
    body: list[str] = ["    self = _new(_cls)"]
    for i, field in enumerate(dataclasses.fields(cls)):  # type: ignore[arg-type]
        namespace[f"_set{i}"] = getattr(cls, field.name).__set__
        if field.default is not dataclasses.MISSING:
            namespace[f"_default{i}"] = field.default
            params_src.append(f"{field.name}=_default{i}")
            body.append(f"    _set{i}(self, {field.name})")
        elif field.default_factory is not dataclasses.MISSING:
            namespace[f"_factory{i}"] = field.default_factory
            params_src.append(f"{field.name}=_MISSING")
            namespace["_MISSING"] = dataclasses.MISSING
            body.append(f"    _set{i}(self, _factory{i}() if {field.name} is _MISSING else {field.name})")
        else:
            params_src.append(field.name)
            body.append(f"    _set{i}(self, {field.name})")
    source = f"def make({', '.join(params_src)}):\n" + "\n".join(body) + "\n    return self\n"
    exec(source, namespace)
    make: Callable[..., T] = namespace["make"]
    make.__doc__ = f"{cls.__name__}({', '.join(names)}), built slot by slot."
    return make


#: ``LlmCall(*fields)``, ``TokenUsage(*counts)``, ``Cost(*fields)`` and ``PricedCall(call, cost)`` for
#: the hot path (positional, in field order).
new_llm_call: Callable[..., LlmCall] = positional_constructor(LlmCall)
new_token_usage: Callable[..., TokenUsage] = positional_constructor(TokenUsage)
new_cost: Callable[..., Cost] = positional_constructor(Cost)
new_priced_call: Callable[..., PricedCall] = positional_constructor(PricedCall)
