"""Google media request bodies against independent oracles.

1. **google-genai's own client** (``google-genai==3.4.0``, the SDK Google ships): for the same
   request, the ``:predict`` bodies we send for Vertex text embeddings and Imagen, and the
   ``embedContent`` / ``batchEmbedContents`` bodies for the Gemini embedding models, are compared
   with what ``genai.Client(...).models.embed_content / generate_images`` puts on the wire,
   captured with an ``httpx.MockTransport`` (``HttpOptions(httpx_client=...)``). Two documented
   normalisations, both proto3-JSON facts: google-genai spells some part fields in snake_case
   (``inline_data``, ``file_uri``; Google's parser accepts both, we send camelCase), and adds
   ``"role": "user"`` to embedding contents (optional; the recorded pydantic-ai request has none).
   The URL paths must match too (genai calls Vertex ``v1beta1``: we pass ``api_version`` to match).
2. **Google's discovery documents** from ``google-api-python-client==2.202.0``: every
   Text-to-Speech body we emit validates against ``SynthesizeSpeechRequest`` of
   ``texttospeech.v1.json`` and the URL is the one ``googleapiclient`` builds from that document;
   ``embedContent`` bodies validate against ``GoogleCloudAiplatformV1EmbedContentRequest`` and
   predict envelopes against ``GoogleCloudAiplatformV1PredictRequest`` of ``aiplatform.v1.json``
   (predict instances are model-specific and untyped there, hence oracle 1). Discovery schemas
   are converted to JSON Schema as ``tests/fixtures/schemas/README.md`` describes (the converter
   below is the one of ``tests/contract/test_gemini_schema.py``, copied: importing that module
   would load the whole Gemini replay), with ``additionalProperties: false`` on request objects so
   an unknown or misspelled key fails. The converter is checked to reject bad bodies too.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from _discovery import discovery as _discovery
from _discovery import to_json_schema
from jsonschema import Draft202012Validator

import polymodal
from polymodal.apis import gemini_embeddings, google_tts, vertex_embeddings, vertex_imagen
from polymodal.options import CallOptions
from polymodal.providers import vertex
from polymodal.types import EmbeddingRequest, SpeechRequest

genai = pytest.importorskip("google.genai")
from google.genai import types as gtypes  # noqa: E402
from google.oauth2.credentials import Credentials  # noqa: E402

PROJECT, LOCATION = "my-project", "us-central1"
pytestmark = pytest.mark.filterwarnings("ignore:The generate_images method is deprecated")


@pytest.fixture(autouse=True)
def _no_ambient(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("GOOGLE_APPLICATION_CREDENTIALS", "VERTEXAI_PROJECT", "VERTEXAI_LOCATION",
                 "GOOGLE_CLOUD_PROJECT", "GOOGLE_CLOUD_LOCATION", "GEMINI_API_KEY",
                 "GOOGLE_API_KEY"):  # fmt: skip
        monkeypatch.delenv(name, raising=False)
    for name in ("vertex_project", "vertex_location"):
        monkeypatch.setattr(polymodal, name, None, raising=False)


# --------------------------------------------------------------------------- capturing


class Capture:
    """An httpx MockTransport handler answering plausible bodies and keeping every request."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        url = str(request.url)
        body = json.loads(request.content)
        if ":embedContent" in url:
            return httpx.Response(200, json={"embedding": {"values": [0.5]}})
        if ":batchEmbedContents" in url:
            return httpx.Response(
                200, json={"embeddings": [{"values": [0.5]}] * len(body["requests"])}
            )
        if "imagen" in url or "imagegeneration" in url:
            image = {"bytesBase64Encoded": "iVBORw0KGgo=", "mimeType": "image/png"}
            return httpx.Response(200, json={"predictions": [image]})
        preds = [{"embeddings": {"values": [0.5], "statistics": {"token_count": 1}}}]
        return httpx.Response(200, json={"predictions": preds * len(body["instances"])})

    def last(self) -> tuple[str, Any]:
        request = self.requests[-1]
        return request.url.path, json.loads(request.content)


