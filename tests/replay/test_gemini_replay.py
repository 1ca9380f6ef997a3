"""Replay of every recorded Gemini ``generateContent`` / ``streamGenerateContent`` interaction.

Inventory (``tests/fixtures/recorded``, copied byte for byte from ``../shared/fixtures``): 93
interactions — Google AI Studio (``gemini_gla``) generateContent 49 and streamGenerateContent 26
(17 SSE, 7 llm-gemini JSON-array bodies, 2 vercel-ai decoded-SSE ``*.chunks.txt``), Vertex AI
(``vertex_gemini``) generateContent 17 and streamGenerateContent 1. 87 answered 200 (one of them
a blocked prompt), 3 are errors (404, 400, the vercel-ai 429 with RetryInfo); the 3 vercel-ai
fixtures have no request.

Decode: every response goes through ``gemini.decode`` (JSON) or ``gemini.StreamDecoder`` plus the
shared stream layer of ``polymodal._chat`` (the last chunk must carry ``finish_reason`` and
``usage``, no earlier one usage). Text, thoughts, tool calls (name, args, Gemini's ids), thought
signatures by part kind, grounding (annotations and kept metadata), URL-context metadata, usage
and finish reason are compared with values :func:`expected` computes from the recorded chunks
with its own simple code. Error bodies must map to the class their status names; a blocked prompt
must raise ``ContentPolicyViolationError``.

Encode: each recorded request is rewritten as OpenAI-format input (:func:`to_openai`) and our
``parse_chat`` + ``encode`` must produce a body equal to the recorded one after
:func:`normalise`, which applies, and only applies:

1. snake_case keys -> camelCase, guided by the discovery document (google-genai and llm-gemini
   send ``function_call``, ``thought_signature``, ``file_uri``, ``parameters_json_schema``...;
   proto3 JSON accepts both; keys inside free-form values are left alone);
2. ``null`` values dropped (llm-gemini sends ``"description": null``; proto3 JSON reads null as
   absent), empty ``generationConfig``/``thinkingConfig`` dropped, ``includeThoughts: false``
   dropped (the default);
3. ``systemInstruction.role`` dropped (google-genai sends ``"user"``; Google ignores it; we send
   none);
4. consecutive same-role turns merged (we always merge; e.g. a tool result turn followed by a
   user turn);
5. in model turns, empty ``{"text": ""}`` parts dropped (a streaming artefact llm-gemini
   replays) and thought-summary parts without a signature dropped (pydantic-ai sends them back;
   we do not: Google needs no thought summaries back);
6. lower-case ``Schema.type`` values upper-cased (llm-gemini; the schemas README notes Google
   accepted them, we emit the documented upper case);
   ``propertyOrdering`` spelled out in ``responseSchema`` objects with several properties that
   do not give it (llm-gemini), in the order they list them: we always send it, as google-genai
   does (Gemini 2.0 orders keys alphabetically otherwise);
7. URL-safe base64 in ``inlineData.data`` and ``thoughtSignature`` rewritten in the standard
   alphabet (google-genai decodes the signature it received, a proto ``bytes`` field, and sends
   it back URL-safe; both spellings are the same bytes, and we send back the very string
   Google sent us);
8. ``allowedFunctionNames`` that lists every declared function dropped (same as plain ``ANY``);
9. on our side only: ``functionCall.id``/``functionResponse.id`` removed where the recording has
   none (OpenAI-format tool calls always carry an id, and we always send it).

Expressing recorded requests needs, besides the OpenAI parameters: ``modalities`` for
``responseModalities``; ``extra_body`` for ``topK``, ``labels``, ``modelArmorConfig``,
``imageConfig``, an ``allowedFunctionNames`` subset of more than one function, and the
``response_schema_format`` / ``tool_schema_format`` switches where the recording chose the other
schema field than the registry default; assistant ``thinking_blocks`` for thoughts and text-part
signatures, tool-call ``provider_specific_fields.thought_signature`` for call signatures and an
assistant ``code_execution`` key for server-side code execution parts. None is skipped except the
3 vercel-ai fixtures, which recorded no request.

Multi-turn: where request k continues request k-1 of the same cassette, the turn decoded from
response k-1 is rendered (``render_chat(result).choices[0].message``, or the same built from the
stream's chunks), passed back in ``messages`` and must produce request k's model turn, thought
signatures byte for byte. One more normalisation applies there: tool-call ids Gemini did not
give (ours are random) are renamed to the ones the recording's client chose.
"""

from __future__ import annotations

import copy
import functools
import itertools
import json
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from polymodal import errors
from polymodal._chat import _StreamState
from polymodal.apis import gemini
from polymodal.openai_format import parse_chat, render_chat
from polymodal.registry import lookup
from polymodal.schema import SchemaKeywordDroppedWarning
from polymodal.types import ChatResult, Choice, ReasoningBlock, StreamEvent, ToolCall

try:  # tests/replay imported as a package
    from . import _cassettes as cassettes
except ImportError:  # pytest's default rootdir-relative import: tests/replay is on sys.path
    import _cassettes as cassettes  # type: ignore[no-redef]

PROVIDERS = ("gemini_gla", "vertex_gemini")
ENDPOINTS = ("generateContent", "streamGenerateContent")
EXPECTED_COUNTS = {
    ("gemini_gla", "generateContent"): 49,
    ("gemini_gla", "streamGenerateContent"): 26,
    ("vertex_gemini", "generateContent"): 17,
    ("vertex_gemini", "streamGenerateContent"): 1,
}


# --------------------------------------------------------------------------- inventory


