"""IR -> Gemini request pieces: contents, parts, tools, generation config.

Private to :mod:`polymodal.apis.gemini`; see that module's docstring for the decisions.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from polymodal.errors import BadRequestError, UnsupportedParamsError
from polymodal.media import resolve_mime
from polymodal.registry import ModelInfo, lookup
from polymodal.schema import to_gemini_schema, to_json_schema_for_gemini
from polymodal.types import (
    AudioPart,
    ChatRequest,
    FilePart,
    ImagePart,
    MediaPart,
    Message,
    NamedToolChoice,
    Part,
    TextPart,
    VideoPart,
)

DIALECTS = ("vertex", "ai_studio")
# Google's documented stand-in for a missing thought signature on a function call (Gemini 3
# rejects a replayed call without one; see ``thought_signatures`` in the Gemini 3 guide).
DUMMY_SIGNATURE = "skip_thought_signature_validator"
FILES_API = "https://generativelanguage.googleapis.com/"
_YOUTUBE = re.compile(r"^https?://(?:www\.|m\.)?(?:youtube\.com|youtu\.be)/", re.IGNORECASE)
_VERSION = re.compile(r"gemini-(\d+)(?:\.(\d+))?")


def is_youtube(url: str) -> bool:
    return _YOUTUBE.match(url) is not None


def is_files_api(url: str) -> bool:
    return url.startswith(FILES_API)


def camel(key: str) -> str:
    """``snake_case`` -> ``lowerCamelCase`` (keys already in camelCase are unchanged)."""
    head, *rest = key.split("_")
    return head + "".join(w[:1].upper() + w[1:] for w in rest) if rest else key


# Values under these keys are free-form (user data, schemas): their keys are never rewritten.
FREEFORM = frozenset(
    {"labels", "args", "response", "responseJsonSchema", "parametersJsonSchema", "responseSchema",
     "parameters", "properties", "default", "example", "metadata"}
)  # fmt: skip


def camelize(value: Any) -> Any:
    if isinstance(value, list):
        return [camelize(v) for v in value]
    if not isinstance(value, dict):
        return value
    return {
        camel(k): v if camel(k) in FREEFORM else camelize(v) for k, v in value.items()
    }  # fmt: skip


# --------------------------------------------------------------------------- model facts


@dataclass(slots=True, frozen=True)
class Target:
    """What encoding needs to know about the model and the endpoint family."""

    model: str
    dialect: str
    info: ModelInfo | None

    @property
    def version(self) -> tuple[int, int] | None:
        match = _VERSION.search(self.model)
        return (int(match.group(1)), int(match.group(2) or 0)) if match else None

    @property
    def gemini3(self) -> bool:
        """Gemini 3 and later: thinking levels, mandatory signatures on function calls,
        multimodal function responses."""
        version = self.version
        if version is not None:
            return version >= (3, 0)
        return self.info is not None and self.info.thinking == "level"

    @property
    def thinking(self) -> str | None:
        """``budget`` / ``level`` / ``None`` (no thinking): the registry, else the name, else
        ``budget`` for a model nobody knows (a tuned endpoint), which every thinking model takes."""
        if self.info is not None and self.info.thinking is not None:
            return self.info.thinking
        version = self.version
        if version is not None:
            if version >= (3, 0):
                return "level"
            return "budget" if version >= (2, 5) else None
        if self.info is None or self.info.supports_reasoning:
            return "budget"
        return None

    @property
    def levels(self) -> tuple[str, ...]:
        """Thinking levels the model takes (Gemini 3 Pro 3.0 takes only LOW and HIGH)."""
        if re.search(r"gemini-3-pro", self.model):
            return ("LOW", "HIGH")
        return ("MINIMAL", "LOW", "MEDIUM", "HIGH")

    @property
    def min_budget(self) -> int:
        """Lowest thinking budget: Gemini 2.5 Pro cannot turn thinking off."""
        return 128 if "2.5-pro" in self.model else 0

    @property
    def json_schema_output(self) -> bool:
        return bool(self.info is not None and self.info.response_json_schema)

    @property
    def native_schema(self) -> bool:
        return not (self.info is not None and self.info.supports_response_schema is False)


def target(model: str, dialect: str) -> Target:
    name = model.removeprefix("models/")
    provider = "vertex_ai" if dialect == "vertex" else "gemini"
    info = lookup(name, provider) or lookup(name)
    return Target(name, dialect, info)


# --------------------------------------------------------------------------- parts


def _bad(message: str, param: str) -> BadRequestError:
    return BadRequestError(message, param=param)


def media_part(part: MediaPart, where: str, t: Target) -> dict[str, Any]:
    """``inlineData`` for bytes, ``fileData`` for a URI the endpoint reads itself."""
    src = part.source
    mime = resolve_mime(src, param=where)
    if src.data is not None:
        if mime is None:
            raise _bad(f"{where}: cannot tell the media's mime type; set 'format'", where)
        return {"inlineData": {"mimeType": mime, "data": src.data}}
    uri = src.url or src.file_id or ""
    if uri.startswith("s3://"):
        raise _bad(f"{where}: Gemini cannot read s3:// URIs; pass the content as a data URL", where)
    if uri.startswith("gs://") and t.dialect == "ai_studio":
        raise _bad(
            f"{where}: Google AI Studio cannot read gs:// URIs (only Vertex AI can); upload the file "
            "with the Files API, pass it as a data URL, or use a vertex_ai/ model",
            where,
        )
    if t.dialect == "ai_studio" and uri.startswith("files/"):
        uri = f"{FILES_API}v1beta/{uri}"
    file_data: dict[str, Any] = {"fileUri": uri}
    if mime is not None:
        file_data["mimeType"] = mime
    elif not (is_youtube(uri) or (t.dialect == "ai_studio" and is_files_api(uri))):
        kind = "gs:// URI" if uri.startswith("gs://") else "URI"
        raise _bad(
            f"{where}: cannot tell the mime type of the {kind} {uri!r} (no known extension); set "
            "'format', e.g. {'url': ..., 'format': 'image/png'}",
            where,
        )
    return {"fileData": file_data}


def content_part(part: Part, where: str, t: Target) -> dict[str, Any]:
    if isinstance(part, TextPart):
        return {"text": part.text}
    if isinstance(part, ImagePart | AudioPart | VideoPart | FilePart):
        # ImagePart.detail has no per-request Gemini equivalent on both APIs: not sent.
        return media_part(part, where, t)
    raise _bad(f"{where}: unsupported content part {type(part).__name__}", where)


def _parts(msg: Message, i: int, t: Target) -> list[dict[str, Any]]:
    if msg.content is None:
        return []
    if isinstance(msg.content, str):
        return [{"text": msg.content}]  # "" too: Gemini needs a part to keep the turn
    return [content_part(p, f"messages[{i}].content[{j}]", t) for j, p in enumerate(msg.content)]


def system_parts(msg: Message, i: int) -> list[dict[str, Any]]:
    if isinstance(msg.content, list):
        for j, part in enumerate(msg.content):
            if not isinstance(part, TextPart):
                where = f"messages[{i}].content[{j}]"
                raise _bad(f"{where}: a {msg.role} message can hold only text for Gemini", where)
    text = msg.text()
    return [{"text": text}] if text else []


def _arguments(raw: str, where: str) -> dict[str, Any]:
    try:
        args = json.loads(raw) if raw.strip() else {}
    except ValueError:
        raise _bad(
            f"{where}: tool call arguments are not valid JSON: {raw[:100]!r}", where
        ) from None
    if not isinstance(args, dict):
        raise _bad(f"{where}: tool call arguments must be a JSON object", where)
    return args


def _code_parts(msg: Message) -> list[dict[str, Any]]:
    """Server-side code execution parts a decoded turn carried (``code_execution``), verbatim."""
    extra = msg.extra.get("provider_specific_fields")
    for source in (msg.provider_fields, msg.extra, extra if isinstance(extra, dict) else {}):
        parts = source.get("code_execution")
        if isinstance(parts, list):
            return [camelize(p) for p in parts if isinstance(p, dict)]
    return []


def model_parts(msg: Message, i: int, t: Target) -> list[dict[str, Any]]:
    """An assistant turn: signed thoughts, code execution, answer text, function calls.

    A reasoning block with text and a signature is a thought part; a block with only a signature
    is the signature of the answer text and goes back on the (last) text part.
    """
    parts: list[dict[str, Any]] = []
    text_signatures: list[str] = []
    for block in msg.reasoning:
        if block.redacted is not None:
            continue  # another provider's redacted thinking: nothing Gemini can read
        if block.text and block.signature:
            parts.append({"text": block.text, "thought": True, "thoughtSignature": block.signature})
        elif block.signature:
            text_signatures.append(block.signature)
        # Reasoning text without a signature is not sent back: Google needs no thought summaries
        # in the history, and such text may come from another provider's model.
    parts.extend(_code_parts(msg))
    answer = [p for p in _parts(msg, i, t) if p.get("text") != ""]
    text_parts = [p for p in answer if "text" in p]
    if text_signatures and text_parts:
        text_parts[-1]["thoughtSignature"] = text_signatures.pop(0)
    answer.extend({"text": "", "thoughtSignature": s} for s in text_signatures)
    parts.extend(answer)
    for j, call in enumerate(msg.tool_calls):
        fc = {
            "name": call.name,
            "args": _arguments(call.arguments, f"messages[{i}].tool_calls[{j}]"),
        }
        part: dict[str, Any] = {"functionCall": {**fc, "id": call.id}}
        sig = (call.provider_fields or {}).get("thought_signature")
        if sig:
            part["thoughtSignature"] = sig
        elif j == 0 and t.gemini3:
            part["thoughtSignature"] = DUMMY_SIGNATURE
        parts.append(part)
    return parts


def tool_parts(msg: Message, i: int, t: Target, names: dict[str, str]) -> list[dict[str, Any]]:
    """A tool result -> ``functionResponse`` (``response`` = the JSON object the tool returned,
    else ``{"content": text}``); media in the result go in ``functionResponse.parts`` for Gemini
    3 (multimodal function responses), as parts beside it for older models."""
    where = f"messages[{i}]"
    call_id = msg.tool_call_id or ""
    name = names.get(call_id) or msg.name
    if not name:
        raise _bad(
            f"{where}: tool_call_id {call_id!r} matches no tool call of an earlier assistant "
            "message, so the function's name is unknown",
            where,
        )
    media = [p for p in _parts(msg, i, t) if "text" not in p]
    text = msg.text()
    response: dict[str, Any] = {}
    if text or not media:
        try:
            parsed = json.loads(text)
        except ValueError:
            parsed = None
        response = parsed if isinstance(parsed, dict) else {"content": text}
    fr: dict[str, Any] = {"name": name, "response": response, "id": call_id}
    if media and t.gemini3:
        fr["parts"] = media
        media = []
    return [{"functionResponse": fr}, *media]


def contents(req: ChatRequest, t: Target) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(systemInstruction parts, contents): roles mapped, consecutive same-role turns merged."""
    system: list[dict[str, Any]] = []
    turns: list[dict[str, Any]] = []
    names: dict[str, str] = {}
    for i, msg in enumerate(req.messages):
        if msg.role in ("system", "developer"):
            system.extend(system_parts(msg, i))
            continue
        if msg.role == "assistant":
            role, parts = "model", model_parts(msg, i, t)
            names.update((c.id, c.name) for c in msg.tool_calls)
        elif msg.role == "tool":
            role, parts = "user", tool_parts(msg, i, t, names)
        else:
            role, parts = "user", _parts(msg, i, t)
        if not parts:
            continue
        if turns and turns[-1]["role"] == role:
            turns[-1]["parts"].extend(parts)
        else:
            turns.append({"role": role, "parts": parts})
    return system, turns


