"""End-to-end tests of the emulator's Anthropic Messages format (``polymodal.testing.anthropic``).

Over real loopback HTTP, driven three ways: the official ``anthropic`` SDK (which proves the wire
shapes are the ones Anthropic's own client parses: every object is checked for fields the SDK's
types do not know), ``polymodal.completion`` (sync, async, stream, tools, thinking, the seed page's
example), and ``langchain_polymodal.ChatPolymodal`` (invoke, stream, a ``create_agent`` loop).
Each test checks what the client got back AND what arrived on the wire.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
from collections.abc import Iterator
from typing import Any
from urllib.parse import unquote

import anthropic
import httpx
import pytest
from anthropic.lib.vertex import AnthropicVertex
from pydantic import BaseModel

import polymodal
import polymodal.errors as pe
from langchain_polymodal import ChatPolymodal
from polymodal.testing import Emulator, synthesize
from polymodal.testing.anthropic import REDACT_TRIGGER, AnthropicMessages, thinking_signature
from polymodal.testing.openai import OpenAIChat

pytestmark = pytest.mark.filterwarnings("ignore:The model .* is deprecated:DeprecationWarning")

MODEL = "claude-3-7-sonnet-latest"
QUESTION = "What is the weather in Paris today?"
ANSWER = f'Emulator reply to: "{QUESTION}"'
WEATHER: Any = {
    "name": "get_weather",
    "description": "Weather for a city",
    "input_schema": {
        "type": "object",
        "properties": {
            "city": {"type": "string", "description": "City name"},
            "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
            "days": {"type": "integer", "minimum": 1, "maximum": 7},
        },
        "required": ["city", "unit"],
    },
}
WEATHER_ARGS = {"city": "example city", "unit": "celsius", "days": 1}
OPENAI_WEATHER = {
    "type": "function",
    "function": {
        "name": WEATHER["name"],
        "description": WEATHER["description"],
        "parameters": WEATHER["input_schema"],
    },
}
THINKING: Any = {"type": "enabled", "budget_tokens": 1024}
HEADERS = {"x-api-key": "k", "anthropic-version": "2023-06-01"}
PNG_B64 = (
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQ"
    "AAAABJRU5ErkJggg=="
)
PDF_B64 = base64.b64encode(b"%PDF-1.4\n%%EOF\n").decode()
BOARDWALK = (
    "https://upload.wikimedia.org/wikipedia/commons/thumb/d/dd/"
    "Gfp-wisconsin-madison-the-nature-boardwalk.jpg/"
    "2560px-Gfp-wisconsin-madison-the-nature-boardwalk.jpg"
)
CACHE = {"ephemeral_5m_input_tokens": 0, "ephemeral_1h_input_tokens": 0}


def formats() -> list[Any]:
    # Until default_formats() lists it, the Anthropic format is passed explicitly.
    return [AnthropicMessages(), OpenAIChat()]


@pytest.fixture(scope="module")
def server() -> Iterator[Emulator]:
    with Emulator(formats=formats()) as emu:
        yield emu


@pytest.fixture
def emu(server: Emulator) -> Emulator:
    server.clear()
    return server


@pytest.fixture
def client(emu: Emulator) -> Iterator[anthropic.Anthropic]:
    with anthropic.Anthropic(api_key="k", base_url=emu.url, max_retries=0) as c:
        yield c


@pytest.fixture
def http(emu: Emulator) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=emu.url, timeout=10) as c:
        yield c


def post(http: httpx.Client, headers: dict[str, str] | None = None, **body: Any) -> httpx.Response:
    payload = {"model": MODEL, "max_tokens": 1024, "messages": [user(QUESTION)], **body}
    return http.post("/v1/messages", json=payload, headers=HEADERS if headers is None else headers)


def user(content: Any) -> Any:
    return {"role": "user", "content": content}


def assistant(content: Any) -> Any:
    return {"role": "assistant", "content": content}


def sent(emu: Emulator, i: int = -1) -> dict[str, Any]:
    body = emu.requests[i].json
    assert isinstance(body, dict)
    return body


def error(kind: str, message: str) -> dict[str, Any]:
    return {"type": "error", "error": {"type": kind, "message": message}}


def usage(input_tokens: int, output_tokens: int, thinking: int | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "input_tokens": input_tokens,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": 0,
        "cache_creation": CACHE,
        "output_tokens": output_tokens,
        "service_tier": "standard",
    }
    if thinking is not None:
        out["output_tokens_details"] = {"thinking_tokens": thinking}
    return out


def assert_no_unknown_fields(obj: Any, where: str = "") -> None:
    """Every field the emulator sent is one the SDK's types declare (no misspelt keys)."""
    if isinstance(obj, BaseModel):
        assert not obj.model_extra, f"{where}: unknown fields {sorted(obj.model_extra)}"
        for name in type(obj).model_fields:
            assert_no_unknown_fields(getattr(obj, name), f"{where}.{name}")
    elif isinstance(obj, list):
        for i, item in enumerate(obj):
            assert_no_unknown_fields(item, f"{where}[{i}]")


def sse(response: httpx.Response) -> list[tuple[str, dict[str, Any]]]:
    """(event name, data) of every server-sent event."""
    out = []
    for frame in response.text.split("\n\n"):
        if not frame.strip():
            continue
        lines = dict(line.split(": ", 1) for line in frame.split("\n"))
        out.append((lines["event"], json.loads(lines["data"])))
    return out


# --------------------------------------------------------------------------- exact shapes


def test_message_exact_body_and_sdk_types(emu: Emulator, http: httpx.Client) -> None:
    r = post(http)
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/json"
    assert r.headers["request-id"] == "req_emu_1"
    # input: 3 per message + 8 tokens; output: Emulator reply to : " ... ? " = 14 tokens
    assert r.json() == {
        "id": "msg_emu_1",
        "type": "message",
        "role": "assistant",
        "model": MODEL,
        "content": [{"type": "text", "text": ANSWER}],
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "usage": usage(11, 14),
    }
    message = anthropic.types.Message.model_validate(r.json())
    assert_no_unknown_fields(message)
    assert emu.requests[-1].path == "/v1/messages"


