"""LangChain messages <-> core IR (langchain_polymodal._messages / _outputs / _streaming).

Every expected value is written out by hand from the LangChain and OpenAI documentation of the
shapes involved, not computed by the code under test.
"""

from __future__ import annotations

import base64
from typing import Any

import pytest
from langchain_core.messages import (
    AIMessage,
    AIMessageChunk,
    ChatMessage,
    HumanMessage,
    SystemMessage,
    ToolMessage,
)

from langchain_polymodal._messages import to_ir_message, to_ir_messages
from langchain_polymodal._outputs import to_ai_message, to_chat_result
from langchain_polymodal._streaming import ChunkStream
from polymodal.types import (
    AudioPart,
    ChatResult,
    Choice,
    ChoiceDelta,
    FilePart,
    ImagePart,
    MediaSource,
    Message,
    ReasoningBlock,
    StreamEvent,
    TextPart,
    ToolCall,
    ToolCallDelta,
    Usage,
    VideoPart,
)

PNG_B64 = (
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQ"
    "AAAABJRU5ErkJggg=="
)
PDF_B64 = base64.b64encode(b"%PDF-1.4 tiny").decode()
WAV_B64 = base64.b64encode(b"RIFF....WAVEfmt ").decode()


# =========================================================================== inputs


def test_plain_messages() -> None:
    got = to_ir_messages(
        [
            SystemMessage("be brief"),
            HumanMessage("hi", name="ann"),
            AIMessage("hello"),
            ToolMessage("42", tool_call_id="call_1"),
        ]
    )
    assert got == [
        Message("system", "be brief"),
        Message("user", "hi", name="ann"),
        Message("assistant", "hello"),
        Message("tool", "42", tool_call_id="call_1"),
    ]


def test_empty_ai_message_keeps_empty_content() -> None:
    assert to_ir_message(AIMessage("")) == Message("assistant", "")
    assert to_ir_message(AIMessage([])) == Message("assistant", "")


def test_developer_role_and_chat_message() -> None:
    dev = SystemMessage("rules", additional_kwargs={"__openai_role__": "developer"})
    assert to_ir_message(dev) == Message("developer", "rules")
    assert to_ir_message(ChatMessage(role="user", content="x")) == Message("user", "x")
    with pytest.raises(ValueError, match="role 'wizard'"):
        to_ir_message(ChatMessage(role="wizard", content="x"))


def test_v1_standard_blocks() -> None:
    msg = HumanMessage(
        content_blocks=[
            {"type": "text", "text": "look"},
            {"type": "image", "url": "https://example.com/cat.jpg"},
            {"type": "image", "base64": PNG_B64, "mime_type": "image/png"},
            {"type": "image", "file_id": "file-abc"},
            {
                "type": "file",
                "base64": PDF_B64,
                "mime_type": "application/pdf",
                "extras": {"filename": "doc.pdf"},
            },
            {"type": "file", "url": "gs://bucket/report.pdf", "mime_type": "application/pdf"},
            {"type": "audio", "base64": WAV_B64, "mime_type": "audio/wav"},
            {"type": "audio", "base64": WAV_B64, "mime_type": "audio/mpeg"},
            {"type": "video", "url": "https://example.com/clip.mp4", "mime_type": "video/mp4"},
            {"type": "text-plain", "text": "notes", "mime_type": "text/plain", "title": "n.txt"},
        ]
    )
    assert to_ir_message(msg).content == [
        TextPart("look"),
        ImagePart(MediaSource(url="https://example.com/cat.jpg")),
        ImagePart(MediaSource(data=PNG_B64, mime_type="image/png")),
        ImagePart(MediaSource(file_id="file-abc")),
        FilePart(MediaSource(data=PDF_B64, mime_type="application/pdf", filename="doc.pdf")),
        FilePart(MediaSource(url="gs://bucket/report.pdf", mime_type="application/pdf")),
        AudioPart(MediaSource(data=WAV_B64, mime_type="audio/wav"), "wav"),
        AudioPart(MediaSource(data=WAV_B64, mime_type="audio/mpeg"), "mp3"),
        VideoPart(MediaSource(url="https://example.com/clip.mp4", mime_type="video/mp4")),
        FilePart(MediaSource(data="bm90ZXM=", mime_type="text/plain", filename="n.txt")),
    ]


