"""Azure OpenAI: deployment URLs, ``api-version``, ``api-key`` header or an Entra ID token."""

from __future__ import annotations

import os

from polymodal.errors import AuthenticationError, BadRequestError
from polymodal.options import CallOptions
from polymodal.providers import ChatTarget, Endpoint, MediaOperation, Operation, Target, join_url
from polymodal.providers.openai import PATHS
from polymodal.routing import Route

DEFAULT_API_VERSION = "2024-10-21"


def _env(*names: str) -> str | None:
    for name in names:
        value = os.environ.get(name)
        if value:
            return value
    return None


def endpoint(route: Route, op: Operation, opts: CallOptions) -> Endpoint:
    base = opts.api_base or _env("AZURE_API_BASE", "AZURE_OPENAI_ENDPOINT")
    if not base:
        raise BadRequestError(
            "Azure needs the resource endpoint: pass api_base='https://<resource>.openai.azure.com' "
            "or set AZURE_API_BASE",
            provider="azure",
            model=route.model,
            param="api_base",
        )
    headers: dict[str, str] = {}
    key = opts.api_key.get_secret_value() if opts.api_key else None
    token = opts.azure_ad_token.get_secret_value() if opts.azure_ad_token else None
    if not key and not token and opts.azure_ad_token_provider is not None:
        token = opts.azure_ad_token_provider()
    if not key and not token:
        key = _env("AZURE_API_KEY", "AZURE_OPENAI_API_KEY")
        token = None if key else _env("AZURE_AD_TOKEN")
    if key:
        headers["api-key"] = key
    elif token:
        headers["Authorization"] = f"Bearer {token}"
    else:
        raise AuthenticationError(
            "no Azure credential: pass api_key=..., azure_ad_token=..., or azure_ad_token_provider=..., "
            "or set AZURE_API_KEY",
            provider="azure",
            model=route.model,
        )
    if opts.extra_headers:
        headers.update(opts.extra_headers)
    stripped = base.rstrip("/")
    if stripped.endswith("/openai/v1"):
        # The v1 API: no deployment in the path, no api-version; the model goes in the body.
        return Endpoint(join_url(stripped, PATHS[op]), headers)
    version = (
        opts.api_version or _env("AZURE_API_VERSION", "OPENAI_API_VERSION") or DEFAULT_API_VERSION
    )
    if stripped.endswith("/openai"):
        stripped = stripped[: -len("/openai")]
    url = join_url(stripped, f"openai/deployments/{route.model}/{PATHS[op]}")
    return Endpoint(f"{url}?api-version={version}", headers)


def chat_target(route: Route, opts: CallOptions, stream: bool) -> ChatTarget:
    from polymodal.apis import openai_chat

    return ChatTarget(endpoint(route, "chat", opts), openai_chat, "azure")


def target(route: Route, op: MediaOperation, opts: CallOptions) -> Target:
    """Embeddings, images and speech: the OpenAI wire formats at this provider's endpoint."""
    from polymodal.providers.openai import media_api

    return Target(endpoint(route, op, opts), media_api(op), "azure")
