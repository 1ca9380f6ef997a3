"""Every Chat Completions body we emit validates against OpenAI's published OpenAPI schema.

Oracle: ``CreateChatCompletionRequest`` from ``tests/fixtures/schemas/openai/
openai_openapi_extract.json`` (openai/openai-openapi @ f85dbe2, MIT; see the LICENSE beside it),
validated with jsonschema Draft 2020-12 through a ``referencing`` registry. The schema leaves
``additionalProperties`` open, so for the official dialects (openai, azure) we also check that
every top-level key we emit is a property the schema declares.

Bodies come from two places:

* every recorded chat/completions request of the OpenAI family (the replay corpus), re-emitted
  by ``parse_chat`` + ``encode``;
* a table of hand-written OpenAI-format inputs covering the request features users write.

Negative checks: malformed input raises a ``BadRequestError``-family error before any request is
sent (a MockTransport counts requests).
"""

from __future__ import annotations

import copy
import importlib.util
import json
import sys
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

import polymodal
from polymodal import errors
from polymodal._warn import DroppedParamWarning
from polymodal.apis.openai_chat import encode
from polymodal.openai_format import CHAT_PARAMS, parse_chat


def _import_cassettes() -> ModuleType:
    """tests/replay/_cassettes.py by path: independent of how pytest set up sys.path."""
    if "_cassettes" in sys.modules:
        return sys.modules["_cassettes"]
    path = Path(__file__).resolve().parent.parent / "replay" / "_cassettes.py"
    spec = importlib.util.spec_from_file_location("_cassettes", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["_cassettes"] = module  # dataclasses look their module up while being built
    spec.loader.exec_module(module)
    return module


_cassettes = _import_cassettes()

SCHEMA_URN = "urn:openai"
_REGISTRY: Registry = Registry().with_resource(
    SCHEMA_URN, Resource(contents=_cassettes.openai_schema(), specification=DRAFT202012)
)
VALIDATOR = Draft202012Validator(
    {"$ref": f"{SCHEMA_URN}#/components/schemas/CreateChatCompletionRequest"}, registry=_REGISTRY
)
SPEC_KEYS = frozenset(_cassettes.openai_request_properties("CreateChatCompletionRequest"))
DIALECTS = {"openai": "openai", "azure_openai": "azure"}  # everything else: "compatible"


def schema_errors(body: dict[str, Any]) -> list[str]:
    return [
        f"{'/'.join(map(str, e.absolute_path)) or '<root>'}: {e.message[:300]}"
        for e in sorted(VALIDATOR.iter_errors(body), key=lambda e: list(map(str, e.path)))
    ]


def assert_valid(body: dict[str, Any], dialect: str) -> None:
    problems = schema_errors(body)
    assert not problems, "\n".join(problems)
    if dialect in ("openai", "azure"):
        unknown = set(body) - SPEC_KEYS
        assert not unknown, f"keys OpenAI's schema does not declare: {sorted(unknown)}"


def emit(model: str, messages: list[Any], params: dict[str, Any], dialect: str = "openai") -> Any:
    req = parse_chat(model, messages, params)
    return encode(req, dialect=dialect)


def test_schema_is_the_copied_extract() -> None:
    doc = _cassettes.openai_schema()
    assert doc["x-extract"]["commit"] == "f85dbe223d40e1a31cba812ab2d755c7e98a92a3"
    assert {"model", "messages", "tools", "response_format"} <= SPEC_KEYS


def test_validator_can_fail() -> None:
    """Guard against a vacuous validator: known-bad bodies are rejected."""
    good = {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]}
    assert schema_errors(good) == []
    assert schema_errors({"messages": good["messages"]})  # model is required
    assert schema_errors({**good, "messages": [{"role": "wizard", "content": "hi"}]})
    assert schema_errors({**good, "tool_choice": "sometimes"})
    bad_part = {"role": "user", "content": [{"type": "image_url", "image_url": {"detail": "high"}}]}
    assert schema_errors({**good, "messages": [bad_part]})


# --------------------------------------------------------------------------- recorded corpus