def test_sdk_create_plain_text(client: anthropic.Anthropic, emu: Emulator) -> None:
    message = client.messages.create(model=MODEL, max_tokens=256, messages=[user(QUESTION)])
    assert_no_unknown_fields(message)
    assert message.id == "msg_emu_1"
    assert message.content[0].type == "text" and message.content[0].text == ANSWER
    assert (message.stop_reason, message.usage.input_tokens, message.usage.output_tokens) == (
        "end_turn",
        11,
        14,
    )
    headers = emu.requests[-1].headers
    assert headers["authorization"] == "Bearer k"  # anthropic 2.x sends the key as a Bearer token
    assert headers["anthropic-version"] == anthropic._constants.ANTHROPIC_API_VERSION


def test_stream_wire_events_exact(http: httpx.Client) -> None:
    r = post(http, messages=[user("Hi")], stream=True)
    assert r.status_code == 200
    assert r.headers["content-type"] == "text/event-stream; charset=utf-8"
    start_usage = {**usage(4, 1)}
    assert sse(r) == [
        (
            "message_start",
            {
                "type": "message_start",
                "message": {
                    "id": "msg_emu_1",
                    "type": "message",
                    "role": "assistant",
                    "model": MODEL,
                    "content": [],
                    "stop_reason": None,
                    "stop_sequence": None,
                    "usage": start_usage,
                },
            },
        ),
        (
            "content_block_start",
            {
                "type": "content_block_start",
                "index": 0,
                "content_block": {"type": "text", "text": ""},
            },
        ),
        ("ping", {"type": "ping"}),
        *[
            (
                "content_block_delta",
                {
                    "type": "content_block_delta",
                    "index": 0,
                    "delta": {"type": "text_delta", "text": t},
                },
            )
            for t in ["Emulator", " reply", " to:", ' "Hi"']
        ],
        ("content_block_stop", {"type": "content_block_stop", "index": 0}),
        (
            "message_delta",
            {
                "type": "message_delta",
                "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                "usage": {
                    "input_tokens": 4,
                    "cache_creation_input_tokens": 0,
                    "cache_read_input_tokens": 0,
                    "output_tokens": 7,
                },
            },
        ),
        ("message_stop", {"type": "message_stop"}),
    ]
    assert "[DONE]" not in r.text


def test_sdk_stream_text_matches_non_stream(client: anthropic.Anthropic) -> None:
    whole = client.messages.create(model=MODEL, max_tokens=256, messages=[user(QUESTION)])
    with client.messages.stream(model=MODEL, max_tokens=256, messages=[user(QUESTION)]) as stream:
        pieces = list(stream.text_stream)
        final = stream.get_final_message()
    assert_no_unknown_fields(final)
    assert pieces == ["Emulator", " reply", " to:", ' "What', " is", " the", " weather", " in",
                      " Paris", " today?\""]  # fmt: skip
    assert "".join(pieces) == ANSWER
    assert final.id == "msg_emu_2"
    assert [b.model_dump(exclude={"parsed_output"}) for b in final.content] == [
        b.model_dump() for b in whole.content
    ]
    assert final.usage.output_tokens == whole.usage.output_tokens == 14
    assert final.usage.input_tokens == 11
    assert final.stop_reason == "end_turn"


def test_sdk_tool_use_non_stream_and_stream(client: anthropic.Anthropic, emu: Emulator) -> None:
    message = client.messages.create(
        model=MODEL, max_tokens=256, messages=[user(QUESTION)], tools=[WEATHER]
    )
    assert_no_unknown_fields(message)
    block = message.content[0]
    assert len(message.content) == 1 and block.type == "tool_use"
    assert (block.id, block.name, block.input) == ("toolu_emu_1", "get_weather", WEATHER_ARGS)
    assert message.stop_reason == "tool_use"
    assert message.usage.output_tokens == 1 + 24  # the name + the tokens of the input's JSON

    with client.messages.stream(
        model=MODEL, max_tokens=256, messages=[user(QUESTION)], tools=[WEATHER]
    ) as stream:
        events = list(stream)
        final = stream.get_final_message()
    partial = [e.partial_json for e in events if e.type == "input_json"]
    assert len(partial) >= 4  # the arguments arrive over several deltas
    assert "".join(partial) == json.dumps(WEATHER_ARGS)
    assert final.content[0].type == "tool_use"
    assert final.content[0].id == "toolu_emu_2"
    assert final.content[0].input == WEATHER_ARGS
    assert final.stop_reason == "tool_use"
    assert [e.type for e in events if e.type.startswith(("message", "content"))][:2] == [
        "message_start",
        "content_block_start",
    ]


def test_sdk_tool_result_round_trip(client: anthropic.Anthropic, emu: Emulator) -> None:
    first = client.messages.create(
        model=MODEL, max_tokens=256, messages=[user(QUESTION)], tools=[WEATHER]
    )
    call = first.content[0]
    assert call.type == "tool_use"
    result = {"type": "tool_result", "tool_use_id": call.id, "content": "Sunny, 24 C"}
    second = client.messages.create(
        model=MODEL,
        max_tokens=256,
        messages=[user(QUESTION), first.to_param(), user([result])],
        tools=[WEATHER],
    )
    assert second.content[0].type == "text"
    assert second.content[0].text == "The tool returned: Sunny, 24 C"
    assert second.stop_reason == "end_turn"
    assert sent(emu)["messages"][1] == {
        "role": "assistant",
        "content": [
            {"type": "tool_use", "id": "toolu_emu_1", "name": "get_weather", "input": WEATHER_ARGS}
        ],
    }


