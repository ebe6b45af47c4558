"""Embeddings through the real openai SDK: float and base64 encodings, usage per input."""

from __future__ import annotations

import base64
import struct

import httpx
import openai

from genai_cost.fakes.llm_server import FakeLLMServer, Script


def test_default_base64_is_decoded_by_the_sdk(oai: openai.OpenAI, server: FakeLLMServer) -> None:
    result = oai.embeddings.create(model="text-embedding-3-small", input=["a", "b", "c"])

    assert server.requests[-1].body == {
        "model": "text-embedding-3-small",
        "input": ["a", "b", "c"],
        "encoding_format": "base64",
    }
    assert (result.usage.prompt_tokens, result.usage.total_tokens) == (21, 21)
    assert result.model == "text-embedding-3-small"
    assert [d.index for d in result.data] == [0, 1, 2]
    assert result.data[1].embedding == [(8 + j + 1) / 1024 for j in range(8)]


def test_float_encoding_and_dimensions(oai: openai.OpenAI) -> None:
    result = oai.embeddings.create(model="text-embedding-3-large", input="a", encoding_format="float", dimensions=3)

    assert result.data[0].embedding == [1 / 1024, 2 / 1024, 3 / 1024]
    assert result.usage.prompt_tokens == 7


def test_base64_wire_is_little_endian_float32(http: httpx.Client) -> None:
    body = {"model": "m", "input": [[1, 2], [3]], "encoding_format": "base64", "dimensions": 2}

    data = http.post("/v1/embeddings", json=body).json()

    assert struct.unpack("<2f", base64.b64decode(data["data"][1]["embedding"])) == (3 / 1024, 4 / 1024)
    assert data["usage"] == {"prompt_tokens": 14, "total_tokens": 14}
    assert data["object"] == "list"


def test_scripted_tokens_and_model(server: FakeLLMServer, oai: openai.OpenAI) -> None:
    server.script(Script(input_tokens=3, model="text-embedding-3-small-v2"))

    result = oai.embeddings.create(model="text-embedding-3-small", input=[1, 2, 3])

    assert len(result.data) == 1  # a token array is one input
    assert (result.usage.prompt_tokens, result.model) == (3, "text-embedding-3-small-v2")


async def test_async_embeddings(aoai: openai.AsyncOpenAI) -> None:
    result = await aoai.embeddings.create(model="text-embedding-3-small", input=["x", "y"])

    assert result.usage.total_tokens == 14