def _scan_entries() -> list[dict[str, Any]]:
    """Index entries built by reading the copied cassettes (``tests/fixtures/recorded/index.json``
    does not list the Gemini interactions yet); they match the shared index."""
    entries: list[dict[str, Any]] = []
    paths = sorted(cassettes.RECORDED.glob("*/gemini/**/*.yaml"))
    paths += sorted(cassettes.RECORDED.glob("*/vertex_gemini/**/*.yaml"))
    for path in paths:
        rel = path.relative_to(cassettes.RECORDED).as_posix()
        doc = yaml.load(path.read_bytes(), Loader=cassettes._YAML_LOADER)
        for i, item in enumerate(doc["interactions"]):
            uri = urlsplit(item["request"]["uri"])
            method = uri.path.rsplit(":", 1)[-1] if ":" in uri.path else ""
            if method not in ENDPOINTS:
                continue  # countTokens, cachedContents, a media download...
            host = uri.hostname or ""
            streaming = method == "streamGenerateContent"
            entries.append(
                {
                    "file": rel,
                    "index": i,
                    "provider": "vertex_gemini" if "aiplatform" in host else "gemini_gla",
                    "endpoint": method,
                    "streaming": streaming,
                    "stream_format": ("sse" if "alt=sse" in uri.query else "json_array")
                    if streaming
                    else None,
                    "features": [],
                }
            )
    for path in sorted(cassettes.RECORDED.glob("vercel-ai/*gemini/__fixtures__/google-*")):
        rel = path.relative_to(cassettes.RECORDED).as_posix()
        streaming = path.name.endswith(".chunks.txt")
        status = 200
        if not streaming:
            body = json.loads(path.read_bytes())
            if "candidates" not in body and "error" not in body:
                continue  # not a generateContent body (embeddings)
            status = int(body.get("error", {}).get("code", 200))
        entries.append(
            {
                "file": rel,
                "index": None,
                "provider": "gemini_gla",
                "endpoint": "streamGenerateContent" if streaming else "generateContent",
                "streaming": streaming,
                "stream_format": "jsonl_chunks" if streaming else None,
                "response_only": True,
                "http_status": status,
                "features": [],
            }
        )
    return entries


def _entries() -> list[dict[str, Any]]:
    indexed = [
        e
        for e in cassettes.index_entries()
        if e["provider"] in PROVIDERS and e["endpoint"] in ENDPOINTS
    ]
    return indexed or _scan_entries()


@dataclass(frozen=True)
class Case:
    entry: dict[str, Any]
    it: cassettes.Interaction

    @property
    def id(self) -> str:
        return self.it.id

    @property
    def dialect(self) -> str:
        return "vertex" if self.it.provider == "vertex_gemini" else "ai_studio"

    @property
    def model(self) -> str:
        path = urlsplit(self.it.request_uri or "").path
        return path.rsplit("/models/", 1)[-1].split(":", 1)[0]

    @property
    def blocked(self) -> bool:
        if self.it.streaming:
            return False
        body = self.body()
        return bool(body.get("promptFeedback", {}).get("blockReason")) and not body.get(
            "candidates"
        )

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = self.it.response_json()
        return body

    def payloads(self) -> list[dict[str, Any]]:
        """The GenerateContentResponse objects of the answer (one for a plain call)."""
        fmt = self.entry.get("stream_format")
        if fmt == "sse":
            return self.it.sse_payloads()
        if fmt == "json_array":
            payloads: list[dict[str, Any]] = json.loads(self.it.response_body)
            return payloads
        if fmt == "jsonl_chunks":
            lines = self.it.response_body.decode("utf-8").splitlines()
            return [json.loads(line) for line in lines if line.strip()]
        return [self.body()]


CASES = [Case(e, cassettes._load(e)) for e in _entries()]
BY_ID = {c.id: c for c in CASES}
SUCCESSES = [c for c in CASES if c.it.status == 200 and not c.blocked]
WITH_REQUEST = [c for c in CASES if c.it.request_body is not None]


def test_inventory() -> None:
    counts: dict[tuple[str, str], int] = {}
    for case in CASES:
        key = (case.it.provider, case.it.endpoint)
        counts[key] = counts.get(key, 0) + 1
    assert counts == EXPECTED_COUNTS
    assert len(BY_ID) == len(CASES) == 93
    assert len(SUCCESSES) == 89 and len(WITH_REQUEST) == 90
    shared = Path(__file__).resolve().parents[3] / "shared" / "fixtures" / "recorded" / "index.json"
    if shared.exists():  # the scan agrees with the shared index, where it is at hand
        listed = [
            e
            for e in json.loads(shared.read_text("utf-8"))
            if e["provider"] in PROVIDERS and e["endpoint"] in ENDPOINTS
        ]
        assert sorted((e["file"], e["index"] or 0) for e in listed) == sorted(
            (c.it.file, c.it.index or 0) for c in CASES
        )
        assert {(e["file"], e.get("stream_format")) for e in listed} == {
            (c.it.file, c.entry.get("stream_format")) for c in CASES
        }


# --------------------------------------------------------------------------- expectations

FINISH = {"STOP": "stop", "MAX_TOKENS": "length", "SAFETY": "content_filter",
          "MODEL_ARMOR": "content_filter"}  # fmt: skip


