"""Golden tests of the Gemini wire format (``polymodal.apis.gemini``).

Expected bodies are written by hand from Google's documentation of ``generateContent``
(``Content``/``Part``, ``GenerationConfig``, ``ThinkingConfig``, ``Tool``, ``ToolConfig``,
``SafetySetting``, ``GenerateContentResponse``, ``GroundingMetadata``, ``UsageMetadata``), not
computed by the code under test. The first section is every chat example of
``../shared/seeds/litellm-vertex-ai.zh.txt`` written with polymodal's names: the OpenAI-format
input a user writes and the body Vertex AI must receive.
"""

from __future__ import annotations

import base64
import json
import warnings
from typing import Any

import pytest

from polymodal import errors
from polymodal._warn import DroppedParamWarning
from polymodal.apis import gemini
from polymodal.openai_format import parse_chat, render_chat
from polymodal.schema import SchemaKeywordDroppedWarning
from polymodal.types import (
    AudioPart,
    ChatRequest,
    FilePart,
    ImagePart,
    MediaSource,
    Message,
    VideoPart,
)

PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg=="
PDF = base64.b64encode(b"%PDF-1.4\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n").decode()


def body(model: str, messages: list[Any], dialect: str = "vertex", **params: Any) -> dict[str, Any]:
    return gemini.encode(parse_chat(model, messages, params), dialect=dialect)


def user(text: str) -> dict[str, Any]:
    return {"role": "user", "parts": [{"text": text}]}


# --------------------------------------------------------------------------- the seed page

HELLO = [{"content": "Hello, how are you?", "role": "user"}]
WEATHER_TOOL = {
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
COOKIES = [{"role": "user", "content": "List 5 popular cookie recipes."}]
RECIPES = {
    "type": "array",
    "items": {
        "type": "object",
        "properties": {"recipe_name": {"type": "string"}},
        "required": ["recipe_name"],
    },
}
RECIPES_GEMINI = {
    "type": "ARRAY",
    "items": {
        "type": "OBJECT",
        "properties": {"recipe_name": {"type": "STRING"}},
        "required": ["recipe_name"],
    },
}
WORLD_CUP = [{"role": "user", "content": "Who won the world cup?"}]
FRANCE = [{"role": "user", "content": "What is the capital of France?"}]
SAFETY = [
    {"category": "HARM_CATEGORY_HARASSMENT", "threshold": "BLOCK_NONE"},
    {"category": "HARM_CATEGORY_HATE_SPEECH", "threshold": "BLOCK_NONE"},
    {"category": "HARM_CATEGORY_SEXUALLY_EXPLICIT", "threshold": "BLOCK_NONE"},
    {"category": "HARM_CATEGORY_DANGEROUS_CONTENT", "threshold": "BLOCK_NONE"},
]
SUMMARIZE = (
    "You are a very professional document summarization specialist. "
    "Please summarize the given document."
)


def test_seed_basic_completion() -> None:
    assert body("gemini-pro", HELLO) == {"contents": [user("Hello, how are you?")]}


def test_seed_system_message() -> None:
    messages = [{"content": "You are a good bot.", "role": "system"}, *HELLO]
    assert body("gemini-pro", messages) == {
        "systemInstruction": {"parts": [{"text": "You are a good bot."}]},
        "contents": [user("Hello, how are you?")],
    }


def test_seed_function_calling_required() -> None:
    messages = [
        {"role": "system", "content": "Your name is Litellm Bot, you are a helpful assistant"},
        {"role": "user", "content": "Hello, what is your name and can you tell me the weather?"},
    ]
    got = body(
        "gemini-1.5-pro-preview-0514", messages, tools=[WEATHER_TOOL], tool_choice="required"
    )
    assert got == {
        "systemInstruction": {
            "parts": [{"text": "Your name is Litellm Bot, you are a helpful assistant"}]
        },
        "contents": [user("Hello, what is your name and can you tell me the weather?")],
        "tools": [
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
        ],
        "toolConfig": {"functionCallingConfig": {"mode": "ANY"}},
    }


@pytest.mark.parametrize("enforce", [False, True])
def test_seed_response_schema(enforce: bool) -> None:
    """gemini-1.5-pro takes a Schema (OpenAPI subset); enforce_validation is checked on the
    answer by the flow, after decoding, and changes nothing in the body."""
    fmt: dict[str, Any] = {"type": "json_object", "response_schema": RECIPES}
    if enforce:
        fmt["enforce_validation"] = True
    assert body("gemini-1.5-pro", COOKIES, response_format=fmt) == {
        "contents": [user("List 5 popular cookie recipes.")],
        "generationConfig": {
            "responseMimeType": "application/json",
            "responseSchema": RECIPES_GEMINI,
        },
    }


def test_seed_schema_in_your_own_prompt() -> None:
    prompt = (
        "\nList 5 popular cookie recipes.\nUsing this JSON schema:\n"
        'Recipe = {"recipe_name": str}\nReturn a `list[Recipe]`\n'
    )
    got = body(
        "gemini-1.5-flash-preview-0514",
        [{"role": "user", "content": prompt}],
        response_format={"type": "json_object"},
    )
    assert got == {
        "contents": [user(prompt)],
        "generationConfig": {"responseMimeType": "application/json"},
    }


@pytest.mark.parametrize(
    "tool,expected",
    [
        ({"googleSearch": {}}, {"googleSearch": {}}),
        ({"enterpriseWebSearch": {}}, {"enterpriseWebSearch": {}}),
        # The migration example's legacy flag (as the page spells it): False is the default.
        ({"googleSearch": {"disable_attributon": False}}, {"googleSearch": {}}),
    ],
)
def test_seed_grounding(tool: dict[str, Any], expected: dict[str, Any]) -> None:
    assert body("gemini-1.0-pro-001", WORLD_CUP, tools=[tool]) == {
        "contents": [user("Who won the world cup?")],
        "tools": [expected],
    }


def test_seed_reasoning_effort_low() -> None:
    got = body("gemini-2.5-flash-preview-04-17", FRANCE, reasoning_effort="low")
    assert got["generationConfig"] == {
        "thinkingConfig": {"includeThoughts": True, "thinkingBudget": 1024}
    }


def test_seed_thinking_budget() -> None:
    thinking = {"type": "enabled", "budget_tokens": 1024}
    got = body("gemini-2.5-flash-preview-04-17", FRANCE, thinking=thinking)
    assert got["generationConfig"] == {
        "thinkingConfig": {"includeThoughts": True, "thinkingBudget": 1024}
    }


def test_seed_safety_settings_per_call_and_in_extra_body() -> None:
    messages = [{"role": "user", "content": "write code for saying hi from LiteLLM"}]
    expected = {
        "contents": [user("write code for saying hi from LiteLLM")],
        "safetySettings": SAFETY,
    }
    assert body("gemini-pro", messages, safety_settings=SAFETY) == expected
    # The proxy example sends them in extra_body, snake_case: the same body.
    assert body("gemini-pro", messages, extra_body={"safety_settings": SAFETY}) == expected


def test_seed_safety_settings_option_2() -> None:
    messages = [{"role": "user", "content": "Can you write exploits?"}]
    got = body(
        "gemini-experimental",
        messages,
        max_tokens=8192,
        temperature=0.0,
        extra_body={"safety_settings": SAFETY},
    )
    assert got == {
        "contents": [user("Can you write exploits?")],
        "generationConfig": {"temperature": 0.0, "maxOutputTokens": 8192},
        "safetySettings": SAFETY,
    }


def test_context_caching_cached_content() -> None:
    name = "projects/p/locations/us-central1/cachedContents/4242"
    got = body("gemini-1.5-pro-002", [{"role": "user", "content": "hi"}], cached_content=name)
    assert got == {"contents": [user("hi")], "cachedContent": name}


BOARDWALK = (
    "https://upload.wikimedia.org/wikipedia/commons/thumb/d/dd/"
    "Gfp-wisconsin-madison-the-nature-boardwalk.jpg/"
    "2560px-Gfp-wisconsin-madison-the-nature-boardwalk.jpg"
)


def test_seed_vision_direct_link_is_downloaded_then_inlined() -> None:
    messages = [
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "Whats in this image?"},
                {"type": "image_url", "image_url": {"url": BOARDWALK}},
            ],
        }
    ]
    req = parse_chat("gemini-pro-vision", messages, {})
    image = req.messages[0].parts()[1]
    assert isinstance(image, ImagePart)
    assert gemini.needs_bytes(image, "vertex")  # the flow downloads it before encoding
    # ... and then the part holds the bytes (what _chat.resolve_media puts there):
    assert isinstance(req.messages[0].content, list)
    req.messages[0].content[1] = ImagePart(MediaSource(data=PNG, mime_type="image/jpeg"))
    assert gemini.encode(req) == {
        "contents": [
            {
                "role": "user",
                "parts": [
                    {"text": "Whats in this image?"},
                    {"inlineData": {"mimeType": "image/jpeg", "data": PNG}},
                ],
            }
        ]
    }


