"""The Anthropic Messages wire format: pure encode / decode / stream decoding.

Used by Anthropic's own API (``dialect="anthropic"``) and, with small differences, by Claude on
Vertex AI (``dialect="vertex"``: no ``model`` in the body, ``anthropic_version:
"vertex-2023-10-16"``) and on Bedrock InvokeModel (``dialect="bedrock"``: no ``model`` and no
``stream`` in the body, ``anthropic_version: "bedrock-2023-05-31"``). The bodies follow API version
``2023-06-01`` (the ``anthropic-version`` header the provider sends).

Translations (OpenAI format -> Messages API), each decided here and only here:

* ``system`` / ``developer`` messages, wherever they stand, become the top-level ``system``: a
  string when there is one system message with string content, else a list of text blocks in
  order. (The newer in-conversation ``role: "system"`` message is not used: its support depends
  on the model.) Only text is allowed in them.
* A message-level ``cache_control`` (``{"role": ..., "content": ..., "cache_control": {"type":
  "ephemeral"}}``, LiteLLM's spelling) marks that message's last block as a prompt-cache
  breakpoint (system messages then go as a list of blocks).
* Consecutive turns of the same role are merged into one (Anthropic alternates user/assistant);
  consecutive ``tool`` messages become ONE user message of ``tool_result`` blocks, and a user
  message right after them joins that turn after the results.
* Content parts: text -> ``text``; images -> ``image`` with a ``base64`` source (``media_type`` is
  the user's ``format`` if given, else the data URL's type, else sniffed from the bytes) or a
  ``url`` source for http(s) URLs (Anthropic fetches them itself and takes no media type there) or
  a ``file`` source for file ids; PDFs -> ``document`` (base64 / url / file); plain-text files
  (any ``text/*`` type) -> ``document`` with a ``text`` source (the bytes decoded as UTF-8); a
  file's ``filename`` becomes the document ``title``. ``gs://`` / ``s3://`` URLs raise
  ``BadRequestError`` (Anthropic cannot read them); on Vertex and Bedrock every medium must be
  base64 (resolve URLs first). Audio and video input are not supported by Claude:
  ``UnsupportedParamsError`` (dropped with a warning under ``drop_params=True``).
* Assistant ``tool_calls`` -> ``tool_use`` blocks (``input`` = the parsed arguments, which must be
  a JSON object; anything else raises ``BadRequestError`` naming the message); assistant reasoning
  blocks -> ``thinking`` (with ``signature``) / ``redacted_thinking`` blocks placed first, byte for
  byte. Reasoning without a signature (e.g. another provider's ``reasoning_content``) cannot be
  replayed to Claude and is not sent. Message ``name`` fields have no Anthropic counterpart and
  are not sent.
* ``max_tokens`` is required by Anthropic: ``max_completion_tokens``, else ``max_tokens``, else
  the model's ``max_output_tokens`` from the packaged registry, else 4096
  (:data:`DEFAULT_MAX_TOKENS`). When thinking is on and no limit was given, the limit is raised
  to ``budget_tokens + 4096`` if needed; an explicit limit not above the budget raises
  ``BadRequestError`` (Anthropic requires ``budget_tokens < max_tokens``).
* ``temperature``, ``top_p`` as given; ``stop`` -> ``stop_sequences``; ``user`` ->
  ``metadata.user_id``; ``metadata`` is sent only when it holds nothing but ``user_id``;
  ``service_tier`` only with Anthropic's own values (``auto``, ``standard_only``).
* ``tools`` -> ``{name, description, input_schema}`` (default ``{"type": "object",
  "properties": {}}``); ``strict`` is sent only where Anthropic has strict tool use (see
  :func:`native_structured_outputs`), elsewhere it has no counterpart. Non-function tools whose
  ``type`` is an Anthropic server tool (``{"type": "web_search_20250305", "name":
  "web_search"}``, code execution, web fetch, ...) are sent as given; other provider-native tools
  (``{"googleSearch": {}}``) are unsupported.
* ``tool_choice`` auto / none / required / named -> ``{"type": "auto" | "none" | "any" |
  "tool"}``; ``parallel_tool_calls=False`` -> ``disable_parallel_tool_use: true``.
* ``thinking`` is sent as given (``{"type": "enabled", "budget_tokens": N}``, ``{"type":
  "adaptive"}``, ...). ``reasoning_effort`` (when ``thinking`` is not given) sets ``{"type":
  "enabled", "budget_tokens": N}`` with N = 1024 for ``minimal`` and ``low``, 2048 for
  ``medium``, 4096 for ``high``, 8192 for ``xhigh`` (:data:`EFFORT_BUDGETS`); ``none`` /
  ``disable`` send no ``thinking``. (A model the registry knows not to reason is refused before
  encoding, by ``polymodal.capabilities``.)
* ``response_format``: Anthropic has no JSON mode. The portable translation is a tool named
  ``response_format_<schema name>`` (:data:`RESPONSE_FORMAT_TOOL_PREFIX`) whose ``input_schema``
  is the schema (``{"type": "object"}`` for ``json_object``), forced with ``tool_choice``
  (``{"type": "tool"}``, or ``{"type": "any"}`` when the model may also call the user's tools);
  :func:`decode` and :class:`StreamDecoder` turn that tool's input back into the message content
  (JSON text) and report ``finish_reason="stop"``. The schema must describe an object. Anthropic's
  native ``output_config.format`` is used instead where it is certain to work: the Anthropic
  dialect, a model with native structured outputs, and either ``strict: true`` (the caller vouches
  for a strict-mode schema) or thinking being on (Anthropic does not allow a forced tool while
  thinking). Thinking plus ``response_format`` on any other model raises ``BadRequestError``.
  ``extra_body={"output_config": {...}}`` always sends the native form as given.
* Not supported (``UnsupportedParamsError``, or dropped with a warning under ``drop_params``):
  ``n`` > 1, ``seed``, ``logit_bias``, ``presence_penalty``, ``frequency_penalty``,
  ``logprobs`` / ``top_logprobs``, ``safety_settings``, ``cached_content``, the other OpenAI-only
  keys (``store``, ``modalities``, ``audio``, ``prediction``, ...). ``stream_options`` is ignored:
  Anthropic always reports usage at the end of a stream.
* ``extra_body`` is merged into the body last, verbatim.

Decoding: text blocks -> ``content`` (joined); ``tool_use`` -> tool calls (``arguments`` =
``json.dumps(input)``); ``thinking`` / ``redacted_thinking`` -> reasoning blocks; ``citations`` on
text blocks -> ``annotations`` (``url_citation`` for web-search results, with the character range
of the cited text block in ``content``) and every raw citation in
``provider_specific_fields["citations"]``; ``server_tool_use`` and ``*_tool_result`` blocks (web
search, web fetch, code execution) -> ``provider_specific_fields``; ``stop_reason`` ->
``finish_reason`` (``end_turn`` / ``stop_sequence`` / ``pause_turn`` -> ``stop``, ``max_tokens``
/ ``model_context_window_exceeded`` -> ``length``, ``tool_use`` -> ``tool_calls``, ``refusal`` ->
``content_filter``; the native value is kept); usage: ``prompt_tokens`` = ``input_tokens`` +
``cache_read_input_tokens`` + ``cache_creation_input_tokens``, ``cached_tokens`` = cache reads,
``cache_creation_tokens`` = cache writes.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from typing import Any

from polymodal.errors import (
    BadRequestError,
    PolymodalError,
    ServiceUnavailableError,
    UnsupportedParamsError,
    error_from_response,
)
from polymodal.types import (
    AudioPart,
    ChatRequest,
    ChatResult,
    Choice,
    ChoiceDelta,
    FilePart,
    FunctionTool,
    ImagePart,
    MediaPart,
    MediaSource,
    Message,
    NamedToolChoice,
    Part,
    ReasoningBlock,
    ResponseFormat,
    StreamEvent,
    TextPart,
    ToolCall,
    ToolCallDelta,
    Usage,
    VideoPart,
)

DIALECTS = frozenset({"anthropic", "vertex", "bedrock"})
ANTHROPIC_VERSION_IN_BODY = {"vertex": "vertex-2023-10-16", "bedrock": "bedrock-2023-05-31"}
DEFAULT_MAX_TOKENS = 4096
EFFORT_BUDGETS: dict[str, int] = {
    "minimal": 1024,
    "low": 1024,
    "medium": 2048,
    "high": 4096,
    "xhigh": 8192,
}
NO_THINKING_EFFORTS = frozenset({"none", "disable"})
RESPONSE_FORMAT_TOOL_PREFIX = "response_format_"
FILES_API_BETA = "files-api-2025-04-14"

# Image types the Messages API takes as base64.
IMAGE_MEDIA_TYPES = frozenset({"image/jpeg", "image/png", "image/gif", "image/webp"})
# Non-function tool ``type`` prefixes that are Anthropic server / client-executed tools.
_ANTHROPIC_TOOL_TYPES = (
    "web_search_",
    "web_fetch_",
    "code_execution_",
    "bash_",
    "text_editor_",
    "computer_",
    "memory_",
    "tool_search_tool_",
    "mcp_toolset",
)
_REGISTRY_PROVIDER = {"anthropic": "anthropic", "vertex": "vertex_ai", "bedrock": "bedrock"}
_CLAUDE_VERSION = re.compile(r"claude-(opus|sonnet|haiku)-(\d+)(?:-(\d{1,2}))?(?=$|[^0-9])")

STOP_REASONS: dict[str, str] = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "pause_turn": "stop",
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
    "tool_use": "tool_calls",
    "refusal": "content_filter",
}
ERROR_STATUS: dict[str, int] = {
    "invalid_request_error": 400,
    "authentication_error": 401,
    "billing_error": 402,
    "permission_error": 403,
    "not_found_error": 404,
    "request_too_large": 413,
    "rate_limit_error": 429,
    "api_error": 500,
    "timeout_error": 504,
    "overloaded_error": 529,
}


# --------------------------------------------------------------------------- capabilities


def native_structured_outputs(model: str) -> bool:
    """Whether ``model`` has Anthropic's native structured outputs and strict tool use.

    Claude Opus 4.1, and Sonnet / Haiku / Opus 4.5 and every later version; recognised from the
    model name in any of its spellings (``claude-sonnet-4-5``, ``claude-opus-4-1-20250805``,
    ``anthropic.claude-haiku-4-5-20251001-v1:0``, ``claude-sonnet-4-5@20250929``). Claude 3.x and
    the 4.0 models do not have them.
    """
    m = _CLAUDE_VERSION.search(model.lower())
    if m is None:
        return False
    family, major, minor = m.group(1), int(m.group(2)), int(m.group(3) or 0)
    if major >= 5:
        return True
    return major == 4 and (minor >= 5 or (family == "opus" and minor >= 1))


def needs_bytes(part: MediaPart, dialect: str) -> bool:
    """Whether the caller must download ``part`` before encoding.

    Anthropic's API fetches http(s) images and PDFs itself; a file URL of another known type (a
    ``.txt`` becomes a plain-text document) needs its bytes. Claude on Vertex and Bedrock takes
    media as base64 only. ``gs://`` / ``s3://`` URIs are not downloadable here (encode refuses
    them with a clear error), nor audio or video.
    """
    url = part.source.url
    if url is None or not url.startswith(("http://", "https://")):
        return False
    if isinstance(part, AudioPart | VideoPart):
        return False  # Claude takes neither; encode says so without a download first
    if dialect != "anthropic":
        return True
    if not isinstance(part, FilePart):
        return False
    mime = _mime(part.source)
    return mime is not None and mime != "application/pdf" and not mime.startswith("image/")


def _registry_info(model: str, dialect: str) -> Any:
    from polymodal import registry

    return registry.lookup(model, _REGISTRY_PROVIDER.get(dialect)) or registry.lookup(model)


def required_betas(req: ChatRequest) -> list[str]:
    """``anthropic-beta`` values the request needs (the Files API for ``file_id`` sources).

    The provider module cannot see the request when it builds headers, so callers that send
    file ids pass ``extra_headers={"anthropic-beta": ...}``; this function tells which.
    """
    for msg in req.messages:
        for part in msg.parts():
            if isinstance(part, ImagePart | FilePart) and part.source.file_id is not None:
                return [FILES_API_BETA]
    return []


# --------------------------------------------------------------------------- encode: content


class _Ctx:
    """Per-call encoding context: where we are (for error messages) and what was dropped."""

    __slots__ = ("dialect", "drop_params", "dropped", "model")

    def __init__(self, model: str, dialect: str, drop_params: bool) -> None:
        self.model = model
        self.dialect = dialect
        self.drop_params = drop_params
        self.dropped: list[str] = []

    def bad(self, message: str, param: str | None = None) -> BadRequestError:
        return BadRequestError(message, model=self.model, param=param)

    def unsupported(self, name: str, what: str) -> bool:
        """Record an unsupported item; True means "skip it" (drop_params), else raise."""
        if self.drop_params:
            self.dropped.append(name)
            return True
        raise UnsupportedParamsError(
            f"{what} not supported by Anthropic model {self.model!r}; pass drop_params=True to "
            "drop it",
            model=self.model,
            param=name,
        )


def _mime(src: MediaSource) -> str | None:
    from polymodal.media import resolve_mime

    return resolve_mime(src)


def _check_url(src: MediaSource, ctx: _Ctx, where: str) -> str:
    url = src.url or ""
    if not url.startswith(("http://", "https://")):
        scheme = url.split(":", 1)[0]
        raise ctx.bad(
            f"{where}: Anthropic cannot read {scheme}:// URIs ({url[:80]!r}); pass an https URL or "
            "the content as a base64 data URL",
            where,
        )
    if ctx.dialect != "anthropic":
        raise ctx.bad(
            f"{where}: Claude on {ctx.dialect} takes media as base64 data only, not by URL "
            f"({url[:80]!r}); resolve the URL to a data URL first",
            where,
        )
    return url


def _image_block(src: MediaSource, ctx: _Ctx, where: str) -> dict[str, Any]:
    if src.data is not None:
        mime = _mime(src)
        if mime not in IMAGE_MEDIA_TYPES:
            raise ctx.bad(
                f"{where}: Anthropic takes images as {', '.join(sorted(IMAGE_MEDIA_TYPES))}, "
                f"not {mime or 'an unknown type'}",
                where,
            )
        source: dict[str, Any] = {"type": "base64", "media_type": mime, "data": src.data}
    elif src.file_id is not None:
        source = {"type": "file", "file_id": src.file_id}
    else:
        source = {"type": "url", "url": _check_url(src, ctx, where)}
    return {"type": "image", "source": source}


def _decode_text(data: str, ctx: _Ctx, where: str) -> str:
    try:
        return base64.b64decode(data, validate=True).decode("utf-8")
    except (binascii.Error, ValueError):
        raise ctx.bad(f"{where}: a text document must be UTF-8 text", where) from None


def _document_block(src: MediaSource, ctx: _Ctx, where: str) -> dict[str, Any]:
    mime = _mime(src)
    source: dict[str, Any]
    if src.data is not None:
        if mime == "application/pdf":
            source = {"type": "base64", "media_type": "application/pdf", "data": src.data}
        elif mime is not None and (mime.startswith("text/") or mime == "application/json"):
            text = _decode_text(src.data, ctx, where)
            source = {"type": "text", "media_type": "text/plain", "data": text}
        else:
            raise ctx.bad(
                f"{where}: Anthropic takes documents as PDF or plain text, not "
                f"{mime or 'an unknown type'}",
                where,
            )
    elif src.file_id is not None:
        source = {"type": "file", "file_id": src.file_id}
    else:
        source = {"type": "url", "url": _check_url(src, ctx, where)}
    block: dict[str, Any] = {"type": "document", "source": source}
    if src.filename:
        block["title"] = src.filename
    return block


def _encode_part(part: Part, ctx: _Ctx, where: str) -> dict[str, Any] | None:
    if isinstance(part, TextPart):
        return {"type": "text", "text": part.text}
    if isinstance(part, ImagePart | FilePart):
        mime = _mime(part.source)
        if mime is not None and mime.startswith("image/"):
            return _image_block(part.source, ctx, where)
        if isinstance(part, ImagePart) and mime != "application/pdf":
            return _image_block(part.source, ctx, where)
        if mime is not None and mime.startswith(("audio/", "video/")):
            kind = mime.split("/")[0]
            ctx.unsupported(where, f"{kind} input ({where})")  # raises unless drop_params
            return None
        return _document_block(part.source, ctx, where)
    if isinstance(part, AudioPart | VideoPart):
        ctx.unsupported(where, f"{part.type} input ({where})")  # raises unless drop_params
        return None
    raise ctx.bad(f"{where}: unsupported content part {type(part).__name__}", where)


def _blocks(msg: Message, ctx: _Ctx, where: str) -> list[dict[str, Any]]:
    out = []
    for j, part in enumerate(msg.parts()):
        block = _encode_part(part, ctx, f"{where}.content[{j}]")
        if block is not None:
            out.append(block)
    return out


def _content(msg: Message, ctx: _Ctx, where: str) -> str | list[dict[str, Any]]:
    """A plain string stays a string; parts become blocks."""
    if isinstance(msg.content, str):
        return msg.content
    return _blocks(msg, ctx, where)


def _as_blocks(content: str | list[dict[str, Any]]) -> list[dict[str, Any]]:
    if isinstance(content, str):
        return [{"type": "text", "text": content}] if content else []
    return content


def _tool_input(call: ToolCall, ctx: _Ctx, where: str) -> dict[str, Any]:
    try:
        value = json.loads(call.arguments) if call.arguments.strip() else {}
    except ValueError:
        raise ctx.bad(
            f"{where}: tool call {call.id!r} ({call.name}) has arguments that are not valid JSON: "
            f"{call.arguments[:200]!r}",
            where,
        ) from None
    if not isinstance(value, dict):
        raise ctx.bad(
            f"{where}: tool call {call.id!r} ({call.name}) must have a JSON object as arguments, "
            f"got {type(value).__name__}",
            where,
        )
    return value


def _reasoning_blocks(msg: Message) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for block in msg.reasoning:
        if block.redacted is not None:
            out.append({"type": "redacted_thinking", "data": block.redacted})
        elif block.signature is not None:
            out.append({"type": "thinking", "thinking": block.text, "signature": block.signature})
    return out


def _assistant(msg: Message, ctx: _Ctx, where: str) -> str | list[dict[str, Any]]:
    reasoning = _reasoning_blocks(msg)
    if not reasoning and not msg.tool_calls and isinstance(msg.content, str):
        return msg.content
    blocks = reasoning
    blocks.extend(
        b for b in _blocks(msg, ctx, where) if not (b["type"] == "text" and not b["text"])
    )
    for call in msg.tool_calls:
        blocks.append(
            {
                "type": "tool_use",
                "id": call.id,
                "name": call.name,
                "input": _tool_input(call, ctx, where),
            }
        )
    return blocks


def _tool_result(msg: Message, ctx: _Ctx, where: str) -> dict[str, Any]:
    block: dict[str, Any] = {"type": "tool_result", "tool_use_id": msg.tool_call_id}
    content = _content(msg, ctx, where)
    if content:
        block["content"] = content
    if msg.tool_error:
        block["is_error"] = True
    return block


def _cache_control(msg: Message) -> dict[str, Any] | None:
    value = msg.extra.get("cache_control")
    return dict(value) if isinstance(value, dict) else None


def _with_cache_control(
    content: str | list[dict[str, Any]], msg: Message
) -> str | list[dict[str, Any]]:
    """A message-level ``cache_control`` marks the message's last block (a cache breakpoint)."""
    control = _cache_control(msg)
    if control is None:
        return content
    blocks = _as_blocks(content)
    if blocks:
        blocks[-1] = {**blocks[-1], "cache_control": control}
    return blocks


