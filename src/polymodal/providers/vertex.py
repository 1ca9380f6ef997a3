"""Vertex AI: Gemini and the partner / Model Garden chat routes, with Google OAuth credentials.

Hosts (``vertex_location``, see :func:`polymodal.auth.google.resolve_location`):

* a region (``us-central1``, ``europe-west4``, ...): ``https://{location}-aiplatform.googleapis.com``
* ``global``: ``https://aiplatform.googleapis.com``
* the multi-regions ``us`` / ``eu``: ``https://aiplatform.{us|eu}.rep.googleapis.com``

``api_base`` replaces scheme, host and any base path and keeps Google's path
(``{api_base}/v1/projects/{p}/locations/{l}/...``); a base that already ends in ``/v1`` or
``/v1beta1`` names the API version itself. Otherwise the version is ``api_version``
(``v1`` or ``v1beta1``), default ``v1``. So a regional or private endpoint, a Model Garden
dedicated endpoint (``https://{id}.{location}-{project-number}.prediction.vertexai.goog``), a
proxy or the local emulator stand in for Google.

Model strings (``vertex_ai/<model>``) → URL under ``{prefix}`` = ``{base}/{v}/projects/{p}/locations/{l}``
→ wire format / dialect:

* ``gemini-*`` (and any name not listed below; ``google/gemini-*`` too) →
  ``{prefix}/publishers/google/models/{m}:generateContent`` (``:streamGenerateContent?alt=sse``)
  → ``gemini`` / ``vertex``;
* ``gemini/<endpoint-id>`` (a tuned Gemini) → ``{prefix}/endpoints/{id}:generateContent``
  (``:streamGenerateContent?alt=sse``) → ``gemini`` / ``vertex``;
* ``claude-*`` (``anthropic/claude-*`` too; a trailing ``-YYYYMMDD`` becomes Vertex's
  ``@YYYYMMDD``) → ``{prefix}/publishers/anthropic/models/{m}:rawPredict`` (``:streamRawPredict``)
  → ``anthropic_messages`` / ``vertex``;
* ``mistral-*``, ``codestral-*``, ``ministral-*`` → ``{prefix}/publishers/mistralai/models/{m}:rawPredict``
  (``:streamRawPredict``), ``jamba-*`` (AI21; ``meta/jamba-*`` too) → ``.../publishers/ai21/...``
  → ``openai_chat`` / ``compatible`` with the model name without ``@version`` in the body;
* ``<publisher>/<model>`` (``meta/llama-4-...-maas``, ``qwen/...``, ``deepseek-ai/...``,
  ``openai/gpt-oss-...``; a bare ``llama-*`` is ``meta/llama-*``) →
  ``{prefix}/endpoints/openapi/chat/completions`` → ``openai_chat`` / ``compatible`` with
  ``<publisher>/<model>`` in the body;
* ``openai/<numeric endpoint-id>`` (Model Garden, OpenAI-compatible deployments) →
  ``{prefix}/endpoints/{id}/chat/completions`` → ``openai_chat`` / ``compatible`` with the
  endpoint id in the body;
* a bare numeric endpoint id is refused with a hint (its ``:predict`` API is not chat).

Mistral and AI21 take their own (OpenAI-like) chat body through ``rawPredict`` with the version-
less model name in the body, the way Mistral's own Vertex client sends it; Llama and the other
open "MaaS" models use Vertex's OpenAI-compatible endpoint with the publisher-qualified name.

Auth: a Google access token from :mod:`polymodal.auth.google` (``vertex_credentials``,
``GOOGLE_APPLICATION_CREDENTIALS``, application default credentials), cached and refreshed per
credential. ``api_key`` instead is sent as the bearer token as is (an access token you minted
yourself, e.g. ``gcloud auth print-access-token``, or whatever a proxy behind ``api_base`` wants).

``safety_settings``: the module default ``polymodal.vertex_ai_safety_settings`` applies to Gemini
routes when the request has none (:func:`param_defaults`); per-instance values (LangChain
constructor arguments) and per-call values arrive as request parameters and win, whole list for
whole list (an explicit ``[]`` sends none).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import quote

from polymodal.errors import BadRequestError
from polymodal.providers import ChatTarget, Endpoint, MediaOperation, Operation, Target
from polymodal.routing import Route

if TYPE_CHECKING:
    from types import ModuleType

    from polymodal.auth.google import GoogleCredentials
    from polymodal.options import CallOptions

__all__ = [
    "API_VERSIONS",
    "VertexModel",
    "base_url",
    "chat_target",
    "chat_url",
    "classify",
    "endpoint",
    "host",
    "param_defaults",
    "target",
    "tts_url",
]

API_VERSIONS = ("v1", "v1beta1")
DEFAULT_API_VERSION = "v1"
MULTI_REGIONS = frozenset({"us", "eu"})

Family = Literal["gemini", "tuned", "anthropic", "raw_predict", "openapi", "model_garden"]

_CLAUDE_DATE = re.compile(r"^(claude-.+)-(\d{8})$")
_ENDPOINT_ID = re.compile(r"^\d+$")
_RAW_PREDICT_PUBLISHERS: tuple[tuple[tuple[str, ...], str], ...] = (
    (("mistral-", "codestral-", "ministral-", "mistral", "codestral"), "mistralai"),
    (("jamba-",), "ai21"),
)


@dataclass(frozen=True, slots=True)
class VertexModel:
    """How a ``vertex_ai/<model>`` string is served.

    ``path_model`` is what the URL names (a model id or an endpoint id); ``body_model`` the model
    name the request body carries (OpenAI-format routes only; None when the body has none).
    """

    family: Family
    publisher: str
    path_model: str
    body_model: str | None = None


def _raw_predict_publisher(name: str) -> str | None:
    lower = name.lower()
    for prefixes, publisher in _RAW_PREDICT_PUBLISHERS:
        if lower.startswith(prefixes):
            return publisher
    return None


def classify(model: str) -> VertexModel:
    """The route of a Vertex model string (the part after ``vertex_ai/``)."""
    name = model.strip().strip("/")
    if not name:
        raise BadRequestError("empty Vertex AI model name", provider="vertex_ai", model=model)
    head, sep, rest = name.partition("/")
    if sep and head == "gemini":
        return VertexModel("tuned", "google", _single(rest, model))
    if sep and head == "openai" and _ENDPOINT_ID.match(rest):
        return VertexModel("model_garden", "", rest, rest)
    if sep and head == "google" and rest.startswith("gemini"):
        return VertexModel("gemini", "google", _single(rest, model))
    if sep and head == "anthropic" and rest.startswith("claude"):
        name, sep = rest, ""
    if sep and head == "meta" and rest.startswith("jamba"):
        name, sep = rest, ""  # LiteLLM's docs spell AI21 models this way
    if sep:
        return VertexModel("openapi", head, name, name)
    if _ENDPOINT_ID.match(name):
        raise BadRequestError(
            f"{model!r} looks like a Vertex endpoint id: use vertex_ai/openai/{name} for an "
            f"OpenAI-compatible Model Garden endpoint or vertex_ai/gemini/{name} for a tuned "
            "Gemini endpoint",
            provider="vertex_ai",
            model=model,
        )
    lower = name.lower()
    if lower.startswith("claude"):
        dated = _CLAUDE_DATE.match(name)
        path = f"{dated.group(1)}@{dated.group(2)}" if dated else name
        return VertexModel("anthropic", "anthropic", path)
    publisher = _raw_predict_publisher(name)
    if publisher is not None:
        return VertexModel("raw_predict", publisher, name, name.split("@", 1)[0])
    if lower.startswith("llama"):
        return VertexModel("openapi", "meta", f"meta/{name}", f"meta/{name}")
    return VertexModel("gemini", "google", name)


def _single(segment: str, model: str) -> str:
    if not segment or "/" in segment:
        raise BadRequestError(
            f"Vertex AI model {model!r}: expected one name or id after the prefix",
            provider="vertex_ai",
            model=model,
        )
    return segment


def host(location: str) -> str:
    """Google's host for a location: regional, ``global`` or a multi-region."""
    if location == "global":
        return "https://aiplatform.googleapis.com"
    if location in MULTI_REGIONS:
        return f"https://aiplatform.{location}.rep.googleapis.com"
    return f"https://{location}-aiplatform.googleapis.com"


