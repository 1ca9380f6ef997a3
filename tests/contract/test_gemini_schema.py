"""Every ``generateContent`` body we emit validates against Google's discovery schema.

Oracle: ``GoogleCloudAiplatformV1beta1GenerateContentRequest`` from ``aiplatform.v1beta1.json``
(revision 20261106) in google-api-python-client 2.202.0's discovery cache, converted to JSON
Schema as ``tests/fixtures/schemas/README.md`` describes (:func:`to_json_schema`): ``$ref`` ->
``#/$defs``, int64 strings -> string or integer, numbers -> number or string, ``any`` -> ``{}``,
enums kept, and ``additionalProperties: false`` on every object with declared properties, so an
unknown or misspelled key fails. The same request shape serves Google AI Studio (the README
measured every recorded GLA request against it). Converted once per session.

Bodies: every body the Gemini replay tests make our encoder emit (one per recorded request and
one per multi-turn chain, ``tests/replay/test_gemini_replay.py``), and :data:`TABLE`, hand-written
OpenAI-format inputs for the request features users write, encoded for both dialects.

The converter is checked too: the recorded requests validate (camelCased only), except the six
llm-gemini ones whose ``Schema.type`` values are lower case and whose descriptions are ``null``
(the README names them), and bodies with an unknown key, a lower-case enum value or a wrongly
typed value fail.
"""

from __future__ import annotations

import copy
import functools
import importlib.util
import sys
import warnings
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from _discovery import to_json_schema
from jsonschema import Draft202012Validator

from polymodal.apis import gemini
from polymodal.openai_format import parse_chat

REPLAY = Path(__file__).resolve().parent.parent / "replay"


def _import(name: str) -> ModuleType:
    """A module of tests/replay by path (independent of how pytest set up sys.path)."""
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, REPLAY / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up while being built
    spec.loader.exec_module(module)
    return module


_import("_cassettes")
replay = _import("test_gemini_replay")
REQUEST = "GoogleCloudAiplatformV1beta1GenerateContentRequest"


# --------------------------------------------------------------------------- discovery -> JSON Schema


@functools.cache
def validator() -> Draft202012Validator:
    schemas = replay.discovery()["schemas"]
    defs = {name: to_json_schema(schema) for name, schema in schemas.items()}
    return Draft202012Validator({"$ref": f"#/$defs/{REQUEST}", "$defs": defs})


def schema_errors(body: dict[str, Any]) -> list[str]:
    return [
        f"{'/'.join(map(str, e.absolute_path)) or '<root>'}: {e.message[:200]}"
        for e in sorted(validator().iter_errors(body), key=lambda e: list(map(str, e.path)))
    ]


def assert_valid(body: dict[str, Any]) -> None:
    problems = schema_errors(body)
    assert not problems, "\n".join(problems)


# --------------------------------------------------------------------------- the converter itself

RECORDED = replay.recorded_requests()
LOWER_CASE_SCHEMAS = {
    "llm-gemini/test_tools#0",
    "llm-gemini/test_tools#1",
    "llm-gemini/test_tools#2",
    "llm-gemini/test_tools_with_gemini_3_thought_signatures#0",
    "llm-gemini/test_tools_with_gemini_3_thought_signatures#1",
    "llm-gemini/test_prompt_with_pydantic_schema#0",
}


def test_recorded_requests_validate() -> None:
    failing = {name for name, body in RECORDED if schema_errors(body)}
    assert failing == LOWER_CASE_SCHEMAS
    assert len(RECORDED) == 90


BASE = {"contents": [{"role": "user", "parts": [{"text": "hi"}]}]}


@pytest.mark.parametrize(
    "change",
    [
        {"generation_config": {}},  # snake_case is what we must never emit
        {"generationConfig": {"maxOutputToken": 5}},
        {"generationConfig": {"thinkingConfig": {"thinkingLevel": "low"}}},
        {"generationConfig": {"temperature": True}},
        {"toolConfig": {"functionCallingConfig": {"mode": "REQUIRED"}}},
        {"tools": [{"functionDeclarations": [{"name": "f", "parameters": {"type": "object"}}]}]},
        {"contents": [{"role": "user", "parts": [{"text": "hi", "mimeType": "x"}]}]},
        {"safetySettings": [{"category": "HARASSMENT", "threshold": "BLOCK_NONE"}]},
    ],
)
def test_converter_rejects(change: dict[str, Any]) -> None:
    body = {**copy.deepcopy(BASE), **change}
    assert schema_errors(body)


def test_converter_accepts_the_basics() -> None:
    assert_valid(BASE)
    assert_valid({**BASE, "labels": {"team": "x"}, "cachedContent": "cachedContents/1"})


# --------------------------------------------------------------------------- replay bodies

BODIES = replay.replay_bodies()


def test_replay_body_count() -> None:
    assert len(BODIES) == 90 + 24


@pytest.mark.parametrize("name,body", BODIES, ids=[name for name, _ in BODIES])
def test_replay_bodies_validate(name: str, body: dict[str, Any]) -> None:
    assert_valid(body)