def _system_blocks(msg: Message, ctx: _Ctx, where: str) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = []
    for j, part in enumerate(msg.parts()):
        if not isinstance(part, TextPart):
            raise ctx.bad(f"{where}.content[{j}]: a system message may only hold text", where)
        blocks.append({"type": "text", "text": part.text})
    result = _with_cache_control(blocks, msg)
    assert isinstance(result, list)
    return result


def _is_empty(content: str | list[dict[str, Any]]) -> bool:
    if isinstance(content, str):
        return not content
    return all(b.get("type") == "text" and not b.get("text") for b in content)


def _drop_empty_turns(turns: list[dict[str, Any]], ctx: _Ctx) -> list[dict[str, Any]]:
    """Anthropic refuses empty turns. An empty assistant turn says nothing and is left out (its
    neighbours merge); an empty user turn is the caller's mistake and raises."""
    out: list[dict[str, Any]] = []
    for turn in turns:
        if _is_empty(turn["content"]):
            if turn["role"] == "assistant":
                continue
            raise ctx.bad("a user message has empty content; Anthropic requires non-empty "
                          "content in every user message", "messages")  # fmt: skip
        if out and out[-1]["role"] == turn["role"]:
            out[-1]["content"] = _as_blocks(out[-1]["content"]) + _as_blocks(turn["content"])
        else:
            out.append(turn)
    return out