def expected(payloads: list[dict[str, Any]]) -> dict[str, Any]:
    """What the recorded answer says, computed from the raw chunks (first candidate)."""
    text, thoughts = "", ""
    calls: list[tuple[str, Any, str | None]] = []
    sigs: dict[str, list[str]] = {"thought": [], "text": [], "call": []}
    native = None
    grounding = url_context = None
    usage_meta: dict[str, Any] = {}
    for payload in payloads:
        if payload.get("usageMetadata"):
            usage_meta = payload["usageMetadata"]
        for cand in payload.get("candidates") or ()[:1]:
            for part in (cand.get("content") or {}).get("parts") or ():
                sig = part.get("thoughtSignature")
                if "functionCall" in part:
                    fc = part["functionCall"]
                    calls.append((fc["name"], fc.get("args", {}), fc.get("id")))
                    kind = "call"
                elif part.get("thought"):
                    thoughts += part.get("text", "")
                    kind = "thought"
                elif "text" in part:
                    text += part["text"]
                    kind = "text"
                else:
                    continue
                if sig:
                    sigs[kind].append(sig)
            native = cand.get("finishReason") or native
            grounding = cand.get("groundingMetadata") or grounding
            url_context = cand.get("urlContextMetadata") or url_context
    finish = FINISH[native] if native else None
    if finish == "stop" and calls:
        finish = "tool_calls"
    prompt = usage_meta.get("promptTokenCount", 0) + usage_meta.get("toolUsePromptTokenCount", 0)
    completion = usage_meta.get("candidatesTokenCount", 0) + usage_meta.get("thoughtsTokenCount", 0)
    total = usage_meta.get("totalTokenCount", prompt + completion)
    return {
        "content": text or None,
        "reasoning": thoughts or None,
        "calls": calls,
        "sigs": sigs,
        "finish": finish,
        "native": native,
        "usage": (prompt, completion, total),
        "details": (
            usage_meta.get("cachedContentTokenCount"),
            usage_meta.get("thoughtsTokenCount"),
            usage_meta.get("toolUsePromptTokenCount"),
        ),
        "grounding": grounding,
        "url_context": url_context,
        "citations": _citations(grounding, text),
    }


def _citations(grounding: Any, text: str) -> list[tuple[str, str, str, int | None]]:
    """(url, title, cited text, start) per support x chunk. Google's offsets are UTF-8 bytes
    into the answer; where they land on the segment's own text, the character offset is
    expected exactly; some Vertex answers drift after a few segments (the bytes there are not
    the segment's text), and then only the cited text is checked."""
    if not grounding:
        return []
    data = text.encode("utf-8")
    out = []
    for support in grounding.get("groundingSupports") or ():
        seg = support["segment"]
        assert "partIndex" not in seg  # offsets count from the start of the answer text
        lo, hi = seg.get("startIndex", 0), seg["endIndex"]
        exact = data[lo:hi].decode("utf-8", "replace") == seg["text"]
        start = len(data[:lo].decode("utf-8")) if exact else None
        for index in support["groundingChunkIndices"]:
            web = grounding["groundingChunks"][index]["web"]
            out.append((web["uri"], web.get("title", ""), seg["text"], start))
    return out


# --------------------------------------------------------------------------- decoding


def fold_stream(events: list[StreamEvent]) -> ChatResult:
    """Stream events -> the ChatResult a client accumulating the deltas would hold."""
    choice = Choice()
    calls: dict[int, ToolCall] = {}
    psf: dict[str, Any] = {}
    usage = None
    for event in events:
        psf.update(event.provider_specific_fields)
        usage = event.usage or usage
        for d in event.choices:
            choice.content = (choice.content or "") + (d.content or "") or None
            if d.reasoning or d.reasoning_signature:
                choice.reasoning.append(ReasoningBlock(d.reasoning or "", d.reasoning_signature))
            for t in d.tool_calls:
                call = calls.setdefault(t.index, ToolCall(t.id or "", t.name or "", ""))
                call.arguments += t.arguments or ""
                call.provider_fields = t.provider_fields or call.provider_fields
            choice.annotations += d.annotations
            choice.finish_reason = d.finish_reason or choice.finish_reason
            choice.native_finish_reason = d.native_finish_reason or choice.native_finish_reason
    # consecutive unsigned thought deltas are one thought
    merged: list[ReasoningBlock] = []
    for block in choice.reasoning:
        if merged and merged[-1].signature is None and block.text and merged[-1].text:
            merged[-1] = ReasoningBlock(merged[-1].text + block.text, block.signature)
        else:
            merged.append(block)
    choice.reasoning = merged
    choice.tool_calls = [calls[i] for i in sorted(calls)]
    first = events[0] if events else StreamEvent()
    return ChatResult(first.id, first.model, [choice], usage=usage, provider_specific_fields=psf)


def run_stream(payloads: list[dict[str, Any]]) -> list[StreamEvent]:
    """Our decoder behind the shared stream layer, as ``polymodal.completion(stream=True)`` runs."""
    state = _StreamState(gemini.StreamDecoder("gemini"))
    events: list[StreamEvent] = []
    for payload in payloads:
        events += state.push(state.decoder.feed(payload))
    return events + state.close()


def decoded(case: Case) -> ChatResult:
    if case.it.streaming:
        return fold_stream(run_stream(case.payloads()))
    return gemini.decode(case.body(), provider="gemini")


def _signatures(choice: Choice) -> dict[str, list[str]]:
    return {
        "thought": [b.signature for b in choice.reasoning if b.signature and b.text],
        "text": [b.signature for b in choice.reasoning if b.signature and not b.text],
        "call": [
            c.provider_fields["thought_signature"] for c in choice.tool_calls if c.provider_fields
        ],
    }


