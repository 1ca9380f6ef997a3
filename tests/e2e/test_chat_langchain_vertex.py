"""ChatPolymodal with Vertex AI Gemini end to end, over real loopback HTTP against the emulator.

The model is Gemini 3 (``vertex_ai/gemini-3-pro-preview``, in the registry), whose API issues a
``thoughtSignature`` on every function call and answers 400 when a call of the current turn is
replayed without it -- the emulator does both, like Google. Credentials are an emulator service
account (google-auth's service-account flow against the emulator's OAuth2 endpoint).

Each test checks both sides: what LangChain hands back, and what reached "Google"
(``emu.requests``), so a translation that is wrong on the wire cannot pass.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import httpx
import pytest
from langchain_core.messages import (
    AIMessage,
    AIMessageChunk,
    BaseMessage,
    HumanMessage,
    ToolMessage,
)
from langchain_core.messages.ai import add_ai_message_chunks
from langchain_core.tools import tool
from pydantic import BaseModel

import polymodal
from langchain_polymodal import ChatPolymodal
from polymodal.auth import google as gauth
from polymodal.testing import Emulator, RecordedRequest
from polymodal.testing.google_oauth import service_account_json

GEMINI3 = "vertex_ai/gemini-3-pro-preview"
PREFIX = "/v1/projects/my-project/locations/global/publishers/google/models"
SIGNATURE_PREFIX = b"emulator-thought-signature:gemini-3-pro-preview:"


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
def emu(emulator: Emulator, monkeypatch: pytest.MonkeyPatch) -> Iterator[Emulator]:
    for name in ("GOOGLE_APPLICATION_CREDENTIALS", "VERTEXAI_PROJECT", "VERTEXAI_LOCATION"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(polymodal, "vertex_ai_safety_settings", None)
    emulator.clear()
    gauth.clear_cache()
    yield emulator
    gauth.clear_cache()


def chat(emu: Emulator, **kwargs: Any) -> ChatPolymodal:
    params: dict[str, Any] = {
        "model": GEMINI3,
        "vertex_credentials": service_account_json(emu.url),
        "vertex_project": "my-project",
        "vertex_location": "global",  # Gemini 3 previews are served from the global endpoint
        "api_base": emu.url,
    }
    return ChatPolymodal(**{**params, **kwargs})


def model_requests(emu: Emulator) -> list[RecordedRequest]:
    return [r for r in emu.requests if r.path != "/token"]


def sent(emu: Emulator, i: int = -1) -> dict[str, Any]:
    body = model_requests(emu)[i].json
    assert isinstance(body, dict)
    return body


def signature_of(message: AIMessage) -> str:
    """The thought signature kept for the message's (first) tool call."""
    fields = message.additional_kwargs["tool_call_provider_fields"]
    signature = fields[message.tool_calls[0]["id"]]["thought_signature"]
    assert isinstance(signature, str)
    return signature


def merged(chunks: Sequence[BaseMessage]) -> AIMessageChunk:
    """The chunks of a stream summed, as LangChain sums them."""
    assert chunks and all(isinstance(c, AIMessageChunk) for c in chunks)
    first, *rest = (c for c in chunks if isinstance(c, AIMessageChunk))
    return add_ai_message_chunks(first, *rest)


def _check_agent_loop(emu: Emulator, state: dict[str, Any], calls: list[str], verb: str) -> None:
    messages = state["messages"]
    assert [type(m).__name__ for m in messages] == [
        "HumanMessage",
        "AIMessage",
        "ToolMessage",
        "AIMessage",
    ]
    ai_call, tool_result, final = messages[1], messages[2], messages[3]
    # The model called the tool, the tool ran with the model's arguments, the model answered.
    assert len(ai_call.tool_calls) == 1 and ai_call.tool_calls[0]["name"] == "get_weather"
    assert calls == [ai_call.tool_calls[0]["args"]["city"]]
    assert tool_result.tool_call_id == ai_call.tool_calls[0]["id"]
    assert final.text == f"The tool returned: It is sunny in {calls[0]}."
    assert final.response_metadata["finish_reason"] == "stop"

    first, second = model_requests(emu)
    assert first.path == second.path == f"{PREFIX}/gemini-3-pro-preview:{verb}"
    # Gemini 3 gave the call an id and a signature; the signature came back byte for byte.
    signature = signature_of(ai_call)
    assert base64.b64decode(signature).startswith(SIGNATURE_PREFIX)
    call_id = ai_call.tool_calls[0]["id"]
    replayed = second.json["contents"]
    assert replayed[0] == {"role": "user", "parts": [{"text": "What's the weather in Paris?"}]}
    assert replayed[1] == {
        "role": "model",
        "parts": [
            {
                "functionCall": {"name": "get_weather", "args": {"city": calls[0]}, "id": call_id},
                "thoughtSignature": signature,
            }
        ],
    }
    # The tool's result reached the provider as a functionResponse with the call's name.
    assert replayed[2] == {
        "role": "user",
        "parts": [
            {
                "functionResponse": {
                    "name": "get_weather",
                    "response": {"content": f"It is sunny in {calls[0]}."},
                    "id": call_id,
                }
            }
        ],
    }
    assert [d["name"] for d in second.json["tools"][0]["functionDeclarations"]] == ["get_weather"]