def _encode_messages(
    messages: list[Message], ctx: _Ctx
) -> tuple[str | list[dict[str, Any]] | None, list[dict[str, Any]]]:
    system_msgs: list[tuple[Message, str]] = []
    turns: list[dict[str, Any]] = []

    def push(role: str, content: str | list[dict[str, Any]]) -> None:
        if turns and turns[-1]["role"] == role:
            prev = turns[-1]
            prev["content"] = _as_blocks(prev["content"]) + _as_blocks(content)
        else:
            turns.append({"role": role, "content": content})

    for i, msg in enumerate(messages):
        where = f"messages[{i}]"
        if msg.role in ("system", "developer"):
            system_msgs.append((msg, where))
        elif msg.role == "user":
            push("user", _with_cache_control(_content(msg, ctx, where), msg))
        elif msg.role == "assistant":
            push("assistant", _with_cache_control(_assistant(msg, ctx, where), msg))
        elif msg.role == "tool":
            push("user", _with_cache_control([_tool_result(msg, ctx, where)], msg))
        else:  # pragma: no cover - the parser only produces the roles above
            raise ctx.bad(f"{where}: role {msg.role!r} is not supported", where)
    turns = _drop_empty_turns(turns, ctx)
    if not turns:
        raise ctx.bad("Anthropic needs at least one user message besides system messages",
                      "messages")  # fmt: skip
    if turns[0]["role"] != "user":
        raise ctx.bad(
            "Anthropic needs the conversation (after system messages) to start with a user "
            "message; put a user message before the first assistant message",
            "messages",
        )
    system: str | list[dict[str, Any]] | None = None
    first = system_msgs[0][0] if len(system_msgs) == 1 else None
    if first is not None and isinstance(first.content, str) and _cache_control(first) is None:
        system = first.content
    elif system_msgs:
        system = [b for m, w in system_msgs for b in _system_blocks(m, ctx, w)]
    return system, turns


