"""The OpenAI Chat Completions wire format: pure encode / decode / stream decoding.

Used by OpenAI, Azure OpenAI, every OpenAI-compatible server, and later by partner models that
speak it (Llama on Vertex, Model Garden endpoints). ``dialect`` is ``"openai"`` (api.openai.com),
``"azure"`` or ``"compatible"`` (any other server, which may take a few keys OpenAI doesn't).
"""

from __future__ import annotations

import uuid
from typing import Any

from polymodal._warn import refuse_or_drop
from polymodal.errors import BadRequestError, UnsupportedParamsError, error_from_response
from polymodal.types import (
    AudioPart,
    ChatRequest,
    ChatResult,
    Choice,
    ChoiceDelta,
    FilePart,
    ImagePart,
    MediaPart,
    Message,
    NamedToolChoice,
    Part,
    ReasoningBlock,
    StreamEvent,
    TextPart,
    ToolCall,
    ToolCallDelta,
    Usage,
    VideoPart,
)

OFFICIAL = frozenset({"openai", "azure"})


# --------------------------------------------------------------------------- encode


def needs_bytes(part: MediaPart, dialect: str) -> bool:
    """OpenAI fetches image URLs itself, but takes audio and files only as bytes."""
    url = part.source.url
    return (
        isinstance(part, AudioPart | FilePart)
        and url is not None
        and url.startswith(("http://", "https://"))
    )


def _media_url(part: ImagePart | VideoPart, dialect: str, model: str) -> str:
    src = part.source
    if src.data is not None:
        return src.as_data_url()
    if src.url is None:
        raise BadRequestError(
            f"model {model!r} takes images by URL or base64, not by file id ({src.file_id!r})",
            model=model,
            param="image_url",
        )
    if dialect in OFFICIAL and src.url.startswith(("gs://", "s3://")):
        raise BadRequestError(
            f"{dialect} cannot fetch {src.url.split('/')[0]}// URIs (model {model!r}); pass the image "
            "as an https URL or a base64 data URL",
            model=model,
            param="image_url",
        )
    return src.url


def _encode_part(part: Part, dialect: str, model: str) -> dict[str, Any]:
    if isinstance(part, TextPart):
        return {"type": "text", "text": part.text}
    if isinstance(part, ImagePart):
        image: dict[str, Any] = {"url": _media_url(part, dialect, model)}
        if part.detail is not None:
            image["detail"] = part.detail
        # ``format`` is ours, not OpenAI's: it is not sent (it only steers mime-typed targets).
        return {"type": "image_url", "image_url": image}
    if isinstance(part, AudioPart):
        if part.source.data is None:
            raise BadRequestError(
                f"model {model!r} takes audio only as base64 data; resolve the URL first",
                model=model,
                param="input_audio",
            )
        fmt = part.format or (part.source.mime_type or "audio/wav").split("/")[-1]
        fmt = {"mpeg": "mp3", "x-wav": "wav"}.get(fmt, fmt)
        return {"type": "input_audio", "input_audio": {"data": part.source.data, "format": fmt}}
    if isinstance(part, FilePart):
        src = part.source
        file: dict[str, Any] = {}
        if src.data is not None:
            file["file_data"] = src.as_data_url()
            file["filename"] = src.filename or _default_filename(src.mime_type)
        elif src.file_id is not None:
            file["file_id"] = src.file_id
        else:
            raise BadRequestError(
                f"model {model!r} takes files as base64 file_data or an uploaded file_id, not a URL "
                f"({src.url!r}); resolve the URL first",
                model=model,
                param="file",
            )
        return {"type": "file", "file": file}
    if isinstance(part, VideoPart):
        if dialect in OFFICIAL:
            raise UnsupportedParamsError(
                f"{dialect} chat models do not take video input (model {model!r})",
                model=model,
                param="video_url",
            )
        return {"type": "video_url", "video_url": {"url": _media_url(part, dialect, model)}}
    raise BadRequestError(f"unsupported content part {part!r}", model=model)


def _default_filename(mime: str | None) -> str:
    ext = (mime or "application/pdf").split("/")[-1].split("+")[0]
    return f"file.{ext}"


