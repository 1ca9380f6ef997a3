"""Gemini response pieces -> IR: one place for each mapping, shared by ``decode`` and the stream.

Private to :mod:`polymodal.apis.gemini`; see that module's docstring for the decisions.
"""

from __future__ import annotations

import calendar
import json
import re
import uuid
from dataclasses import dataclass, field
from typing import Any

from polymodal.errors import ContentPolicyViolationError, error_from_response
from polymodal.types import ReasoningBlock, ToolCall, Usage

# finishReason -> OpenAI finish_reason. STOP becomes "tool_calls" when the candidate has calls;
# anything not listed (OTHER, LANGUAGE, MALFORMED_FUNCTION_CALL, UNEXPECTED_TOOL_CALL,
# TOO_MANY_TOOL_CALLS, MISSING_THOUGHT_SIGNATURE, NO_IMAGE, ...) is "stop", with the native value
# kept in ``native_finish_reason``.
FINISH_REASONS = {
    "STOP": "stop",
    "MAX_TOKENS": "length",
    "SAFETY": "content_filter",
    "RECITATION": "content_filter",
    "BLOCKLIST": "content_filter",
    "PROHIBITED_CONTENT": "content_filter",
    "SPII": "content_filter",
    "IMAGE_SAFETY": "content_filter",
    "IMAGE_PROHIBITED_CONTENT": "content_filter",
    "IMAGE_RECITATION": "content_filter",
    "MODEL_ARMOR": "content_filter",
}
MALFORMED = "MALFORMED_FUNCTION_CALL"
# provider_specific_fields keys (one list entry per candidate).
GROUNDING = "vertex_ai_grounding_metadata"
SAFETY = "vertex_ai_safety_results"
CITATIONS = "vertex_ai_citation_metadata"
URL_CONTEXT = "vertex_ai_url_context_metadata"
MALFORMED_KEY = "vertex_ai_malformed_function_call"
_CANDIDATE_FIELDS = (
    ("groundingMetadata", GROUNDING),
    ("safetyRatings", SAFETY),
    ("citationMetadata", CITATIONS),
    ("urlContextMetadata", URL_CONTEXT),
)
# Native parts kept verbatim in ``code_execution`` (server-side code execution).
CODE_PARTS = ("executableCode", "codeExecutionResult")


def finish_reason(native: str | None, has_calls: bool) -> str | None:
    if native is None:
        return None
    mapped = FINISH_REASONS.get(native, "stop")
    return "tool_calls" if mapped == "stop" and native == "STOP" and has_calls else mapped


def new_call_id() -> str:
    return "call_" + uuid.uuid4().hex[:24]


def tool_call(part: dict[str, Any]) -> ToolCall:
    fc = part.get("functionCall") or {}
    sig = part.get("thoughtSignature")
    return ToolCall(
        id=fc.get("id") or new_call_id(),
        name=fc.get("name") or "",
        arguments=json.dumps(fc.get("args") or {}, ensure_ascii=False),
        provider_fields={"thought_signature": sig} if sig else None,
    )


def decode_usage(meta: Any) -> Usage | None:
    """``usageMetadata`` -> Usage with OpenAI's meaning of each count.

    prompt = promptTokenCount + toolUsePromptTokenCount (what is billed as input; the tool-use
    share is also in ``tool_use_prompt_tokens``); completion = candidates + thoughts (thoughts
    also in ``reasoning_tokens``); cached = cachedContentTokenCount (part of the prompt).
    """
    if not isinstance(meta, dict):
        return None
    prompt = meta.get("promptTokenCount") or 0
    tool_use = meta.get("toolUsePromptTokenCount")
    candidates = meta.get("candidatesTokenCount") or 0
    thoughts = meta.get("thoughtsTokenCount")
    prompt_tokens = prompt + (tool_use or 0)
    completion = candidates + (thoughts or 0)
    return Usage(
        prompt_tokens=prompt_tokens,
        completion_tokens=completion,
        total_tokens=meta.get("totalTokenCount") or prompt_tokens + completion,
        cached_tokens=meta.get("cachedContentTokenCount"),
        reasoning_tokens=thoughts,
        tool_use_prompt_tokens=tool_use,
    )