RECORDED = [
    it for it in _cassettes.load(endpoint="chat/completions") if it.request_body is not None
]


def test_recorded_corpus_count() -> None:
    assert len(RECORDED) == 82  # see tests/replay/test_openai_chat_replay.py


@pytest.mark.parametrize("it", RECORDED, ids=lambda it: it.id)
def test_recorded_request_reemitted_validates(it: Any) -> None:
    assert it.request_body is not None
    body = copy.deepcopy(it.request_body)
    model, messages = body.pop("model"), body.pop("messages")
    # Keys polymodal takes as parameters are passed as such; server extensions (OpenRouter's
    # ``reasoning``) and spec keys polymodal does not list yet go through ``extra_body`` — the
    # replay test reports the latter; here only the shape of what we emit matters.
    params = {k: v for k, v in body.items() if k in CHAT_PARAMS}
    extra = {k: v for k, v in body.items() if k not in CHAT_PARAMS}
    if extra:
        params["extra_body"] = extra
    dialect = DIALECTS.get(it.provider, "compatible")
    assert_valid(emit(model, messages, params, dialect), dialect)


# --------------------------------------------------------------------------- hand-written inputs

PNG_B64 = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
PDF_B64 = "JVBERi0xLjQKJcOkw7zDtsOfCjEgMCBvYmoKPDwvVHlwZS9DYXRhbG9nPj4KZW5kb2JqCnRyYWlsZXIKPDw+PgolJUVPRgo="
WAV_B64 = "UklGRiQAAABXQVZFZm10IBAAAAABAAEAQB8AAIA+AAACABAAZGF0YQAAAAA="
WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Weather for a city",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
            "additionalProperties": False,
        },
        "strict": True,
    },
}
TIME_TOOL = {"type": "function", "function": {"name": "get_time", "parameters": {"type": "object"}}}
CITY_SCHEMA = {
    "type": "object",
    "properties": {"city": {"type": "string"}, "country": {"type": "string"}},
    "required": ["city", "country"],
    "additionalProperties": False,
}


def user(*parts: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"role": "user", "content": list(parts)}]


def text(t: str) -> dict[str, Any]:
    return {"type": "text", "text": t}


Check = Callable[[dict[str, Any]], None]


@dataclass
class Case:
    id: str
    messages: list[Any]
    params: dict[str, Any] = field(default_factory=dict)
    check: Check | None = None
    dialect: str = "openai"


def _parts(body: dict[str, Any], message: int = 0) -> list[dict[str, Any]]:
    content = body["messages"][message]["content"]
    assert isinstance(content, list)
    return content


def _check_image_string(body: dict[str, Any]) -> None:
    assert _parts(body)[1] == {
        "type": "image_url",
        "image_url": {"url": "https://example.com/a.png"},
    }


def _check_image_format_dropped(body: dict[str, Any]) -> None:
    image = _parts(body)[1]["image_url"]
    assert "format" not in image  # ours, not OpenAI's: never sent
    assert image == {"url": "https://example.com/photo", "detail": "high"}


def _check_images(body: dict[str, Any]) -> None:
    urls = [p["image_url"]["url"] for p in _parts(body) if p["type"] == "image_url"]
    assert urls == [
        "https://example.com/1.jpg",
        f"data:image/png;base64,{PNG_B64}",
        "https://example.com/3.webp",
    ]
    assert _parts(body)[2]["image_url"]["detail"] == "low"


def _check_file_data(body: dict[str, Any]) -> None:
    assert _parts(body)[1] == {
        "type": "file",
        "file": {"file_data": f"data:application/pdf;base64,{PDF_B64}", "filename": "doc.pdf"},
    }


def _check_file_id(body: dict[str, Any]) -> None:
    assert _parts(body)[1] == {"type": "file", "file": {"file_id": "file-abc123"}}


def _check_audio(body: dict[str, Any]) -> None:
    assert _parts(body)[1] == {
        "type": "input_audio",
        "input_audio": {"data": WAV_B64, "format": "wav"},
    }
    assert _parts(body)[2]["input_audio"]["format"] == "mp3"


