"""Golden tests for the Anthropic Messages wire format and the Anthropic provider.

Expected bodies are written from Anthropic's documented API (Messages reference, vision, PDF
support, tool use, extended thinking, streaming and errors pages) and from the polymodal rules in
the module docstring of ``polymodal.apis.anthropic_messages``; none is produced by the code under
test.
"""

from __future__ import annotations

import json
import warnings
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

import polymodal
from polymodal import errors, registry
from polymodal._warn import DroppedParamWarning
from polymodal.apis import anthropic_messages as am
from polymodal.openai_format import parse_chat
from polymodal.options import CallOptions
from polymodal.providers import anthropic as provider
from polymodal.routing import Route
from polymodal.types import AudioPart, FilePart, ImagePart, MediaSource, VideoPart

MODEL = "claude-3-7-sonnet-latest"
NEW_MODEL = "claude-sonnet-4-5"
PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg=="
JPEG = "/9j/4AAQSkZJRgABAQAAAQABAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
PDF = "JVBERi0xLjQKJcOkw7zDtsOfCjIgMCBvYmoKPDwvTGVuZ3RoIDMgMCBSPj4Kc3RyZWFtCmVuZHN0cmVhbQplbmRvYmoK"
USER = {"role": "user", "content": "Hi"}
WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Weather for a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
    },
}
WEATHER_TOOL = {
    "name": "get_weather",
    "description": "Weather for a city",
    "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}},
}


def body(
    messages: Any = None,
    model: str = MODEL,
    dialect: str = "anthropic",
    drop_params: bool = False,
    **params: Any,
) -> dict[str, Any]:
    req = parse_chat(model, messages or [USER], {"max_tokens": 256, **params})
    return am.encode(req, dialect=dialect, drop_params=drop_params)


def user_blocks(*parts: dict[str, Any]) -> list[dict[str, Any]]:
    return body([{"role": "user", "content": list(parts)}])["messages"][0]["content"]


# --------------------------------------------------------------------------- the vision seed

SEED_URL = (
    "https://upload.wikimedia.org/wikipedia/commons/thumb/d/dd/"
    "Gfp-wisconsin-madison-the-nature-boardwalk.jpg/2560px-Gfp-wisconsin-madison-the-nature-"
    "boardwalk.jpg"
)
ANSWER = {
    "id": "msg_01",
    "type": "message",
    "role": "assistant",
    "model": "claude-3-7-sonnet-20250219",
    "content": [{"type": "text", "text": "A boardwalk through a meadow."}],
    "stop_reason": "end_turn",
    "stop_sequence": None,
    "usage": {"input_tokens": 1500, "output_tokens": 9},
}


def mock_client(
    responses: list[httpx.Response], seen: list[httpx.Request] | None = None
) -> httpx.Client:
    queue = list(responses)

    def handler(request: httpx.Request) -> httpx.Response:
        if seen is not None:
            seen.append(request)
        return queue.pop(0)

    return httpx.Client(transport=httpx.MockTransport(handler))


def test_litellm_vision_example_with_format(monkeypatch: pytest.MonkeyPatch) -> None:
    """litellm-vision.zh.txt: claude-3-7-sonnet-latest, an image URL with ``format``."""
    monkeypatch.setenv("ANTHROPIC_API_KEY", "your-api-key")
    seen: list[httpx.Request] = []
    response = polymodal.completion(
        model="claude-3-7-sonnet-latest",
        messages=[
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "What’s in this image?"},
                    {"type": "image_url", "image_url": {"url": SEED_URL, "format": "image/jpeg"}},
                ],
            }
        ],
        client=mock_client([httpx.Response(200, json=ANSWER)], seen),
    )
    assert response.choices[0].message.content == "A boardwalk through a meadow."
    assert len(seen) == 1  # Anthropic fetches the URL itself: nothing was downloaded
    request = seen[0]
    assert str(request.url) == "https://api.anthropic.com/v1/messages"
    assert request.headers["x-api-key"] == "your-api-key"
    assert request.headers["anthropic-version"] == "2023-06-01"
    sent = json.loads(request.content)
    assert sent["model"] == "claude-3-7-sonnet-latest"
    # The URL source takes no media type (Anthropic reads it from the fetched bytes).
    assert sent["messages"] == [
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "What’s in this image?"},
                {"type": "image", "source": {"type": "url", "url": SEED_URL}},
            ],
        }
    ]
    info = registry.lookup("claude-3-7-sonnet-latest")
    assert info is not None and sent["max_tokens"] == info.max_output_tokens


def test_format_overrides_media_type_of_base64_images() -> None:
    blocks = user_blocks(
        {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG}"}},
        {
            "type": "image_url",
            "image_url": {
                "url": f"data:application/octet-stream;base64,{JPEG}",
                "format": "image/jpeg",
            },
        },
        {"type": "image_url", "image_url": {"url": JPEG}},  # bare base64: typed by its bytes
        {"type": "image_url", "image_url": {"url": "https://x.test/photo", "format": "image/png"}},
    )
    assert blocks == [
        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PNG}},
        {"type": "image", "source": {"type": "base64", "media_type": "image/jpeg", "data": JPEG}},
        {"type": "image", "source": {"type": "base64", "media_type": "image/jpeg", "data": JPEG}},
        {"type": "image", "source": {"type": "url", "url": "https://x.test/photo"}},
    ]


@pytest.mark.parametrize("url", ["gs://bucket/cat.jpg", "s3://bucket/cat.jpg"])
def test_cloud_storage_uris_are_refused(url: str) -> None:
    with pytest.raises(errors.BadRequestError, match="cannot read"):
        user_blocks({"type": "image_url", "image_url": {"url": url, "format": "image/jpeg"}})


def test_image_type_anthropic_does_not_take() -> None:
    with pytest.raises(errors.BadRequestError, match="image/heic"):
        user_blocks({"type": "image_url", "image_url": {"url": f"data:image/heic;base64,{PNG}"}})