# --------------------------------------------------------------------------- encode: params


def _input_schema(params: dict[str, Any] | None) -> dict[str, Any]:
    if params is None:
        return {"type": "object", "properties": {}}
    if "type" not in params:
        return {"type": "object", **params}
    return params


def _tool(t: FunctionTool, strict_ok: bool) -> dict[str, Any]:
    tool: dict[str, Any] = {"name": t.name}
    if t.description is not None:
        tool["description"] = t.description
    tool["input_schema"] = _input_schema(t.parameters)
    if t.strict is not None and strict_ok:
        tool["strict"] = t.strict
    return tool


def _builtin_tools(req: ChatRequest, ctx: _Ctx) -> list[dict[str, Any]]:
    out = []
    for tool in req.builtin_tools:
        kind = tool.get("type")
        if isinstance(kind, str) and kind.startswith(_ANTHROPIC_TOOL_TYPES):
            out.append(dict(tool))
        else:
            label = kind if isinstance(kind, str) else ", ".join(sorted(tool))
            ctx.unsupported(f"tools ({label})", f"provider-native tool {label!r}")
    return out


def _rf_tool_name(rf: ResponseFormat) -> str:
    base = rf.name or ("json" if rf.type == "json_object" else "response")
    clean = re.sub(r"[^A-Za-z0-9_-]", "_", base)
    return (RESPONSE_FORMAT_TOOL_PREFIX + clean)[:64]