def genai_vertex(capture: Capture) -> Any:
    options = gtypes.HttpOptions(httpx_client=httpx.Client(transport=httpx.MockTransport(capture)))
    return genai.Client(vertexai=True, project=PROJECT, location=LOCATION,
                        credentials=Credentials(token="t"), http_options=options)  # fmt: skip


def genai_studio(capture: Capture) -> Any:
    options = gtypes.HttpOptions(httpx_client=httpx.Client(transport=httpx.MockTransport(capture)))
    return genai.Client(api_key="k", http_options=options)


def ours(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> tuple[str, Any]:
    capture = Capture()
    with httpx.Client(transport=httpx.MockTransport(capture)) as client:
        fn(*args, client=client, max_retries=0, **kwargs)
    return capture.last()


VERTEX = {"vertex_project": PROJECT, "vertex_location": LOCATION, "api_key": "t",
          "api_version": "v1beta1"}  # fmt: skip


_SNAKE = {"inline_data": "inlineData", "file_data": "fileData", "mime_type": "mimeType",
          "file_uri": "fileUri"}  # fmt: skip


def proto_json(value: Any) -> Any:
    """google-genai's body in our spelling: camelCase part fields, no default ``role``."""
    if isinstance(value, dict):
        out = {_SNAKE.get(k, k): proto_json(v) for k, v in value.items()}
        if out.get("role") == "user" and "parts" in out:
            del out["role"]
        return out
    if isinstance(value, list):
        return [proto_json(v) for v in value]
    return value


# --------------------------------------------------------------------------- predict: text embeddings

TEXT_CASES: list[tuple[str, list[str], dict[str, Any], dict[str, Any]]] = [
    ("text-embedding-005", ["a", "b"], {}, {}),
    ("text-embedding-004", ["What is your name?"], {"input_type": "RETRIEVAL_QUERY"},
     {"task_type": "RETRIEVAL_QUERY"}),
    ("text-embedding-005", ["doc one", "doc two"],
     {"input_type": "RETRIEVAL_DOCUMENT", "title": "t", "dimensions": 64, "auto_truncate": False},
     {"task_type": "RETRIEVAL_DOCUMENT", "title": "t", "output_dimensionality": 64,
      "auto_truncate": False}),
    ("text-multilingual-embedding-002", ["hola"], {"task_type": "CLUSTERING", "dimensions": 8},
     {"task_type": "CLUSTERING", "output_dimensionality": 8}),
    ("textembedding-gecko@003", ["x"], {"task_type": "code_retrieval_query"},
     {"task_type": "CODE_RETRIEVAL_QUERY"}),
]  # fmt: skip


@pytest.mark.parametrize(("model", "texts", "kwargs", "config"), TEXT_CASES)
def test_text_embedding_predict_equals_google_genai(
    model: str, texts: list[str], kwargs: dict[str, Any], config: dict[str, Any]
) -> None:
    capture = Capture()
    genai_vertex(capture).models.embed_content(
        model=model, contents=texts, config=gtypes.EmbedContentConfig(**config) if config else None
    )
    want_path, want = capture.last()
    got_path, got = ours(polymodal.embedding, f"vertex_ai/{model}", texts, **kwargs, **VERTEX)
    assert got_path == want_path
    assert want_path.endswith(f"/publishers/google/models/{model}:predict")
    assert got == want


# --------------------------------------------------------------------------- embedContent

EMBED_CONTENT_CASES: list[tuple[Any, Any, dict[str, Any], dict[str, Any]]] = [
    ("hello", "hello", {}, {}),
    ("hello", "hello", {"dimensions": 8, "auto_truncate": True, "task_type": "RETRIEVAL_QUERY"},
     {"output_dimensionality": 8, "auto_truncate": True, "task_type": "RETRIEVAL_QUERY"}),
    ("gs://b/cat.png", gtypes.Part.from_uri(file_uri="gs://b/cat.png",
                                                       mime_type="image/png"), {}, {}),
    ("data:image/png;base64,iVBORw0KGgo=",
     gtypes.Part.from_bytes(data=b"\x89PNG\r\n\x1a\n", mime_type="image/png"), {}, {}),
    ("gs://b/clip.mp4", gtypes.Part.from_uri(file_uri="gs://b/clip.mp4",
                                                        mime_type="video/mp4"), {}, {}),
]  # fmt: skip


@pytest.mark.parametrize(("item", "content", "kwargs", "config"), EMBED_CONTENT_CASES)
def test_vertex_embed_content_equals_google_genai(
    item: Any, content: Any, kwargs: dict[str, Any], config: dict[str, Any]
) -> None:
    capture = Capture()
    genai_vertex(capture).models.embed_content(
        model="gemini-embedding-2",
        contents=[content],
        config=gtypes.EmbedContentConfig(**config) if config else None,
    )
    want_path, want = capture.last()
    got_path, got = ours(polymodal.embedding, "vertex_ai/gemini-embedding-2", [item], **kwargs,
                         **VERTEX)  # fmt: skip
    assert got_path == want_path
    assert got == proto_json(want)
    assert not embed_content_errors(got)


STUDIO_CASES: list[tuple[str, list[Any], list[Any], dict[str, Any], dict[str, Any]]] = [
    ("gemini-embedding-001", ["a", "b"], ["a", "b"],
     {"input_type": "RETRIEVAL_DOCUMENT", "title": "T", "dimensions": 8},
     {"task_type": "RETRIEVAL_DOCUMENT", "title": "T", "output_dimensionality": 8}),
    ("gemini-embedding-2", ["x"], ["x"], {"task_type": "RETRIEVAL_QUERY"},
     {"task_type": "RETRIEVAL_QUERY"}),
    ("gemini-embedding-2", ["data:image/png;base64,iVBORw0KGgo="],
     [gtypes.Part.from_bytes(data=b"\x89PNG\r\n\x1a\n", mime_type="image/png")], {}, {}),
]  # fmt: skip


@pytest.mark.parametrize(("model", "items", "contents", "kwargs", "config"), STUDIO_CASES)
def test_ai_studio_batch_equals_google_genai(
    model: str, items: list[Any], contents: list[Any], kwargs: dict[str, Any],
    config: dict[str, Any],
) -> None:  # fmt: skip
    capture = Capture()
    genai_studio(capture).models.embed_content(
        model=model,
        contents=contents,
        config=gtypes.EmbedContentConfig(**config) if config else None,
    )
    want_path, want = capture.last()
    got_path, got = ours(polymodal.embedding, f"gemini/{model}", items, api_key="k", **kwargs)
    # genai calls v1, we call v1beta (the version AI Studio documents for embeddings); same method
    assert got_path.split("/", 2)[2] == want_path.split("/", 2)[2]
    assert got == proto_json(want)
    for request in got["requests"]:
        assert not embed_content_errors(request)


# --------------------------------------------------------------------------- Imagen


def _imagen_cases() -> Iterator[tuple[str, dict[str, Any], dict[str, Any]]]:
    yield "imagegeneration@006", {}, {"number_of_images": 1}
    yield "imagen-3.0-generate-002", {"n": 2, "size": "1792x1024"}, {
        "number_of_images": 2, "aspect_ratio": "16:9"}  # fmt: skip
    yield "imagen-3.0-fast-generate-001", {"size": "1024x1792", "negative_prompt": "blurry"}, {
        "number_of_images": 1, "aspect_ratio": "9:16", "negative_prompt": "blurry"}  # fmt: skip
    yield (
        "imagen-3.0-generate-001",
        {"n": 4, "seed": 7, "add_watermark": False, "safety_filter_level": "BLOCK_ONLY_HIGH",
         "person_generation": "ALLOW_ADULT", "output_mime_type": "image/jpeg",
         "output_compression_quality": 80, "language": "en", "guidance_scale": 12.5},
        {"number_of_images": 4, "seed": 7, "add_watermark": False,
         "safety_filter_level": "BLOCK_ONLY_HIGH", "person_generation": "ALLOW_ADULT",
         "output_mime_type": "image/jpeg", "output_compression_quality": 80, "language": "en",
         "guidance_scale": 12.5},
    )  # fmt: skip
    yield (
        "imagen-4.0-generate-001",
        {"size": "1024x1024", "image_size": "2K", "enhance_prompt": True,
         "include_rai_reason": True, "include_safety_attributes": True,
         "storage_uri": "gs://out/", "labels": {"team": "a"}},
        {"number_of_images": 1, "aspect_ratio": "1:1", "image_size": "2K",
         "enhance_prompt": True, "include_rai_reason": True, "include_safety_attributes": True,
         "output_gcs_uri": "gs://out/", "labels": {"team": "a"}},
    )  # fmt: skip
    yield "imagen-3.0-generate-002", {"size": "1536x1024", "output_format": "jpeg"}, {
        "number_of_images": 1, "aspect_ratio": "4:3", "output_mime_type": "image/jpeg"}  # fmt: skip


@pytest.mark.parametrize(("model", "kwargs", "config"), list(_imagen_cases()))
def test_imagen_predict_equals_google_genai(
    model: str, kwargs: dict[str, Any], config: dict[str, Any]
) -> None:
    capture = Capture()
    genai_vertex(capture).models.generate_images(
        model=model, prompt="An olympic size swimming pool",
        config=gtypes.GenerateImagesConfig(**config),
    )  # fmt: skip
    want_path, want = capture.last()
    got_path, got = ours(polymodal.image_generation, "An olympic size swimming pool",
                         model=f"vertex_ai/{model}", **kwargs, **VERTEX)  # fmt: skip
    assert got_path == want_path
    assert got == want
    assert not predict_errors(got)


def test_imagen_n_defaults_to_one_not_googles_four() -> None:
    """Without ``n`` we send ``sampleCount: 1`` (OpenAI's default); genai sends nothing, which
    lets Imagen make up to four (billed) images: the one intended difference."""
    capture = Capture()
    genai_vertex(capture).models.generate_images(model="imagegeneration@006", prompt="p")
    _, want = capture.last()
    _, got = ours(polymodal.image_generation, "p", model="vertex_ai/imagegeneration@006", **VERTEX)
    assert want == {"instances": [{"prompt": "p"}]}
    assert got == {"instances": [{"prompt": "p"}], "parameters": {"sampleCount": 1}}


# --------------------------------------------------------------------------- discovery documents


@functools.cache
def validator(document: str, name: str) -> Draft202012Validator:
    schemas = _discovery(document)["schemas"]
    defs = {key: to_json_schema(schema) for key, schema in schemas.items()}
    return Draft202012Validator({"$ref": f"#/$defs/{name}", "$defs": defs})


def _errors(document: str, name: str, body: Any) -> list[str]:
    found = validator(document, name).iter_errors(body)
    return [f"{'/'.join(map(str, e.absolute_path)) or '<root>'}: {e.message[:160]}" for e in found]


def tts_errors(body: Any) -> list[str]:
    return _errors("texttospeech.v1.json", "SynthesizeSpeechRequest", body)


def embed_content_errors(body: Any) -> list[str]:
    return _errors("aiplatform.v1.json", "GoogleCloudAiplatformV1EmbedContentRequest", body)


def predict_errors(body: Any) -> list[str]:
    return _errors("aiplatform.v1.json", "GoogleCloudAiplatformV1PredictRequest", body)


SSML = '<speak><p>Hello, world!</p><break strength="medium" /></speak>'
TTS_CASES: list[tuple[str, str, dict[str, Any]]] = [
    ("", "hello what llm guardrail do you have", {}),
    ("test", SSML, {"voice": {"languageCode": "en-GB", "name": "en-GB-Studio-B"},
                    "audioConfig": {"audioEncoding": "LINEAR16", "speakingRate": "1.5"}}),
    ("test", "plain <b>text</b>", {"use_ssml": True}),
    ("chirp", "hi", {"voice": "en-US-Chirp3-HD-Charon", "response_format": "opus", "speed": 1.25}),
    ("chirp", "hi", {"voice": {"language_code": "de-DE", "ssml_gender": "female"},
                     "response_format": "pcm"}),
    ("chirp", "hi", {"response_format": "mulaw", "pitch": -2.0, "volume_gain_db": 3.0,
                     "sample_rate_hertz": 8000, "effects_profile_id": ["telephony-class-application"]}),
    ("chirp", "hi", {"response_format": "alaw", "language_code": "fr-FR"}),
    ("chirp", "hi", {"response_format": "m4a", "advanced_voice_options":
                     {"lowLatencyJourneySynthesis": True}}),
    ("gemini-2.5-flash-tts", "Say cheerfully: have a wonderful day!",
     {"voice": "Kore", "instructions": "Speak warmly", "response_format": "wav"}),
    ("gemini-2.5-pro-tts", "hi", {"voice": {"languageCode": "en-US", "name": "Charon",
                                            "modelName": "gemini-2.5-pro-tts"}}),
]  # fmt: skip


def _tts_body(model: str, text: str, kwargs: dict[str, Any]) -> dict[str, Any]:
    fields = ("voice", "response_format", "speed", "instructions")
    req = SpeechRequest(model=model, input=text, **{k: kwargs[k] for k in fields if k in kwargs},
                        params={k: v for k, v in kwargs.items() if k not in fields})  # fmt: skip
    return google_tts.encode(google_tts.check(req))


@pytest.mark.parametrize(("model", "text", "kwargs"), TTS_CASES)
def test_tts_bodies_validate_against_the_discovery_schema(
    model: str, text: str, kwargs: dict[str, Any]
) -> None:
    body = _tts_body(model, text, kwargs)
    assert tts_errors(body) == []


def test_tts_url_is_the_one_the_discovery_document_builds() -> None:
    from googleapiclient.discovery import build_from_document
    from googleapiclient.http import HttpMock

    svc = build_from_document(_discovery("texttospeech.v1.json"), http=HttpMock())
    body = _tts_body("", "hi", {})
    built = svc.text().synthesize(body=body)
    assert built.method == "POST"
    assert built.uri.split("?", 1)[0] == vertex.tts_url(CallOptions())
    assert json.loads(built.body) == body


@pytest.mark.parametrize(
    ("change", "where"),
    [
        ({"audioConfig": {"audioEncoding": "LINEAR22"}}, "audioConfig/audioEncoding"),
        ({"voice": {"languageCode": "en-US", "gender": "FEMALE"}}, "voice"),
        ({"input": {"text": "x", "speed": 2}}, "input"),
        ({"audioConfig": {"audioEncoding": "MP3", "sampleRateHertz": "fast"}},
         "audioConfig/sampleRateHertz"),
    ],
)  # fmt: skip
def test_the_tts_schema_rejects_what_google_rejects(change: dict[str, Any], where: str) -> None:
    body = {**_tts_body("", "hi", {}), **change}
    problems = tts_errors(body)
    assert problems and any(p.startswith(where) for p in problems), problems


def test_predict_and_embed_content_schemas_reject_unknown_keys() -> None:
    assert predict_errors({"instances": [{"content": "x"}]}) == []
    assert predict_errors({"instances": [], "parameter": {}})
    assert embed_content_errors({"content": {"parts": [{"text": "x"}]}}) == []
    assert embed_content_errors({"content": {"parts": [{"text": "x"}]}, "embedConfig": {}})
    assert embed_content_errors({"content": {"parts": [{"txt": "x"}]}})


def test_every_predict_body_we_build_has_the_envelope() -> None:
    bodies = [
        vertex_embeddings.encode(EmbeddingRequest("text-embedding-005", ["a"], dimensions=3)),
        vertex_embeddings.encode(
            EmbeddingRequest("multimodalembedding@001", [{"image": "gs://b/a.png"}], dimensions=128),
            dialect="multimodal",
        ),
        vertex_imagen.encode(vertex_imagen.check(
            polymodal._images.parse_images("imagen-3.0-generate-002", "p", {"size": "1024x1024"}))),
    ]  # fmt: skip
    for body in bodies:
        assert predict_errors(body) == []
    one = gemini_embeddings.encode(EmbeddingRequest("gemini-embedding-2", ["a"]), dialect="vertex")
    assert embed_content_errors(one) == []
