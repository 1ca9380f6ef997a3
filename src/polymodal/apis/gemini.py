"""The Gemini ``generateContent`` wire format (Vertex AI and Google AI Studio): pure functions.

``dialect`` is ``"vertex"`` (``aiplatform.googleapis.com``, publishers/google models and tuned
endpoints) or ``"ai_studio"`` (``generativelanguage.googleapis.com``). The model goes in the URL,
never in the body. Every key we emit is lowerCamelCase. ``encode`` -> body; ``decode`` reads a
``GenerateContentResponse``; :class:`StreamDecoder` reads the ``data:`` payloads of
``:streamGenerateContent?alt=sse`` (each one a ``GenerateContentResponse``).

Requests
--------
* system/developer messages -> ``systemInstruction`` (text only, all of them, in order);
  assistant -> ``model``; tool results -> ``functionResponse`` parts in a ``user`` turn (the
  function name comes from the earlier call with that id; ``response`` is the JSON object the
  tool returned, else ``{"content": text}``); consecutive same-role turns are merged (so
  parallel tool results share one turn); a message with nothing to send is left out, a user
  message ``""`` is sent as ``{"text": ""}``. ``name`` on messages has no Gemini counterpart and
  is not sent, nor is ``image_url.detail`` (no per-part resolution switch on both APIs).
* media: bytes -> ``inlineData``; URIs -> ``fileData`` (mime type: ``format``, else the data URL's
  type or the bytes, else the extension via :func:`polymodal.media.resolve_mime`; a URI whose
  type cannot be told is a ``BadRequestError`` naming the part, except YouTube links and AI
  Studio Files API URIs, which Google types itself). What must be downloaded first is decided
  by :func:`needs_bytes`: Vertex reads ``gs://`` URIs, YouTube links and public http(s) URLs
  itself, but it fetches http(s) URLs as a crawler (``robots.txt`` is obeyed, so many image
  hosts answer ``URL_ROBOTED``, as a recorded 400 shows): **http(s) images are downloaded** and
  sent inline, which is what OpenAI users expect from an image URL, while http(s) PDFs, audio and
  video stay ``fileData`` (they are large, and inline requests are capped at 20 MB). AI Studio
  takes only its own Files API URIs and YouTube links, so every other http(s) URL is downloaded;
  ``gs://`` and ``s3://`` URIs on AI Studio are a ``BadRequestError``.
* thought signatures: a tool call's ``provider_fields["thought_signature"]`` goes back on its
  ``functionCall`` part; a reasoning block with text and a signature is a ``thought: true``
  part; a reasoning block with only a signature is the signature of the answer text and goes
  back on the (last) text part; reasoning text without a signature is not sent (Google needs no
  thought summaries back, and the text may come from another provider's model). For Gemini 3
  models, whose API rejects a replayed function call without a signature, an assistant turn
  whose first tool call has none (history from another model, or written by hand) gets Google's
  documented dummy value ``"skip_thought_signature_validator"`` on that call. Older models need
  none and get none.
  Server-side code execution parts a decoded turn carried (``code_execution``, see below) are
  replayed verbatim, before the answer text, when the assistant message still has them (a
  top-level ``code_execution`` key, or ``provider_specific_fields.code_execution``).
* tools: functions -> one ``functionDeclarations`` entry with ``parameters`` compiled by
  :func:`polymodal.schema.to_gemini_schema`; builtin tools (``googleSearch``,
  ``googleSearchRetrieval``, ``enterpriseWebSearch``, ``urlContext``, ``codeExecution``,
  ``googleMaps``...) are sent as given, snake_case names accepted, camelCase emitted, before the
  functions; Vertex-only ones (``enterpriseWebSearch``, ``retrieval``...) on AI Studio are
  unsupported. ``tool_choice`` auto/none/required/named -> ``functionCallingConfig.mode``
  ``AUTO``/``NONE``/``ANY``/``ANY`` + ``allowedFunctionNames``. Gemini has no switch for
  parallel calls: ``parallel_tool_calls=True`` is its behaviour anyway; ``False`` cannot be
  honoured and is unsupported (dropped with a warning under ``drop_params``). OpenAI's
  ``strict`` (tools, ``json_schema``) and the schema's ``name``/``description`` have no Gemini
  field and are not sent: Gemini's schema-constrained decoding is always on.
* ``generationConfig``: temperature, topP, maxOutputTokens (``max_completion_tokens`` or
  ``max_tokens``), stopSequences, candidateCount (``n``), seed, presencePenalty,
  frequencyPenalty, responseLogprobs (``logprobs``) + logprobs (``top_logprobs``),
  responseModalities (OpenAI's ``modalities``, upper-cased), thinkingConfig and the response
  format:

  - ``json_object`` -> ``responseMimeType: application/json``;
  - a schema (``json_schema``, or ``json_object`` + ``response_schema``) -> also
    ``responseJsonSchema`` (the JSON Schema, :func:`polymodal.schema.to_json_schema_for_gemini`)
    for models the registry marks ``response_json_schema``, else ``responseSchema`` (compiled,
    with ``propertyOrdering``); ``extra_body={"response_schema_format": "openapi" |
    "json_schema"}`` overrides the choice, and ``extra_body={"tool_schema_format":
    "json_schema"}`` sends function parameters as ``parametersJsonSchema`` (Gemini 2.5+: keeps
    recursion and every keyword). Models the registry marks without schema support get the
    schema as a system-instruction line (:func:`._gemini_encode.schema_prompt`) and JSON mime.
  - thinking: ``reasoning_effort`` low/medium/high -> ``thinkingBudget`` 1024/2048/4096 for
    "budget" models (Gemini 2.5; ``minimal`` = low, ``xhigh`` = high), ``thinkingLevel`` for
    "level" models (Gemini 3: LOW/MEDIUM/HIGH, MINIMAL where taken; Gemini 3 Pro takes only LOW
    and HIGH, so medium -> HIGH and minimal -> LOW, as Google's OpenAI-compatibility table maps
    them); ``includeThoughts: true`` whenever reasoning is asked for. ``none``/``disable`` ->
    ``thinkingBudget: 0`` (128, the floor, for Gemini 2.5 Pro, which cannot turn thinking off;
    the lowest level for Gemini 3). ``thinking={"type": "enabled", "budget_tokens": N}`` ->
    ``thinkingBudget: N`` (+ includeThoughts) and wins over ``reasoning_effort``;
    ``{"type": "disabled"}`` is like ``none``. Models that do not think: unsupported.
* ``safety_settings`` -> ``safetySettings``; ``cached_content`` -> ``cachedContent``;
  ``extra_body`` is merged last (deeply, keys camelCased outside free-form values), e.g.
  ``{"labels": {...}}`` (Vertex), ``{"modelArmorConfig": ...}``; ``generationConfig`` fields
  given at its top level (``top_k``, ``media_resolution``, ``image_config``...) go into
  ``generationConfig``.
* unsupported: ``logit_bias``, ``user``, ``parallel_tool_calls=False`` and OpenAI-only keys
  (``store``, ``metadata``, ``service_tier``, ``prediction``, ``audio``, ``verbosity``...) raise
  ``UnsupportedParamsError``, or are dropped with a warning under ``drop_params=True``.
  ``stream``/``stream_options`` need nothing (the URL streams; usage always comes).

Responses
---------
* text parts -> ``content``; ``thought: true`` parts -> reasoning blocks (``reasoning_content``)
  with their signatures; a ``thoughtSignature`` on an answer text part -> a reasoning block with
  empty text and that signature (rendered in ``thinking_blocks``, replayed on the text part);
  ``functionCall`` -> tool calls (``id`` from Gemini or generated, ``arguments`` = JSON of
  ``args``, signature in ``provider_fields["thought_signature"]``); ``executableCode`` /
  ``codeExecutionResult`` parts -> the choice's ``extra["code_execution"]`` verbatim (message
  ``provider_specific_fields`` in the OpenAI shape); generated images -> ``extra["images"]``
  (OpenAI-style ``image_url`` data URLs); ``finishMessage`` -> ``extra["finish_message"]``.
* finish: STOP -> ``stop`` (``tool_calls`` when the candidate has calls), MAX_TOKENS ->
  ``length``, SAFETY/RECITATION/BLOCKLIST/PROHIBITED_CONTENT/SPII/IMAGE_*/MODEL_ARMOR ->
  ``content_filter``; anything else -> ``stop``. ``MALFORMED_FUNCTION_CALL`` (the model wrote a
  call that does not parse) -> ``stop`` with the candidate's index and ``finishMessage`` listed
  under ``provider_specific_fields["vertex_ai_malformed_function_call"]``, so a caller can tell
  it from a normal answer and retry. ``native_finish_reason`` is always Google's value.
* a blocked prompt (``promptFeedback.blockReason``, no candidates) raises
  ``ContentPolicyViolationError`` naming the reason, Google's message and the safety ratings;
  an ``error`` object behind a 2xx raises the error its code maps to.
* ``provider_specific_fields``: ``vertex_ai_grounding_metadata``, ``vertex_ai_safety_results``,
  ``vertex_ai_citation_metadata``, ``vertex_ai_url_context_metadata`` (one entry per candidate,
  ``{}`` for a candidate without it, key present only if some candidate has it),
  ``vertex_ai_prompt_feedback``, ``vertex_ai_traffic_type``. Grounding also gives each choice
  OpenAI ``url_citation`` annotations (``groundingSupports`` x ``groundingChunks``; Google's UTF-8
  byte offsets turned into character offsets of ``content``).
* usage: prompt = promptTokenCount + toolUsePromptTokenCount; completion = candidatesTokenCount
  + thoughtsTokenCount; ``reasoning_tokens`` = thoughts; ``cached_tokens`` =
  cachedContentTokenCount; ``tool_use_prompt_tokens``; total = totalTokenCount.

Streams
-------
Each payload is decoded like a response, as a delta. Function calls arrive whole and are emitted
whole (``index`` counts calls per candidate). Signatures travel in ``reasoning_signature`` (a
thought's with its reasoning text; an answer part's in a delta without reasoning text, split
into a second delta of the same choice when needed) and in ``ToolCallDelta.provider_fields``.
Grounding metadata arrives in the last chunk; its annotations are computed against the whole
answer streamed so far. Gemini's usage counts are cumulative, so **usage is reported only on the
chunk that finishes the answer (and on a usage-only chunk after it), always the latest
cumulative value**; :meth:`StreamDecoder.finish` emits it if the stream ended without a finish.
"""