def _weather_tool(calls: list[str]) -> Any:
    @tool
    def get_weather(city: str) -> str:
        """Current weather in a city."""
        calls.append(city)
        return f"It is sunny in {city}."

    return get_weather


# --------------------------------------------------------------------------- agent loop


def test_agent_loop_with_create_agent(emu: Emulator) -> None:
    from langchain.agents import create_agent

    calls: list[str] = []
    agent = create_agent(chat(emu), tools=[_weather_tool(calls)])
    state = agent.invoke({"messages": [HumanMessage("What's the weather in Paris?")]})
    _check_agent_loop(emu, state, calls, "generateContent")
    assert sum(1 for r in emu.requests if r.path == "/token") == 1


async def test_agent_loop_async(emu: Emulator) -> None:
    from langchain.agents import create_agent

    calls: list[str] = []
    agent = create_agent(chat(emu), tools=[_weather_tool(calls)])
    state = await agent.ainvoke({"messages": [HumanMessage("What's the weather in Paris?")]})
    _check_agent_loop(emu, state, calls, "generateContent")


def test_agent_loop_streaming_model(emu: Emulator) -> None:
    # streaming=True: every turn is streamed and aggregated; the signature survives the merge.
    from langchain.agents import create_agent

    calls: list[str] = []
    agent = create_agent(chat(emu, streaming=True), tools=[_weather_tool(calls)])
    state = agent.invoke({"messages": [HumanMessage("What's the weather in Paris?")]})
    _check_agent_loop(emu, state, calls, "streamGenerateContent")
    assert all(r.query == {"alt": "sse"} for r in model_requests(emu))


async def test_agent_loop_streaming_model_async(emu: Emulator) -> None:
    from langchain.agents import create_agent

    calls: list[str] = []
    agent = create_agent(chat(emu, streaming=True), tools=[_weather_tool(calls)])
    state = await agent.ainvoke({"messages": [HumanMessage("What's the weather in Paris?")]})
    _check_agent_loop(emu, state, calls, "streamGenerateContent")


def test_a_replayed_call_without_its_signature(emu: Emulator) -> None:
    """History whose tool call lost its signature (written by hand, from another model): Google
    answers 400 for Gemini 3; polymodal sends Google's documented dummy signature instead."""
    llm = chat(emu).bind_tools([get_weather])
    first = llm.invoke("Weather in Rome?")
    assert isinstance(first, AIMessage)
    bare = AIMessage(content="", tool_calls=first.tool_calls)
    result = ToolMessage("sunny", tool_call_id=first.tool_calls[0]["id"])
    answer = llm.invoke([HumanMessage("Weather in Rome?"), bare, result])
    assert answer.text == "The tool returned: sunny"
    part = sent(emu)["contents"][1]["parts"][0]
    assert part["thoughtSignature"] == "skip_thought_signature_validator"
    # And the emulator does refuse a call without one, as Google does.
    body = sent(emu)
    del body["contents"][1]["parts"][0]["thoughtSignature"]
    token = gauth.resolve_credentials(service_account_json(emu.url)).token()
    refused = httpx.post(
        emu.url + f"{PREFIX}/gemini-3-pro-preview:generateContent",
        json=body,
        headers={"authorization": f"Bearer {token}"},
    )
    assert refused.status_code == 400
    assert "missing a thought_signature" in refused.json()["error"]["message"]


