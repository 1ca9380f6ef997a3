"""Server-sent events framing (``polymodal._sse``) and the streamed-chunk hot path around it.

The incremental decoder is checked rule by rule against the WHATWG event-stream format, and
against a plain reference reading of the whole stream (written here from the spec, line by line,
no buffering) for every way of cutting the bytes into chunks. The stream decoder's and the
renderers' fast paths are checked against what the general code builds for the same input.
"""

from __future__ import annotations

import random
from typing import Any

import httpx
import pytest

from polymodal import errors, http
from polymodal import objects as o
from polymodal._chat import _parse_event
from polymodal._sse import SSEDecoder
from polymodal.apis.openai_chat import StreamDecoder
from polymodal.openai_format import render_chat, render_chunk
from polymodal.types import (
    ChatResult,
    Choice,
    ChoiceDelta,
    ReasoningBlock,
    StreamEvent,
    ToolCall,
    ToolCallDelta,
    Usage,
)

REQ = http.HTTPRequest("POST", "http://127.0.0.1:9/v1/chat/completions", provider="openai",
                       model="gpt-4o")  # fmt: skip


def feed_all(chunks: list[bytes]) -> list[tuple[str, str]]:
    decoder = SSEDecoder()
    out: list[tuple[str, str]] = []
    for chunk in chunks:
        out.extend(decoder.feed(chunk))
    return out


def reference(stream: bytes) -> list[tuple[str, str]]:
    """The spec's interpretation of a whole stream, one line at a time."""
    text = stream.decode("utf-8", "replace")
    text = text.removeprefix("\ufeff")
    lines: list[str] = []
    current = ""
    i = 0
    while i < len(text):
        c = text[i]
        if c == "\r":
            lines.append(current)
            current = ""
            if text[i + 1 : i + 2] == "\n":
                i += 1
        elif c == "\n":
            lines.append(current)
            current = ""
        else:
            current += c
        i += 1
    # ``current`` is an unterminated last line: never part of a dispatched event.
    events: list[tuple[str, str]] = []
    data: list[str] | None = None
    name: str | None = None
    for line in lines:
        if line == "":
            if data is not None or name is not None:
                events.append((name or "message", "\n".join(data or [])))
            data, name = None, None
            continue
        if line.startswith(":"):
            continue
        field, colon, value = line.partition(":")
        if colon and value.startswith(" "):
            value = value[1:]
        if field == "data":
            data = [*(data or []), value]
        elif field == "event":
            name = value
    return events


# --------------------------------------------------------------------------- the rules


def test_lf_crlf_and_cr_line_ends() -> None:
    for sep in (b"\n", b"\r\n", b"\r"):
        stream = b"data: a" + sep + sep + b"data: b" + sep + sep
        assert feed_all([stream]) == [("message", "a"), ("message", "b")], sep


def test_crlf_split_across_chunks_is_one_line_end() -> None:
    # Split between \r and \n: a second line end would dispatch "a" alone.
    chunks = [b"data: a\r", b"\ndata: b\r", b"\n\r", b"\n"]
    assert feed_all(chunks) == [("message", "a\nb")]


def test_cr_at_chunk_end_then_other_text() -> None:
    assert feed_all([b"data: a\r", b"\r", b"data: b\r\r"]) == [("message", "a"), ("message", "b")]


def test_multi_line_data_joined_with_newlines() -> None:
    stream = b'data: {\ndata:  "k": 1\ndata: }\n\n'
    assert feed_all([stream]) == [("message", '{\n "k": 1\n}')]


def test_one_leading_space_stripped_once() -> None:
    assert feed_all([b"data:x\n\ndata:  y\n\n"]) == [("message", "x"), ("message", " y")]


def test_comments_and_unknown_fields_are_ignored() -> None:
    stream = b": keep-alive\nid: 7\nretry: 100\nfoo: bar\ndata: x\n: another\n\n"
    assert feed_all([stream]) == [("message", "x")]


def test_comment_only_block_dispatches_nothing() -> None:
    assert feed_all([b": ping\n\n\n\n"]) == []


def test_event_names() -> None:
    stream = b"event: message_start\ndata: {}\n\nevent: ping\n\ndata: z\n\n"
    assert feed_all([stream]) == [("message_start", "{}"), ("ping", ""), ("message", "z")]


def test_field_without_colon_has_an_empty_value() -> None:
    assert feed_all([b"data\ndata\n\n"]) == [("message", "\n")]