def test_seed_vision_base64_and_gcs() -> None:
    messages = [
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "Whats in this image?"},
                {"type": "image_url", "image_url": {"url": f"data:image/jpeg;base64,{PNG}"}},
                {
                    "type": "image_url",
                    "image_url": {"url": "gs://cloud-samples-data/generative-ai/image/boats.jpeg"},
                },
                {
                    "type": "video_url",
                    "video_url": {
                        "url": "https://storage.googleapis.com/github-repo/img/gemini/"
                        "multimodality_usecases_overview/pixel8.mp4"
                    },
                },
            ],
        }
    ]
    got = body("gemini-pro-vision", messages)
    assert got["contents"][0]["parts"] == [
        {"text": "Whats in this image?"},
        {"inlineData": {"mimeType": "image/jpeg", "data": PNG}},
        {
            "fileData": {
                "fileUri": "gs://cloud-samples-data/generative-ai/image/boats.jpeg",
                "mimeType": "image/jpeg",
            }
        },
        {
            "fileData": {
                "fileUri": "https://storage.googleapis.com/github-repo/img/gemini/"
                "multimodality_usecases_overview/pixel8.mp4",
                "mimeType": "video/mp4",
            }
        },
    ]


def test_seed_function_calling_with_enum() -> None:
    tool = {
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
    messages = [{"role": "user", "content": "What's the weather like in Boston today?"}]
    got = body("gemini-pro-vision", messages, tools=[tool])
    assert got["tools"] == [
        {
            "functionDeclarations": [
                {
                    "name": "get_current_weather",
                    "description": "Get the current weather in a given location",
                    "parameters": {
                        "type": "OBJECT",
                        "properties": {
                            "location": {
                                "type": "STRING",
                                "description": "The city and state, e.g. San Francisco, CA",
                            },
                            "unit": {"type": "STRING", "enum": ["celsius", "fahrenheit"]},
                        },
                        "required": ["location"],
                    },
                }
            ]
        }
    ]
    assert "toolConfig" not in got


def test_seed_files_gcs_pdf_with_format() -> None:
    messages = [
        {
            "role": "user",
            "content": [
                {"type": "text", "text": SUMMARIZE},
                {
                    "type": "file",
                    "file": {
                        "file_id": "gs://cloud-samples-data/generative-ai/pdf/2403.05530.pdf",
                        "format": "application/pdf",
                    },
                },
            ],
        }
    ]
    assert body("gemini-1.5-flash", messages, max_tokens=300) == {
        "contents": [
            {
                "role": "user",
                "parts": [
                    {"text": SUMMARIZE},
                    {
                        "fileData": {
                            "fileUri": "gs://cloud-samples-data/generative-ai/pdf/2403.05530.pdf",
                            "mimeType": "application/pdf",
                        }
                    },
                ],
            }
        ],
        "generationConfig": {"maxOutputTokens": 300},
    }


def test_seed_files_base64_pdf_and_audio() -> None:
    """The page's audio part (``"audio_input"``, a typo) is written with our names: a ``file``
    part holding the audio data URL, as its comment says ("'file' message works as too")."""
    messages = [
        {
            "role": "user",
            "content": [
                {"type": "text", "text": SUMMARIZE},
                {"type": "file", "file": {"file_data": f"data:application/pdf;base64,{PDF}"}},
                {"type": "file", "file": {"file_data": f"data:audio/mp3;base64,{PDF}"}},
            ],
        }
    ]
    got = body("gemini-1.5-flash", messages, max_tokens=300)
    assert got["contents"][0]["parts"] == [
        {"text": SUMMARIZE},
        {"inlineData": {"mimeType": "application/pdf", "data": PDF}},
        {"inlineData": {"mimeType": "audio/mp3", "data": PDF}},
    ]


# --------------------------------------------------------------------------- messages and media


def test_roles_system_merging_and_tool_results() -> None:
    messages = [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Weather in Paris and Rome?"},
        {"role": "developer", "content": "Use Celsius."},
        {"role": "user", "content": "Please."},
        {
            "role": "assistant",
            "content": "Checking.",
            "tool_calls": [
                {"id": "a", "type": "function",
                 "function": {"name": "weather", "arguments": '{"city": "Paris"}'}},
                {"id": "b", "type": "function",
                 "function": {"name": "weather", "arguments": '{"city": "Rome"}'}},
            ],
        },
        {"role": "tool", "tool_call_id": "a", "content": '{"celsius": 21}'},
        {"role": "tool", "tool_call_id": "b", "content": "sunny, 25"},
        {"role": "user", "content": "Thanks"},
    ]  # fmt: skip
    assert body("gemini-2.5-flash", messages) == {
        "systemInstruction": {"parts": [{"text": "Be brief."}, {"text": "Use Celsius."}]},
        "contents": [
            {
                "role": "user",
                "parts": [{"text": "Weather in Paris and Rome?"}, {"text": "Please."}],
            },
            {
                "role": "model",
                "parts": [
                    {"text": "Checking."},
                    {"functionCall": {"name": "weather", "args": {"city": "Paris"}, "id": "a"}},
                    {"functionCall": {"name": "weather", "args": {"city": "Rome"}, "id": "b"}},
                ],
            },
            {
                "role": "user",
                "parts": [
                    {
                        "functionResponse": {
                            "name": "weather",
                            "response": {"celsius": 21},
                            "id": "a",
                        }
                    },
                    {
                        "functionResponse": {
                            "name": "weather",
                            "response": {"content": "sunny, 25"},
                            "id": "b",
                        }
                    },
                    {"text": "Thanks"},
                ],
            },
        ],
    }


def test_tool_result_for_an_unknown_call_is_an_error() -> None:
    messages = [
        {"role": "user", "content": "hi"},
        {"role": "tool", "tool_call_id": "nope", "content": "x"},
    ]
    with pytest.raises(errors.BadRequestError, match=r"messages\[1\].*nope"):
        body("gemini-2.5-flash", messages)


def test_empty_user_message_keeps_its_turn() -> None:
    assert body("gemini-2.5-flash", [{"role": "user", "content": ""}]) == {
        "contents": [{"role": "user", "parts": [{"text": ""}]}]
    }


def test_gcs_uri_without_extension_needs_format() -> None:
    messages = [{"role": "user", "content": [
        {"type": "text", "text": "what is this"},
        {"type": "image_url", "image_url": {"url": "gs://bucket/object"}},
    ]}]  # fmt: skip
    with pytest.raises(errors.BadRequestError, match=r"messages\[0\]\.content\[1\].*format"):
        body("gemini-2.5-flash", messages)
    messages[0]["content"][1]["image_url"]["format"] = "image/png"  # type: ignore[index]
    assert body("gemini-2.5-flash", messages)["contents"][0]["parts"][1] == {
        "fileData": {"fileUri": "gs://bucket/object", "mimeType": "image/png"}
    }


def test_ai_studio_refuses_gcs_and_s3() -> None:
    for url in ("gs://bucket/a.png", "s3://bucket/a.png"):
        messages = [{"role": "user", "content": [{"type": "image_url", "image_url": url}]}]
        with pytest.raises(errors.BadRequestError, match=url.split(":")[0]):
            body("gemini-2.5-flash", messages, dialect="ai_studio")


def test_ai_studio_files_api_uri_and_bare_file_name() -> None:
    uri = "https://generativelanguage.googleapis.com/v1beta/files/abc123"
    messages = [{"role": "user", "content": [
        {"type": "file", "file": {"file_id": uri}},
        {"type": "file", "file": {"file_id": "files/xyz", "format": "application/pdf"}},
    ]}]  # fmt: skip
    assert body("gemini-2.5-flash", messages, dialect="ai_studio")["contents"][0]["parts"] == [
        {"fileData": {"fileUri": uri}},
        {
            "fileData": {
                "fileUri": "https://generativelanguage.googleapis.com/v1beta/files/xyz",
                "mimeType": "application/pdf",
            }
        },
    ]


def _part(kind: type, url: str) -> Any:
    return kind(MediaSource(url=url))


@pytest.mark.parametrize(
    "part,vertex,ai_studio",
    [
        (_part(ImagePart, "https://example.com/a.png"), True, True),
        (_part(ImagePart, "http://example.com/a.png"), True, True),
        (_part(FilePart, "https://example.com/doc.pdf"), False, True),
        (_part(VideoPart, "https://example.com/v.mp4"), False, True),
        (_part(AudioPart, "https://example.com/a.wav"), False, True),
        (_part(VideoPart, "https://www.youtube.com/watch?v=abc"), False, False),
        (_part(VideoPart, "https://youtu.be/abc"), False, False),
        (_part(FilePart, "https://generativelanguage.googleapis.com/v1beta/files/x"), False, False),
        (_part(ImagePart, "gs://bucket/a.png"), False, False),
        (ImagePart(MediaSource(data=PNG, mime_type="image/png")), False, False),
        (FilePart(MediaSource(file_id="files/abc")), False, False),
    ],
)
def test_needs_bytes(part: Any, vertex: bool, ai_studio: bool) -> None:
    assert gemini.needs_bytes(part, "vertex") is vertex
    assert gemini.needs_bytes(part, "ai_studio") is ai_studio


def test_input_audio_and_video_parts() -> None:
    messages = [{"role": "user", "content": [
        {"type": "input_audio", "input_audio": {"data": PNG, "format": "mp3"}},
        {"type": "video_url", "video_url": {"url": "gs://b/clip.mov"}},
    ]}]  # fmt: skip
    assert body("gemini-2.5-flash", messages)["contents"][0]["parts"] == [
        {"inlineData": {"mimeType": "audio/mpeg", "data": PNG}},
        {"fileData": {"fileUri": "gs://b/clip.mov", "mimeType": "video/quicktime"}},
    ]


def test_system_message_takes_only_text() -> None:
    messages = [
        {"role": "system", "content": [{"type": "image_url", "image_url": "gs://b/a.png"}]},
        {"role": "user", "content": "hi"},
    ]
    with pytest.raises(errors.BadRequestError, match="only text"):
        body("gemini-2.5-flash", messages)


# --------------------------------------------------------------------------- signatures


def _assistant_with_call(sig: str | None) -> dict[str, Any]:
    call: dict[str, Any] = {
        "id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"},
    }  # fmt: skip
    if sig is not None:
        call["provider_specific_fields"] = {"thought_signature": sig}
    second = {"id": "c2", "type": "function", "function": {"name": "f", "arguments": "{}"}}
    return {"role": "assistant", "content": None, "tool_calls": [call, second]}