def test_tool_choice_any_named_and_none(client: anthropic.Anthropic) -> None:
    other: Any = {"name": "get_time", "input_schema": {"type": "object", "properties": {}}}
    named_choice: Any = {"type": "tool", "name": "get_time"}
    named = client.messages.create(
        model=MODEL,
        max_tokens=256,
        messages=[user(QUESTION)],
        tools=[WEATHER, other],
        tool_choice=named_choice,
    )
    assert named.content[0].type == "tool_use" and named.content[0].name == "get_time"
    assert named.content[0].input == {}
    forced = client.messages.create(
        model=MODEL,
        max_tokens=256,
        messages=[user("Hello")],
        tools=[WEATHER, other],
        tool_choice={"type": "any"},
    )
    assert forced.content[0].type == "tool_use" and forced.content[0].name == "get_weather"
    none = client.messages.create(
        model=MODEL,
        max_tokens=256,
        messages=[user(QUESTION)],
        tools=[WEATHER],
        tool_choice={"type": "none"},  # the tools are declared but may not be used
    )
    assert none.content[0].type == "text" and none.content[0].text == ANSWER


def test_sdk_thinking_non_stream(client: anthropic.Anthropic) -> None:
    message = client.messages.create(
        model=MODEL, max_tokens=2048, messages=[user(QUESTION)], thinking=THINKING
    )
    assert_no_unknown_fields(message)
    thought = f'The user asked: "{QUESTION}". I will answer directly.'
    assert [b.type for b in message.content] == ["thinking", "text"]
    thinking = message.content[0]
    assert thinking.type == "thinking"
    assert thinking.thinking == thought
    assert thinking.signature == thinking_signature(thought)
    assert message.content[1].type == "text" and message.content[1].text == ANSWER
    details = message.usage.output_tokens_details
    assert details is not None and details.thinking_tokens == 20
    assert message.usage.output_tokens == 20 + 14


def test_sdk_thinking_stream_with_tool(client: anthropic.Anthropic, http: httpx.Client) -> None:
    with client.messages.stream(
        model=MODEL, max_tokens=2048, messages=[user(QUESTION)], thinking=THINKING, tools=[WEATHER]
    ) as stream:
        events = list(stream)
        final = stream.get_final_message()
    thought = f'The user asked: "{QUESTION}". I will call the get_weather tool.'
    assert "".join(e.thinking for e in events if e.type == "thinking") == thought
    assert [e.signature for e in events if e.type == "signature"] == [thinking_signature(thought)]
    assert [b.type for b in final.content] == ["thinking", "tool_use"]
    assert final.content[0].type == "thinking"
    assert final.content[0].signature == thinking_signature(thought)
    assert final.content[1].type == "tool_use" and final.content[1].input == WEATHER_ARGS
    # on the wire: the signature comes as one signature_delta after the thinking deltas
    r = post(http, max_tokens=2048, thinking=THINKING, stream=True)
    deltas = [
        (d["index"], d["delta"]["type"]) for name, d in sse(r) if name == "content_block_delta"
    ]
    first = [kind for index, kind in deltas if index == 0]
    assert first[-1] == "signature_delta" and set(first[:-1]) == {"thinking_delta"}
    assert {kind for index, kind in deltas if index == 1} == {"text_delta"}


def test_thinking_replay_is_checked(client: anthropic.Anthropic) -> None:
    first = client.messages.create(
        model=MODEL, max_tokens=2048, messages=[user(QUESTION)], thinking=THINKING, tools=[WEATHER]
    )
    thinking, call = first.content
    assert call.type == "tool_use" and thinking.type == "thinking"
    result = user([{"type": "tool_result", "tool_use_id": call.id, "content": "Sunny"}])
    turn = first.to_param()

    answer = client.messages.create(
        model=MODEL,
        max_tokens=2048,
        messages=[user(QUESTION), turn, result],
        thinking=THINKING,
        tools=[WEATHER],
    )
    assert [b.type for b in answer.content] == ["thinking", "text"]
    assert answer.content[1].type == "text"
    assert answer.content[1].text == "The tool returned: Sunny"

    tampered = assistant(
        [{"type": "thinking", "thinking": thinking.thinking + " ", "signature": thinking.signature},
         call.model_dump()]
    )  # fmt: skip
    with pytest.raises(anthropic.BadRequestError) as bad:
        client.messages.create(
            model=MODEL,
            max_tokens=2048,
            messages=[user(QUESTION), tampered, result],
            thinking=THINKING,
            tools=[WEATHER],
        )
    assert bad.value.body == error(
        "invalid_request_error", "messages.1.content.0: Invalid `signature` in `thinking` block"
    )
    with pytest.raises(anthropic.BadRequestError) as dropped:
        client.messages.create(
            model=MODEL,
            max_tokens=2048,
            messages=[user(QUESTION), assistant([call.model_dump()]), result],
            thinking=THINKING,
            tools=[WEATHER],
        )
    assert dropped.value.body == error(
        "invalid_request_error",
        "messages.1.content.0.type: Expected `thinking` or `redacted_thinking`, but found "
        "`tool_use`. When `thinking` is enabled, a final `assistant` message must start with a "
        "thinking block (preceeding the lastmost set of `tool_use` and `tool_result` blocks). We "
        "recommend you include thinking blocks from previous turns. To avoid this requirement, "
        "disable `thinking`. Please consult our documentation at "
        "https://docs.claude.com/en/docs/build-with-claude/extended-thinking",
    )


def test_redacted_thinking_trigger(client: anthropic.Anthropic) -> None:
    message = client.messages.create(
        model=MODEL, max_tokens=2048, messages=[user(REDACT_TRIGGER)], thinking=THINKING
    )
    assert_no_unknown_fields(message)
    assert [b.type for b in message.content] == ["redacted_thinking", "text"]
    assert message.content[0].type == "redacted_thinking" and message.content[0].data