def test_byte_order_mark_at_the_start_is_skipped_even_when_split() -> None:
    bom = b"\xef\xbb\xbf"
    assert feed_all([bom + b"data: a\n\n"]) == [("message", "a")]
    assert feed_all([bom[:1], bom[1:2], bom[2:] + b"data: a\n\n"]) == [("message", "a")]
    # Only at the very start: later it is data.
    assert feed_all([b"data: a\n\n", bom + b"data: b\n\n"]) == [("message", "a")]


def test_last_event_without_blank_line_is_not_dispatched() -> None:
    assert feed_all([b"data: a\n\ndata: b\n"]) == [("message", "a")]
    assert feed_all([b"data: a\n\ndata: b"]) == [("message", "a")]


def test_utf8_split_inside_a_character_and_invalid_bytes() -> None:
    text = "data: héllo ✓\n\n".encode()
    cut = text.index(b"\xe2") + 1
    assert feed_all([text[:cut], text[cut:]]) == [("message", "héllo ✓")]
    assert feed_all([b"data: \xff\n\n"]) == [("message", "\ufffd")]


def test_google_style_crlf_events() -> None:
    stream = b'data: {"a": 1}\r\n\r\ndata: {"a": 2}\r\n\r\n'
    assert feed_all([stream]) == [("message", '{"a": 1}'), ("message", '{"a": 2}')]


STREAMS = [
    b'data: {"a": 1}\n\ndata: {"a": 2}\n\ndata: [DONE]\n\n',
    b'data: {"a": 1}\r\n\r\ndata: {"b": "x\\ny"}\r\n\r\n',
    b"\xef\xbb\xbf: hi\r\nevent: e1\rdata: 1\rdata: 2\r\r\nevent:e2\ndata\n\ndata:  \xc3\xa9\n\n",
    b"id: 1\nretry: 5\n\nevent: only-name\n\ndata: x\ndata: y\n\ndata: tail",
    b"data: a\r\n\r\n\r\n\r\ndata: b\n\n:\n\ndata:c\r\rdata:d\n\n",
]


@pytest.mark.parametrize("stream", STREAMS)
def test_every_chunking_matches_the_reference(stream: bytes) -> None:
    expected = reference(stream)
    assert feed_all([stream]) == expected
    assert feed_all([bytes([b]) for b in stream]) == expected
    for cut in range(len(stream) + 1):
        assert feed_all([stream[:cut], stream[cut:]]) == expected, cut
    rng = random.Random(1234)
    for _ in range(200):
        cuts = sorted(rng.sample(range(1, len(stream)), k=min(5, len(stream) - 1)))
        chunks = [stream[a:b] for a, b in zip([0, *cuts], [*cuts, len(stream)], strict=True)]
        assert feed_all(chunks) == expected, cuts


# --------------------------------------------------------------------------- the http layer


def _response(body: bytes, content_type: str = "text/event-stream") -> httpx.Response:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=body, headers={"content-type": content_type})

    client = httpx.Client(transport=httpx.MockTransport(handler))
    return client.send(client.build_request("POST", REQ.url), stream=True)


def test_iter_sse_data_stops_at_done_and_skips_empty_unnamed_events() -> None:
    body = b"data: 1\n\ndata:\n\nevent: ping\n\ndata: 2\n\ndata: [DONE]\n\ndata: 3\n\n"
    got = list(http.iter_sse_data(_response(body), REQ))
    assert got == [("message", "1"), ("ping", ""), ("message", "2")]


def test_a_stream_that_is_not_sse_is_a_connection_error() -> None:
    resp = _response(b'{"error": "nope"}', "application/json")
    with pytest.raises(errors.APIConnectionError, match="text/event-stream"):
        list(http.iter_sse_data(resp, REQ))
    assert resp.is_closed


async def test_aiter_sse_data_over_an_httpx_response() -> None:
    async def handler(request: httpx.Request) -> httpx.Response:
        body = b"data: 1\r\n\r\ndata: [DONE]\r\n\r\n"
        return httpx.Response(200, content=body, headers={"content-type": "text/event-stream"})

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
        resp = await client.send(client.build_request("POST", REQ.url), stream=True)
        got = [event async for event in http.aiter_sse_data(resp, REQ)]
    assert got == [("message", "1")]
    assert resp.is_closed