def test_documents() -> None:
    text = "SGVsbG8sIHdvcmxkIQo="  # Hello, world!\n
    blocks = user_blocks(
        {
            "type": "file",
            "file": {"file_data": f"data:application/pdf;base64,{PDF}", "filename": "report.pdf"},
        },
        {"type": "file", "file": {"file_id": "https://example.com/paper.pdf"}},
        {"type": "file", "file": {"file_data": f"data:text/plain;base64,{text}"}},
        {"type": "file", "file": {"file_id": "file_011abc", "format": "application/pdf"}},
        {"type": "image_url", "image_url": f"data:application/pdf;base64,{PDF}"},
    )
    assert blocks == [
        {
            "type": "document",
            "title": "report.pdf",
            "source": {"type": "base64", "media_type": "application/pdf", "data": PDF},
        },
        {"type": "document", "source": {"type": "url", "url": "https://example.com/paper.pdf"}},
        {
            "type": "document",
            "source": {"type": "text", "media_type": "text/plain", "data": "Hello, world!\n"},
        },
        {"type": "document", "source": {"type": "file", "file_id": "file_011abc"}},
        {
            "type": "document",
            "source": {"type": "base64", "media_type": "application/pdf", "data": PDF},
        },
    ]


def test_file_ids_need_the_files_api_beta() -> None:
    req = parse_chat(
        MODEL,
        [
            {
                "role": "user",
                "content": [{"type": "file", "file": {"file_id": "file_1", "format": "image/png"}}],
            }
        ],
        {},
    )
    assert am.encode(req)["messages"][0]["content"] == [
        {"type": "image", "source": {"type": "file", "file_id": "file_1"}}
    ]
    assert am.required_betas(req) == ["files-api-2025-04-14"]
    assert am.required_betas(parse_chat(MODEL, [USER], {})) == []


def test_document_types_anthropic_does_not_take() -> None:
    with pytest.raises(errors.BadRequestError, match="PDF or plain text"):
        user_blocks({"type": "file", "file": {"file_data": "data:application/zip;base64,UEsDBA=="}})


@pytest.mark.parametrize(
    "part",
    [
        {"type": "input_audio", "input_audio": {"data": "UklGRg==", "format": "wav"}},
        {"type": "video_url", "video_url": {"url": "https://x.test/clip.mp4"}},
        {"type": "file", "file": {"file_data": "data:audio/mpeg;base64,SUQz"}},
    ],
)
def test_audio_and_video_are_unsupported(part: dict[str, Any]) -> None:
    messages = [{"role": "user", "content": [{"type": "text", "text": "Listen"}, part]}]
    with pytest.raises(errors.UnsupportedParamsError, match=r"messages\[0\]\.content\[1\]"):
        body(messages)
    with pytest.warns(DroppedParamWarning, match=r"messages\[0\]\.content\[1\]"):
        dropped = body(messages, drop_params=True)
    assert dropped["messages"] == [
        {"role": "user", "content": [{"type": "text", "text": "Listen"}]}
    ]


# --------------------------------------------------------------------------- turns and roles


def test_system_and_developer_messages_become_top_level_system() -> None:
    one = body([{"role": "system", "content": "Be brief."}, USER])
    assert one["system"] == "Be brief."
    assert one["messages"] == [USER]
    several = body(
        [
            {"role": "system", "content": "Be brief."},
            USER,
            {"role": "developer", "content": [{"type": "text", "text": "French only."}]},
        ]
    )
    assert several["system"] == [
        {"type": "text", "text": "Be brief."},
        {"type": "text", "text": "French only."},
    ]
    assert several["messages"] == [USER]


def test_system_message_must_be_text() -> None:
    image = {"type": "image_url", "image_url": "https://x.test/a.png"}
    with pytest.raises(errors.BadRequestError, match="system message may only hold text"):
        body([{"role": "system", "content": [image]}, USER])


def test_only_system_messages_is_refused() -> None:
    with pytest.raises(errors.BadRequestError, match="at least one user message"):
        body([{"role": "system", "content": "Be brief."}])


def test_consecutive_turns_are_merged() -> None:
    got = body(
        [
            USER,
            {"role": "user", "content": [{"type": "text", "text": "there"}]},
            {"role": "assistant", "content": "Hello"},
        ]
    )
    assert got["messages"] == [
        {
            "role": "user",
            "content": [{"type": "text", "text": "Hi"}, {"type": "text", "text": "there"}],
        },
        {"role": "assistant", "content": "Hello"},  # a trailing assistant turn is a prefill
    ]


def tool_call(call_id: str, name: str, arguments: str) -> dict[str, Any]:
    return {"id": call_id, "type": "function", "function": {"name": name, "arguments": arguments}}


def test_tool_calls_and_consecutive_tool_results() -> None:
    got = body(
        [
            USER,
            {
                "role": "assistant",
                "content": "",
                "tool_calls": [
                    tool_call("toolu_1", "get_weather", '{"city": "Paris"}'),
                    tool_call("toolu_2", "get_time", ""),
                ],
            },
            {"role": "tool", "tool_call_id": "toolu_1", "content": "Sunny"},
            {
                "role": "tool",
                "tool_call_id": "toolu_2",
                "content": [{"type": "text", "text": "14:00"}],
            },
            {"role": "user", "content": "Thanks"},
        ],
        tools=[WEATHER],
    )
    assert got["messages"][1:] == [
        {
            "role": "assistant",
            "content": [
                {
                    "type": "tool_use",
                    "id": "toolu_1",
                    "name": "get_weather",
                    "input": {"city": "Paris"},
                },
                {"type": "tool_use", "id": "toolu_2", "name": "get_time", "input": {}},
            ],
        },
        {
            "role": "user",
            "content": [
                {"type": "tool_result", "tool_use_id": "toolu_1", "content": "Sunny"},
                {
                    "type": "tool_result",
                    "tool_use_id": "toolu_2",
                    "content": [{"type": "text", "text": "14:00"}],
                },
                {"type": "text", "text": "Thanks"},
            ],
        },
    ]


@pytest.mark.parametrize(
    ("arguments", "problem"), [("{city: Paris", "not valid JSON"), ('["Paris"]', "JSON object")]
)
def test_bad_tool_call_arguments_name_the_message(arguments: str, problem: str) -> None:
    messages = [
        USER,
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [tool_call("toolu_1", "get_weather", arguments)],
        },
    ]
    with pytest.raises(errors.BadRequestError, match=problem) as info:
        body(messages)
    assert "messages[1]" in str(info.value)


