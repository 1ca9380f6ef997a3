"""Model strings to routes, as DESIGN.md's table of model strings describes them."""

from __future__ import annotations

import pytest

from polymodal import routing
from polymodal.errors import BadRequestError


@pytest.mark.parametrize(
    ("model", "provider", "name"),
    [
        ("openai/gpt-4o", "openai", "gpt-4o"),
        ("azure/my-deployment", "azure", "my-deployment"),
        ("openai/llava-hf/llava-v1.6-vicuna-7b-hf", "openai", "llava-hf/llava-v1.6-vicuna-7b-hf"),
        ("vertex_ai/claude-3-7-sonnet@20250219", "vertex_ai", "claude-3-7-sonnet@20250219"),
        ("vertex_ai/meta/llama3-405b-instruct-maas", "vertex_ai", "meta/llama3-405b-instruct-maas"),
        ("gemini/gemini-2.5-flash", "gemini", "gemini-2.5-flash"),
        (
            "bedrock/anthropic.claude-3-5-sonnet-20240620-v1:0",
            "bedrock",
            "anthropic.claude-3-5-sonnet-20240620-v1:0",
        ),
        ("xai/grok-2-vision-latest", "xai", "grok-2-vision-latest"),
        ("gpt-4o", "openai", "gpt-4o"),
        ("gpt-3.5-turbo", "openai", "gpt-3.5-turbo"),
        ("dall-e-3", "openai", "dall-e-3"),
        ("claude-3-7-sonnet-latest", "anthropic", "claude-3-7-sonnet-latest"),
    ],
)
def test_resolve(model: str, provider: str, name: str) -> None:
    route = routing.resolve(model)
    assert (route.provider, route.model) == (provider, name)
    assert route.model_string == f"{provider}/{name}"


def test_custom_llm_provider_overrides_prefix() -> None:
    assert routing.resolve("my-model", custom_llm_provider="openai") == routing.Route(
        "openai", "my-model"
    )


@pytest.mark.parametrize("model", ["", "   ", "totally-unknown-model-xyz", "openai/"])
def test_unroutable(model: str) -> None:
    with pytest.raises(BadRequestError) as info:
        routing.resolve(model)
    assert "model" in str(info.value)
