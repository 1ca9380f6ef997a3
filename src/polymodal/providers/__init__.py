"""One module per vendor / endpoint family: base URL, auth and which wire format to use.

Each provider module exposes ``endpoint(route, op, opts) -> Endpoint`` and, for chat,
``chat_target(route, opts, stream) -> ChatTarget`` naming the wire-format module
(``polymodal.apis.*``) that builds the body and reads the answer. For the other operations
(embeddings, images, speech) a provider module exposes ``target(route, op, opts) -> Target``
and is listed in ``OPERATION_PROVIDERS``; :func:`target` dispatches to it.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from types import ModuleType
from typing import TYPE_CHECKING, Any, Literal

from polymodal.errors import BadRequestError
from polymodal.http import HTTPRequest

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

    def post(self, body: Any, route: Route) -> HTTPRequest:
        """A POST of ``body`` (JSON) to this endpoint, attributed to ``route`` in errors."""
        return HTTPRequest(
            "POST",
            self.url,
            body,
            self.headers,
            self.auth,
            provider=route.provider,
            model=route.model,
        )


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
    # The model name the body carries when it differs from the route's (Mistral on Vertex:
    # "mistral-large@2407" in the URL, "mistral-large" in the body).
    body_model: str | None = None


def join_url(base: str, path: str) -> str:
    return base.rstrip("/") + "/" + path.lstrip("/")


# provider name -> module under polymodal.providers
_CHAT_PROVIDERS: dict[str, str] = {
    "openai": "openai",
    "azure": "azure",
    "anthropic": "anthropic",
    "vertex_ai": "vertex",
    "gemini": "google_ai_studio",
}


def param_defaults(route: Route) -> dict[str, Any]:
    """Request parameters a provider's module-level defaults supply, at the lowest precedence
    (any value the call or the LangChain instance passes wins): e.g. ``safety_settings`` from
    ``polymodal.vertex_ai_safety_settings`` for Gemini on Vertex."""
    name = _CHAT_PROVIDERS.get(route.provider)
    if name is None:
        return {}
    module = importlib.import_module(f"polymodal.providers.{name}")
    hook = getattr(module, "param_defaults", None)
    return dict(hook(route)) if hook is not None else {}


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


# --------------------------------------------------------------------------- other operations

MediaOperation = Literal["embeddings", "images", "speech"]


@dataclass(slots=True)
class Target:
    """Where an embeddings / images / speech request goes and which wire format speaks to it.

    ``api`` is a module of ``polymodal.apis`` with ``check(req, *, dialect, drop_params)``
    (validation and documented translations, before any I/O), ``encode(req, *, dialect)``
    and a decoder (``decode(body, *, provider)``; for speech ``decode(content, content_type,
    req, *, provider)``). Embedding formats also expose ``max_inputs(dialect)``, the most items
    one request may carry.
    """

    endpoint: Endpoint
    api: ModuleType
    dialect: str
    # The model name the body carries when it differs from the route's (Mistral on Vertex:
    # "mistral-large@2407" in the URL, "mistral-large" in the body).
    body_model: str | None = None


# operation -> provider name -> module under polymodal.providers. Another family plugs in by
# adding its provider here and a ``target(route, op, opts)`` function to its module.
OPERATION_PROVIDERS: dict[str, dict[str, str]] = {
    "embeddings": {
        "openai": "openai",
        "azure": "azure",
        "vertex_ai": "vertex",
        "gemini": "google_ai_studio",
    },
    "images": {"openai": "openai", "azure": "azure", "vertex_ai": "vertex"},
    "speech": {"openai": "openai", "azure": "azure", "vertex_ai": "vertex"},
}
# The registry's ``mode`` that each operation needs.
OPERATION_MODES: dict[str, str] = {
    "embeddings": "embedding",
    "images": "image_generation",
    "speech": "audio_speech",
}
_OPERATION_NAMES: dict[str, tuple[str, str]] = {
    "embeddings": ("an embedding", "embedding"),
    "images": ("an image generation", "image_generation"),
    "speech": ("a text-to-speech", "speech"),
}
_MODE_CALLS: dict[str, str] = {
    "chat": "completion",
    "completion": "text_completion",
    "embedding": "embedding",
    "image_generation": "image_generation",
    "audio_speech": "speech",
}


def check_mode(route: Route, op: MediaOperation) -> None:
    """Refuse a model the registry knows to be for something else (e.g. a chat model)."""
    from polymodal import registry

    info = registry.lookup(route.model_string)
    wanted = OPERATION_MODES[op]
    if info is None or info.mode is None or info.mode == wanted:
        return
    kind, _ = _OPERATION_NAMES[op]
    other = _MODE_CALLS.get(info.mode)
    use = f"; use polymodal.{other}(...) for it" if other else ""
    raise BadRequestError(
        f"model {route.model_string!r} is not {kind} model (the registry lists its mode as "
        f"{info.mode!r}){use}, or register_model({info.key!r}, mode={wanted!r}) if yours is",
        provider=route.provider,
        model=route.model,
        param="model",
    )


def target(route: Route, op: MediaOperation, opts: CallOptions) -> Target:
    """The provider module's target for ``op``; refuses providers and models that can't serve it."""
    from polymodal.routing import OPENAI_COMPATIBLE_PLATFORMS

    table = OPERATION_PROVIDERS[op]
    name = table.get(route.provider)
    if name is None and route.provider in OPENAI_COMPATIBLE_PLATFORMS:
        name = "openai_compatible"
    _, call = _OPERATION_NAMES[op]
    if name is None:
        raise BadRequestError(
            f"{call} with provider {route.provider!r} is not available in this version of "
            f"polymodal (available: {', '.join(sorted({*table, *OPENAI_COMPATIBLE_PLATFORMS}))}; "
            "any OpenAI-compatible server via openai/<model> + api_base)",
            provider=route.provider,
            model=route.model,
        )
    check_mode(route, op)
    try:
        module = importlib.import_module(f"polymodal.providers.{name}")
    except ModuleNotFoundError as exc:  # a provider module not shipped in this build
        raise BadRequestError(
            f"{call} with provider {route.provider!r} is not available in this version of "
            "polymodal",
            provider=route.provider,
            model=route.model,
        ) from exc
    found: Target = module.target(route, op, opts)
    return found
