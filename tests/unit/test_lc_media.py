"""PolymodalEmbeddings, PolymodalImageGenerator and PolymodalSpeech without a network.

Requests go to an ``httpx.MockTransport`` through ``http_client`` / ``http_async_client``;
answers are written here in OpenAI's documented shapes (``CreateEmbeddingResponse``,
``ImagesResponse``, binary audio), and image/audio bytes are built here with ``struct`` and
``zlib``, independently of polymodal's emulator.
"""

from __future__ import annotations

import asyncio
import base64
import json
import re
import struct
import threading
import time
import warnings
import zlib
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from langchain_core.exceptions import (
    ModelAuthenticationError,
    ModelInvalidRequestError,
    ModelRateLimitError,
)
from langchain_core.messages import HumanMessage, ToolMessage
from langchain_core.prompts import PromptTemplate
from pydantic import BaseModel, Field

import polymodal
from langchain_polymodal import PolymodalEmbeddings, PolymodalImageGenerator, PolymodalSpeech
from langchain_polymodal._media_common import audio_seconds, image_size, prompt_text
from langchain_polymodal.embeddings import _core_item
from polymodal.types import ImagePart, VideoPart


@pytest.fixture(autouse=True)
def _no_ambient_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "OPENAI_API_BASE", "AZURE_API_KEY",
                 "AZURE_API_BASE", "AZURE_OPENAI_ENDPOINT"):  # fmt: skip
        monkeypatch.delenv(name, raising=False)


# --------------------------------------------------------------------------- media made here


def png(width: int, height: int, rgb: tuple[int, int, int] = (200, 30, 30)) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    row = b"\x00" + bytes(rgb) * width
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(row * height))
        + chunk(b"IEND", b"")
    )


def wav(seconds: float, rate: int = 24000) -> bytes:
    samples = b"\x00\x00" * int(rate * seconds)
    fmt = struct.pack("<HHIIHH", 1, 1, rate, rate * 2, 2, 16)
    data = b"fmt " + struct.pack("<I", len(fmt)) + fmt + b"data" + struct.pack("<I", len(samples))
    return b"RIFF" + struct.pack("<I", 4 + len(data) + len(samples)) + b"WAVE" + data + samples


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


# --------------------------------------------------------------------------- a mock OpenAI


class Server:
    """Answers /embeddings, /images/generations and /audio/speech; records what it got."""

    def __init__(
        self,
        *,
        status: int = 200,
        delay: float = 0.0,
        image: Callable[[dict[str, Any]], list[dict[str, Any]]] | None = None,
        audio: tuple[bytes, str] = (b"ID3\x04\x00fake-mp3", "audio/mpeg"),
    ) -> None:
        self.requests: list[httpx.Request] = []
        self.status = status
        self.delay = delay
        self.image = image or (lambda body: [{"b64_json": b64(png(64, 32))}])
        self.audio = audio
        self.in_flight = 0
        self.most_in_flight = 0
        self._lock = threading.Lock()

    @property
    def bodies(self) -> list[dict[str, Any]]:
        return [json.loads(r.content) for r in self.requests]

    def _answer(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        if self.status != 200:
            error = {"message": "nope", "type": "error", "param": None, "code": None}
            return httpx.Response(self.status, json={"error": error}, headers={"retry-after": "0"})
        path = request.url.path
        if path.endswith("/embeddings"):
            inputs = body["input"] if isinstance(body["input"], list) else [body["input"]]
            data = [
                {"object": "embedding", "index": i, "embedding": vector_for(text)}
                for i, text in enumerate(inputs)
            ]
            data.reverse()  # servers may answer out of order; ``index`` says where each goes
            usage = {"prompt_tokens": len(inputs), "total_tokens": len(inputs)}
            return httpx.Response(
                200, json={"object": "list", "data": data, "model": body["model"], "usage": usage}
            )
        if path.endswith("/images/generations"):
            return httpx.Response(200, json={"created": 1700000000, "data": self.image(body)})
        if path.endswith("/audio/speech"):
            content, mime = self.audio
            return httpx.Response(200, content=content, headers={"content-type": mime})
        return httpx.Response(404, json={"error": {"message": "no such path"}})

    def _enter(self, request: httpx.Request) -> None:
        with self._lock:
            self.requests.append(request)
            self.in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight)

    def _leave(self) -> None:
        with self._lock:
            self.in_flight -= 1

    def handler(self, request: httpx.Request) -> httpx.Response:
        self._enter(request)
        try:
            time.sleep(self.delay)
            return self._answer(request)
        finally:
            self._leave()

    async def ahandler(self, request: httpx.Request) -> httpx.Response:
        self._enter(request)
        try:
            await asyncio.sleep(self.delay)
            return self._answer(request)
        finally:
            self._leave()

    def clients(self) -> dict[str, Any]:
        return {
            "http_client": httpx.Client(transport=httpx.MockTransport(self.handler)),
            "http_async_client": httpx.AsyncClient(transport=httpx.MockTransport(self.ahandler)),
        }