# --------------------------------------------------------------------------- tools

# Builtin tools by their Gemini name; AI Studio does not take the Vertex-only ones.
BUILTIN = frozenset(
    {"googleSearch", "googleSearchRetrieval", "enterpriseWebSearch", "urlContext",
     "codeExecution", "googleMaps", "retrieval", "computerUse", "fileSearch", "parallelAiSearch",
     "exaAiSearch", "mcpServers"}
)  # fmt: skip
VERTEX_ONLY = frozenset({"enterpriseWebSearch", "retrieval", "parallelAiSearch", "exaAiSearch"})
_LEGACY_ATTRIBUTION = frozenset({"disableAttribution", "disableAttributon"})


def builtin_tool(raw: dict[str, Any], k: int) -> dict[str, Any]:
    """``{"google_search": {}}`` or ``{"googleSearch": {}}`` -> camelCase, as given otherwise.

    The legacy ``disable_attribution`` flag (and the seed page's ``disable_attributon`` spelling)
    no longer exists: ``False`` is its default and is dropped; ``True`` is an error.
    """
    tool = camelize(raw)
    if len(tool) != 1:
        where = f"tools[{k}]"
        raise _bad(f"{where}: a builtin tool is one key, like {{'googleSearch': {{}}}}", where)
    name, config = next(iter(tool.items()))
    if isinstance(config, dict):
        for key in _LEGACY_ATTRIBUTION & config.keys():
            if config[key]:
                raise UnsupportedParamsError(
                    f"tools[{k}].{name}.{key}: Google removed attribution switching", param="tools"
                )
        config = {key: v for key, v in config.items() if key not in _LEGACY_ATTRIBUTION}
    return {name: config}