# --------------------------------------------------------------------------- hand-written table

PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg=="
WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Get the current weather in a given location",
        "parameters": {
            "type": "object",
            "properties": {
                "location": {"type": "string", "description": "The city and state"},
                "unit": {"type": ["string", "null"], "enum": ["celsius", "fahrenheit", None]},
                "days": {"type": "integer", "minimum": 1, "maximum": 10, "default": 1},
            },
            "required": ["location"],
            "additionalProperties": False,
        },
    },
}
RECIPE = {
    "type": "array",
    "items": {
        "type": "object",
        "properties": {"recipe_name": {"type": "string"}, "minutes": {"type": "integer"}},
        "required": ["recipe_name"],
    },
}
USER = {"role": "user", "content": "What's the weather in Boston?"}
CALLED = {
    "role": "assistant",
    "content": None,
    "tool_calls": [
        {"id": "call_1", "type": "function",
         "function": {"name": "get_weather", "arguments": '{"location": "Boston"}'}},
        {"id": "call_2", "type": "function",
         "function": {"name": "get_weather", "arguments": '{"location": "Delhi"}'},
         "provider_specific_fields": {"thought_signature": "c2ln"}},
    ],
    "thinking_blocks": [{"type": "thinking", "thinking": "Two cities.", "signature": "dGhvdWdodA=="}],
}  # fmt: skip
RESULTS = [
    {"role": "tool", "tool_call_id": "call_1", "content": '{"temp": 21}'},
    {"role": "tool", "tool_call_id": "call_2", "content": "hot"},
]
MULTIMODAL = {
    "role": "user",
    "content": [
        {"type": "text", "text": "Compare these."},
        {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG}"}},
        {"type": "image_url", "image_url": "gs://cloud-samples-data/generative-ai/image/boats.jpeg"},
        {"type": "image_url", "image_url": {"url": "gs://bucket/photo", "format": "image/webp"}},
        {"type": "image_url", "image_url": {"url": "https://example.com/cat.png", "detail": "low"}},
        {"type": "file", "file": {"file_id": "gs://bucket/paper.pdf", "format": "application/pdf"}},
        {"type": "file", "file": {"file_data": f"data:application/pdf;base64,{PNG}"}},
        {"type": "input_audio", "input_audio": {"data": PNG, "format": "wav"}},
        {"type": "video_url", "video_url": {"url": "https://youtu.be/lCdaVNyHtjU"}},
        {"type": "file", "file": {"file_id": "gs://bucket/clip.mp4"}},
    ],
}  # fmt: skip

