"""End-to-end tests of ``polymodal.testing``: real loopback HTTP, driven by plain httpx and by the
official ``openai`` SDK, which proves the wire shapes are the ones OpenAI's own client parses."""

from __future__ import annotations

import asyncio
import json
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import httpx
import jsonschema
import openai
import pytest
from pydantic import BaseModel

from polymodal.testing import (
    DropReply,
    Emulator,
    ErrorReply,
    JsonReply,
    StreamReply,
    emulator,
    synthesize,
)

USER: Any = [{"role": "user", "content": "What is the weather in Paris today?"}]
WEATHER_TOOL: Any = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Weather for a city",
        "parameters": {
            "type": "object",
            "properties": {
                "city": {"type": "string", "description": "City name"},
                "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
                "days": {"type": "integer", "minimum": 1, "maximum": 7},
            },
            "required": ["city", "unit"],
            "additionalProperties": False,
        },
    },
}
USAGE_DETAILS = {
    "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
    "completion_tokens_details": {
        "reasoning_tokens": 0,
        "audio_tokens": 0,
        "accepted_prediction_tokens": 0,
        "rejected_prediction_tokens": 0,
    },
}


@pytest.fixture
def emu() -> Iterator[Emulator]:
    with emulator() as e:
        yield e


@pytest.fixture
def client(emu: Emulator) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(base_url=emu.openai_base, api_key="sk-test", max_retries=0) as c:
        yield c


@pytest.fixture
def http(emu: Emulator) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=emu.openai_base, timeout=10) as c:
        yield c


def first_call(message: Any) -> Any:
    return message.tool_calls[0]


def chat(http: httpx.Client, **body: Any) -> httpx.Response:
    return http.post("/chat/completions", json={"model": "gpt-4o", "messages": USER, **body})


# -- default answers, exact shapes ----------------------------------------------------------


def test_plain_chat_exact_body_over_httpx(emu: Emulator, http: httpx.Client) -> None:
    r = chat(http)
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/json"
    assert r.headers["x-request-id"] == "req_emu_1"
    text = 'Emulator reply to: "What is the weather in Paris today?"'
    # prompt: 3 + (3 + 8 tokens); completion: Emulator reply to : " ... ? " = 14 tokens
    assert r.json() == {
        "id": "chatcmpl-emu-1",
        "object": "chat.completion",
        "created": 1700000000,
        "model": "gpt-4o",
        "choices": [
            {
                "index": 0,
                "message": {
                    "role": "assistant",
                    "content": text,
                    "refusal": None,
                    "annotations": [],
                },
                "logprobs": None,
                "finish_reason": "stop",
            }
        ],
        "usage": {
            "prompt_tokens": 14,
            "completion_tokens": 14,
            "total_tokens": 28,
            **USAGE_DETAILS,
        },
        "service_tier": "default",
        "system_fingerprint": "fp_emulator",
    }
    assert chat(http).json()["id"] == "chatcmpl-emu-2"


def test_sdk_parses_plain_answer_and_media_counts(client: openai.OpenAI) -> None:
    pixel = "data:image/png;base64,iVBORw0KGgo="
    messages: Any = [
        {"role": "system", "content": "Be brief."},
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "Compare these"},
                {"type": "image_url", "image_url": {"url": pixel}},
                {"type": "image_url", "image_url": {"url": "https://example.com/a.jpg"}},
                {"type": "input_audio", "input_audio": {"data": "UklGRg==", "format": "wav"}},
            ],
        },
    ]
    res = client.chat.completions.create(model="gpt-4o-mini", messages=messages)
    assert res.id == "chatcmpl-emu-1"
    assert res.model == "gpt-4o-mini"
    assert res.created == 1700000000
    message = res.choices[0].message
    assert message.content == (
        'Emulator reply to: "Compare these" (received 2 image(s), 1 audio clip(s))'
    )
    assert message.role == "assistant"
    assert message.tool_calls is None
    assert res.choices[0].finish_reason == "stop"
    assert res.usage is not None
    # 3 + (3 + "Be brief." 3) + (3 + "Compare these" 2 + 2 images * 85)
    assert res.usage.prompt_tokens == 184
    assert res.usage.prompt_tokens_details is not None
    assert res.usage.prompt_tokens_details.cached_tokens == 0
    assert res.usage.completion_tokens_details is not None
    assert res.usage.completion_tokens_details.reasoning_tokens == 0


