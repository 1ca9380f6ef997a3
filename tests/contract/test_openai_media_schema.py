"""Every embeddings, images and speech body we emit validates against OpenAI's OpenAPI schema.

Oracle: ``CreateEmbeddingRequest``, ``CreateImageRequest`` and ``CreateSpeechRequest`` from
``tests/fixtures/schemas/openai/openai_openapi_extract.json`` (openai/openai-openapi @ f85dbe2,
MIT), validated with jsonschema Draft 2020-12 through a ``referencing`` registry, as in
``test_openai_schema.py``. ``CreateEmbeddingRequest`` and ``CreateSpeechRequest`` forbid
additional properties; ``CreateImageRequest`` does not, so for images we also check that every
key we send to OpenAI or Azure is one the schema declares.

Bodies are captured on the wire (an ``httpx.MockTransport`` behind ``polymodal.embedding`` /
``image_generation`` / ``speech``), from two sources: every recorded embeddings / images request
re-emitted from its recorded arguments, and a table of calls covering each documented parameter.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

import polymodal


@pytest.fixture(autouse=True)
def _no_ambient_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    """Environment a developer (or another test) left set must not steer these requests."""
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "OPENAI_API_BASE", "AZURE_API_KEY",
                 "AZURE_API_BASE", "AZURE_OPENAI_ENDPOINT", "AZURE_API_VERSION"):  # fmt: skip
        monkeypatch.delenv(name, raising=False)


def _import_cassettes() -> ModuleType:
    if "_cassettes" in sys.modules:
        return sys.modules["_cassettes"]
    path = Path(__file__).resolve().parent.parent / "replay" / "_cassettes.py"
    spec = importlib.util.spec_from_file_location("_cassettes", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["_cassettes"] = module
    spec.loader.exec_module(module)
    return module


_cassettes = _import_cassettes()
_URN = "urn:openai"
_REGISTRY: Registry = Registry().with_resource(
    _URN, Resource(contents=_cassettes.openai_schema(), specification=DRAFT202012)
)
SCHEMAS = {
    "embedding": "CreateEmbeddingRequest",
    "image_generation": "CreateImageRequest",
    "speech": "CreateSpeechRequest",
}
VALIDATORS = {
    fn: Draft202012Validator({"$ref": f"{_URN}#/components/schemas/{name}"}, registry=_REGISTRY)
    for fn, name in SCHEMAS.items()
}
DECLARED = {fn: _cassettes.openai_request_properties(name) for fn, name in SCHEMAS.items()}


def schema_errors(fn: str, body: dict[str, Any]) -> list[str]:
    return [
        f"{'/'.join(map(str, e.absolute_path)) or '<root>'}: {e.message[:200]}"
        for e in VALIDATORS[fn].iter_errors(body)
    ]


def assert_valid(fn: str, body: dict[str, Any]) -> None:
    problems = schema_errors(fn, body)
    assert not problems, "\n".join(problems)
    unknown = set(body) - DECLARED[fn]
    assert not unknown, f"keys OpenAI's schema does not declare: {sorted(unknown)}"


def _answer(request: httpx.Request) -> httpx.Response:
    path = request.url.path
    if path.endswith("/embeddings"):
        body = json.loads(request.content)
        count = (
            1
            if isinstance(body["input"], str) or isinstance(body["input"][0], int)
            else len(body["input"])
        )
        data = [{"object": "embedding", "index": i, "embedding": [0.0]} for i in range(count)]
        return httpx.Response(200, json={"object": "list", "data": data, "model": "m"})
    if path.endswith("/images/generations"):
        return httpx.Response(200, json={"created": 1, "data": [{"b64_json": "iVBORw0KGgo="}]})
    return httpx.Response(200, content=b"ID3\x04", headers={"content-type": "audio/mpeg"})


def emitted(fn: str, *args: Any, **kwargs: Any) -> dict[str, Any]:
    """The JSON body ``polymodal.<fn>(*args, **kwargs)`` puts on the wire."""
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return _answer(request)

    with httpx.Client(transport=httpx.MockTransport(handler)) as client:
        getattr(polymodal, fn)(*args, client=client, max_retries=0, **kwargs)
    assert len(seen) == 1
    body: dict[str, Any] = json.loads(seen[0].content)
    return body


def test_schemas_are_the_copied_extract() -> None:
    doc = _cassettes.openai_schema()
    assert doc["x-extract"]["commit"] == "f85dbe223d40e1a31cba812ab2d755c7e98a92a3"
    assert set(SCHEMAS.values()) <= set(doc["x-extract"]["roots"])


def test_validators_can_fail() -> None:
    good = {"model": "text-embedding-3-small", "input": "hi"}
    assert schema_errors("embedding", good) == []
    assert schema_errors("embedding", {**good, "input_type": "query"})  # no extra keys
    assert schema_errors("embedding", {**good, "encoding_format": "int8"})
    assert schema_errors("embedding", {**good, "input": []})
    assert schema_errors("image_generation", {"prompt": "x", "n": 11})
    assert schema_errors("image_generation", {"prompt": "x", "quality": "ultra"})
    assert schema_errors("image_generation", {"n": 1})  # prompt is required
    speech = {"model": "tts-1", "input": "hi", "voice": "alloy"}
    assert schema_errors("speech", speech) == []
    assert schema_errors("speech", {**speech, "speed": 4.5})
    assert schema_errors("speech", {**speech, "response_format": "ogg"})
    assert schema_errors("speech", {"model": "tts-1", "input": "hi"})  # voice is required


# --------------------------------------------------------------------------- recorded requests

RECORDED = [
    it
    for it in [
        *_cassettes.load(endpoint="embeddings"),
        *_cassettes.load(endpoint="images/generations"),
    ]
    if it.request_body is not None
]


def test_recorded_corpus_count() -> None:
    assert len(RECORDED) == 9  # see tests/replay/test_openai_embeddings_images_replay.py


@pytest.mark.parametrize("it", RECORDED, ids=lambda it: it.id)
def test_recorded_request_reemitted_validates(it: Any) -> None:
    body = dict(it.request_body)
    if it.endpoint == "embeddings":
        kwargs = {k: body[k] for k in ("dimensions",) if k in body}
        if it.provider == "azure_openai":
            out = emitted("embedding", "azure/test-deployment", body["input"], api_key="k",
                          api_base="https://test-resource.openai.azure.com", **kwargs)  # fmt: skip
        else:
            out = emitted("embedding", f"openai/{body['model']}", body["input"], api_key="sk-t",
                          **kwargs)  # fmt: skip
        assert_valid("embedding", out)
        return
    kwargs = {k: body[k] for k in ("n", "size", "response_format", "user") if k in body}
    out = emitted("image_generation", body["prompt"], model="openai/dall-e-2", api_key="sk-t",
                  **kwargs)  # fmt: skip
    assert_valid("image_generation", out)


# --------------------------------------------------------------------------- feature table

OPENAI = {"api_key": "sk-test"}
AZURE = {"api_key": "k", "api_base": "https://r.openai.azure.com", "api_version": "2024-10-21"}

CASES: list[tuple[str, str, tuple[Any, ...], dict[str, Any]]] = [
    ("emb-string", "embedding", ("openai/text-embedding-3-small", "hello"), OPENAI),
    ("emb-list", "embedding", ("openai/text-embedding-3-large", ["a", "b", "c"]), OPENAI),
    ("emb-tokens", "embedding", ("openai/text-embedding-3-small", [1212, 318, 257]), OPENAI),
    ("emb-token-lists", "embedding", ("openai/text-embedding-3-small", [[1, 2], [3]]), OPENAI),
    (
        "emb-all",
        "embedding",
        ("openai/text-embedding-3-small", ["a"]),
        {**OPENAI, "dimensions": 64, "encoding_format": "float", "user": "user-1234"},
    ),
    (
        "emb-dropped-input-type",
        "embedding",
        ("openai/text-embedding-3-small", ["a"]),
        {**OPENAI, "input_type": "query", "drop_params": True},
    ),
    ("emb-azure", "embedding", ("azure/emb", ["a", "b"]), AZURE),
    ("img-default", "image_generation", ("A cute baby sea otter",), OPENAI),
    (
        "img-dall-e-2",
        "image_generation",
        ("otter",),
        {
            **OPENAI,
            "model": "dall-e-2",
            "n": 10,
            "size": "512x512",
            "quality": "standard",
            "response_format": "b64_json",
            "user": "u",
        },
    ),
    (
        "img-dall-e-3",
        "image_generation",
        ("otter",),
        {
            **OPENAI,
            "model": "openai/dall-e-3",
            "n": 1,
            "size": "1024x1792",
            "quality": "hd",
            "style": "natural",
            "response_format": "url",
        },
    ),
    (
        "img-gpt-image-1",
        "image_generation",
        ("otter",),
        {
            **OPENAI,
            "model": "gpt-image-1",
            "n": 2,
            "size": "1536x1024",
            "quality": "high",
            "background": "transparent",
            "output_format": "webp",
            "output_compression": 50,
            "moderation": "low",
            "response_format": "b64_json",
        },
    ),
    (
        "img-dropped",
        "image_generation",
        ("otter",),
        {
            **OPENAI,
            "model": "dall-e-3",
            "n": 4,
            "style": "vivid",
            "background": "opaque",
            "drop_params": True,
        },
    ),
    ("img-azure", "image_generation", ("otter",), {**AZURE, "model": "azure/dall-e-3"}),
    ("tts-minimal", "speech", ("openai/tts-1", "Hello"), {**OPENAI, "voice": "alloy"}),
    (
        "tts-all",
        "speech",
        ("openai/gpt-4o-mini-tts", "Hello"),
        {
            **OPENAI,
            "voice": "coral",
            "response_format": "pcm",
            "speed": 0.25,
            "instructions": "Speak softly.",
            "stream_format": "audio",
        },
    ),
    (
        "tts-custom-voice",
        "speech",
        ("openai/gpt-4o-mini-tts", "Hi"),
        {**OPENAI, "voice": {"id": "voice_1234"}, "speed": 4.0},
    ),
    (
        "tts-dropped",
        "speech",
        ("openai/tts-1-hd", "Hi"),
        {
            **OPENAI,
            "voice": "onyx",
            "instructions": "x",
            "drop_params": True,
            "response_format": "flac",
        },
    ),
    ("tts-azure", "speech", ("azure/tts", "Hi"), {**AZURE, "voice": "nova"}),
]


@pytest.mark.filterwarnings("ignore::polymodal._warn.DroppedParamWarning")
@pytest.mark.parametrize(
    ("fn", "args", "kwargs"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_emitted_body_validates(fn: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    assert_valid(fn, emitted(fn, *args, **kwargs))
