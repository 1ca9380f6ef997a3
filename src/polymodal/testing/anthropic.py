"""Anthropic's Messages API, as served by Anthropic and by Claude on Vertex AI.

Paths:

* ``{any prefix}/v1/messages`` (so ``api_base=emu.url`` and the SDK's ``base_url=emu.url`` work)
  and ``{any prefix}/v1/messages/count_tokens``; ``x-api-key`` (or ``Authorization: Bearer``)
  and the ``anthropic-version`` header;
* ``{any prefix}/projects/{p}/locations/{l}/publishers/anthropic/models/{m}:rawPredict`` and
  ``:streamRawPredict`` (Claude on Vertex: no ``model`` in the body, ``anthropic_version`` in it:
  ``"vertex-2023-10-16"``, or a dated API version as anthropic SDK 2.x sends,
  ``Authorization: Bearer`` with the emulator's key or a token from its OAuth endpoint);
  ``models/count-tokens:rawPredict`` counts tokens.

The answer is the one every emulated provider gives (:func:`~.answers.decide`), in Anthropic's
shapes: a ``Message`` (``msg_emu_<n>``) whose ``content`` is a ``text`` block or a ``tool_use``
block (``toolu_emu_<n>``, ``input`` synthesized from the tool's ``input_schema``), preceded by a
``thinking`` block with a deterministic ``signature`` (:func:`thinking_signature`) when the request
turns thinking on (``enabled`` or ``adaptive``; a ``redacted_thinking`` block when the user text
holds Anthropic's magic string :data:`REDACT_TRIGGER`). ``stop_reason`` is ``end_turn``,
``tool_use``, ``max_tokens`` (the text is cut at ``max_tokens`` minus the thinking tokens) or
``stop_sequence``. ``output_config.format`` json_schema (and the beta ``output_format``) answers
with an instance of the schema; ``tool_choice`` ``any`` / ``tool`` / ``none`` are honoured.
Streams are SSE with ``event:`` names: ``message_start``, ``content_block_start``, ``ping``,
``content_block_delta`` (``text_delta`` per word, ``thinking_delta`` then one
``signature_delta``, ``input_json_delta`` in pieces of about three tokens after an empty one),
``content_block_stop``, ``message_delta`` (stop reason and cumulative usage), ``message_stop``.

Tokens: ``input_tokens`` = 3 per message + the tokens of every text (system, text blocks, tool
results, thinking, tool names and inputs) + 85 per image or non-text document + the tokens of the
JSON of ``tools``; ``output_tokens`` = the tokens of what was written (thinking included, counted
in ``output_tokens_details.thinking_tokens``).

Requests are checked the way the real API checks them (in Anthropic's own words where real
traffic shows them, elsewhere in its ``field.path: problem`` style): missing ``max_tokens`` /
``model`` / ``messages``, unknown top-level keys, roles (``system`` in ``messages``, the first
message not ``user``, roles not alternating), empty content, block tags (``image_url`` is not
Anthropic's), image sources and media types (the declared type must match the bytes), a
``tool_result`` whose ``tool_use_id`` is not a ``tool_use`` of the message before, ``tool_use``
ids without results right after, thinking (budget, ``max_tokens`` above it, temperature, forced
tool choice, replayed ``thinking`` blocks with their exact signatures, the final assistant turn of
a tool loop starting with its thinking block), tools (name pattern, ``input_schema``, unique
names) and a named ``tool_choice`` that is not among the tools. Errors use Anthropic's envelope
``{"type": "error", "error": {"type": ..., "message": ...}}``; on Vertex, authentication, quota,
permission and not-found errors use Google's ``{"error": {"code", "message", "status"}}``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import itertools
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from .answers import Conversation, ToolSpec, decide
from .base import Context, Endpoint, RecordedRequest
from .replies import ErrorReply, JsonReply, Sendable, StreamReply
from .text import count_tokens, shorten, split_tokens, split_words, truncate_tokens

__all__ = ["REDACT_TRIGGER", "VERTEX_VERSION", "AnthropicMessages", "thinking_signature"]

VERTEX_VERSION = "vertex-2023-10-16"
REDACT_TRIGGER = (
    "ANTHROPIC_MAGIC_STRING_TRIGGER_REDACTED_THINKING_"
    "46C9A13E193C177646C7398A98432ECCCE4C1253D5E2D82641AC0E52CC2876CB"
)
_MESSAGES = re.compile(r"/v1/messages/?$")
_COUNT = re.compile(r"/v1/messages/count_tokens/?$")
_VERTEX = re.compile(
    r"/projects/([^/]+)/locations/([^/]+)/publishers/anthropic/models/([^/]+?)"
    r":(rawPredict|streamRawPredict)$"
)
_DATED_VERSION = re.compile(r"^\d{4}-\d{2}-\d{2}$")  # newer SDKs send their API version
_IMAGE_TOKENS = 85
_SIGNATURE_KEY = b"polymodal-emulator-thinking"
_IMAGE_TYPES = ("image/jpeg", "image/png", "image/gif", "image/webp")
_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
)
_TOOL_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,128}$")
_BLOCK_TAGS = (
    "text",
    "image",
    "document",
    "search_result",
    "thinking",
    "redacted_thinking",
    "tool_use",
    "tool_result",
    "server_tool_use",
    "web_search_tool_result",
    "web_fetch_tool_result",
    "code_execution_tool_result",
    "mcp_tool_use",
    "mcp_tool_result",
    "container_upload",
)
_ASSISTANT_ONLY = frozenset(
    {"thinking", "redacted_thinking", "tool_use", "server_tool_use", "mcp_tool_use"}
)
_USER_ONLY = frozenset({"tool_result", "image", "document", "search_result"})
_TOP_LEVEL = frozenset(
    {
        "model",
        "messages",
        "max_tokens",
        "system",
        "metadata",
        "stop_sequences",
        "stream",
        "temperature",
        "top_k",
        "top_p",
        "tools",
        "tool_choice",
        "thinking",
        "service_tier",
        "container",
        "mcp_servers",
        "context_management",
        "output_config",
        "output_format",
        "inference_geo",
        "cache_control",
    }
)
_ERROR_TYPES: dict[int, str] = {
    400: "invalid_request_error",
    401: "authentication_error",
    402: "billing_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    504: "timeout_error",
    529: "overloaded_error",
}
_GOOGLE_STATUS: dict[int, str] = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}
_GOOGLE_ENVELOPE_STATUSES = frozenset({401, 403, 404, 429})
_GOOGLE_NO_CREDENTIALS = (
    "Request is missing required authentication credential. Expected OAuth 2 access token, login "
    "cookie or other valid authentication credential. See "
    "https://developers.google.com/identity/sign-in/web/devconsole-project."
)
_GOOGLE_BAD_CREDENTIALS = (
    "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie "
    "or other valid authentication credential. See "
    "https://developers.google.com/identity/sign-in/web/devconsole-project."
)
_THINKING_DOCS = "https://docs.claude.com/en/docs/build-with-claude/extended-thinking"


def thinking_signature(thinking: str) -> str:
    """The ``signature`` the emulator gives (and expects back on) a ``thinking`` block."""
    digest = hmac.new(_SIGNATURE_KEY, thinking.encode(), hashlib.sha256).digest()
    return base64.b64encode(b"\x12\x30" + digest).decode()


def _redacted_data(user_text: str) -> str:
    digest = hashlib.sha256(b"redacted:" + user_text.encode()).digest()
    return base64.b64encode(b"\x12\x40" + digest * 2).decode()


# -- the wire format -------------------------------------------------------------------------


@dataclass(frozen=True)
class _Route:
    count: bool  # count_tokens rather than messages
    vertex_model: str | None = None  # the model named by a Vertex path
    vertex_stream: bool = False  # :streamRawPredict


def _vertex_match(request: RecordedRequest) -> re.Match[str] | None:
    return _VERTEX.search(unquote(request.path))


def _error(status: int, message: str) -> dict[str, Any]:
    kind = _ERROR_TYPES.get(status, "api_error" if status >= 500 else "invalid_request_error")
    return {"type": "error", "error": {"type": kind, "message": message}}


def _google_error(status: int, message: str) -> dict[str, Any]:
    code = _GOOGLE_STATUS.get(status, "INTERNAL" if status >= 500 else "FAILED_PRECONDITION")
    return {"error": {"code": status, "message": message, "status": code}}


def _invalid(message: str) -> ErrorReply:
    return ErrorReply(400, _error(400, message))


class AnthropicMessages:
    """Anthropic's Messages API and Claude on Vertex (a :class:`~.base.WireFormat`)."""

    name = "anthropic"

    def match(self, request: RecordedRequest) -> Endpoint | None:
        vertex = _vertex_match(request)
        if vertex is not None:
            model, verb = vertex.group(3), vertex.group(4)
            route = _Route(
                count=model == "count-tokens",
                vertex_model=model,
                vertex_stream=verb == "streamRawPredict",
            )
        elif _COUNT.search(request.path):
            route = _Route(count=True)
        elif _MESSAGES.search(request.path):
            route = _Route(count=False)
        else:
            return None

        def endpoint(req: RecordedRequest, ctx: Context) -> Sendable:
            return _serve(req, ctx, route)

        return endpoint

    def authorize(self, request: RecordedRequest, api_key: str) -> Sendable | None:
        expected = api_key.encode()
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        bearer = token.strip() if scheme.lower() == "bearer" else ""
        if _vertex_match(request) is not None:
            if bearer and (
                hmac.compare_digest(bearer.encode(), expected) or _google_token_ok(bearer)
            ):
                return None
            message = _GOOGLE_BAD_CREDENTIALS if bearer else _GOOGLE_NO_CREDENTIALS
            return ErrorReply(401, _google_error(401, message))
        offered = [k for k in (request.headers.get("x-api-key", "").strip(), bearer) if k]
        if any(hmac.compare_digest(k.encode(), expected) for k in offered):
            return None
        message = "invalid x-api-key" if offered else "x-api-key header is required"
        return ErrorReply(401, _error(401, message))

    def error_body(self, request: RecordedRequest, status: int, message: str) -> Any:
        if status in _GOOGLE_ENVELOPE_STATUSES and _vertex_match(request) is not None:
            return _google_error(status, message)
        return _error(status, message)

    def not_found(self, request: RecordedRequest) -> Sendable:
        return ErrorReply(404, _error(404, "Not Found"))