def encode_message(msg: Message, dialect: str, model: str) -> dict[str, Any]:
    out: dict[str, Any] = {"role": msg.role}
    if isinstance(msg.content, list):
        out["content"] = [_encode_part(p, dialect, model) for p in msg.content]
    else:
        out["content"] = msg.content
    if msg.name is not None:
        out["name"] = msg.name
    if msg.tool_calls:
        out["tool_calls"] = [
            {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}}
            for c in msg.tool_calls
        ]
    if msg.tool_call_id is not None:
        out["tool_call_id"] = msg.tool_call_id
    if msg.extra:
        for key, value in msg.extra.items():
            if key == "cache_control":
                # A prompt-caching hint for targets that take one; OpenAI caches prefixes on its
                # own, so the hint has nothing to say here and is not sent.
                continue
            if dialect in OFFICIAL and key not in _OPENAI_MESSAGE_EXTRAS:
                raise UnsupportedParamsError(
                    f"message key {key!r} is not part of the {dialect} chat format "
                    f"(model {model!r})",
                    model=model,
                    param=key,
                )
            out[key] = value
    return out


_OPENAI_MESSAGE_EXTRAS = frozenset({"refusal", "audio", "function_call"})


def _is_reasoning(req: ChatRequest, dialect: str) -> bool:
    if dialect != "openai":
        return False
    from polymodal import registry

    return registry.supports(f"openai/{req.model}", "reasoning") is True


def _unsupported(req: ChatRequest, dialect: str) -> list[str]:
    names = []
    if req.safety_settings is not None:
        names.append("safety_settings")
    if req.cached_content is not None:
        names.append("cached_content")
    if req.thinking is not None:
        names.append("thinking")
    if req.builtin_tools:
        names.append("tools (" + ", ".join(sorted({k for t in req.builtin_tools for k in t})) + ")")
    return names


def encode(
    req: ChatRequest,
    *,
    dialect: str = "openai",
    drop_params: bool = False,
    include_model: bool = True,
) -> dict[str, Any]:
    """IR -> Chat Completions body. Raises ``UnsupportedParamsError`` for what the target can't take."""
    refuse_or_drop(
        _unsupported(req, dialect),
        model=req.model,
        drop_params=drop_params,
        reason=f"not supported by the {dialect} chat format",
        hint="pass drop_params=True to drop, or extra_body={...} to send provider fields as given",
    )
    body: dict[str, Any] = {}
    if include_model:
        body["model"] = req.model
    body["messages"] = [encode_message(m, dialect, req.model) for m in req.messages]
    if (
        req.max_tokens is not None
        and req.max_completion_tokens is None
        and _is_reasoning(req, dialect)
    ):
        # OpenAI's reasoning models reject the legacy max_tokens; it means max_completion_tokens.
        body["max_completion_tokens"] = req.max_tokens
    elif req.max_tokens is not None:
        body["max_tokens"] = req.max_tokens
    for key in (
        "temperature", "top_p", "max_completion_tokens", "stop", "n", "seed",
        "presence_penalty", "frequency_penalty", "logit_bias", "logprobs", "top_logprobs", "user",
        "reasoning_effort", "parallel_tool_calls",
    ):  # fmt: skip
        value = getattr(req, key)
        if value is not None:
            body[key] = value
    if req.tools:
        tools = []
        for t in req.tools:
            fn: dict[str, Any] = {"name": t.name}
            if t.description is not None:
                fn["description"] = t.description
            if t.parameters is not None:
                fn["parameters"] = t.parameters
            if t.strict is not None:
                fn["strict"] = t.strict
            tools.append({"type": "function", "function": fn})
        body["tools"] = tools
    if req.tool_choice is not None:
        if isinstance(req.tool_choice, NamedToolChoice):
            body["tool_choice"] = {"type": "function", "function": {"name": req.tool_choice.name}}
        else:
            body["tool_choice"] = req.tool_choice
    rf = req.response_format
    if rf is not None:
        if rf.type == "json_schema":
            spec: dict[str, Any] = {"name": rf.name or "response", "schema": rf.schema}
            if rf.description is not None:
                spec["description"] = rf.description
            if rf.strict is not None:
                spec["strict"] = rf.strict
            body["response_format"] = {"type": "json_schema", "json_schema": spec}
        else:
            body["response_format"] = {"type": rf.type}
    if req.stream:
        body["stream"] = True
        if req.stream_options is not None:
            body["stream_options"] = req.stream_options
    body.update(req.passthrough)
    body.update(req.extra_body)
    return body


# --------------------------------------------------------------------------- decode