from __future__ import annotations

import copy
from typing import Any

from polymodal._warn import warn_dropped
from polymodal.apis import _gemini_decode as dec
from polymodal.apis import _gemini_encode as enc
from polymodal.errors import BadRequestError, UnsupportedParamsError
from polymodal.types import (
    ChatRequest,
    ChatResult,
    Choice,
    ChoiceDelta,
    ImagePart,
    MediaPart,
    StreamEvent,
    ToolCallDelta,
)

__all__ = ["DUMMY_SIGNATURE", "StreamDecoder", "decode", "encode", "needs_bytes"]

DUMMY_SIGNATURE = enc.DUMMY_SIGNATURE


# --------------------------------------------------------------------------- encode


def needs_bytes(part: MediaPart, dialect: str) -> bool:
    """Whether ``part`` must be downloaded before encoding (see the module docstring)."""
    url = part.source.url
    if url is None or not url.lower().startswith(("http://", "https://")):
        return False
    if enc.is_youtube(url):
        return False
    if dialect == "ai_studio":
        return not enc.is_files_api(url)
    return isinstance(part, ImagePart)


# generationConfig fields accepted at the top level of extra_body.
_GENERATION_ONLY = frozenset(
    {"topK", "mediaResolution", "responseModalities", "speechConfig", "audioTimestamp",
     "imageConfig", "routingConfig", "enableAffectiveDialog", "modelConfig", "translationConfig",
     "audioTranscriptionConfig", "responseLogprobs", "thinkingConfig", "candidateCount"}
)  # fmt: skip
_PARAM_FIELDS = (
    ("temperature", "temperature"),
    ("top_p", "topP"),
    ("stop", "stopSequences"),
    ("n", "candidateCount"),
    ("seed", "seed"),
    ("presence_penalty", "presencePenalty"),
    ("frequency_penalty", "frequencyPenalty"),
)