def base_url(location: str, opts: CallOptions) -> str:
    """``{scheme}://{host}[/base path]/{version}`` for a call."""
    if opts.api_base:
        base = opts.api_base.strip().rstrip("/")
        for version in API_VERSIONS:
            if base.endswith("/" + version):
                return base
    else:
        base = host(location)
    version = opts.api_version or DEFAULT_API_VERSION
    if version not in API_VERSIONS:
        raise BadRequestError(
            f"api_version {version!r} is not a Vertex AI API version "
            f"(choose from {', '.join(API_VERSIONS)})",
            provider="vertex_ai",
            param="api_version",
        )
    return f"{base}/{version}"


def _segment(value: str) -> str:
    return quote(value, safe="@")


def chat_url(vm: VertexModel, base: str, project: str, location: str, stream: bool) -> str:
    """The chat URL of a classified model under ``base`` (which ends in the API version)."""
    prefix = f"{base}/projects/{_segment(project)}/locations/{_segment(location)}"
    model = _segment(vm.path_model)
    if vm.family == "gemini":
        verb = "streamGenerateContent?alt=sse" if stream else "generateContent"
        return f"{prefix}/publishers/google/models/{model}:{verb}"
    if vm.family == "tuned":
        verb = "streamGenerateContent?alt=sse" if stream else "generateContent"
        return f"{prefix}/endpoints/{model}:{verb}"
    if vm.family in ("anthropic", "raw_predict"):
        verb = "streamRawPredict" if stream else "rawPredict"
        return f"{prefix}/publishers/{vm.publisher}/models/{model}:{verb}"
    if vm.family == "openapi":
        return f"{prefix}/endpoints/openapi/chat/completions"
    return f"{prefix}/endpoints/{model}/chat/completions"