def test_text_answer_signature_is_replayed_next_turn(emu: Emulator) -> None:
    llm = chat(emu)
    first = llm.invoke("Hello")
    # Gemini 3 signs its text answers too: kept as a reasoning block with only a signature.
    assert first.content_blocks[0]["type"] == "reasoning"
    signature = first.content_blocks[0]["extras"]["signature"]
    assert first.text == 'Emulator reply to: "Hello"'
    llm.invoke([HumanMessage("Hello"), first, HumanMessage("And again?")])
    assert sent(emu)["contents"][1] == {
        "role": "model",
        "parts": [{"text": 'Emulator reply to: "Hello"', "thoughtSignature": signature}],
    }


# --------------------------------------------------------------------------- streaming


def _stream_tool_call_checks(emu: Emulator, chunks: Sequence[BaseMessage]) -> AIMessageChunk:
    # Gemini sends a function call whole, in one event (here with the finish reason).
    assert chunks and isinstance(chunks[-1], AIMessageChunk)
    assert chunks[-1].chunk_position == "last"
    aggregate = merged(chunks)
    # Gemini 3 names its calls (the emulator's first id is "aaaaaaab"); the id is kept.
    assert aggregate.tool_calls == [
        {
            "name": "get_weather",
            "args": {"city": "example city"},
            "id": "aaaaaaab",
            "type": "tool_call",
        }
    ]
    assert aggregate.response_metadata["finish_reason"] == "tool_calls"
    assert aggregate.response_metadata["model_provider"] == "vertex_ai"
    assert aggregate.chunk_position == "last"
    assert aggregate.usage_metadata is not None and aggregate.usage_metadata["input_tokens"] > 0
    request = model_requests(emu)[-1]
    assert request.path == f"{PREFIX}/gemini-3-pro-preview:streamGenerateContent"
    assert request.query == {"alt": "sse"}
    assert request.json["toolConfig"] == {"functionCallingConfig": {"mode": "ANY"}}
    return aggregate


def test_stream_with_tool_calls(emu: Emulator) -> None:
    llm = chat(emu).bind_tools([get_weather], tool_choice="any")
    chunks = list(llm.stream("What's the weather in Rome?"))
    aggregate = _stream_tool_call_checks(emu, chunks)
    # Round trip: the aggregated message replays the call with its signature.
    signature = signature_of(aggregate)
    call_id = aggregate.tool_calls[0]["id"]
    result = ToolMessage("Sunny, 24C", tool_call_id=call_id)
    final = (
        chat(emu)
        .bind_tools([get_weather])
        .invoke([HumanMessage("What's the weather in Rome?"), aggregate, result])
    )
    assert final.text == "The tool returned: Sunny, 24C"
    model_turn = sent(emu)["contents"][1]["parts"][0]
    assert model_turn["thoughtSignature"] == signature
    assert sent(emu)["contents"][2]["parts"][0]["functionResponse"]["name"] == "get_weather"


async def test_astream_with_tool_calls(emu: Emulator) -> None:
    llm = chat(emu).bind_tools([get_weather], tool_choice="any")
    chunks = [c async for c in llm.astream("What's the weather in Rome?")]
    _stream_tool_call_checks(emu, chunks)


def test_stream_text(emu: Emulator) -> None:
    chunks = list(chat(emu).stream("Tell me a story"))
    assert len(chunks) > 3  # word by word, as Google streams
    aggregate = merged(chunks)
    assert aggregate.text == 'Emulator reply to: "Tell me a story"'
    assert aggregate.response_metadata["finish_reason"] == "stop"
    assert aggregate.response_metadata["model_name"] == "gemini-3-pro-preview"
    # Gemini's counts are cumulative: the chunks' usage deltas add up to the final report once.
    usage = aggregate.usage_metadata
    assert usage is not None
    assert usage["total_tokens"] == usage["input_tokens"] + usage["output_tokens"]


# --------------------------------------------------------------------------- structured output


@pytest.mark.parametrize(
    ("model", "schema_key"),
    [
        (GEMINI3, "responseJsonSchema"),  # Gemini 2.5+/3: full JSON Schema
        ("vertex_ai/gemini-2.0-flash", "responseSchema"),  # Google's OpenAPI-subset Schema
    ],
)
def test_structured_output_json_schema(emu: Emulator, model: str, schema_key: str) -> None:
    location = "global" if "gemini-3" in model else "us-central1"
    llm = chat(emu, model=model, vertex_location=location)
    person = llm.with_structured_output(Person, method="json_schema").invoke("Invent a person.")
    assert isinstance(person, Person)
    assert person == Person(name="example name", age=1)
    gen = sent(emu)["generationConfig"]
    assert gen["responseMimeType"] == "application/json"
    assert "tools" not in sent(emu)
    schema = gen[schema_key]
    other = {"responseJsonSchema", "responseSchema"} - {schema_key}
    assert not other & gen.keys()
    if schema_key == "responseJsonSchema":
        assert schema == {
            "type": "object",
            "properties": {"name": {"type": "string"}, "age": {"type": "integer"}},
            "required": ["name", "age"],
        }
    else:
        assert schema["type"] == "OBJECT"
        assert schema["properties"] == {"name": {"type": "STRING"}, "age": {"type": "INTEGER"}}
        assert schema["required"] == ["name", "age"]