@pytest.mark.parametrize("case", SUCCESSES, ids=lambda c: c.id)
def test_decode(case: Case) -> None:
    want = expected(case.payloads())
    result = decoded(case)
    choice = result.choices[0]
    assert choice.content == want["content"]
    assert choice.reasoning_content == want["reasoning"]
    got_calls = [(c.name, json.loads(c.arguments), c.id) for c in choice.tool_calls]
    assert [(n, a) for n, a, _ in got_calls] == [(n, a) for n, a, _ in want["calls"]]
    for (_, _, ours), (_, _, theirs) in zip(got_calls, want["calls"], strict=True):
        assert ours == theirs if theirs else ours.startswith("call_")
    assert _signatures(choice) == want["sigs"]
    assert (choice.finish_reason, choice.native_finish_reason) == (want["finish"], want["native"])
    usage = result.usage
    assert usage is not None
    assert (usage.prompt_tokens, usage.completion_tokens, usage.total_tokens) == want["usage"]
    assert (usage.cached_tokens, usage.reasoning_tokens, usage.tool_use_prompt_tokens) == want[
        "details"
    ]
    content = choice.content or ""
    citations = [
        (c["url"], c["title"], content[c["start_index"] : c["end_index"]], c["start_index"])
        for c in (a["url_citation"] for a in choice.annotations)
    ]
    assert len(citations) == len(want["citations"])
    for got, (url, title, cited, start) in zip(citations, want["citations"], strict=True):
        assert got[:3] == (url, title, cited)
        assert start is None or got[3] == start
    psf = result.provider_specific_fields
    if want["grounding"]:
        assert psf["vertex_ai_grounding_metadata"][-1] == want["grounding"]
    else:
        assert "vertex_ai_grounding_metadata" not in psf
    if want["url_context"]:
        assert psf["vertex_ai_url_context_metadata"][-1] == want["url_context"]
    if not case.it.streaming:
        body = case.body()
        assert (result.id, result.model) == (body.get("responseId"), body.get("modelVersion"))


@pytest.mark.parametrize("case", [c for c in SUCCESSES if c.it.streaming], ids=lambda c: c.id)
def test_stream_shape(case: Case) -> None:
    """After the shared stream layer: one finishing chunk, last, with the final usage; no usage
    before it (Gemini's counts are cumulative); every chunk has the response id and model."""
    events = run_stream(case.payloads())
    assert events and events[-1].choices[0].finish_reason is not None
    assert [e for e in events if any(c.finish_reason for c in e.choices)] == events[-1:]
    assert events[-1].usage is not None
    assert all(e.usage is None for e in events[:-1])
    last = case.payloads()[-1]
    assert events[-1].usage.total_tokens == last["usageMetadata"]["totalTokenCount"]
    assert {(e.id, e.model) for e in events} == {(last["responseId"], last["modelVersion"])}


def test_stream_decoder_alone_reports_usage_once() -> None:
    """Without the shared layer: usage only on the finishing event (latest cumulative value)."""
    case = BY_ID["pydantic-ai/test_google_stream_usage_is_live_mid_stream#0"]
    decoder = gemini.StreamDecoder()
    events = [decoder.feed(p) for p in case.payloads()]
    assert [e.usage is not None for e in events if e] == [False, False, True]
    assert decoder.finish() is None


def test_decode_keeps_safety_logprobs_code_and_images() -> None:
    """Fields with no OpenAI counterpart reach the result as the recording has them."""
    blocked = BY_ID["pydantic-ai/test_google_model_safety_settings#0"]
    result = decoded(blocked)
    ratings = blocked.body()["candidates"][0]["safetyRatings"]
    assert result.provider_specific_fields["vertex_ai_safety_results"] == [ratings]
    assert result.choices[0].finish_reason == "content_filter"

    case = BY_ID["pydantic-ai/test_google_vertex_logprobs#0"]
    logprobs = case.body()["candidates"][0]["logprobsResult"]
    content = decoded(case).choices[0].logprobs["content"]
    assert [(c["token"], c["logprob"]) for c in content] == [
        (c["token"], c["logProbability"]) for c in logprobs["chosenCandidates"]
    ]
    assert [[t["token"] for t in c["top_logprobs"]] for c in content] == [
        [t["token"] for t in top["candidates"]] for top in logprobs["topCandidates"]
    ]

    case = BY_ID["pydantic-ai/test_code_execution#0"]
    parts = case.body()["candidates"][0]["content"]["parts"]
    code = [p for p in parts if "executableCode" in p or "codeExecutionResult" in p]
    assert decoded(case).choices[0].extra["code_execution"] == code

    case = BY_ID["pydantic-ai/test_google_vertexai_image_generation_with_output_format#0"]
    blob = case.body()["candidates"][0]["content"]["parts"][0]["inlineData"]
    images = decoded(case).choices[0].extra["images"]
    assert images == [
        {"type": "image_url", "image_url": {"url": f"data:image/jpeg;base64,{blob['data']}"}}
    ]

    case = BY_ID["pydantic-ai/test_google_model_armor_response_template_real_block#0"]
    choice = decoded(case).choices[0]
    assert (choice.finish_reason, choice.native_finish_reason) == ("content_filter", "MODEL_ARMOR")
    assert choice.extra["finish_message"] == case.body()["candidates"][0]["finishMessage"]


@pytest.mark.parametrize("case", [c for c in CASES if c.blocked], ids=lambda c: c.id)
def test_blocked_prompt_raises(case: Case) -> None:
    with pytest.raises(errors.ContentPolicyViolationError) as info:
        gemini.decode(case.body(), provider="vertex_ai")
    feedback = case.body()["promptFeedback"]
    assert feedback["blockReason"] in str(info.value)
    assert feedback["blockReasonMessage"] in str(info.value)
    assert info.value.body == case.body()


ERROR_CLASSES = {400: errors.BadRequestError, 404: errors.NotFoundError,
                 429: errors.RateLimitError}  # fmt: skip