def vector_for(text: str) -> list[float]:
    """A vector that names its input: ``"t7"`` (or ``"t7 ..."``) -> ``[7.0, 1.0]``."""
    found = re.match(r"t(\d+)\b", text)
    return [float(found.group(1)) if found else -1.0, 1.0]


def embeddings(server: Server, **fields: Any) -> PolymodalEmbeddings:
    fields.setdefault("model", "openai/text-embedding-3-small")
    fields.setdefault("api_key", "sk-test")
    return PolymodalEmbeddings(**fields, **server.clients())


TEXTS = [f"t{i}" for i in range(10)]
EXPECTED = [[float(i), 1.0] for i in range(10)]


# --------------------------------------------------------------------------- embeddings


def test_documents_and_query_in_order_across_batches() -> None:
    server = Server()
    emb = embeddings(server, batch_size=3)
    assert emb.embed_documents(TEXTS) == EXPECTED
    assert [len(b["input"]) for b in server.bodies] == [3, 3, 3, 1]
    assert emb.embed_query("t4") == [4.0, 1.0]


async def test_async_documents_and_query_in_order_across_batches() -> None:
    server = Server(delay=0.01)
    emb = embeddings(server, batch_size=4)
    assert await emb.aembed_documents(TEXTS) == EXPECTED
    assert sorted(len(b["input"]) for b in server.bodies) == [2, 4, 4]
    assert await emb.aembed_query("t9") == [9.0, 1.0]


@pytest.mark.parametrize("limit", [1, 2, 4])
def test_sync_concurrency_is_bounded(limit: int) -> None:
    server = Server(delay=0.05)
    emb = embeddings(server, batch_size=1, max_concurrency=limit)
    assert emb.embed_documents(TEXTS[:8]) == EXPECTED[:8]
    assert server.most_in_flight == limit


@pytest.mark.parametrize("limit", [1, 3])
async def test_async_concurrency_is_bounded(limit: int) -> None:
    server = Server(delay=0.05)
    emb = embeddings(server, batch_size=1, max_concurrency=limit)
    assert await emb.aembed_documents(TEXTS[:6]) == EXPECTED[:6]
    assert server.most_in_flight == limit


def test_default_batch_size_for_the_openai_family_and_the_provider_cap() -> None:
    server = Server()
    texts = [f"t{i}" for i in range(2500)]
    vectors = embeddings(server).embed_documents(texts)
    assert [len(b["input"]) for b in server.bodies] == [1000, 1000, 500]
    assert vectors[2499] == [2499.0, 1.0]
    server = Server()
    embeddings(server, batch_size=5000).embed_documents(texts)
    assert [len(b["input"]) for b in server.bodies] == [2048, 452]  # OpenAI's per-request cap


def test_empty_input_sends_nothing() -> None:
    server = Server()
    assert embeddings(server).embed_documents([]) == []
    assert asyncio.run(embeddings(server).aembed_documents([])) == []
    assert server.requests == []


def test_fields_reach_the_body_and_openai_gets_no_task_type() -> None:
    server = Server()
    emb = embeddings(server, dimensions=256, user="u-1", extra_body={"x": 1})
    emb.embed_documents(["t1"])
    emb.embed_query("t2")
    for body in server.bodies:
        assert body["dimensions"] == 256 and body["user"] == "u-1" and body["x"] == 1
        assert "input_type" not in body and "task_type" not in body
    assert server.requests[0].headers["authorization"] == "Bearer sk-test"


def test_explicit_task_type_for_openai_is_refused_before_any_request() -> None:
    server = Server()
    for emb in (embeddings(server, task_type="RETRIEVAL_DOCUMENT"),
                embeddings(server, query_task_type="RETRIEVAL_QUERY")):  # fmt: skip
        with pytest.raises(ModelInvalidRequestError) as info:
            emb.embed_documents(["t1"]) if emb.task_type else emb.embed_query("t1")
        assert isinstance(info.value, polymodal.UnsupportedParamsError)
        assert info.value.param == "input_type"
    assert server.requests == []