def function_declarations(req: ChatRequest, schema_format: str) -> list[dict[str, Any]]:
    out = []
    for k, tool in enumerate(req.tools):
        decl: dict[str, Any] = {"name": tool.name}
        if tool.description is not None:
            decl["description"] = tool.description
        if tool.parameters is not None:
            where = f"tools[{k}].function.parameters"
            if schema_format == "json_schema":
                decl["parametersJsonSchema"] = to_json_schema_for_gemini(
                    tool.parameters, where=where
                )
            else:
                decl["parameters"] = to_gemini_schema(tool.parameters, where=where)
        out.append(decl)
    return out


def tool_config(req: ChatRequest) -> dict[str, Any] | None:
    choice = req.tool_choice
    if choice is None:
        return None
    if isinstance(choice, NamedToolChoice):
        config: dict[str, Any] = {"mode": "ANY", "allowedFunctionNames": [choice.name]}
    else:
        config = {"mode": {"auto": "AUTO", "none": "NONE", "required": "ANY"}[choice]}
    return {"functionCallingConfig": config}


# --------------------------------------------------------------------------- thinking

_BUDGETS = {"minimal": 1024, "low": 1024, "medium": 2048, "high": 4096, "xhigh": 4096}
_OFF = frozenset({"none", "disable"})