def test_reasoning_blocks_go_first_byte_for_byte() -> None:
    signature = "EqQBCkYIBxgCKkB+/=="
    got = body(
        [
            USER,
            {
                "role": "assistant",
                "content": "It is sunny.",
                "thinking_blocks": [
                    {"type": "thinking", "thinking": "Check the weather.", "signature": signature},
                    {"type": "redacted_thinking", "data": "EmwKAhgBEgy3va3pzix/LafPsn4a"},
                ],
                "tool_calls": [tool_call("toolu_1", "get_weather", '{"city":"Paris"}')],
            },
            {"role": "tool", "tool_call_id": "toolu_1", "content": "Sunny"},
        ]
    )
    assert got["messages"][1]["content"] == [
        {"type": "thinking", "thinking": "Check the weather.", "signature": signature},
        {"type": "redacted_thinking", "data": "EmwKAhgBEgy3va3pzix/LafPsn4a"},
        {"type": "text", "text": "It is sunny."},
        {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"city": "Paris"}},
    ]


def test_unsigned_reasoning_is_not_replayed() -> None:
    got = body([USER, {"role": "assistant", "content": "Hello", "reasoning_content": "hmm"}, USER])
    assert got["messages"][1] == {"role": "assistant", "content": "Hello"}


def test_message_level_cache_control_marks_the_last_block() -> None:
    ephemeral = {"type": "ephemeral"}
    got = body(
        [
            {"role": "system", "content": "Rules."},
            {"role": "system", "content": "A long book...", "cache_control": ephemeral},
            {"role": "user", "content": "Summarise", "cache_control": ephemeral},
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [tool_call("toolu_1", "get_weather", "{}")],
            },
            {
                "role": "tool",
                "tool_call_id": "toolu_1",
                "content": "Sunny",
                "cache_control": ephemeral,
            },
        ],
        tools=[WEATHER],
    )
    assert got["system"] == [
        {"type": "text", "text": "Rules."},
        {"type": "text", "text": "A long book...", "cache_control": ephemeral},
    ]
    assert got["messages"][0] == {
        "role": "user",
        "content": [{"type": "text", "text": "Summarise", "cache_control": ephemeral}],
    }
    assert got["messages"][2]["content"] == [
        {
            "type": "tool_result",
            "tool_use_id": "toolu_1",
            "content": "Sunny",
            "cache_control": ephemeral,
        }
    ]
    one = body([{"role": "system", "content": "Rules.", "cache_control": ephemeral}, USER])
    assert one["system"] == [{"type": "text", "text": "Rules.", "cache_control": ephemeral}]


# --------------------------------------------------------------------------- parameters


def test_sampling_stop_and_user() -> None:
    got = body(temperature=0.3, top_p=0.9, stop="END", user="user-42")
    assert got["temperature"] == 0.3 and got["top_p"] == 0.9
    assert got["stop_sequences"] == ["END"]
    assert got["metadata"] == {"user_id": "user-42"}


def test_max_tokens_sources() -> None:
    req = parse_chat(MODEL, [USER], {"max_completion_tokens": 77, "max_tokens": 99})
    assert am.encode(req)["max_tokens"] == 77
    assert am.encode(parse_chat(MODEL, [USER], {"max_tokens": 99}))["max_tokens"] == 99
    info = registry.lookup(NEW_MODEL)
    assert info is not None and info.max_output_tokens
    assert am.encode(parse_chat(NEW_MODEL, [USER], {}))["max_tokens"] == info.max_output_tokens
    unknown = "claude-private-finetune"
    assert registry.lookup(unknown) is None
    assert am.encode(parse_chat(unknown, [USER], {}))["max_tokens"] == 4096


def test_thinking_is_sent_as_given() -> None:
    assert body(thinking={"type": "enabled", "budget_tokens": 2000}, max_tokens=4000)[
        "thinking"
    ] == {"type": "enabled", "budget_tokens": 2000}
    assert body(thinking={"type": "adaptive"})["thinking"] == {"type": "adaptive"}


@pytest.mark.parametrize(
    ("effort", "budget"),
    [("minimal", 1024), ("low", 1024), ("medium", 2048), ("high", 4096), ("xhigh", 8192)],
)
def test_reasoning_effort_budgets(effort: str, budget: int) -> None:
    got = body(reasoning_effort=effort, max_tokens=10000)
    assert got["thinking"] == {"type": "enabled", "budget_tokens": budget}


@pytest.mark.parametrize("effort", ["none", "disable"])
def test_reasoning_effort_off(effort: str) -> None:
    assert "thinking" not in body(reasoning_effort=effort)


def test_explicit_thinking_wins_over_effort() -> None:
    got = body(reasoning_effort="high", thinking={"type": "adaptive"})
    assert got["thinking"] == {"type": "adaptive"}


def test_thinking_budget_and_max_tokens() -> None:
    with pytest.raises(errors.BadRequestError, match="larger than the thinking budget"):
        body(reasoning_effort="high", max_tokens=4096)
    # No explicit limit: an unknown model's 4096 default is raised above the budget.
    req = parse_chat("claude-private-finetune", [USER], {"reasoning_effort": "high"})
    assert am.encode(req)["max_tokens"] == 4096 + 4096


TOOL_CHOICES = [
    ("auto", None, {"type": "auto"}),
    ("none", None, {"type": "none"}),
    ("required", None, {"type": "any"}),
    (
        {"type": "function", "function": {"name": "get_weather"}},
        None,
        {"type": "tool", "name": "get_weather"},
    ),
    ("auto", False, {"type": "auto", "disable_parallel_tool_use": True}),
    ("required", False, {"type": "any", "disable_parallel_tool_use": True}),
    (None, False, {"type": "auto", "disable_parallel_tool_use": True}),
    ("none", False, {"type": "none"}),
    (None, True, None),
    (None, None, None),
]


@pytest.mark.parametrize(("choice", "parallel", "expected"), TOOL_CHOICES)
def test_tool_choice(choice: Any, parallel: bool | None, expected: Any) -> None:
    params: dict[str, Any] = {"tools": [WEATHER]}
    if choice is not None:
        params["tool_choice"] = choice
    if parallel is not None:
        params["parallel_tool_calls"] = parallel
    got = body(**params)
    assert got["tools"] == [WEATHER_TOOL]
    assert got.get("tool_choice") == expected


def test_tool_defaults_and_strict() -> None:
    bare = {"type": "function", "function": {"name": "now", "strict": True}}
    assert body(tools=[bare])["tools"] == [
        {"name": "now", "input_schema": {"type": "object", "properties": {}}}
    ]  # Claude 3.7 has no strict tool use
    assert body(model=NEW_MODEL, tools=[bare])["tools"] == [
        {"name": "now", "input_schema": {"type": "object", "properties": {}}, "strict": True}
    ]