def test_sdk_stream_with_usage_matches_non_stream(client: openai.OpenAI) -> None:
    plain = client.chat.completions.create(model="gpt-4o", messages=USER)
    chunks = list(
        client.chat.completions.create(
            model="gpt-4o",
            messages=USER,
            stream=True,
            stream_options={"include_usage": True},
        )
    )
    assert {c.id for c in chunks} == {"chatcmpl-emu-2"}
    assert {c.object for c in chunks} == {"chat.completion.chunk"}
    first = chunks[0].choices[0].delta
    assert (first.role, first.content) == ("assistant", "")
    pieces = [c.choices[0].delta.content for c in chunks[1:-2]]
    assert pieces == [
        "Emulator",
        " reply",
        " to:",
        ' "What',
        " is",
        " the",
        " weather",
        " in",
        " Paris",
        ' today?"',
    ]
    assert "".join(p or "" for p in pieces) == plain.choices[0].message.content
    assert chunks[-2].choices[0].finish_reason == "stop"
    assert chunks[-2].choices[0].delta.content is None
    assert chunks[-1].choices == []
    assert chunks[-1].usage == plain.usage
    assert all(c.usage is None for c in chunks[:-1])


def test_stream_wire_format_over_httpx(http: httpx.Client) -> None:
    with http.stream(
        "POST",
        "/chat/completions",
        json={"model": "m", "messages": [{"role": "user", "content": "hi"}], "stream": True},
    ) as r:
        assert r.headers["content-type"] == "text/event-stream; charset=utf-8"
        assert r.headers["transfer-encoding"] == "chunked"
        raw = r.read().decode()
    frames = raw.split("\n\n")
    assert frames[-2:] == ["data: [DONE]", ""]
    events = [json.loads(f.removeprefix("data: ")) for f in frames[:-2]]
    assert events[0] == {
        "id": "chatcmpl-emu-1",
        "object": "chat.completion.chunk",
        "created": 1700000000,
        "model": "m",
        "service_tier": "default",
        "system_fingerprint": "fp_emulator",
        "choices": [
            {
                "index": 0,
                "delta": {"role": "assistant", "content": "", "refusal": None},
                "logprobs": None,
                "finish_reason": None,
            }
        ],
    }
    assert [e["choices"][0]["delta"] for e in events[1:]] == [
        {"content": "Emulator"},
        {"content": " reply"},
        {"content": " to:"},
        {"content": ' "hi"'},
        {},
    ]
    assert events[-1]["choices"][0]["finish_reason"] == "stop"
    assert all("usage" not in e for e in events)  # no include_usage: no usage key at all


# -- tools and structured output -------------------------------------------------------------


def test_sdk_tool_call_arguments_follow_the_schema(client: openai.OpenAI) -> None:
    res = client.chat.completions.create(
        model="gpt-4o",
        messages=USER,
        tools=[WEATHER_TOOL],
    )
    choice = res.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.content is None
    assert choice.message.tool_calls is not None
    call = choice.message.tool_calls[0]
    assert call.id == "call_emu_1"
    assert call.type == "function"
    assert call.function.name == "get_weather"
    args = json.loads(call.function.arguments)
    assert args == {"city": "example city", "unit": "celsius", "days": 1}
    jsonschema.validate(args, WEATHER_TOOL["function"]["parameters"])
    assert call.function.arguments == '{"city":"example city","unit":"celsius","days":1}'