def _credentials(opts: CallOptions) -> GoogleCredentials:
    from polymodal.auth.google import resolve_credentials

    return resolve_credentials(opts.vertex_credentials)


def endpoint(route: Route, op: Operation, opts: CallOptions, *, stream: bool = False) -> Endpoint:
    """URL, headers and auth for ``op`` on ``route``; raises before any I/O when they can't be
    resolved (no credentials, no project, a bad location)."""
    if op != "chat":
        raise BadRequestError(
            f"vertex.endpoint() builds chat URLs; Vertex AI {op} goes through "
            f"polymodal.providers.target(...) (model {route.model!r})",
            provider=route.provider,
            model=route.model,
        )
    from polymodal.auth.google import resolve_location

    vm = classify(route.model)
    location = resolve_location(opts.vertex_location)
    project, headers, auth = _access(route, opts)
    url = chat_url(vm, base_url(location, opts), project, location, stream)
    return Endpoint(url, headers, auth)


def _access(route: Route, opts: CallOptions) -> tuple[str, dict[str, str], Any]:
    """(project, headers, auth) of a Vertex call: ``api_key`` as a bearer token, else the
    resolved Google credentials as a :class:`~polymodal.auth.google.GoogleAuth`."""
    from polymodal.auth.google import GoogleAuth, resolve_project

    headers: dict[str, str] = {}
    auth: Any = None
    if opts.api_key is not None:
        headers["Authorization"] = f"Bearer {opts.api_key.get_secret_value()}"
        project = resolve_project(opts.vertex_project)
    else:
        creds = _credentials(opts)
        project = resolve_project(opts.vertex_project, creds)
        auth = GoogleAuth(creds, provider=route.provider, model=route.model)
    if opts.extra_headers:
        headers.update(opts.extra_headers)
    return project, headers, auth


