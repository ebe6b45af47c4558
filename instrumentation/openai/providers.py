"""Which provider an OpenAI-SDK client talks to, from its base URL (cached per URL object).

The OpenAI SDK is used for many OpenAI-compatible services. ``gen_ai.provider.name`` takes the
OpenTelemetry well-known value where one exists (openai, azure.ai.openai, deepseek, groq, x_ai,
mistral_ai, perplexity, gcp.gemini, cohere); services without one get a lowercase name
(``openrouter``, ``together_ai``, ``fireworks_ai``). Anything else, local servers included, falls
back to ``openai``: the wire protocol is OpenAI's and nothing better is known.

``include_usage`` says whether ``stream_options.include_usage`` is added by default (setting
``auto``): only for services whose API documents the option. OpenRouter, Together and Fireworks
report usage on the last chunk without being asked, so nothing is added for them; unknown servers
may reject unknown options, so nothing is added for them either.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from opentelemetry.util.types import AttributeValue

from genai_cost.instrumentation.core import semconv

FALLBACK_PROVIDER: Final = "openai"
AZURE_OPENAI: Final = "azure.ai.openai"


@dataclass(frozen=True, slots=True)
class ProviderInfo:
    """What the instrumentation needs to know about one base URL."""

    name: str
    include_usage: bool
    server_address: str | None
    server_port: int | None
    attributes: Mapping[str, AttributeValue] = field(init=False, repr=False, compare=False)
    """The span attributes these give (provider, server address and port), built once."""

    def __post_init__(self) -> None:
        attrs: dict[str, AttributeValue] = {semconv.PROVIDER_NAME: self.name}
        if self.server_address:
            attrs[semconv.SERVER_ADDRESS] = self.server_address
        if self.server_port is not None:
            attrs[semconv.SERVER_PORT] = self.server_port
        object.__setattr__(self, "attributes", attrs)


# (host suffix, provider name, documents stream_options.include_usage); first match wins.
_HOSTS: Final[tuple[tuple[str, str, bool], ...]] = (
    ("api.openai.com", "openai", True),
    (".openai.azure.com", AZURE_OPENAI, True),
    (".cognitiveservices.azure.com", AZURE_OPENAI, True),
    ("api.deepseek.com", "deepseek", True),
    ("api.groq.com", "groq", True),
    ("api.x.ai", "x_ai", True),
    ("generativelanguage.googleapis.com", "gcp.gemini", True),
    ("openrouter.ai", "openrouter", False),
    ("api.together.xyz", "together_ai", False),
    ("api.together.ai", "together_ai", False),
    ("api.fireworks.ai", "fireworks_ai", False),
    ("api.mistral.ai", "mistral_ai", False),
    ("api.perplexity.ai", "perplexity", False),
    ("api.cohere.ai", "cohere", False),
    ("api.cohere.com", "cohere", False),
)

_DEFAULT_PORTS: Final = {"https": 443, "http": 80}
_CACHE_LIMIT: Final = 512

# id(base URL object) -> (the URL object, its info). Holding the URL keeps its id from being reused.
_cache: dict[int, tuple[Any, ProviderInfo]] = {}


def provider_for_host(host: str, *, azure_client: bool = False) -> tuple[str, bool]:
    """``(provider name, include_usage by default)`` for a host name."""
    host = host.lower().rstrip(".")
    for suffix, name, include_usage in _HOSTS:
        if host == suffix.lstrip(".") or host.endswith(suffix if suffix.startswith(".") else "." + suffix):
            return name, include_usage
    if azure_client:
        # AzureOpenAI behind a custom domain or gateway.
        return AZURE_OPENAI, True
    return FALLBACK_PROVIDER, False


def info_for_url(url: Any, *, azure_client: bool = False) -> ProviderInfo:
    """The provider info of an ``httpx``/``httpx2`` URL (or a URL string); not cached."""
    if isinstance(url, str):
        from urllib.parse import urlsplit

        parts = urlsplit(url)
        host, port, scheme = parts.hostname or "", parts.port, parts.scheme
    else:
        host, port, scheme = url.host or "", url.port, url.scheme
    name, include_usage = provider_for_host(host, azure_client=azure_client)
    if port is None:
        port = _DEFAULT_PORTS.get(scheme)
    return ProviderInfo(name, include_usage, host or None, port)


def info_for_client(client: Any) -> ProviderInfo:
    """The provider info of an SDK client, cached per base-URL object (hot path: one dict hit)."""
    url = getattr(client, "_base_url", None)
    entry = _cache.get(id(url))
    if entry is not None and entry[0] is url:
        return entry[1]
    info = info_for_url(url if url is not None else "", azure_client=_is_azure_client(client))
    if len(_cache) >= _CACHE_LIMIT:
        _cache.clear()
    _cache[id(url)] = (url, info)
    return info


def _is_azure_client(client: Any) -> bool:
    return any(cls.__name__ in ("AzureOpenAI", "AsyncAzureOpenAI") for cls in type(client).__mro__)
