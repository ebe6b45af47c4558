"""Provider names as spans spell them -> OTel ``gen_ai.provider.name`` values."""

from __future__ import annotations

# Keys are lowercase. Values are the OTel GenAI semantic-convention provider names.
_ALIASES: dict[str, str] = {
    "openai": "openai",
    "anthropic": "anthropic",
    "azure": "azure.ai.openai",
    "azure_openai": "azure.ai.openai",
    "azure.ai.openai": "azure.ai.openai",
    "az.ai.openai": "azure.ai.openai",
    "azure.ai.inference": "azure.ai.inference",
    "az.ai.inference": "azure.ai.inference",
    "gcp.gemini": "gcp.gemini",
    "gemini": "gcp.gemini",
    "google": "gcp.gemini",
    "google_genai": "gcp.gemini",
    "gcp.gen_ai": "gcp.gen_ai",
    "gcp.vertex_ai": "gcp.vertex_ai",
    "vertex_ai": "gcp.vertex_ai",
    "vertexai": "gcp.vertex_ai",
    "aws.bedrock": "aws.bedrock",
    "bedrock": "aws.bedrock",
    "aws_bedrock": "aws.bedrock",
    "mistral_ai": "mistral_ai",
    "mistralai": "mistral_ai",
    "mistral": "mistral_ai",
    "groq": "groq",
    "cohere": "cohere",
    "deepseek": "deepseek",
    "x_ai": "x_ai",
    "xai": "x_ai",
    "perplexity": "perplexity",
    "ibm.watsonx.ai": "ibm.watsonx.ai",
    "watsonx": "ibm.watsonx.ai",
    "openrouter": "openrouter",
    "together": "together",
    "together_ai": "together",
    "fireworks": "fireworks",
    "cerebras": "cerebras",
}


def normalise_provider(raw: str | None) -> str:
    """The OTel provider name for a span's provider/system value; unknown names are kept, lowercased."""
    if not raw:
        return "unknown"
    lowered = raw.strip().lower()
    return _ALIASES.get(lowered, lowered or "unknown")
