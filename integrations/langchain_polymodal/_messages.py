"""LangChain messages -> core IR messages, directly (no OpenAI-dict detour).

Content blocks are read in every shape LangChain users write them:

* v1 standard blocks: ``text``, ``image`` / ``audio`` / ``video`` / ``file`` with ``url``,
  ``base64`` + ``mime_type`` or ``file_id``, ``text-plain``, and on AI messages ``reasoning``;
* the older LangChain data blocks (``source_type`` ``url`` / ``base64`` / ``id``);
* OpenAI Chat Completions parts: ``image_url`` (a string or ``{"url", "detail", "format"}``),
  ``input_audio``, ``file`` (``file_id`` / ``file_data``), ``video_url``.

Anything else raises ``ValueError`` naming the block, rather than being dropped.
Opaque provider state kept on an earlier answer (tool-call ``provider_fields``, reasoning
signatures, redacted reasoning) is replayed exactly as it was received.
"""

from __future__ import annotations

import base64
import json
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

from langchain_core.messages import (
    AIMessage,
    BaseMessage,
    ChatMessage,
    HumanMessage,
    SystemMessage,
    ToolMessage,
)

from polymodal.media import resolve_mime, source_from_url
from polymodal.types import (
    ROLES,
    AudioPart,
    FilePart,
    ImagePart,
    MediaSource,
    Message,
    Part,
    ReasoningBlock,
    TextPart,
    ToolCall,
    VideoPart,
)

__all__ = ["TEXT_SIGNATURES_KEY", "TOOL_FIELDS_KEY", "to_ir_message", "to_ir_messages"]

TOOL_FIELDS_KEY = "tool_call_provider_fields"
"""``additional_kwargs`` key of an AIMessage: ``{tool_call_id: provider_fields}``."""
TEXT_SIGNATURES_KEY = "text_signatures"
"""``additional_kwargs`` key of a streamed AIMessage whose text came as strings: signatures of
the answer text (Gemini's ``thoughtSignature`` on a text part) that arrived after the text.
Replayed like the empty-text reasoning blocks that carry them otherwise."""

_MEDIA_TYPES = frozenset({"image", "audio", "video", "file"})
_NATIVE_TOOL_CALL_TYPES = frozenset({"tool_use", "function_call"})
# Blocks that describe an answer but are not sent back as content: tool calls travel in
# ``tool_calls``, and the rest are the model's own bookkeeping.
_SKIPPED_AI_BLOCKS = frozenset(
    {
        "tool_call",
        "tool_call_chunk",
        "invalid_tool_call",
        "server_tool_call",
        "server_tool_call_chunk",
        "server_tool_result",
    }
)


# --------------------------------------------------------------------------- media blocks


def _extras(block: Mapping[str, Any]) -> Mapping[str, Any]:
    extras = block.get("extras")
    return extras if isinstance(extras, Mapping) else {}


def _filename(block: Mapping[str, Any]) -> str | None:
    metadata = block.get("metadata")
    metadata = metadata if isinstance(metadata, Mapping) else {}
    for name in (
        block.get("filename"),
        _extras(block).get("filename"),
        metadata.get("filename"),
        metadata.get("name"),  # the older LangChain data blocks
    ):
        if isinstance(name, str) and name:
            return name
    return None


def _media_source(block: Mapping[str, Any], where: str) -> MediaSource:
    """The source of a v1 or legacy LangChain data block."""
    mime = block.get("mime_type")
    filename = _filename(block)
    source_type = block.get("source_type")  # the older LangChain data blocks
    b64 = block.get("base64")
    if b64 is None and source_type == "base64":
        b64 = block.get("data")
    if isinstance(b64, str) and b64:
        if b64.startswith("data:"):  # a data URL where base64 was expected: accept it
            src = source_from_url(b64, mime, param=f"{where}.base64")
            return MediaSource(data=src.data, mime_type=src.mime_type, filename=filename)
        if not mime:  # v1 blocks should say; otherwise the bytes may tell
            mime = resolve_mime(MediaSource(data=b64))
        return MediaSource(data=b64, mime_type=mime, filename=filename)
    file_id = block.get("file_id")
    if file_id is None and source_type == "id":
        file_id = block.get("id")
    if isinstance(file_id, str) and file_id:
        return MediaSource(file_id=file_id, mime_type=mime, filename=filename)
    url = block.get("url")
    if isinstance(url, str) and url:
        src = source_from_url(url, mime, param=f"{where}.url")
        return MediaSource(src.url, src.data, None, src.mime_type, filename)
    raise ValueError(f"{where}: a {block.get('type')!r} block needs 'url', 'base64' or 'file_id'")