def _api(vm: VertexModel) -> tuple[ModuleType, str]:
    if vm.family in ("gemini", "tuned"):
        from polymodal.apis import gemini

        return gemini, "vertex"
    if vm.family == "anthropic":
        from polymodal.apis import anthropic_messages

        return anthropic_messages, "vertex"
    from polymodal.apis import openai_chat

    return openai_chat, "compatible"


def chat_target(route: Route, opts: CallOptions, stream: bool) -> ChatTarget:
    vm = classify(route.model)
    api, dialect = _api(vm)
    target_endpoint = endpoint(route, "chat", opts, stream=stream)
    if vm.body_model is not None and vm.body_model != route.model:
        return ChatTarget(target_endpoint, api, dialect, body_model=vm.body_model)
    return ChatTarget(target_endpoint, api, dialect)


def is_gemini(route: Route) -> bool:
    """Whether ``route`` is served by the Gemini wire format."""
    try:
        return classify(route.model).family in ("gemini", "tuned")
    except BadRequestError:
        return False


def param_defaults(route: Route) -> dict[str, Any]:
    """Request parameters the module defaults supply when the call doesn't: today
    ``safety_settings`` from ``polymodal.vertex_ai_safety_settings`` for Gemini routes."""
    import polymodal

    settings = getattr(polymodal, "vertex_ai_safety_settings", None)
    if settings is None or not is_gemini(route):
        return {}
    return {"safety_settings": [dict(s) for s in settings]}


# --------------------------------------------------------------------------- embeddings, images, speech
#
# ``target(route, op, opts)`` for ``polymodal.embedding`` / ``image_generation`` / ``speech``:
#
# * embeddings: ``{prefix}/publishers/google/models/{m}:predict`` (text models, gemini-embedding-001,
#   multimodalembedding; :mod:`polymodal.apis.vertex_embeddings`), ``...:embedContent`` for the
#   multimodal Gemini embedding models (gemini-embedding-2*; :mod:`polymodal.apis.gemini_embeddings`),
#   ``{prefix}/endpoints/{id}:predict`` for a tuned or custom model deployed to an endpoint
#   (``vertex_ai/<numeric endpoint id>`` or ``vertex_ai/endpoints/<id>``);
# * images: Imagen at ``{prefix}/publishers/google/models/{m}:predict``
#   (:mod:`polymodal.apis.vertex_imagen`);
# * speech: Google Cloud Text-to-Speech, ``https://texttospeech.googleapis.com/v1/text:synthesize``
#   (``api_base`` and ``api_version`` as for Vertex; :mod:`polymodal.apis.google_tts`), whatever
#   the model name (Cloud TTS has no model in its URL; Gemini-TTS names select ``voice.modelName``).
#   Auth as for Vertex, plus ``x-goog-user-project``: the project named by ``vertex_project`` /
#   ``polymodal.vertex_project`` / the environment, else the credential's quota project (set by
#   :class:`~polymodal.auth.google.GoogleAuth`), else the credential's own project.

TTS_HOST = "https://texttospeech.googleapis.com"


def target(route: Route, op: MediaOperation, opts: CallOptions) -> Target:
    """Embeddings, images and speech on Vertex AI (see the section comment above)."""
    if op == "speech":
        return _speech_target(route, opts)
    if op == "embeddings":
        return _embeddings_target(route, opts)
    return _images_target(route, opts)


def _media_prefix(route: Route, opts: CallOptions) -> tuple[str, dict[str, str], Any]:
    from polymodal.auth.google import resolve_location

    location = resolve_location(opts.vertex_location)
    project, headers, auth = _access(route, opts)
    base = base_url(location, opts)
    return f"{base}/projects/{_segment(project)}/locations/{_segment(location)}", headers, auth


def _publisher_model(route: Route, what: str) -> str:
    name = route.model.strip().strip("/")
    if name.startswith("google/"):
        name = name[len("google/") :]
    if not name or "/" in name:
        raise BadRequestError(
            f"Vertex AI {what} model {route.model!r}: expected a Google model name such as "
            "'text-embedding-005', 'multimodalembedding@001' or 'imagen-3.0-generate-002'",
            provider=route.provider,
            model=route.model,
            param="model",
        )
    return name