def test_v1_image_with_data_url_and_detail() -> None:
    msg = HumanMessage(
        content=[
            {
                "type": "image",
                "url": f"data:image/png;base64,{PNG_B64}",
                "extras": {"detail": "low"},
            }
        ]
    )
    assert to_ir_message(msg).content == [
        ImagePart(MediaSource(data=PNG_B64, mime_type="image/png"), "low")
    ]


def test_base64_without_mime_type_is_sniffed() -> None:
    msg = HumanMessage(content=[{"type": "image", "base64": PNG_B64}])
    assert to_ir_message(msg).content == [
        ImagePart(MediaSource(data=PNG_B64, mime_type="image/png"))
    ]


def test_legacy_langchain_data_blocks() -> None:
    msg = HumanMessage(
        content=[
            {"type": "image", "source_type": "url", "url": "https://example.com/a.png"},
            {"type": "image", "source_type": "base64", "data": PNG_B64, "mime_type": "image/png"},
            {"type": "file", "source_type": "id", "id": "file-9"},
            {"type": "file", "source_type": "text", "text": "hi", "mime_type": "text/plain"},
        ]
    )
    assert to_ir_message(msg).content == [
        ImagePart(MediaSource(url="https://example.com/a.png")),
        ImagePart(MediaSource(data=PNG_B64, mime_type="image/png")),
        FilePart(MediaSource(file_id="file-9")),
        FilePart(MediaSource(data="aGk=", mime_type="text/plain")),
    ]


def test_openai_style_parts() -> None:
    msg = HumanMessage(
        content=[
            {"type": "image_url", "image_url": "https://example.com/a.jpg"},
            {
                "type": "image_url",
                "image_url": {
                    "url": "gs://bucket/b.heic",
                    "detail": "high",
                    "format": "image/heic",
                },
            },
            {"type": "input_audio", "input_audio": {"data": WAV_B64, "format": "mp3"}},
            {
                "type": "file",
                "file": {
                    "file_data": f"data:application/pdf;base64,{PDF_B64}",
                    "filename": "x.pdf",
                },
            },
            {"type": "file", "file": {"file_id": "file-77"}},
            {"type": "video_url", "video_url": {"url": "https://example.com/v.mp4"}},
        ]
    )
    assert to_ir_message(msg).content == [
        ImagePart(MediaSource(url="https://example.com/a.jpg")),
        ImagePart(MediaSource(url="gs://bucket/b.heic", mime_type="image/heic"), "high"),
        AudioPart(MediaSource(data=WAV_B64, mime_type="audio/mpeg"), "mp3"),
        FilePart(MediaSource(data=PDF_B64, mime_type="application/pdf", filename="x.pdf")),
        FilePart(MediaSource(file_id="file-77")),
        VideoPart(MediaSource(url="https://example.com/v.mp4")),
    ]


def test_unknown_block_is_refused_not_dropped() -> None:
    with pytest.raises(ValueError, match=r"messages\[3\]\.content\[0\].*'hologram'"):
        to_ir_message(HumanMessage(content=[{"type": "hologram", "x": 1}]), 3)
    with pytest.raises(ValueError, match="needs 'url', 'base64' or 'file_id'"):
        to_ir_message(HumanMessage(content=[{"type": "image", "mime_type": "image/png"}]))


def test_local_file_urls_are_refused() -> None:
    from polymodal.errors import MediaFetchError

    with pytest.raises(MediaFetchError, match="file:"):
        to_ir_message(HumanMessage(content=[{"type": "image", "url": "file:///etc/passwd"}]))


