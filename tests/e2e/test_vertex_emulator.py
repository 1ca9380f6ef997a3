"""Vertex AI and Google AI Studio end to end over loopback: polymodal's providers, google-auth's
service-account flow against the emulator's OAuth2 endpoint, the Gemini wire format, retries with
Google's RetryInfo delay; and Google's own SDK (google-genai) against the emulator, which proves
the emulated shapes are the ones Google's client parses."""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

import polymodal
from polymodal import errors, providers
from polymodal.auth import google as gauth
from polymodal.testing import Emulator
from polymodal.testing.gemini import google_error
from polymodal.testing.google_oauth import service_account_info, service_account_json

MODEL = "vertex_ai/gemini-2.5-flash"
HI: Any = [{"role": "user", "content": "Hello, how are you?"}]
WEATHER: Any = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Get the current weather in a given location",
        "parameters": {
            "type": "object",
            "properties": {"location": {"type": "string", "description": "The city"}},
            "required": ["location"],
        },
    },
}
SAFETY_OFF = [{"category": "HARM_CATEGORY_DANGEROUS_CONTENT", "threshold": "BLOCK_NONE"}]
VERTEX_PATH = "/v1/projects/p/locations/us-central1/publishers/google/models"


@pytest.fixture(autouse=True)
def _setup(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in (
        "GOOGLE_APPLICATION_CREDENTIALS",
        "VERTEXAI_PROJECT",
        "GOOGLE_CLOUD_PROJECT",
        "VERTEXAI_LOCATION",
        "GOOGLE_CLOUD_LOCATION",
        "GEMINI_API_KEY",
        "GOOGLE_API_KEY",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(polymodal, "vertex_ai_safety_settings", None)
    gauth.clear_cache()
    yield
    gauth.clear_cache()


@pytest.fixture
def emu() -> Iterator[Emulator]:
    with Emulator() as e:
        yield e


def vertex_kwargs(emu: Emulator, **extra: Any) -> dict[str, Any]:
    """The call of the brief: a service-account JSON whose token_uri is the emulator."""
    return {
        "vertex_credentials": service_account_json(emu.url),
        "vertex_project": "p",
        "vertex_location": "us-central1",
        "api_base": emu.url,
        **extra,
    }


def token_requests(emu: Emulator) -> int:
    return sum(1 for r in emu.requests if r.path == "/token")


def model_requests(emu: Emulator) -> list[Any]:
    return [r for r in emu.requests if r.path != "/token"]


# --------------------------------------------------------------------------- chat


def test_sync_completion(emu: Emulator) -> None:
    kwargs = vertex_kwargs(emu)
    first = polymodal.completion(model=MODEL, messages=HI, **kwargs)
    assert first.choices[0].message.content == 'Emulator reply to: "Hello, how are you?"'
    assert first.choices[0].finish_reason == "stop"
    assert first.usage is not None and first.usage.prompt_tokens > 0
    for _ in range(3):
        polymodal.completion(model=MODEL, messages=HI, **kwargs)
    sent = model_requests(emu)
    assert [r.path for r in sent] == [f"{VERTEX_PATH}/gemini-2.5-flash:generateContent"] * 4
    assert {r.headers["authorization"] for r in sent} == {"Bearer emu-token-1"}
    assert token_requests(emu) == 1  # one token for every call
    assert sent[0].json["contents"] == [
        {"role": "user", "parts": [{"text": "Hello, how are you?"}]}
    ]


async def test_async_completion_concurrent(emu: Emulator) -> None:
    kwargs = vertex_kwargs(emu)
    results = await asyncio.gather(
        *(polymodal.acompletion(model=MODEL, messages=HI, **kwargs) for _ in range(12))
    )
    assert {r.choices[0].message.content for r in results} == {
        'Emulator reply to: "Hello, how are you?"'
    }
    assert token_requests(emu) == 1  # concurrent coroutines waited for one refresh
    assert len(model_requests(emu)) == 12


def test_stream(emu: Emulator) -> None:
    chunks = list(polymodal.completion(model=MODEL, messages=HI, stream=True, **vertex_kwargs(emu)))
    text = "".join(c.choices[0].delta.content or "" for c in chunks)
    assert text == 'Emulator reply to: "Hello, how are you?"'
    assert chunks[-1].choices[0].finish_reason == "stop"
    assert chunks[-1].usage is not None and chunks[-1].usage.total_tokens > 0
    sent = model_requests(emu)[-1]
    assert sent.path.endswith(":streamGenerateContent") and sent.query == {"alt": "sse"}


async def test_async_stream(emu: Emulator) -> None:
    stream = await polymodal.acompletion(
        model=MODEL, messages=HI, stream=True, **vertex_kwargs(emu)
    )
    chunks = [c async for c in stream]
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == (
        'Emulator reply to: "Hello, how are you?"'
    )
    assert chunks[-1].usage is not None and chunks[-1].choices[0].finish_reason == "stop"


def test_system_message_and_tools(emu: Emulator) -> None:
    messages = [
        {"role": "system", "content": "Your name is Litellm Bot, you are a helpful assistant"},
        {"role": "user", "content": "Hello, what is your name and can you tell me the weather?"},
    ]
    r = polymodal.completion(
        model="vertex_ai/gemini-1.5-pro-preview-0514",
        messages=messages,
        tools=[WEATHER],
        tool_choice="required",
        **vertex_kwargs(emu),
    )
    tool_calls = r.choices[0].message.tool_calls
    assert tool_calls
    call = tool_calls[0]
    assert call.function.name == "get_weather" and json.loads(call.function.arguments)
    assert r.choices[0].finish_reason == "tool_calls"
    body = model_requests(emu)[-1].json
    assert body["systemInstruction"]["parts"][0]["text"].startswith("Your name is Litellm Bot")
    assert body["toolConfig"]["functionCallingConfig"]["mode"] == "ANY"


def test_gemini3_tool_loop_replays_the_thought_signature(emu: Emulator) -> None:
    kwargs = vertex_kwargs(emu, vertex_location="global")
    messages: list[Any] = [{"role": "user", "content": "What is the weather in Paris?"}]
    first = polymodal.completion(
        model="vertex_ai/gemini-3-pro-preview", messages=messages, tools=[WEATHER], **kwargs
    )
    message = first.choices[0].message
    assert message.tool_calls
    messages.append(message.model_dump(exclude_none=True))
    messages.append({"role": "tool", "tool_call_id": message.tool_calls[0].id, "content": "22C"})
    second = polymodal.completion(
        model="vertex_ai/gemini-3-pro-preview", messages=messages, tools=[WEATHER], **kwargs
    )
    assert second.choices[0].message.content == "The tool returned: 22C"
    replayed = model_requests(emu)[-1].json["contents"][1]["parts"][0]
    issued = model_requests(emu)[0]  # the emulator's first answer carried this signature
    assert issued.path.startswith("/v1/projects/p/locations/global/")
    assert base64.b64decode(replayed["thoughtSignature"]).startswith(b"emulator-thought-signature")


def test_grounding(emu: Emulator) -> None:
    r = polymodal.completion(
        model=MODEL,
        messages=[{"role": "user", "content": "Who won the world cup?"}],
        tools=[{"googleSearch": {}}],
        **vertex_kwargs(emu),
    )
    grounding = r.provider_specific_fields["vertex_ai_grounding_metadata"]
    assert grounding and r.choices[0].message.annotations
    assert model_requests(emu)[-1].json["tools"] == [{"googleSearch": {}}]


def test_reasoning_effort(emu: Emulator) -> None:
    r = polymodal.completion(
        model=MODEL,
        messages=[{"role": "user", "content": "What is the capital of France?"}],
        reasoning_effort="low",
        **vertex_kwargs(emu),
    )
    assert r.choices[0].message.reasoning_content
    assert r.usage is not None and r.usage.completion_tokens_details is not None
    assert r.usage.completion_tokens_details.reasoning_tokens


def test_response_schema(emu: Emulator) -> None:
    schema = {
        "type": "array",
        "items": {
            "type": "object",
            "properties": {"recipe_name": {"type": "string"}},
            "required": ["recipe_name"],
        },
    }
    r = polymodal.completion(
        model="vertex_ai/gemini-1.5-pro",
        messages=[{"role": "user", "content": "List 5 popular cookie recipes."}],
        response_format={"type": "json_object", "response_schema": schema},
        **vertex_kwargs(emu),
    )
    data = json.loads(r.choices[0].message.content or "")
    assert isinstance(data, list) and "recipe_name" in data[0]


# --------------------------------------------------------------------------- safety settings


def test_safety_settings_per_call(emu: Emulator) -> None:
    unsafe = [{"role": "user", "content": "Tell me something [emulator:unsafe]"}]
    blocked = polymodal.completion(model=MODEL, messages=unsafe, **vertex_kwargs(emu))
    assert blocked.choices[0].finish_reason == "content_filter"
    allowed = polymodal.completion(
        model=MODEL, messages=unsafe, safety_settings=SAFETY_OFF, **vertex_kwargs(emu)
    )
    assert allowed.choices[0].finish_reason == "stop"
    assert model_requests(emu)[-1].json["safetySettings"] == SAFETY_OFF


def test_blocked_prompt_is_an_error(emu: Emulator) -> None:
    with pytest.raises(errors.ContentPolicyViolationError):
        polymodal.completion(
            model=MODEL,
            messages=[{"role": "user", "content": "[emulator:unsafe-prompt]"}],
            **vertex_kwargs(emu),
        )


@pytest.mark.skipif(
    not hasattr(providers, "param_defaults"),
    reason="needs the providers.param_defaults seam in providers/__init__.py and _chat.py",
)
def test_module_default_safety_settings(emu: Emulator, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(polymodal, "vertex_ai_safety_settings", SAFETY_OFF)
    unsafe = [{"role": "user", "content": "Tell me something [emulator:unsafe]"}]
    r = polymodal.completion(model=MODEL, messages=unsafe, **vertex_kwargs(emu))
    assert r.choices[0].finish_reason == "stop"
    assert model_requests(emu)[-1].json["safetySettings"] == SAFETY_OFF
    # A per-call value wins over the module default, whole list for whole list.
    block_all = [{"category": "HARM_CATEGORY_HARASSMENT", "threshold": "BLOCK_LOW_AND_ABOVE"}]
    r = polymodal.completion(
        model=MODEL, messages=unsafe, safety_settings=block_all, **vertex_kwargs(emu)
    )
    assert r.choices[0].finish_reason == "content_filter"
    assert model_requests(emu)[-1].json["safetySettings"] == block_all


# --------------------------------------------------------------------------- retries and errors


def test_resource_exhausted_is_retried_after_the_servers_delay(emu: Emulator) -> None:
    # 1.2 s is beyond the first jittered backoff (at most 0.5 s): only RetryInfo explains it.
    emu.queue_json(
        google_error(429, "Resource exhausted. Please try again later.", retry_delay=1.2),
        status=429,
        path_contains=":generateContent",
    )
    started = time.monotonic()
    r = polymodal.completion(model=MODEL, messages=HI, **vertex_kwargs(emu))
    elapsed = time.monotonic() - started
    assert r.choices[0].message.content == 'Emulator reply to: "Hello, how are you?"'
    assert 1.2 <= elapsed < 4.0
    assert len(model_requests(emu)) == 2


async def test_resource_exhausted_async_stream(emu: Emulator) -> None:
    emu.queue_json(
        google_error(429, "Resource exhausted.", retry_delay=0.9),
        status=429,
        path_contains=":streamGenerateContent",
    )
    started = time.monotonic()
    stream = await polymodal.acompletion(
        model=MODEL, messages=HI, stream=True, **vertex_kwargs(emu)
    )
    chunks = [c async for c in stream]
    assert time.monotonic() - started >= 0.9
    assert chunks[-1].choices[0].finish_reason == "stop"


def test_resource_exhausted_with_a_long_delay_is_not_waited_for(emu: Emulator) -> None:
    emu.queue_json(
        google_error(429, "Quota exceeded.", retry_delay=3600),
        status=429,
        path_contains=":generateContent",
    )
    started = time.monotonic()
    with pytest.raises(errors.RateLimitError) as info:
        polymodal.completion(model=MODEL, messages=HI, **vertex_kwargs(emu))
    assert time.monotonic() - started < 2.0
    assert info.value.retry_after == 3600 and info.value.provider == "vertex_ai"
    assert info.value.message == "Quota exceeded."


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (400, errors.BadRequestError),
        (403, errors.PermissionDeniedError),
        (404, errors.NotFoundError),
        (503, errors.ServiceUnavailableError),
    ],
)
def test_google_errors_map(emu: Emulator, status: int, cls: type[Exception]) -> None:
    emu.queue_error(status, f"Error {status} from Google", repeat=True, path_contains="/models/")
    with pytest.raises(cls) as info:
        polymodal.completion(model=MODEL, messages=HI, max_retries=0, **vertex_kwargs(emu))
    assert f"Error {status} from Google" in str(info.value)


def test_expired_token_is_renewed_once(emu: Emulator) -> None:
    kwargs = vertex_kwargs(emu)
    polymodal.completion(model=MODEL, messages=HI, **kwargs)
    emu.queue_error(
        401,
        google_error(401, "Request had invalid authentication credentials."),
        path_contains=":generateContent",
    )
    r = polymodal.completion(model=MODEL, messages=HI, **kwargs)
    assert r.choices[0].message.content
    assert token_requests(emu) == 2
    assert model_requests(emu)[-1].headers["authorization"] == "Bearer emu-token-2"


def test_a_token_vertex_rejects(emu: Emulator) -> None:
    with pytest.raises(errors.AuthenticationError) as info:
        polymodal.completion(
            model=MODEL,
            messages=HI,
            api_key="ya29.not-from-the-emulator",
            vertex_project="p",
            api_base=emu.url,
        )
    assert "invalid authentication credentials" in str(info.value)
    assert "ya29.not-from-the-emulator" not in str(info.value) + repr(info.value)


# --------------------------------------------------------------------------- other routes


def test_tuned_endpoint(emu: Emulator) -> None:
    r = polymodal.completion(
        model="vertex_ai/gemini/4965075652664360960", messages=HI, **vertex_kwargs(emu)
    )
    assert r.choices[0].message.content == 'Emulator reply to: "Hello, how are you?"'
    assert model_requests(emu)[-1].path == (
        "/v1/projects/p/locations/us-central1/endpoints/4965075652664360960:generateContent"
    )


@pytest.mark.parametrize(
    ("model", "path", "body_model"),
    [
        (
            "vertex_ai/meta/llama3-405b-instruct-maas",
            "endpoints/openapi/chat/completions",
            "meta/llama3-405b-instruct-maas",
        ),
        (
            "vertex_ai/mistral-large@2407",
            "publishers/mistralai/models/mistral-large@2407:rawPredict",
            "mistral-large",
        ),
        (
            "vertex_ai/jamba-1.5-mini@001",
            "publishers/ai21/models/jamba-1.5-mini@001:rawPredict",
            "jamba-1.5-mini",
        ),
        (
            "vertex_ai/openai/5464397967697903616",
            "endpoints/5464397967697903616/chat/completions",
            "5464397967697903616",
        ),
    ],
)
def test_openai_format_routes(emu: Emulator, model: str, path: str, body_model: str) -> None:
    r = polymodal.completion(model=model, messages=HI, **vertex_kwargs(emu))
    assert r.choices[0].message.content == 'Emulator reply to: "Hello, how are you?"'
    sent = model_requests(emu)[-1]
    assert sent.path == f"/v1/projects/p/locations/us-central1/{path}"
    assert sent.headers["authorization"] == "Bearer emu-token-1"
    if "body_model" in providers.ChatTarget.__dataclass_fields__:
        assert sent.json["model"] == body_model


def test_claude_on_vertex(emu: Emulator) -> None:
    kwargs = vertex_kwargs(emu, vertex_location="us-east5")
    r = polymodal.completion(
        model="vertex_ai/claude-3-7-sonnet@20250219", messages=HI, temperature=0.7, **kwargs
    )
    assert r.choices[0].message.content == 'Emulator reply to: "Hello, how are you?"'
    sent = model_requests(emu)[-1]
    assert sent.path == (
        "/v1/projects/p/locations/us-east5/publishers/anthropic/models/"
        "claude-3-7-sonnet@20250219:rawPredict"
    )
    assert sent.json["anthropic_version"] == "vertex-2023-10-16" and "model" not in sent.json
    # The seed's dash-dated spelling, streamed, with thinking.
    chunks = list(
        polymodal.completion(
            model="vertex_ai/claude-3-7-sonnet-20250219",
            messages=[{"role": "user", "content": "What is the capital of France?"}],
            thinking={"type": "enabled", "budget_tokens": 1024},
            stream=True,
            **kwargs,
        )
    )
    assert "".join(c.choices[0].delta.reasoning_content or "" for c in chunks)
    assert model_requests(emu)[-1].path.endswith("claude-3-7-sonnet@20250219:streamRawPredict")
    assert token_requests(emu) == 1


def test_llama_stream(emu: Emulator) -> None:
    chunks = list(
        polymodal.completion(
            model="vertex_ai/meta/llama3-405b-instruct-maas",
            messages=HI,
            stream=True,
            **vertex_kwargs(emu),
        )
    )
    assert "".join(c.choices[0].delta.content or "" for c in chunks).startswith("Emulator reply")


# --------------------------------------------------------------------------- Google AI Studio


def test_ai_studio_with_key() -> None:
    with Emulator(api_key="AIza-emulator-key") as emu:
        r = polymodal.completion(
            model="gemini/gemini-2.5-flash",
            messages=HI,
            api_key="AIza-emulator-key",
            api_base=emu.url,
        )
        assert r.choices[0].message.content == 'Emulator reply to: "Hello, how are you?"'
        sent = emu.requests[-1]
        assert sent.path == "/v1beta/models/gemini-2.5-flash:generateContent"
        assert sent.headers["x-goog-api-key"] == "AIza-emulator-key" and not sent.query
        chunks = list(
            polymodal.completion(
                model="gemini/gemini-2.5-flash",
                messages=HI,
                stream=True,
                api_key="AIza-emulator-key",
                api_base=emu.url,
            )
        )
        assert chunks[-1].usage is not None and chunks[-1].choices[0].finish_reason == "stop"
        with pytest.raises(errors.BadRequestError, match="API key not valid"):
            polymodal.completion(
                model="gemini/gemini-2.5-flash",
                messages=HI,
                api_key="AIza-wrong",
                api_base=emu.url,
                max_retries=0,
            )


# --------------------------------------------------------------------------- the emulator itself


def _raw(
    emu: Emulator, path: str, body: Any, token: str | None = "auto", **kw: Any
) -> httpx.Response:
    headers: dict[str, str] = {}
    if token == "auto":
        token = gauth.resolve_credentials(service_account_info(emu.url)).token()
    if token:
        headers["authorization"] = f"Bearer {token}"
    return httpx.post(emu.url + path, json=body, headers=headers, **kw)


USER_TURN = {"contents": [{"role": "user", "parts": [{"text": "Hi"}]}]}


def test_emulator_requires_a_token(emu: Emulator) -> None:
    path = f"{VERTEX_PATH}/gemini-2.5-flash:generateContent"
    missing = _raw(emu, path, USER_TURN, token=None)
    assert missing.status_code == 401
    assert missing.json()["error"]["status"] == "UNAUTHENTICATED"
    assert missing.json()["error"]["details"][0]["reason"] == "CREDENTIALS_MISSING"
    wrong = _raw(emu, path, USER_TURN, token="ya29.real-looking")
    assert wrong.json()["error"]["details"][0]["reason"] == "ACCESS_TOKEN_TYPE_UNSUPPORTED"
    assert _raw(emu, path, USER_TURN).status_code == 200


def test_emulator_checks_requests_like_google(emu: Emulator) -> None:
    path = f"{VERTEX_PATH}/gemini-2.5-flash:generateContent"
    cases: list[tuple[Any, str]] = [
        ({**USER_TURN, "messages": []}, 'Unknown name "messages"'),
        ({**USER_TURN, "generationConfig": {"max_tokens": 5}}, "at 'generation_config'"),
        ({"contents": []}, "empty contents"),
        ({"contents": [{"role": "assistant", "parts": [{"text": "x"}]}]}, "valid role"),
        (
            {
                **USER_TURN,
                "safetySettings": [
                    {"category": "HARM_CATEGORY_HARASSMENT", "threshold": "BLOCK_EVERYTHING"}
                ],
            },
            "safety_settings[0].threshold",
        ),
        (
            {**USER_TURN, "generationConfig": {"responseSchema": {"type": "OBJECT"}}},
            "response_mime_type",
        ),
    ]
    for body, message in cases:
        resp = _raw(emu, path, body)
        assert resp.status_code == 400, body
        assert resp.json()["error"]["status"] == "INVALID_ARGUMENT"
        assert message in resp.json()["error"]["message"], resp.json()
    # Google's parser takes the proto's snake_case names too.
    snake = {**USER_TURN, "generation_config": {"max_output_tokens": 3}}
    resp = _raw(emu, path, snake)
    assert resp.status_code == 200 and resp.json()["candidates"][0]["finishReason"] == "MAX_TOKENS"


def test_emulator_gemini3_signature_check(emu: Emulator) -> None:
    path = f"{VERTEX_PATH}/gemini-3-pro-preview:generateContent"
    call = {"functionCall": {"name": "get_weather", "args": {"location": "Paris"}}}
    result = {"functionResponse": {"name": "get_weather", "response": {"content": "22C"}}}
    body: dict[str, Any] = {
        "contents": [
            {"role": "user", "parts": [{"text": "Weather?"}]},
            {"role": "model", "parts": [call]},
            {"role": "user", "parts": [result]},
        ]
    }
    resp = _raw(emu, path, body)
    assert resp.status_code == 400
    assert "missing a thought_signature" in resp.json()["error"]["message"]
    body["contents"][1]["parts"][0] = {
        **call,
        "thoughtSignature": "skip_thought_signature_validator",
    }
    assert _raw(emu, path, body).json()["candidates"][0]["content"]["parts"][-1]["text"] == (
        "The tool returned: 22C"
    )
    # Older models need no signature.
    body["contents"][1]["parts"][0] = call
    assert _raw(emu, f"{VERTEX_PATH}/gemini-2.5-flash:generateContent", body).status_code == 200


def test_emulator_stream_framing(emu: Emulator) -> None:
    path = f"{VERTEX_PATH}/gemini-2.5-flash:streamGenerateContent?alt=sse"
    raw = _raw(emu, path, USER_TURN).text
    events = [e for e in raw.split("\r\n\r\n") if e]
    assert all(e.startswith("data: ") for e in events) and len(events) > 2
    chunks = [json.loads(e[len("data: ") :]) for e in events]
    assert ["usageMetadata" in c for c in chunks] == [False] * (len(chunks) - 1) + [True]
    assert chunks[-1]["candidates"][0]["finishReason"] == "STOP"
    assert all(c["responseId"] == chunks[0]["responseId"] for c in chunks)
    # Without alt=sse Google streams a JSON array.
    array = _raw(emu, path.split("?")[0], USER_TURN).json()
    assert isinstance(array, list) and array[-1]["usageMetadata"]["totalTokenCount"] > 0
    # AI Studio repeats the cumulative usage in every chunk.
    studio = httpx.post(
        emu.url + "/v1beta/models/gemini-2.0-flash:streamGenerateContent?alt=sse",
        json=USER_TURN,
        headers={"x-goog-api-key": "k"},
    ).text
    studio_chunks = [json.loads(e[6:]) for e in studio.split("\r\n\r\n") if e]
    counts = [c["usageMetadata"]["candidatesTokenCount"] for c in studio_chunks]
    assert counts == sorted(counts) and len(set(counts)) > 1


def test_emulator_token_endpoint_errors(emu: Emulator) -> None:
    bad = httpx.post(emu.url + "/token", data={"grant_type": "password"})
    assert bad.status_code == 400 and bad.json()["error"] == "unsupported_grant_type"
    junk = httpx.post(
        emu.url + "/token",
        data={"grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer", "assertion": "a.b"},
    )
    assert junk.json()["error"] == "invalid_grant"


def test_emulator_count_tokens(emu: Emulator) -> None:
    resp = _raw(emu, f"{VERTEX_PATH}/gemini-2.5-flash:countTokens", USER_TURN)
    assert resp.json()["totalTokens"] == 1


# --------------------------------------------------------------------------- Google's own SDK


def test_google_genai_sdk_against_the_emulator(emu: Emulator) -> None:
    genai = pytest.importorskip("google.genai")
    from google.genai import types
    from google.oauth2 import service_account

    load: Any = service_account.Credentials.from_service_account_info
    creds = load(service_account_info(emu.url), scopes=list(gauth.SCOPES))
    client = genai.Client(
        vertexai=True,
        project="p",
        location="us-central1",
        credentials=creds,
        http_options=types.HttpOptions(base_url=emu.url),
    )
    config = types.GenerateContentConfig(
        thinking_config=types.ThinkingConfig(include_thoughts=True),
        tools=[types.Tool(google_search=types.GoogleSearch())],
    )
    r = client.models.generate_content(model="gemini-2.5-flash", contents="Hi", config=config)
    assert r.text is not None and r.text.startswith('Emulator reply to: "Hi"')
    assert r.usage_metadata is not None and r.usage_metadata.thoughts_token_count
    assert r.candidates
    candidate = r.candidates[0]
    assert candidate.grounding_metadata is not None
    assert candidate.grounding_metadata.web_search_queries == ["Hi"]
    assert candidate.content is not None and candidate.content.parts
    assert any(p.thought for p in candidate.content.parts)
    pieces = list(
        client.models.generate_content_stream(model="gemini-3-pro-preview", contents="Go")
    )
    assert "".join(p.text or "" for p in pieces) == 'Emulator reply to: "Go"'
    studio = genai.Client(api_key="k", http_options=types.HttpOptions(base_url=emu.url))
    schema = {"type": "OBJECT", "properties": {"name": {"type": "STRING"}}}
    parsed = studio.models.generate_content(
        model="gemini-2.0-flash",
        contents="Name?",
        config=types.GenerateContentConfig(
            response_mime_type="application/json", response_schema=schema
        ),
    ).parsed
    assert parsed == {"name": "example name"}


def test_no_token_or_key_in_logs_or_reprs(emu: Emulator, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    info = service_account_info(emu.url)
    emu.queue_json(
        google_error(429, "Slow down.", retry_delay=0.1),
        status=429,
        path_contains=":generateContent",
    )
    from polymodal import _chat

    prepared = _chat.prepare_chat(MODEL, HI, {**vertex_kwargs(emu), "vertex_credentials": info})
    r = polymodal.completion(model=MODEL, messages=HI, **vertex_kwargs(emu))
    assert r.choices[0].message.content
    shown = " ".join(
        [repr(prepared), repr(prepared.target), repr(prepared.http_request())]
        + [rec.getMessage() for rec in caplog.records]
    )
    assert "emu-token-" not in shown
    assert info["private_key"].splitlines()[3] not in shown
