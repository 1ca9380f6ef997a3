"""Gemini's ``generateContent`` as served by Vertex AI and by Google AI Studio, plus the Vertex
routes that speak other formats and Google's OAuth2 token endpoint.

Paths (``{v}`` is ``v1`` or ``v1beta1`` on Vertex, ``v1`` or ``v1beta`` on AI Studio):

* Vertex: ``/{v}/projects/{p}/locations/{l}/publishers/google/models/{m}:generateContent``,
  ``...:streamGenerateContent`` (``?alt=sse``: server-sent events framed ``data: {...}\\r\\n\\r\\n``;
  without it a JSON array), ``...:countTokens``, and the same on tuned-model endpoints
  ``/{v}/projects/{p}/locations/{l}/endpoints/{id}:generateContent``. Every Vertex request must
  carry ``Authorization: Bearer emu-token-<n>`` (from ``POST /token``, see
  :mod:`~polymodal.testing.google_oauth`) or it gets Google's 401 ``UNAUTHENTICATED``.
* Vertex partner routes, after the same token check: the OpenAI-compatible
  ``.../endpoints/openapi/chat/completions`` (Llama, Qwen, DeepSeek, ... MaaS) and
  ``.../endpoints/{id}/chat/completions`` (Model Garden), and Mistral / AI21
  ``.../publishers/{mistralai|ai21}/models/{m}:rawPredict|streamRawPredict`` are answered by the
  OpenAI Chat Completions emulation. Claude's
  ``.../publishers/anthropic/models/{m}:rawPredict|streamRawPredict`` is left to the Anthropic
  Messages format (:mod:`~polymodal.testing.anthropic`, with its own credential rules). Scripted
  replies (``queue_*``) are served as scripted; the token check applies to them only when the
  emulator has an ``api_key``.
* AI Studio: ``/{v}/models/{m}:generateContent|streamGenerateContent|countTokens`` (and
  ``tunedModels/{m}``); requires an API key in ``x-goog-api-key`` (or ``?key=``), Google's 403
  without one; with the emulator's ``api_key`` set the key must match (Google's 400
  ``API_KEY_INVALID`` otherwise).
* ``POST /token``: Google's OAuth2 token endpoint.

Answers are Google's shapes (``candidates[].content.parts``, ``finishReason``, ``safetyRatings``,
``usageMetadata``, ``modelVersion``, ``responseId``; Vertex adds ``createTime`` and
``trafficType`` and sends usage only in the last stream chunk, AI Studio repeats the cumulative
usage in every chunk) and the answer is the one every emulated provider gives
(:mod:`~polymodal.testing.answers`), with Gemini's extras:

* ``googleSearch`` / ``googleSearchRetrieval`` / ``enterpriseWebSearch`` tools → a deterministic
  ``groundingMetadata`` (``webSearchQueries``, two ``groundingChunks``, ``groundingSupports``
  with byte offsets into the answer, ``searchEntryPoint``) and ``toolUsePromptTokenCount``;
* thinking models (``gemini-2.5*``, ``gemini-3*``; off with ``thinkingBudget: 0``) report
  ``thoughtsTokenCount``; ``thinkingConfig.includeThoughts`` adds a ``thought: true`` part;
  function calls of thinking models carry a ``thoughtSignature`` (Gemini 3 text answers too) and
  Gemini 3 function calls carry an ``id``;
* a Gemini 3 request that replays a function call of the current turn without its
  ``thoughtSignature`` gets Google's 400;
* ``[emulator:unsafe]`` in the last user text is rated HIGH for dangerous content and the answer is
  blocked (``finishReason: SAFETY``), ``[emulator:unsafe-prompt]`` blocks the prompt
  (``promptFeedback.blockReason``), unless ``safetySettings`` sets
  ``HARM_CATEGORY_DANGEROUS_CONTENT`` to ``BLOCK_NONE`` or ``OFF``;
* ``maxOutputTokens`` (``MAX_TOKENS``), ``stopSequences``, ``candidateCount``, ``responseSchema``
  / ``responseJsonSchema`` / ``responseMimeType: application/json``, ``cachedContent``
  (``cachedContentTokenCount``) and ``toolConfig.functionCallingConfig`` behave as documented;
* requests are checked like Google checks them (unknown fields, roles, enums, schema without
  JSON mime type, ...), with Google's error envelope
  ``{"error": {"code", "message", "status", "details"}}``.

Helper: :func:`google_error` builds that envelope (with ``RetryInfo`` for a 429).
"""

from __future__ import annotations

import base64
import hmac
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from typing import Any
from urllib.parse import unquote

from .answers import Conversation, ToolSpec, decide
from .base import Context, Endpoint, RecordedRequest
from .google_oauth import TOKEN_PATH, is_emulator_token, token_endpoint
from .replies import ErrorReply, JsonReply, Sendable, StreamReply
from .text import count_tokens, shorten, split_words, truncate_tokens

__all__ = ["GeminiAPI", "google_error"]