@pytest.mark.parametrize("case", [c for c in CASES if c.it.status != 200], ids=lambda c: c.id)
def test_error_bodies(case: Case) -> None:
    cls = ERROR_CLASSES[case.it.status]
    err = errors.error_from_response(
        case.it.status, case.it.response_body, provider="gemini", model=case.model
    )
    assert type(err) is cls
    assert err.message == case.body()["error"]["message"]
    with pytest.raises(cls):  # the same body behind a 2xx (streams) raises the same class
        gemini.decode(case.body())
    if case.it.status == 429:
        assert err.retry_after == pytest.approx(34.4)


# --------------------------------------------------------------------------- discovery schema


@functools.cache
def discovery() -> dict[str, Any]:
    """``aiplatform.v1beta1.json`` from google-api-python-client's discovery cache."""
    import googleapiclient

    path = Path(googleapiclient.__file__).parent / "discovery_cache" / "documents"
    doc: dict[str, Any] = json.loads((path / "aiplatform.v1beta1.json").read_text("utf-8"))
    return doc


REQUEST = "GoogleCloudAiplatformV1beta1GenerateContentRequest"


def camel(key: str) -> str:
    head, *rest = key.split("_")
    return head + "".join(w[:1].upper() + w[1:] for w in rest)


def camelize(value: Any, schema: dict[str, Any]) -> Any:
    """snake_case keys -> camelCase where the discovery schema names the camelCase field; values
    the schema leaves free-form (``args``, ``response``, ``labels``, ``*JsonSchema``) untouched."""
    schemas = discovery()["schemas"]
    while "$ref" in schema:
        schema = schemas[schema["$ref"]]
    if isinstance(value, list) and "items" in schema:
        return [camelize(v, schema["items"]) for v in value]
    if not isinstance(value, dict):
        return value
    props = schema.get("properties")
    if props:
        out = {}
        for key, sub in value.items():
            name = camel(key) if camel(key) in props else key
            out[name] = camelize(sub, props[name]) if name in props else sub
        return out
    extra = schema.get("additionalProperties")
    if isinstance(extra, dict) and ("$ref" in extra or "properties" in extra):
        return {k: camelize(v, extra) for k, v in value.items()}
    return value


# --------------------------------------------------------------------------- normalising


def _drop_nulls(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _drop_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_drop_nulls(v) for v in value]
    return value


def _upper_types(schema: Any) -> Any:
    if isinstance(schema, dict):
        out = {k: _upper_types(v) for k, v in schema.items()}
        if isinstance(out.get("type"), str):
            out["type"] = out["type"].upper()
        if isinstance(schema.get("properties"), dict):
            out["properties"] = {k: _upper_types(v) for k, v in schema["properties"].items()}
        return out
    if isinstance(schema, list):
        return [_upper_types(v) for v in schema]
    return schema


def _with_ordering(schema: Any) -> Any:
    """Rule 10: ``propertyOrdering`` spelled out for response-schema objects that list their
    properties in an order but not the ordering (we always send it, as google-genai does)."""
    if isinstance(schema, dict):
        out = {k: _with_ordering(v) for k, v in schema.items() if k != "properties"}
        props = schema.get("properties")
        if isinstance(props, dict):
            out["properties"] = {k: _with_ordering(v) for k, v in props.items()}
            if len(props) > 1 and "propertyOrdering" not in schema:
                out["propertyOrdering"] = list(props)
        return out
    if isinstance(schema, list):
        return [_with_ordering(v) for v in schema]
    return schema


def _unsigned_thought(part: dict[str, Any]) -> bool:
    return part.get("thought") is True and "thoughtSignature" not in part


def _std_base64(data: str) -> str:
    return data.replace("-", "+").replace("_", "/")


def normalise(body: dict[str, Any]) -> dict[str, Any]:
    """A recorded request as we would send it (the numbered rules of the module docstring)."""
    out: dict[str, Any] = _drop_nulls(camelize(copy.deepcopy(body), {"$ref": REQUEST}))
    gen = out.get("generationConfig")
    if isinstance(gen, dict):
        thinking = gen.get("thinkingConfig")
        if isinstance(thinking, dict):
            if thinking.get("includeThoughts") is False:
                del thinking["includeThoughts"]
            if not thinking:
                del gen["thinkingConfig"]
        if not gen:
            del out["generationConfig"]
    if isinstance(out.get("systemInstruction"), dict):
        out["systemInstruction"].pop("role", None)
    turns: list[dict[str, Any]] = []
    for turn in out.get("contents", ()):
        parts = turn.get("parts", [])
        if turn.get("role") == "model":
            parts = [p for p in parts if p != {"text": ""} and not _unsigned_thought(p)]
        for part in parts:
            blob = part.get("inlineData")
            if blob:
                blob["data"] = _std_base64(blob["data"])
            if "thoughtSignature" in part:
                part["thoughtSignature"] = _std_base64(part["thoughtSignature"])
        if turns and turns[-1]["role"] == turn.get("role"):
            turns[-1]["parts"] += parts
        else:
            turns.append({"role": turn.get("role"), "parts": parts})
    out["contents"] = turns
    if isinstance(gen, dict) and isinstance(gen.get("responseSchema"), dict):
        gen["responseSchema"] = _with_ordering(_upper_types(gen["responseSchema"]))
    declared = []
    for tool in out.get("tools", ()):
        for decl in tool.get("functionDeclarations", ()):
            declared.append(decl["name"])
            if "parameters" in decl:
                decl["parameters"] = _upper_types(decl["parameters"])
    fcc = out.get("toolConfig", {}).get("functionCallingConfig", {})
    if sorted(fcc.get("allowedFunctionNames", ["?"])) == sorted(declared):
        del fcc["allowedFunctionNames"]
    return out