def _thinking(req: ChatRequest, ctx: _Ctx) -> dict[str, Any] | None:
    if req.thinking is not None:
        return dict(req.thinking)
    effort = req.reasoning_effort
    if effort is None or effort in NO_THINKING_EFFORTS:
        return None
    budget = EFFORT_BUDGETS.get(effort)
    if budget is None:
        raise ctx.bad(f"reasoning_effort {effort!r} has no Anthropic thinking budget",
                      "reasoning_effort")  # fmt: skip
    return {"type": "enabled", "budget_tokens": budget}


def _max_tokens(req: ChatRequest, thinking: dict[str, Any] | None, ctx: _Ctx) -> int:
    budget = thinking.get("budget_tokens") if thinking else None
    explicit = req.max_completion_tokens
    if explicit is None:
        explicit = req.max_tokens
    if explicit is not None:
        if isinstance(budget, int) and budget >= explicit:
            raise ctx.bad(
                f"max_tokens ({explicit}) must be larger than the thinking budget ({budget}): "
                "Anthropic counts thinking tokens toward max_tokens",
                "max_tokens",
            )
        return explicit
    info = _registry_info(req.model, ctx.dialect)
    default = (info.max_output_tokens if info is not None else None) or DEFAULT_MAX_TOKENS
    if isinstance(budget, int) and budget >= default:
        default = budget + DEFAULT_MAX_TOKENS
    return int(default)


def _thinking_on(thinking: dict[str, Any] | None) -> bool:
    return thinking is not None and thinking.get("type") not in (None, "disabled")


def _unsupported_params(req: ChatRequest, ctx: _Ctx) -> None:
    checks: list[tuple[str, bool]] = [
        ("n", req.n is not None and req.n != 1),
        ("seed", req.seed is not None),
        ("logit_bias", bool(req.logit_bias)),
        ("presence_penalty", req.presence_penalty is not None),
        ("frequency_penalty", req.frequency_penalty is not None),
        ("logprobs", bool(req.logprobs)),
        ("top_logprobs", req.top_logprobs is not None),
        ("safety_settings", req.safety_settings is not None),
        ("cached_content", req.cached_content is not None),
    ]
    for name, present in checks:
        if present:
            ctx.unsupported(name, name)


def _passthrough(req: ChatRequest, ctx: _Ctx, body: dict[str, Any]) -> None:
    for key, value in req.passthrough.items():
        if key == "metadata" and isinstance(value, dict) and set(value) <= {"user_id"}:
            body.setdefault("metadata", {}).update(value)
        elif key == "service_tier" and value in ("auto", "standard_only"):
            body["service_tier"] = value
        else:
            ctx.unsupported(key, key)


def _response_format(
    rf: ResponseFormat, req: ChatRequest, thinking_on: bool, ctx: _Ctx
) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """(native output_config, forced tool) for a json response_format; one of them is None."""
    schema = rf.schema if rf.type == "json_schema" else None
    native_ok = ctx.dialect == "anthropic" and native_structured_outputs(req.model)
    if schema is not None and native_ok and (rf.strict is True or thinking_on):
        return {"format": {"type": "json_schema", "schema": schema}}, None
    if thinking_on:
        raise ctx.bad(
            f"response_format with thinking needs native structured outputs, which model "
            f"{req.model!r} does not have on {ctx.dialect} (Anthropic does not allow a forced tool "
            "while thinking); turn thinking off or use a Claude 4.5+ model on the Anthropic API",
            "response_format",
        )
    if schema is None:
        input_schema: dict[str, Any] = {"type": "object", "additionalProperties": True}
    elif schema.get("type", "object") != "object":
        raise ctx.bad(
            "response_format: Claude returns structured output as a tool input, which must be a "
            f"JSON object; the schema's type is {schema.get('type')!r} (wrap it in an object)",
            "response_format",
        )
    else:
        input_schema = _input_schema(schema)
    tool: dict[str, Any] = {"name": _rf_tool_name(rf)}
    tool["description"] = rf.description or (
        "Respond with a JSON object that matches this schema; its input is the final answer."
    )
    tool["input_schema"] = input_schema
    return None, tool