def raise_for_error(body: dict[str, Any], provider: str) -> None:
    """An error object in a 2xx body, or a prompt Google blocked, raises."""
    if "error" in body and not body.get("candidates"):
        err = body["error"]
        code = err.get("code") if isinstance(err, dict) else None
        status = code if isinstance(code, int) and 400 <= code < 600 else 500
        raise error_from_response(status, body, provider=provider, model=body.get("modelVersion"))
    feedback = body.get("promptFeedback")
    if isinstance(feedback, dict) and feedback.get("blockReason") and not body.get("candidates"):
        reason = feedback["blockReason"]
        text = f"the prompt was blocked by Google ({reason})"
        if feedback.get("blockReasonMessage"):
            text += f": {feedback['blockReasonMessage']}"
        ratings = [
            f"{r.get('category')}={r.get('probability')}{' (blocked)' if r.get('blocked') else ''}"
            for r in feedback.get("safetyRatings") or ()
            if isinstance(r, dict)
        ]
        if ratings:
            text += "; safety ratings: " + ", ".join(ratings)
        raise ContentPolicyViolationError(
            text, provider=provider, model=body.get("modelVersion"), body=body, code=reason
        )


_TIME = re.compile(r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})")


def created(body: dict[str, Any]) -> int:
    """``createTime`` (RFC 3339, UTC) as Unix seconds; 0 when absent."""
    match = _TIME.match(str(body.get("createTime") or ""))
    if match is None:
        return 0
    return calendar.timegm((*(int(g) for g in match.groups()), 0, 0, 0))


def logprobs(candidate: dict[str, Any]) -> dict[str, Any] | None:
    """``logprobsResult`` -> OpenAI's ``{"content": [{token, logprob, top_logprobs}]}``."""
    result = candidate.get("logprobsResult")
    if not isinstance(result, dict):
        return None
    top = result.get("topCandidates") or []
    content = []
    for i, chosen in enumerate(result.get("chosenCandidates") or ()):
        alts = top[i].get("candidates") or [] if i < len(top) else []
        content.append(
            {
                "token": chosen.get("token", ""),
                "logprob": chosen.get("logProbability", 0.0),
                "bytes": list(chosen.get("token", "").encode("utf-8")),
                "top_logprobs": [
                    {
                        "token": a.get("token", ""),
                        "logprob": a.get("logProbability", 0.0),
                        "bytes": list(a.get("token", "").encode("utf-8")),
                    }
                    for a in alts
                ],
            }
        )
    return {"content": content}


# --------------------------------------------------------------------------- grounding


def _byte_to_char(data: bytes, offset: int) -> int:
    return len(data[: max(0, offset)].decode("utf-8", "ignore"))


def url_citations(
    metadata: Any, text: str, part_starts: dict[int, int] | None = None
) -> list[dict[str, Any]]:
    """OpenAI ``url_citation`` annotations from ``groundingSupports`` x ``groundingChunks``.

    Segment offsets are UTF-8 byte offsets into the part ``partIndex`` names (``part_starts``
    maps a candidate's part index to where that part's text starts in ``text``); without a
    known part they count from the start of ``text`` (streams: the whole answer so far). The
    result is in characters of ``text``. If the offsets do not land on the segment's own text,
    the segment text is looked up instead.
    """
    if not isinstance(metadata, dict):
        return []
    chunks = metadata.get("groundingChunks") or []
    out: list[dict[str, Any]] = []
    for support in metadata.get("groundingSupports") or ():
        segment = support.get("segment") or {}
        base = 0
        part = segment.get("partIndex")
        if part_starts and isinstance(part, int) and part in part_starts:
            base = part_starts[part]
        scope = text[base:].encode("utf-8")
        start = base + _byte_to_char(scope, int(segment.get("startIndex") or 0))
        end = base + _byte_to_char(scope, int(segment.get("endIndex") or 0))
        quoted = segment.get("text")
        if isinstance(quoted, str) and quoted and text[start:end] != quoted:
            found = text.find(quoted)
            if found >= 0:
                start, end = found, found + len(quoted)
        for index in support.get("groundingChunkIndices") or ():
            if not isinstance(index, int) or not 0 <= index < len(chunks):
                continue
            chunk = chunks[index]
            source = chunk.get("web") or chunk.get("retrievedContext") or chunk.get("maps") or {}
            url = source.get("uri")
            if not url:
                continue
            out.append(
                {
                    "type": "url_citation",
                    "url_citation": {
                        "url": url,
                        "title": source.get("title") or "",
                        "start_index": start,
                        "end_index": end,
                    },
                }
            )
    return out