def strip_ids_like(ours: dict[str, Any], recorded: dict[str, Any]) -> dict[str, Any]:
    """Rule 9: drop our call/response ids where the recording sent none."""
    out = copy.deepcopy(ours)
    for turn, theirs in zip(out.get("contents", ()), recorded.get("contents", ()), strict=False):
        for part, their in zip(turn["parts"], theirs["parts"], strict=False):
            for key in ("functionCall", "functionResponse"):
                if key in part and key in their and "id" not in their[key]:
                    part[key].pop("id", None)
    return out


# --------------------------------------------------------------------------- OpenAI-format input


class NotExpressible(Exception):
    """The recorded request uses something the OpenAI format (with our extensions) cannot say."""


def json_schema_of(schema: dict[str, Any]) -> dict[str, Any]:
    """A Gemini ``Schema`` written back as the JSON Schema a user would have passed."""
    out: dict[str, Any] = {}
    order = schema.get("propertyOrdering") or schema.get("property_ordering")
    for key, value in schema.items():
        if key in ("propertyOrdering", "property_ordering"):
            continue
        if key == "type":
            out["type"] = value.lower()
        elif key == "properties":
            names = order or list(value)
            out["properties"] = {n: json_schema_of(value[n]) for n in names}
        elif key == "items":
            out["items"] = json_schema_of(value)
        elif key in ("anyOf", "any_of"):
            out["anyOf"] = [json_schema_of(v) for v in value]
        elif key == "nullable":
            if value:
                out["type"] = [out.get("type", schema["type"].lower()), "null"]
        else:
            out[key] = value
    return out


def _data_url(blob: dict[str, Any]) -> str:
    return f"data:{blob['mimeType']};base64,{_std_base64(blob['data'])}"


def _media(part: dict[str, Any]) -> dict[str, Any]:
    if "inlineData" in part:
        blob = part["inlineData"]
        if blob["mimeType"].startswith("image/"):
            return {"type": "image_url", "image_url": {"url": _data_url(blob)}}
        return {"type": "file", "file": {"file_data": _data_url(blob)}}
    data = part["fileData"]
    if data["mimeType"].startswith("image/"):
        return {
            "type": "image_url",
            "image_url": {"url": data["fileUri"], "format": data["mimeType"]},
        }
    return {"type": "file", "file": {"file_id": data["fileUri"], "format": data["mimeType"]}}


class _Ids:
    """Tool-call ids: the recording's, or made up (and remembered by name) where it has none."""

    def __init__(self) -> None:
        self.pending: list[tuple[str, str]] = []
        self.count = 0

    def call(self, fc: dict[str, Any]) -> str:
        self.count += 1
        call_id = fc.get("id") or f"call_replay_{self.count}"
        self.pending.append((fc["name"], call_id))
        return str(call_id)

    def response(self, fr: dict[str, Any]) -> str:
        for i, (name, call_id) in enumerate(self.pending):
            if fr.get("id") == call_id or (not fr.get("id") and name == fr["name"]):
                del self.pending[i]
                return call_id
        raise NotExpressible(f"functionResponse for {fr['name']} without a matching call")


def _assistant(parts: list[dict[str, Any]], ids: _Ids) -> dict[str, Any]:
    text, blocks, calls, code = "", [], [], []
    for part in parts:
        sig = part.get("thoughtSignature")
        if "functionCall" in part:
            fc = part["functionCall"]
            call: dict[str, Any] = {
                "id": ids.call(fc),
                "type": "function",
                "function": {"name": fc["name"], "arguments": json.dumps(fc.get("args", {}))},
            }
            if sig:
                call["provider_specific_fields"] = {"thought_signature": sig}
            calls.append(call)
        elif part.get("thought"):
            blocks.append({"type": "thinking", "thinking": part["text"], "signature": sig})
        elif "text" in part:
            text += part["text"]
            if sig:
                blocks.append({"type": "thinking", "thinking": "", "signature": sig})
        elif "executableCode" in part or "codeExecutionResult" in part:
            code.append(part)
        else:
            raise NotExpressible(f"model part {sorted(part)}")
    msg: dict[str, Any] = {"role": "assistant", "content": text or None}
    if calls:
        msg["tool_calls"] = calls
    if blocks:
        msg["thinking_blocks"] = blocks
    if code:
        msg["code_execution"] = code
    return msg


def _user(parts: list[dict[str, Any]], ids: _Ids) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    pending: list[dict[str, Any]] = []
    for part in parts:
        if "functionResponse" in part:
            fr = part["functionResponse"]
            content: Any = json.dumps(fr["response"]) if fr.get("response") else ""
            if fr.get("parts"):
                media = [_media(p) for p in fr["parts"]]
                content = ([{"type": "text", "text": content}] if content else []) + media
            out.append({"role": "tool", "tool_call_id": ids.response(fr), "content": content})
        elif "text" in part:
            pending.append({"type": "text", "text": part["text"]})
        else:
            pending.append(_media(part))
        if pending and "functionResponse" in part:
            raise NotExpressible("user content before a function response in one turn")
    if pending:
        out.append({"role": "user", "content": pending})
    return out


@dataclass
class OpenAICall:
    model: str
    dialect: str
    messages: list[Any]
    params: dict[str, Any]


