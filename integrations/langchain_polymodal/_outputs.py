"""Core IR results -> LangChain ``AIMessage`` / ``ChatResult``.

Content shape: an answer that is only text (and tool calls) has string ``content``, which every
LangChain consumer and every provider's block translator reads correctly. An answer with
reasoning or citations carries v1 standard content blocks (``reasoning``, ``text`` with
``citation`` annotations, ``tool_call``) and says so with ``response_metadata["output_version"]
= "v1"``, so ``content_blocks`` returns them as they are.

``response_metadata["model_provider"]`` is the routed provider (``"openai"``, ``"azure"``, ...).
Opaque per-call provider state is kept in ``additional_kwargs["tool_call_provider_fields"]`` and
replayed by :mod:`langchain_polymodal._messages`.
"""

from __future__ import annotations

import json
from typing import Any, cast

from langchain_core.messages import AIMessage, InvalidToolCall
from langchain_core.messages.ai import InputTokenDetails, OutputTokenDetails, UsageMetadata
from langchain_core.messages.tool import ToolCall as LCToolCall
from langchain_core.messages.tool import invalid_tool_call, tool_call
from langchain_core.outputs import ChatGeneration
from langchain_core.outputs import ChatResult as LCChatResult

from polymodal.types import ChatResult, Choice, ReasoningBlock, ToolCall, Usage

from ._messages import TOOL_FIELDS_KEY

__all__ = [
    "citation",
    "parse_tool_calls",
    "reasoning_block",
    "to_ai_message",
    "to_chat_result",
    "usage_metadata",
]

_CITATION_FIELDS = ("url", "title", "start_index", "end_index", "cited_text")


# --------------------------------------------------------------------------- usage


def _details(**values: int | None) -> dict[str, int]:
    return {k: v for k, v in values.items() if v is not None}


def usage_metadata(usage: Usage) -> UsageMetadata:
    """OpenAI-semantics usage (prompt tokens include cached ones) as LangChain's UsageMetadata."""
    # A cast, not a literal: langchain-core spells the optional keys with typing.NotRequired,
    # which a type checker targeting Python 3.10 reads as required.
    out = cast(
        "UsageMetadata",
        {
            "input_tokens": usage.prompt_tokens,
            "output_tokens": usage.completion_tokens,
            "total_tokens": usage.total_tokens or usage.prompt_tokens + usage.completion_tokens,
        },
    )
    inputs = _details(
        cache_read=usage.cached_tokens,
        cache_creation=usage.cache_creation_tokens,
        audio=usage.audio_prompt_tokens,
    )
    if inputs:
        out["input_token_details"] = InputTokenDetails(**inputs)  # type: ignore[typeddict-item]
    outputs = _details(reasoning=usage.reasoning_tokens, audio=usage.audio_completion_tokens)
    if outputs:
        out["output_token_details"] = OutputTokenDetails(**outputs)  # type: ignore[typeddict-item]
    return out


# --------------------------------------------------------------------------- blocks


def citation(annotation: dict[str, Any]) -> dict[str, Any]:
    """An OpenAI-format annotation as a v1 annotation (``citation`` or non-standard)."""
    kind = annotation.get("type")
    if kind == "citation":
        return annotation
    if kind != "url_citation":
        return {"type": "non_standard_annotation", "value": annotation}
    # Chat Completions nests the fields under "url_citation"; the Responses API does not.
    nested = annotation.get("url_citation")
    fields = nested if isinstance(nested, dict) else annotation
    out: dict[str, Any] = {"type": "citation"}
    extras: dict[str, Any] = {}
    for key, value in fields.items():
        if key in _CITATION_FIELDS:
            out[key] = value
        elif key != "type":
            extras[key] = value
    if extras:
        out["extras"] = extras
    return out


def reasoning_block(
    text: str, signature: str | None = None, redacted: str | None = None
) -> dict[str, Any]:
    block: dict[str, Any] = {"type": "reasoning", "reasoning": text}
    extras = {k: v for k, v in (("signature", signature), ("redacted", redacted)) if v is not None}
    if extras:
        block["extras"] = extras
    return block


def _reasoning(block: ReasoningBlock) -> dict[str, Any]:
    return reasoning_block(block.text, block.signature, block.redacted)


# --------------------------------------------------------------------------- tool calls


def parse_tool_calls(calls: list[ToolCall]) -> tuple[list[LCToolCall], list[InvalidToolCall]]:
    """Parsed calls, and the ones whose arguments are not a JSON object."""
    valid: list[LCToolCall] = []
    invalid: list[InvalidToolCall] = []
    for call in calls:
        raw = call.arguments
        try:
            args = json.loads(raw) if raw.strip() else {}
        except ValueError as exc:
            invalid.append(
                invalid_tool_call(
                    name=call.name,
                    args=raw,
                    id=call.id,
                    error=f"arguments are not valid JSON: {exc}",
                )
            )
            continue
        if not isinstance(args, dict):
            invalid.append(
                invalid_tool_call(
                    name=call.name, args=raw, id=call.id, error="arguments are not a JSON object"
                )
            )
            continue
        valid.append(tool_call(name=call.name, args=args, id=call.id))
    return valid, invalid