def test_parse_event() -> None:
    assert _parse_event('{"a": [1, 2]}', REQ) == {"a": [1, 2]}
    assert _parse_event(' {"a": 1}\t', REQ) == {"a": 1}  # whitespace around the value
    with pytest.raises(errors.BadRequestError, match="not JSON"):
        _parse_event('{"a": 1} x', REQ)
    with pytest.raises(errors.BadRequestError, match="not JSON"):
        _parse_event('{"a": }', REQ)
    with pytest.raises(errors.BadRequestError, match="not JSON"):
        _parse_event("", REQ)
    with pytest.raises(errors.BadRequestError, match="not an object"):
        _parse_event("[1]", REQ)


# --------------------------------------------------------------------------- decoder fast path


def _chunk(delta: dict[str, Any], **extra: Any) -> dict[str, Any]:
    choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": None}
    choice.update(extra)
    return {"id": "c1", "object": "chat.completion.chunk", "created": 5, "model": "m",
            "system_fingerprint": "fp", "choices": [choice]}  # fmt: skip


@pytest.mark.parametrize(
    "delta",
    [
        {"content": "hi"},
        {"role": "assistant", "content": "", "refusal": None},
        {"refusal": "no"},
        {},
    ],
)
def test_plain_text_deltas_decode_as_the_general_path_would(delta: dict[str, Any]) -> None:
    event = StreamDecoder("openai").feed(_chunk(delta, native_finish_reason="x"))
    assert event == StreamEvent(
        id="c1",
        model="m",
        created=5,
        choices=[
            ChoiceDelta(
                index=0,
                role=delta.get("role"),
                content=delta.get("content"),
                refusal=delta.get("refusal"),
                native_finish_reason="x",
            )
        ],
        system_fingerprint="fp",
    )


def test_other_deltas_still_take_the_general_path() -> None:
    decoder = StreamDecoder("openai")
    event = decoder.feed(_chunk({"content": "a", "reasoning_content": "think"}))
    assert event.choices[0].reasoning == "think"
    event = decoder.feed({**_chunk({}, finish_reason="stop"), "usage": {"prompt_tokens": 1},
                          "x_extra": 1})  # fmt: skip
    assert event.choices[0].finish_reason == "stop"
    assert event.usage is not None and event.usage.prompt_tokens == 1
    assert event.provider_specific_fields == {"x_extra": 1}
    with pytest.raises(errors.PolymodalError, match="boom"):
        decoder.feed({"error": {"message": "boom", "code": 500}})


# --------------------------------------------------------------------------- renderers


def _same(got: o.OpenAIObject, want: o.OpenAIObject) -> None:
    assert type(got) is type(want)
    assert got == want
    assert got.model_fields_set == want.model_fields_set
    assert list(got.__dict__) == list(want.__dict__)
    assert repr(got) == repr(want)
    assert got.model_dump() == want.model_dump()
    for name, value in got.__dict__.items():
        other = want.__dict__[name]
        if isinstance(value, o.OpenAIObject):
            _same(value, other)
        elif isinstance(value, list):
            for a, b in zip(value, other, strict=True):
                if isinstance(a, o.OpenAIObject):
                    _same(a, b)


def _usage(u: Usage | None) -> o.Usage | None:
    if u is None:
        return None
    prompt = completion = None
    if u.cached_tokens is not None or u.audio_prompt_tokens is not None or u.cache_creation_tokens:
        prompt = o.build(o.PromptTokensDetails, cached_tokens=u.cached_tokens,
                         audio_tokens=u.audio_prompt_tokens,
                         cache_creation_tokens=u.cache_creation_tokens)  # fmt: skip
    if (
        u.reasoning_tokens is not None
        or u.audio_completion_tokens is not None
        or (u.accepted_prediction_tokens is not None or u.rejected_prediction_tokens is not None)
    ):
        completion = o.build(o.CompletionTokensDetails, reasoning_tokens=u.reasoning_tokens,
                             audio_tokens=u.audio_completion_tokens,
                             accepted_prediction_tokens=u.accepted_prediction_tokens,
                             rejected_prediction_tokens=u.rejected_prediction_tokens)  # fmt: skip
    return o.build(o.Usage, prompt_tokens=u.prompt_tokens, completion_tokens=u.completion_tokens,
                   total_tokens=u.total_tokens, prompt_tokens_details=prompt,
                   completion_tokens_details=completion)  # fmt: skip