def test_stop_sequences_max_tokens_and_structured_output(http: httpx.Client) -> None:
    cut = post(http, max_tokens=3).json()
    assert cut["content"] == [{"type": "text", "text": "Emulator reply to"}]
    assert (cut["stop_reason"], cut["stop_sequence"], cut["usage"]["output_tokens"]) == (
        "max_tokens",
        None,
        3,
    )
    stopped = post(http, stop_sequences=["weather", "reply"]).json()
    assert stopped["content"] == [{"type": "text", "text": "Emulator "}]
    assert (stopped["stop_reason"], stopped["stop_sequence"]) == ("stop_sequence", "reply")

    schema = {
        "type": "object",
        "properties": {"city": {"type": "string"}, "temperature": {"type": "number"}},
        "required": ["city", "temperature"],
        "additionalProperties": False,
    }
    structured = post(
        http, output_config={"format": {"type": "json_schema", "schema": schema}}
    ).json()
    text = structured["content"][0]["text"]
    assert json.loads(text) == synthesize(schema) == {"city": "example city", "temperature": 1.5}


def test_media_counts_system_images_and_documents(client: anthropic.Anthropic) -> None:
    message = client.messages.create(
        model=MODEL,
        max_tokens=256,
        system="You describe things.",
        messages=[
            user(
                [
                    {"type": "text", "text": "Describe these."},
                    {
                        "type": "image",
                        "source": {"type": "base64", "media_type": "image/png", "data": PNG_B64},
                    },
                    {"type": "image", "source": {"type": "url", "url": BOARDWALK}},
                    {
                        "type": "document",
                        "source": {
                            "type": "base64",
                            "media_type": "application/pdf",
                            "data": PDF_B64,
                        },
                    },
                ]
            )
        ],
    )
    assert message.content[0].type == "text"
    assert message.content[0].text == (
        'Emulator reply to: "Describe these." (received 2 image(s), 1 file(s))'
    )
    # system 4 + 3 per message + 3 text tokens + 3 x 85 for the media
    assert message.usage.input_tokens == 4 + 3 + 3 + 3 * 85


def test_count_tokens_matches_usage(client: anthropic.Anthropic) -> None:
    kwargs: Any = {"model": MODEL, "messages": [user(QUESTION)], "tools": [WEATHER]}
    counted = client.messages.count_tokens(**kwargs)
    message = client.messages.create(max_tokens=256, **kwargs)
    assert counted.input_tokens == message.usage.input_tokens > 11


# --------------------------------------------------------------------------- request checks

BAD_REQUESTS: list[tuple[dict[str, Any], str]] = [
    ({"max_tokens": None}, "max_tokens: Field required"),
    ({"model": None}, "model: Field required"),
    ({"messages": []}, "messages: at least one message is required"),
    ({"n": 2}, "n: Extra inputs are not permitted"),
    (
        {"messages": [{"role": "system", "content": "Be brief."}, user("hi")]},
        'messages: Unexpected role "system". The Messages API accepts a top-level `system` '
        'parameter, not "system" as an input message role.',
    ),
    (
        {"messages": [assistant("Hello"), user("hi")]},
        'messages: first message must use the "user" role',
    ),
    (
        {"messages": [user("a"), user("b")]},
        'messages: roles must alternate between "user" and "assistant", but found multiple '
        '"user" roles in a row',
    ),
    (
        {"messages": [user("a"), assistant(""), user("b")]},
        "messages.1: all messages must have non-empty content except for the optional final "
        "assistant message",
    ),
    (
        {"messages": [user("a"), assistant("Sure ")]},
        "messages: final assistant content cannot end with trailing whitespace",
    ),
    (
        {
            "messages": [
                user(
                    [
                        {"type": "text", "text": "What is this?"},
                        {"type": "image_url", "image_url": {"url": BOARDWALK}},
                    ]
                )
            ]
        },
        "messages.0.content.1: Input tag 'image_url' found using 'type' does not match any of "
        "the expected tags: 'text', 'image', 'document', 'search_result', 'thinking', "
        "'redacted_thinking', 'tool_use', 'tool_result', 'server_tool_use', "
        "'web_search_tool_result', 'web_fetch_tool_result', 'code_execution_tool_result', "
        "'mcp_tool_use', 'mcp_tool_result', 'container_upload'",
    ),
    (
        {
            "messages": [
                user(
                    [
                        {
                            "type": "image",
                            "source": {
                                "type": "base64",
                                "media_type": "image/jpeg",
                                "data": PNG_B64,
                            },
                        }
                    ]
                )
            ]
        },
        "messages.0.content.0.image.source.base64: The image was specified using the image/jpeg "
        "media type, but the image appears to be a image/png image",
    ),
    (
        {
            "messages": [
                user("a"),
                assistant("ok"),
                user([{"type": "tool_result", "tool_use_id": "toolu_x", "content": "42"}]),
            ]
        },
        "messages.2.content.0: unexpected `tool_use_id` found in `tool_result` blocks: toolu_x. "
        "Each `tool_result` block must have a corresponding `tool_use` block in the previous "
        "message.",
    ),
    (
        {
            "messages": [
                user("a"),
                assistant([{"type": "tool_use", "id": "toolu_y", "name": "f", "input": {}}]),
                user("b"),
            ]
        },
        "messages.1: `tool_use` ids were found without `tool_result` blocks immediately after: "
        "toolu_y. Each `tool_use` block must have a corresponding `tool_result` block in the "
        "next message.",
    ),
    (
        {"thinking": {"type": "enabled", "budget_tokens": 2048}, "max_tokens": 2048},
        "`max_tokens` must be greater than `thinking.budget_tokens`. Please consult our "
        "documentation at https://docs.claude.com/en/docs/build-with-claude/extended-thinking"
        "#max-tokens-and-context-window-size",
    ),
    (
        {"thinking": {"type": "enabled", "budget_tokens": 100}},
        "thinking.enabled.budget_tokens: Input should be greater than or equal to 1024",
    ),
    (
        {"thinking": THINKING, "max_tokens": 2048, "temperature": 0.2},
        "`temperature` may only be set to 1 when thinking is enabled. Please consult our "
        "documentation at https://docs.claude.com/en/docs/build-with-claude/extended-thinking"
        "#feature-compatibility",
    ),
    (
        {
            "thinking": THINKING,
            "max_tokens": 2048,
            "tools": [WEATHER],
            "tool_choice": {"type": "any"},
        },
        "Thinking may not be enabled when tool_choice forces tool use.",
    ),
    (
        {"tools": [{"name": "bad name", "input_schema": {"type": "object"}}]},
        "tools.0.custom.name: String should match pattern '^[a-zA-Z0-9_-]{1,128}$'",
    ),
    ({"tools": [{"name": "f"}]}, "tools.0.custom.input_schema: Field required"),
    ({"temperature": 1.5}, "temperature: Input should be less than or equal to 1"),
]