def to_openai(case: Case, replace: dict[int, Any] | None = None) -> OpenAICall:
    """The OpenAI-format call equivalent to the recorded request (``replace``: turn index ->
    assistant message to use instead of the recorded model turn)."""
    body = normalise(case.it.request_body or {})
    info = lookup(case.model, "vertex_ai" if case.dialect == "vertex" else "gemini") or lookup(
        case.model
    )
    json_default = bool(info and info.response_json_schema)
    params: dict[str, Any] = {}
    extra: dict[str, Any] = {}
    messages: list[Any] = [
        {"role": "system", "content": p["text"]}
        for p in body.get("systemInstruction", {}).get("parts", ())
    ]
    ids = _Ids()
    for n, turn in enumerate(body["contents"]):
        if turn["role"] == "model":
            before = len(ids.pending)
            message = _assistant(turn["parts"], ids)
            if replace and n in replace:
                message = replace[n]
                del ids.pending[before:]  # the replacement's calls are the ones answered
                ids.pending += [
                    (c["function"]["name"], c["id"]) for c in message.get("tool_calls", ())
                ]
            messages.append(message)
        else:
            messages += _user(turn["parts"], ids)
    tools: list[dict[str, Any]] = []
    for tool in body.get("tools", ()):
        if "functionDeclarations" not in tool:
            tools.append(tool)
            continue
        for decl in tool["functionDeclarations"]:
            fn: dict[str, Any] = {"name": decl["name"]}
            if "description" in decl:
                fn["description"] = decl["description"]
            if "parametersJsonSchema" in decl:
                fn["parameters"] = decl["parametersJsonSchema"]
                extra["tool_schema_format"] = "json_schema"
            elif "parameters" in decl:
                fn["parameters"] = json_schema_of(decl["parameters"])
            tools.append({"type": "function", "function": fn})
    if tools:
        params["tools"] = tools
    fcc = body.get("toolConfig", {}).get("functionCallingConfig")
    if fcc:
        names = fcc.get("allowedFunctionNames")
        if fcc["mode"] == "ANY" and names and len(names) == 1:
            params["tool_choice"] = {"type": "function", "function": {"name": names[0]}}
        else:
            params["tool_choice"] = {"AUTO": "auto", "NONE": "none", "ANY": "required"}[fcc["mode"]]
            if names:
                extra["tool_config"] = {
                    "function_calling_config": {"allowed_function_names": names}
                }
    gen = dict(body.get("generationConfig", {}))
    for native, ours in (
        ("temperature", "temperature"), ("topP", "top_p"), ("maxOutputTokens", "max_tokens"),
        ("stopSequences", "stop"), ("candidateCount", "n"), ("seed", "seed"),
        ("presencePenalty", "presence_penalty"), ("frequencyPenalty", "frequency_penalty"),
    ):  # fmt: skip
        if native in gen:
            params[ours] = gen.pop(native)
    if gen.pop("responseLogprobs", False):
        params["logprobs"] = True
    if "logprobs" in gen:
        params["top_logprobs"] = gen.pop("logprobs")
    if "responseModalities" in gen:
        params["modalities"] = [m.lower() for m in gen.pop("responseModalities")]
    mime = gen.pop("responseMimeType", None)
    if "responseJsonSchema" in gen:
        spec = {"name": "answer", "schema": gen.pop("responseJsonSchema")}
        params["response_format"] = {"type": "json_schema", "json_schema": spec}
        if not json_default:
            extra["response_schema_format"] = "json_schema"
    elif "responseSchema" in gen:
        spec = {"name": "answer", "schema": json_schema_of(gen.pop("responseSchema"))}
        params["response_format"] = {"type": "json_schema", "json_schema": spec}
        if json_default:
            extra["response_schema_format"] = "openapi"
    elif mime == "application/json":
        params["response_format"] = {"type": "json_object"}
    elif mime is not None:
        raise NotExpressible(f"responseMimeType {mime}")
    thinking = gen.pop("thinkingConfig", None)
    if thinking:
        if "thinkingLevel" in thinking:
            params["reasoning_effort"] = thinking["thinkingLevel"].lower()
        elif thinking.get("thinkingBudget") == 0:
            params["reasoning_effort"] = "none"
        else:
            params["thinking"] = {"type": "enabled"}
            if "thinkingBudget" in thinking:
                params["thinking"]["budget_tokens"] = thinking["thinkingBudget"]
    if "topK" in gen:
        extra["top_k"] = gen.pop("topK")
    if "imageConfig" in gen:
        extra["image_config"] = gen.pop("imageConfig")
    if gen:
        raise NotExpressible(f"generationConfig {sorted(gen)}")
    if "safetySettings" in body:
        params["safety_settings"] = body["safetySettings"]
    if "cachedContent" in body:
        params["cached_content"] = body["cachedContent"]
    for key in ("labels", "modelArmorConfig"):
        if key in body:
            extra[key] = body[key]
    unknown = set(body) - {
        "contents", "systemInstruction", "tools", "toolConfig", "generationConfig",
        "safetySettings", "cachedContent", "labels", "modelArmorConfig",
    }  # fmt: skip
    if unknown:
        raise NotExpressible(f"request fields {sorted(unknown)}")
    if extra:
        params["extra_body"] = extra
    return OpenAICall(case.model, case.dialect, messages, params)


def encode_call(call: OpenAICall) -> dict[str, Any]:
    req = parse_chat(call.model, call.messages, call.params)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # nothing in the corpus may be dropped or changed
        return gemini.encode(req, dialect=call.dialect)


@pytest.mark.parametrize("case", WITH_REQUEST, ids=lambda c: c.id)
def test_encode_equivalent(case: Case) -> None:
    recorded = normalise(case.it.request_body or {})
    ours = encode_call(to_openai(case))
    assert strip_ids_like(ours, recorded) == recorded


# --------------------------------------------------------------------------- multi-turn