def test_tool_choice_without_tools() -> None:
    assert "tool_choice" not in body(tool_choice="none")
    with pytest.raises(errors.BadRequestError, match="needs tools"):
        body(tool_choice="required")


def test_anthropic_server_tools_pass_through() -> None:
    search = {"type": "web_search_20250305", "name": "web_search", "max_uses": 2}
    got = body(tools=[WEATHER, search])
    assert got["tools"] == [WEATHER_TOOL, search]


def test_other_native_tools_are_unsupported() -> None:
    with pytest.raises(errors.UnsupportedParamsError, match="googleSearch"):
        body(tools=[{"googleSearch": {}}])


@pytest.mark.parametrize(
    ("param", "value"),
    [
        ("n", 2),
        ("seed", 7),
        ("logit_bias", {"50256": -100}),
        ("presence_penalty", 0.5),
        ("frequency_penalty", 0.5),
        ("logprobs", True),
        ("top_logprobs", 3),
        ("safety_settings", [{"category": "x", "threshold": "y"}]),
        ("cached_content", "cachedContents/1"),
        ("store", True),
        ("metadata", {"tag": "a"}),
        ("service_tier", "flex"),
    ],
)
def test_unsupported_params(param: str, value: Any) -> None:
    with pytest.raises(errors.UnsupportedParamsError) as info:
        body(**{param: value})
    assert info.value.param == param
    with pytest.warns(DroppedParamWarning, match=param):
        got = body(drop_params=True, **{param: value})
    assert param not in got and "metadata" not in got


def test_supported_passthrough_values() -> None:
    got = body(
        n=1,
        metadata={"user_id": "u"},
        service_tier="standard_only",
        stream_options={"include_usage": True},
    )
    assert got["metadata"] == {"user_id": "u"}
    assert got["service_tier"] == "standard_only"
    assert "n" not in got and "stream_options" not in got


def test_extra_body_is_merged_last() -> None:
    got = body(extra_body={"top_k": 5, "max_tokens": 9})
    assert got["top_k"] == 5 and got["max_tokens"] == 9


# --------------------------------------------------------------------------- response formats

CITY = {
    "type": "object",
    "properties": {"city": {"type": "string"}},
    "required": ["city"],
    "additionalProperties": False,
}
CITY_FORMAT = {"type": "json_schema", "json_schema": {"name": "City", "schema": CITY}}


def test_response_format_as_forced_tool() -> None:
    got = body(response_format=CITY_FORMAT)
    assert got["tools"] == [
        {
            "name": "response_format_City",
            "description": "Respond with a JSON object that matches this schema; its input is "
            "the final answer.",
            "input_schema": CITY,
        }
    ]
    assert got["tool_choice"] == {"type": "tool", "name": "response_format_City"}
    assert "output_config" not in got


def test_response_format_tool_with_user_tools() -> None:
    got = body(tools=[WEATHER], response_format={"type": "json_object"})
    assert [t["name"] for t in got["tools"]] == ["get_weather", "response_format_json"]
    assert got["tools"][1]["input_schema"] == {"type": "object", "additionalProperties": True}
    assert got["tool_choice"] == {"type": "any"}
    named = body(
        tools=[WEATHER],
        response_format=CITY_FORMAT,
        tool_choice={"type": "function", "function": {"name": "get_weather"}},
    )
    assert named["tool_choice"] == {"type": "tool", "name": "get_weather"}


def test_response_format_native_where_certain() -> None:
    strict = {
        "type": "json_schema",
        "json_schema": {"name": "City", "schema": CITY, "strict": True},
    }
    got = body(model=NEW_MODEL, response_format=strict)
    assert got["output_config"] == {"format": {"type": "json_schema", "schema": CITY}}
    assert "tools" not in got and "tool_choice" not in got
    # Not strict: the schema may use keywords outside the native subset, so the tool is used.
    assert "output_config" not in body(model=NEW_MODEL, response_format=CITY_FORMAT)
    # Thinking forbids a forced tool: native on a model that has it, an error elsewhere.
    thinking = body(
        model=NEW_MODEL, response_format=CITY_FORMAT, reasoning_effort="low", max_tokens=4096
    )
    assert thinking["output_config"] == {"format": {"type": "json_schema", "schema": CITY}}
    with pytest.raises(errors.BadRequestError, match="response_format with thinking"):
        body(response_format=CITY_FORMAT, reasoning_effort="low", max_tokens=4096)
    # Claude on Vertex / Bedrock: always the tool.
    vertex = body(model=NEW_MODEL, response_format=strict, dialect="vertex")
    assert "output_config" not in vertex and vertex["tools"][0]["name"] == "response_format_City"


def test_response_format_schema_must_be_an_object() -> None:
    array = {"type": "json_schema", "json_schema": {"name": "L", "schema": {"type": "array"}}}
    with pytest.raises(errors.BadRequestError, match="JSON object"):
        body(response_format=array)


def test_response_format_tool_decodes_to_content() -> None:
    result = am.decode(
        {
            **ANSWER,
            "content": [
                {
                    "type": "tool_use",
                    "id": "toolu_9",
                    "name": "response_format_City",
                    "input": {"city": "Paris"},
                }
            ],
            "stop_reason": "tool_use",
        }
    )
    choice = result.choices[0]
    assert json.loads(choice.content or "") == {"city": "Paris"}
    assert choice.tool_calls == []
    assert (choice.finish_reason, choice.native_finish_reason) == ("stop", "tool_use")


def test_response_format_tool_streams_as_content() -> None:
    events = stream(
        {
            "type": "content_block_start",
            "index": 0,
            "content_block": {
                "type": "tool_use",
                "id": "toolu_9",
                "name": "response_format_City",
                "input": {},
            },
        },
        {
            "type": "content_block_delta",
            "index": 0,
            "delta": {"type": "input_json_delta", "partial_json": '{"city": '},
        },
        {
            "type": "content_block_delta",
            "index": 0,
            "delta": {"type": "input_json_delta", "partial_json": '"Paris"}'},
        },
        {"type": "content_block_stop", "index": 0},
        {
            "type": "message_delta",
            "delta": {"stop_reason": "tool_use", "stop_sequence": None},
            "usage": {"output_tokens": 12},
        },
    )
    deltas = [d for e in events for d in e.choices]
    assert "".join(d.content or "" for d in deltas) == '{"city": "Paris"}'
    assert not any(d.tool_calls for d in deltas)
    assert deltas[-1].finish_reason == "stop"