@pytest.mark.parametrize(("change", "message"), BAD_REQUESTS)
def test_request_checks_use_anthropic_wording(
    http: httpx.Client, change: dict[str, Any], message: str
) -> None:
    body = {"model": MODEL, "max_tokens": 1024, "messages": [user(QUESTION)], **change}
    body = {k: v for k, v in body.items() if v is not None}
    r = http.post("/v1/messages", json=body, headers=HEADERS)
    assert r.status_code == 400
    assert r.json() == error("invalid_request_error", message)


def test_header_and_body_errors(http: httpx.Client) -> None:
    r = post(http, headers={"x-api-key": "k"})
    assert r.status_code == 400
    assert r.json() == error("invalid_request_error", "anthropic-version: header is required")
    r = http.post("/v1/messages", content=b"{not json", headers=HEADERS)
    assert r.status_code == 400
    assert r.json() == error(
        "invalid_request_error",
        "The request body is not valid JSON: Expecting property name enclosed in double quotes: "
        "line 1 column 2 (char 1)",
    )


def test_api_key_checks() -> None:
    with Emulator(api_key="secret", formats=formats()) as emu:
        r = httpx.post(
            f"{emu.url}/v1/messages",
            json={"model": MODEL, "max_tokens": 5, "messages": [user("hi")]},
            headers={"anthropic-version": "2023-06-01"},
        )
        assert r.status_code == 401
        assert r.json() == {
            "type": "error",
            "error": {"type": "authentication_error", "message": "x-api-key header is required"},
        }
        bad = anthropic.Anthropic(api_key="wrong", base_url=emu.url, max_retries=0)
        with bad, pytest.raises(anthropic.AuthenticationError) as exc:
            bad.messages.create(model=MODEL, max_tokens=5, messages=[user("hi")])
        assert exc.value.body == error("authentication_error", "invalid x-api-key")
        with anthropic.Anthropic(api_key="secret", base_url=emu.url, max_retries=0) as good:
            ok = good.messages.create(model=MODEL, max_tokens=50, messages=[user("hi")])
        assert ok.content[0].type == "text" and ok.content[0].text == 'Emulator reply to: "hi"'
        with pytest.raises(pe.AuthenticationError) as ours:
            polymodal.completion(
                model=f"anthropic/{MODEL}",
                api_base=emu.url,
                api_key="wrong",
                messages=[user("hi")],
            )
        assert ours.value.status_code == 401
        assert "invalid x-api-key" in str(ours.value)
        assert "wrong" not in str(ours.value)


def test_queued_string_errors_use_anthropic_envelope(
    emu: Emulator, client: anthropic.Anthropic
) -> None:
    emu.queue_error(429, "Number of request tokens has exceeded your per-minute rate limit")
    with pytest.raises(anthropic.RateLimitError) as limited:
        client.messages.create(model=MODEL, max_tokens=5, messages=[user("hi")])
    assert limited.value.body == error(
        "rate_limit_error", "Number of request tokens has exceeded your per-minute rate limit"
    )
    emu.queue_error(529, "Overloaded")
    with pytest.raises(anthropic.APIStatusError) as overloaded:
        client.messages.create(model=MODEL, max_tokens=5, messages=[user("hi")])
    assert overloaded.value.status_code == 529
    assert overloaded.value.body == error("overloaded_error", "Overloaded")
    emu.queue_error(529, "Overloaded")
    with pytest.raises(pe.ServiceUnavailableError) as ours:
        polymodal.completion(
            model=f"anthropic/{MODEL}",
            api_base=emu.url,
            api_key="k",
            max_retries=0,
            messages=[user("hi")],
        )
    assert ours.value.status_code == 529
    assert "Overloaded" in str(ours.value)


# --------------------------------------------------------------------------- Claude on Vertex

VERTEX_MODEL = "claude-3-7-sonnet@20250219"
VERTEX_PATH = (
    f"/v1/projects/emu-project/locations/us-east5/publishers/anthropic/models/{VERTEX_MODEL}:"
)


def vertex_client(emu: Emulator, token: str = "tok") -> AnthropicVertex:
    return AnthropicVertex(
        region="us-east5",
        project_id="emu-project",
        access_token=token,
        base_url=f"{emu.url}/v1",
        max_retries=0,
    )


