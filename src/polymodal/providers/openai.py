"""OpenAI, and any OpenAI-compatible server reached with ``openai/<model>`` + ``api_base``."""

from __future__ import annotations

import importlib
import os
from types import ModuleType

from polymodal.errors import AuthenticationError
from polymodal.options import CallOptions
from polymodal.providers import ChatTarget, Endpoint, MediaOperation, Operation, Target, join_url
from polymodal.routing import Route

DEFAULT_BASE = "https://api.openai.com/v1"
PATHS: dict[str, str] = {
    "chat": "chat/completions",
    "embeddings": "embeddings",
    "images": "images/generations",
    "speech": "audio/speech",
}


def bearer_headers(api_key: str | None, opts: CallOptions) -> dict[str, str]:
    headers: dict[str, str] = {}
    if api_key:
        headers["Authorization"] = f"Bearer {api_key}"
    if opts.extra_headers:
        headers.update(opts.extra_headers)
    return headers


def is_official(base: str) -> bool:
    return base.rstrip("/").startswith("https://api.openai.com")


def endpoint(route: Route, op: Operation, opts: CallOptions) -> Endpoint:
    base = opts.api_base or os.environ.get("OPENAI_BASE_URL") or os.environ.get("OPENAI_API_BASE")
    base = base or DEFAULT_BASE
    key = opts.api_key.get_secret_value() if opts.api_key else os.environ.get("OPENAI_API_KEY")
    if not key and is_official(base):
        raise AuthenticationError(
            "no OpenAI API key: pass api_key=... or set OPENAI_API_KEY "
            "(for a local OpenAI-compatible server pass api_base=... instead)",
            provider=route.provider,
            model=route.model,
        )
    headers = bearer_headers(key, opts)
    org = opts.organization or os.environ.get("OPENAI_ORGANIZATION")
    if org and is_official(base):
        headers["OpenAI-Organization"] = org
    return Endpoint(join_url(base, PATHS[op]), headers)


def dialect(opts: CallOptions) -> str:
    """``openai`` for api.openai.com, ``compatible`` for any other server."""
    base = opts.api_base or os.environ.get("OPENAI_BASE_URL") or os.environ.get("OPENAI_API_BASE")
    return "openai" if base is None or is_official(base) else "compatible"


def chat_target(route: Route, opts: CallOptions, stream: bool) -> ChatTarget:
    from polymodal.apis import openai_chat

    return ChatTarget(endpoint(route, "chat", opts), openai_chat, dialect(opts))


def target(route: Route, op: MediaOperation, opts: CallOptions) -> Target:
    """Embeddings, images and speech: the OpenAI wire formats at this provider's endpoint."""
    return Target(endpoint(route, op, opts), media_api(op), dialect(opts))


# operation -> the OpenAI wire-format module that speaks it
MEDIA_APIS: dict[str, str] = {
    "embeddings": "openai_embeddings",
    "images": "openai_images",
    "speech": "openai_audio",
}


def media_api(op: MediaOperation) -> ModuleType:
    """The wire-format module for ``op`` (imported on first use)."""
    return importlib.import_module(f"polymodal.apis.{MEDIA_APIS[op]}")