def _loop(sig: str | None) -> list[dict[str, Any]]:
    return [
        {"role": "user", "content": "go"},
        _assistant_with_call(sig),
        {"role": "tool", "tool_call_id": "c1", "content": "1"},
        {"role": "tool", "tool_call_id": "c2", "content": "2"},
    ]


def test_signatures_replayed_on_their_calls() -> None:
    got = body("gemini-2.5-flash", _loop("c2lnLWE="))
    assert got["contents"][1]["parts"] == [
        {"functionCall": {"name": "f", "args": {}, "id": "c1"}, "thoughtSignature": "c2lnLWE="},
        {"functionCall": {"name": "f", "args": {}, "id": "c2"}},
    ]


def test_gemini_3_gets_the_documented_dummy_signature_when_one_is_missing() -> None:
    for model in ("gemini-3-pro-preview", "gemini-3-flash-preview", "gemini-3.1-pro-preview"):
        parts = body(model, _loop(None))["contents"][1]["parts"]
        assert parts[0]["thoughtSignature"] == "skip_thought_signature_validator"
        assert "thoughtSignature" not in parts[1]  # only the first call of a step needs one
    # Older models need none, and a real signature is never replaced.
    assert "thoughtSignature" not in body("gemini-2.5-pro", _loop(None))["contents"][1]["parts"][0]
    real = body("gemini-3-pro-preview", _loop("cmVhbA=="))["contents"][1]["parts"][0]
    assert real["thoughtSignature"] == "cmVhbA=="


