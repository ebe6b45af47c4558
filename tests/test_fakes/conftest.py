"""Fixtures: one fake LLM server per test, and real SDK clients pointed at it (no retries)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import anthropic
import httpx
import openai
import pytest

from genai_cost.fakes.llm_server import FakeLLMServer

CLIENT_TIMEOUT_S = 10.0  # fail fast instead of the SDKs' 10-minute default
MODEL_MAP = {"gpt-4o": "gpt-4o-2024-08-06", "claude-haiku-4-5": "claude-haiku-4-5-20251001"}


@pytest.fixture
def server() -> Iterator[FakeLLMServer]:
    with FakeLLMServer(model_map=MODEL_MAP) as fake:
        yield fake


@pytest.fixture
def oai(server: FakeLLMServer) -> Iterator[openai.OpenAI]:
    client = openai.OpenAI(base_url=server.openai_base_url, api_key="test-key", max_retries=0, timeout=CLIENT_TIMEOUT_S)
    yield client
    client.close()


@pytest.fixture
async def aoai(server: FakeLLMServer) -> AsyncIterator[openai.AsyncOpenAI]:
    client = openai.AsyncOpenAI(
        base_url=server.openai_base_url, api_key="test-key", max_retries=0, timeout=CLIENT_TIMEOUT_S
    )
    yield client
    await client.close()


@pytest.fixture
def ant(server: FakeLLMServer) -> Iterator[anthropic.Anthropic]:
    client = anthropic.Anthropic(
        base_url=server.anthropic_base_url, api_key="test-key", max_retries=0, timeout=CLIENT_TIMEOUT_S
    )
    yield client
    client.close()


@pytest.fixture
async def aant(server: FakeLLMServer) -> AsyncIterator[anthropic.AsyncAnthropic]:
    client = anthropic.AsyncAnthropic(
        base_url=server.anthropic_base_url, api_key="test-key", max_retries=0, timeout=CLIENT_TIMEOUT_S
    )
    yield client
    await client.close()


@pytest.fixture
def http(server: FakeLLMServer) -> Iterator[httpx.Client]:
    """A plain HTTP client for assertions on the raw wire."""
    with httpx.Client(base_url=server.base_url, timeout=10) as client:
        yield client