def _level(effort: str, t: Target) -> str:
    """reasoning_effort -> thinkingLevel, moved to the nearest level the model takes (Google's
    table for Gemini 3 Pro: minimal -> LOW, medium -> HIGH); "none" -> the lowest level, as
    Gemini 3 cannot turn thinking off."""
    levels = t.levels
    if effort in _OFF:
        return levels[0]
    wanted = {"minimal": "MINIMAL", "low": "LOW", "medium": "MEDIUM"}.get(effort, "HIGH")
    if wanted in levels:
        return wanted
    return "LOW" if wanted == "MINIMAL" else "HIGH"


def thinking_config(req: ChatRequest, t: Target) -> tuple[dict[str, Any] | None, str | None]:
    """(thinkingConfig, name of the parameter the model cannot take)."""
    thinking, effort = req.thinking, req.reasoning_effort
    if thinking is None and effort is None:
        return None, None
    style = t.thinking
    param = "thinking" if thinking is not None else "reasoning_effort"
    if style is None:
        return None, param
    if thinking is not None:  # the explicit budget wins over reasoning_effort
        if thinking.get("type") == "disabled":
            if style == "level":
                return {"thinkingLevel": t.levels[0]}, None
            return {"thinkingBudget": t.min_budget}, None
        config: dict[str, Any] = {"includeThoughts": True}
        budget = thinking.get("budget_tokens")
        if budget is not None:
            if isinstance(budget, bool) or not isinstance(budget, int):
                raise _bad("thinking.budget_tokens must be an integer", "thinking")
            config["thinkingBudget"] = budget
        return config, None
    assert effort is not None
    if style == "level":
        level = _level(effort, t)
        if effort in _OFF:
            return {"thinkingLevel": level}, None
        return {"includeThoughts": True, "thinkingLevel": level}, None
    if effort in _OFF:
        return {"thinkingBudget": t.min_budget}, None
    return {"includeThoughts": True, "thinkingBudget": _BUDGETS.get(effort, 4096)}, None


# --------------------------------------------------------------------------- output format

SCHEMA_FORMATS = ("json_schema", "openapi")


def schema_prompt(schema: dict[str, Any]) -> str:
    """The system-instruction line for models without native schema support."""
    return "Respond only with JSON that validates against this JSON Schema:\n" + json.dumps(
        schema, ensure_ascii=False
    )


def response_format(
    req: ChatRequest, t: Target, schema_format: str
) -> tuple[dict[str, Any], str | None]:
    """(generationConfig fields, system-instruction text for prompt-only schemas)."""
    rf = req.response_format
    if rf is None or rf.type == "text":
        return {}, None
    config: dict[str, Any] = {"responseMimeType": "application/json"}
    if rf.type == "json_object" or rf.schema is None:
        return config, None
    if not t.native_schema:
        return config, schema_prompt(rf.schema)
    where = "response_format.json_schema.schema"
    if schema_format == "json_schema":
        config["responseJsonSchema"] = to_json_schema_for_gemini(rf.schema, where=where)
    else:
        config["responseSchema"] = to_gemini_schema(rf.schema, where=where, order_properties=True)
    return config, None