def test_rendered_structured_output_through_completion(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "k")
    answer = {
        **ANSWER,
        "stop_reason": "tool_use",
        "content": [
            {
                "type": "tool_use",
                "id": "t",
                "name": "response_format_City",
                "input": {"city": "Oslo"},
            }
        ],
    }
    response = polymodal.completion(
        MODEL,
        [USER],
        response_format={**CITY_FORMAT, "json_schema": {**CITY_FORMAT["json_schema"]}},
        client=mock_client([httpx.Response(200, json=answer)]),
    )
    assert json.loads(response.choices[0].message.content) == {"city": "Oslo"}
    assert response.choices[0].finish_reason == "stop"


# --------------------------------------------------------------------------- dialects


def test_vertex_and_bedrock_dialects() -> None:
    vertex = body(dialect="vertex", stream=True)
    assert vertex == {
        "anthropic_version": "vertex-2023-10-16",
        "max_tokens": 256,
        "messages": [USER],
        "stream": True,
    }
    bedrock = body(dialect="bedrock", stream=True)
    assert bedrock == {
        "anthropic_version": "bedrock-2023-05-31",
        "max_tokens": 256,
        "messages": [USER],
    }
    req = parse_chat(MODEL, [USER], {"max_tokens": 5})
    assert "model" not in am.encode(req, include_model=False)
    with pytest.raises(errors.BadRequestError, match="dialect"):
        am.encode(req, dialect="openai")


def test_vertex_and_bedrock_take_media_as_base64_only() -> None:
    image = {"type": "image_url", "image_url": "https://x.test/a.jpg"}
    with pytest.raises(errors.BadRequestError, match="base64 data only"):
        body([{"role": "user", "content": [image]}], dialect="bedrock")


@pytest.mark.parametrize(
    ("part", "dialect", "needed"),
    [
        (ImagePart(MediaSource(url="https://x.test/a.jpg")), "anthropic", False),
        (FilePart(MediaSource(url="https://x.test/a.pdf")), "anthropic", False),
        (FilePart(MediaSource(url="https://x.test/download")), "anthropic", False),
        (FilePart(MediaSource(url="https://x.test/notes.txt")), "anthropic", True),
        (ImagePart(MediaSource(url="https://x.test/a.jpg")), "vertex", True),
        (FilePart(MediaSource(url="https://x.test/a.pdf")), "bedrock", True),
        (ImagePart(MediaSource(url="gs://b/a.jpg")), "vertex", False),
        (ImagePart(MediaSource(data=PNG, mime_type="image/png")), "bedrock", False),
        (AudioPart(MediaSource(url="https://x.test/a.wav")), "anthropic", False),
        (VideoPart(MediaSource(url="https://x.test/a.mp4")), "anthropic", False),
        (AudioPart(MediaSource(url="https://x.test/a.wav")), "bedrock", False),
    ],
)
def test_needs_bytes(part: Any, dialect: str, needed: bool) -> None:
    assert am.needs_bytes(part, dialect) is needed


@pytest.mark.parametrize(
    ("model", "native"),
    [
        ("claude-3-7-sonnet-latest", False),
        ("claude-3-5-sonnet-20240620", False),
        ("claude-sonnet-4-20250514", False),
        ("claude-opus-4-0", False),
        ("claude-opus-4-1-20250805", True),
        ("claude-sonnet-4-5", True),
        ("claude-haiku-4-5-20251001", True),
        ("claude-sonnet-4-5@20250929", True),
        ("us.anthropic.claude-opus-4-6-v1:0", True),
        ("claude-sonnet-5", True),
        ("my-model", False),
    ],
)
def test_native_structured_outputs(model: str, native: bool) -> None:
    assert am.native_structured_outputs(model) is native


# --------------------------------------------------------------------------- decode

DOC_RESPONSE = {
    "id": "msg_01Aq9w938a90dw8q",
    "type": "message",
    "role": "assistant",
    "model": "claude-sonnet-4-5-20250929",
    "content": [
        {"type": "thinking", "thinking": "The user wants the weather.", "signature": "WaUj=="},
        {"type": "text", "text": "I'll check the weather."},
        {
            "type": "tool_use",
            "id": "toolu_01A09q90qw90lq917835lq9",
            "name": "get_weather",
            "input": {"location": "San Francisco, CA", "unit": "celsius"},
        },
    ],
    "stop_reason": "tool_use",
    "stop_sequence": None,
    "usage": {
        "input_tokens": 2095,
        "output_tokens": 503,
        "cache_read_input_tokens": 1000,
        "cache_creation_input_tokens": 200,
        "service_tier": "standard",
    },
}


def test_decode_documented_response() -> None:
    result = am.decode(DOC_RESPONSE)
    choice = result.choices[0]
    assert (result.id, result.model, result.provider) == (
        "msg_01Aq9w938a90dw8q",
        "claude-sonnet-4-5-20250929",
        "anthropic",
    )
    assert choice.content == "I'll check the weather."
    assert [(c.id, c.name, json.loads(c.arguments)) for c in choice.tool_calls] == [
        (
            "toolu_01A09q90qw90lq917835lq9",
            "get_weather",
            {"location": "San Francisco, CA", "unit": "celsius"},
        )
    ]
    assert [(r.text, r.signature) for r in choice.reasoning] == [
        ("The user wants the weather.", "WaUj==")
    ]
    assert (choice.finish_reason, choice.native_finish_reason) == ("tool_calls", "tool_use")
    usage = result.usage
    assert usage is not None
    assert (usage.prompt_tokens, usage.completion_tokens, usage.total_tokens) == (
        2095 + 1000 + 200,
        503,
        2095 + 1000 + 200 + 503,
    )
    assert (usage.cached_tokens, usage.cache_creation_tokens) == (1000, 200)
    assert result.service_tier == "standard"


@pytest.mark.parametrize(
    ("stop_reason", "finish"),
    [
        ("end_turn", "stop"),
        ("stop_sequence", "stop"),
        ("pause_turn", "stop"),
        ("max_tokens", "length"),
        ("model_context_window_exceeded", "length"),
        ("refusal", "content_filter"),
        ("tool_use", "stop"),  # no client tool call in the content (see the next test)
    ],
)
def test_finish_reasons(stop_reason: str, finish: str) -> None:
    choice = am.decode({**ANSWER, "stop_reason": stop_reason}).choices[0]
    assert (choice.finish_reason, choice.native_finish_reason) == (finish, stop_reason)


