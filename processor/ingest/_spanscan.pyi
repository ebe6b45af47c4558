"""Compiled fast path of :mod:`genai_cost.processor.ingest.protobuf` (see ``_spanscan.c``)."""

from collections.abc import Callable, Set
from typing import Any

from genai_cost.processor.ingest.model import AttrValue, SpanView

def scan(
    body: bytes,
    markers: tuple[bytes, ...],
    wanted: Set[str],
    value_of: Callable[[bytes], AttrValue],
    block_info: Callable[[int, int, int, int], tuple[str, str, Any]],
    make_view: Callable[..., SpanView],
    /,
) -> tuple[int, list[SpanView]] | None: ...
def pick(
    attrs: dict[str, Any], plan: tuple[tuple[tuple[str, ...], int], ...], max_count: int, /
) -> tuple[Any, ...] | None: ...