def test_tool_message_with_list_content() -> None:
    msg = ToolMessage(
        content=[
            {"type": "text", "text": "chart:"},
            {"type": "image", "url": "https://e.com/c.png"},
        ],
        tool_call_id="call_9",
    )
    assert to_ir_message(msg) == Message(
        "tool",
        [TextPart("chart:"), ImagePart(MediaSource(url="https://e.com/c.png"))],
        tool_call_id="call_9",
    )


def test_ai_tool_calls_become_json_text() -> None:
    msg = AIMessage(
        "",
        tool_calls=[
            {"name": "get_weather", "args": {"city": "Paris"}, "id": "call_1"},
            {"name": "now", "args": {}, "id": "call_2"},
        ],
    )
    assert to_ir_message(msg) == Message(
        "assistant",
        None,
        tool_calls=[
            ToolCall("call_1", "get_weather", '{"city": "Paris"}'),
            ToolCall("call_2", "now", "{}"),
        ],
    )


def test_ai_message_of_another_provider_keeps_its_reasoning_signature() -> None:
    msg = AIMessage(
        content=[
            {"type": "thinking", "thinking": "hmm", "signature": "sig-1"},
            {"type": "text", "text": "hi"},
        ],
        response_metadata={"model_provider": "anthropic"},
    )
    assert to_ir_message(msg) == Message(
        "assistant", "hi", reasoning=[ReasoningBlock("hmm", signature="sig-1")]
    )


def test_ai_reasoning_content_in_additional_kwargs() -> None:
    msg = AIMessage("42", additional_kwargs={"reasoning_content": "6*7"})
    assert to_ir_message(msg).reasoning == [ReasoningBlock("6*7")]


# =========================================================================== outputs


def _result(choice: Choice, usage: Usage | None = None, **kw: Any) -> ChatResult:
    return ChatResult(
        id="chatcmpl-1",
        model="gpt-4o-2024-08-06",
        choices=[choice],
        usage=usage,
        system_fingerprint="fp_1",
        service_tier="default",
        provider="openai",
        **kw,
    )


def test_text_answer() -> None:
    usage = Usage(
        prompt_tokens=100,
        completion_tokens=20,
        total_tokens=120,
        cached_tokens=64,
        reasoning_tokens=5,
        audio_prompt_tokens=0,
    )
    choice = Choice(content="Hello!", finish_reason="stop", native_finish_reason="stop")
    msg = to_ai_message(
        _result(choice, usage, provider_specific_fields={"citations": ["https://a"]}),
        choice,
        "openai",
    )
    assert msg.content == "Hello!"
    assert msg.id == "chatcmpl-1"
    assert msg.usage_metadata == {
        "input_tokens": 100,
        "output_tokens": 20,
        "total_tokens": 120,
        "input_token_details": {"cache_read": 64, "audio": 0},
        "output_token_details": {"reasoning": 5},
    }
    assert msg.response_metadata == {
        "model_provider": "openai",
        "model_name": "gpt-4o-2024-08-06",
        "finish_reason": "stop",
        "id": "chatcmpl-1",
        "system_fingerprint": "fp_1",
        "service_tier": "default",
        "citations": ["https://a"],
    }
    assert msg.content_blocks == [{"type": "text", "text": "Hello!"}]


def test_tool_calls_valid_and_invalid() -> None:
    choice = Choice(
        tool_calls=[
            ToolCall("call_1", "add", '{"a": 1, "b": 2}'),
            ToolCall("call_2", "add", '{"a": 1,'),
            ToolCall("call_3", "add", "[1, 2]"),
            ToolCall("call_4", "now", ""),
        ],
        finish_reason="tool_calls",
    )
    msg = to_ai_message(_result(choice), choice, "openai")
    assert msg.content == ""
    assert msg.tool_calls == [
        {"name": "add", "args": {"a": 1, "b": 2}, "id": "call_1", "type": "tool_call"},
        {"name": "now", "args": {}, "id": "call_4", "type": "tool_call"},
    ]
    assert [(c["id"], c["args"]) for c in msg.invalid_tool_calls] == [
        ("call_2", '{"a": 1,'),
        ("call_3", "[1, 2]"),
    ]
    assert msg.invalid_tool_calls[0]["error"].startswith("arguments are not valid JSON")
    assert msg.invalid_tool_calls[1]["error"] == "arguments are not a JSON object"
    assert msg.content_blocks == [
        {"type": "tool_call", "name": "add", "args": {"a": 1, "b": 2}, "id": "call_1"},
        {"type": "tool_call", "name": "now", "args": {}, "id": "call_4"},
    ]


