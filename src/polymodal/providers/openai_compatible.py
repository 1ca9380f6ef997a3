"""OpenAI-compatible platforms reached by prefix (``xai/``, ``groq/``, ``deepseek/``, ...)."""

from __future__ import annotations

import os

from polymodal.errors import AuthenticationError
from polymodal.options import CallOptions
from polymodal.providers import ChatTarget, Endpoint, MediaOperation, Operation, Target, join_url
from polymodal.providers.openai import PATHS, bearer_headers
from polymodal.routing import OPENAI_COMPATIBLE_PLATFORMS, Route

_KEYLESS = frozenset({"hosted_vllm", "ollama_chat"})


def endpoint(route: Route, op: Operation, opts: CallOptions) -> Endpoint:
    default_base, key_env = OPENAI_COMPATIBLE_PLATFORMS[route.provider]
    base = opts.api_base or default_base
    key = opts.api_key.get_secret_value() if opts.api_key else os.environ.get(key_env)
    if not key and route.provider not in _KEYLESS and opts.api_base is None:
        raise AuthenticationError(
            f"no API key for {route.provider}: pass api_key=... or set {key_env}",
            provider=route.provider,
            model=route.model,
        )
    return Endpoint(join_url(base, PATHS[op]), bearer_headers(key, opts))


def chat_target(route: Route, opts: CallOptions, stream: bool) -> ChatTarget:
    from polymodal.apis import openai_chat

    return ChatTarget(endpoint(route, "chat", opts), openai_chat, "compatible")


def target(route: Route, op: MediaOperation, opts: CallOptions) -> Target:
    """Embeddings, images and speech: the OpenAI wire formats at this provider's endpoint."""
    from polymodal.providers.openai import media_api

    return Target(endpoint(route, op, opts), media_api(op), "compatible")