def _google_token_ok(token: str) -> bool:
    """A token minted by the emulator's Google OAuth endpoint (when that module is present)."""
    try:
        from .google_oauth import is_emulator_token
    except ImportError:  # pragma: no cover - the OAuth endpoint ships with the Vertex formats
        return False
    return is_emulator_token(token)


# -- serving ---------------------------------------------------------------------------------


def _serve(request: RecordedRequest, ctx: Context, route: _Route) -> Sendable:
    vertex = route.vertex_model is not None
    if request.method != "POST":
        return ErrorReply(405, _error(405, f"Method Not Allowed: {request.method}"))
    if not vertex and not request.headers.get("anthropic-version", "").strip():
        return _invalid("anthropic-version: header is required")
    try:
        body = json.loads(request.body)
    except (ValueError, UnicodeDecodeError) as exc:
        return _invalid(f"The request body is not valid JSON: {exc}")
    if not isinstance(body, dict):
        return _invalid("body: Input should be a valid dictionary or object to extract fields from")
    problem = _check(body, vertex=vertex and not route.count, count=route.count)
    if problem is not None:
        return _invalid(problem)
    if route.count:
        return JsonReply({"input_tokens": _input_tokens(body)})
    model = route.vertex_model if vertex else body["model"]
    stream = body.get("stream") is True or route.vertex_stream
    n = ctx.next("anthropic_msg")
    turn = _turn(body, ctx)
    message = _message(f"msg_emu_{n}", str(model), turn, _input_tokens(body))
    headers = {"request-id": f"req_emu_{n}"}
    if stream:
        return StreamReply(_events(message, turn), done=False, headers=headers)
    return JsonReply(message, headers=headers)


