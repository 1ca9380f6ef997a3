"""Every Messages API body we emit checked against Anthropic's own SDK (``anthropic==2.12.0``).

Anthropic publishes no machine-readable spec; its SDK's generated types are the closest thing
(``tests/fixtures/schemas`` README). Two checks per body:

* schema: ``TypeAdapter(MessageCreateParamsNonStreaming)`` validates it (``stream`` removed, as
  the README shows); TypedDicts ignore unknown keys, hence the second check;
* strict keys: the SDK's own ``Anthropic().messages.create(**body)`` is called through a mock
  transport (an unknown top-level key is a ``TypeError``) and the JSON it sends must equal our
  body. Two keys go through ``extra_body`` instead: ``temperature`` and ``top_p``. They are part of
  API version 2023-06-01, which polymodal sends, but SDK 2.x speaks version 2026-10-21, which
  removed them, so its ``create()`` no longer declares them (:data:`VERSION_2023_ONLY`).

The bodies: every body the replay test builds from the recorded requests, and a table of
hand-written OpenAI-format inputs (multimodal parts, tools, every tool_choice form, thinking,
system merging, tool results, response formats). Claude on Vertex and Bedrock: the SDK's
``AnthropicVertex`` / ``AnthropicBedrock`` clients turn our Anthropic-dialect body into what they
send, which must equal our ``vertex`` / ``bedrock`` dialect body except ``anthropic_version``
(the SDK sends its 2026-10-21 version; we send the ``vertex-2023-10-16`` /
``bedrock-2023-05-31`` versions that go with 2023-06-01).

The SDK 2.x uses ``httpx2``; its mock transport comes from there.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

anthropic = pytest.importorskip("anthropic", minversion="2.12.0")
httpx2 = pytest.importorskip("httpx2")

from anthropic.types.message_create_params import (  # noqa: E402
    MessageCreateParamsNonStreaming,
)
from pydantic import TypeAdapter  # noqa: E402

from polymodal.apis import anthropic_messages  # noqa: E402
from polymodal.openai_format import parse_chat  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "replay"))
import test_anthropic_replay as replay  # noqa: E402

# The SDK warns about retired model names (the recordings use several); not our concern here.
pytestmark = pytest.mark.filterwarnings("ignore:The model .* is deprecated:DeprecationWarning")

VERSION_2023_ONLY = ("temperature", "top_p")
PARAMS = TypeAdapter(MessageCreateParamsNonStreaming)
MINIMAL_MESSAGE = {
    "id": "msg_1",
    "type": "message",
    "role": "assistant",
    "model": "claude",
    "content": [{"type": "text", "text": "ok"}],
    "stop_reason": "end_turn",
    "stop_sequence": None,
    "usage": {"input_tokens": 1, "output_tokens": 1},
}

PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg=="
PDF = "JVBERi0xLjQKJcOkw7zDtsOfCjIgMCBvYmoKPDwvTGVuZ3RoIDMgMCBSPj4Kc3RyZWFtCmVuZHN0cmVhbQplbmRvYmoK"
TXT = "SGVsbG8sIHdvcmxkIQo="  # "Hello, world!\n"
WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Weather for a city",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
        },
    },
}
TIME = {"type": "function", "function": {"name": "get_time"}}
CITY_SCHEMA = {
    "type": "object",
    "properties": {"city": {"type": "string"}, "country": {"type": "string"}},
    "required": ["city", "country"],
    "additionalProperties": False,
}
ASSISTANT_WITH_CALLS = {
    "role": "assistant",
    "content": "Let me check.",
    "thinking_blocks": [
        {"type": "thinking", "thinking": "Need the weather.", "signature": "c2lnbmF0dXJl"},
        {"type": "redacted_thinking", "data": "cmVkYWN0ZWQ="},
    ],
    "tool_calls": [
        {
            "id": "toolu_1",
            "type": "function",
            "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
        },
        {"id": "toolu_2", "type": "function", "function": {"name": "get_time", "arguments": ""}},
    ],
}
USER = {"role": "user", "content": "Weather and time in Paris?"}

# (id, model, messages, params)
CASES: list[tuple[str, str, list[dict[str, Any]], dict[str, Any]]] = [
    ("plain", "claude-3-7-sonnet-latest", [USER], {}),
    (
        "system-merging",
        "claude-3-5-haiku-latest",
        [
            {"role": "system", "content": "Be brief."},
            {"role": "developer", "content": [{"type": "text", "text": "Answer in French."}]},
            USER,
            {"role": "user", "content": "And tomorrow?"},
            {"role": "system", "content": "No emojis."},
        ],
        {"max_tokens": 100, "temperature": 0.2, "top_p": 0.9, "stop": ["END"], "user": "u-1"},
    ),
    (
        "multimodal",
        "claude-sonnet-4-5",
        [
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "Compare these."},
                    {"type": "image_url", "image_url": {"url": "https://example.com/a.jpg"}},
                    {"type": "image_url", "image_url": f"data:image/png;base64,{PNG}"},
                    {
                        "type": "image_url",
                        "image_url": {
                            "url": f"data:application/octet-stream;base64,{PNG}",
                            "format": "image/png",
                        },
                    },
                    {
                        "type": "file",
                        "file": {
                            "file_data": f"data:application/pdf;base64,{PDF}",
                            "filename": "report.pdf",
                        },
                    },
                    {"type": "file", "file": {"file_id": "https://example.com/paper.pdf"}},
                    {"type": "file", "file": {"file_data": f"data:text/plain;base64,{TXT}"}},
                    {
                        "type": "file",
                        "file": {"file_id": "file_011abc", "format": "application/pdf"},
                    },
                    {
                        "type": "image_url",
                        "image_url": {"url": "https://example.com/pic", "format": "image/webp"},
                    },
                ],
            }
        ],
        {},
    ),
    (
        "tools-auto-and-results",
        "claude-sonnet-4-5",
        [
            USER,
            ASSISTANT_WITH_CALLS,
            {"role": "tool", "tool_call_id": "toolu_1", "content": "Sunny, 22C"},
            {
                "role": "tool",
                "tool_call_id": "toolu_2",
                "content": [
                    {"type": "text", "text": "14:00"},
                    {"type": "image_url", "image_url": f"data:image/png;base64,{PNG}"},
                ],
            },
            {"role": "user", "content": "Thanks! Summarise."},
        ],
        {
            "tools": [WEATHER, TIME],
            "tool_choice": "auto",
            "thinking": {"type": "enabled", "budget_tokens": 1024},
            "max_tokens": 2048,
        },
    ),
    (
        "tool-choice-none",
        "claude-3-7-sonnet-latest",
        [USER],
        {"tools": [WEATHER], "tool_choice": "none"},
    ),
    (
        "tool-choice-required-serial",
        "claude-3-7-sonnet-latest",
        [USER],
        {"tools": [WEATHER, TIME], "tool_choice": "required", "parallel_tool_calls": False},
    ),
    (
        "tool-choice-named",
        "claude-3-7-sonnet-latest",
        [USER],
        {
            "tools": [WEATHER, TIME],
            "tool_choice": {"type": "function", "function": {"name": "get_time"}},
        },
    ),
    (
        "parallel-off-no-choice",
        "claude-3-7-sonnet-latest",
        [USER],
        {"tools": [WEATHER], "parallel_tool_calls": False},
    ),
    (
        "strict-tool",
        "claude-sonnet-4-5",
        [USER],
        {"tools": [{"type": "function", "function": {**WEATHER["function"], "strict": True}}]},
    ),
    ("reasoning-effort", "claude-sonnet-4-5", [USER], {"reasoning_effort": "high"}),
    ("adaptive-thinking", "claude-opus-4-6", [USER], {"thinking": {"type": "adaptive"}}),
    (
        "response-format-tool",
        "claude-3-7-sonnet-latest",
        [USER],
        {
            "response_format": {
                "type": "json_schema",
                "json_schema": {"name": "City", "schema": CITY_SCHEMA},
            }
        },
    ),
    (
        "response-format-tool-with-tools",
        "claude-3-7-sonnet-latest",
        [USER],
        {"tools": [WEATHER], "response_format": {"type": "json_object"}},
    ),
    (
        "response-format-native",
        "claude-sonnet-4-5",
        [USER],
        {
            "response_format": {
                "type": "json_schema",
                "json_schema": {"name": "City", "schema": CITY_SCHEMA, "strict": True},
            }
        },
    ),
    (
        "response-format-native-thinking",
        "claude-sonnet-4-5",
        [USER],
        {
            "reasoning_effort": "low",
            "response_format": {
                "type": "json_schema",
                "json_schema": {"name": "City", "schema": CITY_SCHEMA},
            },
        },
    ),
    (
        "web-search",
        "claude-sonnet-4-5",
        [USER],
        {
            "tools": [{"type": "web_search_20250305", "name": "web_search", "max_uses": 3}],
            "tool_choice": "auto",
        },
    ),
    (
        "metadata-and-tier",
        "claude-3-7-sonnet-latest",
        [USER],
        {"metadata": {"user_id": "u-2"}, "service_tier": "auto"},
    ),
    (
        "prefill",
        "claude-3-7-sonnet-latest",
        [USER, {"role": "assistant", "content": "The weather in Paris is"}],
        {},
    ),
    ("stream", "claude-3-7-sonnet-latest", [USER], {"stream": True, "max_tokens": 64}),
    (
        "cache-control",
        "claude-3-7-sonnet-latest",
        [
            {"role": "system", "content": "A long book...", "cache_control": {"type": "ephemeral"}},
            {"role": "user", "content": "Summarise", "cache_control": {"type": "ephemeral"}},
        ],
        {},
    ),
]


def _table_body(case: tuple[str, str, list[dict[str, Any]], dict[str, Any]]) -> dict[str, Any]:
    _, model, messages, params = case
    return anthropic_messages.encode(parse_chat(model, messages, params))


def _replay_bodies() -> list[tuple[str, dict[str, Any]]]:
    out = []
    for it in replay.INTERACTIONS:
        try:
            out.append((it.id, replay.encoded(it)))
        except replay.NotExpressible:
            continue
    return out


BODIES: list[tuple[str, dict[str, Any]]] = [(c[0], _table_body(c)) for c in CASES]
BODIES += [(f"replay:{name}", body) for name, body in _replay_bodies()]


def test_every_case_and_recording_is_covered() -> None:
    assert len(CASES) == 20
    assert len(BODIES) == 20 + 49  # 53 recordings minus the 4 with Anthropic-only features


def _sdk_sent(client_cls: Any, body: dict[str, Any], **client_args: Any) -> dict[str, Any]:
    sent: list[dict[str, Any]] = []

    def handler(request: Any) -> Any:
        sent.append(json.loads(request.content))
        return httpx2.Response(200, json=MINIMAL_MESSAGE)

    http = httpx2.Client(transport=httpx2.MockTransport(handler))
    client = client_cls(http_client=http, max_retries=0, **client_args)
    kwargs = {k: v for k, v in body.items() if k not in (*VERSION_2023_ONLY, "stream")}
    extra = {k: body[k] for k in VERSION_2023_ONLY if k in body}
    client.messages.create(**kwargs, extra_body=extra or None, timeout=30.0)
    assert len(sent) == 1
    return sent[0]


@pytest.mark.parametrize(("name", "body"), BODIES, ids=[name for name, _ in BODIES])
def test_body_validates_against_sdk_types(name: str, body: dict[str, Any]) -> None:
    PARAMS.validate_python({k: v for k, v in body.items() if k != "stream"})


@pytest.mark.parametrize(("name", "body"), BODIES, ids=[name for name, _ in BODIES])
def test_sdk_sends_our_body_unchanged(name: str, body: dict[str, Any]) -> None:
    sent = _sdk_sent(anthropic.Anthropic, body, api_key="x")
    assert sent == {k: v for k, v in body.items() if k != "stream"}


DIALECT_CASES = [
    c
    for c in CASES
    if c[0]
    in (
        "plain",
        "system-merging",
        "tools-auto-and-results",
        "tool-choice-required-serial",
        "response-format-tool",
        "adaptive-thinking",
        "stream",
    )
]


def _without_media_urls(case: tuple[str, str, list[dict[str, Any]], dict[str, Any]]) -> bool:
    return "https://" not in json.dumps(case[2])


@pytest.mark.parametrize("case", DIALECT_CASES, ids=[c[0] for c in DIALECT_CASES])
def test_vertex_body_is_what_the_vertex_sdk_sends(case: Any) -> None:
    _, model, messages, params = case
    assert _without_media_urls(case)
    ours = anthropic_messages.encode(parse_chat(model, messages, params), dialect="vertex")
    assert ours["anthropic_version"] == "vertex-2023-10-16"
    assert "model" not in ours
    base = anthropic_messages.encode(parse_chat(model, messages, params))
    sent = _sdk_sent(
        anthropic.AnthropicVertex, base, region="us-east5", project_id="p", access_token="t"
    )
    assert sent.pop("anthropic_version") == "2026-10-21"
    expected = {k: v for k, v in ours.items() if k not in ("anthropic_version", "stream")}
    assert sent == expected


@pytest.mark.parametrize("case", DIALECT_CASES, ids=[c[0] for c in DIALECT_CASES])
def test_bedrock_body_is_what_the_bedrock_sdk_sends(case: Any) -> None:
    pytest.importorskip("botocore")
    _, model, messages, params = case
    ours = anthropic_messages.encode(parse_chat(model, messages, params), dialect="bedrock")
    assert ours["anthropic_version"] == "bedrock-2023-05-31"
    assert "model" not in ours and "stream" not in ours
    base = anthropic_messages.encode(parse_chat(model, messages, params))
    sent = _sdk_sent(
        anthropic.AnthropicBedrock,
        base,
        aws_region="us-east-1",
        aws_access_key="a",
        aws_secret_key="b",
    )
    assert sent.pop("anthropic_version") == "2026-10-21"
    assert sent == {k: v for k, v in ours.items() if k != "anthropic_version"}


@pytest.mark.parametrize("it", replay.SUCCESSES, ids=lambda it: it.id)
def test_recorded_responses_are_sdk_messages(it: Any) -> None:
    """The oracle agrees with the recordings our decoder is tested on (lenient, as documented)."""
    if it.endpoint != "messages":
        pytest.skip("count_tokens response")
    if it.streaming:
        for payload in it.sse_payloads():
            if payload["type"] in ("ping", "message_delta"):
                continue  # not in the union / older usage shapes (schemas README)
            TypeAdapter(anthropic.types.RawMessageStreamEvent).validate_python(payload)
    else:
        anthropic.types.Message.model_validate(it.response_json())
