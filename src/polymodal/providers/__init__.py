"""One module per vendor / endpoint family: base URL, auth and which wire format to use.

Each provider module exposes ``endpoint(route, op, opts) -> Endpoint`` and, for chat,
``chat_target(route, opts, stream) -> ChatTarget`` naming the wire-format module
(``polymodal.apis.*``) that builds the body and reads the answer.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from types import ModuleType
from typing import TYPE_CHECKING, Any, Literal

from polymodal.errors import BadRequestError

if TYPE_CHECKING:
    from polymodal.options import CallOptions
    from polymodal.routing import Route

Operation = Literal["chat", "embeddings", "images", "speech"]


@dataclass(slots=True)
class Endpoint:
    """A resolved HTTP target. Headers may hold credentials, so they never appear in ``repr``."""

    url: str
    headers: dict[str, str] = field(default_factory=dict, repr=False)
    auth: Any = field(default=None, repr=False)  # an httpx.Auth, when auth is not a header


@dataclass(slots=True)
class ChatTarget:
    """Where a chat request goes (``endpoint``) and which wire format speaks to it (``api``).

    ``api`` is a module of ``polymodal.apis`` with ``encode(req, *, dialect, drop_params)``,
    ``decode(body, *, provider)`` and ``StreamDecoder(provider)``; ``dialect`` lets one wire
    format serve several providers with small differences.
    """

    endpoint: Endpoint
    api: ModuleType
    dialect: str


def join_url(base: str, path: str) -> str:
    return base.rstrip("/") + "/" + path.lstrip("/")


# provider name -> module under polymodal.providers
_CHAT_PROVIDERS: dict[str, str] = {
    "openai": "openai",
    "azure": "azure",
    "anthropic": "anthropic",
}


def chat_target(route: Route, opts: CallOptions, stream: bool) -> ChatTarget:
    from polymodal.routing import OPENAI_COMPATIBLE_PLATFORMS

    name = _CHAT_PROVIDERS.get(route.provider)
    if name is None and route.provider in OPENAI_COMPATIBLE_PLATFORMS:
        name = "openai_compatible"
    if name is None:
        raise BadRequestError(
            f"chat with provider {route.provider!r} is not available in this version of polymodal "
            f"(available: {', '.join(sorted({*_CHAT_PROVIDERS, *OPENAI_COMPATIBLE_PLATFORMS}))}; "
            "any OpenAI-compatible server via openai/<model> + api_base)",
            provider=route.provider,
            model=route.model,
        )
    try:
        module = importlib.import_module(f"polymodal.providers.{name}")
    except ModuleNotFoundError as exc:  # a provider module not shipped in this build
        raise BadRequestError(
            f"chat with provider {route.provider!r} is not available in this version of polymodal",
            provider=route.provider,
            model=route.model,
        ) from exc
    target: ChatTarget = module.chat_target(route, opts, stream)
    return target