def test_text_and_thought_signatures_replayed() -> None:
    messages = [
        {"role": "user", "content": "hi"},
        {
            "role": "assistant",
            "content": "Hello!",
            "thinking_blocks": [
                {"type": "thinking", "thinking": "Greet back.", "signature": "dGhvdWdodA=="},
                {"type": "thinking", "thinking": "", "signature": "dGV4dA=="},
            ],
            "reasoning_content": "Greet back.",
        },
        {"role": "user", "content": "again"},
    ]
    assert body("gemini-2.5-flash", messages)["contents"][1] == {
        "role": "model",
        "parts": [
            {"text": "Greet back.", "thought": True, "thoughtSignature": "dGhvdWdodA=="},
            {"text": "Hello!", "thoughtSignature": "dGV4dA=="},
        ],
    }


def test_unsigned_reasoning_is_not_sent_back() -> None:
    messages = [
        {"role": "user", "content": "hi"},
        {"role": "assistant", "content": "Hello!", "reasoning_content": "thinking..."},
        {"role": "user", "content": "again"},
    ]
    assert body("gemini-2.5-flash", messages)["contents"][1] == {
        "role": "model",
        "parts": [{"text": "Hello!"}],
    }


def test_decoded_turn_round_trips_through_the_openai_message() -> None:
    """decode -> render_chat -> messages -> encode puts every signature back on its part."""
    response = {
        "candidates": [
            {
                "content": {
                    "role": "model",
                    "parts": [
                        {
                            "text": "Let me think.",
                            "thought": True,
                            "thoughtSignature": "VEhPVUdIVA==",
                        },
                        {"text": "Calling.", "thoughtSignature": "VEVYVA=="},
                        {
                            "functionCall": {"name": "f", "args": {"x": 1}},
                            "thoughtSignature": "RkM=",
                        },
                    ],
                },
                "finishReason": "STOP",
            }
        ]
    }
    message = render_chat(gemini.decode(response)).choices[0].message
    call_id = message.tool_calls[0].id
    messages = [
        {"role": "user", "content": "go"},
        message,
        {"role": "tool", "tool_call_id": call_id, "content": "ok"},
    ]
    assert body("gemini-3-flash-preview", messages)["contents"][1]["parts"] == [
        {"text": "Let me think.", "thought": True, "thoughtSignature": "VEhPVUdIVA=="},
        {"text": "Calling.", "thoughtSignature": "VEVYVA=="},
        {
            "functionCall": {"name": "f", "args": {"x": 1}, "id": call_id},
            "thoughtSignature": "RkM=",
        },
    ]


def test_code_execution_parts_replayed_verbatim() -> None:
    code = [
        {
            "executableCode": {"language": "PYTHON", "code": "print(1)"},
            "thoughtSignature": "Q09ERQ==",
        },
        {"codeExecutionResult": {"outcome": "OUTCOME_OK", "output": "1\n"}},
    ]
    messages = [
        {"role": "user", "content": "run"},
        {"role": "assistant", "content": "It printed 1.", "code_execution": code},
        {"role": "user", "content": "thanks"},
    ]
    assert body("gemini-2.5-flash", messages)["contents"][1]["parts"] == [
        *code,
        {"text": "It printed 1."},
    ]


# --------------------------------------------------------------------------- tools


def test_tool_choice_modes() -> None:
    def config(choice: Any) -> Any:
        return body("gemini-2.5-flash", [{"role": "user", "content": "x"}], tools=[WEATHER_TOOL],
                    tool_choice=choice)["toolConfig"]  # fmt: skip

    assert config("auto") == {"functionCallingConfig": {"mode": "AUTO"}}
    assert config("none") == {"functionCallingConfig": {"mode": "NONE"}}
    assert config("required") == {"functionCallingConfig": {"mode": "ANY"}}
    named = {"type": "function", "function": {"name": "get_weather"}}
    assert config(named) == {
        "functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": ["get_weather"]}
    }


def test_builtin_tools_snake_case_and_order() -> None:
    tools = [
        WEATHER_TOOL,
        {"google_search_retrieval": {"dynamic_retrieval_config": {"mode": "MODE_DYNAMIC",
                                                                  "dynamic_threshold": 0.3}}},
        {"url_context": {}},
        {"code_execution": {}},
    ]  # fmt: skip
    got = body("gemini-2.5-flash", [{"role": "user", "content": "x"}], tools=tools)["tools"]
    assert got[:3] == [
        {"googleSearchRetrieval": {"dynamicRetrievalConfig": {"mode": "MODE_DYNAMIC",
                                                              "dynamicThreshold": 0.3}}},
        {"urlContext": {}},
        {"codeExecution": {}},
    ]  # fmt: skip
    assert list(got[3]) == ["functionDeclarations"]


