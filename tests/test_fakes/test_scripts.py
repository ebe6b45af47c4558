"""`Script` validation and text splitting (pure, no server)."""

from __future__ import annotations

from typing import Any

import pytest

from genai_cost.fakes.scripts import Script, ScriptQueue


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"chunks": 0}, "Script.chunks: 0 must be >= 1"),
        ({"output_tokens": -1}, "Script.output_tokens: -1 must be >= 0"),
        ({"cut_after": -2}, "Script.cut_after: -2 must be >= 0"),
        ({"status": 200}, "Script.status: 200 is not an HTTP error status (400-599)"),
        ({"latency": -0.5}, "Script.latency/chunk_interval: -0.5/0.0 must be >= 0"),
        ({"text": "ab", "chunks": 3}, "Script.text: 2 characters cannot fill 3 chunks"),
    ],
)
def test_invalid_scripts_name_the_field(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError) as info:
        Script(**kwargs)

    assert str(info.value) == message


@pytest.mark.parametrize(
    ("script", "pieces"),
    [
        (Script(chunks=3), ["chunk0 ", "chunk1 ", "chunk2 "]),
        (Script(text="abcdefg", chunks=3), ["abc", "de", "fg"]),
        (Script(text="xy", chunks=2), ["x", "y"]),
    ],
)
def test_pieces_split_text_into_exactly_chunks(script: Script, pieces: list[str]) -> None:
    assert script.pieces() == pieces


def test_queue_rejects_non_scripts() -> None:
    queue = ScriptQueue()

    with pytest.raises(TypeError, match="script: expected Script, got dict"):
        queue.push([{"status": 429}])  # type: ignore[list-item]
    assert queue.pending() == 0
