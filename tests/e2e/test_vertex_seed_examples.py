"""Every chat example of ../shared/seeds/litellm-vertex-ai.zh.txt, written as the page writes it,
with polymodal's names (``litellm.completion`` -> ``polymodal.completion``,
``litellm.vertex_project`` -> ``polymodal.vertex_project``, ``from litellm import ...`` ->
``from polymodal import ...``).

Google is played by the loopback emulator (``polymodal.testing.Emulator``): its OAuth2 token
endpoint and its Vertex AI routes. The one change every example gets is ``api_base=emu.url`` (where
"Google" is). Credentials are the page's own kinds, pointing at the emulator:

* "path/to/vertex_ai_service_account.json" is a real file in the test's working directory, holding
  ``service_account_json(emu.url)`` (a service account whose ``token_uri`` is the emulator);
* where the page says ``gcloud auth application-default login``, the test writes what that command
  writes -- ``$CLOUDSDK_CONFIG/application_default_credentials.json`` -- so google-auth's
  application default credentials find the emulator's service account.

Each test checks both sides: what reached "Google" (path, headers, ``emu.requests[...].json``) and
what the caller got. Where the page's code cannot run as written (syntax slips, placeholders that
name no file, names that were never an API), a comment says why and the test shows the clear error
polymodal gives, or the nearest valid spelling.

Out of scope (not chat): the proxy sections (``config.yaml``, ``litellm --config``, ``curl`` and
OpenAI-SDK calls to ``http://0.0.0.0:4000``, the ``extra_body`` safety settings sent to the proxy),
embeddings and multimodal embeddings, image generation, text-to-speech, the batch API (files on
GCS, ``batches.create``), the fine-tuning API (``fine_tuning.jobs.create``), and the Vertex SDK
snippets (``vertexai.init``, ``MultiModalEmbeddingModel``), which are Google's client, not ours.

Pending: Codestral FIM through ``polymodal.text_completion(model="vertex_ai/codestral@2405",
prompt=..., suffix=...)`` (API.md lists it; it is not built yet). Codestral *chat*, which the page
notes works too, is tested below.
"""

from __future__ import annotations

import base64
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import polymodal
from polymodal import errors
from polymodal.auth import google as gauth
from polymodal.media import FetchedMedia
from polymodal.testing import Emulator, RecordedRequest
from polymodal.testing.google_oauth import service_account_info, service_account_json

# The environment variables the page (and google-auth) read; each test starts without them.
_ENV = (
    "GOOGLE_APPLICATION_CREDENTIALS",
    "VERTEXAI_PROJECT",
    "VERTEXAI_LOCATION",
    "VERTEX_AI_PROJECT",
    "VERTEX_AI_LOCATION",
    "GOOGLE_CLOUD_PROJECT",
    "GOOGLE_CLOUD_LOCATION",
    "CLOUDSDK_CORE_PROJECT",
)
SA_PROJECT = "emulator-project"  # the project_id inside service_account_json(...)
GOOGLE = "/v1/projects/{project}/locations/{location}/publishers/google/models/{model}"
ANTHROPIC = "/v1/projects/{project}/locations/{location}/publishers/anthropic/models/{model}"
BOARDWALK = (
    "https://upload.wikimedia.org/wikipedia/commons/thumb/d/dd/"
    "Gfp-wisconsin-madison-the-nature-boardwalk.jpg/2560px-Gfp-wisconsin-madison-the-nature-boardwalk.jpg"
)
# A 1x1 JPEG, standing for the page's downloaded image and its "cached_logo.jpg".
JPEG = base64.b64decode(
    "/9j/4AAQSkZJRgABAQEASABIAAD/2wBDAAMCAgICAgMCAgIDAwMDBAYEBAQEBAgGBgUGCQgKCgkICQkKDA8MCgsOCwkJDRENDg8Q"
    "EBEQCgwSExIQEw8QEBD/yQALCAABAAEBAREA/8wABgAQEAX/2gAIAQEAAD8A0s8g/9k="
)
# A minimal PDF, standing for the page's download of 2403.05530.pdf.
PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    b"2 0 obj<</Type/Pages/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
)
SAFETY_SETTINGS = [
    {"category": "HARM_CATEGORY_HARASSMENT", "threshold": "BLOCK_NONE"},
    {"category": "HARM_CATEGORY_HATE_SPEECH", "threshold": "BLOCK_NONE"},
    {"category": "HARM_CATEGORY_SEXUALLY_EXPLICIT", "threshold": "BLOCK_NONE"},
    {"category": "HARM_CATEGORY_DANGEROUS_CONTENT", "threshold": "BLOCK_NONE"},
]
COOKIE_SCHEMA: dict[str, Any] = {
    "type": "array",
    "items": {
        "type": "object",
        "properties": {"recipe_name": {"type": "string"}},
        "required": ["recipe_name"],
    },
}