def decode_usage(raw: Any) -> Usage | None:
    if not isinstance(raw, dict):
        return None
    prompt = raw.get("prompt_tokens_details") or {}
    completion = raw.get("completion_tokens_details") or {}
    prompt_tokens = raw.get("prompt_tokens") or 0
    completion_tokens = raw.get("completion_tokens") or 0
    cached = prompt.get("cached_tokens")
    if cached is None:
        cached = raw.get("prompt_cache_hit_tokens")  # DeepSeek's spelling
    return Usage(
        prompt_tokens=prompt_tokens,
        completion_tokens=completion_tokens,
        total_tokens=raw.get("total_tokens") or prompt_tokens + completion_tokens,
        cached_tokens=cached,
        reasoning_tokens=completion.get("reasoning_tokens"),
        audio_prompt_tokens=prompt.get("audio_tokens"),
        audio_completion_tokens=completion.get("audio_tokens"),
        accepted_prediction_tokens=completion.get("accepted_prediction_tokens"),
        rejected_prediction_tokens=completion.get("rejected_prediction_tokens"),
    )


def _new_call_id() -> str:
    return "call_" + uuid.uuid4().hex[:24]


def _reasoning_text(msg: dict[str, Any]) -> str | None:
    # DeepSeek / vLLM say ``reasoning_content``; OpenRouter and others say ``reasoning``.
    for key in ("reasoning_content", "reasoning"):
        value = msg.get(key)
        if isinstance(value, str) and value:
            return value
    return None


_MESSAGE_FIELDS = frozenset(
    {"role", "content", "tool_calls", "refusal", "annotations", "reasoning_content", "reasoning",
     "function_call", "reasoning_details"}
)  # fmt: skip


_RESPONSE_FIELDS = frozenset(
    {"id", "object", "created", "model", "choices", "usage", "system_fingerprint", "service_tier",
     "provider"}
)  # fmt: skip


def decode(body: dict[str, Any], *, provider: str = "openai") -> ChatResult:
    """Chat Completions response body -> IR."""
    if "error" in body and "choices" not in body:
        # An error body behind a 2xx status (Azure does this for content filtering).
        err = body["error"]
        status = err.get("status") if isinstance(err, dict) else None
        if not isinstance(status, int) or not 400 <= status < 600:
            code = err.get("code") if isinstance(err, dict) else None
            status = code if isinstance(code, int) and 400 <= code < 600 else 500
        raise error_from_response(status, body, provider=provider, model=body.get("model"))
    choices: list[Choice] = []
    for raw in body.get("choices") or ():
        msg = raw.get("message") or {}
        calls = []
        for call in msg.get("tool_calls") or ():
            fn = call.get("function") or {}
            args = fn.get("arguments")
            calls.append(
                ToolCall(
                    id=call.get("id") or _new_call_id(),
                    name=fn.get("name") or "",
                    arguments=args if isinstance(args, str) and args else "{}",
                )
            )
        reasoning_text = _reasoning_text(msg)
        extra = (
            {}
            if msg.keys() <= _MESSAGE_FIELDS
            else {k: v for k, v in msg.items() if k not in _MESSAGE_FIELDS and v is not None}
        )
        finish = raw.get("finish_reason")
        choices.append(
            Choice(
                index=raw.get("index", len(choices)),
                content=msg.get("content"),
                tool_calls=calls,
                reasoning=[ReasoningBlock(reasoning_text)] if reasoning_text else [],
                annotations=list(msg.get("annotations") or ()),
                finish_reason=finish,
                native_finish_reason=raw.get("native_finish_reason") or finish,
                refusal=msg.get("refusal"),
                logprobs=raw.get("logprobs"),
                extra=extra,
            )
        )
    psf: dict[str, Any] = (
        {}
        if body.keys() <= _RESPONSE_FIELDS
        else {k: v for k, v in body.items() if k not in _RESPONSE_FIELDS and v is not None}
    )
    for i, raw in enumerate(body.get("choices") or ()):
        cfr = raw.get("content_filter_results")
        if cfr:
            psf.setdefault("content_filter_results", {})[i] = cfr
    return ChatResult(
        id=body.get("id") or "",
        model=body.get("model") or "",
        choices=choices,
        created=body.get("created") or 0,
        usage=decode_usage(body.get("usage")),
        system_fingerprint=body.get("system_fingerprint"),
        service_tier=body.get("service_tier"),
        provider=provider,
        provider_specific_fields=psf,
    )


# --------------------------------------------------------------------------- stream


_CHUNK_FIELDS = frozenset(
    {"id", "object", "created", "model", "choices", "usage", "system_fingerprint", "service_tier",
     "provider", "obfuscation"}
)  # fmt: skip


# Delta keys the common text chunk carries: nothing else to normalise.
_PLAIN_DELTA = frozenset({"role", "content", "refusal"})