def test_reasoning_and_citations_as_v1_blocks() -> None:
    choice = Choice(
        content="Paris is the capital.",
        reasoning=[ReasoningBlock("The user asks about France.", signature="c2ln")],
        annotations=[
            {
                "type": "url_citation",
                "url_citation": {
                    "url": "https://en.wikipedia.org/wiki/Paris",
                    "title": "Paris",
                    "start_index": 0,
                    "end_index": 5,
                },
            }
        ],
        finish_reason="stop",
    )
    msg = to_ai_message(_result(choice), choice, "openai")
    expected = [
        {
            "type": "reasoning",
            "reasoning": "The user asks about France.",
            "extras": {"signature": "c2ln"},
        },
        {
            "type": "text",
            "text": "Paris is the capital.",
            "annotations": [
                {
                    "type": "citation",
                    "url": "https://en.wikipedia.org/wiki/Paris",
                    "title": "Paris",
                    "start_index": 0,
                    "end_index": 5,
                }
            ],
        },
    ]
    assert msg.content == expected
    assert msg.content_blocks == expected
    assert msg.response_metadata["output_version"] == "v1"
    assert msg.text == "Paris is the capital."


def test_reasoning_round_trip_with_tool_call_provider_fields() -> None:
    """Opaque provider state on an answer comes back unchanged when the answer is replayed."""
    choice = Choice(
        content=None,
        reasoning=[
            ReasoningBlock("plan", signature="sig=="),
            ReasoningBlock(redacted="b64-secret"),
        ],
        tool_calls=[
            ToolCall(
                "call_1", "lookup", '{"q": "x"}', provider_fields={"thought_signature": "ts=="}
            )
        ],
        finish_reason="tool_calls",
    )
    msg = to_ai_message(_result(choice), choice, "vertex_ai")
    assert msg.additional_kwargs["tool_call_provider_fields"] == {
        "call_1": {"thought_signature": "ts=="}
    }
    assert to_ir_message(msg) == Message(
        "assistant",
        None,
        tool_calls=[
            ToolCall(
                "call_1", "lookup", '{"q": "x"}', provider_fields={"thought_signature": "ts=="}
            )
        ],
        reasoning=[
            ReasoningBlock("plan", signature="sig=="),
            ReasoningBlock("", redacted="b64-secret"),
        ],
    )


def test_refusal_is_kept() -> None:
    choice = Choice(refusal="I can't help with that.", finish_reason="stop")
    msg = to_ai_message(_result(choice), choice, "openai")
    assert msg.additional_kwargs["refusal"] == "I can't help with that."
    assert {"type": "refusal", "refusal": "I can't help with that."} in msg.content_blocks


def test_chat_result_with_two_choices() -> None:
    a = Choice(index=0, content="one", finish_reason="stop")
    b = Choice(index=1, content="two", finish_reason="length")
    usage = Usage(prompt_tokens=3, completion_tokens=4, total_tokens=7)
    out = to_chat_result(
        ChatResult(id="x", model="m", choices=[a, b], usage=usage, provider="openai"), "openai"
    )
    assert [g.message.content for g in out.generations] == ["one", "two"]
    assert [g.generation_info for g in out.generations] == [
        {"finish_reason": "stop"},
        {"finish_reason": "length"},
    ]
    assert out.llm_output == {
        "model_name": "m",
        "model_provider": "openai",
        "token_usage": {"prompt_tokens": 3, "completion_tokens": 4, "total_tokens": 7},
        "id": "x",
    }


# =========================================================================== streaming