def _embeddings_target(route: Route, opts: CallOptions) -> Target:
    from polymodal.apis import gemini_embeddings, vertex_embeddings

    name = route.model.strip().strip("/")
    endpoint_id = name[len("endpoints/") :] if name.startswith("endpoints/") else name
    if _ENDPOINT_ID.match(endpoint_id):  # a tuned or custom model on its own endpoint
        prefix, headers, auth = _media_prefix(route, opts)
        url = f"{prefix}/endpoints/{endpoint_id}:predict"
        return Target(Endpoint(url, headers, auth), vertex_embeddings, "text")
    model = _publisher_model(route, "embedding")
    prefix, headers, auth = _media_prefix(route, opts)
    path = f"{prefix}/publishers/google/models/{_segment(model)}"
    if gemini_embeddings.is_multimodal(model):
        return Target(Endpoint(f"{path}:embedContent", headers, auth), gemini_embeddings, "vertex")
    dialect = vertex_embeddings.dialect_for(model)
    return Target(Endpoint(f"{path}:predict", headers, auth), vertex_embeddings, dialect)


def _images_target(route: Route, opts: CallOptions) -> Target:
    from polymodal.apis import vertex_imagen

    model = _publisher_model(route, "image")
    if not vertex_imagen.is_imagen(model):
        raise BadRequestError(
            f"image generation with Vertex AI model {model!r} is not available in this version "
            "of polymodal: it speaks Imagen (imagegeneration@002/005/006, imagen-3.0-*, "
            "imagen-4.0-*)",
            provider=route.provider,
            model=route.model,
            param="model",
        )
    prefix, headers, auth = _media_prefix(route, opts)
    url = f"{prefix}/publishers/google/models/{_segment(model)}:predict"
    return Target(Endpoint(url, headers, auth), vertex_imagen, "vertex")


def tts_url(opts: CallOptions) -> str:
    """``{TTS_HOST or api_base}/{v1|v1beta1}/text:synthesize``."""
    if opts.api_base:
        base = opts.api_base.strip().rstrip("/")
        if base.endswith(tuple("/" + v for v in API_VERSIONS)):
            return f"{base}/text:synthesize"
    else:
        base = TTS_HOST
    version = opts.api_version or DEFAULT_API_VERSION
    if version not in API_VERSIONS:
        raise BadRequestError(
            f"api_version {version!r} is not a Text-to-Speech API version "
            f"(choose from {', '.join(API_VERSIONS)})",
            provider="vertex_ai",
            param="api_version",
        )
    return f"{base}/{version}/text:synthesize"


def _named_project(opts: CallOptions) -> str | None:
    """The project the call or the environment names (not the credential's), if any."""
    from polymodal.auth.google import resolve_project

    try:
        return resolve_project(opts.vertex_project)
    except BadRequestError:
        if opts.vertex_project:
            raise
        return None


def _speech_target(route: Route, opts: CallOptions) -> Target:
    from polymodal.apis import google_tts
    from polymodal.auth.google import GoogleAuth

    if route.model.strip().lower().startswith("lyria"):
        raise BadRequestError(
            f"{route.model!r} generates music, not speech; polymodal.speech on Vertex AI uses "
            "Google Cloud Text-to-Speech (e.g. vertex_ai/chirp, vertex_ai/gemini-2.5-flash-tts)",
            provider=route.provider,
            model=route.model,
            param="model",
        )
    url = tts_url(opts)
    headers: dict[str, str] = {}
    auth: Any = None
    project = _named_project(opts)
    if opts.api_key is not None:
        headers["Authorization"] = f"Bearer {opts.api_key.get_secret_value()}"
    else:
        creds = _credentials(opts)
        auth = GoogleAuth(creds, provider=route.provider, model=route.model)
        if project is None and creds.quota_project is None:
            project = creds.project
    if project:
        headers["x-goog-user-project"] = project
    if opts.extra_headers:
        headers.update(opts.extra_headers)
    return Target(Endpoint(url, headers, auth), google_tts, "google")
