"""Core stream events -> LangChain ``AIMessageChunk`` s, one stream at a time.

What the chunks promise, summed with ``+`` as LangChain does:

* ``usage_metadata`` is a per-chunk delta: summing the chunks gives the stream's usage, and
  ``input_tokens`` is non-zero on one chunk only (however often the provider repeats it).
* ``tool_call_chunks`` carry ``index`` / ``id`` / ``name`` / ``args`` pieces that assemble into
  ``tool_calls`` on the aggregate.
* the final chunk has ``chunk_position="last"`` and ``response_metadata`` with
  ``finish_reason``, ``model_name`` (on that chunk only, since LangChain concatenates strings),
  ``id``, ``system_fingerprint`` and ``service_tier``; every chunk has ``model_provider``.
* content is streamed as strings, or as v1 blocks with an ``index`` each (``reasoning``,
  ``text``, ``tool_call_chunk``) marked ``output_version="v1"``, so that the aggregate's
  ``content_blocks`` lists reasoning, text with its citations, and tool calls in order, as
  ``invoke()`` gives them. Strings and blocks don't merge into one text block, so the choice
  is made before any text: blocks from the first chunk when the request may be answered with
  citations (``blocks=True``: a provider-native tool such as ``googleSearch``,
  ``web_search_options``, a search model -- their citations arrive after the text, with the
  last chunk), and otherwise as soon as reasoning, a signature or a citation arrives before
  text. Citations then go on the text block (the last one streamed, if they come alone).
  Reasoning or citations that still arrive after text was streamed as strings go to
  ``additional_kwargs`` (``reasoning_content`` / ``annotations``).
* signatures: a ``reasoning_signature`` with reasoning text (or while a reasoning block is open,
  as Anthropic sends it) signs that reasoning block, which it closes: the next reasoning opens a
  new block. A signature without reasoning text while text is streaming (or in the same delta
  as text) is the answer text's own (Gemini's ``thoughtSignature`` on a text part): it becomes
  a reasoning block of its own with empty text, as ``invoke()`` gives it, so that it is
  replayed on the text part; after text streamed as strings it goes to
  ``additional_kwargs["text_signatures"]``.

Only choice 0 is streamed (all of its deltas in an event); the caller refuses ``n > 1`` before
the request.
"""

from __future__ import annotations

import json
from typing import Any

from langchain_core.messages import AIMessageChunk
from langchain_core.messages.ai import UsageMetadata
from langchain_core.messages.tool import ToolCallChunk, tool_call_chunk
from langchain_core.outputs import ChatGenerationChunk

from polymodal.types import ChatRequest, ChoiceDelta, StreamEvent, Usage

from ._messages import TEXT_SIGNATURES_KEY, TOOL_FIELDS_KEY
from ._outputs import citation, provider_metadata, reasoning_block, usage_metadata

__all__ = ["ChunkStream", "expects_citations"]

_USAGE_FIELDS = (
    "prompt_tokens",
    "completion_tokens",
    "total_tokens",
    "cached_tokens",
    "cache_creation_tokens",
    "reasoning_tokens",
    "audio_prompt_tokens",
    "audio_completion_tokens",
)


class _UsageDeltas:
    """Turns usage reports into per-chunk deltas.

    A report may be cumulative (OpenAI's single final usage, a provider that repeats its input
    tokens on every event) or partial (input first, output later): each field's delta is how
    far it grew past the largest value seen so far. A token-detail field appears on the chunk
    where it first grew, or where it was first reported.
    """

    __slots__ = ("reported", "seen")

    def __init__(self) -> None:
        self.seen: dict[str, int] = {}
        self.reported = False

    def delta(self, usage: Usage) -> UsageMetadata | None:
        out = Usage()
        changed = not self.reported
        self.reported = True
        for name in _USAGE_FIELDS:
            value = getattr(usage, name)
            if value is None:
                continue
            before = self.seen.get(name)
            step = max(0, value - (before or 0))
            self.seen[name] = max(before or 0, value)
            if step or before is None:
                setattr(out, name, step)
                changed = changed or step > 0
        if not changed:
            return None
        return usage_metadata(out)


class _Piece:
    """One converted event, held back if it may be the last."""

    __slots__ = ("additional", "blocks", "calls", "finish_reason", "text", "usage")

    def __init__(self) -> None:
        self.text = ""
        self.blocks: list[dict[str, Any]] | None = None  # v1 blocks instead of text
        self.calls: list[ToolCallChunk] = []
        self.additional: dict[str, Any] = {}
        self.usage: UsageMetadata | None = None
        self.finish_reason: str | None = None

    @property
    def empty(self) -> bool:
        return not (
            self.text
            or self.blocks
            or self.calls
            or self.additional
            or self.usage
            or self.finish_reason
        )