def _ev(*deltas: ChoiceDelta, usage: Usage | None = None) -> StreamEvent:
    return StreamEvent(
        id="chatcmpl-s", model="gpt-4o", created=1, choices=list(deltas), usage=usage
    )


def _run(events: list[StreamEvent], *, blocks: bool = False) -> list[AIMessageChunk]:
    stream = ChunkStream("openai", "gpt-4o", blocks=blocks)
    out = [c for e in events for c in stream.push(e)]
    out.append(stream.close())
    chunks = []
    for c in out:
        assert isinstance(c.message, AIMessageChunk)
        chunks.append(c.message)
    return chunks


def _sum(chunks: list[AIMessageChunk]) -> AIMessageChunk:
    total = chunks[0]
    for c in chunks[1:]:
        total = total + c
    return total


def test_text_stream() -> None:
    chunks = _run(
        [
            _ev(ChoiceDelta(role="assistant", content="")),
            _ev(ChoiceDelta(content="Hel")),
            _ev(ChoiceDelta(content="lo")),
            _ev(
                ChoiceDelta(finish_reason="stop"),
                usage=Usage(prompt_tokens=9, completion_tokens=2, total_tokens=11, cached_tokens=0),
            ),
        ]
    )
    assert [c.content for c in chunks] == ["Hel", "lo", ""]
    assert [c.chunk_position for c in chunks] == [None, None, "last"]
    assert chunks[-1].response_metadata == {
        "model_provider": "openai",
        "finish_reason": "stop",
        "model_name": "gpt-4o",
        "id": "chatcmpl-s",
    }
    assert [c.usage_metadata for c in chunks] == [
        None,
        None,
        {
            "input_tokens": 9,
            "output_tokens": 2,
            "total_tokens": 11,
            "input_token_details": {"cache_read": 0},
        },
    ]
    full = _sum(chunks)
    assert full.content == "Hello"
    assert full.response_metadata["model_name"] == "gpt-4o"
    assert full.content_blocks == [{"type": "text", "text": "Hello"}]


def test_usage_reported_repeatedly_is_counted_once() -> None:
    chunks = _run(
        [
            _ev(ChoiceDelta(content="a"), usage=Usage(prompt_tokens=50, total_tokens=50)),
            _ev(
                ChoiceDelta(content="b"),
                usage=Usage(prompt_tokens=50, completion_tokens=1, total_tokens=51),
            ),
            _ev(
                ChoiceDelta(finish_reason="stop"),
                usage=Usage(prompt_tokens=50, completion_tokens=2, total_tokens=52),
            ),
        ]
    )
    inputs = [c.usage_metadata["input_tokens"] for c in chunks if c.usage_metadata]
    assert inputs == [50, 0, 0]
    assert _sum(chunks).usage_metadata == {
        "input_tokens": 50,
        "output_tokens": 2,
        "total_tokens": 52,
    }


def test_tool_call_stream_assembles() -> None:
    chunks = _run(
        [
            _ev(ChoiceDelta(tool_calls=[ToolCallDelta(0, id="call_a", name="add")])),
            _ev(ChoiceDelta(tool_calls=[ToolCallDelta(0, arguments='{"a": ')])),
            _ev(
                ChoiceDelta(tool_calls=[ToolCallDelta(1, id="call_b", name="now", arguments="{}")])
            ),
            _ev(ChoiceDelta(tool_calls=[ToolCallDelta(0, arguments="1}")])),
            _ev(ChoiceDelta(finish_reason="tool_calls")),
        ]
    )
    assert chunks[0].tool_call_chunks == [
        {"name": "add", "args": None, "id": "call_a", "index": 0, "type": "tool_call_chunk"}
    ]
    full = _sum(chunks)
    assert full.chunk_position == "last"
    assert full.tool_calls == [
        {"name": "add", "args": {"a": 1}, "id": "call_a", "type": "tool_call"},
        {"name": "now", "args": {}, "id": "call_b", "type": "tool_call"},
    ]
    assert full.response_metadata["finish_reason"] == "tool_calls"