# -- request checks --------------------------------------------------------------------------


def _blocks(content: Any) -> list[Any]:
    if isinstance(content, str):
        return [{"type": "text", "text": content}] if content else []
    return list(content) if isinstance(content, list) else []


def _kinds(content: Any) -> list[Any]:
    return [b.get("type") if isinstance(b, Mapping) else None for b in _blocks(content)]


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _thinking_on(body: Mapping[str, Any]) -> bool:
    thinking = body.get("thinking")
    return isinstance(thinking, Mapping) and thinking.get("type") in ("enabled", "adaptive")


def _check(body: Mapping[str, Any], *, vertex: bool, count: bool) -> str | None:
    if vertex:
        version = body.get("anthropic_version")
        if version is None:
            return "anthropic_version: Field required"
        if not isinstance(version, str) or not (
            version == VERTEX_VERSION or _DATED_VERSION.match(version)
        ):
            return f"anthropic_version: Input should be '{VERTEX_VERSION}'"
        if "model" in body:
            return "model: Extra inputs are not permitted"
    else:
        model = body.get("model")
        if model is None:
            return "model: Field required"
        if not isinstance(model, str) or not model:
            return "model: Input should be a valid string"
    if not count:
        allowed = _TOP_LEVEL | {"anthropic_version"} if vertex else _TOP_LEVEL
        extra = next((k for k in body if k not in allowed), None)
        if extra is not None:
            return f"{extra}: Extra inputs are not permitted"
        problem = _check_max_tokens(body.get("max_tokens"))
        if problem is not None:
            return problem
    return (
        _check_messages(body.get("messages"))
        or _check_system(body.get("system"))
        or _check_sampling(body)
        or _check_tools(body)
        or _check_thinking(body, count)
    )


def _check_max_tokens(value: Any) -> str | None:
    if value is None:
        return "max_tokens: Field required"
    if not _is_int(value):
        return "max_tokens: Input should be a valid integer"
    if value < 1:
        return "max_tokens: Input should be greater than or equal to 1"
    return None