@dataclass(frozen=True)
class Chain:
    """Request ``case`` continues ``previous``: turn ``turn`` of it is the decoded answer."""

    previous: Case
    case: Case
    turn: int

    @property
    def id(self) -> str:
        return self.case.id


def _chains() -> list[Chain]:
    out = []
    for prev, case in itertools.pairwise(WITH_REQUEST):
        if prev.it.file != case.it.file or prev.it.status != 200 or prev.blocked:
            continue
        before = normalise(prev.it.request_body or {})["contents"]
        after = normalise(case.it.request_body or {})["contents"]
        n = len(before)
        if after[:n] == before and len(after) > n and after[n]["role"] == "model":
            out.append(Chain(prev, case, n))
    return out


CHAINS = _chains()
# The rendered OpenAI message keeps code execution parts in provider_specific_fields, which
# parse_message does not read back yet (polymodal.openai_format): they are not replayed.
CHAIN_GAPS: set[str] = set()  # chains that cannot replay yet (none)


def test_chain_inventory() -> None:
    assert len(CHAINS) == 24
    assert {c.id for c in CHAINS} >= CHAIN_GAPS
    assert "pydantic-ai/test_code_execution#1" in {c.id for c in CHAINS}


def rendered_turn(chain: Chain) -> dict[str, Any]:
    """The decoded answer to the previous request, as the OpenAI-format message we return,
    with the tool-call ids Gemini did not give renamed to the recording's."""
    message = render_chat(decoded(chain.previous)).choices[0].message.model_dump(exclude_none=True)
    recorded_turn = normalise(chain.case.it.request_body or {})["contents"][chain.turn]
    ids = [p["functionCall"].get("id") for p in recorded_turn["parts"] if "functionCall" in p]
    for call, recorded_id in zip(message.get("tool_calls", ()), ids, strict=True):
        if recorded_id and not call["id"].startswith("call_"):
            assert call["id"] == recorded_id  # Gemini's own id, kept
        elif recorded_id:
            call["id"] = recorded_id
    return message


@pytest.mark.parametrize(
    "chain",
    [
        pytest.param(c, marks=pytest.mark.xfail(strict=True, reason="code_execution not read back"))
        if c.id in CHAIN_GAPS
        else c
        for c in CHAINS
    ],
    ids=lambda c: c.id,
)
def test_multi_turn_replay(chain: Chain) -> None:
    recorded = normalise(chain.case.it.request_body or {})
    turn = recorded["contents"][chain.turn]
    ours = encode_call(to_openai(chain.case, replace={chain.turn: rendered_turn(chain)}))
    ours = strip_ids_like(ours, recorded)
    assert ours["contents"][chain.turn] == turn  # signatures byte for byte, on the same parts
    assert ours == recorded


# --------------------------------------------------------------------------- for the contract test


def replay_bodies() -> list[tuple[str, dict[str, Any]]]:
    """Every body the tests above make our encoder emit (tests/contract validates them)."""
    bodies = [(case.id, encode_call(to_openai(case))) for case in WITH_REQUEST]
    for chain in CHAINS:
        call = to_openai(chain.case, replace={chain.turn: rendered_turn(chain)})
        bodies.append((f"{chain.id}/chained", encode_call(call)))
    return bodies


def recorded_requests() -> list[tuple[str, dict[str, Any]]]:
    """The recorded request bodies, camelCased only (rule 1)."""
    return [
        (case.id, camelize(copy.deepcopy(case.it.request_body), {"$ref": REQUEST}))
        for case in WITH_REQUEST
    ]


# --------------------------------------------------------------------------- schema compiler oracle


def _corpus_json_schemas() -> list[tuple[str, dict[str, Any]]]:
    out: dict[str, tuple[str, dict[str, Any]]] = {}
    for case in WITH_REQUEST:
        body = normalise(case.it.request_body or {})
        found = [body.get("generationConfig", {}).get("responseJsonSchema")]
        for tool in body.get("tools", ()):
            for decl in tool.get("functionDeclarations", ()):
                found.append(decl.get("parametersJsonSchema"))
        for schema in found:
            if schema is not None:
                out.setdefault(json.dumps(schema, sort_keys=True), (case.id, schema))
    return list(out.values())


JSON_SCHEMAS = _corpus_json_schemas()


@pytest.mark.parametrize("where,schema", JSON_SCHEMAS, ids=[w for w, _ in JSON_SCHEMAS])
def test_compiler_agrees_with_google_genai(where: str, schema: dict[str, Any]) -> None:
    """Every JSON Schema the corpus sent, compiled by us and by google-genai's own converter
    (``process_schema`` + ``types.Schema``), gives the same Gemini Schema, except for the two
    documented differences: google-genai adds ``propertyOrdering`` to parameters and keeps
    ``additionalProperties: false`` (Vertex-only; we drop it, Gemini generates only the declared
    properties anyway)."""
    from google.genai import _transformers, types

    from polymodal.schema import to_gemini_schema

    theirs = copy.deepcopy(schema)
    _transformers.process_schema(theirs, None)
    oracle = types.Schema.model_validate(theirs).model_dump(
        mode="json", by_alias=True, exclude_none=True
    )

    def strip(node: Any) -> Any:
        if isinstance(node, dict):
            return {
                k: strip(v)
                for k, v in node.items()
                if k != "propertyOrdering" and not (k == "additionalProperties" and v is False)
            }
        if isinstance(node, list):
            return [strip(v) for v in node]
        return node

    with warnings.catch_warnings():
        warnings.simplefilter("error", SchemaKeywordDroppedWarning)
        assert to_gemini_schema(schema) == strip(oracle)