# --------------------------------------------------------------------------- messages


def _block_content(
    choice: Choice,
    calls: list[LCToolCall],
    invalid: list[InvalidToolCall],
    fields: dict[str, Any],
) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = [_reasoning(r) for r in choice.reasoning]
    if choice.content or choice.annotations:
        text: dict[str, Any] = {"type": "text", "text": choice.content or ""}
        if choice.annotations:
            text["annotations"] = [citation(a) for a in choice.annotations]
        blocks.append(text)
    if choice.refusal:
        blocks.append({"type": "refusal", "refusal": choice.refusal})
    for call in calls:
        block: dict[str, Any] = {"type": "tool_call", **call}
        if call["id"] in fields:
            block["extras"] = {"provider_fields": fields[call["id"]]}
        blocks.append(block)
    blocks.extend({**bad, "type": "invalid_tool_call"} for bad in invalid)
    return blocks


def response_metadata(result: ChatResult, choice: Choice, provider: str) -> dict[str, Any]:
    meta: dict[str, Any] = {
        "model_provider": provider,
        "model_name": result.model,
        "finish_reason": choice.finish_reason,
    }
    if result.id:
        meta["id"] = result.id
    for key in ("system_fingerprint", "service_tier"):
        value = getattr(result, key)
        if value is not None:
            meta[key] = value
    if choice.native_finish_reason and choice.native_finish_reason != choice.finish_reason:
        meta["native_finish_reason"] = choice.native_finish_reason
    if choice.logprobs is not None:
        meta["logprobs"] = choice.logprobs
    for key, value in provider_metadata(result.provider_specific_fields, choice.index).items():
        meta.setdefault(key, value)
    return meta


# Provider results under the names LangChain users look for (one entry per choice/candidate).
_SHORT_NAMES = {
    "vertex_ai_grounding_metadata": "grounding_metadata",
    "vertex_ai_safety_results": "safety_ratings",
    "vertex_ai_citation_metadata": "citation_metadata",
    "vertex_ai_url_context_metadata": "url_context_metadata",
}


def provider_metadata(fields: dict[str, Any], index: int = 0) -> dict[str, Any]:
    """``provider_specific_fields`` as response metadata: every key as given, plus the short
    names (``grounding_metadata``, ``safety_ratings``, ...) holding this choice's entry."""
    meta = dict(fields)
    for key, short in _SHORT_NAMES.items():
        value = fields.get(key)
        if isinstance(value, list):
            value = value[index] if index < len(value) else None
        if value is not None:
            meta[short] = value
    return meta


def to_ai_message(result: ChatResult, choice: Choice, provider: str) -> AIMessage:
    calls, invalid = parse_tool_calls(choice.tool_calls)
    fields = {c.id: c.provider_fields for c in choice.tool_calls if c.provider_fields}
    additional: dict[str, Any] = dict(choice.extra)
    if fields:
        additional[TOOL_FIELDS_KEY] = fields
    if choice.refusal:
        additional["refusal"] = choice.refusal
    meta = response_metadata(result, choice, provider)
    content: str | list[str | dict[Any, Any]]
    if choice.reasoning or choice.annotations:
        content = list(_block_content(choice, calls, invalid, fields))
        meta["output_version"] = "v1"
    else:
        content = choice.content or ""
    return AIMessage(
        content=content,
        additional_kwargs=additional,
        response_metadata=meta,
        tool_calls=calls,
        invalid_tool_calls=invalid,
        usage_metadata=usage_metadata(result.usage) if result.usage is not None else None,
        id=result.id or None,
    )


def to_chat_result(result: ChatResult, provider: str) -> LCChatResult:
    generations = []
    for choice in result.choices:
        info: dict[str, Any] = {"finish_reason": choice.finish_reason}
        if choice.logprobs is not None:
            info["logprobs"] = choice.logprobs
        generations.append(
            ChatGeneration(message=to_ai_message(result, choice, provider), generation_info=info)
        )
    llm_output: dict[str, Any] = {"model_name": result.model, "model_provider": provider}
    if result.usage is not None:
        llm_output["token_usage"] = {
            "prompt_tokens": result.usage.prompt_tokens,
            "completion_tokens": result.usage.completion_tokens,
            "total_tokens": result.usage.total_tokens,
        }
    if result.system_fingerprint:
        llm_output["system_fingerprint"] = result.system_fingerprint
    if result.id:
        llm_output["id"] = result.id
    return LCChatResult(generations=generations, llm_output=llm_output)