def test_named_tool_choice_and_tool_result_answer(client: openai.OpenAI) -> None:
    other = {
        "type": "function",
        "function": {
            "name": "lookup",
            "parameters": {"type": "object", "properties": {"q": {"type": "string"}}},
        },
    }
    tools: Any = [WEATHER_TOOL, other]
    res = client.chat.completions.create(
        model="gpt-4o",
        messages=USER,
        tools=tools,
        tool_choice={"type": "function", "function": {"name": "lookup"}},
    )
    call: Any = first_call(res.choices[0].message)
    assert call.function.name == "lookup"
    assert json.loads(call.function.arguments) == {"q": "example q"}

    follow_up: Any = [
        *USER,
        res.choices[0].message.model_dump(exclude_none=True),
        {"role": "tool", "tool_call_id": call.id, "content": "Sunny, 21 C"},
    ]
    answer = client.chat.completions.create(model="gpt-4o", messages=follow_up, tools=tools)
    assert answer.choices[0].finish_reason == "stop"
    assert answer.choices[0].message.content == "The tool returned: Sunny, 21 C"

    none = client.chat.completions.create(
        model="gpt-4o",
        messages=USER,
        tools=tools,
        tool_choice="none",
    )
    assert none.choices[0].message.tool_calls is None
    assert none.choices[0].message.content is not None
    assert none.choices[0].message.content.startswith("Emulator reply to:")