def test_enterprise_web_search_is_vertex_only() -> None:
    args: dict[str, Any] = {"tools": [{"enterpriseWebSearch": {}}]}
    with pytest.raises(errors.UnsupportedParamsError, match="enterpriseWebSearch"):
        body("gemini-2.5-flash", WORLD_CUP, dialect="ai_studio", **args)
    with pytest.warns(DroppedParamWarning, match="enterpriseWebSearch"):
        req = parse_chat("gemini-2.5-flash", WORLD_CUP, args)
        assert "tools" not in gemini.encode(req, dialect="ai_studio", drop_params=True)


def test_legacy_attribution_flag_true_is_refused() -> None:
    with pytest.raises(errors.UnsupportedParamsError, match="attribution"):
        body("gemini-2.5-flash", WORLD_CUP, tools=[{"googleSearch": {"disable_attribution": True}}])


def test_tool_parameters_as_json_schema_on_request() -> None:
    tool = {"type": "function", "function": {"name": "f", "parameters": {
        "type": "object", "properties": {"x": {"type": ["integer", "null"]}},
        "additionalProperties": False, "$defs": {}}}}  # fmt: skip
    got = body("gemini-2.5-flash", [{"role": "user", "content": "x"}], tools=[tool],
               extra_body={"tool_schema_format": "json_schema"})  # fmt: skip
    assert got["tools"] == [
        {
            "functionDeclarations": [
                {
                    "name": "f",
                    "parametersJsonSchema": {
                        "type": "object",
                        "properties": {"x": {"type": ["integer", "null"]}},
                        "additionalProperties": False,
                        "$defs": {},
                    },
                }
            ]
        }
    ]


def test_dropped_schema_keywords_are_reported() -> None:
    tool = {"type": "function", "function": {"name": "f", "parameters": {
        "type": "object", "properties": {"x": {"type": "number", "exclusiveMinimum": 0}}}}}  # fmt: skip
    with pytest.warns(SchemaKeywordDroppedWarning, match=r"exclusiveMinimum.*properties\.x"):
        body("gemini-2.5-flash", [{"role": "user", "content": "x"}], tools=[tool])


# --------------------------------------------------------------------------- generation config


def test_generation_config_fields() -> None:
    got = body(
        "gemini-2.5-flash",
        [{"role": "user", "content": "x"}],
        temperature=0.5,
        top_p=0.8,
        max_completion_tokens=64,
        max_tokens=999,
        stop=["END", "STOP"],
        n=2,
        seed=42,
        presence_penalty=0.5,
        frequency_penalty=-0.5,
        logprobs=True,
        top_logprobs=4,
        modalities=["text", "audio"],
    )
    assert got["generationConfig"] == {
        "temperature": 0.5,
        "topP": 0.8,
        "stopSequences": ["END", "STOP"],
        "candidateCount": 2,
        "seed": 42,
        "presencePenalty": 0.5,
        "frequencyPenalty": -0.5,
        "maxOutputTokens": 64,
        "responseLogprobs": True,
        "logprobs": 4,
        "responseModalities": ["TEXT", "AUDIO"],
    }


def test_response_formats_by_model() -> None:
    schema = {"type": "object", "properties": {"a": {"type": "string"}, "b": {"type": "integer"}},
              "required": ["a"], "$schema": "https://json-schema.org/draft/2020-12/schema"}  # fmt: skip
    fmt = {"type": "json_schema", "json_schema": {"name": "x", "schema": schema}}
    msgs = [{"role": "user", "content": "x"}]
    # Gemini 2.5 (registry: takes JSON Schema) -> responseJsonSchema, $schema removed (rejected).
    with pytest.warns(SchemaKeywordDroppedWarning, match=r"\$schema"):
        assert body("gemini-2.5-flash", msgs, response_format=fmt)["generationConfig"] == {
            "responseMimeType": "application/json",
            "responseJsonSchema": {
                "type": "object",
                "properties": {"a": {"type": "string"}, "b": {"type": "integer"}},
                "required": ["a"],
            },
        }
    # Gemini 2.0 -> the compiled Schema, keys in the given order.
    expected_schema = {
        "type": "OBJECT",
        "properties": {"a": {"type": "STRING"}, "b": {"type": "INTEGER"}},
        "required": ["a"],
        "propertyOrdering": ["a", "b"],
    }
    with pytest.warns(SchemaKeywordDroppedWarning, match=r"\$schema"):
        got = body("gemini-2.0-flash", msgs, response_format=fmt)
    assert got["generationConfig"] == {
        "responseMimeType": "application/json",
        "responseSchema": expected_schema,
    }
    # The registry's choice can be overridden.
    with pytest.warns(SchemaKeywordDroppedWarning):
        got = body("gemini-2.5-flash", msgs, response_format=fmt,
                   extra_body={"response_schema_format": "openapi"})  # fmt: skip
    assert got["generationConfig"]["responseSchema"] == expected_schema
    with pytest.raises(errors.BadRequestError, match="response_schema_format"):
        body("gemini-2.5-flash", msgs, extra_body={"response_schema_format": "yaml"})


def test_schema_in_the_prompt_for_models_without_native_support() -> None:
    fmt = {"type": "json_object", "response_schema": {"type": "object"}}
    got = body("gemini-2.5-flash-image", [{"role": "user", "content": "x"}], "ai_studio",
               response_format=fmt)  # fmt: skip
    assert got["systemInstruction"] == {
        "parts": [
            {
                "text": 'Respond only with JSON that validates against this JSON Schema:\n{"type": "object"}'
            }
        ]
    }
    assert got["generationConfig"] == {"responseMimeType": "application/json"}