def test_vertex_raw_predict_and_stream(emu: Emulator) -> None:
    with vertex_client(emu) as client:
        message = client.messages.create(
            model=VERTEX_MODEL, max_tokens=256, messages=[user(QUESTION)]
        )
        with client.messages.stream(
            model=VERTEX_MODEL, max_tokens=256, messages=[user(QUESTION)], tools=[WEATHER]
        ) as stream:
            final = stream.get_final_message()
    assert_no_unknown_fields(message)
    assert message.model == VERTEX_MODEL
    assert message.content[0].type == "text" and message.content[0].text == ANSWER
    first, second = emu.requests
    assert unquote(first.path) == VERTEX_PATH + "rawPredict"
    assert unquote(second.path) == VERTEX_PATH + "streamRawPredict"
    assert first.headers["authorization"] == "Bearer tok"
    body = sent(emu, 0)
    assert body["anthropic_version"] == anthropic._constants.ANTHROPIC_API_VERSION
    assert "model" not in body
    assert final.content[0].type == "tool_use" and final.content[0].input == WEATHER_ARGS


def test_vertex_count_tokens(emu: Emulator) -> None:
    with vertex_client(emu) as client:
        counted = client.messages.count_tokens(model=VERTEX_MODEL, messages=[user(QUESTION)])
    assert counted.input_tokens == 11
    assert unquote(emu.requests[-1].path) == (
        "/v1/projects/emu-project/locations/us-east5/publishers/anthropic/models/"
        "count-tokens:rawPredict"
    )


def test_polymodal_vertex_dialect_body_is_accepted(emu: Emulator, http: httpx.Client) -> None:
    """Until polymodal routes ``vertex_ai/claude-*``: its Vertex encoding, sent to the emulated
    Vertex endpoint, is accepted, and its stream decoder reads the answer."""
    from polymodal.apis import anthropic_messages
    from polymodal.openai_format import parse_chat

    request = parse_chat(
        VERTEX_MODEL,
        [
            {"role": "system", "content": "Be brief."},
            user(
                [
                    {"type": "text", "text": "What is this?"},
                    {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG_B64}"}},
                ]
            ),
        ],
        {"stream": True, "max_tokens": 100},
    )
    body = anthropic_messages.encode(request, dialect="vertex")
    assert body["anthropic_version"] == "vertex-2023-10-16" and "model" not in body
    r = http.post(VERTEX_PATH + "streamRawPredict", json=body)
    assert r.status_code == 200
    decoder = anthropic_messages.StreamDecoder()
    text, finish = "", None
    for _, data in sse(r):
        event = decoder.feed(data)
        if event is not None and event.choices:
            text += event.choices[0].content or ""
            finish = event.choices[0].finish_reason or finish
    assert text == 'Emulator reply to: "What is this?" (received 1 image(s))'
    assert finish == "stop"


def test_vertex_request_checks(emu: Emulator, http: httpx.Client) -> None:
    payload = {"max_tokens": 5, "messages": [user("hi")]}
    r = http.post(VERTEX_PATH + "rawPredict", json=payload)
    assert r.status_code == 400
    assert r.json() == error("invalid_request_error", "anthropic_version: Field required")
    r = http.post(
        VERTEX_PATH + "rawPredict",
        json={**payload, "anthropic_version": "vertex-2023-10-16", "model": VERTEX_MODEL},
    )
    assert r.json() == error("invalid_request_error", "model: Extra inputs are not permitted")
    r = http.post(
        VERTEX_PATH + "rawPredict", json={**payload, "anthropic_version": "bedrock-2023-05-31"}
    )
    assert r.json() == error(
        "invalid_request_error", "anthropic_version: Input should be 'vertex-2023-10-16'"
    )
    r = http.post(
        VERTEX_PATH + "streamRawPredict",
        json={**payload, "anthropic_version": "vertex-2023-10-16"},
    )
    assert r.status_code == 200 and sse(r)[-1][0] == "message_stop"
    emu.queue_error(429, "Quota exceeded for aiplatform.googleapis.com/online_prediction_requests")
    r = http.post(VERTEX_PATH + "rawPredict", json={**payload, "anthropic_version": "x"})
    assert r.status_code == 429
    assert r.json() == {
        "error": {
            "code": 429,
            "message": "Quota exceeded for aiplatform.googleapis.com/online_prediction_requests",
            "status": "RESOURCE_EXHAUSTED",
        }
    }


def test_vertex_bearer_auth() -> None:
    with Emulator(api_key="secret", formats=formats()) as emu:
        with vertex_client(emu, "secret") as client:
            ok = client.messages.create(model=VERTEX_MODEL, max_tokens=50, messages=[user("hi")])
        assert ok.content[0].type == "text"
        with vertex_client(emu, "wrong") as client, pytest.raises(anthropic.AuthenticationError):
            client.messages.create(model=VERTEX_MODEL, max_tokens=50, messages=[user("hi")])
        r = httpx.post(emu.url + VERTEX_PATH + "rawPredict", json={})
        assert r.status_code == 401
        assert r.json()["error"]["status"] == "UNAUTHENTICATED"
        assert r.json()["error"]["message"].startswith(
            "Request is missing required authentication credential."
        )
        oauth = pytest.importorskip("polymodal.testing.google_oauth")
        token = oauth.TOKEN_PREFIX + "7"
        with vertex_client(emu, token) as client:
            minted = client.messages.create(
                model=VERTEX_MODEL, max_tokens=50, messages=[user("hi")]
            )
        assert minted.content[0].type == "text"


# --------------------------------------------------------------------------- polymodal core


def pm(emu: Emulator, **kwargs: Any) -> dict[str, Any]:
    return {"model": f"anthropic/{MODEL}", "api_base": emu.url, "api_key": "k", **kwargs}