def test_reasoning_stream_uses_v1_blocks() -> None:
    chunks = _run(
        [
            _ev(ChoiceDelta(reasoning="Let me ")),
            _ev(ChoiceDelta(reasoning="think.", reasoning_signature="sig")),
            _ev(ChoiceDelta(content="It is ")),
            _ev(ChoiceDelta(content="4.")),
            _ev(
                ChoiceDelta(
                    tool_calls=[ToolCallDelta(0, id="call_z", name="check", arguments='{"n": 4}')]
                )
            ),
            _ev(ChoiceDelta(finish_reason="tool_calls")),
        ]
    )
    assert chunks[0].content == [{"type": "reasoning", "reasoning": "Let me ", "index": 0}]
    full = _sum(chunks)
    assert full.content_blocks == [
        {
            "type": "reasoning",
            "reasoning": "Let me think.",
            "index": 0,
            "extras": {"signature": "sig"},
        },
        {"type": "text", "text": "It is 4.", "index": 1},
        {"type": "tool_call", "name": "check", "args": {"n": 4}, "id": "call_z"},
    ]
    assert full.tool_calls == [
        {"name": "check", "args": {"n": 4}, "id": "call_z", "type": "tool_call"}
    ]
    assert full.text == "It is 4."


def test_citations_after_streamed_text_go_to_additional_kwargs() -> None:
    note = {"type": "url_citation", "url_citation": {"url": "https://a.b", "title": "A"}}
    chunks = _run(
        [
            _ev(ChoiceDelta(content="See A.")),
            _ev(ChoiceDelta(annotations=[note])),
            _ev(ChoiceDelta(finish_reason="stop")),
        ]
    )
    full = _sum(chunks)
    assert full.content == "See A."
    assert full.additional_kwargs["annotations"] == [note]


def test_citations_before_text_are_v1_citations() -> None:
    note = {"type": "url_citation", "url_citation": {"url": "https://a.b", "title": "A"}}
    chunks = _run(
        [
            _ev(ChoiceDelta(annotations=[note])),
            _ev(ChoiceDelta(content="See A.")),
            _ev(ChoiceDelta(finish_reason="stop")),
        ]
    )
    assert _sum(chunks).content_blocks == [
        {
            "type": "text",
            "text": "See A.",
            "index": 0,
            "annotations": [{"type": "citation", "url": "https://a.b", "title": "A"}],
        }
    ]


def test_citations_expected_stream_blocks_from_the_start() -> None:
    # Grounding (Gemini googleSearch, web search) cites the text after streaming it: with
    # blocks=True the text is a v1 block from the first chunk, and the citations, arriving alone
    # (and resent, as providers do), land once on that block.
    note = {"type": "url_citation", "url_citation": {"url": "https://a.b", "title": "A"}}
    chunks = _run(
        [
            _ev(ChoiceDelta(content="See ")),
            _ev(ChoiceDelta(content="A.")),
            _ev(ChoiceDelta(annotations=[note])),
            _ev(ChoiceDelta(annotations=[note], finish_reason="stop")),
        ],
        blocks=True,
    )
    assert chunks[0].content == [{"type": "text", "text": "See ", "index": 0}]
    full = _sum(chunks)
    assert full.content_blocks == [
        {
            "type": "text",
            "text": "See A.",
            "index": 0,
            "annotations": [{"type": "citation", "url": "https://a.b", "title": "A"}],
        }
    ]
    assert full.text == "See A."
    assert full.response_metadata["output_version"] == "v1"


def _gemini_answer(*reasoning: ReasoningBlock) -> AIMessage:
    """The message invoke() gives for a Gemini answer "Hi" with these reasoning blocks."""
    choice = Choice(content="Hi", reasoning=list(reasoning), finish_reason="stop")
    result = ChatResult(id="r", model="gemini-3-pro-preview", choices=[choice])
    return to_ai_message(result, choice, "vertex_ai")