def _data_block(block: Mapping[str, Any], where: str) -> Part:
    kind = block["type"]
    if block.get("source_type") == "text":  # the older LangChain plain-text file block
        return _plain_text_block(block, where)
    source = _media_source(block, where)
    if kind == "image":
        detail = block.get("detail") or _extras(block).get("detail")
        return ImagePart(source, detail if isinstance(detail, str) else None)
    if kind == "audio":
        fmt = (source.mime_type or "").split("/")[-1] or None
        return AudioPart(source, {"mpeg": "mp3", "x-wav": "wav"}.get(fmt or "", fmt))
    if kind == "video":
        return VideoPart(source)
    return FilePart(source)


def _plain_text_block(block: Mapping[str, Any], where: str) -> Part:
    text = block.get("text")
    if isinstance(text, str):
        data = base64.b64encode(text.encode()).decode("ascii")
        filename = block.get("title") if isinstance(block.get("title"), str) else None
        return FilePart(MediaSource(data=data, mime_type="text/plain", filename=filename))
    return FilePart(_media_source({**block, "mime_type": "text/plain"}, where))


# --------------------------------------------------------------------------- OpenAI parts


def _image_url_part(block: Mapping[str, Any], where: str) -> ImagePart:
    spec = block.get("image_url")
    detail = fmt = None
    if isinstance(spec, Mapping):
        url, detail, fmt = spec.get("url"), spec.get("detail"), spec.get("format")
    else:
        url = spec
    if not isinstance(url, str) or not url:
        raise ValueError(f"{where}: image_url needs a URL string or {{'url': ...}}")
    return ImagePart(source_from_url(url, fmt, param=f"{where}.image_url.url"), detail)


def _input_audio_part(block: Mapping[str, Any], where: str) -> AudioPart:
    spec = block.get("input_audio")
    if not isinstance(spec, Mapping) or not isinstance(spec.get("data"), str):
        raise ValueError(f"{where}: input_audio needs {{'data': <base64>, 'format': ...}}")
    fmt = spec.get("format")
    mime = None
    if isinstance(fmt, str) and fmt:
        mime = fmt if "/" in fmt else {"mp3": "audio/mpeg"}.get(fmt, f"audio/{fmt}")
        fmt = fmt.split("/")[-1]
    return AudioPart(MediaSource(data=spec["data"], mime_type=mime), fmt or None)


def _openai_file_part(spec: Mapping[str, Any], where: str) -> FilePart:
    fmt = spec.get("format") or spec.get("mime_type")
    filename = spec.get("filename")
    if isinstance(spec.get("file_data"), str):
        src = source_from_url(spec["file_data"], fmt, param=f"{where}.file.file_data")
        return FilePart(MediaSource(src.url, src.data, None, src.mime_type, filename))
    file_id = spec.get("file_id")
    if isinstance(file_id, str) and file_id:
        if file_id.startswith(("http://", "https://", "gs://", "s3://")):
            return FilePart(MediaSource(url=file_id, mime_type=fmt, filename=filename))
        return FilePart(MediaSource(file_id=file_id, mime_type=fmt, filename=filename))
    raise ValueError(f"{where}: file needs 'file_id' or 'file_data'")


