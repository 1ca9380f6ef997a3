"""Anthropic's own API: ``https://api.anthropic.com/v1/messages``, ``x-api-key``, ``anthropic-version``.

* Base URL: ``api_base`` (or env ``ANTHROPIC_BASE_URL`` / ``ANTHROPIC_API_BASE``) replaces
  ``https://api.anthropic.com``; the path ``/v1/messages`` is kept (a base that already ends in
  ``/v1`` or ``/v1/messages`` is not doubled).
* Key: ``api_key`` or env ``ANTHROPIC_API_KEY``, sent as ``x-api-key``. Without a key a call to
  api.anthropic.com raises ``AuthenticationError`` before any I/O; a custom ``api_base`` (a proxy,
  the local emulator) may go without one.
* ``anthropic-version: 2023-06-01``. Beta features are switched on by the caller with
  ``extra_headers={"anthropic-beta": "..."}`` (``extra_headers`` win over ours); the provider does
  not see the request, see :func:`polymodal.apis.anthropic_messages.required_betas`.
* Only chat: Anthropic has no embeddings, image or speech endpoints.
"""

from __future__ import annotations

import os

from polymodal.errors import AuthenticationError, BadRequestError
from polymodal.options import CallOptions
from polymodal.providers import ChatTarget, Endpoint, Operation, join_url
from polymodal.routing import Route

DEFAULT_BASE = "https://api.anthropic.com"
API_VERSION = "2023-06-01"
MESSAGES_PATH = "v1/messages"


def _base(opts: CallOptions) -> str:
    base = (
        opts.api_base
        or os.environ.get("ANTHROPIC_BASE_URL")
        or os.environ.get("ANTHROPIC_API_BASE")
        or DEFAULT_BASE
    )
    return base.rstrip("/")


def messages_url(base: str) -> str:
    """``{base}/v1/messages``, tolerating a base that already carries ``/v1`` or the full path."""
    if base.endswith("/v1/messages"):
        return base
    if base.endswith("/v1"):
        return join_url(base, "messages")
    return join_url(base, MESSAGES_PATH)


def is_official(base: str) -> bool:
    return base.startswith(DEFAULT_BASE)


def endpoint(route: Route, op: Operation, opts: CallOptions) -> Endpoint:
    if op != "chat":
        raise BadRequestError(
            f"Anthropic has no {op} endpoint (model {route.model!r}); only chat is available",
            provider=route.provider,
            model=route.model,
        )
    base = _base(opts)
    key = opts.api_key.get_secret_value() if opts.api_key else os.environ.get("ANTHROPIC_API_KEY")
    if not key and is_official(base):
        raise AuthenticationError(
            "no Anthropic API key: pass api_key=... or set ANTHROPIC_API_KEY",
            provider=route.provider,
            model=route.model,
        )
    headers: dict[str, str] = {"anthropic-version": API_VERSION}
    if key:
        headers["x-api-key"] = key
    if opts.extra_headers:
        headers.update(opts.extra_headers)
    return Endpoint(messages_url(base), headers)


def chat_target(route: Route, opts: CallOptions, stream: bool) -> ChatTarget:
    from polymodal.apis import anthropic_messages

    return ChatTarget(endpoint(route, "chat", opts), anthropic_messages, "anthropic")
