"""OpenAI-format dicts <-> IR: the lingua franca users write, parsed and checked once.

``parse_chat`` turns OpenAI Chat Completions keyword arguments into a :class:`ChatRequest` and
raises a ``BadRequestError``-family error for anything malformed, before any I/O.
``render_chat`` / ``render_chunk`` turn IR results into the OpenAI-shaped pydantic objects.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from polymodal import objects as o
from polymodal._warn import refuse_or_drop
from polymodal.errors import BadRequestError
from polymodal.media import source_from_url
from polymodal.types import (
    ROLES,
    AudioPart,
    ChatRequest,
    ChatResult,
    ChoiceDelta,
    FilePart,
    FunctionTool,
    ImagePart,
    MediaSource,
    Message,
    NamedToolChoice,
    Part,
    ReasoningBlock,
    ResponseFormat,
    StreamEvent,
    TextPart,
    ToolCall,
    ToolChoice,
    Usage,
    VideoPart,
)

# Request keys with a dedicated IR field.
_FIELD_PARAMS = frozenset(
    {
        "temperature", "top_p", "max_tokens", "max_completion_tokens", "stop", "n", "seed",
        "presence_penalty", "frequency_penalty", "logit_bias", "logprobs", "top_logprobs", "user",
        "reasoning_effort", "thinking", "safety_settings", "cached_content", "stream",
        "stream_options", "tools", "tool_choice", "parallel_tool_calls", "response_format",
        "extra_body", "functions", "function_call",
    }
)  # fmt: skip
# OpenAI request keys carried through as given to formats that take them.
PASSTHROUGH_PARAMS = frozenset(
    {
        "metadata", "store", "service_tier", "modalities", "audio", "prediction",
        "web_search_options", "verbosity", "prompt_cache_key", "safety_identifier",
        "moderation", "prompt_cache_options", "prompt_cache_retention",
    }
)  # fmt: skip
CHAT_PARAMS = _FIELD_PARAMS | PASSTHROUGH_PARAMS

_NUMBER_PARAMS = ("temperature", "top_p", "presence_penalty", "frequency_penalty")
_INT_PARAMS = ("max_tokens", "max_completion_tokens", "n", "seed", "top_logprobs")
_REASONING_EFFORTS = frozenset({"none", "minimal", "low", "medium", "high", "xhigh", "disable"})


def _bad(message: str, model: str | None, param: str | None = None) -> BadRequestError:
    return BadRequestError(message, model=model, param=param)


def _as_dict(value: Any) -> Any:
    """Accept our own pydantic objects (e.g. a returned message) wherever a dict is expected."""
    dump = getattr(value, "model_dump", None)
    if callable(dump):
        return dump(exclude_none=True)
    return value


# --------------------------------------------------------------------------- content parts


def _image_part(raw: dict[str, Any], where: str, model: str | None) -> ImagePart:
    spec = raw.get("image_url")
    url: Any
    detail: Any
    fmt: Any
    if isinstance(spec, str):
        url, detail, fmt = spec, None, None
    elif isinstance(spec, Mapping):
        url, detail, fmt = spec.get("url"), spec.get("detail"), spec.get("format")
    else:
        raise _bad(f"{where}.image_url must be a URL string or {{'url': ...}}", model, where)
    if not isinstance(url, str) or not url:
        raise _bad(f"{where}.image_url.url must be a non-empty string", model, where)
    if detail is not None and detail not in ("auto", "low", "high"):
        raise _bad(
            f"{where}.image_url.detail must be 'auto', 'low' or 'high', got {detail!r}", model
        )
    if fmt is not None and (not isinstance(fmt, str) or "/" not in fmt):
        raise _bad(f"{where}.image_url.format must be a mime type like 'image/jpeg'", model, where)
    return ImagePart(source_from_url(url, fmt, param=f"{where}.image_url.url"), detail)


def _file_part(raw: dict[str, Any], where: str, model: str | None) -> Part:
    spec = raw.get("file")
    if not isinstance(spec, Mapping):
        raise _bad(f"{where}.file must be an object with file_id or file_data", model, where)
    fmt = spec.get("format") or spec.get("mime_type")
    filename = spec.get("filename")
    if spec.get("file_data") is not None:
        data = spec["file_data"]
        if not isinstance(data, str):
            raise _bad(f"{where}.file.file_data must be a data URL string", model, where)
        src = source_from_url(data, fmt, param=f"{where}.file.file_data")
        source = MediaSource(data=src.data, url=src.url, mime_type=src.mime_type, filename=filename)
    elif spec.get("file_id") is not None:
        file_id = spec["file_id"]
        if not isinstance(file_id, str) or not file_id:
            raise _bad(f"{where}.file.file_id must be a non-empty string", model, where)
        if file_id.startswith(("http://", "https://", "gs://", "s3://")):
            source = MediaSource(url=file_id, mime_type=fmt, filename=filename)
        else:
            source = MediaSource(file_id=file_id, mime_type=fmt, filename=filename)
    else:
        raise _bad(f"{where}.file needs file_id or file_data", model, where)
    return FilePart(source)


def _audio_part(raw: dict[str, Any], where: str, model: str | None) -> AudioPart:
    spec = raw.get("input_audio")
    if not isinstance(spec, Mapping) or not isinstance(spec.get("data"), str):
        raise _bad(f"{where}.input_audio must be {{'data': <base64>, 'format': ...}}", model, where)
    fmt = spec.get("format")
    if fmt is not None and not isinstance(fmt, str):
        raise _bad(f"{where}.input_audio.format must be a string like 'wav'", model, where)
    mime = None
    if fmt:
        mime = (
            fmt
            if "/" in fmt
            else {"mp3": "audio/mpeg", "wav": "audio/wav"}.get(fmt, f"audio/{fmt}")
        )
    return AudioPart(
        MediaSource(data=spec["data"], mime_type=mime), fmt.split("/")[-1] if fmt else None
    )


def _video_part(raw: dict[str, Any], where: str, model: str | None) -> VideoPart:
    spec = raw.get("video_url")
    url = spec if isinstance(spec, str) else spec.get("url") if isinstance(spec, Mapping) else None
    if not isinstance(url, str) or not url:
        raise _bad(f"{where}.video_url must be a URL string or {{'url': ...}}", model, where)
    fmt = spec.get("format") if isinstance(spec, Mapping) else None
    return VideoPart(source_from_url(url, fmt, param=f"{where}.video_url.url"))


def _parse_part(raw: Any, where: str, model: str | None) -> Part:
    raw = _as_dict(raw)
    if isinstance(raw, str):
        return TextPart(raw)
    if not isinstance(raw, Mapping):
        raise _bad(
            f"{where} must be an object with a 'type', got {type(raw).__name__}", model, where
        )
    kind = raw.get("type")
    if kind == "text":
        text = raw.get("text")
        if not isinstance(text, str):
            raise _bad(f"{where}.text must be a string", model, where)
        return TextPart(text)
    if kind == "image_url":
        return _image_part(dict(raw), where, model)
    if kind == "file":
        return _file_part(dict(raw), where, model)
    if kind == "input_audio":
        return _audio_part(dict(raw), where, model)
    if kind == "video_url":
        return _video_part(dict(raw), where, model)
    raise _bad(
        f"{where} has unsupported type {kind!r}; expected one of text, image_url, file, "
        "input_audio, video_url",
        model,
        where,
    )


# --------------------------------------------------------------------------- messages


def _tool_calls(raw: Any, where: str, model: str | None) -> list[ToolCall]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise _bad(f"{where}.tool_calls must be a list", model, where)
    calls = []
    for j, call in enumerate(raw):
        call = _as_dict(call)
        fn = call.get("function") if isinstance(call, Mapping) else None
        if not isinstance(fn, Mapping) or not isinstance(fn.get("name"), str) or not fn["name"]:
            raise _bad(f"{where}.tool_calls[{j}] needs function.name", model, where)
        args = fn.get("arguments")
        if args is None or args == "":
            args = "{}"
        elif not isinstance(args, str):
            args = json.dumps(args)
        call_id = call.get("id")
        if not isinstance(call_id, str) or not call_id:
            raise _bad(f"{where}.tool_calls[{j}] needs an id", model, where)
        psf = call.get("provider_specific_fields")
        calls.append(ToolCall(call_id, fn["name"], args, provider_fields=psf or None))
    return calls


def _reasoning(msg: Mapping[str, Any]) -> list[ReasoningBlock]:
    blocks: list[ReasoningBlock] = []
    for block in msg.get("thinking_blocks") or ():
        if isinstance(block, Mapping):
            if block.get("type") == "redacted_thinking":
                blocks.append(ReasoningBlock(redacted=block.get("data")))
            else:
                blocks.append(ReasoningBlock(block.get("thinking", ""), block.get("signature")))
    if not blocks and isinstance(msg.get("reasoning_content"), str):
        blocks.append(ReasoningBlock(msg["reasoning_content"]))
    return blocks


_MESSAGE_KEYS = frozenset(
    {"role", "content", "name", "tool_calls", "tool_call_id", "reasoning_content", "thinking_blocks",
     "provider_specific_fields", "function_call"}
)  # fmt: skip


def parse_message(raw: Any, i: int, model: str | None = None) -> Message:
    if isinstance(raw, Message):  # already IR (the LangChain layer builds these directly)
        return raw
    where = f"messages[{i}]"
    if type(raw) is not dict:
        raw = _as_dict(raw)
        if not isinstance(raw, Mapping):
            raise _bad(f"{where} must be an object with 'role' and 'content'", model, where)
    role = raw.get("role")
    if role not in ROLES:
        raise _bad(
            f"{where}.role {role!r} is not one of system, developer, user, assistant, tool",
            model,
            where,
        )
    if role == "function":
        raise _bad(f"{where}: role 'function' is deprecated; send 'tool' messages with tool_call_id",
                   model, where)  # fmt: skip
    content = raw.get("content")
    parsed: str | list[Part] | None
    if content is None or isinstance(content, str):
        parsed = content
    elif isinstance(content, list):
        parsed = [_parse_part(p, f"{where}.content[{j}]", model) for j, p in enumerate(content)]
    else:
        raise _bad(f"{where}.content must be a string, a list of parts, or null", model, where)
    tool_calls = _tool_calls(raw.get("tool_calls"), where, model) if role == "assistant" else []
    if content is None and not tool_calls and role != "assistant":
        raise _bad(f"{where}.content is missing", model, where)
    tool_call_id = raw.get("tool_call_id")
    if role == "tool" and (not isinstance(tool_call_id, str) or not tool_call_id):
        raise _bad(f"{where}: a tool message needs tool_call_id", model, where)
    name = raw.get("name")
    if name is not None and not isinstance(name, str):
        raise _bad(f"{where}.name must be a string", model, where)
    extra = (
        {}
        if raw.keys() <= _MESSAGE_KEYS
        else {k: v for k, v in raw.items() if k not in _MESSAGE_KEYS and v is not None}
    )
    psf = raw.get("provider_specific_fields")
    return Message(
        role=role,
        content=parsed,
        name=name,
        tool_calls=tool_calls,
        tool_call_id=tool_call_id if role == "tool" else None,
        reasoning=_reasoning(raw) if role == "assistant" else [],
        provider_fields=dict(psf) if isinstance(psf, Mapping) and role == "assistant" else {},
        extra=extra,
    )


# --------------------------------------------------------------------------- tools, formats


def _parse_tools(raw: Any, model: str | None) -> tuple[list[FunctionTool], list[dict[str, Any]]]:
    if raw is None:
        return [], []
    if not isinstance(raw, list):
        raise _bad("tools must be a list", model, "tools")
    functions: list[FunctionTool] = []
    builtin: list[dict[str, Any]] = []
    for i, tool in enumerate(raw):
        tool = _as_dict(tool)
        if not isinstance(tool, Mapping):
            raise _bad(f"tools[{i}] must be an object", model, "tools")
        if tool.get("type") == "function" or ("function" in tool and "type" not in tool):
            fn = tool.get("function")
            if not isinstance(fn, Mapping):
                raise _bad(f"tools[{i}].function must be an object", model, "tools")
            name = fn.get("name")
            if not isinstance(name, str) or not name:
                raise _bad(f"tools[{i}].function.name is required", model, "tools")
            params = fn.get("parameters")
            if params is not None and not isinstance(params, Mapping):
                raise _bad(
                    f"tools[{i}].function.parameters must be a JSON Schema object", model, "tools"
                )
            desc = fn.get("description")
            functions.append(
                FunctionTool(
                    name, desc, dict(params) if params is not None else None, fn.get("strict")
                )
            )
        else:
            builtin.append(dict(tool))
    names = [f.name for f in functions]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise _bad(f"tools has duplicate function names: {', '.join(dupes)}", model, "tools")
    return functions, builtin


def _parse_tool_choice(raw: Any, tools: list[FunctionTool], model: str | None) -> ToolChoice | None:
    if raw is None:
        return None
    if raw in ("auto", "none", "required"):
        choice: ToolChoice = raw
        return choice
    if raw == "any":
        return "required"
    raw = _as_dict(raw)
    if isinstance(raw, Mapping):
        fn = raw.get("function")
        name = fn.get("name") if isinstance(fn, Mapping) else raw.get("name")
        if isinstance(name, str) and name:
            if tools and name not in {t.name for t in tools}:
                raise _bad(
                    f"tool_choice names {name!r}, which is not among tools", model, "tool_choice"
                )
            return NamedToolChoice(name)
    raise _bad(
        "tool_choice must be 'auto', 'none', 'required' or "
        "{'type': 'function', 'function': {'name': ...}}",
        model,
        "tool_choice",
    )


def _parse_response_format(raw: Any, model: str | None) -> ResponseFormat | None:
    if raw is None:
        return None
    raw = _as_dict(raw)
    if isinstance(raw, type) and hasattr(raw, "model_json_schema"):
        schema = raw.model_json_schema()
        return ResponseFormat("json_schema", schema, raw.__name__, strict=None)
    if not isinstance(raw, Mapping):
        raise _bad("response_format must be an object like {'type': 'json_object'}", model,
                   "response_format")  # fmt: skip
    kind = raw.get("type")
    enforce = bool(raw.get("enforce_validation", False))
    if kind == "text":
        return ResponseFormat("text")
    if kind == "json_object":
        schema = raw.get("response_schema")
        if schema is not None and not isinstance(schema, Mapping):
            raise _bad("response_format.response_schema must be a JSON Schema object", model,
                       "response_format")  # fmt: skip
        if schema is not None:
            return ResponseFormat("json_schema", dict(schema), None, None, None, enforce)
        return ResponseFormat("json_object", enforce_validation=enforce)
    if kind == "json_schema":
        spec = raw.get("json_schema")
        if not isinstance(spec, Mapping) or not isinstance(spec.get("schema"), Mapping):
            raise _bad("response_format.json_schema must be {'name': ..., 'schema': {...}}", model,
                       "response_format")  # fmt: skip
        return ResponseFormat(
            "json_schema",
            dict(spec["schema"]),
            spec.get("name"),
            spec.get("description"),
            spec.get("strict"),
            enforce,
        )
    raise _bad(f"response_format.type must be text, json_object or json_schema, got {kind!r}", model,
               "response_format")  # fmt: skip


# --------------------------------------------------------------------------- whole request


def parse_chat(model: str, messages: Any, params: Mapping[str, Any], *, drop_params: bool = False,
               model_label: str | None = None) -> ChatRequest:  # fmt: skip
    """Validate OpenAI-format chat arguments into a :class:`ChatRequest` (raises before any I/O).

    ``model`` is the provider's model name; ``model_label`` the user's model string for messages.
    """
    label = model_label or model
    if not isinstance(messages, (list, tuple)) or not messages:
        raise _bad("messages must be a non-empty list of message objects", label, "messages")
    unknown = params.keys() - CHAT_PARAMS
    if unknown:
        refuse_or_drop(
            sorted(unknown),
            model=label,
            drop_params=drop_params,
            reason="not a chat parameter",
            hint="pass provider-specific fields in extra_body={...}, or drop_params=True to "
            "ignore them",
        )
    for key in _NUMBER_PARAMS:
        v = params.get(key)
        if v is not None and (isinstance(v, bool) or not isinstance(v, (int, float))):
            raise _bad(f"{key} must be a number, got {v!r}", label, key)
    for key in _INT_PARAMS:
        v = params.get(key)
        if v is not None and (isinstance(v, bool) or not isinstance(v, int) or v < 0):
            raise _bad(f"{key} must be a non-negative integer, got {v!r}", label, key)
    stop = params.get("stop")
    if isinstance(stop, str):
        stop = [stop]
    elif stop is not None and not (
        isinstance(stop, list) and all(isinstance(s, str) for s in stop)
    ):
        raise _bad("stop must be a string or a list of strings", label, "stop")
    effort = params.get("reasoning_effort")
    if effort is not None and effort not in _REASONING_EFFORTS:
        raise _bad(f"reasoning_effort must be one of {sorted(_REASONING_EFFORTS)}, got {effort!r}", label,
                   "reasoning_effort")  # fmt: skip
    thinking = params.get("thinking")
    if thinking is not None and not isinstance(thinking, Mapping):
        raise _bad("thinking must be {'type': 'enabled', 'budget_tokens': N}", label, "thinking")
    tools_raw = params.get("tools")
    if tools_raw is None and params.get("functions") is not None:
        tools_raw = [{"type": "function", "function": f} for f in params["functions"]]
    tools, builtin = _parse_tools(tools_raw, label)
    choice_raw = params.get("tool_choice", params.get("function_call"))
    stream_options = params.get("stream_options")
    if stream_options is not None and not isinstance(stream_options, Mapping):
        raise _bad("stream_options must be an object like {'include_usage': true}", label,
                   "stream_options")  # fmt: skip
    extra_body = params.get("extra_body") or {}
    if not isinstance(extra_body, Mapping):
        raise _bad("extra_body must be an object", label, "extra_body")
    safety = params.get("safety_settings")
    if safety is not None and not isinstance(safety, list):
        raise _bad("safety_settings must be a list of {'category', 'threshold'} objects", label,
                   "safety_settings")  # fmt: skip
    return ChatRequest(
        model=model,
        messages=[parse_message(m, i, label) for i, m in enumerate(messages)],
        tools=tools,
        builtin_tools=builtin,
        tool_choice=_parse_tool_choice(choice_raw, tools, label),
        parallel_tool_calls=params.get("parallel_tool_calls"),
        response_format=_parse_response_format(params.get("response_format"), label),
        temperature=params.get("temperature"),
        top_p=params.get("top_p"),
        max_tokens=params.get("max_tokens"),
        max_completion_tokens=params.get("max_completion_tokens"),
        stop=stop,
        n=params.get("n"),
        seed=params.get("seed"),
        presence_penalty=params.get("presence_penalty"),
        frequency_penalty=params.get("frequency_penalty"),
        logit_bias=params.get("logit_bias"),
        logprobs=params.get("logprobs"),
        top_logprobs=params.get("top_logprobs"),
        user=params.get("user"),
        reasoning_effort=effort,
        thinking=dict(thinking) if thinking is not None else None,
        safety_settings=safety,
        cached_content=params.get("cached_content"),
        stream=bool(params.get("stream", False)),
        stream_options=dict(stream_options) if stream_options is not None else None,
        passthrough={
            k: params[k] for k in PASSTHROUGH_PARAMS & params.keys() if params[k] is not None
        },
        extra_body=dict(extra_body),
    )


# --------------------------------------------------------------------------- rendering

# The result objects are built the way ``objects.build`` builds them (every field is given, so
# the field set is all of them), but from dict literals in ``build``'s key order: no keyword
# packing or merge with the defaults, which is most of ``build``'s cost on a streamed chunk.
# The literals name exactly the fields declared below; if ``objects`` ever changes under them,
# ``_LITERAL`` is False and ``_made`` goes through ``objects.build`` (which fills in defaults).
_LITERAL_FIELDS: dict[type[o.OpenAIObject], set[str]] = {
    o.Delta: {"role", "content", "tool_calls", "refusal", "reasoning_content",
              "thinking_blocks", "annotations", "provider_specific_fields"},
    o.StreamingChoices: {"index", "delta", "finish_reason", "logprobs"},
    o.ChatCompletionChunk: {"id", "object", "created", "model", "choices", "usage",
                            "system_fingerprint", "provider_specific_fields"},
    o.ChatCompletionMessage: {"role", "content", "tool_calls", "refusal", "annotations",
                              "reasoning_content", "thinking_blocks", "audio",
                              "provider_specific_fields"},
    o.Choices: {"index", "message", "finish_reason", "logprobs", "provider_specific_fields"},
    o.ChatCompletion: {"id", "object", "created", "model", "choices", "usage",
                       "system_fingerprint", "service_tier", "provider_specific_fields"},
    o.Usage: {"prompt_tokens", "completion_tokens", "total_tokens", "prompt_tokens_details",
              "completion_tokens_details"},
    o.PromptTokensDetails: {"cached_tokens", "audio_tokens", "cache_creation_tokens"},
    o.CompletionTokensDetails: {"reasoning_tokens", "audio_tokens",
                                "accepted_prediction_tokens", "rejected_prediction_tokens"},
}  # fmt: skip
_new = object.__new__


def _slot_setters() -> tuple[Any, ...] | None:
    """The data descriptors ``object.__setattr__`` would find for the four attributes every
    pydantic object carries (``__dict__`` and pydantic's slots), called directly: ``_made``
    then skips four attribute lookups per object. None if any class resolves them differently."""
    import inspect

    names = ("__dict__", "__pydantic_fields_set__", "__pydantic_extra__", "__pydantic_private__")
    found = []
    for name in names:
        descriptor = inspect.getattr_static(o.OpenAIObject, name, None)
        setter = getattr(type(descriptor), "__set__", None)
        if setter is None or any(
            inspect.getattr_static(cls, name, None) is not descriptor for cls in _LITERAL_FIELDS
        ):
            return None
        found.append(descriptor.__set__)
    return tuple(found)


_SETTERS = (
    _slot_setters()
    if all(set(cls.model_fields) == names for cls, names in _LITERAL_FIELDS.items())
    else None
)
_LITERAL = _SETTERS is not None
if _SETTERS is not None:
    _set_dict, _set_fields, _set_extra, _set_private = _SETTERS


def _made(cls: type[o.M], values: dict[str, Any]) -> o.M:
    """``objects.build(cls, **values)`` for ``values`` that name every field of ``cls``."""
    if not _LITERAL:  # pragma: no cover - see above
        return o.build(cls, **values)
    obj = _new(cls)
    _set_dict(obj, values)
    _set_fields(obj, set(values))
    _set_extra(obj, {})
    _set_private(obj, None)
    return obj


def _render_usage(u: Usage | None) -> o.Usage | None:
    if u is None:
        return None
    prompt_details = None
    if u.cached_tokens is not None or u.audio_prompt_tokens is not None or u.cache_creation_tokens:
        prompt_details = _made(
            o.PromptTokensDetails,
            {
                "cached_tokens": u.cached_tokens,
                "audio_tokens": u.audio_prompt_tokens,
                "cache_creation_tokens": u.cache_creation_tokens,
            },
        )
    completion_details = None
    if (
        u.reasoning_tokens is not None
        or u.audio_completion_tokens is not None
        or u.accepted_prediction_tokens is not None
        or u.rejected_prediction_tokens is not None
    ):
        completion_details = _made(
            o.CompletionTokensDetails,
            {
                "reasoning_tokens": u.reasoning_tokens,
                "audio_tokens": u.audio_completion_tokens,
                "accepted_prediction_tokens": u.accepted_prediction_tokens,
                "rejected_prediction_tokens": u.rejected_prediction_tokens,
            },
        )
    return _made(
        o.Usage,
        {
            "prompt_tokens": u.prompt_tokens,
            "completion_tokens": u.completion_tokens,
            "total_tokens": u.total_tokens,
            "prompt_tokens_details": prompt_details,
            "completion_tokens_details": completion_details,
        },
    )


def _thinking_blocks(blocks: list[ReasoningBlock]) -> list[dict[str, Any]] | None:
    out: list[dict[str, Any]] = []
    for b in blocks:
        if b.redacted is not None:
            out.append({"type": "redacted_thinking", "data": b.redacted})
        elif b.signature is not None:
            out.append({"type": "thinking", "thinking": b.text, "signature": b.signature})
    return out or None


def render_tool_call(call: ToolCall) -> o.ChatCompletionMessageToolCall:
    return o.build(
        o.ChatCompletionMessageToolCall,
        id=call.id,
        type="function",
        function=o.build(o.Function, name=call.name, arguments=call.arguments),
        provider_specific_fields=call.provider_fields or None,
    )


def render_chat(result: ChatResult) -> o.ChatCompletion:
    choices = []
    for c in result.choices:
        extra = c.extra
        message = _made(
            o.ChatCompletionMessage,
            {
                "role": "assistant",
                "content": c.content,
                "tool_calls": [render_tool_call(t) for t in c.tool_calls] or None,
                "refusal": c.refusal,
                "annotations": c.annotations or None,
                "reasoning_content": c.reasoning_content,
                "thinking_blocks": _thinking_blocks(c.reasoning) if c.reasoning else None,
                "audio": extra.get("audio") if extra else None,
                "provider_specific_fields": (
                    {k: v for k, v in extra.items() if k != "audio"} or None if extra else None
                ),
            },
        )
        choices.append(
            _made(
                o.Choices,
                {
                    "index": c.index,
                    "finish_reason": c.finish_reason,
                    "logprobs": c.logprobs,
                    "provider_specific_fields": (
                        {"native_finish_reason": c.native_finish_reason}
                        if c.native_finish_reason
                        else None
                    ),
                    "message": message,
                },
            )
        )
    return _made(
        o.ChatCompletion,
        {
            "object": "chat.completion",
            "created": result.created,
            "usage": _render_usage(result.usage),
            "system_fingerprint": result.system_fingerprint,
            "service_tier": result.service_tier,
            "provider_specific_fields": result.provider_specific_fields or None,
            "id": result.id,
            "model": result.model,
            "choices": choices,
        },
    )


def _render_tool_deltas(d: ChoiceDelta) -> list[o.ChoiceDeltaToolCall]:
    return [
        o.build(
            o.ChoiceDeltaToolCall,
            index=t.index,
            id=t.id,
            type="function" if t.id is not None else None,
            function=o.build(o.ChoiceDeltaToolCallFunction, name=t.name, arguments=t.arguments),
            provider_specific_fields=t.provider_fields or None,
        )
        for t in d.tool_calls
    ]


def render_chunk(event: StreamEvent) -> o.ChatCompletionChunk:
    choices = []
    for d in event.choices:
        thinking = None
        if d.reasoning_signature is not None:
            thinking = [{"type": "thinking", "thinking": d.reasoning or "",
                         "signature": d.reasoning_signature}]  # fmt: skip
        delta = _made(
            o.Delta,
            {
                "role": d.role,
                "content": d.content,
                "tool_calls": _render_tool_deltas(d) if d.tool_calls else None,
                "refusal": d.refusal,
                "reasoning_content": d.reasoning,
                "thinking_blocks": thinking,
                "annotations": d.annotations or None,
                "provider_specific_fields": None,
            },
        )
        choices.append(
            _made(
                o.StreamingChoices,
                {
                    "index": d.index,
                    "finish_reason": d.finish_reason,
                    "logprobs": d.logprobs,
                    "delta": delta,
                },
            )
        )
    usage = event.usage
    return _made(
        o.ChatCompletionChunk,
        {
            "object": "chat.completion.chunk",
            "created": event.created,
            "usage": _render_usage(usage) if usage is not None else None,
            "system_fingerprint": event.system_fingerprint,
            "provider_specific_fields": event.provider_specific_fields or None,
            "id": event.id,
            "model": event.model,
            "choices": choices,
        },
    )