def test_sdk_streamed_tool_call_reassembles(client: openai.OpenAI) -> None:
    stream = client.chat.completions.create(
        model="gpt-4o",
        messages=USER,
        tools=[WEATHER_TOOL],
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    first = chunks[0].choices[0].delta
    assert first.role == "assistant"
    assert first.tool_calls is not None
    head = first.tool_calls[0]
    assert (head.index, head.id, head.type) == (0, "call_emu_1", "function")
    assert head.function is not None
    assert (head.function.name, head.function.arguments) == ("get_weather", "")
    arg_chunks = [c.choices[0].delta.tool_calls for c in chunks[1:-2]]
    assert len(arg_chunks) > 2
    arguments = ""
    for delta_calls in arg_chunks:
        assert delta_calls is not None
        assert delta_calls[0].index == 0 and delta_calls[0].id is None
        assert delta_calls[0].function is not None
        arguments += delta_calls[0].function.arguments or ""
    assert json.loads(arguments) == {"city": "example city", "unit": "celsius", "days": 1}
    assert chunks[-2].choices[0].finish_reason == "tool_calls"
    assert chunks[-1].usage is not None

    plain = client.chat.completions.create(
        model="gpt-4o",
        messages=USER,
        tools=[WEATHER_TOOL],
    )
    assert chunks[-1].usage == plain.usage


class Address(BaseModel):
    street: str
    zip_code: str


class Person(BaseModel):
    name: str
    age: int
    tags: list[str]
    home: Address
    nickname: str | None


def test_sdk_parse_json_schema_output(client: openai.OpenAI) -> None:
    res = client.chat.completions.parse(
        model="gpt-4o",
        messages=USER,
        response_format=Person,
    )
    person = res.choices[0].message.parsed
    assert person == Person(
        name="example name",
        age=1,
        tags=["example tags"],
        home=Address(street="example street", zip_code="example zip code"),
        nickname="example nickname",
    )


def test_json_object_mode(http: httpx.Client) -> None:
    messages = [{"role": "user", "content": "Answer in JSON please"}]
    r = chat(http, messages=messages, response_format={"type": "json_object"})
    content = r.json()["choices"][0]["message"]["content"]
    assert json.loads(content) == {"answer": 'Emulator reply to: "Answer in JSON please"'}
    # the real API refuses json_object when no message mentions JSON
    r = chat(http, response_format={"type": "json_object"})
    assert r.status_code == 400
    assert r.json()["error"]["param"] == "messages"


SCHEMAS: list[dict[str, Any]] = [
    Person.model_json_schema(),
    {
        "type": "object",
        "properties": {
            "when": {"type": "string", "format": "date-time"},
            "mail": {"type": "string", "format": "email"},
            "id": {"type": "string", "format": "uuid"},
            "score": {"type": "number", "exclusiveMinimum": 2, "maximum": 10},
            "count": {"type": "integer", "minimum": 5, "multipleOf": 5},
            "flag": {"type": "boolean"},
            "code": {"type": "string", "minLength": 20, "maxLength": 22},
            "pair": {"type": "array", "prefixItems": [{"type": "integer"}, {"const": "x"}]},
            "many": {
                "type": "array",
                "items": {"type": "string"},
                "minItems": 3,
                "uniqueItems": True,
            },
            "either": {"oneOf": [{"type": "null"}, {"type": "integer"}]},
            "both": {
                "allOf": [
                    {"type": "object", "properties": {"a": {"type": "string"}}},
                    {"properties": {"b": {"type": "integer"}}, "required": ["b"]},
                ]
            },
            "map": {"type": "object", "additionalProperties": {"type": "integer"}},
            "nullable": {"type": ["null", "string"]},
        },
        "required": ["when", "score", "count"],
    },
    {  # recursive: must terminate
        "$defs": {
            "Node": {
                "type": "object",
                "properties": {
                    "value": {"type": "integer"},
                    "children": {"type": "array", "items": {"$ref": "#/$defs/Node"}},
                    "parent": {"anyOf": [{"$ref": "#/$defs/Node"}, {"type": "null"}]},
                },
                "required": ["value", "children", "parent"],
            }
        },
        "$ref": "#/$defs/Node",
    },
]


@pytest.mark.parametrize("schema", SCHEMAS, ids=["pydantic", "keywords", "recursive"])
def test_synthesized_instances_validate(schema: dict[str, Any]) -> None:
    instance = synthesize(schema)
    jsonschema.validate(instance, schema)
    assert synthesize(schema) == instance  # deterministic


def test_synthesize_exact_values() -> None:
    schema = SCHEMAS[1]
    got = synthesize(schema)
    assert got["when"] == "2024-01-01T00:00:00Z"
    assert got["score"] == 2.5
    assert got["count"] == 5
    assert got["many"] == ["example many", "example many 2", "example many 3"]
    assert got["either"] == 1
    assert got["both"] == {"a": "example a", "b": 1}
    assert got["map"] == {"key": 1}
    assert got["nullable"] == "example nullable"


# -- request parameters ------------------------------------------------------------------------


def test_n_choices_max_tokens_and_stop(http: httpx.Client) -> None:
    body = chat(http, n=2, max_tokens=3).json()
    assert [c["index"] for c in body["choices"]] == [0, 1]
    assert [c["message"]["content"] for c in body["choices"]] == ["Emulator reply to"] * 2
    assert [c["finish_reason"] for c in body["choices"]] == ["length", "length"]
    assert body["usage"]["completion_tokens"] == 6

    body = chat(http, max_completion_tokens=100, stop=["Paris"]).json()
    assert body["choices"][0]["message"]["content"] == 'Emulator reply to: "What is the weather in '
    assert body["choices"][0]["finish_reason"] == "stop"


def test_n_choices_stream_and_tool_ids(client: openai.OpenAI) -> None:
    res = client.chat.completions.create(
        model="gpt-4o",
        messages=USER,
        tools=[WEATHER_TOOL],
        n=2,
    )
    ids = [first_call(c.message).id for c in res.choices]
    assert ids == ["call_emu_1", "call_emu_2"]
    chunks = list(
        client.chat.completions.create(
            model="gpt-4o",
            messages=USER,
            n=2,
            max_tokens=2,
            stream=True,
        )
    )
    finals = [(c.choices[0].index, c.choices[0].finish_reason) for c in chunks if c.choices]
    assert [f for f in finals if f[1]] == [(0, "length"), (1, "length")]


# -- errors of the real API ------------------------------------------------------------------


def test_unknown_path_and_malformed_json(emu: Emulator, http: httpx.Client) -> None:
    r = http.post("/embeddingz", json={})
    assert r.status_code == 404
    assert r.json() == {
        "error": {
            "message": "Invalid URL (POST /v1/embeddingz)",
            "type": "invalid_request_error",
            "param": None,
            "code": None,
        }
    }
    r = http.post(
        "/chat/completions", content=b'{"model": "x",', headers={"content-type": "application/json"}
    )
    assert r.status_code == 400
    error = r.json()["error"]
    assert error["message"].startswith("We could not parse the JSON body of your request.")
    assert (error["type"], error["param"], error["code"]) == ("invalid_request_error", None, None)
    r = http.get("/chat/completions")
    assert r.status_code == 405


def test_request_validation_like_the_real_api(client: openai.OpenAI) -> None:
    bad_pairing: Any = [*USER, {"role": "tool", "tool_call_id": "call_1", "content": "x"}]
    with pytest.raises(openai.BadRequestError) as exc:
        client.chat.completions.create(model="gpt-4o", messages=bad_pairing)
    assert exc.value.body == {
        "message": "Invalid parameter: messages with role 'tool' must be a response to a "
        "preceeding message with 'tool_calls'.",
        "type": "invalid_request_error",
        "param": "messages.[1].role",
        "code": None,
    }
    string_image: Any = [{"role": "user", "content": [{"type": "image_url", "image_url": "x"}]}]
    with pytest.raises(openai.BadRequestError) as exc:
        client.chat.completions.create(model="gpt-4o", messages=string_image)
    assert exc.value.code == "invalid_type"
    assert exc.value.param == "messages[0].content[0].image_url"
    with pytest.raises(openai.BadRequestError) as exc:
        client.chat.completions.create(model="gpt-4o", messages=[])
    assert exc.value.code == "empty_array"
    grounding: Any = [{"googleSearch": {}}]
    with pytest.raises(openai.BadRequestError) as exc:
        client.chat.completions.create(model="gpt-4o", messages=USER, tools=grounding)
    assert exc.value.param == "tools[0].type"


def test_api_key_checks(emu: Emulator) -> None:
    emu.api_key = "sk-right-key-123456"
    with httpx.Client(base_url=emu.openai_base) as http:
        missing = chat(http)
        wrong = http.post(
            "/chat/completions",
            json={"model": "gpt-4o", "messages": USER},
            headers={"authorization": "Bearer sk-wrong-key-987654"},
        )
    assert missing.status_code == 401
    assert missing.json()["error"]["message"].startswith("You didn't provide an API key.")
    assert wrong.status_code == 401
    assert wrong.json() == {
        "error": {
            "message": "Incorrect API key provided: sk-************7654. You can find your API "
            "key at https://platform.openai.com/account/api-keys.",
            "type": "invalid_request_error",
            "param": None,
            "code": "invalid_api_key",
        }
    }
    assert "sk-wrong-key-987654" not in wrong.text
    bad = openai.OpenAI(base_url=emu.openai_base, api_key="sk-nope-000000", max_retries=0)
    with bad, pytest.raises(openai.AuthenticationError):
        bad.chat.completions.create(model="gpt-4o", messages=USER)
    with openai.OpenAI(base_url=emu.openai_base, api_key=emu.api_key, max_retries=0) as good:
        res = good.chat.completions.create(model="gpt-4o", messages=USER)
        assert res.choices[0].message.content is not None


def test_azure_deployment_path(emu: Emulator) -> None:
    emu.api_key = "azure-key-0123456789"
    azure = openai.AzureOpenAI(
        azure_endpoint=emu.azure_endpoint,
        api_key="azure-key-0123456789",
        api_version="2024-10-21",
        max_retries=0,
    )
    with azure:
        res = azure.chat.completions.create(model="my-gpt4o", messages=USER)
        stream = list(
            azure.chat.completions.create(
                model="my-gpt4o",
                messages=USER,
                stream=True,
            )
        )
    assert res.model == "my-gpt4o"
    assert res.choices[0].message.content == (
        'Emulator reply to: "What is the weather in Paris today?"'
    )
    assert res.model_extra is not None
    assert res.model_extra["prompt_filter_results"][0]["prompt_index"] == 0
    assert stream[0].choices == []  # Azure's prompt-filter chunk comes first
    text = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
    assert text == res.choices[0].message.content
    sent = emu.requests[0]
    assert sent.path == "/openai/deployments/my-gpt4o/chat/completions"
    assert sent.query == {"api-version": "2024-10-21"}
    assert sent.headers["api-key"] == "azure-key-0123456789"
    assert sent.json == {"model": "my-gpt4o", "messages": USER}

    with httpx.Client(base_url=emu.url, headers={"api-key": emu.api_key}) as http:
        no_version = http.post("/openai/deployments/d/chat/completions", json={"messages": USER})
        denied = http.post(
            "/openai/deployments/d/chat/completions?api-version=1",
            json={"messages": USER},
            headers={"api-key": "wrong"},
        )
    assert no_version.status_code == 404
    assert no_version.json() == {"error": {"code": "404", "message": "Resource not found"}}
    assert denied.status_code == 401
    assert denied.json()["error"]["code"] == "401"


def test_any_prefix_is_openai_compatible(emu: Emulator) -> None:
    base = f"{emu.url}/serving/llava/v1"
    with openai.OpenAI(base_url=base, api_key="none", max_retries=0) as compat:
        res = compat.chat.completions.create(model="llava-13b", messages=USER)
    assert res.model == "llava-13b"
    assert emu.requests[0].path == "/serving/llava/v1/chat/completions"


# -- scripting ---------------------------------------------------------------------------------


def test_queue_order_and_path_filter(emu: Emulator, http: httpx.Client) -> None:
    emu.queue_json({"embedding": True}, path_contains="/embeddings")
    emu.queue_json({"first": 1})
    emu.queue_json({"second": 2}, status=201, headers={"x-custom": "yes"})
    assert emu.pending == 3
    r1, r2 = chat(http), chat(http)  # both skip the entry reserved for /embeddings
    assert r1.json() == {"first": 1}
    assert (r2.status_code, r2.json(), r2.headers["x-custom"]) == (201, {"second": 2}, "yes")
    assert http.post("/embeddings", json={}).json() == {"embedding": True}
    assert emu.pending == 0
    assert chat(http).json()["object"] == "chat.completion"  # back to the default answer


def test_scripted_errors_reach_the_sdk(emu: Emulator, client: openai.OpenAI) -> None:
    emu.queue_error(429, "Rate limit reached for gpt-4o", headers={"Retry-After": "7"})
    emu.queue_error(500, "The server had an error while processing your request.")
    emu.queue_error(503, {"error": {"message": "overloaded", "type": "server_error"}})
    with pytest.raises(openai.RateLimitError) as rate:
        client.chat.completions.create(model="gpt-4o", messages=USER)
    assert rate.value.response.headers["retry-after"] == "7"
    assert rate.value.body == {
        "message": "Rate limit reached for gpt-4o",
        "type": "requests",
        "param": None,
        "code": "rate_limit_exceeded",
    }
    with pytest.raises(openai.InternalServerError) as server:
        client.chat.completions.create(model="gpt-4o", messages=USER)
    assert server.value.status_code == 500
    assert server.value.body == {
        "message": "The server had an error while processing your request.",
        "type": "server_error",
        "param": None,
        "code": None,
    }
    with pytest.raises(openai.InternalServerError) as unavailable:
        client.chat.completions.create(model="gpt-4o", messages=USER)
    assert unavailable.value.status_code == 503
    assert unavailable.value.body == {"message": "overloaded", "type": "server_error"}


def test_raw_malformed_body(emu: Emulator, http: httpx.Client, client: openai.OpenAI) -> None:
    emu.queue_raw(200, b'{"id": "chatcmpl-1", "choices": [', repeat=True)
    r = chat(http)
    assert r.content == b'{"id": "chatcmpl-1", "choices": ['
    assert r.headers["content-type"] == "application/json"
    assert r.headers["content-length"] == "33"
    with pytest.raises(json.JSONDecodeError):
        client.chat.completions.create(model="gpt-4o", messages=USER)


def test_scripted_stream_verbatim(emu: Emulator, http: httpx.Client) -> None:
    emu.queue_stream(
        [{"type": "ping"}, ": keep-alive comment\n\n", {"n": 2}],
        done=False,
        event_name="message",
    )
    with http.stream("POST", "/chat/completions", json={}) as r:
        raw = r.read()
    assert raw == (
        b'event: message\ndata: {"type":"ping"}\n\n'
        b": keep-alive comment\n\n"
        b'event: message\ndata: {"n":2}\n\n'
    )
    emu.queue_stream([{"a": 1}])
    with http.stream("POST", "/chat/completions", json={}) as r:
        assert r.read() == b'data: {"a":1}\n\ndata: [DONE]\n\n'


def test_drop_mid_stream(emu: Emulator, client: openai.OpenAI, http: httpx.Client) -> None:
    chunk = {
        "id": "chatcmpl-x",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": "gpt-4o",
        "choices": [{"index": 0, "delta": {"content": "Hel"}, "finish_reason": None}],
    }
    emu.queue_drop(stream_events=[chunk, chunk])
    received: list[str | None] = []
    stream = client.chat.completions.create(
        model="gpt-4o",
        messages=USER,
        stream=True,
    )
    with pytest.raises(openai.APIConnectionError):
        for c in stream:
            received.append(c.choices[0].delta.content)
    assert received == ["Hel", "Hel"]

    emu.queue_drop(after_bytes=40, stream_events=[chunk])
    with http.stream("POST", "/chat/completions", json={}) as r:
        assert r.status_code == 200
        with pytest.raises(httpx.RemoteProtocolError):
            r.read()

    emu.queue_drop()  # before any byte of the response
    with pytest.raises(httpx.RemoteProtocolError, match="without sending"):
        chat(http)
    emu.queue_drop(after_bytes=10)  # the default answer, cut
    with pytest.raises(httpx.RemoteProtocolError, match="received 10 bytes"):
        chat(http)
    assert chat(http).status_code == 200  # the server is fine afterwards


def test_delay(emu: Emulator, client: openai.OpenAI) -> None:
    emu.queue_delay(0.3)
    emu.queue_delay(0.3, then=JsonReply({"late": True}))
    emu.queue_delay(1.0)
    start = time.perf_counter()
    res = client.chat.completions.create(model="gpt-4o", messages=USER)
    assert time.perf_counter() - start >= 0.3
    assert res.choices[0].message.content is not None
    with httpx.Client(base_url=emu.openai_base) as http:
        start = time.perf_counter()
        assert chat(http).json() == {"late": True}
        assert time.perf_counter() - start >= 0.3
    with pytest.raises(openai.APITimeoutError):
        client.with_options(timeout=0.2).chat.completions.create(
            model="gpt-4o",
            messages=USER,
        )
    res = client.chat.completions.create(model="gpt-4o", messages=USER)
    assert res.choices[0].finish_reason == "stop"


def test_stream_delay_and_queue_objects(emu: Emulator, http: httpx.Client) -> None:
    emu.queue(StreamReply([{"i": 1}, {"i": 2}, {"i": 3}], delay=0.1))
    emu.queue(ErrorReply(418, "teapot"))
    emu.queue(DropReply())
    start = time.perf_counter()
    with http.stream("POST", "/chat/completions", json={}) as r:
        raw = r.read()
    assert time.perf_counter() - start >= 0.3  # three gaps: 2 events + [DONE]
    assert raw.count(b"data: ") == 4
    teapot = chat(http)
    assert teapot.status_code == 418
    assert teapot.json()["error"]["message"] == "teapot"
    with pytest.raises(httpx.RemoteProtocolError):
        chat(http)


def test_repeat_serves_forever_and_clear(emu: Emulator, http: httpx.Client) -> None:
    emu.queue_json({"bench": True}, repeat=True)
    assert [chat(http).json() for _ in range(5)] == [{"bench": True}] * 5
    assert emu.pending == 1
    assert len(emu.requests) == 5
    emu.clear()
    assert (emu.pending, emu.requests) == (0, [])
    assert chat(http).json()["id"] == "chatcmpl-emu-1"  # counters restart too


# -- recording, transport ----------------------------------------------------------------------


def test_requests_are_recorded(emu: Emulator, client: openai.OpenAI) -> None:
    client.chat.completions.create(
        model="gpt-4o",
        messages=USER,
        temperature=0.5,
        extra_query={"trace": "1"},
    )
    (req,) = emu.requests
    assert req.method == "POST"
    assert req.path == "/v1/chat/completions"
    assert req.query == {"trace": "1"}
    assert req.headers["authorization"] == "Bearer sk-test"
    assert req.headers["content-type"] == "application/json"
    assert req.json == {"model": "gpt-4o", "messages": USER, "temperature": 0.5}
    assert json.loads(req.body) == req.json
    with pytest.raises(AttributeError):
        req.method = "GET"  # type: ignore[misc]


def test_keep_alive_reuses_one_connection(emu: Emulator, http: httpx.Client) -> None:
    for _ in range(5):
        assert chat(http).status_code == 200
    assert {r.connection for r in emu.requests} == {1}
    assert emu.connections == 1
    chat(http, user="u").raise_for_status()
    r = http.post(
        "/chat/completions",
        json={"model": "m", "messages": USER},
        headers={"connection": "close"},
    )
    assert r.headers["connection"] == "close"
    chat(http).raise_for_status()
    assert emu.connections == 2


def test_chunked_request_body(emu: Emulator, http: httpx.Client) -> None:
    payload = json.dumps({"model": "m", "messages": USER}).encode()

    def pieces() -> Iterator[bytes]:
        yield payload[:10]
        yield payload[10:]

    r = http.post("/chat/completions", content=pieces())
    assert r.status_code == 200
    assert emu.requests[0].headers["transfer-encoding"] == "chunked"
    assert emu.requests[0].body == payload


def test_raw_socket_pipelined_and_100_continue(emu: Emulator) -> None:
    body = json.dumps({"model": "m", "messages": USER}).encode()
    head = b"POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\ncontent-length: %d\r\n" % len(body)
    with socket.create_connection(("127.0.0.1", int(emu.url.rsplit(":", 1)[1]))) as sock:
        sock.sendall(head + b"expect: 100-continue\r\n\r\n")
        assert sock.recv(100) == b"HTTP/1.1 100 Continue\r\n\r\n"
        sock.sendall(body + head + b"connection: close\r\n\r\n" + body)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    assert data.count(b"HTTP/1.1 200 OK\r\n") == 2
    assert b"chatcmpl-emu-1" in data and b"chatcmpl-emu-2" in data


async def test_fifty_concurrent_async_requests(emu: Emulator) -> None:
    async with openai.AsyncOpenAI(
        base_url=emu.openai_base, api_key="sk-test", max_retries=0
    ) as aclient:
        results = await asyncio.gather(
            *(
                aclient.chat.completions.create(
                    model="gpt-4o",
                    messages=[{"role": "user", "content": f"question {i}"}],
                )
                for i in range(50)
            )
        )
    assert sorted(r.choices[0].message.content or "" for r in results) == sorted(
        f'Emulator reply to: "question {i}"' for i in range(50)
    )
    assert len({r.id for r in results}) == 50
    assert len(emu.requests) == 50


async def test_fifty_concurrent_httpx_streams(emu: Emulator) -> None:
    async with httpx.AsyncClient(base_url=emu.openai_base, timeout=10) as ac:

        async def one(i: int) -> str:
            body = {"model": "m", "messages": [{"role": "user", "content": f"q{i}"}]}
            async with ac.stream("POST", "/chat/completions", json={**body, "stream": True}) as r:
                text = ""
                async for line in r.aiter_lines():
                    if line.startswith("data: {"):
                        delta = json.loads(line[6:])["choices"][0]["delta"]
                        text += delta.get("content") or ""
                return text

        texts = await asyncio.gather(*(one(i) for i in range(50)))
    assert texts == [f'Emulator reply to: "q{i}"' for i in range(50)]


# -- lifecycle ---------------------------------------------------------------------------------


def test_lifecycle() -> None:
    emu = Emulator()
    with pytest.raises(RuntimeError):
        _ = emu.url
    assert emu.start() is emu
    emu.start()  # idempotent
    url = emu.url
    assert url.startswith("http://127.0.0.1:")
    assert emu.openai_base == url + "/v1"
    assert httpx.post(url + "/v1/chat/completions", json={}).status_code == 400
    emu.close()
    emu.close()  # idempotent
    with pytest.raises(httpx.ConnectError):
        httpx.post(url + "/v1/chat/completions", json={})


def test_close_while_a_request_is_pending() -> None:
    emu = Emulator().start()
    emu.queue_delay(30)
    errors: list[BaseException] = []

    async def waiting() -> None:
        async with httpx.AsyncClient(base_url=emu.openai_base, timeout=10) as ac:
            try:
                await ac.post("/chat/completions", json={})
            except httpx.HTTPError as exc:
                errors.append(exc)

    async def main() -> None:
        task = asyncio.create_task(waiting())
        await asyncio.sleep(0.2)
        start = time.perf_counter()
        await asyncio.to_thread(emu.close)
        assert time.perf_counter() - start < 5
        await task

    asyncio.run(main())
    assert len(errors) == 1


def test_import_polymodal_does_not_load_the_emulator() -> None:
    code = "import sys, polymodal; assert 'polymodal.testing' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)