def _check_messages(messages: Any) -> str | None:
    if messages is None:
        return "messages: Field required"
    if not isinstance(messages, list):
        return "messages: Input should be a valid list"
    if not messages:
        return "messages: at least one message is required"
    last = len(messages) - 1
    for i, msg in enumerate(messages):
        problem = _check_message(i, msg, final=i == last)
        if problem is not None:
            return problem
    roles = [m["role"] for m in messages]
    if roles[0] != "user":
        return 'messages: first message must use the "user" role'
    for a, b in itertools.pairwise(roles):
        if a == b:
            return (
                'messages: roles must alternate between "user" and "assistant", '
                f'but found multiple "{a}" roles in a row'
            )
    final = messages[last]
    if final["role"] == "assistant":
        blocks = _blocks(final["content"])
        tail = blocks[-1] if blocks else None
        if isinstance(tail, Mapping) and tail.get("type") == "text":
            text = tail.get("text")
            if isinstance(text, str) and text != text.rstrip():
                return "messages: final assistant content cannot end with trailing whitespace"
    return _check_tool_pairing(messages) or _check_thinking_blocks(messages)


def _check_message(i: int, msg: Any, *, final: bool) -> str | None:
    where = f"messages.{i}"
    if not isinstance(msg, Mapping):
        return f"{where}: Input should be a valid dictionary"
    role = msg.get("role")
    if role is None:
        return f"{where}.role: Field required"
    if role == "system":
        return (
            'messages: Unexpected role "system". The Messages API accepts a top-level `system` '
            'parameter, not "system" as an input message role.'
        )
    if role not in ("user", "assistant"):
        return f"{where}.role: Input should be 'user' or 'assistant'"
    if "content" not in msg:
        return f"{where}.content: Field required"
    content = msg["content"]
    if not isinstance(content, str | list):
        return f"{where}.content: Input should be a valid list"
    if not content and not (final and role == "assistant"):
        return (
            f"{where}: all messages must have non-empty content except for the optional final "
            "assistant message"
        )
    if isinstance(content, list):
        for j, block in enumerate(content):
            problem = _check_block(f"{where}.content.{j}", role, block)
            if problem is not None:
                return problem
    return None


def _tag_error(where: str, kind: Any) -> str:
    tags = ", ".join(f"'{t}'" for t in _BLOCK_TAGS)
    return (
        f"{where}: Input tag '{kind}' found using 'type' does not match any of the expected "
        f"tags: {tags}"
    )


def _check_block(where: str, role: str, block: Any) -> str | None:
    if not isinstance(block, Mapping):
        return f"{where}: Input should be a valid dictionary or object to extract fields from"
    kind = block.get("type")
    if kind is None:
        return f"{where}: Unable to extract tag using discriminator 'type'"
    if kind not in _BLOCK_TAGS:
        return _tag_error(where, kind)
    if role == "user" and kind in _ASSISTANT_ONLY:
        return f"{where}: `{kind}` blocks may only appear in `assistant` messages"
    if role == "assistant" and kind in _USER_ONLY:
        return f"{where}: `{kind}` blocks may only appear in `user` messages"
    if kind == "text":
        text = block.get("text")
        if text is None:
            return f"{where}.text.text: Field required"
        if not isinstance(text, str):
            return f"{where}.text.text: Input should be a valid string"
        if not text:
            return "messages: text content blocks must be non-empty"
    elif kind == "image":
        return _check_image(f"{where}.image", block.get("source"))
    elif kind == "document":
        return _check_document(f"{where}.document", block.get("source"))
    elif kind == "tool_use":
        for key in ("id", "name", "input"):
            if key not in block:
                return f"{where}.tool_use.{key}: Field required"
        if not isinstance(block["input"], Mapping):
            return f"{where}.tool_use.input: Input should be a valid dictionary"
    elif kind == "tool_result":
        return _check_tool_result(f"{where}.tool_result", block)
    elif kind == "thinking":
        if not isinstance(block.get("thinking"), str):
            return f"{where}.thinking.thinking: Field required"
        if not isinstance(block.get("signature"), str):
            return f"{where}.thinking.signature: Field required"
    elif kind == "redacted_thinking" and not isinstance(block.get("data"), str):
        return f"{where}.redacted_thinking.data: Field required"
    return None


def _sniff(data: bytes) -> str | None:
    for magic, mime in _MAGIC:
        if data.startswith(magic):
            return mime
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


def _check_image(where: str, source: Any) -> str | None:
    if source is None:
        return f"{where}.source: Field required"
    if not isinstance(source, Mapping):
        return f"{where}.source: Input should be a valid dictionary"
    kind = source.get("type")
    if kind == "url":
        if not isinstance(source.get("url"), str):
            return f"{where}.source.url.url: Field required"
        return None
    if kind == "file":
        if not isinstance(source.get("file_id"), str):
            return f"{where}.source.file.file_id: Field required"
        return None
    if kind != "base64":
        return (
            f"{where}.source: Input tag '{kind}' found using 'type' does not match any of the "
            "expected tags: 'base64', 'url', 'file'"
        )
    media_type = source.get("media_type")
    if media_type not in _IMAGE_TYPES:
        return (
            f"{where}.source.base64.media_type: Input should be 'image/jpeg', 'image/png', "
            "'image/gif' or 'image/webp'"
        )
    data = source.get("data")
    if not isinstance(data, str):
        return f"{where}.source.base64.data: Field required"
    try:
        raw = base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        return f"{where}.source.base64: invalid base64 data"
    actual = _sniff(raw)
    if actual is None:
        return f"{where}.source.base64: Could not process image"
    if actual != media_type:
        return (
            f"{where}.source.base64: The image was specified using the {media_type} media type, "
            f"but the image appears to be a {actual} image"
        )
    return None


