"""``gen_ai.provider.name`` of an Anthropic client: anthropic, or the cloud that serves Claude."""

from __future__ import annotations

from typing import Any, Final

ANTHROPIC: Final = "anthropic"
AWS_BEDROCK: Final = "aws.bedrock"
GCP_VERTEX_AI: Final = "gcp.vertex_ai"

_cache: dict[type[Any], str] = {}


def _platform_bases() -> tuple[tuple[type[Any], str], ...]:
    """The SDK's Bedrock and Vertex client base classes that this version has (probed)."""
    found: list[tuple[type[Any], str]] = []
    for module, names, provider in (
        (
            "anthropic.lib.bedrock._client",
            ("BaseBedrockClient", "AnthropicBedrock", "AsyncAnthropicBedrock"),
            AWS_BEDROCK,
        ),
        (
            "anthropic.lib.vertex._client",
            ("BaseVertexClient", "AnthropicVertex", "AsyncAnthropicVertex"),
            GCP_VERTEX_AI,
        ),
    ):
        try:
            mod = __import__(module, fromlist=["_"])
        except Exception:  # optional surface: absent or missing its extras
            continue
        for name in names:
            cls = getattr(mod, name, None)
            if isinstance(cls, type):
                found.append((cls, provider))
    return tuple(found)


def provider_of(client: Any) -> str:
    """The provider for ``client`` (cached per client class)."""
    cls = type(client)
    cached = _cache.get(cls)
    if cached is not None:
        return cached
    declared = getattr(cls, "_gen_ai_provider_name", None)  # anthropic >= 2 declares it
    provider = declared if isinstance(declared, str) and declared else None
    if provider is None:
        provider = next((p for base, p in _platform_bases() if issubclass(cls, base)), ANTHROPIC)
    _cache[cls] = provider
    return provider