@pytest.fixture(autouse=True)
def _clean(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    for name in _ENV:
        # setenv first, so the page's own os.environ[...] = ... is undone after the test too.
        monkeypatch.setenv(name, "")
        monkeypatch.delenv(name)
    # An empty gcloud config dir: a developer's real ADC must never leak into these tests.
    gcloud = tmp_path / "gcloud"
    gcloud.mkdir()
    monkeypatch.setenv("CLOUDSDK_CONFIG", str(gcloud))
    monkeypatch.setattr(polymodal, "vertex_project", None)
    monkeypatch.setattr(polymodal, "vertex_location", None)
    monkeypatch.setattr(polymodal, "vertex_ai_safety_settings", None)
    monkeypatch.chdir(tmp_path)
    gauth.clear_cache()
    yield
    gauth.clear_cache()


@pytest.fixture
def emu() -> Iterator[Emulator]:
    with Emulator() as e:
        yield e


@pytest.fixture
def sa_file(emu: Emulator, tmp_path: Path) -> Path:
    """The page's 'path/to/vertex_ai_service_account.json', relative to the working directory."""
    path = tmp_path / "path" / "to" / "vertex_ai_service_account.json"
    path.parent.mkdir(parents=True)
    path.write_text(service_account_json(emu.url))
    return path


@pytest.fixture
def adc(emu: Emulator) -> Path:
    """What `gcloud auth application-default login` leaves behind (here: the emulator's
    service account), in the gcloud config dir google-auth reads."""
    path = Path(os.environ["CLOUDSDK_CONFIG"]) / "application_default_credentials.json"
    path.write_text(service_account_json(emu.url))
    return path


def wire(emu: Emulator) -> RecordedRequest:
    """The last request that reached a model endpoint (token requests left out)."""
    sent = [r for r in emu.requests if r.path != "/token"]
    assert sent, "nothing reached the emulator"
    return sent[-1]


def body(emu: Emulator) -> dict[str, Any]:
    sent = wire(emu).json
    assert isinstance(sent, dict)
    return sent


def tokens(emu: Emulator) -> int:
    return sum(1 for r in emu.requests if r.path == "/token")


def gemini_path(model: str, project: str = SA_PROJECT, location: str = "us-central1") -> str:
    return GOOGLE.format(project=project, location=location, model=model) + ":generateContent"


def page_credentials() -> str:
    """The page's "GET CREDENTIALS" block, verbatim (it opens every SDK example)."""
    file_path = "path/to/vertex_ai_service_account.json"
    # Load the JSON file
    with open(file_path) as file:
        vertex_credentials = json.load(file)
    # Convert to JSON string
    vertex_credentials_json = json.dumps(vertex_credentials)
    return vertex_credentials_json


def claude_path(model: str, project: str = SA_PROJECT, location: str = "us-central1") -> str:
    return ANTHROPIC.format(project=project, location=location, model=model) + ":rawPredict"


def _bearer(request: RecordedRequest) -> str:
    return request.headers["authorization"]


# --------------------------------------------------------------------------- vertex_ai/ route


def test_vertex_ai_route_with_credentials_json(emu: Emulator, sa_file: Path) -> None:
    from polymodal import completion

    ## GET CREDENTIALS
    file_path = "path/to/vertex_ai_service_account.json"
    # Load the JSON file
    with open(file_path) as file:
        vertex_credentials = json.load(file)
    # Convert to JSON string
    vertex_credentials_json = json.dumps(vertex_credentials)
    ## COMPLETION CALL
    response = completion(
        model="vertex_ai/gemini-pro",
        messages=[{"content": "Hello, how are you?", "role": "user"}],
        vertex_credentials=vertex_credentials_json,
        api_base=emu.url,
    )
    assert response.choices[0].message.content == 'Emulator reply to: "Hello, how are you?"'
    assert response.choices[0].finish_reason == "stop"
    assert response.model == "gemini-pro"
    # No project given: the service account's own project_id; no location: us-central1.
    sent = wire(emu)
    assert sent.path == gemini_path("gemini-pro")
    assert _bearer(sent) == "Bearer emu-token-1" and tokens(emu) == 1
    assert sent.json == {"contents": [{"role": "user", "parts": [{"text": "Hello, how are you?"}]}]}


def test_system_message(emu: Emulator, sa_file: Path) -> None:
    from polymodal import completion

    vertex_credentials_json = page_credentials()
    response = completion(
        model="vertex_ai/gemini-pro",
        messages=[
            {"content": "You are a good bot.", "role": "system"},
            {"content": "Hello, how are you?", "role": "user"},
        ],
        vertex_credentials=vertex_credentials_json,
        api_base=emu.url,
    )
    assert response.choices[0].message.content == 'Emulator reply to: "Hello, how are you?"'
    assert body(emu) == {
        "systemInstruction": {"parts": [{"text": "You are a good bot."}]},
        "contents": [{"role": "user", "parts": [{"text": "Hello, how are you?"}]}],
    }


def test_function_calling_tool_choice_required(
    emu: Emulator, sa_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from polymodal import completion

    vertex_credentials_json = page_credentials()
    messages = [
        {
            "role": "system",
            "content": "Your name is Litellm Bot, you are a helpful assistant",
        },
        # User asks for their name and weather in San Francisco
        {
            "role": "user",
            "content": "Hello, what is your name and can you tell me the weather?",
        },
    ]
    tools = [
        {
            "type": "function",
            "function": {
                "name": "get_weather",
                "description": "Get the current weather in a given location",
                "parameters": {
                    "type": "object",
                    "properties": {
                        "location": {
                            "type": "string",
                            "description": "The city and state, e.g. San Francisco, CA",
                        }
                    },
                    "required": ["location"],
                },
            },
        }
    ]
    data: dict[str, Any] = {
        # The page writes `"vertex_ai/gemini-1.5-pro-preview-0514"),` -- a stray parenthesis.
        "model": "vertex_ai/gemini-1.5-pro-preview-0514",
        "messages": messages,
        "tools": tools,
        "tool_choice": "required",
        "vertex_credentials": vertex_credentials_json,
        "api_base": emu.url,
    }
    ## COMPLETION CALL
    print(completion(**data))

    assert "get_weather" in capsys.readouterr().out
    sent = body(emu)
    assert wire(emu).path == gemini_path("gemini-1.5-pro-preview-0514")
    assert sent["systemInstruction"] == {
        "parts": [{"text": "Your name is Litellm Bot, you are a helpful assistant"}]
    }
    assert sent["tools"] == [
        {
            "functionDeclarations": [
                {
                    "name": "get_weather",
                    "description": "Get the current weather in a given location",
                    "parameters": {
                        "type": "OBJECT",
                        "properties": {
                            "location": {
                                "type": "STRING",
                                "description": "The city and state, e.g. San Francisco, CA",
                            }
                        },
                        "required": ["location"],
                    },
                }
            ]
        }
    ]
    assert sent["toolConfig"] == {"functionCallingConfig": {"mode": "ANY"}}
    # And the answer, as an OpenAI-format tool call.
    response = completion(**data)
    choice = response.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.content is None
    assert choice.message.tool_calls is not None and len(choice.message.tool_calls) == 1
    call = choice.message.tool_calls[0]
    assert call.type == "function" and call.function.name == "get_weather"
    assert json.loads(call.function.arguments) == {"location": "example location"}
    assert call.id  # Gemini 1.5 gives no call ids: one is generated


# --------------------------------------------------------------------------- JSON schema


def test_response_schema(emu: Emulator, adc: Path) -> None:
    from polymodal import completion

    ## SETUP ENVIRONMENT
    # !gcloud auth application-default login - run this to add vertex credentials to your env
    messages = [{"role": "user", "content": "List 5 popular cookie recipes."}]
    response_schema = {
        "type": "array",
        "items": {
            "type": "object",
            "properties": {
                "recipe_name": {
                    "type": "string",
                },
            },
            "required": ["recipe_name"],
        },
    }
    # The page writes `completion(...)` and then reads `completion.choices` (an attribute of the
    # function): the response has to be kept in a variable.
    response = completion(
        model="vertex_ai/gemini-1.5-pro",
        messages=messages,
        response_format={"type": "json_object", "response_schema": response_schema},  # KEY CHANGE
        api_base=emu.url,
    )
    print(json.loads(response.choices[0].message.content or ""))

    assert json.loads(response.choices[0].message.content or "") == [
        {"recipe_name": "example recipe name"}
    ]
    assert wire(emu).path == gemini_path("gemini-1.5-pro")
    # Gemini 1.5 takes Google's OpenAPI-subset Schema (upper-case types), with the JSON mime type.
    assert body(emu)["generationConfig"] == {
        "responseMimeType": "application/json",
        "responseSchema": {
            "type": "ARRAY",
            "items": {
                "type": "OBJECT",
                "properties": {"recipe_name": {"type": "STRING"}},
                "required": ["recipe_name"],
            },
        },
    }


def _non_conforming_answer(text: str) -> dict[str, Any]:
    """A Vertex generateContent response whose text does not match COOKIE_SCHEMA."""
    return {
        "candidates": [
            {
                "content": {"role": "model", "parts": [{"text": text}]},
                "finishReason": "STOP",
            }
        ],
        "usageMetadata": {"promptTokenCount": 6, "candidatesTokenCount": 9, "totalTokenCount": 15},
        "modelVersion": "gemini-1.5-pro",
        "createTime": "2023-11-14T22:13:20.000000Z",
        "responseId": "scripted-1",
    }


def test_validate_schema_enforce_validation_fails(
    emu: Emulator, adc: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from polymodal import JSONSchemaValidationError, completion

    messages = [{"role": "user", "content": "List 5 popular cookie recipes."}]
    response_schema = COOKIE_SCHEMA
    # The model answers with the wrong key: the page's validation must catch it.
    raw = '[{"name": "Chocolate Chip"}, {"name": "Oatmeal Raisin"}]'
    emu.queue_json(_non_conforming_answer(raw), path_contains=":generateContent")

    with pytest.raises(JSONSchemaValidationError) as info:
        try:
            completion(
                model="vertex_ai/gemini-1.5-pro",
                messages=messages,
                response_format={
                    "type": "json_object",
                    "response_schema": response_schema,
                    "enforce_validation": True,  # KEY CHANGE (the page writes JSON's `true`)
                },
                api_base=emu.url,
            )
        except JSONSchemaValidationError as e:
            print("Raw Response: {}".format(e.raw_response))  # noqa: UP032 (as the page)
            raise e

    assert capsys.readouterr().out == f"Raw Response: {raw}\n"
    err = info.value
    assert err.raw_response == raw
    assert "'recipe_name' is a required property" in str(err)
    # The page: "JSONSchemaValidationError inherits from openai.APIError". polymodal's has no
    # OpenAI base class; it is a polymodal.BadRequestError (HTTP 400 semantics).
    assert isinstance(err, polymodal.BadRequestError) and err.status_code == 400
    assert (err.provider, err.model) == ("vertex_ai", "gemini-1.5-pro")
    # The schema did go to Google; the validation is ours, on the answer.
    assert body(emu)["generationConfig"]["responseSchema"]["type"] == "ARRAY"


def test_validate_schema_enforce_validation_passes(emu: Emulator, adc: Path) -> None:
    from polymodal import completion

    response = completion(
        model="vertex_ai/gemini-1.5-pro",
        messages=[{"role": "user", "content": "List 5 popular cookie recipes."}],
        response_format={
            "type": "json_object",
            "response_schema": COOKIE_SCHEMA,
            "enforce_validation": True,
        },
        api_base=emu.url,
    )
    assert json.loads(response.choices[0].message.content or "") == [
        {"recipe_name": "example recipe name"}
    ]
    # enforce_validation is ours: it is not sent to Google.
    assert "enforceValidation" not in json.dumps(body(emu))


def test_validate_schema_answer_that_is_not_json(emu: Emulator, adc: Path) -> None:
    emu.queue_json(
        _non_conforming_answer("Here are five cookies: ..."), path_contains=":generateContent"
    )
    with pytest.raises(polymodal.JSONSchemaValidationError) as info:
        polymodal.completion(
            model="vertex_ai/gemini-1.5-pro",
            messages=[{"role": "user", "content": "List 5 popular cookie recipes."}],
            response_format={
                "type": "json_object",
                "response_schema": COOKIE_SCHEMA,
                "enforce_validation": True,
            },
            api_base=emu.url,
        )
    assert info.value.raw_response == "Here are five cookies: ..."
    assert "not valid JSON" in str(info.value)


def test_schema_added_to_the_prompt_yourself(emu: Emulator, sa_file: Path) -> None:
    from polymodal import completion

    # The page computes vertex_credentials_json here but never passes it (and uses `json`
    # without importing it); as written the call runs on GOOGLE_APPLICATION_CREDENTIALS / ADC.
    os.environ["GOOGLE_APPLICATION_CREDENTIALS"] = str(sa_file)
    messages = [
        {
            "role": "user",
            "content": """
List 5 popular cookie recipes.
Using this JSON schema:
Recipe = {"recipe_name": str}
Return a `list[Recipe]`
""",
        }
    ]
    response = completion(
        model="vertex_ai/gemini-1.5-flash-preview-0514",
        messages=messages,
        response_format={"type": "json_object"},
        api_base=emu.url,
    )
    assert wire(emu).path == gemini_path("gemini-1.5-flash-preview-0514")
    sent = body(emu)
    assert sent["contents"] == [{"role": "user", "parts": [{"text": messages[0]["content"]}]}]
    # json_object alone: JSON mode, no schema (the schema travels in the prompt).
    assert sent["generationConfig"] == {"responseMimeType": "application/json"}
    assert isinstance(json.loads(response.choices[0].message.content or ""), dict)


# --------------------------------------------------------------------------- grounding


def _grounded_answer_checks(resp: Any, question: str) -> None:
    message = resp.choices[0].message
    first = f'Emulator reply to: "{question}"'
    second = "This answer is grounded in 2 web sources."
    assert message.content == f"{first} {second}"
    # The page reads resp._hidden_params["vertex_ai_grounding_metadata"]; polymodal puts provider
    # results where API.md says: resp.provider_specific_fields (one entry per candidate).
    (grounding,) = (resp.provider_specific_fields or {})["vertex_ai_grounding_metadata"]
    assert grounding["webSearchQueries"] == [question]
    uris = [c["web"]["uri"] for c in grounding["groundingChunks"]]
    assert [c["web"]["title"] for c in grounding["groundingChunks"]] == [
        "example.com",
        "example.org",
    ]
    assert grounding["searchEntryPoint"]["renderedContent"].startswith('<div class="container">')
    # groundingSupports x groundingChunks -> OpenAI url_citation annotations, offsets in content.
    annotations = message.annotations
    assert annotations is not None and [a["type"] for a in annotations] == ["url_citation"] * 2
    cited = [a["url_citation"] for a in annotations]
    assert [c["url"] for c in cited] == uris
    assert [c["title"] for c in cited] == ["example.com", "example.org"]
    assert [message.content[c["start_index"] : c["end_index"]] for c in cited] == [first, second]
    # Grounding is billed as tool-use prompt tokens.
    assert resp.usage is not None and resp.usage.prompt_tokens > 0


def test_grounding_google_search(
    emu: Emulator, adc: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from polymodal import completion  # noqa: F401  (the page imports it, then calls litellm.*)

    ## SETUP ENVIRONMENT
    # !gcloud auth application-default login - run this to add vertex credentials to your env
    tools: list[dict[str, Any]] = [{"googleSearch": {}}]  # ADD GOOGLE SEARCH
    resp = polymodal.completion(
        model="vertex_ai/gemini-1.0-pro-001",
        messages=[{"role": "user", "content": "Who won the world cup?"}],
        tools=tools,
        api_base=emu.url,
    )
    print(resp)

    assert "vertex_ai_grounding_metadata" in capsys.readouterr().out
    assert wire(emu).path == gemini_path("gemini-1.0-pro-001")
    assert body(emu) == {
        "contents": [{"role": "user", "parts": [{"text": "Who won the world cup?"}]}],
        "tools": [{"googleSearch": {}}],
    }
    _grounded_answer_checks(resp, "Who won the world cup?")
    (grounding,) = (resp.provider_specific_fields or {})["vertex_ai_grounding_metadata"]
    assert [c["web"]["uri"] for c in grounding["groundingChunks"]] == [
        "https://example.com/who-won-the-world-cup/1",
        "https://example.org/who-won-the-world-cup/2",
    ]


def test_grounding_enterprise_web_search(emu: Emulator, adc: Path) -> None:
    tools: list[dict[str, Any]] = [{"enterpriseWebSearch": {}}]  # ADD GOOGLE ENTERPRISE SEARCH
    resp = polymodal.completion(
        model="vertex_ai/gemini-1.0-pro-001",
        messages=[{"role": "user", "content": "Who won the world cup?"}],
        tools=tools,
        api_base=emu.url,
    )
    print(resp)
    assert body(emu)["tools"] == [{"enterpriseWebSearch": {}}]
    _grounded_answer_checks(resp, "Who won the world cup?")


def test_grounding_migration_from_the_vertex_sdk(emu: Emulator, adc: Path) -> None:
    # !gcloud auth application-default login - run this to add vertex credentials to your env
    tools = [{"googleSearch": {"disable_attributon": False}}]  # ADD GOOGLE SEARCH
    resp = polymodal.completion(
        model="vertex_ai/gemini-1.0-pro-001",
        messages=[{"role": "user", "content": "Who won the world cup?"}],
        tools=tools,
        vertex_project="project-id",
        api_base=emu.url,
    )
    print(resp)
    assert wire(emu).path == gemini_path("gemini-1.0-pro-001", project="project-id")
    # `disable_attributon` (sic) is the page's spelling of the retired disableAttribution flag.
    # Google's GoogleSearch message has no such field (it would answer 400 "Unknown name");
    # False is the old default, so it is left out -- documented in _gemini_encode.builtin_tool.
    assert body(emu)["tools"] == [{"googleSearch": {}}]
    _grounded_answer_checks(resp, "Who won the world cup?")
    # Asking for the removed behaviour is refused rather than silently ignored.
    with pytest.raises(errors.UnsupportedParamsError, match="disableAttributon"):
        polymodal.completion(
            model="vertex_ai/gemini-1.0-pro-001",
            messages=[{"role": "user", "content": "Who won the world cup?"}],
            tools=[{"googleSearch": {"disable_attributon": True}}],
            vertex_project="project-id",
            api_base=emu.url,
        )


def test_grounding_google_search_retrieval_as_the_vertex_sdk_wrote_it(
    emu: Emulator, adc: Path
) -> None:
    # The page's "before" code: GenerativeModel("gemini-1.5-flash-001") with
    # Tool.from_google_search_retrieval(grounding.GoogleSearchRetrieval()) and temperature 0.0,
    # vertexai.init(project=project_id, location="us-central1"). In polymodal's names:
    project_id = "hardy-device-38811"
    prompt = "When is the next total solar eclipse in US?"
    response = polymodal.completion(
        model="vertex_ai/gemini-1.5-flash-001",
        messages=[{"role": "user", "content": prompt}],
        tools=[{"googleSearchRetrieval": {}}],
        temperature=0.0,
        vertex_project=project_id,
        vertex_location="us-central1",
        api_base=emu.url,
    )
    assert wire(emu).path == gemini_path("gemini-1.5-flash-001", project=project_id)
    sent = body(emu)
    assert sent["tools"] == [{"googleSearchRetrieval": {}}]
    assert sent["generationConfig"] == {"temperature": 0.0}
    _grounded_answer_checks(response, prompt)


# --------------------------------------------------------------------------- thinking


def test_reasoning_effort(emu: Emulator, adc: Path) -> None:
    from polymodal import completion

    # !gcloud auth application-default login - run this to add vertex credentials to your env
    resp = completion(
        model="vertex_ai/gemini-2.5-flash-preview-04-17",
        messages=[{"role": "user", "content": "What is the capital of France?"}],
        reasoning_effort="low",
        vertex_project="project-id",
        vertex_location="us-central1",
        api_base=emu.url,
    )
    assert wire(emu).path == gemini_path("gemini-2.5-flash-preview-04-17", project="project-id")
    # The page's table: low -> budget_tokens 1024 (medium 2048, high 4096).
    assert body(emu)["generationConfig"] == {
        "thinkingConfig": {"includeThoughts": True, "thinkingBudget": 1024}
    }
    message = resp.choices[0].message
    assert resp.choices[0].finish_reason == "stop"
    assert message.role == "assistant" and message.tool_calls is None
    assert message.content == 'Emulator reply to: "What is the capital of France?"'
    assert message.reasoning_content == (
        '**Answering the request**\n\nThe user wrote: "What is the capital of France?".'
    )
    usage = resp.usage
    assert usage is not None and usage.completion_tokens_details is not None
    reasoning = usage.completion_tokens_details.reasoning_tokens
    assert reasoning and usage.completion_tokens > reasoning  # thoughts count as completion


@pytest.mark.parametrize(("effort", "budget"), [("medium", 2048), ("high", 4096)])
def test_reasoning_effort_table(emu: Emulator, adc: Path, effort: str, budget: int) -> None:
    polymodal.completion(
        model="vertex_ai/gemini-2.5-flash-preview-04-17",
        messages=[{"role": "user", "content": "What is the capital of France?"}],
        reasoning_effort=effort,
        api_base=emu.url,
    )
    assert body(emu)["generationConfig"]["thinkingConfig"]["thinkingBudget"] == budget


def test_thinking_param_for_gemini(emu: Emulator, adc: Path) -> None:
    from polymodal import completion  # noqa: F401  (the page imports it, then calls litellm.*)

    # !gcloud auth application-default login - run this to add vertex credentials to your env
    response = polymodal.completion(
        model="vertex_ai/gemini-2.5-flash-preview-04-17",
        messages=[{"role": "user", "content": "What is the capital of France?"}],
        thinking={"type": "enabled", "budget_tokens": 1024},
        vertex_project="project-id",
        vertex_location="us-central1",
        api_base=emu.url,
    )
    assert body(emu)["generationConfig"] == {
        "thinkingConfig": {"includeThoughts": True, "thinkingBudget": 1024}
    }
    assert response.choices[0].message.reasoning_content == (
        '**Answering the request**\n\nThe user wrote: "What is the capital of France?".'
    )
    assert response.choices[0].message.content == (
        'Emulator reply to: "What is the capital of France?"'
    )


# --------------------------------------------------------------------------- context caching


def test_context_caching_example_module_defaults_and_bare_model(emu: Emulator, adc: Path) -> None:
    # The page's "example usage" under context caching: module defaults and a bare model name.
    polymodal.vertex_project = "hardy-device-38811"  # Your Project ID
    polymodal.vertex_location = "us-central1"  # proj location
    response = polymodal.completion(
        model="gemini-pro",
        messages=[{"role": "user", "content": "write code for saying hi from LiteLLM"}],
        api_base=emu.url,
    )
    assert wire(emu).path == gemini_path("gemini-pro", project="hardy-device-38811")
    assert response.choices[0].message.content == (
        'Emulator reply to: "write code for saying hi from LiteLLM"'
    )


def test_cached_content(emu: Emulator, adc: Path) -> None:
    # Context caching itself: a cache made through Vertex's cachedContents API, used by name.
    cache = "projects/hardy-device-38811/locations/us-central1/cachedContents/4422170946527461376"
    response = polymodal.completion(
        model="vertex_ai/gemini-1.5-pro-002",
        messages=[{"role": "user", "content": "Summarise the cached document."}],
        cached_content=cache,
        api_base=emu.url,
    )
    assert body(emu)["cachedContent"] == cache
    usage = response.usage
    assert usage is not None and usage.prompt_tokens_details is not None
    # 100 is the emulator's cachedContentTokenCount for any cachedContent.
    assert usage.prompt_tokens_details.cached_tokens == 100
    assert usage.prompt_tokens >= 100  # OpenAI semantics: cached tokens are part of the prompt


def test_google_application_credentials_as_a_json_string_does_not_leak_the_key(
    emu: Emulator,
) -> None:
    """The page's context-caching section: "load the json and store the json.dump result as a
    string in GOOGLE_APPLICATION_CREDENTIALS". google-auth reads that variable as a *path*;
    polymodal may take the JSON or refuse it, but its error must not carry the private key."""
    info = service_account_info(emu.url)
    os.environ["GOOGLE_APPLICATION_CREDENTIALS"] = json.dumps(info)
    key_line = info["private_key"].splitlines()[3]
    try:
        response = polymodal.completion(
            model="vertex_ai/gemini-pro",
            messages=[{"role": "user", "content": "hi"}],
            api_base=emu.url,
        )
    except errors.AuthenticationError as exc:
        shown = f"{exc} {exc!r} {exc.message} {exc.args}"
        assert key_line not in shown and "PRIVATE KEY" not in shown
        assert "GOOGLE_APPLICATION_CREDENTIALS" in shown
    else:
        assert response.choices[0].message.content == 'Emulator reply to: "hi"'


# --------------------------------------------------------------------------- auth parameters


def test_dynamic_params_project_and_location(emu: Emulator, sa_file: Path) -> None:
    from polymodal import completion

    vertex_credentials_json = page_credentials()
    response = completion(
        model="vertex_ai/gemini-pro",
        messages=[
            {"content": "You are a good bot.", "role": "system"},
            {"content": "Hello, how are you?", "role": "user"},
        ],
        vertex_credentials=vertex_credentials_json,
        vertex_project="my-special-project",
        vertex_location="my-special-location",
        api_base=emu.url,
    )
    assert response.choices[0].message.content == 'Emulator reply to: "Hello, how are you?"'
    # The project named in the call wins over the service account's own.
    assert wire(emu).path == gemini_path(
        "gemini-pro", project="my-special-project", location="my-special-location"
    )


def test_vertex_credentials_as_a_file_path(emu: Emulator, sa_file: Path) -> None:
    # "vertex_credentials (str) - a json string or the path to your service account .json file"
    response = polymodal.completion(
        model="vertex_ai/gemini-pro",
        messages=[{"content": "Hello, how are you?", "role": "user"}],
        vertex_credentials="path/to/vertex_ai_service_account.json",
        vertex_location="asia-southeast1",
        api_base=emu.url,
    )
    assert response.choices[0].message.content == 'Emulator reply to: "Hello, how are you?"'
    assert wire(emu).path == gemini_path("gemini-pro", location="asia-southeast1")
    assert _bearer(wire(emu)) == "Bearer emu-token-1"


def test_vertex_credentials_as_a_dict(emu: Emulator, sa_file: Path) -> None:
    with open("path/to/vertex_ai_service_account.json") as file:
        vertex_credentials = json.load(file)
    response = polymodal.completion(
        model="vertex_ai/gemini-pro",
        messages=[{"content": "Hello, how are you?", "role": "user"}],
        vertex_credentials=vertex_credentials,
        api_base=emu.url,
    )
    assert response.choices[0].message.content == 'Emulator reply to: "Hello, how are you?"'
    assert wire(emu).path == gemini_path("gemini-pro")
    # One token for the credential, however it is spelled (dict, JSON string, path).
    polymodal.completion(
        model="vertex_ai/gemini-pro",
        messages=[{"content": "Hello, how are you?", "role": "user"}],
        vertex_credentials=json.dumps(vertex_credentials),
        api_base=emu.url,
    )
    assert tokens(emu) == 1


def test_the_config_examples_credentials_dict_is_not_a_credential(emu: Emulator) -> None:
    # The page's thinking config sets vertex_credentials: {"project_id": ..., "location": ...,
    # "project_key": ...} -- no "type", no key: not something Google can issue a token for.
    with pytest.raises(errors.AuthenticationError) as info:
        polymodal.completion(
            model="vertex_ai/gemini-2.5-flash-preview-04-17",
            messages=[{"role": "user", "content": "What is the capital of France?"}],
            vertex_credentials={
                "project_id": "project-id",
                "location": "us-central1",
                "project_key": "project-key",
            },
            api_base=emu.url,
        )
    assert "vertex_credentials could not be loaded as Google credentials (type 'unknown')" in str(
        info.value
    )
    assert "service_account" in str(info.value)
    assert emu.requests == []  # refused before any I/O


def test_unknown_credential_type_error_names_every_supported_type(emu: Emulator) -> None:
    with pytest.raises(errors.AuthenticationError) as info:
        polymodal.completion(
            model="vertex_ai/gemini-pro",
            messages=[{"role": "user", "content": "hi"}],
            vertex_credentials={"project_id": "project-id"},
            api_base=emu.url,
        )
    for kind in (
        "service_account",
        "authorized_user",
        "external_account",
        "external_account_authorized_user",
        "impersonated_service_account",
    ):
        assert kind in str(info.value)


def test_environment_variables(emu: Emulator, sa_file: Path) -> None:
    # export GOOGLE_APPLICATION_CREDENTIALS="/path/to/service_account.json"
    os.environ["GOOGLE_APPLICATION_CREDENTIALS"] = str(sa_file)
    # export VERTEXAI_LOCATION="us-central1" # can be any vertex location
    os.environ["VERTEXAI_LOCATION"] = "us-central1"
    # export VERTEXAI_PROJECT="my-test-project" # ONLY use if model project is different ...
    os.environ["VERTEXAI_PROJECT"] = "my-test-project"
    response = polymodal.completion(
        model="vertex_ai/gemini-pro",
        messages=[{"content": "Hello, how are you?", "role": "user"}],
        api_base=emu.url,
    )
    assert response.choices[0].message.content == 'Emulator reply to: "Hello, how are you?"'
    assert wire(emu).path == gemini_path("gemini-pro", project="my-test-project")
    assert _bearer(wire(emu)) == "Bearer emu-token-1"
    # Per-call values beat the environment.
    polymodal.completion(
        model="vertex_ai/gemini-pro",
        messages=[{"content": "Hello, how are you?", "role": "user"}],
        vertex_project="call-project",
        vertex_location="europe-west4",
        api_base=emu.url,
    )
    assert wire(emu).path == gemini_path("gemini-pro", "call-project", "europe-west4")


def test_set_project_and_location_via_env_vars(emu: Emulator, adc: Path) -> None:
    # set via env var
    os.environ["VERTEXAI_PROJECT"] = "hardy-device-38811"  # Your Project ID`
    # The page writes `"us-central1 # Your Location` (the closing quote is missing).
    os.environ["VERTEXAI_LOCATION"] = "us-central1"  # Your Location
    polymodal.completion(
        model="vertex_ai/gemini-pro",
        messages=[{"role": "user", "content": "hi"}],
        api_base=emu.url,
    )
    assert wire(emu).path == gemini_path("gemini-pro", project="hardy-device-38811")


def test_set_project_and_location_on_the_module(emu: Emulator, adc: Path) -> None:
    # set directly on module
    polymodal.vertex_project = "hardy-device-38811"  # Your Project ID`
    polymodal.vertex_location = "europe-west1"  # Your Location
    polymodal.completion(
        model="vertex_ai/gemini-pro",
        messages=[{"role": "user", "content": "hi"}],
        api_base=emu.url,
    )
    assert wire(emu).path == gemini_path("gemini-pro", "hardy-device-38811", "europe-west1")
    # Code beats a shell variable left behind (API.md's order).
    os.environ["VERTEXAI_PROJECT"] = "from-the-shell"
    polymodal.completion(
        model="vertex_ai/gemini-pro",
        messages=[{"role": "user", "content": "hi"}],
        api_base=emu.url,
    )
    assert wire(emu).path == gemini_path("gemini-pro", "hardy-device-38811", "europe-west1")


def test_supplement_load_vertex_ai_credentials(emu: Emulator, tmp_path: Path) -> None:
    # The page's load_vertex_ai_credentials(): vertex_key.json next to the script, copied to a
    # temporary file whose path goes into GOOGLE_APPLICATION_CREDENTIALS.
    (tmp_path / "vertex_key.json").write_text(service_account_json(emu.url))

    def load_vertex_ai_credentials() -> None:
        # Define the path to the vertex_key.json file
        print("loading vertex ai credentials")
        filepath = str(tmp_path)  # the page: os.path.dirname(os.path.abspath(__file__))
        vertex_key_path = filepath + "/vertex_key.json"
        # Read the existing content of the file or create an empty dictionary
        try:
            with open(vertex_key_path) as file:
                # Read the file content
                print("Read vertexai file path")
                content = file.read()
                # If the file is empty or not valid JSON, create an empty dictionary
                if not content or not content.strip():
                    service_account_key_data = {}
                else:
                    # Attempt to load the existing JSON content
                    file.seek(0)
                    service_account_key_data = json.load(file)
        except FileNotFoundError:
            # If the file doesn't exist, create an empty dictionary
            service_account_key_data = {}
        # Create a temporary file
        with tempfile.NamedTemporaryFile(mode="w+", delete=False, dir=tmp_path) as temp_file:
            # Write the updated content to the temporary file
            json.dump(service_account_key_data, temp_file, indent=2)
        # Export the temporary file as GOOGLE_APPLICATION_CREDENTIALS
        os.environ["GOOGLE_APPLICATION_CREDENTIALS"] = os.path.abspath(temp_file.name)

    load_vertex_ai_credentials()
    response = polymodal.completion(
        model="vertex_ai/gemini-pro",
        messages=[{"role": "user", "content": "hi"}],
        api_base=emu.url,
    )
    assert response.choices[0].message.content == 'Emulator reply to: "hi"'
    assert _bearer(wire(emu)) == "Bearer emu-token-1"


# --------------------------------------------------------------------------- safety settings


def test_safety_settings_per_request(emu: Emulator, adc: Path) -> None:
    from polymodal import completion

    response = completion(
        model="vertex_ai/gemini-pro",
        # The page has no comma after `messages=[...]`: a syntax error as written.
        messages=[{"role": "user", "content": "write code for saying hi from LiteLLM"}],
        safety_settings=[
            {
                "category": "HARM_CATEGORY_HARASSMENT",
                "threshold": "BLOCK_NONE",
            },
            {
                "category": "HARM_CATEGORY_HATE_SPEECH",
                "threshold": "BLOCK_NONE",
            },
            {
                "category": "HARM_CATEGORY_SEXUALLY_EXPLICIT",
                "threshold": "BLOCK_NONE",
            },
            {
                "category": "HARM_CATEGORY_DANGEROUS_CONTENT",
                "threshold": "BLOCK_NONE",
            },
        ],
        api_base=emu.url,
    )
    assert body(emu)["safetySettings"] == SAFETY_SETTINGS
    assert response.choices[0].message.content == (
        'Emulator reply to: "write code for saying hi from LiteLLM"'
    )
    # The ratings Google returned reach the caller.
    (ratings,) = (response.provider_specific_fields or {})["vertex_ai_safety_results"]
    assert {r["category"] for r in ratings} == {s["category"] for s in SAFETY_SETTINGS}


async def test_safety_settings_with_acompletion(emu: Emulator, adc: Path) -> None:
    # "just pass the safety_settings parameter to completion or acompletion"
    response = await polymodal.acompletion(
        model="vertex_ai/gemini-pro",
        messages=[{"role": "user", "content": "Tell me something [emulator:unsafe]"}],
        safety_settings=SAFETY_SETTINGS,
        api_base=emu.url,
    )
    assert body(emu)["safetySettings"] == SAFETY_SETTINGS
    # BLOCK_NONE for dangerous content lets through what the default threshold blocks.
    assert response.choices[0].finish_reason == "stop"
    assert response.choices[0].message.content == (
        'Emulator reply to: "Tell me something [emulator:unsafe]"'
    )


def test_safety_settings_global(emu: Emulator, adc: Path) -> None:
    from polymodal import completion

    # The page's `litellm.set_verbose = True 👈 See RAW REQUEST/RESPONSE` is not Python, and
    # polymodal has no set_verbose: the raw requests are visible through an httpx event hook
    # (see cookbooks/) or here, in emu.requests.
    polymodal.vertex_ai_safety_settings = [
        {
            "category": "HARM_CATEGORY_HARASSMENT",
            "threshold": "BLOCK_NONE",
        },
        {
            "category": "HARM_CATEGORY_HATE_SPEECH",
            "threshold": "BLOCK_NONE",
        },
        {
            "category": "HARM_CATEGORY_SEXUALLY_EXPLICIT",
            "threshold": "BLOCK_NONE",
        },
        {
            "category": "HARM_CATEGORY_DANGEROUS_CONTENT",
            "threshold": "BLOCK_NONE",
        },
    ]
    response = completion(
        model="vertex_ai/gemini-pro",
        messages=[{"role": "user", "content": "write code for saying hi from LiteLLM"}],
        api_base=emu.url,
    )
    assert body(emu)["safetySettings"] == SAFETY_SETTINGS
    assert response.choices[0].finish_reason == "stop"
    # The default is what lets a prompt through that the model's own default would block.
    unsafe = [{"role": "user", "content": "Tell me something [emulator:unsafe]"}]
    allowed = completion(model="vertex_ai/gemini-pro", messages=unsafe, api_base=emu.url)
    assert allowed.choices[0].finish_reason == "stop"
    polymodal.vertex_ai_safety_settings = None
    blocked = completion(model="vertex_ai/gemini-pro", messages=unsafe, api_base=emu.url)
    assert "safetySettings" not in body(emu)
    assert blocked.choices[0].finish_reason == "content_filter"


# --------------------------------------------------------------------------- partner models


CLAUDE_TABLE = [
    "vertex_ai/claude-3-opus@20240229",
    "vertex_ai/claude-3-5-sonnet@20240620",
    "vertex_ai/claude-3-sonnet@20240229",
    "vertex_ai/claude-3-haiku@20240307",
    "vertex_ai/claude-3-7-sonnet@20250219",
]


@pytest.mark.parametrize("model", CLAUDE_TABLE)
def test_anthropic_table(emu: Emulator, adc: Path, model: str) -> None:
    messages = [{"role": "user", "content": "hi"}]
    response = polymodal.completion(model, messages, api_base=emu.url)
    assert response.choices[0].message.content == 'Emulator reply to: "hi"'
    name = model.removeprefix("vertex_ai/")
    sent = wire(emu)
    assert sent.path == claude_path(name)
    assert sent.json["anthropic_version"] == "vertex-2023-10-16" and "model" not in sent.json


def test_anthropic_usage(emu: Emulator, adc: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from polymodal import completion

    # An empty GOOGLE_APPLICATION_CREDENTIALS, as the page sets it, means "not set": the
    # credentials then come from application default credentials (gcloud's file here).
    os.environ["GOOGLE_APPLICATION_CREDENTIALS"] = ""
    model = "claude-3-sonnet@20240229"
    vertex_ai_project = "your-vertex-project"  # can also set this as os.environ["VERTEXAI_PROJECT"]
    vertex_ai_location = "your-vertex-location"  # can also set this as os.environ[...]
    response = completion(
        model="vertex_ai/" + model,
        messages=[{"role": "user", "content": "hi"}],
        temperature=0.7,
        vertex_ai_project=vertex_ai_project,
        vertex_ai_location=vertex_ai_location,
        api_base=emu.url,
    )
    print("\nModel Response", response)

    assert "Model Response" in capsys.readouterr().out
    sent = wire(emu)
    assert sent.path == claude_path(model, "your-vertex-project", "your-vertex-location")
    assert _bearer(sent) == "Bearer emu-token-1"
    assert sent.json["temperature"] == 0.7
    assert sent.json["messages"] == [{"role": "user", "content": "hi"}]
    assert response.choices[0].message.content == 'Emulator reply to: "hi"'


def test_anthropic_thinking(emu: Emulator, adc: Path) -> None:
    from polymodal import completion

    resp = completion(
        model="vertex_ai/claude-3-7-sonnet-20250219",
        messages=[{"role": "user", "content": "What is the capital of France?"}],
        thinking={"type": "enabled", "budget_tokens": 1024},
        api_base=emu.url,
    )
    # The dash-dated name is Vertex's claude-3-7-sonnet@20250219.
    sent = wire(emu)
    assert sent.path == claude_path("claude-3-7-sonnet@20250219")
    assert sent.json["thinking"] == {"type": "enabled", "budget_tokens": 1024}
    # The page's expected response: content, reasoning_content and thinking_blocks with a
    # signature.
    message = resp.choices[0].message
    assert resp.choices[0].finish_reason == "stop"
    assert message.content == 'Emulator reply to: "What is the capital of France?"'
    thought = 'The user asked: "What is the capital of France?". I will answer directly.'
    assert message.reasoning_content == thought
    assert message.thinking_blocks is not None and len(message.thinking_blocks) == 1
    block = message.thinking_blocks[0]
    assert block["type"] == "thinking" and block["thinking"] == thought
    assert isinstance(block["signature"], str) and block["signature"]
    assert resp.usage is not None and resp.usage.prompt_tokens_details is not None
    assert resp.usage.prompt_tokens_details.cached_tokens == 0


LLAMA_TABLE = [
    "vertex_ai/meta/llama-3.2-90b-vision-instruct-maas",
    "vertex_ai/meta/llama3-8b-instruct-maas",
    "vertex_ai/meta/llama3-70b-instruct-maas",
    "vertex_ai/meta/llama3-405b-instruct-maas",
    "vertex_ai/meta/llama-4-scout-17b-16e-instruct-maas",
    "vertex_ai/meta/llama-4-scout-128b-16e-instruct-maas",
    "vertex_ai/meta/llama-4-maverick-17b-128e-instruct-maas",
    "vertex_ai/meta/llama-4-maverick-17b-16e-instruct-maas",
]


@pytest.mark.parametrize("model", LLAMA_TABLE)
def test_meta_llama_table(emu: Emulator, adc: Path, model: str) -> None:
    response = polymodal.completion(model, [{"role": "user", "content": "hi"}], api_base=emu.url)
    assert response.choices[0].message.content == 'Emulator reply to: "hi"'
    sent = wire(emu)
    # Vertex's OpenAI-compatible MaaS endpoint, with the publisher-qualified name in the body.
    maas = f"/v1/projects/{SA_PROJECT}/locations/us-central1/endpoints/openapi/chat/completions"
    assert sent.path == maas
    assert sent.json["model"] == model.removeprefix("vertex_ai/")
    assert sent.json["messages"] == [{"role": "user", "content": "hi"}]


def test_meta_llama_usage(emu: Emulator, adc: Path) -> None:
    from polymodal import completion

    os.environ["GOOGLE_APPLICATION_CREDENTIALS"] = ""
    model = "meta/llama3-405b-instruct-maas"
    vertex_ai_project = "your-vertex-project"  # can also set this as os.environ["VERTEXAI_PROJECT"]
    vertex_ai_location = "your-vertex-location"  # can also set this as os.environ[...]
    response = completion(
        model="vertex_ai/" + model,
        messages=[{"role": "user", "content": "hi"}],
        vertex_ai_project=vertex_ai_project,
        vertex_ai_location=vertex_ai_location,
        api_base=emu.url,
    )
    print("\nModel Response", response)
    sent = wire(emu)
    assert sent.path == (
        "/v1/projects/your-vertex-project/locations/your-vertex-location/"
        "endpoints/openapi/chat/completions"
    )
    assert sent.json["model"] == "meta/llama3-405b-instruct-maas"
    assert _bearer(sent) == "Bearer emu-token-1"
    assert response.choices[0].message.content == 'Emulator reply to: "hi"'


MISTRAL_TABLE = [
    ("vertex_ai/mistral-large@latest", "mistral-large"),
    ("vertex_ai/mistral-large@2407", "mistral-large"),
    ("vertex_ai/mistral-nemo@latest", "mistral-nemo"),
    ("vertex_ai/codestral@latest", "codestral"),
    ("vertex_ai/codestral@2405", "codestral"),  # the table's "codestral@@2405" row
]


@pytest.mark.parametrize(("model", "body_model"), MISTRAL_TABLE)
def test_mistral_table(emu: Emulator, adc: Path, model: str, body_model: str) -> None:
    # Codestral included: "you can also call Codestral through /chat/completion".
    response = polymodal.completion(model, [{"role": "user", "content": "hi"}], api_base=emu.url)
    assert response.choices[0].message.content == 'Emulator reply to: "hi"'
    name = model.removeprefix("vertex_ai/")
    sent = wire(emu)
    assert sent.path == (
        f"/v1/projects/{SA_PROJECT}/locations/us-central1/publishers/mistralai/models/"
        f"{name}:rawPredict"
    )
    # Mistral's own chat body through rawPredict, with the version-less name.
    assert sent.json == {"model": body_model, "messages": [{"role": "user", "content": "hi"}]}


def test_mistral_usage(emu: Emulator, adc: Path) -> None:
    from polymodal import completion

    os.environ["GOOGLE_APPLICATION_CREDENTIALS"] = ""
    model = "mistral-large@2407"
    vertex_ai_project = "your-vertex-project"  # can also set this as os.environ["VERTEXAI_PROJECT"]
    vertex_ai_location = "your-vertex-location"  # can also set this as os.environ[...]
    response = completion(
        model="vertex_ai/" + model,
        messages=[{"role": "user", "content": "hi"}],
        vertex_ai_project=vertex_ai_project,
        vertex_ai_location=vertex_ai_location,
        api_base=emu.url,
    )
    print("\nModel Response", response)
    sent = wire(emu)
    assert sent.path == (
        "/v1/projects/your-vertex-project/locations/your-vertex-location/publishers/mistralai/"
        "models/mistral-large@2407:rawPredict"
    )
    assert sent.json["model"] == "mistral-large"
    assert response.choices[0].message.content == 'Emulator reply to: "hi"'


def test_codestral_chat_stream(emu: Emulator, adc: Path) -> None:
    chunks = list(
        polymodal.completion(
            model="vertex_ai/codestral@2405",
            messages=[{"role": "user", "content": "def is_odd(n):"}],
            stream=True,
            api_base=emu.url,
        )
    )
    assert wire(emu).path.endswith("/publishers/mistralai/models/codestral@2405:streamRawPredict")
    text = "".join(c.choices[0].delta.content or "" for c in chunks)
    assert text == 'Emulator reply to: "def is_odd(n):"'
    assert chunks[-1].choices[0].finish_reason == "stop"


@pytest.mark.parametrize(
    ("model", "path_model"),
    [
        ("vertex_ai/jamba-1.5-mini@001", "jamba-1.5-mini@001"),
        ("vertex_ai/jamba-1.5-large@001", "jamba-1.5-large@001"),
    ],
)
def test_ai21_table(emu: Emulator, adc: Path, model: str, path_model: str) -> None:
    response = polymodal.completion(model=model, messages=[{"role": "user", "content": "hi"}],
                                    api_base=emu.url)  # fmt: skip
    assert response.choices[0].message.content == 'Emulator reply to: "hi"'
    sent = wire(emu)
    assert sent.path == (
        f"/v1/projects/{SA_PROJECT}/locations/us-central1/publishers/ai21/models/"
        f"{path_model}:rawPredict"
    )
    assert sent.json["model"] == path_model.split("@")[0]


def test_ai21_usage(emu: Emulator, adc: Path) -> None:
    from polymodal import completion

    os.environ["GOOGLE_APPLICATION_CREDENTIALS"] = ""
    # The page spells the AI21 model "meta/jamba-1.5-mini@001"; it is AI21's, and routed so.
    model = "meta/jamba-1.5-mini@001"
    vertex_ai_project = "your-vertex-project"  # can also set this as os.environ["VERTEXAI_PROJECT"]
    vertex_ai_location = "your-vertex-location"  # can also set this as os.environ[...]
    response = completion(
        model="vertex_ai/" + model,
        messages=[{"role": "user", "content": "hi"}],
        vertex_ai_project=vertex_ai_project,
        vertex_ai_location=vertex_ai_location,
        api_base=emu.url,
    )
    print("\nModel Response", response)
    sent = wire(emu)
    assert sent.path == (
        "/v1/projects/your-vertex-project/locations/your-vertex-location/publishers/ai21/"
        "models/jamba-1.5-mini@001:rawPredict"
    )
    assert sent.json == {"model": "jamba-1.5-mini", "messages": [{"role": "user", "content": "hi"}]}
    assert response.choices[0].message.content == 'Emulator reply to: "hi"'


# --------------------------------------------------------------------------- Gemini tables


@pytest.mark.parametrize(
    ("model", "path_model"),
    [
        ("gemini-pro", "gemini-pro"),
        ("vertex_ai/gemini-pro", "gemini-pro"),
        ("gemini-pro-vision", "gemini-pro-vision"),
        ("vertex_ai/gemini-pro-vision", "gemini-pro-vision"),
        ("gemini-1.5-pro", "gemini-1.5-pro"),
        ("vertex_ai/gemini-1.5-pro", "gemini-1.5-pro"),
        ("gemini-1.5-flash-preview-0514", "gemini-1.5-flash-preview-0514"),
        ("vertex_ai/gemini-1.5-flash-preview-0514", "gemini-1.5-flash-preview-0514"),
        ("gemini-1.5-pro-preview-0514", "gemini-1.5-pro-preview-0514"),
        ("vertex_ai/gemini-1.5-pro-preview-0514", "gemini-1.5-pro-preview-0514"),
    ],
)
def test_gemini_tables(emu: Emulator, adc: Path, model: str, path_model: str) -> None:
    # completion('gemini-pro', messages): a bare Gemini name is Vertex AI's, as on the page.
    messages = [{"role": "user", "content": "hi"}]
    response = polymodal.completion(model, messages, api_base=emu.url)
    assert response.choices[0].message.content == 'Emulator reply to: "hi"'
    assert wire(emu).path == gemini_path(path_model)


@pytest.mark.parametrize(
    "model",
    [
        "chat-bison-32k",
        "chat-bison",
        "chat-bison@001",
        "codechat-bison",
        "codechat-bison-32k",
        "codechat-bison@001",
        "text-bison",
        "text-bison@001",
        "code-bison",
        "code-bison@001",
        "code-gecko@001",
        "code-gecko@latest",
    ],
)
def test_palm_tables(emu: Emulator, adc: Path, model: str) -> None:
    # The page's chat / code chat / text / code text tables are PaLM 2 models, served by Vertex's
    # legacy :predict API and retired by Google; polymodal does not route the bare names: a clear
    # error before any request.
    with pytest.raises(errors.BadRequestError, match="cannot tell which provider serves model"):
        polymodal.completion(model, [{"role": "user", "content": "hi"}], api_base=emu.url)
    assert emu.requests == []


# --------------------------------------------------------------------------- tuned / Model Garden


def test_tuned_model(emu: Emulator, adc: Path) -> None:
    ## set ENV variables
    os.environ["VERTEXAI_PROJECT"] = "hardy-device-38811"
    os.environ["VERTEXAI_LOCATION"] = "us-central1"
    response = polymodal.completion(
        model="vertex_ai/gemini/4965075652664360960",  # e.g. vertex_ai/gemini/<your-finetuned-model>
        messages=[{"content": "Hello, how are you?", "role": "user"}],
        api_base=emu.url,
    )
    assert wire(emu).path == (
        "/v1/projects/hardy-device-38811/locations/us-central1/endpoints/"
        "4965075652664360960:generateContent"
    )
    assert body(emu) == {"contents": [{"role": "user", "parts": [{"text": "Hello, how are you?"}]}]}
    assert response.choices[0].message.content == 'Emulator reply to: "Hello, how are you?"'


def test_tuned_model_text_parts(emu: Emulator, adc: Path) -> None:
    # The page's curl sends the content as a list of text parts.
    polymodal.completion(
        model="vertex_ai/gemini/4965075652664360960",
        messages=[{"role": "user", "content": [{"type": "text", "text": "hi"}]}],
        api_base=emu.url,
    )
    assert body(emu) == {"contents": [{"role": "user", "parts": [{"text": "hi"}]}]}


def test_model_garden_openai_compatible(emu: Emulator, adc: Path) -> None:
    from polymodal import completion

    ## set ENV variables
    os.environ["VERTEXAI_PROJECT"] = "hardy-device-38811"
    os.environ["VERTEXAI_LOCATION"] = "us-central1"
    response = completion(
        model="vertex_ai/openai/5464397967697903616",  # vertex_ai/openai/<your-endpoint-id>
        messages=[{"content": "Hello, how are you?", "role": "user"}],
        api_base=emu.url,
    )
    sent = wire(emu)
    assert sent.path == (
        "/v1/projects/hardy-device-38811/locations/us-central1/endpoints/"
        "5464397967697903616/chat/completions"
    )
    assert _bearer(sent) == "Bearer emu-token-1"
    assert sent.json["messages"] == [{"content": "Hello, how are you?", "role": "user"}]
    assert response.choices[0].message.content == 'Emulator reply to: "Hello, how are you?"'


def test_model_garden_non_openai_compatible(emu: Emulator, adc: Path) -> None:
    # model="vertex_ai/<your-endpoint-id>": such an endpoint speaks Vertex's :predict API with
    # the deployed model's own instances format, which is not chat. polymodal says so, and what
    # to write instead, before any request.
    os.environ["VERTEXAI_PROJECT"] = "hardy-device-38811"
    os.environ["VERTEXAI_LOCATION"] = "us-central1"
    with pytest.raises(errors.BadRequestError) as info:
        polymodal.completion(
            model="vertex_ai/5464397967697903616",
            messages=[{"content": "Hello, how are you?", "role": "user"}],
            api_base=emu.url,
        )
    assert "vertex_ai/openai/5464397967697903616" in str(info.value)
    assert "vertex_ai/gemini/5464397967697903616" in str(info.value)
    assert emu.requests == []


# --------------------------------------------------------------------------- vision


@pytest.fixture
def downloads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Offline stand-in for polymodal.media.fetch: serves JPEG for any URL, records the URLs."""
    fetched: list[str] = []

    def fake_fetch(url: str, *, mime_type: str | None = None, **_: Any) -> FetchedMedia:
        fetched.append(url)
        return FetchedMedia(JPEG, mime_type or "image/jpeg", url)

    import polymodal.media

    monkeypatch.setattr(polymodal.media, "fetch", fake_fetch)
    return fetched


def test_gemini_pro_vision_image_by_direct_link(
    emu: Emulator, adc: Path, downloads: list[str]
) -> None:
    response = polymodal.completion(
        model="vertex_ai/gemini-pro-vision",
        messages=[
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "Whats in this image?"},
                    {
                        "type": "image_url",
                        "image_url": {
                            "url": "https://upload.wikimedia.org/wikipedia/commons/thumb/d/dd/Gfp-wisconsin-madison-the-nature-boardwalk.jpg/2560px-Gfp-wisconsin-madison-the-nature-boardwalk.jpg"
                        },
                    },
                ],
            }
        ],
        api_base=emu.url,
    )
    print(response)
    # Vertex fetches http(s) URLs as a crawler (robots.txt applies, many image hosts refuse it),
    # so polymodal downloads http(s) images and sends the bytes inline.
    assert downloads == [BOARDWALK]
    assert body(emu)["contents"] == [
        {
            "role": "user",
            "parts": [
                {"text": "Whats in this image?"},
                {"inlineData": {"mimeType": "image/jpeg", "data": base64.b64encode(JPEG).decode()}},
            ],
        }
    ]
    assert response.choices[0].message.content == (
        'Emulator reply to: "Whats in this image?" (received 1 image(s))'
    )


def test_gemini_pro_vision_local_base64_image(emu: Emulator, adc: Path, tmp_path: Path) -> None:
    Path("cached_logo.jpg").write_bytes(JPEG)

    def encode_image(image_path: str) -> str:
        import base64

        with open(image_path, "rb") as image_file:
            return base64.b64encode(image_file.read()).decode("utf-8")

    image_path = "cached_logo.jpg"
    # Getting the base64 string
    base64_image = encode_image(image_path)
    response = polymodal.completion(
        model="vertex_ai/gemini-pro-vision",
        messages=[
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "Whats in this image?"},
                    {
                        "type": "image_url",
                        "image_url": {"url": "data:image/jpeg;base64," + base64_image},
                    },
                ],
            }
        ],
        api_base=emu.url,
    )
    print(response)
    assert body(emu)["contents"][0]["parts"][1] == {
        "inlineData": {"mimeType": "image/jpeg", "data": base64_image}
    }
    assert response.choices[0].message.content == (
        'Emulator reply to: "Whats in this image?" (received 1 image(s))'
    )


def test_image_by_cloud_storage_uri(emu: Emulator, adc: Path, downloads: list[str]) -> None:
    # "Images with Cloud Storage URIs - gs://cloud-samples-data/generative-ai/image/boats.jpeg"
    polymodal.completion(
        model="vertex_ai/gemini-pro-vision",
        messages=[
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "Whats in this image?"},
                    {
                        "type": "image_url",
                        "image_url": {
                            "url": "gs://cloud-samples-data/generative-ai/image/boats.jpeg"
                        },
                    },
                ],
            }
        ],
        api_base=emu.url,
    )
    assert downloads == []  # Vertex reads gs:// itself
    assert body(emu)["contents"][0]["parts"][1] == {
        "fileData": {
            "mimeType": "image/jpeg",
            "fileUri": "gs://cloud-samples-data/generative-ai/image/boats.jpeg",
        }
    }


def test_image_by_cloud_storage_uri_with_format(emu: Emulator, adc: Path) -> None:
    # `format` names the mime type where the URI cannot (no extension), or overrides it.
    polymodal.completion(
        model="vertex_ai/gemini-1.5-flash",
        messages=[
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "Whats in this image?"},
                    {
                        "type": "image_url",
                        "image_url": {"url": "gs://my-bucket/images/boats", "format": "image/png"},
                    },
                ],
            }
        ],
        api_base=emu.url,
    )
    assert body(emu)["contents"][0]["parts"][1] == {
        "fileData": {"mimeType": "image/png", "fileUri": "gs://my-bucket/images/boats"}
    }
    # Without `format` the type cannot be told: a clear error, before any request.
    before = len(emu.requests)
    with pytest.raises(errors.BadRequestError, match="format"):
        polymodal.completion(
            model="vertex_ai/gemini-1.5-flash",
            messages=[
                {
                    "role": "user",
                    "content": [
                        {"type": "image_url", "image_url": {"url": "gs://my-bucket/images/boats"}}
                    ],
                }
            ],
            api_base=emu.url,
        )
    assert len(emu.requests) == before


def test_video_by_direct_link(emu: Emulator, adc: Path, downloads: list[str]) -> None:
    # "Videos with Cloud Storage URIs - https://storage.googleapis.com/.../pixel8.mp4": an https
    # video is not downloaded (large; Vertex fetches it), it goes as fileData with its type.
    url = (
        "https://storage.googleapis.com/github-repo/img/gemini/multimodality_usecases_overview/"
        "pixel8.mp4"
    )
    response = polymodal.completion(
        model="vertex_ai/gemini-1.5-flash",
        messages=[
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "Describe this video."},
                    {"type": "file", "file": {"file_id": url}},
                ],
            }
        ],
        api_base=emu.url,
    )
    assert downloads == []
    assert body(emu)["contents"][0]["parts"][1] == {
        "fileData": {"mimeType": "video/mp4", "fileUri": url}
    }
    assert response.choices[0].message.content == (
        'Emulator reply to: "Describe this video." (received 1 video(s))'
    )


# --------------------------------------------------------------------------- function calling


def test_function_calling_gemini_pro_vision(emu: Emulator, sa_file: Path) -> None:
    from polymodal import completion

    # set env
    # The page's ".." placeholders: GOOGLE_APPLICATION_CREDENTIALS must name a file.
    os.environ["GOOGLE_APPLICATION_CREDENTIALS"] = ".."
    # VERTEX_AI_PROJECT / VERTEX_AI_LOCATION are not variables Vertex or polymodal read (the page
    # itself documents VERTEXAI_PROJECT / VERTEXAI_LOCATION): the project then comes from the
    # service account, the location is the default, us-central1.
    os.environ["VERTEX_AI_PROJECT"] = ".."
    os.environ["VERTEX_AI_LOCATION"] = ".."
    tools = [
        {
            "type": "function",
            "function": {
                "name": "get_current_weather",
                "description": "Get the current weather in a given location",
                "parameters": {
                    "type": "object",
                    "properties": {
                        "location": {
                            "type": "string",
                            "description": "The city and state, e.g. San Francisco, CA",
                        },
                        "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
                    },
                    "required": ["location"],
                },
            },
        }
    ]
    messages = [{"role": "user", "content": "What's the weather like in Boston today?"}]

    with pytest.raises(errors.AuthenticationError, match=r"GOOGLE_APPLICATION_CREDENTIALS.*'\.\.'"):
        completion(model="vertex_ai/gemini-pro-vision", messages=messages, tools=tools,
                   api_base=emu.url)  # fmt: skip
    assert emu.requests == []

    os.environ["GOOGLE_APPLICATION_CREDENTIALS"] = str(sa_file)
    response = completion(
        model="vertex_ai/gemini-pro-vision",
        messages=messages,
        tools=tools,
        api_base=emu.url,
    )
    # Add any assertions, here to check response args
    print(response)
    assert isinstance(response.choices[0].message.tool_calls[0].function.name, str)  # type: ignore[index]
    assert isinstance(
        response.choices[0].message.tool_calls[0].function.arguments,  # type: ignore[index]
        str,
    )

    assert wire(emu).path == gemini_path("gemini-pro-vision")
    declaration = body(emu)["tools"][0]["functionDeclarations"][0]
    assert declaration["parameters"]["properties"]["unit"] == {
        "type": "STRING",
        "enum": ["celsius", "fahrenheit"],
    }
    call = response.choices[0].message.tool_calls[0]  # type: ignore[index]
    assert call.function.name == "get_current_weather"
    assert json.loads(call.function.arguments) == {
        "location": "example location",
        "unit": "celsius",
    }
    assert response.choices[0].finish_reason == "tool_calls"


# --------------------------------------------------------------------------- files


def test_pdf_by_cloud_storage_uri(emu: Emulator, adc: Path, downloads: list[str]) -> None:
    from polymodal import completion

    response = completion(
        model="vertex_ai/gemini-1.5-flash",
        messages=[
            {
                "role": "user",
                "content": [
                    {
                        "type": "text",
                        "text": "You are a very professional document summarization specialist. "
                        "Please summarize the given document.",
                    },
                    {
                        "type": "file",
                        "file": {
                            "file_id": "gs://cloud-samples-data/generative-ai/pdf/2403.05530.pdf",
                            "format": "application/pdf",  # OPTIONAL - specify mime-type
                        },
                    },
                ],
            }
        ],
        max_tokens=300,
        api_base=emu.url,
    )
    print(response.choices[0])
    assert downloads == []
    sent = body(emu)
    assert sent["contents"][0]["parts"][1] == {
        "fileData": {
            "mimeType": "application/pdf",
            "fileUri": "gs://cloud-samples-data/generative-ai/pdf/2403.05530.pdf",
        }
    }
    assert sent["generationConfig"] == {"maxOutputTokens": 300}
    assert (response.choices[0].message.content or "").endswith("(received 1 file(s))")
    # `format` is optional: the .pdf extension tells the type.
    completion(
        model="vertex_ai/gemini-1.5-flash",
        messages=[
            {
                "role": "user",
                "content": [
                    {
                        "type": "file",
                        "file": {
                            "file_id": "gs://cloud-samples-data/generative-ai/pdf/2403.05530.pdf"
                        },
                    }
                ],
            }
        ],
        api_base=emu.url,
    )
    assert body(emu)["contents"][0]["parts"][0]["fileData"]["mimeType"] == "application/pdf"


def test_pdf_as_base64(emu: Emulator, adc: Path) -> None:
    from polymodal import completion

    # The page downloads the PDF with requests.get(url); there is no network here, so a small
    # local PDF stands in for `response.content`.
    file_data = PDF
    encoded_file = base64.b64encode(file_data).decode("utf-8")
    response = completion(
        model="vertex_ai/gemini-1.5-flash",
        messages=[
            {
                "role": "user",
                "content": [
                    {
                        "type": "text",
                        "text": "You are a very professional document summarization specialist. "
                        "Please summarize the given document.",
                    },
                    {
                        "type": "file",
                        "file": {
                            "file_data": f"data:application/pdf;base64,{encoded_file}",  # PDF
                        },
                    },
                    # The page's audio part reads `"audio_input {` (a syntax error) and names a
                    # part type, "audio_input", that is not OpenAI's; its own comment says "'file'
                    # message works as too", which is the form used here.
                    {
                        "type": "file",
                        "file": {"file_data": f"data:audio/mp3;base64,{encoded_file}"},
                    },
                ],
            }
        ],
        max_tokens=300,
        api_base=emu.url,
    )
    print(response.choices[0])
    parts = body(emu)["contents"][0]["parts"]
    assert parts[1:] == [
        {"inlineData": {"mimeType": "application/pdf", "data": encoded_file}},
        {"inlineData": {"mimeType": "audio/mp3", "data": encoded_file}},
    ]
    assert (response.choices[0].message.content or "").endswith(
        "(received 1 file(s), 1 audio clip(s))"
    )


def test_audio_input_part_as_the_page_spells_it(emu: Emulator, adc: Path) -> None:
    # The nearest valid Python of the page's part: {"type": "audio_input", "audio_input":
    # {"audio_input": "data:audio/mp3;base64,..."}}. OpenAI's part is "input_audio"; polymodal
    # names the part and the types it takes, before any request.
    encoded = base64.b64encode(b"ID3\x03\x00\x00\x00\x00\x00\x00").decode()
    with pytest.raises(errors.BadRequestError) as info:
        polymodal.completion(
            model="vertex_ai/gemini-1.5-flash",
            messages=[
                {
                    "role": "user",
                    "content": [
                        {"type": "text", "text": "Transcribe."},
                        {
                            "type": "audio_input",
                            "audio_input": {"audio_input": f"data:audio/mp3;base64,{encoded}"},
                        },
                    ],
                }
            ],
            api_base=emu.url,
        )
    assert "messages[0].content[1] has unsupported type 'audio_input'" in str(info.value)
    assert "input_audio" in str(info.value)
    assert emu.requests == []
    # OpenAI's spelling works.
    polymodal.completion(
        model="vertex_ai/gemini-1.5-flash",
        messages=[
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "Transcribe."},
                    {"type": "input_audio", "input_audio": {"data": encoded, "format": "mp3"}},
                ],
            }
        ],
        api_base=emu.url,
    )
    assert body(emu)["contents"][0]["parts"][1] == {
        "inlineData": {"mimeType": "audio/mpeg", "data": encoded}
    }