def test_stop_sequence_and_redacted_thinking() -> None:
    result = am.decode(
        {
            **ANSWER,
            "stop_reason": "stop_sequence",
            "stop_sequence": "END",
            "content": [
                {"type": "redacted_thinking", "data": "abc=="},
                {"type": "text", "text": "x"},
            ],
        }
    )
    assert result.provider_specific_fields["stop_sequence"] == "END"
    assert [(r.text, r.redacted) for r in result.choices[0].reasoning] == [("", "abc==")]


WEB_RESULT = {
    "type": "web_search_result_location",
    "url": "https://example.com/news",
    "title": "News",
    "cited_text": "Rain today.",
    "encrypted_index": "Eo8=",
}


def test_decode_citations_and_server_tools() -> None:
    server_use = {
        "type": "server_tool_use",
        "id": "srvtoolu_1",
        "name": "web_search",
        "input": {"query": "weather"},
    }
    search = {"type": "web_search_tool_result", "tool_use_id": "srvtoolu_1", "content": []}
    page = {
        "type": "char_location",
        "cited_text": "x",
        "document_index": 0,
        "start_char_index": 0,
        "end_char_index": 1,
    }
    result = am.decode(
        {
            **ANSWER,
            "content": [
                server_use,
                search,
                {"type": "text", "text": "Today: "},
                {"type": "text", "text": "rain.", "citations": [WEB_RESULT, page]},
            ],
            "usage": {
                "input_tokens": 10,
                "output_tokens": 5,
                "server_tool_use": {"web_search_requests": 1},
            },
        }
    )
    choice = result.choices[0]
    assert choice.content == "Today: rain."
    assert choice.annotations == [
        {
            "type": "url_citation",
            "url_citation": {
                "url": "https://example.com/news",
                "title": "News",
                "start_index": 7,
                "end_index": 12,
            },
        }
    ]
    psf = result.provider_specific_fields
    assert psf["citations"] == [WEB_RESULT, page]
    assert psf["server_tool_use"] == [server_use]
    assert psf["web_search_tool_result"] == [search]
    assert psf["server_tool_usage"] == {"web_search_requests": 1}
    assert choice.tool_calls == []


@pytest.mark.parametrize(
    ("kind", "cls"),
    [
        ("invalid_request_error", errors.BadRequestError),
        ("authentication_error", errors.AuthenticationError),
        ("permission_error", errors.PermissionDeniedError),
        ("not_found_error", errors.NotFoundError),
        ("rate_limit_error", errors.RateLimitError),
        ("api_error", errors.InternalServerError),
        ("overloaded_error", errors.ServiceUnavailableError),
    ],
)
def test_error_bodies(kind: str, cls: type[Exception]) -> None:
    error = {"type": "error", "error": {"type": kind, "message": f"{kind} happened"}}
    with pytest.raises(cls, match=f"{kind} happened"):
        am.decode(error)
    with pytest.raises(cls, match=f"{kind} happened"):
        am.StreamDecoder().feed(error)


def test_prompt_too_long_is_a_context_window_error() -> None:
    error = {
        "type": "error",
        "error": {
            "type": "invalid_request_error",
            "message": "prompt is too long: 210000 tokens > 200000",
        },
    }
    with pytest.raises(errors.ContextWindowExceededError):
        am.decode(error)


# --------------------------------------------------------------------------- stream


def stream(*payloads: dict[str, Any], start: dict[str, Any] | None = None) -> list[Any]:
    decoder = am.StreamDecoder()
    message = {
        "id": "msg_1",
        "type": "message",
        "role": "assistant",
        "model": "claude-x",
        "content": [],
        "stop_reason": None,
        "stop_sequence": None,
        "usage": {"input_tokens": 25, "output_tokens": 1},
    }
    message.update(start or {})
    out = [decoder.feed({"type": "message_start", "message": message})]
    out += [decoder.feed(p) for p in payloads]
    out.append(decoder.feed({"type": "message_stop"}))
    out.append(decoder.finish())
    return [e for e in out if e is not None]