@pytest.mark.parametrize(
    "model,effort,expected",
    [
        ("gemini-2.5-flash", "low", {"includeThoughts": True, "thinkingBudget": 1024}),
        ("gemini-2.5-flash", "medium", {"includeThoughts": True, "thinkingBudget": 2048}),
        ("gemini-2.5-flash", "high", {"includeThoughts": True, "thinkingBudget": 4096}),
        ("gemini-2.5-flash", "minimal", {"includeThoughts": True, "thinkingBudget": 1024}),
        ("gemini-2.5-flash", "none", {"thinkingBudget": 0}),
        ("gemini-2.5-flash", "disable", {"thinkingBudget": 0}),
        ("gemini-2.5-pro", "none", {"thinkingBudget": 128}),
        ("gemini-3-pro-preview", "low", {"includeThoughts": True, "thinkingLevel": "LOW"}),
        ("gemini-3-pro-preview", "medium", {"includeThoughts": True, "thinkingLevel": "HIGH"}),
        ("gemini-3-pro-preview", "minimal", {"includeThoughts": True, "thinkingLevel": "LOW"}),
        ("gemini-3-pro-preview", "none", {"thinkingLevel": "LOW"}),
        ("gemini-3-flash-preview", "medium", {"includeThoughts": True, "thinkingLevel": "MEDIUM"}),
        (
            "gemini-3-flash-preview",
            "minimal",
            {"includeThoughts": True, "thinkingLevel": "MINIMAL"},
        ),
        ("gemini-3-flash-preview", "none", {"thinkingLevel": "MINIMAL"}),
        ("gemini-3.1-pro-preview", "medium", {"includeThoughts": True, "thinkingLevel": "MEDIUM"}),
        ("gemini-3-pro-preview", "high", {"includeThoughts": True, "thinkingLevel": "HIGH"}),
    ],
)
def test_reasoning_effort(model: str, effort: str, expected: dict[str, Any]) -> None:
    got = body(model, FRANCE, reasoning_effort=effort)
    assert got["generationConfig"] == {"thinkingConfig": expected}


def test_thinking_param() -> None:
    def thinking(model: str, value: dict[str, Any], **extra: Any) -> Any:
        return body(model, FRANCE, thinking=value, **extra)["generationConfig"]["thinkingConfig"]

    assert thinking("gemini-3-pro-preview", {"type": "enabled", "budget_tokens": 2000}) == {
        "includeThoughts": True,
        "thinkingBudget": 2000,
    }
    assert thinking("gemini-2.5-flash", {"type": "enabled"}) == {"includeThoughts": True}
    assert thinking("gemini-2.5-flash", {"type": "disabled"}) == {"thinkingBudget": 0}
    # the explicit budget wins over reasoning_effort
    assert thinking(
        "gemini-2.5-flash", {"type": "enabled", "budget_tokens": 10}, reasoning_effort="high"
    ) == {"includeThoughts": True, "thinkingBudget": 10}


def test_reasoning_on_a_model_that_does_not_think() -> None:
    with pytest.raises(errors.UnsupportedParamsError, match="reasoning_effort"):
        body("gemini-2.0-flash", FRANCE, reasoning_effort="low")
    with pytest.warns(DroppedParamWarning, match="reasoning_effort"):
        req = parse_chat("gemini-2.0-flash", FRANCE, {"reasoning_effort": "low"})
        assert "generationConfig" not in gemini.encode(req, drop_params=True)


@pytest.mark.parametrize(
    "params,name",
    [
        ({"logit_bias": {"1": 2.0}}, "logit_bias"),
        ({"user": "u-1"}, "user"),
        ({"parallel_tool_calls": False, "tools": [WEATHER_TOOL]}, "parallel_tool_calls"),
        ({"store": True}, "store"),
        ({"service_tier": "flex"}, "service_tier"),
    ],
)
def test_unsupported_params(params: dict[str, Any], name: str) -> None:
    with pytest.raises(errors.UnsupportedParamsError, match=name):
        body("gemini-2.5-flash", FRANCE, **params)
    with pytest.warns(DroppedParamWarning, match=name):
        req = parse_chat("gemini-2.5-flash", FRANCE, params)
        got = gemini.encode(req, drop_params=True)
    assert set(got) <= {"contents", "tools"}


def test_parallel_tool_calls_true_is_gemini_behaviour() -> None:
    got = body("gemini-2.5-flash", FRANCE, tools=[WEATHER_TOOL], parallel_tool_calls=True)
    assert set(got) == {"contents", "tools"}


def test_extra_body_merges_deeply_and_in_camel_case() -> None:
    got = body(
        "gemini-2.5-flash",
        FRANCE,
        temperature=0.1,
        extra_body={
            "labels": {"cost_center": "a_b"},
            "top_k": 20,
            "generation_config": {"response_modalities": ["TEXT"]},
            "model_armor_config": {"prompt_template_name": "projects/p/templates/t"},
        },
    )
    assert got == {
        "contents": [user("What is the capital of France?")],
        "generationConfig": {"temperature": 0.1, "topK": 20, "responseModalities": ["TEXT"]},
        "labels": {"cost_center": "a_b"},  # free-form: keys untouched
        "modelArmorConfig": {"promptTemplateName": "projects/p/templates/t"},
    }


def test_model_never_in_body_and_dialect_checked() -> None:
    req = parse_chat("gemini-2.5-flash", FRANCE, {})
    assert "model" not in gemini.encode(req, include_model=True)
    with pytest.raises(ValueError, match="dialect"):
        gemini.encode(req, dialect="openai")


def test_encode_does_not_modify_the_request() -> None:
    req = parse_chat("gemini-2.5-flash", FRANCE, {"extra_body": {"top_k": 3}})
    before = repr(req)
    gemini.encode(req)
    gemini.encode(req)
    assert repr(req) == before


def test_ir_request_directly() -> None:
    req = ChatRequest(model="gemini-2.5-flash", messages=[Message("user", "hi")])
    assert gemini.encode(req, dialect="ai_studio") == {"contents": [user("hi")]}


# --------------------------------------------------------------------------- decode


def test_decode_text_usage_and_ids() -> None:
    result = gemini.decode(
        {
            "candidates": [
                {
                    "content": {"role": "model", "parts": [{"text": "Paris"}, {"text": "."}]},
                    "finishReason": "STOP",
                    "index": 0,
                }
            ],
            "usageMetadata": {
                "promptTokenCount": 10,
                "candidatesTokenCount": 2,
                "thoughtsTokenCount": 30,
                "cachedContentTokenCount": 4,
                "totalTokenCount": 42,
            },
            "modelVersion": "gemini-2.5-flash",
            "responseId": "resp-1",
            "createTime": "2025-01-02T03:04:05.123456789Z",
        },
        provider="vertex_ai",
    )
    assert (result.id, result.model, result.created, result.provider) == (
        "resp-1", "gemini-2.5-flash", 1735787045, "vertex_ai",
    )  # fmt: skip
    choice = result.choices[0]
    assert (choice.content, choice.finish_reason, choice.native_finish_reason) == (
        "Paris.", "stop", "STOP",
    )  # fmt: skip
    usage = result.usage
    assert usage is not None
    assert (usage.prompt_tokens, usage.completion_tokens, usage.total_tokens) == (10, 32, 42)
    assert (usage.cached_tokens, usage.reasoning_tokens) == (4, 30)