TABLE: dict[str, tuple[str, list[Any], dict[str, Any]]] = {
    "plain": ("gemini-2.5-flash", [USER], {}),
    "system merging": (
        "gemini-2.5-flash",
        [
            {"role": "system", "content": "Be brief."},
            {"role": "developer", "content": "Be kind."},
            USER,
            {"role": "user", "content": "And tomorrow?"},
        ],
        {},
    ),
    "sampling": (
        "gemini-2.5-flash",
        [USER],
        {
            "temperature": 0.2,
            "top_p": 0.9,
            "max_tokens": 100,
            "stop": ["END"],
            "n": 2,
            "seed": 7,
            "presence_penalty": 0.1,
            "frequency_penalty": 0.2,
            "logprobs": True,
            "top_logprobs": 3,
            "modalities": ["text"],
        },
    ),
    "max_completion_tokens": ("gemini-2.5-flash", [USER], {"max_completion_tokens": 50}),
    "multimodal": ("gemini-2.5-flash", [MULTIMODAL], {}),
    "tools auto": ("gemini-2.5-flash", [USER], {"tools": [WEATHER], "tool_choice": "auto"}),
    "tools none": ("gemini-2.5-flash", [USER], {"tools": [WEATHER], "tool_choice": "none"}),
    "tools required": ("gemini-2.5-flash", [USER], {"tools": [WEATHER], "tool_choice": "required"}),
    "tools named": (
        "gemini-2.5-flash",
        [USER],
        {
            "tools": [WEATHER],
            "tool_choice": {"type": "function", "function": {"name": "get_weather"}},
        },
    ),
    "tools as JSON Schema": (
        "gemini-2.5-flash",
        [USER],
        {"tools": [WEATHER], "extra_body": {"tool_schema_format": "json_schema"}},
    ),
    "tool results": ("gemini-2.5-flash", [USER, CALLED, *RESULTS], {"tools": [WEATHER]}),
    "tool results gemini 3": (
        "gemini-3-pro-preview",
        [
            USER,
            {**CALLED, "thinking_blocks": None},
            RESULTS[0],
            {
                "role": "tool",
                "tool_call_id": "call_2",
                "content": [
                    {"type": "text", "text": "see image"},
                    {"type": "image_url", "image_url": f"data:image/png;base64,{PNG}"},
                ],
            },
        ],
        {"tools": [WEATHER]},
    ),
    "json_object": ("gemini-2.5-flash", [USER], {"response_format": {"type": "json_object"}}),
    "response_schema (responseJsonSchema)": (
        "gemini-2.5-flash",
        [USER],
        {
            "response_format": {
                "type": "json_object",
                "response_schema": RECIPE,
                "enforce_validation": True,
            }
        },
    ),
    "response_schema (responseSchema)": (
        "gemini-1.5-pro",
        [USER],
        {
            "response_format": {
                "type": "json_schema",
                "json_schema": {"name": "recipes", "schema": RECIPE},
            }
        },
    ),
    "response_schema in the prompt": (
        "gemini-2.5-flash-image",
        [USER],
        {"response_format": {"type": "json_object", "response_schema": RECIPE}},
    ),
    "googleSearch": ("gemini-2.5-flash", [USER], {"tools": [{"googleSearch": {}}]}),
    "google_search snake": ("gemini-2.5-flash", [USER], {"tools": [{"google_search": {}}]}),
    "googleSearchRetrieval": (
        "gemini-1.5-flash",
        [USER],
        {
            "tools": [
                {
                    "google_search_retrieval": {
                        "dynamic_retrieval_config": {
                            "mode": "MODE_DYNAMIC",
                            "dynamic_threshold": 0.7,
                        }
                    }
                }
            ]
        },
    ),
    "enterpriseWebSearch": ("gemini-2.5-flash", [USER], {"tools": [{"enterpriseWebSearch": {}}]}),
    "urlContext + codeExecution + functions": (
        "gemini-2.5-flash",
        [USER],
        {"tools": [{"urlContext": {}}, {"code_execution": {}}, WEATHER]},
    ),
    "reasoning_effort budget": ("gemini-2.5-flash", [USER], {"reasoning_effort": "medium"}),
    "reasoning_effort none": ("gemini-2.5-pro", [USER], {"reasoning_effort": "none"}),
    "reasoning_effort level": ("gemini-3-pro-preview", [USER], {"reasoning_effort": "medium"}),
    "reasoning_effort minimal": ("gemini-3-flash-preview", [USER], {"reasoning_effort": "minimal"}),
    "thinking budget": (
        "gemini-2.5-flash",
        [USER],
        {"thinking": {"type": "enabled", "budget_tokens": 1024}},
    ),
    "thinking on level model": (
        "gemini-3-flash-preview",
        [USER],
        {"thinking": {"type": "enabled", "budget_tokens": 2048}},
    ),
    "safety": (
        "gemini-2.5-flash",
        [USER],
        {
            "safety_settings": [
                {"category": "HARM_CATEGORY_HARASSMENT", "threshold": "BLOCK_NONE"},
                {
                    "category": "HARM_CATEGORY_HATE_SPEECH",
                    "threshold": "BLOCK_ONLY_HIGH",
                    "method": "SEVERITY",
                },
            ]
        },
    ),
    "cachedContent": (
        "gemini-2.5-flash",
        [USER],
        {"cached_content": "projects/p/locations/us-central1/cachedContents/123"},
    ),
    "extra_body": (
        "gemini-2.5-flash",
        [USER],
        {
            "extra_body": {
                "labels": {"team": "search"},
                "top_k": 40,
                "generation_config": {"media_resolution": "MEDIA_RESOLUTION_LOW"},
            }
        },
    ),
}


def _table_bodies() -> list[tuple[str, dict[str, Any]]]:
    out = []
    for name, (model, messages, params) in TABLE.items():
        for dialect in ("vertex", "ai_studio"):
            if dialect == "ai_studio" and ("gs://" in repr(messages) or "enterprise" in name):
                continue  # AI Studio refuses these (unit-tested)
            req = parse_chat(model, copy.deepcopy(messages), copy.deepcopy(params))
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                out.append((f"{name}/{dialect}", gemini.encode(req, dialect=dialect)))
    return out


TABLE_BODIES = _table_bodies()


@pytest.mark.parametrize("name,body", TABLE_BODIES, ids=[name for name, _ in TABLE_BODIES])
def test_table_bodies_validate(name: str, body: dict[str, Any]) -> None:
    assert_valid(body)


def test_table_covers_every_generation_field_we_emit() -> None:
    """Each generationConfig / top-level key our encoder knows appears in some checked body."""
    seen: set[str] = set()
    for _, body in [*TABLE_BODIES, *BODIES]:
        seen |= set(body)
        seen |= {f"generationConfig.{k}" for k in body.get("generationConfig", {})}
    assert seen >= {
        "contents", "systemInstruction", "tools", "toolConfig", "generationConfig",
        "safetySettings", "cachedContent", "labels",
        "generationConfig.temperature", "generationConfig.topP", "generationConfig.topK",
        "generationConfig.maxOutputTokens", "generationConfig.stopSequences",
        "generationConfig.candidateCount", "generationConfig.seed",
        "generationConfig.presencePenalty", "generationConfig.frequencyPenalty",
        "generationConfig.responseLogprobs", "generationConfig.logprobs",
        "generationConfig.responseModalities", "generationConfig.responseMimeType",
        "generationConfig.responseSchema", "generationConfig.responseJsonSchema",
        "generationConfig.thinkingConfig", "generationConfig.mediaResolution",
    }  # fmt: skip