_VERTEX = re.compile(
    r"^/(?P<version>v1|v1beta1)/projects/(?P<project>[^/]+)/locations/(?P<location>[^/]+)/"
    r"(?:publishers/(?P<publisher>[^/]+)/models/(?P<model>[^/:]+)|endpoints/(?P<endpoint>[^/:]+))"
    r"(?::(?P<method>[A-Za-z]+)|/chat/completions/?)$"
)
_STUDIO = re.compile(
    r"^/(?P<version>v1|v1beta|v1alpha)/(?P<kind>models|tunedModels)/(?P<model>[^/:]+)"
    r":(?P<method>[A-Za-z]+)$"
)
_STATUS = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    409: "ABORTED",
    429: "RESOURCE_EXHAUSTED",
    499: "CANCELLED",
    500: "INTERNAL",
    501: "UNIMPLEMENTED",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}
_SSE_END = "\r\n\r\n"
_COMPACT: dict[str, Any] = {"separators": (",", ":"), "ensure_ascii": False}
_MEDIA_TOKENS = 258  # Gemini counts an image as 258 tokens
_CACHED_TOKENS = 100
_UNSAFE = "[emulator:unsafe]"
_UNSAFE_PROMPT = "[emulator:unsafe-prompt]"
_CATEGORIES = (
    "HARM_CATEGORY_HATE_SPEECH",
    "HARM_CATEGORY_DANGEROUS_CONTENT",
    "HARM_CATEGORY_HARASSMENT",
    "HARM_CATEGORY_SEXUALLY_EXPLICIT",
)
_KNOWN_CATEGORIES = frozenset(
    {
        *_CATEGORIES,
        "HARM_CATEGORY_UNSPECIFIED",
        "HARM_CATEGORY_CIVIC_INTEGRITY",
        "HARM_CATEGORY_JAILBREAK",
        "HARM_CATEGORY_IMAGE_HATE",
        "HARM_CATEGORY_IMAGE_DANGEROUS_CONTENT",
        "HARM_CATEGORY_IMAGE_HARASSMENT",
        "HARM_CATEGORY_IMAGE_SEXUALLY_EXPLICIT",
    }
)
_THRESHOLDS = frozenset(
    {
        "HARM_BLOCK_THRESHOLD_UNSPECIFIED",
        "BLOCK_LOW_AND_ABOVE",
        "BLOCK_MEDIUM_AND_ABOVE",
        "BLOCK_ONLY_HIGH",
        "BLOCK_NONE",
        "OFF",
    }
)
_TOP_FIELDS = frozenset(
    {
        "model",
        "contents",
        "systemInstruction",
        "cachedContent",
        "tools",
        "toolConfig",
        "labels",
        "safetySettings",
        "modelArmorConfig",
        "generationConfig",
        "serviceTier",
        "store",
    }
)
_GENERATION_FIELDS = frozenset(
    {
        "temperature",
        "topP",
        "topK",
        "candidateCount",
        "maxOutputTokens",
        "stopSequences",
        "responseLogprobs",
        "logprobs",
        "presencePenalty",
        "frequencyPenalty",
        "seed",
        "responseMimeType",
        "responseSchema",
        "responseJsonSchema",
        "_responseJsonSchema",
        "routingConfig",
        "modelConfig",
        "audioTimestamp",
        "responseModalities",
        "mediaResolution",
        "speechConfig",
        "thinkingConfig",
        "enableAffectiveDialog",
        "imageConfig",
        "enableEnhancedCivicAnswers",
    }
)
_GROUNDING_TOOLS = ("googleSearch", "googleSearchRetrieval", "enterpriseWebSearch")
_SIGNATURE_BYPASS = frozenset(
    {"skip_thought_signature_validator", "context_engineering_is_the_way_to_go"}
)
_NO_CREDENTIAL = (
    "Request is missing required authentication credential. Expected OAuth 2 access token, login "
    "cookie or other valid authentication credential. See "
    "https://developers.google.com/identity/sign-in/web/devconsole-project."
)
_BAD_CREDENTIAL = (
    "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie "
    "or other valid authentication credential. See "
    "https://developers.google.com/identity/sign-in/web/devconsole-project."
)
_NO_KEY = (
    "Method doesn't allow unregistered callers (callers without established identity). Please "
    "use API Key or other form of API consumer identity to call this API."
)
_MISSING_SIGNATURE = (
    "Function call is missing a thought_signature in functionCall parts. This is required for "
    "tools to work correctly, and missing thought_signature may lead to degraded model "
    "performance. Additional data, function call `default_api:{name}` , position {position}. "
    "Please refer to https://ai.google.dev/gemini-api/docs/thought-signatures for more details."
)