def _tool_choice(
    req: ChatRequest, rf_tool: dict[str, Any] | None, has_tools: bool, ctx: _Ctx
) -> dict[str, Any] | None:
    choice = req.tool_choice
    if rf_tool is not None:
        if isinstance(choice, NamedToolChoice):
            out: dict[str, Any] = {"type": "tool", "name": choice.name}
        elif req.tools and choice in (None, "auto", "required"):
            out = {"type": "any"}
        else:
            out = {"type": "tool", "name": rf_tool["name"]}
    elif not has_tools:
        if choice == "required" or isinstance(choice, NamedToolChoice):
            raise ctx.bad("tool_choice needs tools", "tool_choice")
        return None
    elif choice is None:
        if req.parallel_tool_calls is not False:
            return None
        out = {"type": "auto"}
    elif isinstance(choice, NamedToolChoice):
        out = {"type": "tool", "name": choice.name}
    else:
        out = {"type": {"auto": "auto", "none": "none", "required": "any"}[choice]}
    if req.parallel_tool_calls is False and out["type"] != "none":
        out["disable_parallel_tool_use"] = True
    return out


def encode(
    req: ChatRequest,
    *,
    dialect: str = "anthropic",
    drop_params: bool = False,
    include_model: bool = True,
) -> dict[str, Any]:
    """IR -> Messages API body. Raises ``UnsupportedParamsError`` for what Claude can't take."""
    if dialect not in DIALECTS:
        raise BadRequestError(f"unknown Anthropic dialect {dialect!r}", model=req.model)
    ctx = _Ctx(req.model, dialect, drop_params)
    _unsupported_params(req, ctx)
    system, turns = _encode_messages(req.messages, ctx)
    thinking = _thinking(req, ctx)
    thinking_on = _thinking_on(thinking)
    strict_ok = dialect == "anthropic" and native_structured_outputs(req.model)

    body: dict[str, Any] = {}
    if dialect in ANTHROPIC_VERSION_IN_BODY:
        body["anthropic_version"] = ANTHROPIC_VERSION_IN_BODY[dialect]
    elif include_model:
        body["model"] = req.model
    body["max_tokens"] = _max_tokens(req, thinking, ctx)
    body["messages"] = turns
    if system is not None:
        body["system"] = system
    temperature = req.temperature
    if temperature is not None and thinking_on and temperature != 1:
        # Anthropic answers 400 for any other temperature while thinking.
        ctx.unsupported("temperature", "temperature other than 1 while thinking")
        temperature = None
    if temperature is not None:
        body["temperature"] = temperature
    if thinking_on and (
        req.tool_choice == "required" or isinstance(req.tool_choice, NamedToolChoice)
    ):
        raise ctx.bad(
            "Anthropic does not allow a forced tool_choice ('required' or a named tool) while "
            "thinking; use tool_choice='auto' or turn thinking off",
            "tool_choice",
        )
    if req.top_p is not None:
        body["top_p"] = req.top_p
    if req.stop:
        body["stop_sequences"] = list(req.stop)
    if req.user is not None:
        body["metadata"] = {"user_id": req.user}
    _passthrough(req, ctx, body)
    if thinking is not None:
        body["thinking"] = thinking

    output_config = rf_tool = None
    rf = req.response_format
    if rf is not None and rf.type != "text":
        output_config, rf_tool = _response_format(rf, req, thinking_on, ctx)
    tools = [_tool(t, strict_ok) for t in req.tools]
    if rf_tool is not None:
        if any(t["name"] == rf_tool["name"] for t in tools):
            raise ctx.bad(f"a tool may not be named {rf_tool['name']!r} together with "
                          "response_format", "tools")  # fmt: skip
        tools.append(rf_tool)
    tools.extend(_builtin_tools(req, ctx))
    if tools:
        body["tools"] = tools
    choice = _tool_choice(req, rf_tool, bool(tools), ctx)
    if choice is not None:
        body["tool_choice"] = choice
    if output_config is not None:
        body["output_config"] = output_config
    if req.stream and dialect != "bedrock":
        body["stream"] = True

    if ctx.dropped:
        from polymodal._warn import warn_dropped

        warn_dropped(ctx.dropped, req.model, "not supported by the Anthropic Messages API")
    body.update(req.extra_body)
    return body


# --------------------------------------------------------------------------- decode


def error_from_event(data: dict[str, Any], *, provider: str, model: str | None) -> PolymodalError:
    """The exception for an Anthropic error body (``{"type": "error", "error": {...}}``)."""
    err = data.get("error")
    kind = err.get("type") if isinstance(err, dict) else None
    status = ERROR_STATUS.get(kind or "", 500)
    exc = error_from_response(status, data, provider=provider, model=model)
    if kind == "overloaded_error" and not isinstance(exc, ServiceUnavailableError):
        exc = ServiceUnavailableError(exc.message, status_code=status, provider=provider,
                                      model=model, body=data, code=kind)  # fmt: skip
    return exc


def decode_usage(raw: Any) -> Usage | None:
    """Anthropic usage -> IR (cache reads and writes count as prompt tokens)."""
    if not isinstance(raw, dict):
        return None
    cache_read = raw.get("cache_read_input_tokens")
    cache_write = raw.get("cache_creation_input_tokens")
    prompt = (raw.get("input_tokens") or 0) + (cache_read or 0) + (cache_write or 0)
    completion = raw.get("output_tokens") or 0
    details = raw.get("output_tokens_details")
    thinking = details.get("thinking_tokens") if isinstance(details, dict) else None
    return Usage(
        prompt_tokens=prompt,
        completion_tokens=completion,
        total_tokens=prompt + completion,
        cached_tokens=cache_read,
        cache_creation_tokens=cache_write,
        reasoning_tokens=thinking,
    )