def _expect(**expected: Any) -> Check:
    def check(body: dict[str, Any]) -> None:
        for key, value in expected.items():
            assert body.get(key) == value, f"{key}: {body.get(key)!r} != {value!r}"

    return check


def _check_stop_str(body: dict[str, Any]) -> None:
    assert body["stop"] in ("END", ["END"])


def _check_response_schema(body: dict[str, Any]) -> None:
    rf = body["response_format"]
    assert rf["type"] == "json_schema"
    assert rf["json_schema"]["schema"] == CITY_SCHEMA
    assert "response_schema" not in rf  # ours, translated into OpenAI's json_schema
    assert "enforce_validation" not in json.dumps(body)  # ours: checked locally, never sent


CASES = [
    Case("text-only", [{"role": "user", "content": "Hello"}]),
    Case(
        "system-developer",
        [
            {"role": "system", "content": "Be brief."},
            {"role": "developer", "content": [text("Answer in French.")]},
            {"role": "user", "content": "Hello"},
        ],
    ),
    Case(
        "image-url-string",
        user(
            text("What is this?"), {"type": "image_url", "image_url": "https://example.com/a.png"}
        ),
        check=_check_image_string,
    ),
    Case(
        "image-url-dict-detail-format",
        user(
            text("Describe"),
            {
                "type": "image_url",
                "image_url": {
                    "url": "https://example.com/photo",
                    "detail": "high",
                    "format": "image/jpeg",
                },
            },
        ),
        check=_check_image_format_dropped,
    ),
    Case(
        "several-images-and-data-url",
        user(
            text("Compare"),
            {"type": "image_url", "image_url": {"url": "https://example.com/1.jpg"}},
            {
                "type": "image_url",
                "image_url": {"url": f"data:image/png;base64,{PNG_B64}", "detail": "low"},
            },
            {"type": "image_url", "image_url": "https://example.com/3.webp"},
        ),
        check=_check_images,
    ),
    Case(
        "file-data-filename",
        user(
            text("Summarise"),
            {
                "type": "file",
                "file": {
                    "file_data": f"data:application/pdf;base64,{PDF_B64}",
                    "filename": "doc.pdf",
                },
            },
        ),
        check=_check_file_data,
    ),
    Case(
        "file-id",
        user(text("Summarise"), {"type": "file", "file": {"file_id": "file-abc123"}}),
        check=_check_file_id,
    ),
    Case(
        "input-audio",
        user(
            text("Transcribe"),
            {"type": "input_audio", "input_audio": {"data": WAV_B64, "format": "wav"}},
            {"type": "input_audio", "input_audio": {"data": WAV_B64, "format": "mp3"}},
        ),
        check=_check_audio,
    ),
    Case(
        "tools-auto",
        [{"role": "user", "content": "Weather?"}],
        {"tools": [WEATHER_TOOL, TIME_TOOL], "tool_choice": "auto"},
        _expect(tool_choice="auto", tools=[WEATHER_TOOL, TIME_TOOL]),
    ),
    Case(
        "tools-none",
        [{"role": "user", "content": "Weather?"}],
        {"tools": [WEATHER_TOOL], "tool_choice": "none"},
        _expect(tool_choice="none"),
    ),
    Case(
        "tools-required-no-parallel",
        [{"role": "user", "content": "Weather?"}],
        {
            "tools": [WEATHER_TOOL, TIME_TOOL],
            "tool_choice": "required",
            "parallel_tool_calls": False,
        },
        _expect(tool_choice="required", parallel_tool_calls=False),
    ),
    Case(
        "tools-named",
        [{"role": "user", "content": "Weather?"}],
        {
            "tools": [WEATHER_TOOL],
            "tool_choice": {"type": "function", "function": {"name": "get_weather"}},
        },
        _expect(tool_choice={"type": "function", "function": {"name": "get_weather"}}),
    ),
    Case(
        "tool-roundtrip",
        [
            {"role": "user", "content": "Weather in Paris?"},
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": "call_1",
                        "type": "function",
                        "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'},
                    }
                ],
            },
            {"role": "tool", "tool_call_id": "call_1", "content": "sunny"},
        ],
        {"tools": [WEATHER_TOOL], "parallel_tool_calls": True},
    ),
    Case(
        "response-format-json-object",
        [{"role": "user", "content": "JSON please"}],
        {"response_format": {"type": "json_object"}},
        _expect(response_format={"type": "json_object"}),
    ),
    Case(
        "response-format-json-schema",
        [{"role": "user", "content": "Where?"}],
        {
            "response_format": {
                "type": "json_schema",
                "json_schema": {"name": "City", "schema": CITY_SCHEMA, "strict": True},
            }
        },
        _expect(
            response_format={
                "type": "json_schema",
                "json_schema": {"name": "City", "schema": CITY_SCHEMA, "strict": True},
            }
        ),
    ),
    Case(
        "response-format-json-object-response-schema",
        [{"role": "user", "content": "Where?"}],
        {
            "response_format": {
                "type": "json_object",
                "response_schema": CITY_SCHEMA,
                "enforce_validation": True,
            }
        },
        _check_response_schema,
    ),
    Case(
        "n-seed-stop-list",
        [{"role": "user", "content": "Count"}],
        {"n": 2, "seed": 42, "stop": ["\n", "END"], "temperature": 0.2, "top_p": 0.9},
        _expect(n=2, seed=42, stop=["\n", "END"], temperature=0.2, top_p=0.9),
    ),
    Case("stop-str", [{"role": "user", "content": "Count"}], {"stop": "END"}, _check_stop_str),
    Case(
        "stream-options",
        [{"role": "user", "content": "Hi"}],
        {"stream": True, "stream_options": {"include_usage": True}},
        _expect(stream=True, stream_options={"include_usage": True}),
    ),
    Case(
        "reasoning-max-completion-user",
        [{"role": "user", "content": "Think"}],
        {"reasoning_effort": "high", "max_completion_tokens": 512, "user": "user-1"},
        _expect(reasoning_effort="high", max_completion_tokens=512, user="user-1"),
    ),
    Case(
        "metadata-store-passthrough",
        [{"role": "user", "content": "Hi"}],
        {"metadata": {"team": "search", "run": "7"}, "store": True, "service_tier": "auto"},
        _expect(metadata={"team": "search", "run": "7"}, store=True, service_tier="auto"),
    ),
    Case(
        "penalties-logprobs",
        [{"role": "user", "content": "Hi"}],
        {
            "presence_penalty": 0.5,
            "frequency_penalty": -0.5,
            "logprobs": True,
            "top_logprobs": 3,
            "logit_bias": {"50256": -100},
            "max_tokens": 64,
        },
        _expect(logprobs=True, top_logprobs=3, logit_bias={"50256": -100}, max_tokens=64),
    ),
    Case(
        "azure-dialect",
        user(
            text("What is this?"),
            {
                "type": "image_url",
                "image_url": {"url": "https://example.com/a.png", "format": "image/png"},
            },
        ),
        {"tools": [WEATHER_TOOL], "tool_choice": "auto"},
        dialect="azure",
    ),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_hand_written_request_validates(case: Case) -> None:
    body = emit("gpt-4o", copy.deepcopy(case.messages), copy.deepcopy(case.params), case.dialect)
    assert_valid(body, case.dialect)
    assert body["model"] == "gpt-4o"
    if case.check is not None:
        case.check(body)