def _check_document(where: str, source: Any) -> str | None:
    if source is None:
        return f"{where}.source: Field required"
    if not isinstance(source, Mapping):
        return f"{where}.source: Input should be a valid dictionary"
    kind = source.get("type")
    if kind == "base64":
        if source.get("media_type") != "application/pdf":
            return f"{where}.source.base64.media_type: Input should be 'application/pdf'"
        if not isinstance(source.get("data"), str):
            return f"{where}.source.base64.data: Field required"
    elif kind == "text":
        if source.get("media_type") != "text/plain":
            return f"{where}.source.text.media_type: Input should be 'text/plain'"
        if not isinstance(source.get("data"), str):
            return f"{where}.source.text.data: Field required"
    elif kind == "url":
        if not isinstance(source.get("url"), str):
            return f"{where}.source.url.url: Field required"
    elif kind == "file":
        if not isinstance(source.get("file_id"), str):
            return f"{where}.source.file.file_id: Field required"
    elif kind != "content":
        return (
            f"{where}.source: Input tag '{kind}' found using 'type' does not match any of the "
            "expected tags: 'base64', 'text', 'content', 'url', 'file'"
        )
    return None


def _check_tool_result(where: str, block: Mapping[str, Any]) -> str | None:
    if not isinstance(block.get("tool_use_id"), str):
        return f"{where}.tool_use_id: Field required"
    content = block.get("content")
    if content is None or isinstance(content, str):
        return None
    if not isinstance(content, list):
        return f"{where}.content: Input should be a valid list"
    for k, part in enumerate(content):
        at = f"{where}.content.{k}"
        kind = part.get("type") if isinstance(part, Mapping) else None
        if kind not in ("text", "image", "document", "search_result"):
            return (
                f"{at}: Input tag '{kind}' found using 'type' does not match any of the "
                "expected tags: 'text', 'image', 'search_result', 'document'"
            )
        assert isinstance(part, Mapping)
        if kind == "image":
            problem = _check_image(f"{at}.image", part.get("source"))
            if problem is not None:
                return problem
        elif kind == "text" and not part.get("text"):
            return "messages: text content blocks must be non-empty"
    return None


def _check_tool_pairing(messages: list[Any]) -> str | None:
    for i, msg in enumerate(messages):
        blocks = _blocks(msg["content"])
        if msg["role"] == "assistant":
            uses = [b.get("id") for b in blocks if b.get("type") == "tool_use"]
            if not uses or i + 1 >= len(messages):
                continue
            answered = []
            for block in _blocks(messages[i + 1]["content"]):
                if block.get("type") != "tool_result":
                    break
                answered.append(block.get("tool_use_id"))
            missing = [str(u) for u in uses if u not in answered]
            if missing:
                return (
                    f"messages.{i}: `tool_use` ids were found without `tool_result` blocks "
                    f"immediately after: {', '.join(missing)}. Each `tool_use` block must have "
                    "a corresponding `tool_result` block in the next message."
                )
        else:
            previous = _blocks(messages[i - 1]["content"]) if i else []
            known = {b.get("id") for b in previous if b.get("type") == "tool_use"}
            for j, block in enumerate(blocks):
                if block.get("type") == "tool_result" and block.get("tool_use_id") not in known:
                    return (
                        f"messages.{i}.content.{j}: unexpected `tool_use_id` found in "
                        f"`tool_result` blocks: {block.get('tool_use_id')}. Each `tool_result` "
                        "block must have a corresponding `tool_use` block in the previous message."
                    )
    return None


def _check_thinking_blocks(messages: list[Any]) -> str | None:
    for i, msg in enumerate(messages):
        if msg["role"] != "assistant":
            continue
        kinds = _kinds(msg["content"])
        thinking = {"thinking", "redacted_thinking"}
        if thinking & set(kinds) and kinds[0] not in thinking:
            return (
                f"messages.{i}.content.0: If an assistant message contains any thinking blocks, "
                f"the first block must be thinking or redacted_thinking. Found {kinds[0]}."
            )
        for j, block in enumerate(_blocks(msg["content"])):
            if block.get("type") != "thinking":
                continue
            expected = thinking_signature(block["thinking"])
            if not hmac.compare_digest(block["signature"].encode(), expected.encode()):
                return f"messages.{i}.content.{j}: Invalid `signature` in `thinking` block"
    return None


def _check_system(system: Any) -> str | None:
    if system is None or isinstance(system, str):
        return None
    if not isinstance(system, list):
        return "system: Input should be a valid list"
    for i, block in enumerate(system):
        if not isinstance(block, Mapping):
            return f"system.{i}: Input should be a valid dictionary"
        if block.get("type") != "text":
            return f"system.{i}.type: Input should be 'text'"
        if not isinstance(block.get("text"), str):
            return f"system.{i}.text: Field required"
        if not block["text"]:
            return "system: text content blocks must be non-empty"
    return None