def _unsupported(req: ChatRequest, t: enc.Target) -> list[str]:
    names = []
    if req.logit_bias is not None:
        names.append("logit_bias")
    if req.user is not None:
        names.append("user")
    if req.parallel_tool_calls is False:
        names.append("parallel_tool_calls=False (Gemini has no switch for parallel calls)")
    names.extend(sorted(k for k in req.passthrough if k != "modalities"))
    if t.dialect == "ai_studio":
        for tool in req.builtin_tools:
            for key in tool:
                if enc.camel(key) in enc.VERTEX_ONLY:
                    names.append(f"tools ({enc.camel(key)} is Vertex AI only)")
    return names


def _merge(body: dict[str, Any], extra: dict[str, Any], *, top: bool = True) -> None:
    """``extra`` into ``body``: objects merged key by key, anything else replaced."""
    for key, value in extra.items():
        key = enc.camel(key)
        value = value if key in enc.FREEFORM else enc.camelize(value)
        if top and key in _GENERATION_ONLY:
            _merge(body.setdefault("generationConfig", {}), {key: value}, top=False)
        elif (
            isinstance(value, dict) and isinstance(body.get(key), dict) and key not in enc.FREEFORM
        ):
            _merge(body[key], value, top=False)
        else:
            body[key] = value