def test_decode_calls_thoughts_and_signatures() -> None:
    result = gemini.decode(
        {
            "candidates": [
                {
                    "content": {
                        "role": "model",
                        "parts": [
                            {"text": "I should look it up.", "thought": True},
                            {"functionCall": {"name": "lookup", "args": {"q": "Zürich"}},
                             "thoughtSignature": "U0lH"},
                            {"functionCall": {"id": "g-2", "name": "lookup", "args": {}}},
                        ],
                    },
                    "finishReason": "STOP",
                }
            ]
        }
    )  # fmt: skip
    choice = result.choices[0]
    assert choice.content is None
    assert choice.finish_reason == "tool_calls"
    assert choice.reasoning_content == "I should look it up."
    first, second = choice.tool_calls
    assert first.id.startswith("call_") and first.name == "lookup"
    assert json.loads(first.arguments) == {"q": "Zürich"}
    assert first.provider_fields == {"thought_signature": "U0lH"}
    assert (second.id, second.arguments, second.provider_fields) == ("g-2", "{}", None)


def test_decode_text_signature_kept_as_empty_reasoning_block() -> None:
    result = gemini.decode(
        {"candidates": [{"content": {"parts": [{"text": "Hi", "thoughtSignature": "VFhU"}]},
                         "finishReason": "STOP"}]}
    )  # fmt: skip
    choice = result.choices[0]
    assert [(b.text, b.signature) for b in choice.reasoning] == [("", "VFhU")]
    assert choice.reasoning_content is None
    message = render_chat(result).choices[0].message
    assert message.thinking_blocks == [{"type": "thinking", "thinking": "", "signature": "VFhU"}]


def test_decode_grounding_with_byte_offsets() -> None:
    """Segment offsets are UTF-8 bytes: "Café " is 6 bytes but 5 characters."""
    text = "Café is open. Tea is hot."
    result = gemini.decode(
        {
            "candidates": [
                {
                    "content": {"parts": [{"text": text}]},
                    "finishReason": "STOP",
                    "groundingMetadata": {
                        "webSearchQueries": ["cafe hours"],
                        "groundingChunks": [
                            {"web": {"uri": "https://a.example/1", "title": "a.example"}},
                            {"web": {"uri": "https://b.example/2", "title": "b.example"}},
                        ],
                        "groundingSupports": [
                            {"segment": {"startIndex": 0, "endIndex": 14, "text": "Café is open."},
                             "groundingChunkIndices": [0, 1]},
                            {"segment": {"startIndex": 15, "endIndex": 27, "text": "Tea is hot."},
                             "groundingChunkIndices": [1]},
                        ],
                    },
                }
            ]
        }
    )  # fmt: skip
    assert result.choices[0].annotations == [
        {"type": "url_citation", "url_citation": {"url": "https://a.example/1", "title": "a.example",
                                                  "start_index": 0, "end_index": 13}},
        {"type": "url_citation", "url_citation": {"url": "https://b.example/2", "title": "b.example",
                                                  "start_index": 0, "end_index": 13}},
        {"type": "url_citation", "url_citation": {"url": "https://b.example/2", "title": "b.example",
                                                  "start_index": 14, "end_index": 25}},
    ]  # fmt: skip
    assert text[14:25] == "Tea is hot."
    metadata = result.provider_specific_fields["vertex_ai_grounding_metadata"]
    assert metadata[0]["webSearchQueries"] == ["cafe hours"]


def test_decode_safety_block_citations_and_two_candidates() -> None:
    ratings = [{"category": "HARM_CATEGORY_HATE_SPEECH", "probability": "HIGH", "blocked": True}]
    citation = {"citations": [{"startIndex": 0, "endIndex": 5, "uri": "https://x.example"}]}
    result = gemini.decode(
        {
            "candidates": [
                {"finishReason": "SAFETY", "safetyRatings": ratings, "index": 0},
                {"content": {"parts": [{"text": "Hello"}]}, "finishReason": "RECITATION",
                 "citationMetadata": citation, "index": 1},
            ]
        }
    )  # fmt: skip
    assert [(c.index, c.content, c.finish_reason) for c in result.choices] == [
        (0, None, "content_filter"),
        (1, "Hello", "content_filter"),
    ]
    psf = result.provider_specific_fields
    assert psf["vertex_ai_safety_results"] == [ratings, {}]
    assert psf["vertex_ai_citation_metadata"] == [{}, citation]


@pytest.mark.parametrize(
    "native,finish",
    [("MAX_TOKENS", "length"), ("BLOCKLIST", "content_filter"), ("PROHIBITED_CONTENT", "content_filter"),
     ("SPII", "content_filter"), ("IMAGE_SAFETY", "content_filter"), ("OTHER", "stop"),
     ("LANGUAGE", "stop")],
)  # fmt: skip
def test_finish_reasons(native: str, finish: str) -> None:
    result = gemini.decode(
        {"candidates": [{"content": {"parts": [{"text": "x"}]}, "finishReason": native}]}
    )
    assert (result.choices[0].finish_reason, result.choices[0].native_finish_reason) == (
        finish,
        native,
    )


def test_malformed_function_call() -> None:
    result = gemini.decode(
        {"candidates": [{"finishReason": "MALFORMED_FUNCTION_CALL",
                         "finishMessage": "Malformed function call: print(x"}]}
    )  # fmt: skip
    choice = result.choices[0]
    assert (choice.finish_reason, choice.native_finish_reason) == (
        "stop",
        "MALFORMED_FUNCTION_CALL",
    )
    assert result.provider_specific_fields["vertex_ai_malformed_function_call"] == [
        {"index": 0, "finish_message": "Malformed function call: print(x"}
    ]


def test_blocked_prompt_raises_with_reason_and_ratings() -> None:
    response = {
        "promptFeedback": {
            "blockReason": "SAFETY",
            "safetyRatings": [
                {
                    "category": "HARM_CATEGORY_DANGEROUS_CONTENT",
                    "probability": "HIGH",
                    "blocked": True,
                }
            ],
        },
        "usageMetadata": {"promptTokenCount": 8, "totalTokenCount": 8},
    }
    with pytest.raises(errors.ContentPolicyViolationError) as info:
        gemini.decode(response, provider="gemini")
    text = str(info.value)
    assert "SAFETY" in text and "HARM_CATEGORY_DANGEROUS_CONTENT=HIGH (blocked)" in text
    assert info.value.body == response and info.value.code == "SAFETY"
    with pytest.raises(errors.ContentPolicyViolationError):
        gemini.StreamDecoder().feed(response)