async def test_structured_output_async_include_raw(emu: Emulator) -> None:
    llm = chat(emu).with_structured_output(Person, include_raw=True)
    out = await llm.ainvoke("Invent a person.")
    assert out["parsed"] == Person(name="example name", age=1)
    assert out["parsing_error"] is None
    assert isinstance(out["raw"], AIMessage)
    assert "responseJsonSchema" in sent(emu)["generationConfig"]


def test_structured_output_function_calling(emu: Emulator) -> None:
    person = chat(emu).with_structured_output(Person, method="function_calling").invoke("A person")
    assert person == Person(name="example name", age=1)
    body = sent(emu)
    assert body["tools"][0]["functionDeclarations"][0]["name"] == "Person"
    assert body["toolConfig"] == {
        "functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": ["Person"]}
    }
    assert "responseMimeType" not in body.get("generationConfig", {})


def test_structured_output_json_mode(emu: Emulator) -> None:
    data = chat(emu).with_structured_output(None, method="json_mode").invoke("Answer in JSON.")
    assert data == {"answer": 'Emulator reply to: "Answer in JSON."'}
    assert sent(emu)["generationConfig"] == {"responseMimeType": "application/json"}


# --------------------------------------------------------------------------- grounding


def _grounding_checks(message: AIMessage | AIMessageChunk) -> None:
    question = "Who won the world cup?"
    grounding = message.response_metadata["grounding_metadata"]
    assert grounding["webSearchQueries"] == [question]
    uris = [c["web"]["uri"] for c in grounding["groundingChunks"]]
    assert uris == [
        "https://example.com/who-won-the-world-cup/1",
        "https://example.org/who-won-the-world-cup/2",
    ]
    texts = [b for b in message.content_blocks if b["type"] == "text"]
    assert len(texts) == 1
    text = texts[0]
    answer = text["text"]
    assert answer == f'Emulator reply to: "{question}" This answer is grounded in 2 web sources.'
    citations = text.get("annotations") or []
    assert [c["type"] for c in citations] == ["citation", "citation"]
    assert [c.get("url") for c in citations] == uris
    assert [c.get("title") for c in citations] == ["example.com", "example.org"]
    spans = [answer[c["start_index"] : c["end_index"]] for c in citations]
    assert spans == [
        f'Emulator reply to: "{question}"',
        "This answer is grounded in 2 web sources.",
    ]


def test_grounding_with_google_search(emu: Emulator) -> None:
    llm = chat(emu).bind_tools([{"googleSearch": {}}])
    message = llm.invoke("Who won the world cup?")
    assert isinstance(message, AIMessage)
    _grounding_checks(message)
    assert sent(emu)["tools"] == [{"googleSearch": {}}]


def test_grounding_streamed_arrives_with_the_last_chunk(emu: Emulator) -> None:
    chunks = list(chat(emu).bind_tools([{"googleSearch": {}}]).stream("Who won the world cup?"))
    assert not any("grounding_metadata" in c.response_metadata for c in chunks[:-2])
    aggregate = merged(chunks)
    _grounding_checks(aggregate)


async def test_grounding_async(emu: Emulator) -> None:
    message = await chat(emu).bind_tools([{"googleSearch": {}}]).ainvoke("Who won the world cup?")
    assert isinstance(message, AIMessage)
    _grounding_checks(message)


# --------------------------------------------------------------------------- thinking


def test_thinking_gives_reasoning_blocks(emu: Emulator) -> None:
    message = chat(emu, reasoning_effort="low").invoke("What is the capital of France?")
    # Gemini 3 takes a thinking level, not a budget.
    assert sent(emu)["generationConfig"] == {
        "thinkingConfig": {"includeThoughts": True, "thinkingLevel": "LOW"}
    }
    blocks = message.content_blocks
    reasoning = [b for b in blocks if b["type"] == "reasoning"]
    assert reasoning[0]["reasoning"] == (
        '**Answering the request**\n\nThe user wrote: "What is the capital of France?".'
    )
    assert blocks[-1] == {
        "type": "text",
        "text": 'Emulator reply to: "What is the capital of France?"',
    }
    assert message.usage_metadata is not None
    assert message.usage_metadata["output_token_details"]["reasoning"] > 0