def test_streamed_answer_signature_gets_its_own_block() -> None:
    # Gemini 3: a thought, then the answer whose first text piece carries the thoughtSignature.
    chunks = _run(
        [
            _ev(ChoiceDelta(reasoning="Thinking.")),
            _ev(ChoiceDelta(content="H", reasoning_signature="sig-text")),
            _ev(ChoiceDelta(content="i", finish_reason="stop")),
        ]
    )
    full = _sum(chunks)
    assert full.content_blocks == [
        {"type": "reasoning", "reasoning": "Thinking.", "index": 0},
        {"type": "reasoning", "reasoning": "", "extras": {"signature": "sig-text"}, "index": 1},
        {"type": "text", "text": "Hi", "index": 2},
    ]
    expected = Message(
        "assistant",
        "Hi",
        reasoning=[ReasoningBlock("Thinking."), ReasoningBlock("", "sig-text")],
    )
    assert to_ir_message(full) == expected
    invoked = _gemini_answer(ReasoningBlock("Thinking."), ReasoningBlock("", "sig-text"))
    assert to_ir_message(invoked) == expected


def test_one_event_with_a_signed_thought_and_a_signed_answer() -> None:
    # Google may send both parts in one payload; the decoder splits them into two deltas of
    # choice 0, and a signature ends its thought (the next one is a block of its own).
    event = _ev(
        ChoiceDelta(reasoning="One.", reasoning_signature="sig-1"),
        ChoiceDelta(reasoning="Two.", reasoning_signature="sig-2"),
        ChoiceDelta(content="Hi", reasoning_signature="sig-text"),
    )
    full = _sum(_run([event, _ev(ChoiceDelta(finish_reason="stop"))]))
    reasoning = [ReasoningBlock("One.", "sig-1"), ReasoningBlock("Two.", "sig-2")]
    assert to_ir_message(full) == Message(
        "assistant", "Hi", reasoning=[*reasoning, ReasoningBlock("", "sig-text")]
    )
    assert to_ir_message(full) == to_ir_message(
        _gemini_answer(*reasoning, ReasoningBlock("", "sig-text"))
    )


def test_anthropic_signature_delta_signs_the_open_thought() -> None:
    chunks = _run(
        [
            _ev(ChoiceDelta(reasoning="Let me think.")),
            _ev(ChoiceDelta(reasoning_signature="sig")),
            _ev(ChoiceDelta(content="4.", finish_reason="stop")),
        ]
    )
    assert to_ir_message(_sum(chunks)) == Message(
        "assistant", "4.", reasoning=[ReasoningBlock("Let me think.", "sig")]
    )


def test_signature_of_reasoning_after_string_text_is_not_taken_for_the_texts() -> None:
    # Text first (strings), then a thought and its signature (Anthropic's signature_delta): the
    # signature is the thought's, not the text's, so it is not replayed as a text signature.
    full = _sum(
        _run(
            [
                _ev(ChoiceDelta(content="Hi")),
                _ev(ChoiceDelta(reasoning="Hmm.")),
                _ev(ChoiceDelta(reasoning_signature="sig"), ChoiceDelta(finish_reason="stop")),
            ]
        )
    )
    assert full.content == "Hi"
    assert "text_signatures" not in full.additional_kwargs
    assert full.additional_kwargs["reasoning_content"] == "Hmm."


@pytest.mark.parametrize("blocks", [False, True])
def test_answer_signature_after_the_text(blocks: bool) -> None:
    # Google may also send the text's signature last, on an empty text part.
    chunks = _run(
        [
            _ev(ChoiceDelta(content="H")),
            _ev(ChoiceDelta(reasoning_signature="sig-text")),
            _ev(ChoiceDelta(content="i", finish_reason="stop")),
        ],
        blocks=blocks,
    )
    full = _sum(chunks)
    assert full.text == "Hi"
    if blocks:
        assert [b["type"] for b in full.content_blocks] == ["text", "reasoning"]
    else:
        assert full.content == "Hi"
        assert full.additional_kwargs["text_signatures"] == ["sig-text"]
    assert to_ir_message(full) == Message(
        "assistant", "Hi", reasoning=[ReasoningBlock("", "sig-text")]
    )