def test_polymodal_completion_sync(emu: Emulator) -> None:
    response = polymodal.completion(
        messages=[{"role": "system", "content": "Be brief."}, user(QUESTION)],
        max_tokens=300,
        **pm(emu),
    )
    assert response.id == "msg_emu_1"
    assert response.model == MODEL
    message = response.choices[0].message
    assert message.content == ANSWER
    assert response.choices[0].finish_reason == "stop"
    assert response.usage is not None
    # input: system 3 tokens + 3 + 8; output 14
    assert (response.usage.prompt_tokens, response.usage.completion_tokens) == (14, 14)
    assert sent(emu) == {
        "model": MODEL,
        "max_tokens": 300,
        "messages": [user(QUESTION)],
        "system": "Be brief.",
    }
    request = emu.requests[-1]
    assert request.path == "/v1/messages"
    assert request.headers["x-api-key"] == "k"
    assert request.headers["anthropic-version"] == "2023-06-01"


async def test_polymodal_acompletion(emu: Emulator) -> None:
    responses = await asyncio.gather(
        *(polymodal.acompletion(messages=[user(f"Question {i}")], **pm(emu)) for i in range(3))
    )
    assert sorted(r.choices[0].message.content or "" for r in responses) == [
        f'Emulator reply to: "Question {i}"' for i in range(3)
    ]
    assert sorted(r.id for r in responses) == ["msg_emu_1", "msg_emu_2", "msg_emu_3"]


def test_polymodal_stream_tool_call(emu: Emulator) -> None:
    chunks = list(
        polymodal.completion(
            messages=[user(QUESTION)], tools=[OPENAI_WEATHER], stream=True, **pm(emu)
        )
    )
    calls = [tc for c in chunks if c.choices for tc in c.choices[0].delta.tool_calls or []]
    assert calls[0].id == "toolu_emu_1" and calls[0].function.name == "get_weather"
    assert len(calls) >= 4
    arguments = "".join(tc.function.arguments or "" for tc in calls)
    assert json.loads(arguments) == WEATHER_ARGS
    assert all(tc.index == 0 for tc in calls)
    last = chunks[-1]
    assert last.choices[0].finish_reason == "tool_calls"
    assert last.usage is not None and last.usage.completion_tokens == 25
    assert sent(emu)["stream"] is True


async def test_polymodal_async_stream_text(emu: Emulator) -> None:
    stream = await polymodal.acompletion(messages=[user(QUESTION)], stream=True, **pm(emu))
    text = ""
    finish = None
    async for chunk in stream:
        if chunk.choices:
            text += chunk.choices[0].delta.content or ""
            finish = chunk.choices[0].finish_reason or finish
    assert text == ANSWER
    assert finish == "stop"


def test_polymodal_tool_round_trip(emu: Emulator) -> None:
    messages: list[dict[str, Any]] = [user(QUESTION)]
    first = polymodal.completion(messages=messages, tools=[OPENAI_WEATHER], **pm(emu))
    call = first.choices[0].message.tool_calls[0]
    assert first.choices[0].finish_reason == "tool_calls"
    assert (call.id, call.function.name) == ("toolu_emu_1", "get_weather")
    assert json.loads(call.function.arguments) == WEATHER_ARGS
    messages += [
        first.choices[0].message.model_dump(exclude_none=True),
        {"role": "tool", "tool_call_id": call.id, "content": "Sunny, 24 C"},
    ]
    second = polymodal.completion(messages=messages, tools=[OPENAI_WEATHER], **pm(emu))
    assert second.choices[0].message.content == "The tool returned: Sunny, 24 C"
    assert sent(emu)["messages"] == [
        user(QUESTION),
        assistant(
            [
                {
                    "type": "tool_use",
                    "id": "toolu_emu_1",
                    "name": "get_weather",
                    "input": WEATHER_ARGS,
                }
            ]
        ),
        user([{"type": "tool_result", "tool_use_id": "toolu_emu_1", "content": "Sunny, 24 C"}]),
    ]


def test_polymodal_thinking_round_trip(emu: Emulator) -> None:
    messages: list[dict[str, Any]] = [user(QUESTION)]
    first = polymodal.completion(
        messages=messages, tools=[OPENAI_WEATHER], thinking=THINKING, **pm(emu)
    )
    thought = f'The user asked: "{QUESTION}". I will call the get_weather tool.'
    message = first.choices[0].message
    assert message.reasoning_content == thought
    assert first.usage is not None
    assert first.usage.completion_tokens_details is not None
    assert first.usage.completion_tokens_details.reasoning_tokens == 22
    messages += [
        message.model_dump(exclude_none=True),
        {"role": "tool", "tool_call_id": message.tool_calls[0].id, "content": "Sunny"},
    ]
    second = polymodal.completion(
        messages=messages, tools=[OPENAI_WEATHER], thinking=THINKING, **pm(emu)
    )
    assert second.choices[0].message.content == "The tool returned: Sunny"
    replayed = sent(emu)["messages"][1]["content"][0]
    assert replayed == {
        "type": "thinking",
        "thinking": thought,
        "signature": thinking_signature(thought),
    }


def test_polymodal_response_format_as_forced_tool(emu: Emulator) -> None:
    schema = {
        "type": "object",
        "properties": {"name": {"type": "string"}, "age": {"type": "integer"}},
        "required": ["name", "age"],
        "additionalProperties": False,
    }
    response = polymodal.completion(
        messages=[user("Invent a person.")],
        response_format={
            "type": "json_schema",
            "json_schema": {"name": "Person", "schema": schema},
        },
        **pm(emu),
    )
    assert json.loads(response.choices[0].message.content or "") == {
        "name": "example name",
        "age": 1,
    }
    assert response.choices[0].finish_reason == "stop"
    body = sent(emu)
    assert body["tool_choice"] == {"type": "tool", "name": "response_format_Person"}
    assert body["tools"][0]["input_schema"] == schema