def _video_url_part(block: Mapping[str, Any], where: str) -> VideoPart:
    spec = block.get("video_url")
    url = spec.get("url") if isinstance(spec, Mapping) else spec
    fmt = spec.get("format") if isinstance(spec, Mapping) else None
    if not isinstance(url, str) or not url:
        raise ValueError(f"{where}: video_url needs a URL string or {{'url': ...}}")
    return VideoPart(source_from_url(url, fmt, param=f"{where}.video_url.url"))


# --------------------------------------------------------------------------- dispatch


def _part(block: Any, where: str) -> Part:
    if isinstance(block, str):
        return TextPart(block)
    if not isinstance(block, Mapping):
        raise ValueError(f"{where}: expected a content block dict, got {type(block).__name__}")
    kind = block.get("type")
    if kind == "text":
        text = block.get("text")
        if not isinstance(text, str):
            raise ValueError(f"{where}: a text block needs a 'text' string")
        return TextPart(text)
    if kind in _MEDIA_TYPES:
        if kind == "file" and isinstance(block.get("file"), Mapping):
            return _openai_file_part(block["file"], where)
        return _data_block(block, where)
    if kind == "image_url":
        return _image_url_part(block, where)
    if kind == "input_audio":
        return _input_audio_part(block, where)
    if kind == "video_url":
        return _video_url_part(block, where)
    if kind == "text-plain":
        return _plain_text_block(block, where)
    if kind == "non_standard" and isinstance(block.get("value"), Mapping):
        return _part(block["value"], where)
    raise ValueError(
        f"{where}: unsupported content block type {kind!r}; expected text, image, audio, video, "
        "file, text-plain, or an OpenAI image_url / input_audio / file / video_url part"
    )


def _content(content: str | list[Any], where: str) -> str | list[Part]:
    if isinstance(content, str):
        return content
    return [_part(block, f"{where}.content[{i}]") for i, block in enumerate(content)]


# --------------------------------------------------------------------------- AI messages


def _reasoning_block(block: Mapping[str, Any]) -> ReasoningBlock:
    extras = _extras(block)
    text = block.get("reasoning")
    signature = extras.get("signature", block.get("signature"))
    redacted = extras.get("redacted", block.get("redacted"))
    return ReasoningBlock(
        text if isinstance(text, str) else "",
        signature if isinstance(signature, str) else None,
        redacted if isinstance(redacted, str) else None,
    )


def _duplicates_a_tool_call(block: Mapping[str, Any], call_ids: set[str]) -> bool:
    """A provider-native tool-call block (Anthropic ``tool_use``, OpenAI Responses
    ``function_call``) repeating a call that ``tool_calls`` already carries."""
    value = block.get("value") if block.get("type") == "non_standard" else None
    if not isinstance(value, Mapping):
        return False
    return value.get("type") in _NATIVE_TOOL_CALL_TYPES and (
        value.get("id") in call_ids or value.get("call_id") in call_ids
    )


def _text_signatures(msg: AIMessage) -> list[ReasoningBlock]:
    signatures = msg.additional_kwargs.get(TEXT_SIGNATURES_KEY)
    if not isinstance(signatures, list):
        return []
    return [ReasoningBlock("", s) for s in signatures if isinstance(s, str) and s]


def _ai_content(msg: AIMessage, where: str) -> tuple[str | list[Part] | None, list[ReasoningBlock]]:
    if isinstance(msg.content, str):
        text = msg.content
        reasoning = msg.additional_kwargs.get("reasoning_content")
        blocks = [ReasoningBlock(reasoning)] if isinstance(reasoning, str) and reasoning else []
        return (text or None), blocks + _text_signatures(msg)
    parts: list[Part] = []
    reasoning_blocks: list[ReasoningBlock] = []
    call_ids = {c["id"] for c in msg.tool_calls if c["id"]}
    # ``content_blocks`` reads any provider's AI message into v1 blocks (ours are v1 already).
    for i, block in enumerate(msg.content_blocks):
        kind = block.get("type")
        if kind == "reasoning":
            reasoning_blocks.append(_reasoning_block(block))
        elif kind in _SKIPPED_AI_BLOCKS or _duplicates_a_tool_call(block, call_ids):
            continue
        elif kind == "refusal":
            continue  # carried in additional_kwargs["refusal"] when the provider gave one
        else:
            try:
                parts.append(_part(block, f"{where}.content[{i}]"))
            except ValueError as exc:
                # History written by another provider's integration may hold blocks of its own
                # that no chat format takes back; say what is left out rather than fail.
                warnings.warn(f"not sent: {exc}", UserWarning, stacklevel=4)
    reasoning_blocks += _text_signatures(msg)
    if len(parts) == 1 and isinstance(parts[0], TextPart):
        return parts[0].text, reasoning_blocks
    return parts or None, reasoning_blocks


