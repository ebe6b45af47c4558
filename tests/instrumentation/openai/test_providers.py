"""Provider name, include_usage default and server address from the client's base URL."""

from __future__ import annotations

import openai
import pytest

from genai_cost.instrumentation.openai import providers


@pytest.mark.parametrize(
    ("url", "name", "include_usage", "address", "port"),
    [
        ("https://api.openai.com/v1", "openai", True, "api.openai.com", 443),
        ("https://eu.api.openai.com/v1", "openai", True, "eu.api.openai.com", 443),
        ("https://myres.openai.azure.com/openai/", "azure.ai.openai", True, "myres.openai.azure.com", 443),
        (
            "https://myres.cognitiveservices.azure.com/",
            "azure.ai.openai",
            True,
            "myres.cognitiveservices.azure.com",
            443,
        ),
        ("https://api.deepseek.com", "deepseek", True, "api.deepseek.com", 443),
        ("https://openrouter.ai/api/v1", "openrouter", False, "openrouter.ai", 443),
        ("https://api.groq.com/openai/v1", "groq", True, "api.groq.com", 443),
        ("https://api.x.ai/v1", "x_ai", True, "api.x.ai", 443),
        ("https://api.together.xyz/v1", "together_ai", False, "api.together.xyz", 443),
        ("https://api.fireworks.ai/inference/v1", "fireworks_ai", False, "api.fireworks.ai", 443),
        (
            "https://generativelanguage.googleapis.com/v1beta/openai/",
            "gcp.gemini",
            True,
            "generativelanguage.googleapis.com",
            443,
        ),
        ("http://localhost:11434/v1", "openai", False, "localhost", 11434),
        ("http://127.0.0.1:8000/v1", "openai", False, "127.0.0.1", 8000),
        ("http://llm.internal/v1", "openai", False, "llm.internal", 80),
        ("https://notapi.openai.com.evil.example/v1", "openai", False, "notapi.openai.com.evil.example", 443),
        ("https://API.OpenAI.com/v1", "openai", True, "api.openai.com", 443),
    ],
)
def test_info_for_url(url: str, name: str, include_usage: bool, address: str, port: int) -> None:
    assert providers.info_for_url(url) == providers.ProviderInfo(name, include_usage, address, port)


def test_azure_client_behind_a_custom_domain() -> None:
    client = openai.AzureOpenAI(
        api_key="k", api_version="2024-10-21", azure_endpoint="https://gateway.example.com", azure_deployment="d"
    )
    info = providers.info_for_client(client)
    assert (info.name, info.include_usage, info.server_address) == ("azure.ai.openai", True, "gateway.example.com")


def test_info_is_cached_per_base_url_and_follows_a_change() -> None:
    client = openai.OpenAI(api_key="k", base_url="https://api.groq.com/openai/v1")
    first = providers.info_for_client(client)
    assert providers.info_for_client(client) is first
    client.base_url = "https://api.x.ai/v1"
    assert providers.info_for_client(client).name == "x_ai"