def google_error(
    status: int,
    message: str,
    *,
    retry_delay: float | None = None,
    details: Sequence[Mapping[str, Any]] = (),
) -> dict[str, Any]:
    """Google's error envelope; ``retry_delay`` (seconds) adds a ``google.rpc.RetryInfo``."""
    error: dict[str, Any] = {
        "code": status,
        "message": message,
        "status": _STATUS.get(status, "UNKNOWN"),
    }
    extra = [dict(d) for d in details]
    if retry_delay is not None:
        extra.append(
            {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": f"{retry_delay}s"}
        )
    if extra:
        error["details"] = extra
    return {"error": error}


def _error(status: int, message: str, details: Sequence[Mapping[str, Any]] = ()) -> ErrorReply:
    return ErrorReply(status, google_error(status, message, details=details))


def _error_info(reason: str, service: str, method: str = "") -> dict[str, Any]:
    info: dict[str, Any] = {
        "@type": "type.googleapis.com/google.rpc.ErrorInfo",
        "reason": reason,
        "domain": "googleapis.com",
        "metadata": {"service": service},
    }
    if method:
        info["metadata"]["method"] = method
    return info


def _bearer(request: RecordedRequest) -> str | None:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(p[:1].upper() + p[1:] for p in rest)


def _get(obj: Any, name: str, default: Any = None) -> Any:
    """``obj[name]`` accepting the proto's snake_case spelling too, as Google's parser does."""
    if not isinstance(obj, Mapping):
        return default
    if name in obj:
        return obj[name]
    snake = re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()
    return obj.get(snake, default)


# --------------------------------------------------------------------------- the format


@dataclass(frozen=True)
class _Target:
    vertex: bool
    version: str
    model: str  # the model the answer names (modelVersion)
    method: str
    project: str = ""
    location: str = ""


class GeminiAPI:
    """Vertex AI and Google AI Studio Gemini endpoints (a :class:`~.base.WireFormat`)."""

    name = "gemini"

    def __init__(self) -> None:
        from .openai import OpenAIChat

        self._openai = OpenAIChat()

    def match(self, request: RecordedRequest) -> Endpoint | None:
        path = request.path
        if path == TOKEN_PATH:
            return token_endpoint
        vertex = _VERTEX.match(path)
        if vertex is not None:
            if vertex.group("publisher") == "anthropic":
                return None  # Claude on Vertex: the Anthropic Messages format's own endpoint
            return self._vertex(vertex)
        studio = _STUDIO.match(path)
        if studio is not None:
            return self._studio(studio)
        return None

    def _vertex(self, m: re.Match[str]) -> Endpoint:
        method = m.group("method")
        publisher = m.group("publisher")
        model = unquote(m.group("model") or m.group("endpoint") or "")
        openai = self._openai

        def endpoint(request: RecordedRequest, ctx: Context) -> Sendable:
            denied = _vertex_denial(request, method or "ChatCompletions")
            if denied is not None:
                return denied
            raw = method in ("rawPredict", "streamRawPredict")
            if method is None or (publisher in ("mistralai", "ai21") and raw):
                inner = openai.match(replace(request, path="/v1/chat/completions"))
                assert inner is not None
                return inner(request, ctx)
            if publisher not in (None, "google"):
                message = (
                    f"Publisher Model `publishers/{publisher}/models/{model}` was not found or "
                    "your project does not have access to it."
                )
                return _error(404, message)
            target = _Target(
                True, m.group("version"), model, method, m.group("project"), m.group("location")
            )
            return _dispatch(request, ctx, target)

        return endpoint

    def _studio(self, m: re.Match[str]) -> Endpoint:
        model = unquote(m.group("model"))
        target = _Target(False, m.group("version"), model, m.group("method"))

        def endpoint(request: RecordedRequest, ctx: Context) -> Sendable:
            if not _studio_key(request):
                return _error(
                    403,
                    _NO_KEY,
                    [_error_info("CONSUMER_INVALID", "generativelanguage.googleapis.com")],
                )
            return _dispatch(request, ctx, target)

        return endpoint

    def authorize(self, request: RecordedRequest, api_key: str) -> Sendable | None:
        if request.path == TOKEN_PATH:
            return None
        if _VERTEX.match(request.path):
            return _vertex_denial(request, "GenerateContent")
        if _STUDIO.match(request.path):
            offered = _studio_key(request)
            if offered is None:
                return _error(
                    403,
                    _NO_KEY,
                    [_error_info("CONSUMER_INVALID", "generativelanguage.googleapis.com")],
                )
            if not hmac.compare_digest(offered.encode(), api_key.encode()):
                return _error(
                    400,
                    "API key not valid. Please pass a valid API key.",
                    [_error_info("API_KEY_INVALID", "generativelanguage.googleapis.com")],
                )
        return None

    def error_body(self, request: RecordedRequest, status: int, message: str) -> Any:
        return google_error(status, message)

    def not_found(self, request: RecordedRequest) -> Sendable:
        return _error(404, "Requested entity was not found.")


def _vertex_denial(request: RecordedRequest, method: str) -> ErrorReply | None:
    token = _bearer(request)
    if token is not None and is_emulator_token(token):
        return None
    rpc = f"google.cloud.aiplatform.v1.PredictionService.{method[:1].upper()}{method[1:]}"
    if token is None:
        info = _error_info("CREDENTIALS_MISSING", "aiplatform.googleapis.com", rpc)
        return _error(401, _NO_CREDENTIAL, [info])
    info = _error_info("ACCESS_TOKEN_TYPE_UNSUPPORTED", "aiplatform.googleapis.com", rpc)
    return _error(401, _BAD_CREDENTIAL, [info])


def _studio_key(request: RecordedRequest) -> str | None:
    key = request.headers.get("x-goog-api-key", "").strip() or request.query.get("key", "").strip()
    return key or None


# --------------------------------------------------------------------------- dispatch


def _dispatch(request: RecordedRequest, ctx: Context, target: _Target) -> Sendable:
    if request.method != "POST":
        return _error(405, f"Method {request.method} is not allowed for {target.method}.")
    try:
        body = json.loads(request.body) if request.body else None
    except (ValueError, UnicodeDecodeError):
        return _error(400, "Invalid JSON payload received. Unexpected token.")
    if not isinstance(body, dict):
        return _error(400, "Invalid JSON payload received. Expected an object.")
    problem = _check(body, target)
    if problem is not None:
        return problem
    if target.method == "countTokens":
        return JsonReply(_count_tokens(body, target))
    if target.method not in ("generateContent", "streamGenerateContent"):
        return _error(404, f"Method {target.method} is not found for this resource.")
    turn = _Turn.read(body, target)
    if target.method == "generateContent":
        return JsonReply(_response(turn, ctx), headers=_headers(target))
    chunks = _chunks(turn, ctx)
    if request.query.get("alt") == "sse":
        events = ["data: " + json.dumps(c, **_COMPACT) + _SSE_END for c in chunks]
        return StreamReply(events, done=False, headers=_headers(target))
    return JsonReply(chunks, headers=_headers(target))


def _headers(target: _Target) -> dict[str, str]:
    return {
        "vary": "Origin, X-Origin, Referer",
        "x-emulator-api": "vertex" if target.vertex else "ai-studio",
    }


# --------------------------------------------------------------------------- request checks


def _unknown(body: Mapping[str, Any], allowed: frozenset[str], where: str) -> ErrorReply | None:
    for key in body:
        if _camel(key) not in allowed:
            at = f" at '{where}'" if where else ""
            return _error(
                400, f'Invalid JSON payload received. Unknown name "{key}"{at}: Cannot find field.'
            )
    return None


def _check(body: Mapping[str, Any], target: _Target) -> ErrorReply | None:
    problem = _unknown(body, _TOP_FIELDS, "")
    if problem is not None:
        return problem
    gen = _get(body, "generationConfig")
    if gen is not None:
        if not isinstance(gen, Mapping):
            return _error(
                400, "Invalid JSON payload received. 'generation_config' must be an object."
            )
        problem = _unknown(gen, _GENERATION_FIELDS, "generation_config")
        if problem is not None:
            return problem
    contents = _get(body, "contents")
    if not contents:
        if target.method == "countTokens":
            return None
        return _error(400, "Unable to submit request because it has an empty contents field.")
    if not isinstance(contents, list):
        return _error(400, "Invalid JSON payload received. 'contents' must be a list.")
    for i, content in enumerate(contents):
        if not isinstance(content, Mapping):
            return _error(400, f"Invalid JSON payload received. contents[{i}] must be an object.")
        role = content.get("role", "user")
        if role not in ("user", "model", "function", ""):
            return _error(
                400, f"Please use a valid role: user, model. (contents[{i}].role: {role!r})"
            )
        parts = content.get("parts")
        if not isinstance(parts, list) or not parts:
            return _error(
                400,
                "Unable to submit request because it must include at least one parts field, which "
                "describes the prompt input.",
            )
        for part in parts:
            if not isinstance(part, Mapping) or not _part_kind(part):
                return _error(
                    400,
                    f"Unable to submit request because contents[{i}] has a part without any "
                    "data (text, inlineData, fileData, functionCall or functionResponse).",
                )
    problem = _check_safety(body, target)
    if problem is not None:
        return problem
    if isinstance(gen, Mapping):
        schema = _get(gen, "responseSchema")
        json_schema = _get(gen, "responseJsonSchema", _get(gen, "_responseJsonSchema"))
        mime = _get(gen, "responseMimeType")
        if schema is not None and json_schema is not None:
            return _error(400, "response_schema and response_json_schema cannot both be set.")
        if (schema is not None or json_schema is not None) and mime not in (
            "application/json",
            "text/x.enum",
        ):
            return _error(
                400,
                "Unable to submit request because setting response_schema requires "
                "response_mime_type to be set to application/json or text/x.enum.",
            )
    return _check_signatures(contents, target)


def _check_safety(body: Mapping[str, Any], target: _Target) -> ErrorReply | None:
    settings = _get(body, "safetySettings")
    if settings is None:
        return None
    if not isinstance(settings, list):
        return _error(400, "Invalid JSON payload received. 'safety_settings' must be a list.")
    proto = (
        "google.cloud.aiplatform.v1.SafetySetting"
        if target.vertex
        else "google.ai.generativelanguage.v1beta"
    )
    for i, setting in enumerate(settings):
        if not isinstance(setting, Mapping):
            return _error(
                400, f"Invalid JSON payload received. safety_settings[{i}] must be an object."
            )
        category = setting.get("category")
        threshold = setting.get("threshold")
        if category not in _KNOWN_CATEGORIES:
            return _error(
                400,
                f"Invalid value at 'safety_settings[{i}].category' "
                f'(type.googleapis.com/{proto}.HarmCategory), "{category}"',
            )
        if threshold not in _THRESHOLDS:
            return _error(
                400,
                f"Invalid value at 'safety_settings[{i}].threshold' "
                f'(type.googleapis.com/{proto}.HarmBlockThreshold), "{threshold}"',
            )
    return None


def _part_kind(part: Mapping[str, Any]) -> str | None:
    for kind in (
        "text",
        "inlineData",
        "fileData",
        "functionCall",
        "functionResponse",
        "executableCode",
        "codeExecutionResult",
    ):
        if _get(part, kind) is not None:
            return kind
    return None


def _is_gemini3(model: str) -> bool:
    return model.startswith("gemini-3")


def _check_signatures(contents: Sequence[Any], target: _Target) -> ErrorReply | None:
    """Gemini 3: every function call of the current turn must come back with its signature."""
    if not _is_gemini3(target.model):
        return None
    start = 0
    for i, content in enumerate(contents):
        parts = content.get("parts") or []
        if content.get("role", "user") == "user" and any(
            _get(p, "text") is not None or _get(p, "inlineData") or _get(p, "fileData")
            for p in parts
        ):
            start = i + 1
    for i in range(start, len(contents)):
        content = contents[i]
        if content.get("role") != "model":
            continue
        calls = [p for p in content.get("parts") or [] if _get(p, "functionCall") is not None]
        if not calls:
            continue
        signature = _get(calls[0], "thoughtSignature")
        if not _valid_signature(signature):
            name = _get(calls[0], "functionCall").get("name", "")
            return _error(400, _MISSING_SIGNATURE.format(name=name, position=i + 1))
    return None


def _valid_signature(signature: Any) -> bool:
    if not isinstance(signature, str) or not signature:
        return False
    if signature in _SIGNATURE_BYPASS:
        return True
    try:
        base64.b64decode(signature + "=" * (-len(signature) % 4), altchars=b"-_")
    except ValueError:
        return False
    return True


# --------------------------------------------------------------------------- reading a request


def _json_schema(schema: Any) -> Any:
    """Gemini's OpenAPI-subset ``Schema`` (upper-case types, ``nullable``) → JSON Schema."""
    if isinstance(schema, list):
        return [_json_schema(s) for s in schema]
    if not isinstance(schema, Mapping):
        return schema
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key == "type" and isinstance(value, str):
            out["type"] = value.lower()
        elif key in ("properties", "$defs", "definitions") and isinstance(value, Mapping):
            out[key] = {k: _json_schema(v) for k, v in value.items()}
        elif key in ("items", "anyOf", "oneOf", "allOf", "additionalProperties", "not"):
            out[key] = _json_schema(value)
        elif key in ("nullable", "propertyOrdering"):
            continue
        else:
            out[key] = value
    if schema.get("nullable") and isinstance(out.get("type"), str):
        out["type"] = [out["type"], "null"]
    return out


def _media_kind(mime: Any) -> str:
    mime = str(mime or "")
    if mime.startswith("image/"):
        return "image"
    if mime.startswith("audio/"):
        return "audio clip"
    if mime.startswith("video/"):
        return "video"
    return "file"


def _text_of_response(response: Any) -> str:
    if isinstance(response, Mapping) and len(response) == 1:
        (value,) = response.values()
        if isinstance(value, str):
            return value
    return json.dumps(response, **_COMPACT)


@dataclass
class _Turn:
    """What a Gemini request asks for, read once."""

    target: _Target
    conversation: Conversation
    prompt_tokens: int
    media_tokens: int
    tool_tokens: int
    grounding: bool
    thinking: bool
    include_thoughts: bool
    candidates: int
    max_tokens: int | None
    stop: list[str]
    cached: bool
    unsafe_prompt: bool
    unsafe_answer: bool
    safety: dict[str, str] = field(default_factory=dict)

    @classmethod
    def read(cls, body: Mapping[str, Any], target: _Target) -> _Turn:
        contents = [c for c in _get(body, "contents") or [] if isinstance(c, Mapping)]
        gen = _get(body, "generationConfig") or {}
        text_tokens = 0
        media_tokens = 0
        media: dict[str, int] = {"image": 0, "file": 0, "audio clip": 0, "video": 0}
        system = _get(body, "systemInstruction")
        for part in (system or {}).get("parts") or [] if isinstance(system, Mapping) else []:
            text_tokens += count_tokens(str(_get(part, "text") or ""))
        for content in contents:
            for part in content.get("parts") or []:
                text = _get(part, "text")
                if isinstance(text, str):
                    text_tokens += count_tokens(text)
                blob = _get(part, "inlineData") or _get(part, "fileData")
                if isinstance(blob, Mapping):
                    media_tokens += _MEDIA_TOKENS
                    if content.get("role", "user") == "user":
                        media[_media_kind(_get(blob, "mimeType"))] += 1
                call = _get(part, "functionCall")
                if isinstance(call, Mapping):
                    text_tokens += count_tokens(
                        f"{call.get('name', '')} {json.dumps(call.get('args') or {})}"
                    )
                result = _get(part, "functionResponse")
                if isinstance(result, Mapping):
                    text_tokens += count_tokens(_text_of_response(result.get("response")))
        tools_field = _get(body, "tools") or []
        declarations: list[Mapping[str, Any]] = []
        grounding = False
        for tool in tools_field if isinstance(tools_field, list) else []:
            if not isinstance(tool, Mapping):
                continue
            if any(_get(tool, name) is not None for name in _GROUNDING_TOOLS):
                grounding = True
            found = _get(tool, "functionDeclarations") or []
            declarations.extend(d for d in found if isinstance(d, Mapping))
        tool_tokens = count_tokens(json.dumps(declarations)) if declarations else 0
        last = contents[-1] if contents else {}
        last_parts = last.get("parts") or []
        results = [_get(p, "functionResponse") for p in last_parts]
        results = [r for r in results if isinstance(r, Mapping)]
        if results:
            last_role = "tool"
        elif last.get("role") == "model":
            last_role = "assistant"
        else:
            last_role = "user"
        user_text = ""
        for content in reversed(contents):
            if content.get("role", "user") != "user":
                continue
            texts = [_get(p, "text") for p in content.get("parts") or []]
            texts = [t for t in texts if isinstance(t, str)]
            if texts:
                user_text = " ".join(texts)
                break
        choice, tools = _tool_choice(_get(body, "toolConfig"), declarations)
        schema = _get(gen, "responseJsonSchema", _get(gen, "_responseJsonSchema"))
        if schema is None and _get(gen, "responseSchema") is not None:
            schema = _json_schema(_get(gen, "responseSchema"))
        mime = _get(gen, "responseMimeType")
        conversation = Conversation(
            last_role=last_role,
            user_text=user_text,
            media={k: v for k, v in media.items() if v},
            tool_results=tuple(_text_of_response(r.get("response")) for r in results),
            tools=tools,
            tool_choice=choice,
            response_schema=schema if isinstance(schema, Mapping) else None,
            json_mode=mime == "application/json",
        )
        thinking_config = _get(gen, "thinkingConfig") or {}
        budget = _get(thinking_config, "thinkingBudget")
        model = target.model
        thinks = (model.startswith(("gemini-2.5", "gemini-3")) and budget != 0) or bool(
            isinstance(budget, int) and budget > 0
        )
        include = bool(_get(thinking_config, "includeThoughts")) and thinks
        stop = _get(gen, "stopSequences") or []
        limit = _get(gen, "maxOutputTokens")
        safety = {
            str(s.get("category")): str(s.get("threshold"))
            for s in _get(body, "safetySettings") or []
            if isinstance(s, Mapping)
        }
        return cls(
            target=target,
            conversation=conversation,
            prompt_tokens=text_tokens + media_tokens + tool_tokens,
            media_tokens=media_tokens,
            tool_tokens=tool_tokens,
            grounding=grounding,
            thinking=thinks,
            include_thoughts=include,
            candidates=max(1, int(_get(gen, "candidateCount") or 1)),
            max_tokens=limit if isinstance(limit, int) else None,
            stop=[s for s in stop if isinstance(s, str) and s],
            cached=bool(_get(body, "cachedContent")),
            unsafe_prompt=_UNSAFE_PROMPT in user_text and last_role == "user",
            unsafe_answer=_UNSAFE in user_text and last_role == "user",
            safety=safety,
        )

    @property
    def blocks_dangerous(self) -> bool:
        return self.safety.get("HARM_CATEGORY_DANGEROUS_CONTENT") not in ("BLOCK_NONE", "OFF")


def _tool_choice(
    config: Any, declarations: list[Mapping[str, Any]]
) -> tuple[str, tuple[ToolSpec, ...]]:
    tools = tuple(
        ToolSpec(
            str(d.get("name", "")),
            _get(d, "parametersJsonSchema")
            if _get(d, "parametersJsonSchema") is not None
            else _json_schema(_get(d, "parameters")),
        )
        for d in declarations
    )
    calling = _get(config, "functionCallingConfig") or {}
    mode = str(_get(calling, "mode") or "AUTO").upper()
    if mode == "NONE":
        return "none", tools
    if mode in ("ANY", "VALIDATED"):
        allowed = _get(calling, "allowedFunctionNames") or []
        if allowed:
            tools = tuple(t for t in tools if t.name in allowed) or tools
            if len(allowed) == 1:
                return str(allowed[0]), tools
        return ("required" if mode == "ANY" else "auto"), tools
    return "auto", tools


# --------------------------------------------------------------------------- answering


@dataclass
class _Candidate:
    parts: list[dict[str, Any]]
    finish: str
    text_tokens: int
    thought_tokens: int
    grounding: dict[str, Any] | None = None
    blocked: bool = False


def _signature(ctx: Context, model: str) -> str:
    raw = f"emulator-thought-signature:{model}:{ctx.next('thought_signature')}".encode()
    return base64.b64encode(raw).decode()


def _call_id(ctx: Context) -> str:
    n = ctx.next("function_call_id")
    letters = ""
    for _ in range(8):
        n, r = divmod(n, 26)
        letters = "abcdefghijklmnopqrstuvwxyz"[r] + letters
    return letters


def _thought_text(turn: _Turn) -> str:
    conv = turn.conversation
    if conv.last_role == "tool":
        return (
            "**Reading the tool result**\n\nThe tool answered; I will summarise what it returned."
        )
    if conv.tools and conv.tool_choice != "none":
        return "**Choosing a tool**\n\nThe request needs a tool; I will call it with arguments from its schema."
    return f'**Answering the request**\n\nThe user wrote: "{shorten(conv.user_text, 60)}".'


def _grounding(text: str, query: str, vertex: bool) -> tuple[str, dict[str, Any]]:
    note = " This answer is grounded in 2 web sources."
    grounded = text + note
    first_end = len(text.encode())
    support_extra: dict[str, Any] = {"confidenceScores": [0.9]} if vertex else {}
    slug = re.sub(r"[^a-z0-9]+", "-", query.lower()).strip("-")[:40] or "query"
    metadata = {
        "webSearchQueries": [shorten(query, 80) or "emulator search"],
        "searchEntryPoint": {
            "renderedContent": '<div class="container"><a class="chip" '
            f'href="https://www.google.com/search?q={slug}">{shorten(query, 40)}</a></div>'
        },
        "groundingChunks": [
            {"web": {"uri": f"https://example.com/{slug}/1", "title": "example.com"}},
            {"web": {"uri": f"https://example.org/{slug}/2", "title": "example.org"}},
        ],
        "groundingSupports": [
            {
                "segment": {"startIndex": 0, "endIndex": first_end, "text": text},
                "groundingChunkIndices": [0],
                **support_extra,
            },
            {
                "segment": {
                    "startIndex": first_end + 1,
                    "endIndex": len(grounded.encode()),
                    "text": note.strip(),
                },
                "groundingChunkIndices": [1],
                **support_extra,
            },
        ],
    }
    if vertex:
        metadata["retrievalMetadata"] = {}
    return grounded, metadata


def _limit(text: str, turn: _Turn) -> tuple[str, str]:
    for stop in turn.stop:
        if stop in text:
            text = text[: text.index(stop)]
    if turn.max_tokens is not None:
        text, cut = truncate_tokens(text, turn.max_tokens)
        if cut:
            return text, "MAX_TOKENS"
    return text, "STOP"


def _candidates(turn: _Turn, ctx: Context) -> list[_Candidate]:
    conv = turn.conversation
    model = turn.target.model
    answer = decide(conv)
    out: list[_Candidate] = []
    for _ in range(turn.candidates):
        parts: list[dict[str, Any]] = []
        thought_tokens = 0
        if turn.thinking:
            thought = _thought_text(turn)
            thought_tokens = count_tokens(thought) + 16
            if turn.include_thoughts:
                parts.append({"text": thought, "thought": True})
        if turn.unsafe_answer and turn.blocks_dangerous:
            out.append(_Candidate([], "SAFETY", 0, thought_tokens, blocked=True))
            continue
        if answer.tool is not None:
            call: dict[str, Any] = {"name": answer.tool, "args": answer.arguments}
            if _is_gemini3(model):
                call = {"id": _call_id(ctx), **call}
            part: dict[str, Any] = {"functionCall": call}
            if turn.thinking:
                part["thoughtSignature"] = _signature(ctx, model)
            parts.append(part)
            tokens = count_tokens(f"{answer.tool} {json.dumps(answer.arguments, **_COMPACT)}")
            out.append(_Candidate(parts, "STOP", tokens, thought_tokens))
            continue
        text, finish = _limit(answer.text or "", turn)
        grounding = None
        if turn.grounding and answer.text is not None and finish == "STOP":
            text, grounding = _grounding(text, conv.user_text, turn.target.vertex)
        text_part: dict[str, Any] = {"text": text}
        if _is_gemini3(model) or (turn.include_thoughts and turn.thinking):
            text_part["thoughtSignature"] = _signature(ctx, model)
        parts.append(text_part)
        out.append(_Candidate(parts, finish, count_tokens(text), thought_tokens, grounding))
    return out


def _ratings(turn: _Turn, blocked: bool) -> list[dict[str, Any]]:
    ratings = []
    for category in _CATEGORIES:
        dangerous = category == "HARM_CATEGORY_DANGEROUS_CONTENT" and (
            turn.unsafe_answer or turn.unsafe_prompt
        )
        rating: dict[str, Any] = {
            "category": category,
            "probability": "HIGH" if dangerous else "NEGLIGIBLE",
        }
        if turn.target.vertex:
            rating.update(
                {
                    "probabilityScore": 0.93 if dangerous else 0.02,
                    "severity": "HARM_SEVERITY_HIGH" if dangerous else "HARM_SEVERITY_NEGLIGIBLE",
                    "severityScore": 0.87 if dangerous else 0.01,
                }
            )
        if dangerous and blocked:
            rating["blocked"] = True
        ratings.append(rating)
    return ratings


def _usage(
    turn: _Turn, candidates: Sequence[_Candidate], *, partial: int | None = None
) -> dict[str, Any]:
    prompt = turn.prompt_tokens + (_CACHED_TOKENS if turn.cached else 0)
    completion = sum(c.text_tokens for c in candidates) if partial is None else partial
    thoughts = sum(c.thought_tokens for c in candidates)
    tool_use = count_tokens(turn.conversation.user_text) + 8 if turn.grounding else 0
    usage: dict[str, Any] = {
        "promptTokenCount": prompt,
        "candidatesTokenCount": completion,
        "totalTokenCount": prompt + completion + thoughts + tool_use,
    }
    if turn.target.vertex:
        usage["trafficType"] = "ON_DEMAND"
    details = [{"modality": "TEXT", "tokenCount": prompt - turn.media_tokens}]
    if turn.media_tokens:
        details.append({"modality": "IMAGE", "tokenCount": turn.media_tokens})
    usage["promptTokensDetails"] = details
    if turn.target.vertex and completion:
        usage["candidatesTokensDetails"] = [{"modality": "TEXT", "tokenCount": completion}]
    if turn.cached:
        usage["cachedContentTokenCount"] = _CACHED_TOKENS
        usage["cacheTokensDetails"] = [{"modality": "TEXT", "tokenCount": _CACHED_TOKENS}]
    if tool_use:
        usage["toolUsePromptTokenCount"] = tool_use
        usage["toolUsePromptTokensDetails"] = [{"modality": "TEXT", "tokenCount": tool_use}]
    if thoughts:
        usage["thoughtsTokenCount"] = thoughts
    return usage


def _head(turn: _Turn, ctx: Context) -> dict[str, Any]:
    n = ctx.next("gemini_response")
    head: dict[str, Any] = {"modelVersion": turn.target.model}
    if turn.target.vertex:
        created = datetime.fromtimestamp(ctx.created, tz=timezone.utc)
        head["createTime"] = created.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    head["responseId"] = f"emu-response-{n}"
    return head


def _blocked_prompt(turn: _Turn, ctx: Context) -> dict[str, Any]:
    feedback: dict[str, Any] = {"blockReason": "SAFETY", "safetyRatings": _ratings(turn, True)}
    if turn.target.vertex:
        feedback["blockReasonMessage"] = (
            "The prompt was blocked due to safety reasons. You can check the safety ratings to "
            "see which categories triggered the block."
        )
    usage = _usage(turn, [], partial=0)
    return {"promptFeedback": feedback, "usageMetadata": usage, **_head(turn, ctx)}


def _candidate_json(
    turn: _Turn, index: int, cand: _Candidate, parts: list[dict[str, Any]] | None, finish: bool
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    shown = cand.parts if parts is None else parts
    if shown or not cand.blocked:
        out["content"] = {"role": "model", "parts": shown}
    if finish:
        out["finishReason"] = cand.finish
        out["safetyRatings"] = _ratings(turn, cand.blocked)
        if cand.grounding is not None:
            out["groundingMetadata"] = cand.grounding
    if not turn.target.vertex or turn.candidates > 1:
        out["index"] = index
    return out


def _response(turn: _Turn, ctx: Context) -> dict[str, Any]:
    if turn.unsafe_prompt and turn.blocks_dangerous:
        return _blocked_prompt(turn, ctx)
    candidates = _candidates(turn, ctx)
    return {
        "candidates": [_candidate_json(turn, i, c, None, True) for i, c in enumerate(candidates)],
        "usageMetadata": _usage(turn, candidates),
        **_head(turn, ctx),
    }


def _pieces(cand: _Candidate) -> list[list[dict[str, Any]]]:
    """The candidate's parts as the stream delivers them: thoughts, then text word by word
    (the signature rides on the first text piece), function calls whole."""
    chunks: list[list[dict[str, Any]]] = []
    for part in cand.parts:
        if part.get("thought") or "functionCall" in part:
            chunks.append([part])
            continue
        words = split_words(part["text"]) if part["text"] else [""]
        for i, word in enumerate(words):
            piece: dict[str, Any] = {"text": word}
            if i == 0 and "thoughtSignature" in part:
                piece["thoughtSignature"] = part["thoughtSignature"]
            chunks.append([piece])
    return chunks or [[]]


def _chunks(turn: _Turn, ctx: Context) -> list[dict[str, Any]]:
    if turn.unsafe_prompt and turn.blocks_dangerous:
        return [_blocked_prompt(turn, ctx)]
    candidates = _candidates(turn, ctx)
    head = _head(turn, ctx)
    out: list[dict[str, Any]] = []
    for index, cand in enumerate(candidates):
        pieces = _pieces(cand)
        sent = 0
        for k, parts in enumerate(pieces):
            last = k == len(pieces) - 1 and index == len(candidates) - 1
            finish = k == len(pieces) - 1
            chunk: dict[str, Any] = {
                "candidates": [_candidate_json(turn, index, cand, parts, finish)]
            }
            sent += sum(count_tokens(p.get("text", "")) for p in parts if not p.get("thought"))
            if last:
                chunk["usageMetadata"] = _usage(turn, candidates)
            elif not turn.target.vertex:  # AI Studio repeats the cumulative usage
                chunk["usageMetadata"] = _usage(turn, candidates, partial=sent)
            chunk.update(head)
            out.append(chunk)
    return out


def _count_tokens(body: Mapping[str, Any], target: _Target) -> dict[str, Any]:
    contents = _get(body, "contents") or []
    if not contents and isinstance(_get(body, "generateContentRequest"), Mapping):
        contents = _get(_get(body, "generateContentRequest"), "contents") or []
    total = 0
    chars = 0
    for content in contents if isinstance(contents, list) else []:
        for part in content.get("parts") or [] if isinstance(content, Mapping) else []:
            text = _get(part, "text")
            if isinstance(text, str):
                total += count_tokens(text)
                chars += len(text.replace(" ", ""))
            elif _get(part, "inlineData") or _get(part, "fileData"):
                total += _MEDIA_TOKENS
    details = [{"modality": "TEXT", "tokenCount": total}]
    if target.vertex:
        return {
            "totalTokens": total,
            "totalBillableCharacters": chars,
            "promptTokensDetails": details,
        }
    return {"totalTokens": total, "promptTokensDetails": details}