def _tool_call_fields(msg: AIMessage) -> dict[str, Any]:
    """``{tool_call_id: provider_fields}`` kept on the message (additional_kwargs or blocks)."""
    found: dict[str, Any] = {}
    stored = msg.additional_kwargs.get(TOOL_FIELDS_KEY)
    if isinstance(stored, Mapping):
        found.update(stored)
    if isinstance(msg.content, list):
        for block in msg.content:
            if isinstance(block, Mapping) and block.get("type") == "tool_call":
                fields = _extras(block).get("provider_fields")
                if isinstance(fields, Mapping) and block.get("id"):
                    found.setdefault(block["id"], dict(fields))
    return found


def _ai_message(msg: AIMessage, where: str) -> Message:
    content, reasoning = _ai_content(msg, where)
    fields = _tool_call_fields(msg) if msg.tool_calls else {}
    calls = []
    for call in msg.tool_calls:
        call_id = call.get("id") or ""
        if not call_id:
            raise ValueError(f"{where}: tool call {call['name']!r} has no id")
        args = json.dumps(call["args"], ensure_ascii=False)
        calls.append(ToolCall(call_id, call["name"], args, provider_fields=fields.get(call_id)))
    extra: dict[str, Any] = {}
    refusal = msg.additional_kwargs.get("refusal")
    if isinstance(refusal, str) and refusal:
        extra["refusal"] = refusal
    if content is None and not calls:
        content = ""  # an answer that was empty; only a tool-calling turn may lack content
    return Message(
        "assistant",
        content,
        name=msg.name,
        tool_calls=calls,
        reasoning=reasoning,
        extra=extra,
    )


# --------------------------------------------------------------------------- entry points


def _role(msg: BaseMessage) -> str:
    if isinstance(msg, SystemMessage):
        return (
            "developer" if msg.additional_kwargs.get("__openai_role__") == "developer" else "system"
        )
    if isinstance(msg, HumanMessage):
        return "user"
    if isinstance(msg, ChatMessage):
        role = {"human": "user", "ai": "assistant"}.get(msg.role, msg.role)
        if role not in ROLES or role in ("tool", "function"):
            raise ValueError(
                f"ChatMessage role {msg.role!r} is not one of system, developer, user, assistant"
            )
        return role
    raise ValueError(
        f"cannot send a {type(msg).__name__} to a chat model; "
        "use System, Human, AI or Tool messages"
    )


def to_ir_message(msg: BaseMessage, index: int = 0) -> Message:
    """One LangChain message as an IR :class:`~polymodal.types.Message`."""
    where = f"messages[{index}]"
    if isinstance(msg, AIMessage):
        return _ai_message(msg, where)
    if isinstance(msg, ToolMessage):
        return Message(
            "tool",
            _content(msg.content, where),
            tool_call_id=msg.tool_call_id,
            tool_error=msg.status == "error",
        )
    role = _role(msg)
    if role == "assistant":  # ChatMessage(role="assistant")
        return _ai_message(AIMessage(content=msg.content, name=msg.name), where)
    return Message(role, _content(msg.content, where), name=msg.name)  # type: ignore[arg-type]


def to_ir_messages(messages: Sequence[BaseMessage]) -> list[Message]:
    return [to_ir_message(m, i) for i, m in enumerate(messages)]