def _check_sampling(body: Mapping[str, Any]) -> str | None:
    for name, high in (("temperature", 1), ("top_p", 1)):
        value = body.get(name)
        if value is None:
            continue
        if not _is_number(value):
            return f"{name}: Input should be a valid number"
        if value < 0:
            return f"{name}: Input should be greater than or equal to 0"
        if value > high:
            return f"{name}: Input should be less than or equal to {high}"
    stops = body.get("stop_sequences")
    if stops is not None and (
        not isinstance(stops, list) or not all(isinstance(s, str) for s in stops)
    ):
        return "stop_sequences: Input should be a valid list of strings"
    if "stream" in body and not isinstance(body["stream"], bool):
        return "stream: Input should be a valid boolean"
    return None


def _is_custom(tool: Mapping[str, Any]) -> bool:
    return tool.get("type") in (None, "custom")


def _check_tools(body: Mapping[str, Any]) -> str | None:
    tools = body.get("tools")
    names: list[str] = []
    if tools is not None:
        if not isinstance(tools, list):
            return "tools: Input should be a valid list"
        for i, tool in enumerate(tools):
            if not isinstance(tool, Mapping):
                return f"tools.{i}: Input should be a valid dictionary"
            name = tool.get("name")
            if not _is_custom(tool):
                if isinstance(name, str):
                    names.append(name)
                continue
            if name is None:
                return f"tools.{i}.custom.name: Field required"
            if not isinstance(name, str) or not _TOOL_NAME.match(name):
                return f"tools.{i}.custom.name: String should match pattern '{_TOOL_NAME.pattern}'"
            schema = tool.get("input_schema")
            if schema is None:
                return f"tools.{i}.custom.input_schema: Field required"
            if not isinstance(schema, Mapping):
                return f"tools.{i}.custom.input_schema: Input should be a valid dictionary"
            if schema.get("type") != "object":
                return f"tools.{i}.custom.input_schema.type: Input should be 'object'"
            names.append(name)
        if len(set(names)) != len(names):
            return "tools: Tool names must be unique."
    choice = body.get("tool_choice")
    if choice is None:
        return None
    if not isinstance(choice, Mapping):
        return "tool_choice: Input should be a valid dictionary"
    kind = choice.get("type")
    if kind not in ("auto", "any", "tool", "none"):
        return (
            f"tool_choice: Input tag '{kind}' found using 'type' does not match any of the "
            "expected tags: 'auto', 'any', 'tool', 'none'"
        )
    if kind == "tool":
        name = choice.get("name")
        if not isinstance(name, str):
            return "tool_choice.tool.name: Field required"
        if name not in names:
            return f"tool_choice: Tool '{name}' not found in tools"
    return None


def _check_thinking(body: Mapping[str, Any], count: bool) -> str | None:
    thinking = body.get("thinking")
    if thinking is None:
        return None
    if not isinstance(thinking, Mapping):
        return "thinking: Input should be a valid dictionary"
    kind = thinking.get("type")
    if kind not in ("enabled", "disabled", "adaptive"):
        return (
            f"thinking: Input tag '{kind}' found using 'type' does not match any of the expected "
            "tags: 'enabled', 'disabled', 'adaptive'"
        )
    if kind == "disabled":
        return None
    if kind == "enabled":
        budget = thinking.get("budget_tokens")
        if budget is None:
            return "thinking.enabled.budget_tokens: Field required"
        if not _is_int(budget):
            return "thinking.enabled.budget_tokens: Input should be a valid integer"
        if budget < 1024:
            return "thinking.enabled.budget_tokens: Input should be greater than or equal to 1024"
        if not count and budget >= body["max_tokens"]:
            return (
                "`max_tokens` must be greater than `thinking.budget_tokens`. Please consult our "
                f"documentation at {_THINKING_DOCS}#max-tokens-and-context-window-size"
            )
    temperature = body.get("temperature")
    if temperature is not None and temperature != 1:
        return (
            "`temperature` may only be set to 1 when thinking is enabled. Please consult our "
            f"documentation at {_THINKING_DOCS}#feature-compatibility"
        )
    choice = body.get("tool_choice")
    if isinstance(choice, Mapping) and choice.get("type") in ("any", "tool"):
        return "Thinking may not be enabled when tool_choice forces tool use."
    return _check_final_thinking(body["messages"])