def test_stream_documented_tool_use_example() -> None:
    """The tool-use stream of Anthropic's streaming docs: a text block, then a tool_use block."""
    events = stream(
        {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
        {"type": "ping"},
        {
            "type": "content_block_delta",
            "index": 0,
            "delta": {"type": "text_delta", "text": "Okay, let's check the weather."},
        },
        {"type": "content_block_stop", "index": 0},
        {
            "type": "content_block_start",
            "index": 1,
            "content_block": {
                "type": "tool_use",
                "id": "toolu_01T1x1fJ34qAmk2tNTrN7Up6",
                "name": "get_weather",
                "input": {},
            },
        },
        {
            "type": "content_block_delta",
            "index": 1,
            "delta": {"type": "input_json_delta", "partial_json": ""},
        },
        {
            "type": "content_block_delta",
            "index": 1,
            "delta": {"type": "input_json_delta", "partial_json": '{"location":'},
        },
        {
            "type": "content_block_delta",
            "index": 1,
            "delta": {"type": "input_json_delta", "partial_json": ' "San Francisco, CA"}'},
        },
        {"type": "content_block_stop", "index": 1},
        {
            "type": "message_delta",
            "delta": {"stop_reason": "tool_use", "stop_sequence": None},
            "usage": {"output_tokens": 89},
        },
    )
    assert events[0].choices[0].role == "assistant"
    assert {(e.id, e.model) for e in events} == {("msg_1", "claude-x")}
    deltas = [d for e in events for d in e.choices]
    assert "".join(d.content or "" for d in deltas) == "Okay, let's check the weather."
    calls = [t for d in deltas for t in d.tool_calls]
    assert {t.index for t in calls} == {0}  # the first tool call, not content block 1
    assert (calls[0].id, calls[0].name) == ("toolu_01T1x1fJ34qAmk2tNTrN7Up6", "get_weather")
    assert json.loads("".join(t.arguments or "" for t in calls)) == {
        "location": "San Francisco, CA"
    }
    last = events[-1]
    assert last.choices[0].finish_reason == "tool_calls"
    assert last.usage is not None
    assert (last.usage.prompt_tokens, last.usage.completion_tokens) == (25, 89)
    assert all(e.usage is None for e in events[:-1])


def test_stream_usage_is_cumulative_and_counts_cache() -> None:
    events = stream(
        {
            "type": "message_delta",
            "delta": {"stop_reason": "end_turn", "stop_sequence": None},
            "usage": {"output_tokens": 15, "input_tokens": 40},
        },
        start={
            "usage": {
                "input_tokens": 30,
                "output_tokens": 1,
                "cache_read_input_tokens": 100,
                "cache_creation_input_tokens": 5,
            }
        },
    )
    usage = events[-1].usage
    assert usage is not None
    assert (usage.prompt_tokens, usage.completion_tokens, usage.total_tokens) == (145, 15, 160)
    assert (usage.cached_tokens, usage.cache_creation_tokens) == (100, 5)


def test_stream_thinking_signature_and_redacted() -> None:
    events = stream(
        {
            "type": "content_block_start",
            "index": 0,
            "content_block": {"type": "thinking", "thinking": "", "signature": ""},
        },
        {
            "type": "content_block_delta",
            "index": 0,
            "delta": {"type": "thinking_delta", "thinking": "Let me think."},
        },
        {
            "type": "content_block_delta",
            "index": 0,
            "delta": {"type": "signature_delta", "signature": "EqQBCgIYAhIM"},
        },
        {"type": "content_block_stop", "index": 0},
        {
            "type": "content_block_start",
            "index": 1,
            "content_block": {"type": "redacted_thinking", "data": "EmwKAhgB"},
        },
        {"type": "content_block_stop", "index": 1},
    )
    deltas = [d for e in events for d in e.choices]
    assert "".join(d.reasoning or "" for d in deltas) == "Let me think."
    assert [d.reasoning_signature for d in deltas if d.reasoning_signature] == ["EqQBCgIYAhIM"]
    assert [
        e.provider_specific_fields.get("redacted_thinking")
        for e in events
        if e.provider_specific_fields
    ] == ["EmwKAhgB"]


def test_stream_tool_without_input_gets_empty_object() -> None:
    events = stream(
        {
            "type": "content_block_start",
            "index": 0,
            "content_block": {"type": "tool_use", "id": "toolu_1", "name": "now", "input": {}},
        },
        {"type": "content_block_stop", "index": 0},
    )
    calls = [t for e in events for d in e.choices for t in d.tool_calls]
    assert [(t.index, t.id, t.name, t.arguments) for t in calls] == [
        (0, "toolu_1", "now", None),
        (0, None, None, "{}"),
    ]


def test_stream_citations_become_annotations_at_block_end() -> None:
    events = stream(
        {
            "type": "content_block_start",
            "index": 0,
            "content_block": {"type": "text", "text": "A "},
        },
        {"type": "content_block_stop", "index": 0},
        {
            "type": "content_block_start",
            "index": 1,
            "content_block": {"type": "text", "text": "", "citations": []},
        },
        {
            "type": "content_block_delta",
            "index": 1,
            "delta": {"type": "citations_delta", "citation": WEB_RESULT},
        },
        {
            "type": "content_block_delta",
            "index": 1,
            "delta": {"type": "text_delta", "text": "rain"},
        },
        {"type": "content_block_stop", "index": 1},
    )
    annotated = [e for e in events if any(d.annotations for d in e.choices)]
    assert len(annotated) == 1
    assert annotated[0].choices[0].annotations == [
        {
            "type": "url_citation",
            "url_citation": {
                "url": "https://example.com/news",
                "title": "News",
                "start_index": 2,
                "end_index": 6,
            },
        }
    ]
    assert annotated[0].provider_specific_fields == {"citations": [WEB_RESULT]}


def test_stream_server_tool_use_is_not_a_tool_call() -> None:
    events = stream(
        {
            "type": "content_block_start",
            "index": 0,
            "content_block": {
                "type": "server_tool_use",
                "id": "srvtoolu_1",
                "name": "web_search",
                "input": {},
            },
        },
        {
            "type": "content_block_delta",
            "index": 0,
            "delta": {"type": "input_json_delta", "partial_json": '{"query": "x"}'},
        },
        {"type": "content_block_stop", "index": 0},
        {
            "type": "content_block_start",
            "index": 1,
            "content_block": {
                "type": "web_search_tool_result",
                "tool_use_id": "srvtoolu_1",
                "content": [],
            },
        },
        {"type": "content_block_stop", "index": 1},
        {
            "type": "message_delta",
            "delta": {"stop_reason": "end_turn", "stop_sequence": None},
            "usage": {"output_tokens": 3},
        },
    )
    assert not any(d.tool_calls for e in events for d in e.choices)
    fields = [e.provider_specific_fields for e in events if e.provider_specific_fields]
    assert fields[0] == {
        "server_tool_use": {
            "type": "server_tool_use",
            "id": "srvtoolu_1",
            "name": "web_search",
            "input": {"query": "x"},
        }
    }
    assert "web_search_tool_result" in fields[1]
    assert events[-1].choices[0].finish_reason == "stop"


def test_stream_ignores_ping_stop_and_unknown_events() -> None:
    decoder = am.StreamDecoder()
    assert decoder.feed({"type": "ping"}) is None
    assert decoder.feed({"type": "message_stop"}) is None
    assert decoder.feed({"type": "some_future_event", "x": 1}) is None
    assert decoder.finish() is None


SSE_OVERLOADED = (
    b"event: message_start\n"
    b'data: {"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant",'
    b'"model":"claude-x","content":[],"stop_reason":null,"stop_sequence":null,'
    b'"usage":{"input_tokens":3,"output_tokens":1}}}\n\n'
    b"event: content_block_start\n"
    b'data: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}\n\n'
    b"event: content_block_delta\n"
    b'data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hel"}}\n\n'
    b"event: error\n"
    b'data: {"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}\n\n'
)


def test_mid_stream_error_event_raises(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "k")
    sse = httpx.Response(200, content=SSE_OVERLOADED, headers={"content-type": "text/event-stream"})
    chunks = polymodal.completion(MODEL, [USER], stream=True, client=mock_client([sse]))
    got = []
    with pytest.raises(errors.ServiceUnavailableError, match="Overloaded") as info:
        for chunk in chunks:
            got.append(chunk)
    assert "".join(c.choices[0].delta.content or "" for c in got) == "Hel"
    assert info.value.provider == "anthropic"


def test_http_529_is_a_retryable_server_error(monkeypatch: pytest.MonkeyPatch) -> None:
    from polymodal.http import is_retryable

    monkeypatch.setenv("ANTHROPIC_API_KEY", "k")
    overloaded = {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}
    client = mock_client([httpx.Response(529, json=overloaded)])
    with pytest.raises(errors.InternalServerError, match="Overloaded") as info:
        polymodal.completion(MODEL, [USER], client=client, max_retries=0)
    assert info.value.status_code == 529
    assert is_retryable(info.value)


# --------------------------------------------------------------------------- provider

ROUTE = Route("anthropic", MODEL)


@pytest.fixture
def no_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("ANTHROPIC_API_KEY", "ANTHROPIC_BASE_URL", "ANTHROPIC_API_BASE"):
        monkeypatch.delenv(name, raising=False)


@pytest.mark.usefixtures("no_env")
@pytest.mark.parametrize(
    ("api_base", "url"),
    [
        (None, "https://api.anthropic.com/v1/messages"),
        ("http://localhost:8080", "http://localhost:8080/v1/messages"),
        ("https://proxy.test/anthropic/", "https://proxy.test/anthropic/v1/messages"),
        ("https://proxy.test/v1", "https://proxy.test/v1/messages"),
        ("https://proxy.test/v1/messages", "https://proxy.test/v1/messages"),
    ],
)
def test_endpoint_url(api_base: str | None, url: str) -> None:
    ep = provider.endpoint(ROUTE, "chat", CallOptions(api_key=SecretStr("k"), api_base=api_base))
    assert ep.url == url


@pytest.mark.usefixtures("no_env")
def test_endpoint_headers() -> None:
    opts = CallOptions(
        api_key=SecretStr("sk-ant-secret"),
        extra_headers={"anthropic-beta": "files-api-2025-04-14"},
    )
    ep = provider.endpoint(ROUTE, "chat", opts)
    assert ep.headers == {
        "anthropic-version": "2023-06-01",
        "x-api-key": "sk-ant-secret",
        "anthropic-beta": "files-api-2025-04-14",
    }
    assert "sk-ant-secret" not in repr(ep)


def test_endpoint_key_from_env(monkeypatch: pytest.MonkeyPatch, no_env: None) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "env-key")
    assert provider.endpoint(ROUTE, "chat", CallOptions()).headers["x-api-key"] == "env-key"
    monkeypatch.setenv("ANTHROPIC_BASE_URL", "http://127.0.0.1:9")
    assert provider.endpoint(ROUTE, "chat", CallOptions()).url == "http://127.0.0.1:9/v1/messages"