def _control(extra: dict[str, Any], key: str, default: str) -> str:
    value = extra.pop(key, default)
    if value not in enc.SCHEMA_FORMATS:
        raise BadRequestError(
            f"extra_body.{key} must be one of {', '.join(enc.SCHEMA_FORMATS)}, got {value!r}",
            param=key,
        )
    return str(value)


def encode(
    req: ChatRequest,
    *,
    dialect: str = "vertex",
    drop_params: bool = False,
    include_model: bool = True,
) -> dict[str, Any]:
    """IR -> ``GenerateContentRequest`` body. ``include_model`` is accepted for the common
    interface and ignored: Gemini takes the model in the URL."""
    if dialect not in enc.DIALECTS:
        raise ValueError(f"unknown Gemini dialect {dialect!r}; expected one of {enc.DIALECTS}")
    t = enc.target(req.model, dialect)
    dropped = _unsupported(req, t)
    thinking, not_thinking = enc.thinking_config(req, t)
    if not_thinking is not None:
        dropped.append(f"{not_thinking} (the model does not think)")
    if dropped and not drop_params:
        raise UnsupportedParamsError(
            f"{', '.join(dropped)} not supported by Gemini model {req.model!r}; pass "
            "drop_params=True to drop, or extra_body={...} to send Gemini fields as given",
            model=req.model,
            param=dropped[0].split(" ", 1)[0],
        )
    if dropped:
        warn_dropped(dropped, req.model, "not supported by the Gemini API")
    extra = copy.deepcopy(req.extra_body)
    response_schema_format = _control(
        extra, "response_schema_format", "json_schema" if t.json_schema_output else "openapi"
    )
    tool_schema_format = _control(extra, "tool_schema_format", "openapi")

    system, turns = enc.contents(req, t)
    body: dict[str, Any] = {"contents": turns}
    output, schema_line = enc.response_format(req, t, response_schema_format)
    if schema_line is not None:
        system.append({"text": schema_line})
    if system:
        body["systemInstruction"] = {"parts": system}

    tools: list[dict[str, Any]] = []
    for k, raw in enumerate(req.builtin_tools):
        tool = enc.builtin_tool(raw, k)
        if not (t.dialect == "ai_studio" and next(iter(tool)) in enc.VERTEX_ONLY):
            tools.append(tool)
    if req.tools:
        tools.append({"functionDeclarations": enc.function_declarations(req, tool_schema_format)})
    if tools:
        body["tools"] = tools
    config = enc.tool_config(req)
    if config is not None:
        body["toolConfig"] = config

    generation: dict[str, Any] = {}
    for name, key in _PARAM_FIELDS:
        value = getattr(req, name)
        if value is not None:
            generation[key] = value
    max_tokens = (
        req.max_completion_tokens if req.max_completion_tokens is not None else req.max_tokens
    )
    if max_tokens is not None:
        generation["maxOutputTokens"] = max_tokens
    if req.logprobs or req.top_logprobs is not None:
        generation["responseLogprobs"] = True
    if req.top_logprobs is not None:
        generation["logprobs"] = req.top_logprobs
    modalities = req.passthrough.get("modalities")
    if isinstance(modalities, list):
        generation["responseModalities"] = [str(m).upper() for m in modalities]
    generation.update(output)
    if thinking is not None:
        generation["thinkingConfig"] = thinking
    if generation:
        body["generationConfig"] = generation
    if req.safety_settings is not None:
        body["safetySettings"] = enc.camelize(req.safety_settings)
    if req.cached_content is not None:
        body["cachedContent"] = req.cached_content
    _merge(body, extra)
    return body


# --------------------------------------------------------------------------- decode


def _choice(candidate: dict[str, Any], position: int) -> Choice:
    parts = dec.split_parts(candidate)
    native = candidate.get("finishReason")
    extra: dict[str, Any] = {}
    if parts.code:
        extra["code_execution"] = parts.code
    if parts.images:
        extra["images"] = parts.images
    if candidate.get("finishMessage"):
        extra["finish_message"] = candidate["finishMessage"]
    return Choice(
        index=candidate.get("index", position),
        content=parts.text or None,
        tool_calls=parts.calls,
        reasoning=parts.reasoning,
        annotations=dec.url_citations(
            candidate.get("groundingMetadata"), parts.text, parts.part_starts
        ),
        finish_reason=dec.finish_reason(native, bool(parts.calls)),
        native_finish_reason=native,
        logprobs=dec.logprobs(candidate),
        extra=extra,
    )