def test_thinking_budget_on_gemini_25(emu: Emulator) -> None:
    llm = chat(emu, model="vertex_ai/gemini-2.5-flash", vertex_location="us-central1",
               thinking={"type": "enabled", "budget_tokens": 2048})  # fmt: skip
    message = llm.invoke("What is the capital of France?")
    assert model_requests(emu)[-1].path == (
        "/v1/projects/my-project/locations/us-central1/publishers/google/models/"
        "gemini-2.5-flash:generateContent"
    )
    assert sent(emu)["generationConfig"] == {
        "thinkingConfig": {"includeThoughts": True, "thinkingBudget": 2048}
    }
    assert message.content_blocks[0] == {
        "type": "reasoning",
        "reasoning": '**Answering the request**\n\nThe user wrote: "What is the capital of France?".',
    }


async def test_thinking_streamed_async(emu: Emulator) -> None:
    chunks = [c async for c in chat(emu, reasoning_effort="high").astream("Why is the sky blue?")]
    aggregate = merged(chunks)
    kinds = [b["type"] for b in aggregate.content_blocks]
    assert kinds[0] == "reasoning" and kinds[-1] == "text"
    assert aggregate.text == 'Emulator reply to: "Why is the sky blue?"'
    assert sent(emu)["generationConfig"]["thinkingConfig"]["thinkingLevel"] == "HIGH"


# --------------------------------------------------------------------------- configuration


def test_environment_is_read_at_call_time(
    emu: Emulator, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    key = tmp_path / "service_account.json"
    key.write_text(service_account_json(emu.url))
    params: dict[str, Any] = {"model": "vertex_ai/gemini-2.5-flash", "api_base": emu.url}
    llm = ChatPolymodal(**params)  # no credentials, project or location: all from the env
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(key))
    monkeypatch.setenv("VERTEXAI_PROJECT", "env-project")
    monkeypatch.setenv("VERTEXAI_LOCATION", "europe-west4")
    assert llm.invoke("hi").text == 'Emulator reply to: "hi"'
    request = model_requests(emu)[-1]
    assert request.path == (
        "/v1/projects/env-project/locations/europe-west4/publishers/google/models/"
        "gemini-2.5-flash:generateContent"
    )
    assert request.headers["authorization"].startswith("Bearer emu-token-")


def test_safety_settings_field_reaches_the_wire(emu: Emulator) -> None:
    settings = [{"category": "HARM_CATEGORY_DANGEROUS_CONTENT", "threshold": "BLOCK_NONE"}]
    message = chat(emu, safety_settings=settings).invoke("Tell me something [emulator:unsafe]")
    assert sent(emu)["safetySettings"] == settings
    assert message.response_metadata["finish_reason"] == "stop"
    ratings = message.response_metadata["safety_ratings"]
    assert {r["category"] for r in ratings} >= {"HARM_CATEGORY_DANGEROUS_CONTENT"}
    blocked = chat(emu).invoke("Tell me something [emulator:unsafe]")
    assert blocked.response_metadata["finish_reason"] == "content_filter"
    assert "safetySettings" not in sent(emu)
    assert json.dumps(blocked.response_metadata["safety_ratings"]).count('"blocked": true') == 1


@pytest.mark.parametrize("streaming", [False, True])
def test_agent_loop_with_thinking(emu: Emulator, streaming: bool) -> None:
    """Thoughts before the call: the call's signature still goes back on the functionCall."""
    from langchain.agents import create_agent

    calls: list[str] = []
    llm = chat(emu, reasoning_effort="low", streaming=streaming)
    agent = create_agent(llm, tools=[_weather_tool(calls)])
    state = agent.invoke({"messages": [HumanMessage("What's the weather in Paris?")]})
    verb = "streamGenerateContent" if streaming else "generateContent"
    _check_agent_loop(emu, state, calls, verb)
    ai_call = state["messages"][1]
    assert ai_call.content_blocks[0] == {
        "type": "reasoning",
        "reasoning": "**Choosing a tool**\n\nThe request needs a tool; I will call it with "
        "arguments from its schema.",
        **({"index": 0} if streaming else {}),
    }
    assert sent(emu, 0)["generationConfig"] == {
        "thinkingConfig": {"includeThoughts": True, "thinkingLevel": "LOW"}
    }