def _finish(stop_reason: Any, real_tool_calls: bool) -> str | None:
    if not isinstance(stop_reason, str):
        return None
    if stop_reason == "tool_use" and not real_tool_calls:
        return "stop"  # only the response_format tool was called
    return STOP_REASONS.get(stop_reason, "stop")


def _url_annotations(citations: list[Any], start: int, end: int) -> list[dict[str, Any]]:
    out = []
    for c in citations:
        if isinstance(c, dict) and c.get("type") == "web_search_result_location" and c.get("url"):
            out.append(
                {
                    "type": "url_citation",
                    "url_citation": {
                        "url": c["url"],
                        "title": c.get("title"),
                        "start_index": start,
                        "end_index": end,
                    },
                }
            )
    return out


def _is_rf_tool(name: Any) -> bool:
    return isinstance(name, str) and name.startswith(RESPONSE_FORMAT_TOOL_PREFIX)


def decode(body: dict[str, Any], *, provider: str = "anthropic") -> ChatResult:
    """Messages API response body -> IR."""
    if body.get("type") == "error" or ("error" in body and "content" not in body):
        raise error_from_event(body, provider=provider, model=body.get("model"))
    texts: list[str] = []
    length = 0
    calls: list[ToolCall] = []
    reasoning: list[ReasoningBlock] = []
    annotations: list[dict[str, Any]] = []
    psf: dict[str, Any] = {}
    saw_text = False
    for block in body.get("content") or ():
        kind = block.get("type")
        if kind == "text":
            saw_text = True
            text = block.get("text") or ""
            citations = block.get("citations") or []
            if citations:
                annotations.extend(_url_annotations(citations, length, length + len(text)))
                psf.setdefault("citations", []).extend(citations)
            texts.append(text)
            length += len(text)
        elif kind == "tool_use":
            args = json.dumps(block.get("input") or {}, ensure_ascii=False)
            if _is_rf_tool(block.get("name")):
                saw_text = True
                texts.append(args)
                length += len(args)
            else:
                calls.append(ToolCall(block.get("id") or "", block.get("name") or "", args))
        elif kind == "thinking":
            reasoning.append(ReasoningBlock(block.get("thinking") or "", block.get("signature")))
        elif kind == "redacted_thinking":
            reasoning.append(ReasoningBlock("", redacted=block.get("data")))
        elif isinstance(kind, str) and (
            kind == "server_tool_use" or kind.endswith("_tool_result") or kind.endswith("_use")
        ):
            psf.setdefault(kind, []).append(block)
    stop_reason = body.get("stop_reason")
    if body.get("stop_sequence") is not None:
        psf["stop_sequence"] = body["stop_sequence"]
    usage_raw = body.get("usage")
    if isinstance(usage_raw, dict) and usage_raw.get("server_tool_use"):
        psf["server_tool_usage"] = usage_raw["server_tool_use"]
    choice = Choice(
        index=0,
        content="".join(texts) if saw_text else None,
        tool_calls=calls,
        reasoning=reasoning,
        annotations=annotations,
        finish_reason=_finish(stop_reason, bool(calls)),
        native_finish_reason=stop_reason,
    )
    return ChatResult(
        id=body.get("id") or "",
        model=body.get("model") or "",
        choices=[choice],
        usage=decode_usage(usage_raw),
        service_tier=usage_raw.get("service_tier") if isinstance(usage_raw, dict) else None,
        provider=provider,
        provider_specific_fields=psf,
    )


# --------------------------------------------------------------------------- stream


class _Block:
    """What the decoder remembers about one open content block."""

    __slots__ = ("citations", "got_args", "id", "kind", "name", "parts", "start", "tool_index")

    def __init__(self, kind: str, start: int = 0) -> None:
        self.kind = kind  # text | thinking | tool | rf | server | other
        self.start = start
        self.tool_index = -1
        self.id = ""
        self.name = ""
        self.got_args = False
        self.parts: list[str] = []
        self.citations: list[dict[str, Any]] = []