class StreamDecoder:
    """Chat Completions SSE ``data:`` payloads -> :class:`StreamEvent`.

    Normalises the tool-call quirks of real servers: a function name repeated across deltas is
    emitted once; a call with missing or empty arguments gets ``"{}"`` when its choice finishes;
    a call without an id gets one; a delta without ``index`` is placed by id or position.
    """

    __slots__ = ("_calls", "provider")

    def __init__(self, provider: str = "openai") -> None:
        self.provider = provider
        # (choice index, tool index) -> [id, name, got_arguments]
        self._calls: dict[tuple[int, int], list[Any]] = {}

    def _tool_delta(self, choice: int, raw: dict[str, Any], position: int) -> ToolCallDelta | None:
        index = raw.get("index")
        call_id = raw.get("id") or None
        if not isinstance(index, int):
            index = next(
                (
                    k[1]
                    for k, v in self._calls.items()
                    if k[0] == choice and call_id and v[0] == call_id
                ),
                position,
            )
        state = self._calls.get((choice, index))
        fn = raw.get("function") or {}
        name = fn.get("name") or None
        args = fn.get("arguments")
        if state is None:
            state = [call_id or _new_call_id(), None, False]
            self._calls[(choice, index)] = state
            out = ToolCallDelta(index=index, id=state[0])
        else:
            out = ToolCallDelta(index=index)
        if name and state[1] is None:
            state[1] = name
            out.name = name
        if isinstance(args, str) and args:
            state[2] = True
            out.arguments = args
        if out.id is None and out.name is None and out.arguments is None:
            return None
        return out

    def _finish_calls(self, choice: int) -> list[ToolCallDelta]:
        closing = []
        for (c, index), state in self._calls.items():
            if c == choice and not state[2]:
                state[2] = True
                closing.append(ToolCallDelta(index=index, arguments="{}"))
        return closing

    def feed(self, data: dict[str, Any]) -> StreamEvent:
        choices = data.get("choices")
        if not choices:
            if "error" in data:
                err = data["error"]
                code = err.get("code") if isinstance(err, dict) else None
                status = code if isinstance(code, int) and 400 <= code < 600 else 500
                raise error_from_response(
                    status, data, provider=self.provider, model=data.get("model")
                )
            choices = ()
        deltas: list[ChoiceDelta] = []
        for raw in choices:
            index = raw.get("index", 0)
            delta = raw.get("delta") or {}
            finish = raw.get("finish_reason")
            if not finish and delta.keys() <= _PLAIN_DELTA:
                # The common chunk: text only (the first also names the role).
                deltas.append(
                    ChoiceDelta(
                        index,
                        delta.get("role"),
                        delta.get("content"),
                        None,  # reasoning
                        None,  # reasoning_signature
                        [],  # tool_calls
                        [],  # annotations
                        delta.get("refusal"),
                        finish,
                        raw.get("native_finish_reason") or finish,
                        raw.get("logprobs"),
                    )
                )
                continue
            calls = []
            for pos, call in enumerate(delta.get("tool_calls") or ()):
                out = self._tool_delta(index, call, pos)
                if out is not None:
                    calls.append(out)
            if finish:
                calls.extend(self._finish_calls(index))
            deltas.append(
                ChoiceDelta(
                    index=index,
                    role=delta.get("role"),
                    content=delta.get("content"),
                    reasoning=_reasoning_text(delta),
                    tool_calls=calls,
                    annotations=list(delta.get("annotations") or ()),
                    refusal=delta.get("refusal"),
                    finish_reason=finish,
                    native_finish_reason=raw.get("native_finish_reason") or finish,
                    logprobs=raw.get("logprobs"),
                )
            )
        if data.keys() <= _CHUNK_FIELDS:
            psf: dict[str, Any] = {}
        else:
            psf = {k: v for k, v in data.items() if k not in _CHUNK_FIELDS and v is not None}
        usage = data.get("usage")
        return StreamEvent(
            data.get("id") or "",
            data.get("model") or "",
            data.get("created") or 0,
            deltas,
            decode_usage(usage) if usage is not None else None,
            data.get("system_fingerprint"),
            psf,
        )

    def finish(self) -> StreamEvent | None:
        """Close calls left open by a stream that ended without a finish_reason."""
        closing = {c for (c, _), s in self._calls.items() if not s[2]}
        if not closing:
            return None
        return StreamEvent(
            choices=[
                ChoiceDelta(index=c, tool_calls=self._finish_calls(c)) for c in sorted(closing)
            ]
        )