def test_polymodal_image_format_reaches_the_wire(emu: Emulator) -> None:
    response = polymodal.completion(
        messages=[
            {"role": "system", "content": "You describe images."},
            user(
                [
                    {"type": "text", "text": "What is this?"},
                    {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG_B64}"}},
                ]
            ),
        ],
        **pm(emu),
    )
    assert response.choices[0].message.content == (
        'Emulator reply to: "What is this?" (received 1 image(s))'
    )
    assert sent(emu)["messages"][0]["content"][1] == {
        "type": "image",
        "source": {"type": "base64", "media_type": "image/png", "data": PNG_B64},
    }
    # A wrong explicit `format` is sent as given, and Anthropic refuses it.
    with pytest.raises(pe.BadRequestError) as bad:
        polymodal.completion(
            messages=[
                user(
                    [
                        {"type": "text", "text": "What is this?"},
                        {
                            "type": "image_url",
                            "image_url": {
                                "url": f"data:image/png;base64,{PNG_B64}",
                                "format": "image/jpeg",
                            },
                        },
                    ]
                )
            ],
            **pm(emu),
        )
    assert "the image appears to be a image/png image" in str(bad.value)


def test_seed_litellm_vision_anthropic_example(
    emu: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """../shared/seeds/litellm-vision.zh.txt, the `format` example, as the page writes it."""
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)  # restored after the test
    monkeypatch.setenv("ANTHROPIC_BASE_URL", emu.url)  # the only change: where Anthropic is

    os.environ["ANTHROPIC_API_KEY"] = "your-api-key"
    # openai call
    response = polymodal.completion(
        model="claude-3-7-sonnet-latest",
        messages=[
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "What’s in this image?"},
                    {
                        "type": "image_url",
                        "image_url": {
                            "url": "https://upload.wikimedia.org/wikipedia/commons/thumb/d/dd/Gfp-wisconsin-madison-the-nature-boardwalk.jpg/2560px-Gfp-wisconsin-madison-the-nature-boardwalk.jpg",
                            "format": "image/jpeg",
                        },
                    },
                ],
            }
        ],
    )

    assert response.choices[0].message.content == (
        'Emulator reply to: "What’s in this image?" (received 1 image(s))'
    )
    request = emu.requests[-1]
    assert request.path == "/v1/messages"
    assert request.headers["x-api-key"] == "your-api-key"
    body = sent(emu)
    assert body["model"] == "claude-3-7-sonnet-latest"
    assert body["messages"] == [
        user(
            [
                {"type": "text", "text": "What’s in this image?"},
                {"type": "image", "source": {"type": "url", "url": BOARDWALK}},
            ]
        )
    ]


# --------------------------------------------------------------------------- LangChain


def chat(emu: Emulator, **kwargs: Any) -> ChatPolymodal:
    params: dict[str, Any] = {"model": f"anthropic/{MODEL}", "api_base": emu.url, "api_key": "k"}
    return ChatPolymodal(**params, **kwargs)


def test_langchain_invoke(emu: Emulator) -> None:
    result = chat(emu).invoke(QUESTION)
    assert result.content == ANSWER
    assert result.id == "msg_emu_1"
    assert result.response_metadata["model_provider"] == "anthropic"
    assert result.response_metadata["model_name"] == MODEL
    assert result.response_metadata["finish_reason"] == "stop"
    assert result.usage_metadata is not None
    assert (result.usage_metadata["input_tokens"], result.usage_metadata["output_tokens"]) == (
        11,
        14,
    )
    assert sent(emu)["messages"] == [user(QUESTION)]


def test_langchain_stream(emu: Emulator) -> None:
    chunks = list(chat(emu).stream(QUESTION))
    assert "".join(str(c.content) for c in chunks) == ANSWER
    assert len([c for c in chunks if c.content]) == 10  # one chunk per word
    usage_chunks = [c.usage_metadata for c in chunks if c.usage_metadata]
    assert len(usage_chunks) == 1
    assert usage_chunks[0]["input_tokens"] == 11 and usage_chunks[0]["output_tokens"] == 14
    assert chunks[-1].response_metadata["finish_reason"] == "stop"
    assert sent(emu)["stream"] is True


@pytest.mark.parametrize("thinking", [False, True])
def test_langchain_create_agent_tool_loop(emu: Emulator, thinking: bool) -> None:
    from langchain.agents import create_agent
    from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
    from langchain_core.tools import tool

    calls: list[str] = []

    @tool
    def lookup_population(city: str) -> str:
        """Population of a city."""
        calls.append(city)
        return f"{city} has 2.1 million people."

    extra: dict[str, Any] = {"thinking": THINKING} if thinking else {}
    agent = create_agent(chat(emu, **extra), tools=[lookup_population])
    state = agent.invoke({"messages": [HumanMessage("How many people live in Paris?")]})

    assert calls == ["example city"]
    ai_call, tool_message, final = state["messages"][1:]
    assert isinstance(ai_call, AIMessage) and isinstance(tool_message, ToolMessage)
    assert isinstance(final, AIMessage)
    assert ai_call.tool_calls[0]["id"] == tool_message.tool_call_id == "toolu_emu_1"
    assert final.text == "The tool returned: example city has 2.1 million people."

    assert len(emu.requests) == 2
    first, second = sent(emu, 0), sent(emu, 1)
    assert [t["name"] for t in first["tools"]] == ["lookup_population"]
    turn = second["messages"][1]
    assert turn["role"] == "assistant"
    assert turn["content"][-1] == {
        "type": "tool_use",
        "id": "toolu_emu_1",
        "name": "lookup_population",
        "input": {"city": "example city"},
    }
    if thinking:  # the thinking block went back byte for byte, first in the turn
        assert turn["content"][0]["type"] == "thinking"
        assert turn["content"][0]["signature"] == thinking_signature(turn["content"][0]["thinking"])
    assert second["messages"][2] == user(
        [
            {
                "type": "tool_result",
                "tool_use_id": "toolu_emu_1",
                "content": "example city has 2.1 million people.",
            }
        ]
    )