def test_explicit_task_type_dropped_with_drop_params_warns() -> None:
    server = Server()
    emb = embeddings(server, task_type="RETRIEVAL_DOCUMENT", drop_params=True)
    with pytest.warns(UserWarning, match="input_type"):
        assert emb.embed_documents(["t3"]) == [[3.0, 1.0]]
    assert "input_type" not in server.bodies[0]


def test_default_task_type_is_silent_for_openai_even_with_drop_params() -> None:
    server = Server()
    emb = embeddings(server, drop_params=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        emb.embed_documents(["t1"])
        emb.embed_query("t1")
    assert all("input_type" not in b for b in server.bodies)


@pytest.mark.parametrize(
    ("status", "langchain_error", "core_error"),
    [
        (429, ModelRateLimitError, polymodal.RateLimitError),
        (401, ModelAuthenticationError, polymodal.AuthenticationError),
        (400, ModelInvalidRequestError, polymodal.BadRequestError),
    ],
)
def test_provider_errors_are_both_hierarchies(
    status: int, langchain_error: type[Exception], core_error: type[Exception]
) -> None:
    server = Server(status=status)
    emb = embeddings(server, max_retries=0, batch_size=2)
    with pytest.raises(langchain_error) as info:
        emb.embed_documents(TEXTS)
    assert isinstance(info.value, core_error)
    with pytest.raises(langchain_error):
        asyncio.run(emb.aembed_query("t1"))


async def test_async_failure_stops_the_other_batches() -> None:
    in_flight: list[str] = []

    async def handler(request: httpx.Request) -> httpx.Response:
        first = json.loads(request.content)["input"][0]
        if first == "t0":
            await asyncio.sleep(0.05)  # the others are in flight by now
            return httpx.Response(400, json={"error": {"message": "bad batch", "type": "x"}})
        in_flight.append(first)
        try:
            await asyncio.sleep(10)
        finally:
            in_flight.remove(first)
        return httpx.Response(500)

    emb = PolymodalEmbeddings(
        model="openai/text-embedding-3-small", api_key="k", batch_size=2, max_retries=0,
        http_async_client=httpx.AsyncClient(transport=httpx.MockTransport(handler)),
    )  # fmt: skip
    started = time.monotonic()
    with pytest.raises(ModelInvalidRequestError, match="bad batch"):
        await emb.aembed_documents(TEXTS[:8])
    await asyncio.sleep(0.05)
    assert in_flight == [] and time.monotonic() - started < 5


def test_bad_input_fails_before_any_request() -> None:
    server = Server()
    with pytest.raises(ModelInvalidRequestError, match="empty string"):
        embeddings(server, batch_size=2).embed_documents(["t1", "t2", "t3", ""])
    assert server.requests == []


def test_progress_line_on_stderr_without_tqdm(capsys: pytest.CaptureFixture[str]) -> None:
    server = Server()
    embeddings(server, batch_size=4, show_progress=True).embed_documents(TEXTS)
    err = capsys.readouterr().err
    assert "Embedding: 0/10 inputs (0/3 batches)" in err
    assert err.rstrip().endswith("Embedding: 10/10 inputs (3/3 batches)")
    embeddings(server, show_progress=True).embed_query("t1")  # one batch: nothing to show
    assert capsys.readouterr().err == ""


def test_key_from_the_environment_at_call_time(monkeypatch: pytest.MonkeyPatch) -> None:
    server = Server()
    emb = PolymodalEmbeddings(model="openai/text-embedding-3-small", **server.clients())
    assert emb.api_key is None
    monkeypatch.setenv("OPENAI_API_KEY", "sk-from-env")
    emb.embed_query("t1")
    assert server.requests[0].headers["authorization"] == "Bearer sk-from-env"


def test_unknown_constructor_keywords_go_to_model_kwargs() -> None:
    with pytest.warns(UserWarning, match="'encoding_format' is not a PolymodalEmbeddings field"):
        emb = PolymodalEmbeddings(model="openai/text-embedding-3-small", encoding_format="float")
    assert emb.model_kwargs == {"encoding_format": "float"}
    with pytest.raises(ValueError, match="model_kwargs may not hold"):
        PolymodalEmbeddings(model="openai/x", model_kwargs={"dimensions": 3})


def test_secrets_stay_out_of_repr() -> None:
    emb = PolymodalEmbeddings(model="openai/text-embedding-3-small", api_key="sk-secret-123")
    gen = PolymodalImageGenerator(api_key="sk-secret-123")
    speak = PolymodalSpeech(model="openai/tts-1", api_key="sk-secret-123")
    for obj in (emb, gen, speak):
        assert "sk-secret-123" not in repr(obj)


# --------------------------------------------------------------------------- multimodal inputs


def test_text_only_models_refuse_media_before_any_request() -> None:
    server = Server()
    emb = embeddings(server)
    with pytest.raises(ModelInvalidRequestError, match="embeds text only") as info:
        emb.embed_image(["gs://bucket/cat.png"])
    assert isinstance(info.value, polymodal.BadRequestError)
    assert "vertex_ai/multimodalembedding@001" in str(info.value)
    with pytest.raises(ModelInvalidRequestError, match="no video input"):
        emb.embed_video(["gs://bucket/clip.mp4"])
    with pytest.raises(ModelInvalidRequestError, match="embeds text only"):
        asyncio.run(emb.aembed_multimodal(["a cat", {"image": "gs://bucket/cat.png"}]))
    assert server.requests == []


def test_a_model_the_registry_does_not_know_is_left_to_the_core() -> None:
    server = Server()
    emb = embeddings(server, model="openai/my-own-embedder", api_base="https://llm.example/v1")
    # the OpenAI embeddings format itself takes no media: the core says so, still before I/O
    with pytest.raises(ModelInvalidRequestError, match="multimodal embedding model"):
        emb.embed_image(["https://llm.example/cat.png"])
    assert emb.embed_multimodal(["t1", {"text": "t2"}, {"type": "text", "text": "t3"}]) == [
        [1.0, 1.0], [2.0, 1.0], [3.0, 1.0],
    ]  # fmt: skip


def test_multimodal_items_become_core_media_parts() -> None:
    data = b64(png(2, 2))
    item = _core_item({"image": f"data:image/png;base64,{data}"}, 0)
    assert isinstance(item, ImagePart) and item.source.data == data
    assert item.source.mime_type == "image/png"
    item = _core_item({"image": "gs://bucket/cat.jpg"}, 0)
    assert isinstance(item, ImagePart) and item.source.url == "gs://bucket/cat.jpg"
    item = _core_item({"type": "image", "base64": data, "mime_type": "image/png"}, 0)
    assert isinstance(item, ImagePart) and item.source.data == data
    item = _core_item({"type": "image_url", "image_url": {"url": "https://x.example/a.png"}}, 0)
    assert isinstance(item, ImagePart) and item.source.url == "https://x.example/a.png"
    item = _core_item({"video": "gs://bucket/clip.mp4"}, 0)
    assert isinstance(item, VideoPart) and item.source.url == "gs://bucket/clip.mp4"
    item = _core_item({"type": "video", "url": "gs://bucket/clip.mp4"}, 0)
    assert isinstance(item, VideoPart)
    assert _core_item({"text": "hi"}, 0) == "hi"


@pytest.mark.parametrize(
    ("item", "message"),
    [
        ({"image": "gs://a/b.png", "text": "x"}, "exactly one of"),
        ({"type": "audio", "url": "gs://a/b.wav"}, "can't be embedded"),
        ({"image": "/etc/passwd"}, "local file paths are not read"),
        ({"image": 3}, "needs a URL string"),
        (3.5, "expected a string or a dict"),
    ],
)
def test_bad_multimodal_items(item: Any, message: str) -> None:
    server = Server()
    emb = embeddings(server, model="openai/my-own-embedder", api_base="https://llm.example/v1")
    with pytest.raises(ModelInvalidRequestError, match=message):
        emb.embed_multimodal([item])


def test_a_single_uri_string_is_refused() -> None:
    emb = PolymodalEmbeddings(model="openai/text-embedding-3-small")
    with pytest.raises(TypeError, match="list"):
        emb.embed_image("gs://bucket/cat.png")  # type: ignore[arg-type]


# --------------------------------------------------------------------------- Vertex AI


class VertexServer:
    """Answers Vertex ``:predict`` for embedding models in Google's documented shapes."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []

    @property
    def instances(self) -> list[list[dict[str, Any]]]:
        return [json.loads(r.content)["instances"] for r in self.requests]

    def handler(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        predictions: list[dict[str, Any]] = []
        for inst in json.loads(request.content)["instances"]:
            if "content" in inst:  # text-embedding-*
                values = vector_for(inst["content"])
                predictions.append({"embeddings": {"values": values,
                                                   "statistics": {"token_count": 1}}})  # fmt: skip
            elif "image" in inst:
                predictions.append({"imageEmbedding": [0.5, 0.5]})
            elif "video" in inst:  # one vector per segment: the core returns their mean
                segments = [{"embedding": [1.0, 0.0]}, {"embedding": [0.0, 1.0]}]
                predictions.append({"videoEmbeddings": segments})
            else:
                predictions.append({"textEmbedding": vector_for(inst["text"])})
        return httpx.Response(200, json={"predictions": predictions})

    def embeddings(self, model: str, **fields: Any) -> PolymodalEmbeddings:
        # ``api_key`` on Vertex is sent as the bearer token as is (no OAuth exchange here)
        return PolymodalEmbeddings(
            model=model, api_key="ya29.token", vertex_project="proj",
            vertex_location="us-central1",
            http_client=httpx.Client(transport=httpx.MockTransport(self.handler)),
            **fields,
        )  # fmt: skip


def test_vertex_text_models_get_document_and_query_task_types() -> None:
    server = VertexServer()
    emb = server.embeddings("vertex_ai/text-embedding-004")
    assert emb.embed_documents(["t1", "t2"]) == [[1.0, 1.0], [2.0, 1.0]]
    assert emb.embed_query("t3") == [3.0, 1.0]
    assert server.instances == [
        [{"content": "t1", "task_type": "RETRIEVAL_DOCUMENT"},
         {"content": "t2", "task_type": "RETRIEVAL_DOCUMENT"}],
        [{"content": "t3", "task_type": "RETRIEVAL_QUERY"}],
    ]  # fmt: skip
    assert server.requests[0].url.path.endswith("/models/text-embedding-004:predict")


def test_vertex_explicit_task_types_win() -> None:
    server = VertexServer()
    emb = server.embeddings("vertex_ai/text-embedding-004", task_type="SEMANTIC_SIMILARITY",
                            query_task_type="QUESTION_ANSWERING")  # fmt: skip
    emb.embed_documents(["t1"])
    emb.embed_query("t2")
    assert [i[0]["task_type"] for i in server.instances] == [
        "SEMANTIC_SIMILARITY", "QUESTION_ANSWERING",
    ]  # fmt: skip
    bad = server.embeddings("vertex_ai/text-embedding-004", task_type="NEAREST")
    with pytest.raises(ModelInvalidRequestError, match="RETRIEVAL_DOCUMENT"):
        bad.embed_documents(["t1"])
    assert len(server.requests) == 2


def test_vertex_batches_at_the_provider_cap_in_order() -> None:
    server = VertexServer()
    texts = [f"t{i}" for i in range(300)]
    vectors = server.embeddings("vertex_ai/text-embedding-004").embed_documents(texts)
    assert vectors == [[float(i), 1.0] for i in range(300)]
    assert sorted(len(i) for i in server.instances) == [50, 250]


def test_vertex_long_texts_split_by_tokens_each_request_a_batch(
    capsys: pytest.CaptureFixture[str],
) -> None:
    server = VertexServer()
    # ~3,000 estimated tokens each: Google's 20,000-token request limit fits 6 of them
    texts = [f"t{i} " + "word " * 1800 for i in range(14)]
    emb = server.embeddings("vertex_ai/text-embedding-004", show_progress=True)
    assert emb.embed_documents(texts) == [[float(i), 1.0] for i in range(14)]
    assert sorted(len(i) for i in server.instances) == [2, 6, 6]
    assert "Embedding: 14/14 inputs (3/3 batches)" in capsys.readouterr().err


def test_vertex_multimodal_model_mixes_text_and_media_in_order_without_task_types() -> None:
    server = VertexServer()
    emb = server.embeddings("vertex_ai/multimodalembedding@001", max_concurrency=1)
    data = b64(png(2, 2))
    vectors = emb.embed_multimodal(
        ["t1", {"type": "image", "base64": data, "mime_type": "image/png"},
         {"image": "gs://bucket/cat.png"}, {"type": "video", "url": "gs://bucket/clip.mp4"}]
    )  # fmt: skip
    assert vectors == [[1.0, 1.0], [0.5, 0.5], [0.5, 0.5], [0.5, 0.5]]
    assert emb.embed_query("t7") == [7.0, 1.0]
    assert emb.embed_image(["gs://bucket/dog.png"]) == [[0.5, 0.5]]
    assert server.instances == [
        [{"text": "t1"}],
        [{"image": {"bytesBase64Encoded": data}}],
        [{"image": {"gcsUri": "gs://bucket/cat.png"}}],
        [{"video": {"gcsUri": "gs://bucket/clip.mp4"}}],
        [{"text": "t7"}],
        [{"image": {"gcsUri": "gs://bucket/dog.png"}}],
    ]  # one instance per request, and no task_type: the model takes none


def test_vertex_multimodal_refuses_an_explicit_task_type_and_http_images() -> None:
    server = VertexServer()
    emb = server.embeddings("vertex_ai/multimodalembedding@001", task_type="RETRIEVAL_DOCUMENT")
    with pytest.raises(ModelInvalidRequestError, match="input_type") as info:
        emb.embed_documents(["t1"])
    assert isinstance(info.value, polymodal.UnsupportedParamsError)
    emb = server.embeddings("vertex_ai/multimodalembedding@001")
    with pytest.raises(ModelInvalidRequestError, match="Cloud Storage"):
        emb.embed_image(["https://example.com/cat.png"])
    assert server.requests == []


def test_vertex_video_segments_and_uri_like_text() -> None:
    server = VertexServer()
    emb = server.embeddings("vertex_ai/multimodalembedding@001", max_concurrency=1)
    vectors = emb.embed_video(["gs://bucket/clip.mp4"], start_offset_sec=0, end_offset_sec=20,
                              interval_sec=10)  # fmt: skip
    assert vectors == [[0.5, 0.5]]  # the mean of the two segment vectors
    assert server.instances[0] == [{"video": {"gcsUri": "gs://bucket/clip.mp4",
        "videoSegmentConfig": {"startOffsetSec": 0, "endOffsetSec": 20, "intervalSec": 10}}}]  # fmt: skip
    # a text that looks like a URI stays text, in embed_multimodal and embed_documents alike
    emb.embed_multimodal([{"text": "gs://bucket/not-a-picture.png"}])
    emb.embed_documents(["gs://bucket/a-path-as-text.png"])
    emb.embed_query("data:,just words")
    assert server.instances[1:] == [
        [{"text": "gs://bucket/not-a-picture.png"}],
        [{"text": "gs://bucket/a-path-as-text.png"}],
        [{"text": "data:,just words"}],
    ]
    # a text-only model gets the text as is
    server = Server()
    embeddings(server).embed_documents(["gs://bucket/a-path-as-text.png"])
    assert server.bodies[0]["input"] == ["gs://bucket/a-path-as-text.png"]


# --------------------------------------------------------------------------- images


def test_image_blocks_from_base64() -> None:
    server = Server(image=lambda body: [{"b64_json": b64(png(64, 32)), "revised_prompt": "R"}])
    gen = PolymodalImageGenerator(model="openai/dall-e-3", api_key="k", size="1024x1024",
                                  quality="hd", style="natural", **server.clients())  # fmt: skip
    blocks = gen.invoke("a fox")
    assert blocks == [
        {"type": "image", "base64": b64(png(64, 32)), "mime_type": "image/png",
         "extras": {"revised_prompt": "R"}},
    ]  # fmt: skip
    body = server.bodies[0]
    assert body["model"] == "dall-e-3" and body["prompt"] == "a fox"
    assert (body["size"], body["quality"], body["style"]) == ("1024x1024", "hd", "natural")


def test_image_blocks_from_urls_and_per_call_overrides() -> None:
    urls = ["https://img.example/1.png", "https://img.example/2.png"]
    server = Server(image=lambda body: [{"url": u} for u in urls[: body.get("n", 1)]])
    gen = PolymodalImageGenerator(model="openai/dall-e-2", api_key="k", response_format="url",
                                  **server.clients())  # fmt: skip
    blocks = gen.invoke("two foxes", n=2, size="256x256")
    assert blocks == [{"type": "image", "url": u, "mime_type": "image/png"} for u in urls]
    assert server.bodies[0]["n"] == 2 and server.bodies[0]["size"] == "256x256"
    assert server.bodies[0]["response_format"] == "url"


def test_image_inputs_from_chains() -> None:
    server = Server()
    gen = PolymodalImageGenerator(model="openai/gpt-image-1", api_key="k", **server.clients())
    chain = PromptTemplate.from_template("a poster of {animal}") | gen
    assert chain.invoke({"animal": "an owl"})[0]["mime_type"] == "image/png"
    gen.invoke(HumanMessage("a heron"))  # type: ignore[arg-type]
    gen.invoke({"prompt": "a crane"})  # type: ignore[arg-type]
    assert [b["prompt"] for b in server.bodies] == ["a poster of an owl", "a heron", "a crane"]


def test_image_values_a_model_does_not_take_fail_before_any_request() -> None:
    server = Server()
    gen = PolymodalImageGenerator(model="openai/dall-e-3", api_key="k", n=2, **server.clients())
    with pytest.raises(ModelInvalidRequestError, match="n=2") as info:
        gen.invoke("a fox")
    assert isinstance(info.value, polymodal.UnsupportedParamsError)
    assert server.requests == []


def test_image_batch_keeps_order_and_bounds_concurrency() -> None:
    server = Server(
        delay=0.05, image=lambda body: [{"url": f"https://i.example/{body['prompt']}.png"}]
    )
    gen = PolymodalImageGenerator(model="openai/dall-e-2", api_key="k", response_format="url",
                                  max_concurrency=2, **server.clients())  # fmt: skip
    prompts = [f"p{i}" for i in range(6)]
    out = gen.batch(prompts)
    assert [blocks[0]["url"] for blocks in out] == [f"https://i.example/{p}.png" for p in prompts]
    assert server.most_in_flight == 2
    server.most_in_flight = 0
    out = asyncio.run(gen.abatch(prompts, config={"max_concurrency": 3}))
    assert [blocks[0]["url"] for blocks in out] == [f"https://i.example/{p}.png" for p in prompts]
    assert server.most_in_flight == 3


async def test_image_ainvoke_uses_the_async_client() -> None:
    server = Server()
    gen = PolymodalImageGenerator(api_key="k", **server.clients())
    blocks = await gen.ainvoke("a fox")
    assert blocks[0]["type"] == "image" and server.bodies[0]["model"] == "gpt-image-1"


def test_image_tool_returns_summary_to_the_model_and_blocks_as_artifact() -> None:
    server = Server(image=lambda body: [{"b64_json": b64(png(48, 16)), "revised_prompt": "R2"}])
    gen = PolymodalImageGenerator(model="openai/dall-e-3", api_key="k", **server.clients())
    tool = gen.as_tool()
    assert tool.name == "generate_image" and tool.response_format == "content_and_artifact"
    assert list(tool.args) == ["prompt"]
    call = {"type": "tool_call", "id": "call-1", "name": tool.name, "args": {"prompt": "a fox"}}
    message = tool.invoke(call)
    assert isinstance(message, ToolMessage) and message.tool_call_id == "call-1"
    assert message.content == (
        "Generated 1 image (image/png, 48x16). The model drew it from this revised prompt: R2"
    )
    assert message.artifact == [
        {"type": "image", "base64": b64(png(48, 16)), "mime_type": "image/png",
         "extras": {"revised_prompt": "R2"}},
    ]  # fmt: skip
    amessage = asyncio.run(tool.ainvoke(call))
    assert amessage.content == message.content and amessage.artifact == message.artifact


def test_runs_are_traced_and_nest_under_the_tool_run() -> None:
    from langchain_core.tracers.context import collect_runs

    server = Server()
    gen = PolymodalImageGenerator(model="openai/gpt-image-1", api_key="k", **server.clients())
    with collect_runs() as runs:
        gen.as_tool().invoke(
            {"type": "tool_call", "id": "c", "name": "generate_image", "args": {"prompt": "x"}}
        )
    (tool_run,) = runs.traced_runs
    assert tool_run.run_type == "tool" and tool_run.name == "generate_image"
    (child,) = tool_run.child_runs
    assert child.name == "PolymodalImageGenerator" and child.inputs == {"input": "x"}
    assert child.outputs is not None and child.outputs["output"][0]["mime_type"] == "image/png"


def test_image_tool_with_a_schema_of_your_own() -> None:
    class Drawing(BaseModel):
        prompt: str = Field(description="what to draw")
        size: str | None = Field(default=None, description="1024x1024, 1792x1024 or 1024x1792")

    server = Server()
    tool = PolymodalImageGenerator(model="openai/dall-e-3", api_key="k", **server.clients()
                                   ).as_tool(Drawing, name="draw", description="Draw.")  # fmt: skip
    assert (tool.name, tool.description, sorted(tool.args)) == ("draw", "Draw.", ["prompt", "size"])
    tool.invoke({"type": "tool_call", "id": "c", "name": "draw",
                 "args": {"prompt": "a fox", "size": "1792x1024"}})  # fmt: skip
    assert server.bodies[0]["size"] == "1792x1024"
    with pytest.raises(ValueError, match="needs a 'prompt' field"):
        PolymodalImageGenerator().as_tool(BaseModel)


def test_image_tool_refusals_go_back_to_the_model_other_errors_raise() -> None:
    server = Server()
    gen = PolymodalImageGenerator(model="openai/dall-e-3", api_key="k", size="999x999",
                                  **server.clients())  # fmt: skip
    call = {"type": "tool_call", "id": "c", "name": "generate_image", "args": {"prompt": "x"}}
    message = gen.as_tool().invoke(call)
    assert message.status == "error" and message.artifact is None
    assert "the request was refused" in message.content and "999x999" in message.content
    failing = Server(status=401)
    gen = PolymodalImageGenerator(model="openai/dall-e-3", api_key="k", max_retries=0,
                                  **failing.clients())  # fmt: skip
    with pytest.raises(ModelAuthenticationError):
        gen.as_tool().invoke(call)


# --------------------------------------------------------------------------- speech


def test_audio_block_and_fields() -> None:
    server = Server()
    speak = PolymodalSpeech(model="openai/gpt-4o-mini-tts", voice="coral", speed=1.25,
                            instructions="cheerful", api_key="k", **server.clients())  # fmt: skip
    block = speak.invoke("Hello there")
    assert block == {"type": "audio", "base64": b64(b"ID3\x04\x00fake-mp3"),
                     "mime_type": "audio/mpeg"}  # fmt: skip
    body = server.bodies[0]
    assert (body["input"], body["voice"], body["speed"], body["instructions"]) == (
        "Hello there", "coral", 1.25, "cheerful",
    )  # fmt: skip
    speak.invoke("again", voice="nova")
    assert server.bodies[1]["voice"] == "nova"


def test_speech_tool_summary_and_artifact() -> None:
    audio = wav(1.5)
    server = Server(audio=(audio, "audio/wav"))
    speak = PolymodalSpeech(model="openai/tts-1", voice="alloy", response_format="wav",
                            api_key="k", **server.clients())  # fmt: skip
    tool = speak.as_tool()
    assert tool.name == "text_to_speech" and list(tool.args) == ["text"]
    call = {"type": "tool_call", "id": "c", "name": tool.name, "args": {"text": "Good morning"}}
    message = tool.invoke(call)
    assert message.content == (
        f"Spoke 12 characters as audio (audio/wav, 1.5 s, {len(audio):,} bytes)."
    )
    assert message.artifact == {"type": "audio", "base64": b64(audio), "mime_type": "audio/wav"}
    assert asyncio.run(tool.ainvoke(call)).artifact == message.artifact


def test_speech_without_a_voice_fails_clearly_before_any_request() -> None:
    server = Server()
    speak = PolymodalSpeech(model="openai/tts-1", api_key="k", **server.clients())
    with pytest.raises(ModelInvalidRequestError, match="voice is required"):
        speak.invoke("hi")
    message = speak.as_tool().invoke(
        {"type": "tool_call", "id": "c", "name": "text_to_speech", "args": {"text": "hi"}}
    )
    assert message.status == "error" and "voice is required" in message.content
    assert server.requests == []


async def test_speech_async_batch_in_order() -> None:
    server = Server(delay=0.01)
    speak = PolymodalSpeech(model="openai/tts-1", voice="alloy", api_key="k", **server.clients())
    blocks = await speak.abatch(["one", "two", "three"])
    assert [b["mime_type"] for b in blocks] == ["audio/mpeg"] * 3
    assert sorted(b["input"] for b in server.bodies) == ["one", "three", "two"]


# --------------------------------------------------------------------------- helpers


def test_image_size_from_headers() -> None:
    assert image_size(b64(png(640, 480))) == (640, 480)
    gif = b"GIF89a" + struct.pack("<HH", 33, 17) + b"\x00" * 20
    assert image_size(b64(gif)) == (33, 17)
    sof = b"\xff\xc0" + struct.pack(">HBHH", 17, 8, 300, 400) + b"\x03" + b"\x00" * 9
    jpeg = b"\xff\xd8" + b"\xff\xe0" + struct.pack(">H", 16) + b"JFIF\x00" + b"\x00" * 9 + sof
    assert image_size(b64(jpeg)) == (400, 300)
    vp8x = b"RIFF\x00\x00\x00\x00WEBPVP8X" + b"\x0a\x00\x00\x00" + b"\x00" * 4
    vp8x += (99).to_bytes(3, "little") + (49).to_bytes(3, "little")
    assert image_size(b64(vp8x)) == (100, 50)
    assert image_size(b64(b"not an image at all")) is None
    assert image_size(None) is None


def test_audio_seconds() -> None:
    assert audio_seconds(wav(2.0, rate=8000), "audio/wav") == pytest.approx(2.0)
    assert audio_seconds(b"\x00" * 48000, "audio/L16;rate=24000;channels=1") == pytest.approx(1.0)
    assert audio_seconds(b"ID3...", "audio/mpeg") is None


def test_prompt_text() -> None:
    assert prompt_text("x", "prompt") == "x"
    assert prompt_text({"prompt": "y"}, "prompt") == "y"
    assert prompt_text(PromptTemplate.from_template("{a}!").invoke({"a": "z"}), "prompt") == "z!"
    with pytest.raises(ValueError, match="'prompt'"):
        prompt_text({"other": 1}, "prompt")