class StreamDecoder:
    """Messages API SSE ``data:`` payloads -> :class:`StreamEvent`.

    Each payload carries its ``type``: ``message_start`` gives the id and model (and the first
    event, with ``role``); ``content_block_*`` give text, reasoning (and its signature), tool-call
    deltas (indexed by the tool's position among the turn's tool calls) and, at a block's end,
    its citations as annotations; ``message_delta`` gives the finish reason and the usage (the
    output count there is cumulative, so the finish event carries the whole turn's usage).
    ``ping`` and ``message_stop`` produce nothing; an ``error`` event raises the mapped error.
    """

    __slots__ = ("_blocks", "_emitted", "_id", "_model", "_n_tools", "_usage", "provider")

    def __init__(self, provider: str = "anthropic") -> None:
        self.provider = provider
        self._id = ""
        self._model = ""
        self._usage: dict[str, Any] = {}
        self._blocks: dict[int, _Block] = {}
        self._n_tools = 0
        self._emitted = 0  # characters of content emitted so far (for annotation ranges)

    def _event(
        self,
        delta: ChoiceDelta | None = None,
        *,
        usage: Usage | None = None,
        psf: dict[str, Any] | None = None,
    ) -> StreamEvent:
        return StreamEvent(
            id=self._id,
            model=self._model,
            choices=[delta] if delta is not None else [],
            usage=usage,
            provider_specific_fields=psf or {},
        )

    def _content(self, text: str) -> StreamEvent | None:
        if not text:
            return None
        self._emitted += len(text)
        return self._event(ChoiceDelta(content=text))

    def feed(self, data: dict[str, Any]) -> StreamEvent | None:
        kind = data.get("type")
        if kind == "message_start":
            return self._start(data.get("message") or {})
        if kind == "content_block_start":
            return self._block_start(data.get("index", 0), data.get("content_block") or {})
        if kind == "content_block_delta":
            return self._block_delta(data.get("index", 0), data.get("delta") or {})
        if kind == "content_block_stop":
            return self._block_stop(data.get("index", 0))
        if kind == "message_delta":
            return self._message_delta(data)
        if kind == "error" or "error" in data:
            raise error_from_event(data, provider=self.provider, model=self._model or None)
        return None  # ping, message_stop, and event types added after this was written

    def _start(self, message: dict[str, Any]) -> StreamEvent:
        self._id = message.get("id") or ""
        self._model = message.get("model") or ""
        usage = message.get("usage")
        if isinstance(usage, dict):
            self._usage.update(usage)
        return self._event(ChoiceDelta(role="assistant"))

    def _block_start(self, index: int, block: dict[str, Any]) -> StreamEvent | None:
        kind = block.get("type")
        if kind == "text":
            self._blocks[index] = _Block("text", self._emitted)
            return self._content(block.get("text") or "")
        if kind == "thinking":
            self._blocks[index] = _Block("thinking")
            text, sig = block.get("thinking") or None, block.get("signature") or None
            if text or sig:
                return self._event(ChoiceDelta(reasoning=text, reasoning_signature=sig))
            return None
        if kind == "redacted_thinking":
            self._blocks[index] = _Block("other")
            return self._event(psf={"redacted_thinking": block.get("data")})
        if kind == "tool_use":
            initial = block.get("input")
            if _is_rf_tool(block.get("name")):
                state = self._blocks[index] = _Block("rf")
                if initial:
                    state.got_args = True
                    return self._content(json.dumps(initial, ensure_ascii=False))
                return None
            state = self._blocks[index] = _Block("tool")
            state.tool_index = self._n_tools
            self._n_tools += 1
            delta = ToolCallDelta(state.tool_index, block.get("id") or "", block.get("name") or "")
            if initial:
                state.got_args = True
                delta.arguments = json.dumps(initial, ensure_ascii=False)
            return self._event(ChoiceDelta(tool_calls=[delta]))
        if kind == "server_tool_use" or (isinstance(kind, str) and kind.endswith("_use")):
            state = self._blocks[index] = _Block("server")
            state.id, state.name = block.get("id") or "", block.get("name") or ""
            if block.get("input"):
                state.parts.append(json.dumps(block["input"]))
            return None
        self._blocks[index] = _Block("other")
        if isinstance(kind, str) and kind.endswith("_tool_result"):
            return self._event(psf={kind: block})
        return None

    def _block_delta(self, index: int, delta: dict[str, Any]) -> StreamEvent | None:
        kind = delta.get("type")
        state = self._blocks.get(index)
        if kind == "text_delta":
            return self._content(delta.get("text") or "")
        if kind == "thinking_delta":
            text = delta.get("thinking") or ""
            return self._event(ChoiceDelta(reasoning=text)) if text else None
        if kind == "signature_delta":
            sig = delta.get("signature") or ""
            return self._event(ChoiceDelta(reasoning_signature=sig)) if sig else None
        if kind == "citations_delta":
            citation = delta.get("citation")
            if state is not None and isinstance(citation, dict):
                state.citations.append(citation)
            return None
        if kind == "input_json_delta":
            fragment = delta.get("partial_json") or ""
            if state is None or not fragment:
                return None
            if state.kind == "tool":
                state.got_args = True
                call = ToolCallDelta(state.tool_index, arguments=fragment)
                return self._event(ChoiceDelta(tool_calls=[call]))
            if state.kind == "rf":
                state.got_args = True
                return self._content(fragment)
            state.parts.append(fragment)
        return None

    def _block_stop(self, index: int) -> StreamEvent | None:
        state = self._blocks.pop(index, None)
        if state is None:
            return None
        if state.kind == "tool" and not state.got_args:
            state.got_args = True
            call = ToolCallDelta(state.tool_index, arguments="{}")
            return self._event(ChoiceDelta(tool_calls=[call]))
        if state.kind == "rf" and not state.got_args:
            return self._content("{}")
        if state.kind == "text" and state.citations:
            annotations = _url_annotations(state.citations, state.start, self._emitted)
            return self._event(
                ChoiceDelta(annotations=annotations), psf={"citations": state.citations}
            )
        if state.kind == "server":
            raw = "".join(state.parts)
            try:
                value: Any = json.loads(raw) if raw else {}
            except ValueError:
                value = raw
            use = {"type": "server_tool_use", "id": state.id, "name": state.name, "input": value}
            return self._event(psf={"server_tool_use": use})
        return None

    def _message_delta(self, data: dict[str, Any]) -> StreamEvent:
        usage = data.get("usage")
        if isinstance(usage, dict):
            self._usage.update({k: v for k, v in usage.items() if v is not None})
        delta = data.get("delta") or {}
        stop_reason = delta.get("stop_reason")
        psf: dict[str, Any] = {}
        if delta.get("stop_sequence") is not None:
            psf["stop_sequence"] = delta["stop_sequence"]
        if self._usage.get("server_tool_use"):
            psf["server_tool_usage"] = self._usage["server_tool_use"]
        closing = self._close_tools()
        choice = ChoiceDelta(
            tool_calls=closing,
            finish_reason=_finish(stop_reason, self._n_tools > 0),
            native_finish_reason=stop_reason,
        )
        return self._event(choice, usage=decode_usage(self._usage), psf=psf)

    def _close_tools(self) -> list[ToolCallDelta]:
        closing = []
        for state in self._blocks.values():
            if state.kind == "tool" and not state.got_args:
                state.got_args = True
                closing.append(ToolCallDelta(state.tool_index, arguments="{}"))
        return closing

    def finish(self) -> StreamEvent | None:
        """Close tool calls left open by a stream that ended early; None when nothing is open."""
        closing = self._close_tools()
        return self._event(ChoiceDelta(tool_calls=closing)) if closing else None