@pytest.mark.usefixtures("no_env")
def test_missing_key() -> None:
    with pytest.raises(errors.AuthenticationError, match="ANTHROPIC_API_KEY") as info:
        provider.endpoint(ROUTE, "chat", CallOptions())
    assert info.value.provider == "anthropic"
    with pytest.raises(errors.AuthenticationError):
        polymodal.completion(MODEL, [USER], client=mock_client([]))
    # A proxy or the local emulator may go without one.
    local = provider.endpoint(ROUTE, "chat", CallOptions(api_base="http://localhost:8080"))
    assert "x-api-key" not in local.headers


@pytest.mark.usefixtures("no_env")
def test_only_chat() -> None:
    with pytest.raises(errors.BadRequestError, match="no embeddings endpoint"):
        provider.endpoint(ROUTE, "embeddings", CallOptions(api_key=SecretStr("k")))


@pytest.mark.usefixtures("no_env")
def test_chat_target() -> None:
    target = provider.chat_target(ROUTE, CallOptions(api_key=SecretStr("k")), stream=False)
    assert target.api is am and target.dialect == "anthropic"


def test_no_warning_without_drop_params() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        body(temperature=0.1)


# --------------------------------------------------------------------------- turn rules
# Anthropic documents: every message needs non-empty content (except an optional final
# assistant message), the first message must use the "user" role, temperature must be 1 while
# thinking, and a forced tool choice is not allowed while thinking.


def _enc(messages: list[dict[str, object]], **params: object) -> dict[str, object]:
    from polymodal.apis import anthropic_messages
    from polymodal.openai_format import parse_chat

    return anthropic_messages.encode(parse_chat("claude-sonnet-4-5", messages, params))


def test_empty_assistant_turn_is_left_out_and_neighbours_merge() -> None:
    body = _enc(
        [
            {"role": "user", "content": "a"},
            {"role": "assistant", "content": ""},
            {"role": "user", "content": "b"},
        ]
    )
    assert body["messages"] == [
        {"role": "user", "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]}
    ]


def test_empty_user_turn_and_leading_assistant_are_errors() -> None:
    import polymodal

    with pytest.raises(polymodal.BadRequestError, match="empty content"):
        _enc([{"role": "user", "content": ""}])
    with pytest.raises(polymodal.BadRequestError, match="start with a user message"):
        _enc([{"role": "assistant", "content": "Hi!"}, {"role": "user", "content": "x"}])


def test_thinking_rules_checked_before_sending() -> None:
    import polymodal

    thinking = {"type": "enabled", "budget_tokens": 2000}
    with pytest.raises(polymodal.UnsupportedParamsError, match="temperature"):
        _enc([{"role": "user", "content": "x"}], temperature=0.2, thinking=thinking)
    tools = [{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}]
    with pytest.raises(polymodal.BadRequestError, match="forced tool_choice"):
        _enc(
            [{"role": "user", "content": "x"}],
            thinking=thinking,
            tools=tools,
            tool_choice="required",
        )
    body = _enc([{"role": "user", "content": "x"}], temperature=1, thinking=thinking)
    assert body["temperature"] == 1


def test_failed_tool_result_is_marked() -> None:
    from langchain_core.messages import AIMessage, HumanMessage, ToolMessage

    from langchain_polymodal._messages import to_ir_messages
    from polymodal.apis import anthropic_messages
    from polymodal.openai_format import parse_chat

    msgs = to_ir_messages(
        [
            HumanMessage("go"),
            AIMessage("", tool_calls=[{"id": "t1", "name": "f", "args": {}}]),
            ToolMessage("boom", tool_call_id="t1", status="error"),
        ]
    )
    body = anthropic_messages.encode(parse_chat("claude-sonnet-4-5", msgs, {}))
    assert body["messages"][-1]["content"] == [  # type: ignore[index]
        {"type": "tool_result", "tool_use_id": "t1", "content": "boom", "is_error": True}
    ]