def _check_final_thinking(messages: list[Any]) -> str | None:
    """With thinking on, the assistant turn before the trailing tool results starts thinking."""
    last = messages[-1]
    if last["role"] != "user" or "tool_result" not in _kinds(last["content"]):
        return None
    i = len(messages) - 2
    kinds = _kinds(messages[i]["content"])
    first = kinds[0] if kinds else "text"
    if first in ("thinking", "redacted_thinking"):
        return None
    return (
        f"messages.{i}.content.0.type: Expected `thinking` or `redacted_thinking`, but found "
        f"`{first}`. When `thinking` is enabled, a final `assistant` message must start with a "
        "thinking block (preceeding the lastmost set of `tool_use` and `tool_result` blocks). "
        "We recommend you include thinking blocks from previous turns. To avoid this "
        f"requirement, disable `thinking`. Please consult our documentation at {_THINKING_DOCS}"
    )


# -- the answer ------------------------------------------------------------------------------


@dataclass
class _Turn:
    """The assistant turn, before it is written as a Message or as stream events."""

    blocks: list[dict[str, Any]]
    stop_reason: str
    stop_sequence: str | None
    output_tokens: int
    thinking_tokens: int | None  # None when thinking is off


def _text_of(content: Any) -> str:
    """The text of a message's (or a tool result's) content, tool results left out."""
    return " ".join(str(b.get("text", "")) for b in _blocks(content) if b.get("type") == "text")


def _media(messages: Sequence[Any]) -> dict[str, int]:
    counts = {"image": 0, "file": 0}
    for msg in messages:
        if msg["role"] != "user":
            continue
        for kind in _kinds(msg["content"]):
            if kind == "image":
                counts["image"] += 1
            elif kind == "document":
                counts["file"] += 1
    return counts


def _schema(body: Mapping[str, Any]) -> Mapping[str, Any] | None:
    for key in ("output_config", "output_format"):
        spec = body.get(key)
        fmt = spec.get("format") if key == "output_config" and isinstance(spec, Mapping) else spec
        if isinstance(fmt, Mapping) and fmt.get("type") == "json_schema":
            schema = fmt.get("schema")
            return schema if isinstance(schema, Mapping) else {}
    return None


def _conversation(body: Mapping[str, Any]) -> Conversation:
    messages = body["messages"]
    last = messages[-1]
    kinds = _kinds(last["content"])
    results: tuple[str, ...] = ()
    if last["role"] == "assistant":
        role = "assistant"
    elif "tool_result" in kinds and all(k == "tool_result" for k in kinds):
        role = "tool"
        results = tuple(_text_of(b.get("content")) for b in _blocks(last["content"]))
    else:
        role = "user"
    texts = [_text_of(m["content"]) for m in messages if m["role"] == "user"]
    user_text = next((t for t in reversed(texts) if t), "")
    tools = tuple(
        ToolSpec(t["name"], t.get("input_schema")) for t in body.get("tools") or [] if _is_custom(t)
    )
    choice = body.get("tool_choice") or {}
    kind = choice.get("type", "auto")
    tool_choice = {"any": "required", "none": "none", "tool": choice.get("name")}.get(kind, "auto")
    return Conversation(
        last_role=role,
        user_text=user_text,
        media=_media(messages),
        tool_results=results,
        tools=tools,
        tool_choice=str(tool_choice),
        response_schema=_schema(body),
    )


def _thinking_text(conv: Conversation, tool: str | None) -> str:
    if conv.last_role == "tool":
        return "The tool has answered; I will report what it returned."
    asked = f'The user asked: "{shorten(conv.user_text, 80)}".'
    if tool is not None:
        return f"{asked} I will call the {tool} tool."
    return f"{asked} I will answer directly."


def _cut(text: str, body: Mapping[str, Any], budget: int) -> tuple[str, str, str | None]:
    """(text, stop_reason, stop_sequence) after stop sequences and the token limit."""
    stop_at, sequence = len(text), None
    for s in body.get("stop_sequences") or []:
        if s and s in text and text.index(s) < stop_at:
            stop_at, sequence = text.index(s), s
    text, cut = truncate_tokens(text[:stop_at], max(budget, 0))
    if cut:
        return text, "max_tokens", None
    return text, ("stop_sequence" if sequence is not None else "end_turn"), sequence


def _turn(body: Mapping[str, Any], ctx: Context) -> _Turn:
    conv = _conversation(body)
    answer = decide(conv)
    blocks: list[dict[str, Any]] = []
    thinking_tokens: int | None = None
    if _thinking_on(body):
        if REDACT_TRIGGER in conv.user_text:
            blocks.append({"type": "redacted_thinking", "data": _redacted_data(conv.user_text)})
            thinking_tokens = 0
        else:
            thought = _thinking_text(conv, answer.tool)
            blocks.append(
                {"type": "thinking", "thinking": thought, "signature": thinking_signature(thought)}
            )
            thinking_tokens = count_tokens(thought)
    spent = thinking_tokens or 0
    if answer.tool is not None:
        call = {
            "type": "tool_use",
            "id": f"toolu_emu_{ctx.next('toolu')}",
            "name": answer.tool,
            "input": answer.arguments,
        }
        blocks.append(call)
        written = count_tokens(answer.tool) + count_tokens(json.dumps(answer.arguments))
        return _Turn(blocks, "tool_use", None, spent + written, thinking_tokens)
    text, stop_reason, sequence = _cut(answer.text or "", body, body["max_tokens"] - spent)
    if text:
        blocks.append({"type": "text", "text": text})
    return _Turn(blocks, stop_reason, sequence, spent + count_tokens(text), thinking_tokens)


