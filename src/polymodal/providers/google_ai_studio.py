"""Google AI Studio (the Gemini Developer API): ``gemini/<model>``.

* URL: ``https://generativelanguage.googleapis.com/{version}/models/{model}:generateContent``
  (``:streamGenerateContent?alt=sse`` when streaming); ``version`` is ``api_version`` (``v1beta``
  by default, ``v1`` or ``v1alpha``). A model written ``models/x`` or ``tunedModels/x`` keeps its
  collection (``gemini/tunedModels/my-model`` → ``.../tunedModels/my-model:generateContent``).
* ``api_base`` replaces scheme, host and any base path; Google's path is kept (a base ending in
  a version segment names the version itself).
* Key: ``api_key``, else env ``GEMINI_API_KEY``, else ``GOOGLE_API_KEY``; sent in the
  ``x-goog-api-key`` header, never in the URL. Without a key a call to Google's own host raises
  ``AuthenticationError`` before any I/O; a custom ``api_base`` may go without one.
* Body: the ``gemini`` wire format, dialect ``ai_studio``.
* Embeddings (:func:`target`): ``.../models/{model}:batchEmbedContents`` with the
  ``gemini_embeddings`` wire format, dialect ``ai_studio``; same key and ``api_base`` rules.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING
from urllib.parse import quote

from polymodal.errors import AuthenticationError, BadRequestError
from polymodal.providers import ChatTarget, Endpoint, MediaOperation, Operation, Target
from polymodal.routing import Route

if TYPE_CHECKING:
    from polymodal.options import CallOptions

__all__ = [
    "DEFAULT_API_VERSION",
    "DEFAULT_BASE",
    "chat_target",
    "chat_url",
    "embeddings_url",
    "endpoint",
    "target",
]

DEFAULT_BASE = "https://generativelanguage.googleapis.com"
DEFAULT_API_VERSION = "v1beta"
API_VERSIONS = ("v1", "v1beta", "v1alpha")
_COLLECTIONS = ("models", "tunedModels")


def _key(opts: CallOptions) -> str | None:
    if opts.api_key is not None:
        return opts.api_key.get_secret_value()
    for name in ("GEMINI_API_KEY", "GOOGLE_API_KEY"):
        value = os.environ.get(name, "").strip()
        if value:
            return value
    return None


def _versioned_base(opts: CallOptions) -> str:
    if opts.api_base:
        base = opts.api_base.strip().rstrip("/")
        for version in API_VERSIONS:
            if base.endswith("/" + version):
                return base
    else:
        base = DEFAULT_BASE
    version = opts.api_version or DEFAULT_API_VERSION
    if version not in API_VERSIONS:
        raise BadRequestError(
            f"api_version {version!r} is not a Gemini API version "
            f"(choose from {', '.join(API_VERSIONS)})",
            provider="gemini",
            param="api_version",
        )
    return f"{base}/{version}"


def _resource(model: str) -> str:
    collection, sep, name = model.strip().strip("/").partition("/")
    if not sep or collection not in _COLLECTIONS:
        collection, name = "models", model.strip().strip("/")
    if not name or "/" in name:
        raise BadRequestError(
            f"Gemini model {model!r}: expected a model name like 'gemini-2.5-flash'",
            provider="gemini",
            model=model,
        )
    return f"{collection}/{quote(name, safe='@')}"


def chat_url(model: str, opts: CallOptions, stream: bool) -> str:
    verb = "streamGenerateContent?alt=sse" if stream else "generateContent"
    return f"{_versioned_base(opts)}/{_resource(model)}:{verb}"


def endpoint(route: Route, op: Operation, opts: CallOptions, *, stream: bool = False) -> Endpoint:
    if op != "chat":
        raise BadRequestError(
            f"Google AI Studio {op} is not available in this version of polymodal "
            f"(model {route.model!r})",
            provider=route.provider,
            model=route.model,
        )
    url = chat_url(route.model, opts, stream)
    return Endpoint(url, _headers(route, opts))


def _headers(route: Route, opts: CallOptions) -> dict[str, str]:
    key = _key(opts)
    if key is None and opts.api_base is None:
        raise AuthenticationError(
            "no Gemini API key: pass api_key=... or set GEMINI_API_KEY (or GOOGLE_API_KEY)",
            provider=route.provider,
            model=route.model,
        )
    headers: dict[str, str] = {}
    if key is not None:
        headers["x-goog-api-key"] = key
    if opts.extra_headers:
        headers.update(opts.extra_headers)
    return headers


def chat_target(route: Route, opts: CallOptions, stream: bool) -> ChatTarget:
    from polymodal.apis import gemini

    return ChatTarget(endpoint(route, "chat", opts, stream=stream), gemini, "ai_studio")


def embeddings_url(model: str, opts: CallOptions) -> str:
    return f"{_versioned_base(opts)}/{_resource(model)}:batchEmbedContents"


def target(route: Route, op: MediaOperation, opts: CallOptions) -> Target:
    """Embeddings through ``batchEmbedContents``; other operations are not served here."""
    if op != "embeddings":
        raise BadRequestError(
            f"Google AI Studio {op} is not available in this version of polymodal "
            f"(model {route.model!r})",
            provider=route.provider,
            model=route.model,
        )
    from polymodal.apis import gemini_embeddings

    url = embeddings_url(route.model, opts)
    return Target(Endpoint(url, _headers(route, opts)), gemini_embeddings, "ai_studio")