def test_error_body_behind_2xx() -> None:
    error = {
        "error": {"code": 429, "message": "Resource exhausted", "status": "RESOURCE_EXHAUSTED"}
    }
    with pytest.raises(errors.RateLimitError):
        gemini.decode(error)
    with pytest.raises(errors.RateLimitError):
        gemini.StreamDecoder().feed(error)


def test_tool_use_prompt_tokens_count_as_input() -> None:
    result = gemini.decode(
        {"candidates": [], "usageMetadata": {"promptTokenCount": 10, "toolUsePromptTokenCount": 90,
                                             "candidatesTokenCount": 5, "totalTokenCount": 105}}
    )  # fmt: skip
    usage = result.usage
    assert usage is not None
    assert (usage.prompt_tokens, usage.completion_tokens, usage.total_tokens) == (100, 5, 105)
    assert usage.tool_use_prompt_tokens == 90 and usage.reasoning_tokens is None


# --------------------------------------------------------------------------- stream


def test_stream_text_calls_signatures_usage() -> None:
    decoder = gemini.StreamDecoder("gemini")
    chunks = [
        {"candidates": [{"content": {"role": "model", "parts": [{"text": "Hmm.", "thought": True}]}}],
         "usageMetadata": {"promptTokenCount": 5, "thoughtsTokenCount": 10, "totalTokenCount": 15},
         "responseId": "r", "modelVersion": "m"},
        {"candidates": [{"content": {"role": "model", "parts": [
            {"text": "More.", "thought": True, "thoughtSignature": "VEg="},
            {"text": "Answer", "thoughtSignature": "VFg="}]}}],
         "usageMetadata": {"promptTokenCount": 5, "thoughtsTokenCount": 12, "candidatesTokenCount": 1,
                           "totalTokenCount": 18}},
        {"candidates": [{"content": {"role": "model", "parts": [
            {"functionCall": {"name": "f", "args": {"a": 1}}, "thoughtSignature": "Rg=="},
            {"functionCall": {"name": "g", "args": {}}}]},
            "finishReason": "STOP"}],
         "usageMetadata": {"promptTokenCount": 5, "thoughtsTokenCount": 12, "candidatesTokenCount": 9,
                           "totalTokenCount": 26}},
    ]  # fmt: skip
    first, second, third = (decoder.feed(c) for c in chunks)
    assert first is not None and second is not None and third is not None
    assert (first.id, first.model, first.usage) == ("r", "m", None)
    assert [(d.reasoning, d.content, d.reasoning_signature) for d in first.choices] == [
        ("Hmm.", None, None)
    ]
    # a thought's signature stays with its text; the answer's signature goes in its own delta
    assert [(d.reasoning, d.content, d.reasoning_signature) for d in second.choices] == [
        ("More.", None, "VEg="),
        (None, "Answer", "VFg="),
    ]
    assert second.usage is None
    calls = third.choices[0].tool_calls
    assert [(t.index, t.name, t.arguments, t.provider_fields) for t in calls] == [
        (0, "f", '{"a": 1}', {"thought_signature": "Rg=="}),
        (1, "g", "{}", None),
    ]
    assert all(t.id and t.id.startswith("call_") for t in calls)
    assert third.choices[0].finish_reason == "tool_calls"
    assert third.usage is not None
    assert (third.usage.prompt_tokens, third.usage.completion_tokens, third.usage.total_tokens) == (
        5, 21, 26,
    )  # fmt: skip
    assert decoder.finish() is None


def test_stream_grounding_in_last_chunk() -> None:
    decoder = gemini.StreamDecoder()
    decoder.feed(
        {"candidates": [{"content": {"parts": [{"text": "Über "}]}, "groundingMetadata": {}}]}
    )
    last = decoder.feed(
        {
            "candidates": [
                {
                    "content": {"parts": [{"text": "alles."}]},
                    "finishReason": "STOP",
                    "groundingMetadata": {
                        "groundingChunks": [{"web": {"uri": "https://u.example", "title": "u"}}],
                        "groundingSupports": [
                            {"segment": {"startIndex": 7, "endIndex": 13, "text": "alles."},
                             "groundingChunkIndices": [0]}
                        ],
                    },
                }
            ],
            "usageMetadata": {"promptTokenCount": 1, "candidatesTokenCount": 3, "totalTokenCount": 4},
        }
    )  # fmt: skip
    assert last is not None
    assert last.choices[0].annotations == [
        {"type": "url_citation", "url_citation": {"url": "https://u.example", "title": "u",
                                                  "start_index": 5, "end_index": 11}}
    ]  # fmt: skip
    assert last.provider_specific_fields["vertex_ai_grounding_metadata"][0]["groundingChunks"]


def test_stream_usage_only_chunk_and_finish_without_reason() -> None:
    decoder = gemini.StreamDecoder()
    event = decoder.feed({"candidates": [{"content": {"parts": [{"text": "a"}]}}],
                          "usageMetadata": {"promptTokenCount": 2, "totalTokenCount": 2}})  # fmt: skip
    assert event is not None and event.usage is None
    closing = decoder.finish()
    assert closing is not None and closing.usage is not None and closing.usage.prompt_tokens == 2
    assert gemini.StreamDecoder().feed({}) is None


def test_logprobs_to_openai_shape() -> None:
    result = gemini.decode(
        {"candidates": [{"content": {"parts": [{"text": "Hi"}]}, "finishReason": "STOP",
                         "logprobsResult": {
                             "chosenCandidates": [{"token": "Hi", "logProbability": -0.1}],
                             "topCandidates": [{"candidates": [
                                 {"token": "Hi", "logProbability": -0.1},
                                 {"token": "Hey", "logProbability": -2.5}]}]}}]}
    )  # fmt: skip
    assert result.choices[0].logprobs == {
        "content": [
            {
                "token": "Hi",
                "logprob": -0.1,
                "bytes": [72, 105],
                "top_logprobs": [
                    {"token": "Hi", "logprob": -0.1, "bytes": [72, 105]},
                    {"token": "Hey", "logprob": -2.5, "bytes": [72, 101, 121]},
                ],
            }
        ]
    }


def test_no_warnings_on_plain_requests() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        body("gemini-2.5-flash", [{"role": "user", "content": "x"}], tools=[WEATHER_TOOL])