# --------------------------------------------------------------------------- negative checks


class Counter:
    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return httpx.Response(
            200,
            json={
                "id": "chatcmpl-1",
                "object": "chat.completion",
                "created": 1,
                "model": "gpt-4o",
                "choices": [
                    {
                        "index": 0,
                        "finish_reason": "stop",
                        "message": {"role": "assistant", "content": "ok"},
                    }
                ],
            },
        )


def call(counter: Counter, messages: Any, **params: Any) -> Any:
    with httpx.Client(transport=httpx.MockTransport(counter)) as client:
        result = polymodal.completion(
            "openai/gpt-4o", messages, client=client, max_retries=0, api_key="sk-test", **params
        )
        if params.get("stream"):
            result = list(result)
        return result


HI = [{"role": "user", "content": "Hi"}]
NAMELESS_TOOL = {"type": "function", "function": {"description": "no name", "parameters": {}}}

NEGATIVE = [
    ("unknown-role", [{"role": "wizard", "content": "Hi"}], {}, errors.BadRequestError),
    ("part-without-type", user({"text": "Hi"}), {}, errors.BadRequestError),
    ("part-unknown-type", user({"type": "hologram", "hologram": {}}), {}, errors.BadRequestError),
    (
        "image-part-without-url",
        user({"type": "image_url", "image_url": {"detail": "high"}}),
        {},
        errors.BadRequestError,
    ),
    ("file-part-empty", user({"type": "file", "file": {}}), {}, errors.BadRequestError),
    ("tool-without-name", HI, {"tools": [NAMELESS_TOOL]}, errors.BadRequestError),
    ("unknown-parameter", HI, {"frobnicate": 1}, errors.UnsupportedParamsError),
    (
        "safety-settings-for-openai",
        HI,
        {"safety_settings": [{"category": "HARM_CATEGORY_HATE_SPEECH", "threshold": "BLOCK_NONE"}]},
        errors.UnsupportedParamsError,
    ),
    (
        "safety-settings-for-openai-stream",
        HI,
        {
            "stream": True,
            "safety_settings": [
                {"category": "HARM_CATEGORY_HATE_SPEECH", "threshold": "BLOCK_NONE"}
            ],
        },
        errors.UnsupportedParamsError,
    ),
]


