"""ChatPolymodal end to end over real loopback HTTP against polymodal's provider emulator.

Each test checks both sides: what LangChain hands back, and what reached the provider
(``emu.requests``), so a translation that is wrong on the wire cannot pass.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from typing import Any

import pytest
from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.exceptions import (
    ContextOverflowError,
    ModelAuthenticationError,
    ModelInvalidRequestError,
    ModelRateLimitError,
    ModelTimeoutError,
)
from langchain_core.messages import AIMessage, AIMessageChunk, HumanMessage, ToolMessage
from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate
from langchain_core.rate_limiters import BaseRateLimiter
from langchain_core.tools import tool
from pydantic import BaseModel

import polymodal.errors as pe
from langchain_polymodal import ChatPolymodal
from polymodal.testing import Emulator

PNG_B64 = (
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQ"
    "AAAABJRU5ErkJggg=="
)
SECRET = "sk-secret-1234567890abcdef"


class Person(BaseModel):
    """A person."""

    name: str
    age: int


@tool
def get_weather(city: str) -> str:
    """Current weather in a city."""
    return f"It is sunny in {city}."


@pytest.fixture(scope="module")
def emulator() -> Iterator[Emulator]:
    with Emulator() as emu:
        yield emu


@pytest.fixture
def emu(emulator: Emulator) -> Emulator:
    emulator.clear()
    return emulator


def chat(emu: Emulator, **kwargs: Any) -> ChatPolymodal:
    params: dict[str, Any] = {
        "model": "openai/gpt-4o",
        "api_base": emu.openai_base,
        "api_key": "test",
    }
    return ChatPolymodal(**{**params, **kwargs})


def sent(emu: Emulator, i: int = -1) -> dict[str, Any]:
    body = emu.requests[i].json
    assert isinstance(body, dict)
    return body


# --------------------------------------------------------------------------- LCEL chains


def test_lcel_chain_with_image_url() -> None:
    with Emulator() as emu:
        prompt = ChatPromptTemplate.from_messages(
            [
                ("system", "You describe images."),
                (
                    "human",
                    [
                        {"type": "text", "text": "{question}"},
                        {"type": "image", "url": "{image_url}"},
                    ],
                ),
            ]
        )
        answer = (prompt | chat(emu) | StrOutputParser()).invoke(
            {"question": "What is this?", "image_url": "https://example.com/cat.jpg"}
        )
        assert answer.startswith('Emulator reply to: "What is this?"')
        assert "1 image" in answer
        body = sent(emu)
        assert body["model"] == "gpt-4o"
        assert body["messages"] == [
            {"role": "system", "content": "You describe images."},
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "What is this?"},
                    {"type": "image_url", "image_url": {"url": "https://example.com/cat.jpg"}},
                ],
            },
        ]


def test_lcel_chain_with_base64_image(emu: Emulator) -> None:
    prompt = ChatPromptTemplate.from_messages(
        [
            (
                "human",
                [
                    {"type": "text", "text": "Describe."},
                    {"type": "image", "base64": "{data}", "mime_type": "image/png"},
                ],
            )
        ]
    )
    (prompt | chat(emu) | StrOutputParser()).invoke({"data": PNG_B64})
    part = sent(emu)["messages"][0]["content"][1]
    assert part == {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG_B64}"}}


def test_openai_style_image_block_with_detail(emu: Emulator) -> None:
    url = "https://example.com/chart.png"
    message = HumanMessage(
        content=[
            {"type": "text", "text": "Read it."},
            {"type": "image_url", "image_url": {"url": url, "detail": "high"}},
        ]
    )
    chat(emu).invoke([message])
    part = sent(emu)["messages"][0]["content"][1]
    assert part == {"type": "image_url", "image_url": {"url": url, "detail": "high"}}


# --------------------------------------------------------------------------- streaming


class _Tokens(BaseCallbackHandler):
    def __init__(self) -> None:
        self.tokens: list[str] = []

    def on_llm_new_token(self, token: str, **kwargs: Any) -> None:
        self.tokens.append(token)


def test_stream_text(emu: Emulator) -> None:
    handler = _Tokens()
    chunks = list(chat(emu).stream("Tell me a story", config={"callbacks": [handler]}))
    assert len(chunks) > 3
    assert all(isinstance(c, AIMessageChunk) for c in chunks)
    full = chunks[0]
    for c in chunks[1:]:
        full = full + c
    assert full.content == 'Emulator reply to: "Tell me a story"'
    assert "".join(handler.tokens) == full.content
    with_usage = [c for c in chunks if c.usage_metadata and c.usage_metadata["input_tokens"]]
    assert len(with_usage) == 1
    assert full.usage_metadata is not None and full.usage_metadata["input_tokens"] > 0
    assert full.usage_metadata["total_tokens"] == (
        full.usage_metadata["input_tokens"] + full.usage_metadata["output_tokens"]
    )
    assert chunks[-1].chunk_position == "last"
    assert full.response_metadata["finish_reason"] == "stop"
    assert full.response_metadata["model_name"] == "gpt-4o"
    assert full.response_metadata["model_provider"] == "openai"
    body = sent(emu)
    assert body["stream"] is True
    assert body["stream_options"] == {"include_usage": True}


def test_stream_tool_call_chunks(emu: Emulator) -> None:
    model = chat(emu).bind_tools([get_weather])
    chunks = list(model.stream("Weather in Paris?"))
    assert any(c.tool_call_chunks for c in chunks)
    full = chunks[0]
    for c in chunks[1:]:
        full = full + c
    assert isinstance(full, AIMessageChunk)
    assert len(full.tool_calls) == 1
    call = full.tool_calls[0]
    assert call["name"] == "get_weather"
    assert isinstance(call["args"].get("city"), str)
    assert call["id"]
    assert full.response_metadata["finish_reason"] == "tool_calls"


async def test_astream(emu: Emulator) -> None:
    chunks = [c async for c in chat(emu).astream("hi")]
    text = "".join(c.text for c in chunks)
    assert text == 'Emulator reply to: "hi"'
    assert chunks[-1].chunk_position == "last"
    assert sum(1 for c in chunks if c.usage_metadata) == 1


def test_streaming_flag_makes_invoke_stream(emu: Emulator) -> None:
    result = chat(emu, streaming=True).invoke("hi")
    assert isinstance(result, AIMessage)
    assert result.content == 'Emulator reply to: "hi"'
    assert result.usage_metadata is not None
    assert sent(emu)["stream"] is True


def test_disable_streaming(emu: Emulator) -> None:
    chunks = list(chat(emu, disable_streaming=True).stream("hi"))
    assert "".join(c.text for c in chunks) == 'Emulator reply to: "hi"'
    assert "stream" not in sent(emu)


def test_stream_usage_off(emu: Emulator) -> None:
    list(chat(emu, stream_usage=False).stream("hi"))
    assert "stream_options" not in sent(emu)


def test_output_version_v1(emu: Emulator) -> None:
    result = chat(emu, output_version="v1").invoke("hi")
    assert result.content == [{"type": "text", "text": 'Emulator reply to: "hi"'}]


# --------------------------------------------------------------------------- agent loop


def test_agent_loop_with_create_agent(emu: Emulator) -> None:
    from langchain.agents import create_agent

    calls: list[str] = []

    @tool
    def lookup_population(city: str) -> str:
        """Population of a city."""
        calls.append(city)
        return f"{city} has 2.1 million people."

    agent = create_agent(chat(emu), tools=[lookup_population])
    state = agent.invoke({"messages": [HumanMessage("How many people live in Paris?")]})

    # The tool ran once, with the arguments the model sent.
    assert len(calls) == 1
    messages = state["messages"]
    ai_call, tool_result, final = messages[1], messages[2], messages[3]
    assert isinstance(ai_call, AIMessage) and isinstance(tool_result, ToolMessage)
    call_id = ai_call.tool_calls[0]["id"]
    assert tool_result.tool_call_id == call_id
    assert isinstance(final, AIMessage)
    assert final.text == f"The tool returned: {calls[0]} has 2.1 million people."

    # What the provider saw: the tools first, then the tool result as a native `tool` message.
    assert len(emu.requests) == 2
    first, second = sent(emu, 0), sent(emu, 1)
    assert [t["function"]["name"] for t in first["tools"]] == ["lookup_population"]
    assert second["messages"][-2] == {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {
                "id": call_id,
                "type": "function",
                "function": {
                    "name": "lookup_population",
                    "arguments": f'{{"city": "{calls[0]}"}}',
                },
            }
        ],
    }
    assert second["messages"][-1] == {
        "role": "tool",
        "content": f"{calls[0]} has 2.1 million people.",
        "tool_call_id": call_id,
    }


def test_agent_with_provider_strategy_response_format(emu: Emulator) -> None:
    from langchain.agents import create_agent
    from langchain.agents.structured_output import ProviderStrategy

    agent = create_agent(chat(emu), tools=[], response_format=ProviderStrategy(Person))
    state = agent.invoke({"messages": [HumanMessage("Invent a person.")]})
    assert isinstance(state["structured_response"], Person)
    rf = sent(emu)["response_format"]
    assert rf["type"] == "json_schema"
    assert rf["json_schema"]["name"] == "Person"
    assert set(rf["json_schema"]["schema"]["properties"]) == {"name", "age"}


def test_agent_with_tools_and_a_raw_schema_response_format(emu: Emulator) -> None:
    """create_agent picks the provider strategy for gpt-4o and passes response_format to
    bind_tools together with the tools."""
    from langchain.agents import create_agent

    agent = create_agent(chat(emu), tools=[get_weather], response_format=Person)
    state = agent.invoke({"messages": [HumanMessage("Weather in Rome, then a person.")]})
    assert isinstance(state["structured_response"], Person)
    first, last = sent(emu, 0), sent(emu, -1)
    assert [t["function"]["name"] for t in first["tools"]] == ["get_weather"]
    assert first["response_format"]["json_schema"]["name"] == "Person"
    assert last["messages"][-1]["role"] == "tool"


# --------------------------------------------------------------------------- structured output


def _check_json_schema_request(body: dict[str, Any]) -> None:
    assert body["response_format"]["type"] == "json_schema"
    spec = body["response_format"]["json_schema"]
    assert spec["name"] == "Person"
    assert spec["schema"]["required"] == ["name", "age"]
    assert "tools" not in body


def _check_function_calling_request(body: dict[str, Any]) -> None:
    assert [t["function"]["name"] for t in body["tools"]] == ["Person"]
    assert body["tool_choice"] == {"type": "function", "function": {"name": "Person"}}
    assert "response_format" not in body


def test_structured_json_schema(emu: Emulator) -> None:
    person = chat(emu).with_structured_output(Person, method="json_schema").invoke("a person")
    assert isinstance(person, Person)
    _check_json_schema_request(sent(emu))


async def test_structured_json_schema_async(emu: Emulator) -> None:
    person = await chat(emu).with_structured_output(Person).ainvoke("a person")
    assert isinstance(person, Person)
    _check_json_schema_request(sent(emu))  # json_schema is the default for gpt-4o


def test_structured_json_schema_strict(emu: Emulator) -> None:
    chat(emu).with_structured_output(Person, strict=True).invoke("a person")
    spec = sent(emu)["response_format"]["json_schema"]
    assert spec["strict"] is True
    assert spec["schema"]["additionalProperties"] is False


def test_structured_function_calling(emu: Emulator) -> None:
    structured = chat(emu).with_structured_output(Person, method="function_calling")
    assert isinstance(structured.invoke("a person"), Person)
    _check_function_calling_request(sent(emu))


async def test_structured_function_calling_async(emu: Emulator) -> None:
    structured = chat(emu).with_structured_output(Person, method="function_calling")
    assert isinstance(await structured.ainvoke("a person"), Person)
    _check_function_calling_request(sent(emu))


def test_structured_default_method_follows_the_registry(emu: Emulator) -> None:
    # The packaged registry says gpt-audio-mini takes no response schema: function calling.
    chat(emu, model="openai/gpt-audio-mini").with_structured_output(Person).invoke("a person")
    _check_function_calling_request(sent(emu))
    # A model the registry doesn't know (say, a local server's): json_schema.
    chat(emu, model="openai/my-local-vlm").with_structured_output(Person).invoke("a person")
    _check_json_schema_request(sent(emu))


def test_tools_passed_per_call(emu: Emulator) -> None:
    chat(emu).invoke("Weather in Oslo?", tools=[get_weather])
    assert sent(emu)["tools"][0]["function"]["name"] == "get_weather"


def test_structured_function_calling_dict_schema(emu: Emulator) -> None:
    schema = Person.model_json_schema()
    out = chat(emu).with_structured_output(schema, method="function_calling").invoke("a person")
    assert isinstance(out, dict) and set(out) == {"name", "age"}


def test_structured_untitled_json_schema(emu: Emulator) -> None:
    schema = {"type": "object", "properties": {"a": {"type": "integer"}}, "required": ["a"]}
    out = chat(emu).with_structured_output(schema).invoke("x")
    assert isinstance(out, dict) and isinstance(out["a"], int)
    assert sent(emu)["response_format"]["json_schema"]["name"] == "response"


def test_structured_json_mode(emu: Emulator) -> None:
    out = chat(emu).with_structured_output(method="json_mode").invoke("answer in JSON")
    assert out == {"answer": 'Emulator reply to: "answer in JSON"'}
    assert sent(emu)["response_format"] == {"type": "json_object"}


async def test_structured_json_mode_async_with_schema(emu: Emulator) -> None:
    emu.queue_json(
        {
            "id": "chatcmpl-x",
            "object": "chat.completion",
            "created": 1,
            "model": "gpt-4o",
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": '{"name": "Ada", "age": 36}'},
                    "finish_reason": "stop",
                }
            ],
        }
    )
    structured = chat(emu).with_structured_output(Person, method="json_mode")
    assert await structured.ainvoke("a person, in JSON") == Person(name="Ada", age=36)
    assert sent(emu)["response_format"] == {"type": "json_object"}


def test_structured_include_raw_keeps_the_parsing_error(emu: Emulator) -> None:
    structured = chat(emu).with_structured_output(Person, method="json_mode", include_raw=True)
    out = structured.invoke("no json here")  # the emulator answers {"answer": ...}
    assert isinstance(out["raw"], AIMessage)
    assert out["parsed"] is None
    assert out["parsing_error"] is not None


def test_structured_refusal_raises_model_refusal_error(emu: Emulator) -> None:
    from langchain_core.exceptions import ModelRefusalError

    refusal = {
        "id": "chatcmpl-r",
        "object": "chat.completion",
        "created": 1,
        "model": "gpt-4o",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": None, "refusal": "I can't help."},
                "finish_reason": "stop",
            }
        ],
    }
    emu.queue_json(refusal)
    with pytest.raises(ModelRefusalError, match="I can't help"):
        chat(emu).with_structured_output(Person).invoke("a person")
    emu.queue_json(refusal)
    out = chat(emu).with_structured_output(Person, include_raw=True).invoke("a person")
    assert isinstance(out["parsing_error"], ModelRefusalError)
    assert out["raw"].additional_kwargs["refusal"] == "I can't help."


# --------------------------------------------------------------------------- errors


def test_rate_limit_error_is_both(emu: Emulator) -> None:
    emu.queue_error(429, "Rate limit reached", headers={"retry-after": "0"})
    with pytest.raises(ModelRateLimitError) as info:
        chat(emu, max_retries=0).invoke("hi")
    err = info.value
    assert isinstance(err, pe.RateLimitError)
    assert err.status_code == 429
    assert err.provider == "openai"
    assert "Rate limit reached" in str(err)


def test_other_errors_are_both(emu: Emulator) -> None:
    emu.queue_error(401, "Incorrect API key provided")
    with pytest.raises(ModelAuthenticationError) as auth:
        chat(emu, max_retries=0).invoke("hi")
    assert isinstance(auth.value, pe.AuthenticationError)

    emu.queue_error(
        400,
        {
            "error": {
                "message": "This model's maximum context length is 128000 tokens.",
                "type": "invalid_request_error",
                "code": "context_length_exceeded",
            }
        },
    )
    with pytest.raises(ContextOverflowError) as ctx:
        chat(emu, max_retries=0).invoke("hi")
    assert isinstance(ctx.value, pe.ContextWindowExceededError)


def test_invalid_request_before_io(emu: Emulator) -> None:
    with pytest.raises(ModelInvalidRequestError) as info:
        chat(emu).invoke("hi", temperature="hot")
    assert isinstance(info.value, pe.BadRequestError)
    assert emu.requests == []


def test_stream_error_is_both(emu: Emulator) -> None:
    emu.queue_error(429, "slow down", headers={"retry-after": "0"})
    with pytest.raises(ModelRateLimitError):
        list(chat(emu, max_retries=0).stream("hi"))


def _delta(text: str) -> dict[str, Any]:
    return {
        "id": "chatcmpl-m",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": "gpt-4o",
        "choices": [{"index": 0, "delta": {"content": text}, "finish_reason": None}],
    }


def test_errors_in_the_middle_of_a_stream(emu: Emulator) -> None:
    from langchain_core.exceptions import ModelAPIError, ModelConnectionError

    emu.queue_stream([_delta("Hel"), {"error": {"message": "overloaded", "code": 503}}])
    got: list[str] = []
    with pytest.raises(ModelAPIError) as api:
        for chunk in chat(emu, max_retries=0).stream("hi"):
            got.append(chunk.text)
    assert got == ["Hel"]
    assert isinstance(api.value, pe.ServiceUnavailableError)

    emu.queue_drop(stream_events=[_delta("Hel")])
    with pytest.raises(ModelConnectionError) as dropped:
        list(chat(emu, max_retries=0).stream("hi"))
    assert isinstance(dropped.value, pe.APIConnectionError)


async def test_async_error_is_both(emu: Emulator) -> None:
    emu.queue_error(429, "slow down", headers={"retry-after": "0"})
    with pytest.raises(pe.RateLimitError) as info:
        await chat(emu, max_retries=0).ainvoke("hi")
    assert isinstance(info.value, ModelRateLimitError)
    emu.queue_error(429, "slow down", headers={"retry-after": "0"})
    with pytest.raises(ModelRateLimitError) as streamed:
        async for _ in chat(emu, max_retries=0).astream("hi"):
            pass
    assert isinstance(streamed.value, pe.RateLimitError)


def test_max_retries_passed_through(emu: Emulator) -> None:
    for _ in range(2):
        emu.queue_error(503, "overloaded", headers={"retry-after": "0"})
    assert chat(emu, max_retries=2).invoke("hi").content == 'Emulator reply to: "hi"'
    assert len(emu.requests) == 3

    emu.clear()
    emu.queue_error(503, "overloaded", headers={"retry-after": "0"})
    with pytest.raises(pe.ServiceUnavailableError):
        chat(emu, max_retries=0).invoke("hi")
    assert len(emu.requests) == 1


def test_timeout_passed_through(emu: Emulator) -> None:
    emu.queue_delay(3.0)
    started = time.monotonic()
    with pytest.raises(ModelTimeoutError) as info:
        chat(emu, timeout=0.3, max_retries=0).invoke("hi")
    assert time.monotonic() - started < 2.5
    assert isinstance(info.value, pe.TimeoutError)


# --------------------------------------------------------------------------- call options


def test_per_call_model_override(emu: Emulator) -> None:
    result = chat(emu).invoke("hi", model="openai/gpt-4o-mini")
    assert sent(emu)["model"] == "gpt-4o-mini"
    assert result.response_metadata["model_name"] == "gpt-4o-mini"
    ls = chat(emu)._get_ls_params(model="openai/gpt-4o-mini")
    assert ls["ls_model_name"] == "openai/gpt-4o-mini"
    assert ls["ls_provider"] == "openai"


def test_fields_and_per_call_kwargs_reach_the_request(emu: Emulator) -> None:
    model = chat(
        emu,
        temperature=0.2,
        max_tokens=50,
        top_p=0.9,
        seed=7,
        stop=["END"],
        model_kwargs={"user": "u-1"},
    )
    model.invoke("hi", temperature=0.7, stop=["STOP"])
    body = sent(emu)
    assert body["temperature"] == 0.7
    assert body["max_tokens"] == 50
    assert body["top_p"] == 0.9
    assert body["seed"] == 7
    assert body["stop"] == ["STOP"]
    assert body["user"] == "u-1"


def test_unknown_constructor_kwargs_go_to_model_kwargs(emu: Emulator) -> None:
    with pytest.warns(UserWarning, match="presence_penalty"):
        model = chat(emu, presence_penalty=0.5)
    assert model.model_kwargs == {"presence_penalty": 0.5}
    model.invoke("hi")
    assert sent(emu)["presence_penalty"] == 0.5
    with pytest.raises(ValueError, match="temperature"):
        chat(emu, model_kwargs={"temperature": 1})


def test_bind_tools_choices(emu: Emulator) -> None:
    model = chat(emu)
    model.bind_tools([get_weather], tool_choice="get_weather").invoke("x")
    assert sent(emu)["tool_choice"] == {"type": "function", "function": {"name": "get_weather"}}
    model.bind_tools([get_weather], tool_choice="any", parallel_tool_calls=False).invoke("x")
    assert sent(emu)["tool_choice"] == "required"
    assert sent(emu)["parallel_tool_calls"] is False
    model.bind_tools([get_weather], strict=True).invoke("x")
    assert sent(emu)["tools"][0]["function"]["strict"] is True


def test_rate_limiter_is_honoured(emu: Emulator) -> None:
    class Counting(BaseRateLimiter):
        def __init__(self) -> None:
            self.acquired = 0

        def acquire(self, *, blocking: bool = True) -> bool:
            self.acquired += 1
            return True

        async def aacquire(self, *, blocking: bool = True) -> bool:
            self.acquired += 1
            return True

    limiter = Counting()
    model = chat(emu, rate_limiter=limiter)
    model.invoke("a")
    list(model.stream("b"))
    asyncio.run(model.ainvoke("c"))
    assert limiter.acquired == 3


def test_api_key_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "env-key-123")
    with Emulator(api_key="env-key-123") as emu:
        model = ChatPolymodal(model="openai/gpt-4o", api_base=emu.openai_base)
        assert model.api_key is None
        assert model.invoke("hi").content == 'Emulator reply to: "hi"'
        assert emu.requests[-1].headers["authorization"] == "Bearer env-key-123"


def test_secrets_stay_out_of_reprs_and_errors(emu: Emulator) -> None:
    model = chat(emu, api_key=SECRET, max_retries=0)
    for text in (repr(model), str(model), str(model.asdict()), model.model_dump_json()):
        assert SECRET not in text
    # A provider that echoes the key back in its error message.
    emu.queue_error(
        401,
        {"error": {"message": f"Incorrect API key provided: {SECRET}", "code": "invalid_api_key"}},
    )
    with pytest.raises(pe.AuthenticationError) as info:
        model.invoke("hi")
    assert SECRET not in str(info.value)
    assert SECRET not in repr(info.value)
    assert emu.requests[-1].headers["authorization"] == f"Bearer {SECRET}"


def test_field_names_and_their_second_spellings(emu: Emulator) -> None:
    by_alias: dict[str, Any] = {
        "model_name": "openai/gpt-4o",
        "base_url": emu.openai_base,
        "max_completion_tokens": 500,
        "request_timeout": 30.0,
        "stop_sequences": ["END"],
    }
    for model in (
        ChatPolymodal(
            model="openai/gpt-4o",
            api_base=emu.openai_base,
            max_tokens=500,
            timeout=30.0,
            stop=["END"],
        ),
        ChatPolymodal(**by_alias),  # no warning: none of these is sent on as model_kwargs
    ):
        assert model.model == "openai/gpt-4o"
        assert model.api_base == emu.openai_base
        assert (model.max_tokens, model.timeout, model.stop) == (500, 30.0, ["END"])
        assert model.model_kwargs == {}
        assert model.invoke("hi").content == 'Emulator reply to: "hi"'
        assert sent(emu)["max_tokens"] == 500


_TYPED_USE = """
from pathlib import Path