def _block_tokens(block: Mapping[str, Any]) -> int:
    kind = block.get("type")
    if kind == "text":
        return count_tokens(str(block.get("text", "")))
    if kind == "thinking":
        return count_tokens(str(block.get("thinking", "")))
    if kind == "tool_use":
        return count_tokens(str(block.get("name", ""))) + count_tokens(
            json.dumps(block.get("input"))
        )
    if kind == "tool_result":
        return sum(_block_tokens(b) for b in _blocks(block.get("content")))
    if kind == "image":
        return _IMAGE_TOKENS
    if kind == "document":
        source = block.get("source")
        if isinstance(source, Mapping) and source.get("type") == "text":
            return count_tokens(str(source.get("data", "")))
        return _IMAGE_TOKENS
    return 0


def _input_tokens(body: Mapping[str, Any]) -> int:
    total = sum(_block_tokens(b) for b in _blocks(body.get("system")))
    for msg in body["messages"]:
        total += 3 + sum(_block_tokens(b) for b in _blocks(msg["content"]))
    if body.get("tools"):
        total += count_tokens(json.dumps(body["tools"]))
    return total


def _usage(input_tokens: int, turn: _Turn) -> dict[str, Any]:
    usage: dict[str, Any] = {
        "input_tokens": input_tokens,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": 0,
        "cache_creation": {"ephemeral_5m_input_tokens": 0, "ephemeral_1h_input_tokens": 0},
        "output_tokens": turn.output_tokens,
        "service_tier": "standard",
    }
    if turn.thinking_tokens is not None:
        usage["output_tokens_details"] = {"thinking_tokens": turn.thinking_tokens}
    return usage


def _message(msg_id: str, model: str, turn: _Turn, input_tokens: int) -> dict[str, Any]:
    return {
        "id": msg_id,
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": turn.blocks,
        "stop_reason": turn.stop_reason,
        "stop_sequence": turn.stop_sequence,
        "usage": _usage(input_tokens, turn),
    }


def _sse(payload: Mapping[str, Any]) -> str:
    data = json.dumps(payload, separators=(",", ":"), ensure_ascii=False)
    return f"event: {payload['type']}\ndata: {data}\n\n"


def _block_events(index: int, block: Mapping[str, Any]) -> list[dict[str, Any]]:
    kind = block["type"]
    if kind == "text":
        start: dict[str, Any] = {"type": "text", "text": ""}
        deltas = [{"type": "text_delta", "text": p} for p in split_words(block["text"])]
    elif kind == "thinking":
        start = {"type": "thinking", "thinking": "", "signature": ""}
        deltas = [{"type": "thinking_delta", "thinking": p} for p in split_words(block["thinking"])]
        deltas.append({"type": "signature_delta", "signature": block["signature"]})
    elif kind == "tool_use":
        start = {"type": "tool_use", "id": block["id"], "name": block["name"], "input": {}}
        pieces = ["", *split_tokens(json.dumps(block["input"], ensure_ascii=False))]
        deltas = [{"type": "input_json_delta", "partial_json": p} for p in pieces]
    else:  # redacted_thinking arrives whole
        start, deltas = dict(block), []
    return [
        {"type": "content_block_start", "index": index, "content_block": start},
        *({"type": "content_block_delta", "index": index, "delta": d} for d in deltas),
        {"type": "content_block_stop", "index": index},
    ]


def _events(message: Mapping[str, Any], turn: _Turn) -> list[str]:
    usage = message["usage"]
    opening = {
        **message,
        "content": [],
        "stop_reason": None,
        "stop_sequence": None,
        "usage": {
            **{k: v for k, v in usage.items() if k != "output_tokens_details"},
            "output_tokens": 1,
        },
    }
    events: list[dict[str, Any]] = [{"type": "message_start", "message": opening}]
    for index, block in enumerate(turn.blocks):
        block_events = _block_events(index, block)
        events.append(block_events[0])
        if index == 0:
            events.append({"type": "ping"})
        events.extend(block_events[1:])
    if not turn.blocks:
        events.append({"type": "ping"})
    final_usage = {
        "input_tokens": usage["input_tokens"],
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": 0,
        "output_tokens": usage["output_tokens"],
    }
    if "output_tokens_details" in usage:
        final_usage["output_tokens_details"] = usage["output_tokens_details"]
    events.append(
        {
            "type": "message_delta",
            "delta": {"stop_reason": turn.stop_reason, "stop_sequence": turn.stop_sequence},
            "usage": final_usage,
        }
    )
    events.append({"type": "message_stop"})
    return [_sse(e) for e in events]