@pytest.mark.parametrize(
    ("messages", "params", "exc"), [n[1:] for n in NEGATIVE], ids=[n[0] for n in NEGATIVE]
)
def test_malformed_request_raises_before_io(
    messages: Any, params: dict[str, Any], exc: type[errors.PolymodalError]
) -> None:
    counter = Counter()
    with pytest.raises(exc) as info:
        call(counter, messages, **params)
    assert counter.requests == []
    assert isinstance(info.value, errors.BadRequestError)
    assert info.value.status_code == 400


def test_negative_table_sends_when_fixed() -> None:
    """The counter does see requests: a well-formed call is sent exactly once."""
    counter = Counter()
    result = call(counter, HI)
    assert len(counter.requests) == 1
    assert result.choices[0].message.content == "ok"


def test_unknown_parameter_message_names_it() -> None:
    counter = Counter()
    with pytest.raises(errors.UnsupportedParamsError) as info:
        call(counter, HI, frobnicate=1)
    assert "frobnicate" in str(info.value)
    assert counter.requests == []


def test_drop_params_warns_naming_the_dropped_parameter() -> None:
    counter = Counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        call(counter, HI, frobnicate=1, drop_params=True)
    dropped = [w for w in caught if issubclass(w.category, DroppedParamWarning)]
    assert len(dropped) == 1 and "frobnicate" in str(dropped[0].message)
    assert len(counter.requests) == 1
    sent = json.loads(counter.requests[0].content)
    assert "frobnicate" not in sent
    assert sent["messages"] == HI


def test_drop_params_drops_safety_settings_for_openai_with_a_warning() -> None:
    counter = Counter()
    settings = [{"category": "HARM_CATEGORY_HATE_SPEECH", "threshold": "BLOCK_NONE"}]
    with pytest.warns(DroppedParamWarning, match="safety_settings"):
        call(counter, HI, safety_settings=settings, drop_params=True)
    assert len(counter.requests) == 1
    assert "safety_settings" not in json.loads(counter.requests[0].content)


def test_pre_io_errors_carry_provider_and_model() -> None:
    """API.md: every error carries status_code, provider and model — also the ones we raise
    ourselves before sending (the route is known by then)."""
    counter = Counter()
    with pytest.raises(errors.UnsupportedParamsError) as info:
        call(counter, HI, frobnicate=1)
    assert info.value.status_code == 400
    assert info.value.provider == "openai"
    assert info.value.model is not None and "gpt-4o" in info.value.model