def decode(body: dict[str, Any], *, provider: str = "vertex_ai") -> ChatResult:
    """``GenerateContentResponse`` -> IR (see the module docstring)."""
    dec.raise_for_error(body, provider)
    candidates = [c for c in body.get("candidates") or () if isinstance(c, dict)]
    return ChatResult(
        id=body.get("responseId") or "",
        model=body.get("modelVersion") or "",
        choices=[_choice(c, i) for i, c in enumerate(candidates)],
        created=dec.created(body),
        usage=dec.decode_usage(body.get("usageMetadata")),
        service_tier=dec.service_tier(body),
        provider=provider,
        provider_specific_fields={**dec.candidate_fields(candidates), **dec.response_fields(body)},
    )


# --------------------------------------------------------------------------- stream


class StreamDecoder:
    """``:streamGenerateContent`` payloads -> :class:`StreamEvent` (see the module docstring)."""

    __slots__ = ("_calls", "_text", "_usage", "_usage_sent", "provider")

    def __init__(self, provider: str = "vertex_ai") -> None:
        self.provider = provider
        self._calls: dict[int, int] = {}  # candidate index -> tool calls emitted
        self._text: dict[int, str] = {}  # candidate index -> answer text so far (for grounding)
        self._usage: Any = None
        self._usage_sent = False

    def _deltas(
        self, candidate: dict[str, Any], index: int, psf: dict[str, Any]
    ) -> list[ChoiceDelta]:
        deltas = [ChoiceDelta(index=index)]
        for part in (candidate.get("content") or {}).get("parts") or ():
            if not isinstance(part, dict):
                continue
            cur = deltas[-1]
            sig = part.get("thoughtSignature")
            if "functionCall" in part:
                call = dec.tool_call(part)
                n = self._calls.get(index, 0)
                self._calls[index] = n + 1
                cur.tool_calls.append(
                    ToolCallDelta(n, call.id, call.name, call.arguments, call.provider_fields)
                )
            elif any(k in part for k in dec.CODE_PARTS):
                psf.setdefault("code_execution", {}).setdefault(index, []).append(part)
            elif "inlineData" in part or "fileData" in part:
                psf.setdefault("images", {}).setdefault(index, []).append(dec.image_entry(part))
            elif part.get("thought") is True:
                if cur.reasoning_signature is not None:
                    cur = ChoiceDelta(index=index)
                    deltas.append(cur)
                cur.reasoning = (cur.reasoning or "") + (part.get("text") or "")
                cur.reasoning_signature = sig or None
            elif isinstance(part.get("text"), str):
                if sig and (cur.reasoning or cur.reasoning_signature is not None):
                    cur = ChoiceDelta(index=index)
                    deltas.append(cur)
                self._text[index] = self._text.get(index, "") + part["text"]
                cur.content = (cur.content or "") + part["text"]
                if sig:
                    cur.reasoning_signature = sig
        for d in deltas:
            d.content = d.content or None
        native = candidate.get("finishReason")
        grounding = candidate.get("groundingMetadata")
        last = deltas[-1]
        if grounding:
            last.annotations = dec.url_citations(grounding, self._text.get(index, ""))
        if native:
            last.finish_reason = dec.finish_reason(native, self._calls.get(index, 0) > 0)
            last.native_finish_reason = native
        last.logprobs = dec.logprobs(candidate)
        return deltas

    def feed(self, data: dict[str, Any]) -> StreamEvent | None:
        dec.raise_for_error(data, self.provider)
        usage = dec.decode_usage(data.get("usageMetadata"))
        if usage is not None:
            self._usage = usage
        candidates = [c for c in data.get("candidates") or () if isinstance(c, dict)]
        psf: dict[str, Any] = {**dec.candidate_fields(candidates), **dec.response_fields(data)}
        choices: list[ChoiceDelta] = []
        for i, candidate in enumerate(candidates):
            choices.extend(self._deltas(candidate, candidate.get("index", i), psf))
        finished = any(c.finish_reason for c in choices)
        usage_only = not candidates and usage is not None
        if not choices and not usage_only and not psf:
            return None
        event = StreamEvent(
            id=data.get("responseId") or "",
            model=data.get("modelVersion") or "",
            created=dec.created(data),
            choices=choices,
            provider_specific_fields=psf,
        )
        if finished or usage_only or (self._usage_sent and usage is not None):
            event.usage = self._usage
            self._usage_sent = True
        return event

    def finish(self) -> StreamEvent | None:
        """Usage for a stream that ended without a finishing chunk."""
        if self._usage is None or self._usage_sent:
            return None
        self._usage_sent = True
        return StreamEvent(usage=self._usage)