from pydantic import SecretStr

from langchain_polymodal import ChatPolymodal

llm = ChatPolymodal(
    model="vertex_ai/gemini-2.5-flash",
    api_base="http://127.0.0.1:8000",
    max_tokens=100,
    timeout=30.0,
    stop=["END"],
    api_key=SecretStr("key"),
)
ChatPolymodal(model="vertex_ai/gemini-2.5-flash", vertex_credentials=Path("sa.json"))
ChatPolymodal(model="vertex_ai/gemini-2.5-flash", vertex_credentials='{"type": "..."}')
ChatPolymodal(model="vertex_ai/gemini-2.5-flash", vertex_credentials={"type": "..."})
model: str = llm.model
base: str | None = llm.api_base
ChatPolymodal(model=1)  # the one error: the checker does read the field types
"""


def test_documented_field_names_type_check(tmp_path: Any) -> None:
    """``ChatPolymodal(model=..., api_base=...)`` passes ``mypy --strict`` (with ``alias=`` a
    type checker sees only the alias, ``model_name`` / ``base_url``, in ``__init__``)."""
    from pathlib import Path

    mypy_api = pytest.importorskip("mypy.api")
    root = Path(__file__).resolve().parents[2]
    snippet = tmp_path / "typed_use.py"
    snippet.write_text(_TYPED_USE)
    stdout, stderr, status = mypy_api.run(
        [
            "--strict",
            "--no-error-summary",
            "--cache-dir",
            str(root / ".mypy_cache"),
            "--config-file",
            str(root / "pyproject.toml"),
            str(snippet),
        ]
    )
    errors = [line for line in stdout.splitlines() if ": error:" in line]
    assert len(errors) == 1, stdout + stderr
    assert 'Argument "model" to "ChatPolymodal" has incompatible type "int"' in errors[0]
    assert status == 1