def expects_citations(request: ChatRequest, model: str) -> bool:
    """Whether the answer may carry citations, which arrive after its text: a provider-native
    tool (``googleSearch``, a web-search tool, ...), ``web_search_options``, a search model."""
    return (
        bool(request.builtin_tools)
        or "web_search_options" in request.passthrough
        or "search" in model.lower()
    )


class ChunkStream:
    """Feed :class:`StreamEvent` s with :meth:`push`; call :meth:`close` at the end.

    Content-bearing chunks come out at once; a chunk with a finish reason or usage is held
    until the next one (or the end), so the final chunk can be marked ``last`` and carry
    the response metadata. ``blocks=True`` streams v1 blocks from the start (see the module
    docstring).
    """

    def __init__(self, provider: str, model: str, *, blocks: bool = False) -> None:
        self.provider = provider
        self.model = model
        self._usage = _UsageDeltas()
        self._blocks = blocks  # streaming v1 blocks instead of strings
        self._text_seen = False
        self._kind: str | None = None  # kind of the open content block
        self._next_index = 0
        self._index = -1
        self._text_index: int | None = None  # block index of the text streamed last
        self._tool_blocks: dict[int, int] = {}  # tool-call index -> content block index
        self._tool_ids: dict[int, str] = {}
        self._cited: set[str] = set()  # annotations already streamed (providers may resend)
        self._held: _Piece | None = None
        self._last_event: StreamEvent | None = None
        self._finish_reason: str | None = None
        self._fingerprint: str | None = None
        self._extras: dict[str, Any] = {}  # provider_specific_fields seen anywhere in the stream

    # -- conversion --------------------------------------------------------------------

    def _open(self, kind: str) -> int:
        if self._kind != kind:
            self._kind = kind
            self._index = self._next_index
            self._next_index += 1
        return self._index

    def _tool_block(self, tool_index: int) -> int:
        if tool_index not in self._tool_blocks:
            self._tool_blocks[tool_index] = self._next_index
            self._next_index += 1
        self._kind = "tool_call_chunk"
        return self._tool_blocks[tool_index]

    def _new_annotations(self, annotations: list[dict[str, Any]]) -> list[dict[str, Any]]:
        fresh = []
        for annotation in annotations:
            key = json.dumps(annotation, sort_keys=True, default=str)
            if key not in self._cited:
                self._cited.add(key)
                fresh.append(annotation)
        return fresh

    def _add_blocks(
        self, blocks: list[dict[str, Any]], d: ChoiceDelta, answer_signature: str | None
    ) -> None:
        signature = None if answer_signature else d.reasoning_signature
        if d.reasoning or signature:
            block = reasoning_block(d.reasoning or "", signature)
            block["index"] = self._open("reasoning")
            blocks.append(block)
            if signature:
                self._kind = None  # a signature ends its thought: more reasoning is a new block
        if answer_signature:
            # The text's own signature: a block of its own, placed before the text it signs.
            block = reasoning_block("", answer_signature)
            block["index"] = self._next_index
            self._next_index += 1
            blocks.append(block)
        annotations = self._new_annotations(d.annotations) if d.annotations else None
        if d.content or annotations:
            if d.content or self._text_index is None:
                self._text_index = self._open("text")
            text: dict[str, Any] = {
                "type": "text",
                "text": d.content or "",
                "index": self._text_index,
            }
            if annotations:
                text["annotations"] = [citation(a) for a in annotations]
            blocks.append(text)
        for tc in d.tool_calls:
            blocks.append(
                {
                    "type": "tool_call_chunk",
                    "id": tc.id,
                    "name": tc.name,
                    "args": tc.arguments,
                    "index": self._tool_block(tc.index),
                }
            )

    def _add_strings(self, piece: _Piece, d: ChoiceDelta, answer_signature: str | None) -> None:
        additional = piece.additional
        if d.reasoning:
            additional["reasoning_content"] = additional.get("reasoning_content", "") + d.reasoning
            self._kind = "reasoning"
        if d.content:
            piece.text += d.content
            self._text_seen = True
            self._kind = "text"
        if answer_signature:
            additional.setdefault(TEXT_SIGNATURES_KEY, []).append(answer_signature)
        annotations = self._new_annotations(d.annotations) if d.annotations else None
        if annotations:
            additional.setdefault("annotations", []).extend(annotations)

    def _add(self, piece: _Piece, d: ChoiceDelta) -> None:
        # A signature without reasoning text, in the same delta as text or while text (not a
        # thought) is streaming, signs the answer text rather than a thought.
        answer_signature = None
        if (
            d.reasoning_signature
            and d.reasoning is None
            and (d.content or self._kind != "reasoning")
        ):
            answer_signature = d.reasoning_signature
        if (
            not self._blocks
            and not self._text_seen
            and (d.reasoning or d.reasoning_signature or d.annotations)
        ):
            self._blocks = True
        if self._blocks:
            if piece.blocks is None:
                piece.blocks = []
            self._add_blocks(piece.blocks, d, answer_signature)
        else:
            self._add_strings(piece, d, answer_signature)
        calls = d.tool_calls
        if calls:
            fields: dict[str, Any] = {}
            for tc in calls:
                if tc.id:
                    self._tool_ids[tc.index] = tc.id
                piece.calls.append(
                    tool_call_chunk(name=tc.name, args=tc.arguments, id=tc.id, index=tc.index)
                )
                call_id = tc.id or self._tool_ids.get(tc.index)
                if tc.provider_fields and call_id:
                    fields[call_id] = tc.provider_fields
            if fields:
                piece.additional.setdefault(TOOL_FIELDS_KEY, {}).update(fields)
        if d.refusal:
            piece.additional["refusal"] = piece.additional.get("refusal", "") + d.refusal
        if d.finish_reason:
            piece.finish_reason = self._finish_reason = d.finish_reason

    def _convert(self, event: StreamEvent) -> _Piece:
        piece = _Piece()
        if event.usage is not None:
            piece.usage = self._usage.delta(event.usage)
        for d in event.choices:
            if d.index == 0:  # a provider may split one choice's parts over several deltas
                self._add(piece, d)
        return piece

    def _chunk(self, piece: _Piece | None, last: bool = False) -> ChatGenerationChunk:
        meta: dict[str, Any] = {"model_provider": self.provider}
        # Only the fields that are set: each keyword costs langchain-core validation time.
        fields: dict[str, Any] = {"response_metadata": meta}
        if piece is not None:
            fields["content"] = piece.text if piece.blocks is None else piece.blocks
            if piece.additional:
                fields["additional_kwargs"] = piece.additional
            if piece.calls:
                fields["tool_call_chunks"] = piece.calls
            if piece.usage is not None:
                fields["usage_metadata"] = piece.usage
        else:
            fields["content"] = [] if self._blocks else ""
        if (piece is not None and piece.blocks is not None) or (last and self._blocks):
            meta["output_version"] = "v1"
        event = self._last_event
        if event is not None and event.id:
            fields["id"] = event.id
        if not last:
            return ChatGenerationChunk(message=AIMessageChunk(**fields))
        meta["finish_reason"] = self._finish_reason
        meta["model_name"] = (event.model if event else "") or self.model
        if event is not None and event.id:
            meta["id"] = event.id
        if self._fingerprint is not None:
            meta["system_fingerprint"] = self._fingerprint
        for key, value in provider_metadata(self._extras).items():
            meta.setdefault(key, value)
        fields["chunk_position"] = "last"
        info = {"finish_reason": self._finish_reason, "model_name": meta["model_name"]}
        return ChatGenerationChunk(message=AIMessageChunk(**fields), generation_info=info)

    # -- driving -----------------------------------------------------------------------

    def push(self, event: StreamEvent) -> list[ChatGenerationChunk]:
        """The chunks ready to hand out after ``event``."""
        self._last_event = event
        if event.system_fingerprint is not None:
            self._fingerprint = event.system_fingerprint
        # The latest value wins: providers resend cumulative results (grounding, safety).
        self._extras.update(event.provider_specific_fields)
        piece = self._convert(event)
        if piece.empty:
            return []
        out = []
        if self._held is not None:
            out.append(self._chunk(self._held))
            self._held = None
        if piece.finish_reason or piece.usage is not None:
            self._held = piece
        else:
            out.append(self._chunk(piece))
        return out

    def close(self) -> ChatGenerationChunk:
        """The final chunk (``chunk_position="last"``), carrying the response metadata."""
        held, self._held = self._held, None
        return self._chunk(held, last=True)
