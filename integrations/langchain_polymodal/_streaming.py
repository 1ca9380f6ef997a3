"""Core stream events -> LangChain ``AIMessageChunk`` s, one stream at a time.

What the chunks promise, summed with ``+`` as LangChain does:

* ``usage_metadata`` is a per-chunk delta: summing the chunks gives the stream's usage, and
  ``input_tokens`` is non-zero on one chunk only (however often the provider repeats it).
* ``tool_call_chunks`` carry ``index`` / ``id`` / ``name`` / ``args`` pieces that assemble into
  ``tool_calls`` on the aggregate.
* the final chunk has ``chunk_position="last"`` and ``response_metadata`` with
  ``finish_reason``, ``model_name`` (on that chunk only, since LangChain concatenates strings),
  ``id``, ``system_fingerprint`` and ``service_tier``; every chunk has ``model_provider``.
* text is streamed as strings. Once reasoning (or a citation) arrives before any text, the
  stream switches to v1 blocks with an ``index`` each (``reasoning``, ``text``,
  ``tool_call_chunk``), marked ``output_version="v1"``, so the aggregate's ``content_blocks``
  lists reasoning, text with citations, and tool calls in order. Reasoning or citations that
  arrive after text was already streamed as strings go to ``additional_kwargs``
  (``reasoning_content`` / ``annotations``) instead, since strings and blocks don't merge.

Only choice 0 is streamed; the caller refuses ``n > 1`` before the request.
"""

from __future__ import annotations

from typing import Any

from langchain_core.messages import AIMessageChunk
from langchain_core.messages.ai import UsageMetadata
from langchain_core.messages.tool import ToolCallChunk, tool_call_chunk
from langchain_core.outputs import ChatGenerationChunk

from polymodal.types import ChoiceDelta, StreamEvent, Usage

from ._messages import TOOL_FIELDS_KEY
from ._outputs import citation, provider_metadata, reasoning_block, usage_metadata

__all__ = ["ChunkStream"]

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

    __slots__ = ("additional", "calls", "content", "finish_reason", "usage", "v1")

    def __init__(self) -> None:
        self.content: str | list[dict[str, Any]] = ""
        self.calls: list[ToolCallChunk] = []
        self.additional: dict[str, Any] = {}
        self.usage: UsageMetadata | None = None
        self.finish_reason: str | None = None
        self.v1 = False

    @property
    def empty(self) -> bool:
        return not (
            self.content or self.calls or self.additional or self.usage or self.finish_reason
        )


class ChunkStream:
    """Feed :class:`StreamEvent` s with :meth:`push`; call :meth:`close` at the end.

    Content-bearing chunks come out at once; a chunk with a finish reason or usage is held
    until the next one (or the end), so the final chunk can be marked ``last`` and carry
    the response metadata.
    """

    def __init__(self, provider: str, model: str) -> None:
        self.provider = provider
        self.model = model
        self._usage = _UsageDeltas()
        self._blocks = False  # streaming v1 blocks instead of strings
        self._text_seen = False
        self._kind: str | None = None  # kind of the open content block
        self._next_index = 0
        self._index = -1
        self._tool_blocks: dict[int, int] = {}  # tool-call index -> content block index
        self._tool_ids: dict[int, str] = {}
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

    def _blocks_for(self, d: ChoiceDelta) -> list[dict[str, Any]]:
        blocks: list[dict[str, Any]] = []
        if d.reasoning or d.reasoning_signature:
            block = reasoning_block(d.reasoning or "", d.reasoning_signature)
            block["index"] = self._open("reasoning")
            blocks.append(block)
        if d.content or d.annotations:
            text: dict[str, Any] = {
                "type": "text",
                "text": d.content or "",
                "index": self._open("text"),
            }
            if d.annotations:
                text["annotations"] = [citation(a) for a in d.annotations]
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
        return blocks

    def _convert(self, event: StreamEvent) -> _Piece:
        piece = _Piece()
        if event.usage is not None:
            piece.usage = self._usage.delta(event.usage)
        d = next((c for c in event.choices if c.index == 0), None)
        if d is None:
            return piece
        if (
            not self._blocks
            and not self._text_seen
            and (d.reasoning or d.reasoning_signature or d.annotations)
        ):
            self._blocks = True
        if self._blocks:
            piece.content = self._blocks_for(d)
            piece.v1 = True
        else:
            piece.content = d.content or ""
            self._text_seen = self._text_seen or bool(d.content)
            if d.reasoning:
                piece.additional["reasoning_content"] = d.reasoning
            if d.annotations:
                piece.additional["annotations"] = list(d.annotations)
        fields: dict[str, Any] = {}
        for tc in d.tool_calls:
            if tc.id:
                self._tool_ids[tc.index] = tc.id
            piece.calls.append(
                tool_call_chunk(name=tc.name, args=tc.arguments, id=tc.id, index=tc.index)
            )
            call_id = tc.id or self._tool_ids.get(tc.index)
            if tc.provider_fields and call_id:
                fields[call_id] = tc.provider_fields
        if fields:
            piece.additional[TOOL_FIELDS_KEY] = fields
        if d.refusal:
            piece.additional["refusal"] = d.refusal
        if d.finish_reason:
            piece.finish_reason = self._finish_reason = d.finish_reason
        return piece

    def _chunk(self, piece: _Piece | None, last: bool = False) -> ChatGenerationChunk:
        piece = piece or _Piece()
        meta: dict[str, Any] = {"model_provider": self.provider}
        if piece.v1 or (last and self._blocks):
            meta["output_version"] = "v1"
        info: dict[str, Any] | None = None
        event = self._last_event
        if last:
            meta["finish_reason"] = self._finish_reason
            meta["model_name"] = (event.model if event else "") or self.model
            if event is not None and event.id:
                meta["id"] = event.id
            if self._fingerprint is not None:
                meta["system_fingerprint"] = self._fingerprint
            for key, value in provider_metadata(self._extras).items():
                meta.setdefault(key, value)
            info = {"finish_reason": self._finish_reason, "model_name": meta["model_name"]}
        message = AIMessageChunk(
            content=piece.content,  # type: ignore[arg-type]
            additional_kwargs=piece.additional,
            response_metadata=meta,
            tool_call_chunks=piece.calls,
            usage_metadata=piece.usage,
            id=(event.id if event else "") or None,
            chunk_position="last" if last else None,
        )
        return ChatGenerationChunk(message=message, generation_info=info)

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