def test_grounding_beside_a_function(emu: Emulator) -> None:
    llm = chat(emu).bind_tools([get_weather, {"googleSearch": {}}], tool_choice="auto")
    message = llm.invoke("What's the weather in Paris?")
    assert message.tool_calls[0]["name"] == "get_weather"
    tools = sent(emu)["tools"]
    # Builtin tools first, then the functions, each its own Tool object.
    assert tools[0] == {"googleSearch": {}}
    assert [d["name"] for d in tools[1]["functionDeclarations"]] == ["get_weather"]
    assert sent(emu)["toolConfig"] == {"functionCallingConfig": {"mode": "AUTO"}}


async def test_concurrent_calls_share_one_token(emu: Emulator) -> None:
    llm = chat(emu)
    answers = await llm.abatch([f"question {i}" for i in range(8)])
    assert [a.text for a in answers] == [f'Emulator reply to: "question {i}"' for i in range(8)]
    assert sum(1 for r in emu.requests if r.path == "/token") == 1
    assert len({r.headers["authorization"] for r in model_requests(emu)}) == 1


# --------------------------------------------------------------------------- stream fidelity, credentials


@pytest.mark.parametrize("output_version", ["v0", "v1"])
def test_streamed_grounding_gives_citations_in_content_blocks(
    emu: Emulator, output_version: str
) -> None:
    llm = chat(
        emu, model="vertex_ai/gemini-2.5-flash", vertex_location="us-central1",
        output_version=output_version,
    )  # fmt: skip
    chunks = list(llm.bind_tools([{"googleSearch": {}}]).stream("Who won the world cup?"))
    _grounding_checks(merged(chunks))


def test_streamed_answer_signature_is_replayed_on_its_text_part(emu: Emulator) -> None:
    llm = chat(emu, reasoning_effort="low")
    aggregate = merged(list(llm.stream("Hello")))
    assert aggregate.text == 'Emulator reply to: "Hello"'
    # What Google sent: the thought, then the answer whose first text piece carries the
    # signature (the same response unstreamed: [{"text": ..., "thought": true},
    # {"text": 'Emulator reply to: "Hello"', "thoughtSignature": ...}]).
    llm.invoke([HumanMessage("Hello"), aggregate, HumanMessage("And again?")])
    parts = sent(emu)["contents"][1]["parts"]
    answer = [p for p in parts if p.get("text") == 'Emulator reply to: "Hello"']
    assert len(answer) == 1
    signature = answer[0].get("thoughtSignature")
    assert isinstance(signature, str)
    assert base64.b64decode(signature).startswith(SIGNATURE_PREFIX)
    assert not any(p.get("thought") and p.get("thoughtSignature") == signature for p in parts)


def test_vertex_credentials_as_a_path_object(emu: Emulator, tmp_path: Path) -> None:
    key = tmp_path / "service_account.json"
    key.write_text(service_account_json(emu.url))
    assert chat(emu, vertex_credentials=key).invoke("hi").text == 'Emulator reply to: "hi"'


def test_vertex_credentials_as_a_google_auth_object(emu: Emulator) -> None:
    from polymodal.testing.google_oauth import authorized_user_credentials

    creds = authorized_user_credentials(emu.url)
    assert chat(emu, vertex_credentials=creds).invoke("hi").text == 'Emulator reply to: "hi"'
    assert model_requests(emu)[-1].headers["authorization"].startswith("Bearer emu-token-")


def test_vertex_credentials_stay_out_of_repr_and_serialization(
    emu: Emulator, tmp_path: Path
) -> None:
    from pydantic import SecretStr

    from polymodal.testing.google_oauth import authorized_user_credentials

    info = service_account_json(emu.url)
    key = json.loads(info)["private_key"]
    path = tmp_path / "service_account.json"
    path.write_text(info)
    for creds in (info, json.loads(info), path, authorized_user_credentials(emu.url)):
        llm = chat(emu, vertex_credentials=creds)
        if isinstance(creds, str):
            assert isinstance(llm.vertex_credentials, SecretStr)  # a JSON string is kept secret
        for text in (repr(llm), str(llm), str(llm.model_dump()), llm.model_dump_json()):
            assert key not in text and "vertex_credentials" not in text
            assert str(path) not in text
        assert llm.invoke("hi").text == 'Emulator reply to: "hi"'