# --------------------------------------------------------------------------- candidates


@dataclass(slots=True)
class CandidateParts:
    """A candidate's parts sorted into what the IR keeps."""

    text: str = ""
    part_starts: dict[int, int] = field(default_factory=dict)
    reasoning: list[ReasoningBlock] = field(default_factory=list)
    calls: list[ToolCall] = field(default_factory=list)
    code: list[dict[str, Any]] = field(default_factory=list)
    images: list[dict[str, Any]] = field(default_factory=list)


def split_parts(candidate: dict[str, Any]) -> CandidateParts:
    """Thoughts -> reasoning blocks (with their signatures); a signature on an answer text part
    -> a reasoning block with empty text (replayed on the text part next turn); function calls
    -> tool calls (signature in ``provider_fields``); code execution and inline data parts are
    kept verbatim."""
    out = CandidateParts()
    texts: list[str] = []
    length = 0
    for i, part in enumerate((candidate.get("content") or {}).get("parts") or ()):
        if not isinstance(part, dict):
            continue
        sig = part.get("thoughtSignature")
        if "functionCall" in part:
            out.calls.append(tool_call(part))
        elif any(k in part for k in CODE_PARTS):
            out.code.append(part)
        elif "inlineData" in part or "fileData" in part:
            out.images.append(image_entry(part))
        elif part.get("thought") is True:
            out.reasoning.append(ReasoningBlock(part.get("text") or "", sig))
        elif isinstance(part.get("text"), str):
            out.part_starts[i] = length
            texts.append(part["text"])
            length += len(part["text"])
            if sig:
                out.reasoning.append(ReasoningBlock("", sig))
    out.text = "".join(texts)
    return out


def image_entry(part: dict[str, Any]) -> dict[str, Any]:
    """Generated media as an OpenAI-style ``image_url`` entry (data URL or file URI)."""
    if "inlineData" in part:
        blob = part["inlineData"]
        url = (
            f"data:{blob.get('mimeType', 'application/octet-stream')};base64,{blob.get('data', '')}"
        )
    else:
        url = (part.get("fileData") or {}).get("fileUri", "")
    entry: dict[str, Any] = {"type": "image_url", "image_url": {"url": url}}
    if part.get("thoughtSignature"):
        entry["thought_signature"] = part["thoughtSignature"]
    return entry


def candidate_fields(candidates: list[dict[str, Any]]) -> dict[str, Any]:
    """The per-candidate metadata lists for ``provider_specific_fields`` (only present ones)."""
    psf: dict[str, Any] = {}
    for native, key in _CANDIDATE_FIELDS:
        values = [c.get(native) for c in candidates]
        if any(values):
            psf[key] = [v if v is not None else {} for v in values]
    malformed = [
        {"index": c.get("index", i), "finish_message": c.get("finishMessage")}
        for i, c in enumerate(candidates)
        if c.get("finishReason") == MALFORMED
    ]
    if malformed:
        psf[MALFORMED_KEY] = malformed
    return psf


def response_fields(body: dict[str, Any]) -> dict[str, Any]:
    """Response-level fields with no OpenAI counterpart."""
    psf: dict[str, Any] = {}
    if body.get("promptFeedback"):
        psf["vertex_ai_prompt_feedback"] = body["promptFeedback"]
    meta = body.get("usageMetadata")
    if isinstance(meta, dict) and meta.get("trafficType"):
        psf["vertex_ai_traffic_type"] = meta["trafficType"]
    return psf


def service_tier(body: dict[str, Any]) -> str | None:
    meta = body.get("usageMetadata")
    tier = meta.get("serviceTier") if isinstance(meta, dict) else None
    return tier if isinstance(tier, str) else None