def _chunk_with_build(event: StreamEvent) -> o.ChatCompletionChunk:
    """What ``render_chunk`` built through ``objects.build`` before its literal fast form."""
    choices = []
    for d in event.choices:
        calls = [
            o.build(o.ChoiceDeltaToolCall, index=t.index, id=t.id,
                    type="function" if t.id is not None else None,
                    function=o.build(o.ChoiceDeltaToolCallFunction, name=t.name,
                                     arguments=t.arguments),
                    provider_specific_fields=t.provider_fields or None)
            for t in d.tool_calls
        ] or None  # fmt: skip
        thinking = None
        if d.reasoning_signature is not None:
            thinking = [{"type": "thinking", "thinking": d.reasoning or "",
                         "signature": d.reasoning_signature}]  # fmt: skip
        delta = o.build(o.Delta, role=d.role, content=d.content, tool_calls=calls,
                        refusal=d.refusal, reasoning_content=d.reasoning, thinking_blocks=thinking,
                        annotations=d.annotations or None,
                        provider_specific_fields=None)  # fmt: skip
        choices.append(o.build(o.StreamingChoices, index=d.index, delta=delta,
                               finish_reason=d.finish_reason, logprobs=d.logprobs))  # fmt: skip
    return o.build(o.ChatCompletionChunk, id=event.id, object="chat.completion.chunk",
                   created=event.created, model=event.model, choices=choices,
                   usage=_usage(event.usage), system_fingerprint=event.system_fingerprint,
                   provider_specific_fields=event.provider_specific_fields or None)  # fmt: skip


EVENTS = [
    StreamEvent(id="c", model="m", created=1, choices=[ChoiceDelta(content="hi")]),
    StreamEvent(
        id="c",
        model="m",
        created=1,
        choices=[
            ChoiceDelta(
                index=1,
                role="assistant",
                reasoning="r",
                reasoning_signature="sig",
                tool_calls=[ToolCallDelta(index=0, id="call_1", name="f", arguments="{}")],
                annotations=[{"type": "url_citation"}],
                refusal="no",
                finish_reason="stop",
                logprobs={"content": []},
            )
        ],
        usage=Usage(1, 2, 3, cached_tokens=0, reasoning_tokens=1),
        system_fingerprint="fp",
        provider_specific_fields={"k": "v"},
    ),
    StreamEvent(usage=Usage(4, 5, 9)),
]


@pytest.mark.parametrize("event", EVENTS)
def test_render_chunk_builds_what_objects_build_builds(event: StreamEvent) -> None:
    _same(render_chunk(event), _chunk_with_build(event))


def test_render_chat_builds_what_objects_build_builds() -> None:
    result = ChatResult(
        id="x",
        model="m",
        created=3,
        choices=[
            Choice(
                content="hello",
                tool_calls=[ToolCall(id="call_1", name="f", arguments="{}")],
                reasoning=[ReasoningBlock("t", signature="s")],
                annotations=[{"type": "url_citation"}],
                finish_reason="stop",
                native_finish_reason="STOP",
                refusal=None,
                extra={"audio": {"id": "a"}, "other": 1},
            ),
            Choice(index=1, content="plain"),
        ],
        usage=Usage(1, 2, 3, cached_tokens=1, audio_completion_tokens=0),
        system_fingerprint="fp",
        service_tier="default",
        provider_specific_fields={"k": 1},
    )
    want_choices = []
    for c in result.choices:
        message = o.build(
            o.ChatCompletionMessage,
            role="assistant",
            content=c.content,
            tool_calls=[
                o.build(o.ChatCompletionMessageToolCall, id=t.id, type="function",
                        function=o.build(o.Function, name=t.name, arguments=t.arguments),
                        provider_specific_fields=t.provider_fields or None)
                for t in c.tool_calls
            ] or None,
            refusal=c.refusal,
            annotations=c.annotations or None,
            reasoning_content=c.reasoning_content,
            thinking_blocks=[{"type": "thinking", "thinking": b.text, "signature": b.signature}
                             for b in c.reasoning] or None,
            audio=c.extra.get("audio"),
            provider_specific_fields={k: v for k, v in c.extra.items() if k != "audio"} or None,
        )  # fmt: skip
        psf = {"native_finish_reason": c.native_finish_reason} if c.native_finish_reason else None
        want_choices.append(o.build(o.Choices, index=c.index, message=message,
                                    finish_reason=c.finish_reason, logprobs=c.logprobs,
                                    provider_specific_fields=psf))  # fmt: skip
    want = o.build(o.ChatCompletion, id="x", object="chat.completion", created=3, model="m",
                   choices=want_choices, usage=_usage(result.usage), system_fingerprint="fp",
                   service_tier="default", provider_specific_fields={"k": 1})  # fmt: skip
    _same(render_chat(result), want)
