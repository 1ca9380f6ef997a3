"""Model strings to routes: ``"azure/my-deployment"`` -> ``Route(provider="azure", ...)``.

A route pairs a provider (URL and auth) with a wire format (the body). The model string is
``provider/model``; a bare well-known name (``gpt-4o``, ``dall-e-3``) routes by the registry.
"""

from __future__ import annotations

from dataclasses import dataclass

from polymodal.errors import BadRequestError

# OpenAI-compatible platforms reachable by prefix: provider -> (default base URL, key env var).
OPENAI_COMPATIBLE_PLATFORMS: dict[str, tuple[str, str]] = {
    "xai": ("https://api.x.ai/v1", "XAI_API_KEY"),
    "groq": ("https://api.groq.com/openai/v1", "GROQ_API_KEY"),
    "deepseek": ("https://api.deepseek.com/v1", "DEEPSEEK_API_KEY"),
    "mistral": ("https://api.mistral.ai/v1", "MISTRAL_API_KEY"),
    "together_ai": ("https://api.together.xyz/v1", "TOGETHERAI_API_KEY"),
    "openrouter": ("https://openrouter.ai/api/v1", "OPENROUTER_API_KEY"),
    "fireworks_ai": ("https://api.fireworks.ai/inference/v1", "FIREWORKS_AI_API_KEY"),
    "hosted_vllm": ("http://localhost:8000/v1", "HOSTED_VLLM_API_KEY"),
    "ollama_chat": ("http://localhost:11434/v1", "OLLAMA_API_KEY"),
}

# Providers whose chat wire format is OpenAI's.
OPENAI_FAMILY = frozenset({"openai", "azure", *OPENAI_COMPATIBLE_PLATFORMS})

KNOWN_PROVIDERS = frozenset(
    {*OPENAI_FAMILY, "vertex_ai", "gemini", "anthropic", "bedrock", "text-completion-openai"}
)

_BARE_PREFIXES: tuple[tuple[str, str], ...] = (
    ("gpt-", "openai"),
    ("chatgpt-", "openai"),
    ("o1", "openai"),
    ("o3", "openai"),
    ("o4", "openai"),
    ("dall-e", "openai"),
    ("text-embedding-3", "openai"),
    ("text-embedding-ada", "openai"),
    ("tts-", "openai"),
    ("whisper", "openai"),
    ("claude-", "anthropic"),
    ("gemini-", "vertex_ai"),
    ("grok-", "xai"),
)


@dataclass(frozen=True, slots=True)
class Route:
    """Where a model string goes.

    ``provider`` decides URL and auth; ``model`` is the provider's own model (or deployment) name;
    ``model_string`` is the canonical ``provider/model`` form used for registry look-ups and errors.
    """

    provider: str
    model: str

    @property
    def model_string(self) -> str:
        return f"{self.provider}/{self.model}"


def _bare_provider(model: str) -> str | None:
    from polymodal import registry

    found = registry.provider_for(model)
    if found:
        return found
    lower = model.lower()
    for prefix, provider in _BARE_PREFIXES:
        if lower.startswith(prefix):
            return provider
    return None


def resolve(model: str, *, custom_llm_provider: str | None = None) -> Route:
    """Split a model string into a :class:`Route`; raise ``BadRequestError`` if it can't be routed."""
    if not isinstance(model, str) or not model.strip():
        raise BadRequestError(
            f"model must be a non-empty string like 'openai/gpt-4o', got {model!r}"
        )
    model = model.strip()
    if custom_llm_provider:
        if custom_llm_provider not in KNOWN_PROVIDERS:
            raise BadRequestError(
                f"custom_llm_provider={custom_llm_provider!r} is not a known provider; "
                f"known: {', '.join(sorted(KNOWN_PROVIDERS))}",
                model=model,
            )
        prefix = custom_llm_provider + "/"
        return Route(
            custom_llm_provider, model[len(prefix) :] if model.startswith(prefix) else model
        )
    head, sep, rest = model.partition("/")
    if sep and head in KNOWN_PROVIDERS:
        if not rest:
            if head == "vertex_ai":  # Cloud TTS takes no model: "vertex_ai/" is speech's spelling
                return Route(head, "")
            raise BadRequestError(f"model {model!r} names a provider but no model", model=model)
        return Route(head, rest)
    provider = _bare_provider(model)
    if provider is None:
        raise BadRequestError(
            f"cannot tell which provider serves model {model!r}: write it as 'provider/model' "
            f"(e.g. 'openai/{model}' for an OpenAI-compatible server with api_base=...); "
            f"known providers: {', '.join(sorted(KNOWN_PROVIDERS))}",
            model=model,
        )
    return Route(provider, model)