def test_chunks_carry_only_the_fields_that_are_set() -> None:
    first, last = _run([_ev(ChoiceDelta(content="Hi")), _ev(ChoiceDelta(finish_reason="stop"))])
    assert first.model_fields_set == {"content", "response_metadata", "id"}
    assert first.tool_call_chunks == [] and first.usage_metadata is None
    assert last.chunk_position == "last"


def test_stream_without_finish_still_ends_with_a_last_chunk() -> None:
    chunks = _run([_ev(ChoiceDelta(content="partial"))])
    assert [c.chunk_position for c in chunks] == [None, "last"]
    assert chunks[-1].response_metadata["finish_reason"] is None


def test_native_tool_call_blocks_of_other_integrations_are_not_sent_twice() -> None:
    # An Anthropic-style AI message: the tool_use block repeats what tool_calls carries.
    msg = AIMessage(
        content=[
            {"type": "text", "text": "Let me check."},
            {"type": "tool_use", "id": "toolu_1", "name": "lookup", "input": {"q": "x"}},
        ],
        tool_calls=[{"name": "lookup", "args": {"q": "x"}, "id": "toolu_1"}],
    )
    assert to_ir_message(msg) == Message(
        "assistant", "Let me check.", tool_calls=[ToolCall("toolu_1", "lookup", '{"q": "x"}')]
    )


def test_unsendable_ai_history_block_is_named_in_a_warning() -> None:
    msg = AIMessage(content=[{"type": "text", "text": "hi"}, {"type": "server_log", "x": 1}])
    with pytest.warns(UserWarning, match="server_log"):
        got = to_ir_message(msg)
    assert got == Message("assistant", "hi")


def test_several_text_blocks_stay_separate() -> None:
    msg = AIMessage(content=[{"type": "text", "text": "Hello"}, {"type": "text", "text": "World"}])
    assert to_ir_message(msg).content == [TextPart("Hello"), TextPart("World")]


def test_stream_provider_extras_reach_the_last_chunk() -> None:
    # Azure sends prompt_filter_results on the first event only.
    first = _ev(ChoiceDelta(content="ok"))
    first.provider_specific_fields = {"prompt_filter_results": [{"prompt_index": 0}]}
    first.system_fingerprint = "fp_9"
    chunks = _run([first, _ev(ChoiceDelta(finish_reason="stop"))])
    assert chunks[-1].response_metadata == {
        "model_provider": "openai",
        "finish_reason": "stop",
        "model_name": "gpt-4o",
        "id": "chatcmpl-s",
        "system_fingerprint": "fp_9",
        "prompt_filter_results": [{"prompt_index": 0}],
    }


def test_grounding_metadata_reaches_response_metadata() -> None:
    # Gemini's groundingMetadata, as the core reports it per candidate, is also available under
    # the short name LangChain users look for; url citations become v1 citation annotations.
    from langchain_polymodal._outputs import to_ai_message
    from polymodal.types import ChatResult, Choice

    grounding = {
        "webSearchQueries": ["who won euro 2024"],
        "groundingChunks": [{"web": {"uri": "https://x.example", "title": "x"}}],
    }
    annotation = {
        "type": "url_citation",
        "url_citation": {
            "url": "https://x.example",
            "title": "x",
            "start_index": 0,
            "end_index": 5,
        },
    }
    result = ChatResult(
        id="r1",
        model="gemini-2.5-flash",
        choices=[Choice(content="Spain", annotations=[annotation], finish_reason="stop")],
        provider_specific_fields={"vertex_ai_grounding_metadata": [grounding]},
    )
    msg = to_ai_message(result, result.choices[0], "vertex_ai")
    assert msg.response_metadata["grounding_metadata"] == grounding
    assert msg.response_metadata["vertex_ai_grounding_metadata"] == [grounding]
    text_blocks = [b for b in msg.content_blocks if b["type"] == "text"]
    assert text_blocks[0]["annotations"][0]["type"] == "citation"
    assert text_blocks[0]["annotations"][0]["url"] == "https://x.example"
