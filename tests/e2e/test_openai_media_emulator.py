"""The emulator's embeddings, images and speech endpoints over real loopback HTTP, driven by the
official ``openai`` SDK (an independent client: it proves the wire shapes are OpenAI's), by plain
httpx and by ``polymodal`` itself (sync and async, batching, errors).

Audio files are checked with independent readers: the stdlib ``wave`` module for WAV, the
containers' own signatures and frame headers for the others.
"""

from __future__ import annotations

import asyncio
import base64
import io
import math
import struct
import wave
import zlib
from collections.abc import Iterator
from typing import Any

import httpx
import openai
import pytest

import polymodal
from polymodal import errors
from polymodal.testing import Emulator, default_formats
from polymodal.testing.openai_media import OpenAIMedia


@pytest.fixture(autouse=True)
def _no_ambient_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    """Environment a developer (or another test) left set must not steer these requests."""
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "OPENAI_API_BASE", "AZURE_API_KEY",
                 "AZURE_API_BASE", "AZURE_OPENAI_ENDPOINT", "AZURE_API_VERSION"):  # fmt: skip
        monkeypatch.delenv(name, raising=False)


def _formats() -> list[Any]:
    formats = default_formats()
    if not any(isinstance(f, OpenAIMedia) for f in formats):
        formats.insert(0, OpenAIMedia())
    return formats


@pytest.fixture
def emu() -> Iterator[Emulator]:
    with Emulator(formats=_formats()) as e:
        yield e


@pytest.fixture
def sdk(emu: Emulator) -> openai.OpenAI:
    return openai.OpenAI(base_url=emu.openai_base, api_key="sk-emu", max_retries=0)


def cosine(a: list[float], b: list[float]) -> float:
    return sum(x * y for x, y in zip(a, b, strict=True)) / math.sqrt(
        sum(x * x for x in a) * sum(y * y for y in b)
    )


# --------------------------------------------------------------------------- embeddings


def test_sdk_reads_the_default_base64_vectors(sdk: openai.OpenAI, emu: Emulator) -> None:
    texts = ["The cat sat on the mat", "A cat sat on a mat", "Quarterly revenue grew 8%"]
    result = sdk.embeddings.create(model="text-embedding-3-small", input=texts)
    assert emu.requests[-1].json["encoding_format"] == "base64"  # the SDK's own default
    vectors = [d.embedding for d in result.data]
    assert [len(v) for v in vectors] == [1536] * 3  # the registry's size for the model
    assert all(abs(math.sqrt(sum(x * x for x in v)) - 1) < 1e-5 for v in vectors)
    assert cosine(vectors[0], vectors[1]) > 0.4 > 0.1 > abs(cosine(vectors[0], vectors[2]))
    assert result.usage.prompt_tokens == result.usage.total_tokens > 0


def test_same_text_same_vector_and_floats_match_base64(sdk: openai.OpenAI) -> None:
    b64 = sdk.embeddings.create(model="text-embedding-3-large", input="hello world")
    floats = sdk.embeddings.create(
        model="text-embedding-3-large", input="hello world", encoding_format="float"
    )
    again = sdk.embeddings.create(model="text-embedding-3-large", input="hello world")
    assert len(b64.data[0].embedding) == 3072
    assert b64.data[0].embedding == again.data[0].embedding
    assert (
        max(
            abs(x - y) for x, y in zip(b64.data[0].embedding, floats.data[0].embedding, strict=True)
        )
        < 1e-8
    )


def test_dimensions_and_retrieval(emu: Emulator) -> None:
    docs = [
        "Paris is the capital of France",
        "The mitochondria is the powerhouse of the cell",
        "Python is a programming language",
    ]
    kw: dict[str, Any] = {"api_base": emu.openai_base, "api_key": "k", "dimensions": 256}
    doc_vectors = [
        d.embedding for d in polymodal.embedding("openai/text-embedding-3-small", docs, **kw).data
    ]
    query = polymodal.embedding(
        "openai/text-embedding-3-small", "What is the capital of France?", **kw
    )
    scores = [cosine(query.data[0].embedding, v) for v in doc_vectors]
    assert len(query.data[0].embedding) == 256
    assert scores.index(max(scores)) == 0


def _error(emu: Emulator, body: dict[str, Any], path: str = "/v1/embeddings") -> dict[str, Any]:
    resp = httpx.post(emu.url + path, json=body)
    assert resp.status_code == 400, resp.text
    error: dict[str, Any] = resp.json()["error"]
    assert error["type"] == "invalid_request_error"
    return error


def test_embedding_errors_in_openai_shape(emu: Emulator) -> None:
    assert (
        "does not support specifying dimensions"
        in _error(emu, {"model": "text-embedding-ada-002", "input": "x", "dimensions": 8})[
            "message"
        ]
    )
    assert (
        "'$.input' is invalid"
        in _error(emu, {"model": "text-embedding-3-small", "input": ""})["message"]
    )
    too_many = _error(emu, {"model": "text-embedding-3-small", "input": ["a"] * 2049})
    assert too_many["code"] == "array_above_max_length"
    assert _error(emu, {"model": "m", "input": "x", "encoding_format": "int8"})["param"] == (
        "encoding_format"
    )


def test_polymodal_splits_above_2048_which_the_emulator_refuses(emu: Emulator) -> None:
    texts = [f"note {i}" for i in range(4500)]
    result = polymodal.embedding("openai/text-embedding-3-small", texts, api_base=emu.openai_base,
                                 api_key="k", dimensions=8)  # fmt: skip
    sizes = [len(r.json["input"]) for r in emu.requests]
    assert sizes == [2048, 2048, 404]
    single = polymodal.embedding("openai/text-embedding-3-small", "note 4321",
                                 api_base=emu.openai_base, api_key="k", dimensions=8)  # fmt: skip
    assert result.data[4321].embedding == single.data[0].embedding
    assert result.usage.prompt_tokens == 2 * 4500


def test_aembedding_concurrent_batches(emu: Emulator) -> None:
    texts = [f"item {i}" for i in range(3000)]

    async def run() -> Any:
        return await polymodal.aembedding("openai/text-embedding-3-small", texts,
                                          api_base=emu.openai_base, api_key="k", dimensions=4)  # fmt: skip

    result = asyncio.run(run())
    check = polymodal.embedding("openai/text-embedding-3-small", texts[2999:],
                                api_base=emu.openai_base, api_key="k", dimensions=4)  # fmt: skip
    assert len(result.data) == 3000
    assert result.data[2999].embedding == check.data[0].embedding


def test_azure_embeddings(emu: Emulator) -> None:
    client = openai.AzureOpenAI(
        azure_endpoint=emu.azure_endpoint, api_key="k", api_version="2024-02-01", max_retries=0
    )
    via_sdk = client.embeddings.create(model="my-embedder", input=["a b", "c"])
    ours = polymodal.embedding("azure/my-embedder", ["a b", "c"], api_base=emu.azure_endpoint,
                               api_key="k", api_version="2024-02-01")  # fmt: skip
    assert [d.embedding for d in via_sdk.data] == [d.embedding for d in ours.data]
    assert emu.requests[-1].path == "/openai/deployments/my-embedder/embeddings"
    missing_version = httpx.post(emu.url + "/openai/deployments/x/embeddings", json={"input": "a"})
    assert missing_version.status_code == 404


def test_api_key_is_enforced(emu: Emulator) -> None:
    emu.api_key = "sk-right"
    with pytest.raises(errors.AuthenticationError, match="Incorrect API key"):
        polymodal.embedding("openai/text-embedding-3-small", "x", api_base=emu.openai_base,
                            api_key="sk-wrong-key-123")  # fmt: skip
    with pytest.raises(errors.AuthenticationError, match="Access denied"):
        polymodal.speech("azure/tts", "x", voice="alloy", api_base=emu.azure_endpoint,
                         api_key="nope")  # fmt: skip
    ok = polymodal.embedding("openai/text-embedding-3-small", "x", api_base=emu.openai_base,
                             api_key="sk-right")  # fmt: skip
    assert len(ok.data) == 1


# --------------------------------------------------------------------------- images


def png_info(raw: bytes) -> tuple[int, int]:
    assert raw[:8] == b"\x89PNG\r\n\x1a\n"
    width, height, depth, colour = struct.unpack(">IIBB", raw[16:26])
    idat = raw.index(b"IDAT")
    length = struct.unpack(">I", raw[idat - 4 : idat])[0]
    assert len(zlib.decompress(raw[idat + 4 : idat + 4 + length])) == height * (1 + 3 * width)
    assert (depth, colour) == (8, 2)
    return width, height


def test_sdk_images_b64_and_url(sdk: openai.OpenAI) -> None:
    b64 = sdk.images.generate(model="dall-e-2", prompt="otter", n=3, size="256x256",
                              response_format="b64_json")  # fmt: skip
    assert len(b64.data) == 3
    images = [base64.b64decode(d.b64_json or "") for d in b64.data]
    assert all(png_info(i) == (256, 256) for i in images)
    assert len(set(images)) == 3  # one colour scheme per image
    url = sdk.images.generate(model="dall-e-3", prompt="otter", size="1024x1792")
    assert url.data[0].revised_prompt and url.data[0].url
    fetched = httpx.get(url.data[0].url)
    assert png_info(fetched.content) == (1024, 1792)


def test_gpt_image_answers_in_base64_with_usage(sdk: openai.OpenAI) -> None:
    result = sdk.images.generate(model="gpt-image-1", prompt="otter", size="1536x1024",
                                 quality="low", background="transparent")  # fmt: skip
    assert png_info(base64.b64decode(result.data[0].b64_json or "")) == (1536, 1024)
    assert result.usage is not None and result.usage.total_tokens > 0
    assert (result.size, result.quality, result.output_format) == ("1536x1024", "low", "png")
    jpeg = sdk.images.generate(model="gpt-image-1", prompt="otter", output_format="jpeg")
    raw = base64.b64decode(jpeg.data[0].b64_json or "")
    assert raw[:3] == b"\xff\xd8\xff" and raw.endswith(b"\xff\xd9")
    sof = raw.index(b"\xff\xc0")
    assert struct.unpack(">HH", raw[sof + 5 : sof + 9]) == (1024, 1024)  # height, width


def test_gpt_image_response_format_error_is_openais(emu: Emulator) -> None:
    """The same error body OpenAI sent (vercel-ai/openai/__fixtures__/
    gpt-image-response-format-error.json)."""
    error = _error(emu, {"model": "gpt-image-1", "prompt": "x", "response_format": "url"},
                   "/v1/images/generations")  # fmt: skip
    assert error == {
        "message": "Unknown parameter: 'response_format'.",
        "type": "invalid_request_error",
        "param": "response_format",
        "code": "unknown_parameter",
    }


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"model": "dall-e-3", "prompt": "x", "n": 2}, "n"),
        ({"model": "dall-e-3", "prompt": "x", "size": "256x256"}, "size"),
        ({"model": "dall-e-2", "prompt": "x", "style": "vivid"}, "style"),
        ({"model": "gpt-image-1", "prompt": "x", "quality": "hd"}, "quality"),
        ({"model": "dall-e-3", "prompt": "x", "background": "opaque"}, "background"),
        ({"model": "dall-e-2"}, "prompt"),
    ],
)
def test_image_rules_in_the_emulator(emu: Emulator, body: dict[str, Any], param: str) -> None:
    assert _error(emu, body, "/v1/images/generations")["param"] == param


def test_polymodal_images_against_azure_and_async(emu: Emulator) -> None:
    azure = polymodal.image_generation("otter", model="azure/dall-e-3", api_base=emu.azure_endpoint,
                                       api_key="k", response_format="b64_json")  # fmt: skip
    assert png_info(base64.b64decode(azure.data[0].b64_json or "")) == (1024, 1024)
    assert emu.requests[-1].query["api-version"]

    async def run() -> Any:
        return await polymodal.aimage_generation("otter", model="openai/gpt-image-1",
                                                 api_base=emu.openai_base, api_key="k", n=2)  # fmt: skip

    result = asyncio.run(run())
    assert len(result.data) == 2 and result.usage["output_tokens"] == 544


# --------------------------------------------------------------------------- speech


def test_sdk_speech_wav_is_a_real_wav(sdk: openai.OpenAI) -> None:
    audio = sdk.audio.speech.create(model="tts-1", voice="alloy", input="Hello there, world",
                                    response_format="wav")  # fmt: skip
    with wave.open(io.BytesIO(audio.content)) as w:
        assert (w.getnchannels(), w.getsampwidth(), w.getframerate()) == (1, 2, 24000)
        frames = w.readframes(w.getnframes())
    assert 0.5 <= len(frames) / 2 / 24000 <= 1.5  # about 0.3 s per word
    assert max(abs(s) for s in struct.unpack(f"<{len(frames) // 2}h", frames)) > 1000  # a beep


def _mp3_frames(raw: bytes) -> int:
    count, pos = 0, 0
    while pos + 4 <= len(raw):
        header = raw[pos : pos + 4]
        assert header[0] == 0xFF and header[1] & 0xE0 == 0xE0, f"no frame sync at {pos}"
        version, layer = (header[1] >> 3) & 3, (header[1] >> 1) & 3
        assert (version, layer) == (2, 1)  # MPEG-2, Layer III
        bitrate = [0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160][header[2] >> 4]
        rate = [22050, 24000, 16000][(header[2] >> 2) & 3]
        pos += 72 * bitrate * 1000 // rate + ((header[2] >> 1) & 1)
        count += 1
    assert pos == len(raw)
    return count


@pytest.mark.parametrize(
    ("fmt", "content_type", "mime"),
    [
        ("mp3", "audio/mpeg", "audio/mpeg"),
        ("opus", "audio/opus", "audio/ogg"),
        ("aac", "audio/aac", "audio/aac"),
        ("flac", "audio/flac", "audio/flac"),
        ("wav", "audio/wav", "audio/wav"),
        ("pcm", "audio/pcm", "audio/L16;rate=24000;channels=1"),
    ],
)
def test_every_format_round_trips(emu: Emulator, fmt: str, content_type: str, mime: str) -> None:
    result = polymodal.speech("openai/gpt-4o-mini-tts", "one two three four", voice="coral",
                              response_format=fmt, instructions="calm",
                              api_base=emu.openai_base, api_key="k")  # fmt: skip
    raw = result.content
    assert result.mime_type == mime
    resp = httpx.post(emu.openai_base + "/audio/speech",
                      json={"model": "tts-1", "input": "x", "voice": "ash", "response_format": fmt})  # fmt: skip
    assert resp.headers["content-type"] == content_type
    if fmt == "mp3":
        assert _mp3_frames(raw) == math.ceil(1.2 * 24000 / 576)
    elif fmt == "opus":
        assert raw[:4] == b"OggS" and raw[28:36] == b"OpusHead" and b"OpusTags" in raw
    elif fmt == "aac":
        assert raw[:2] == b"\xff\xf1" and len(raw) % 11 == 0
    elif fmt == "flac":
        assert raw[:4] == b"fLaC"
        total = int.from_bytes(raw[8 + 10 : 8 + 18], "big") & ((1 << 36) - 1)
        assert total == round(1.2 * 24000)
    elif fmt == "pcm":
        assert len(raw) == 2 * round(1.2 * 24000)


def test_speed_shortens_the_audio(emu: Emulator) -> None:
    kw: dict[str, Any] = {"voice": "alloy", "response_format": "pcm", "api_base": emu.openai_base,
                          "api_key": "k"}  # fmt: skip
    slow = polymodal.speech("openai/tts-1", "a b c d e f", **kw)
    fast = polymodal.speech("openai/tts-1", "a b c d e f", speed=2.0, **kw)
    assert len(fast.content) * 2 == len(slow.content)


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"model": "tts-1", "input": "x"}, "voice"),
        ({"model": "tts-1", "input": "x", "voice": "robot"}, "voice"),
        ({"model": "tts-1", "input": "x", "voice": "alloy", "speed": 9}, "speed"),
        ({"model": "tts-1", "input": "x", "voice": "alloy", "response_format": "ogg"},
         "response_format"),
        ({"model": "tts-1-hd", "input": "x", "voice": "alloy", "instructions": "calm"},
         "instructions"),
    ],
)  # fmt: skip
def test_speech_errors_in_openai_shape(emu: Emulator, body: dict[str, Any], param: str) -> None:
    assert _error(emu, body, "/v1/audio/speech")["param"] == param


def test_aspeech_against_azure(emu: Emulator, tmp_path: Any) -> None:
    async def run() -> Any:
        return await polymodal.aspeech("azure/my-tts", "Hello", voice="nova", response_format="wav",
                                       api_base=emu.azure_endpoint, api_key="k")  # fmt: skip

    result = asyncio.run(run())
    assert emu.requests[-1].path == "/openai/deployments/my-tts/audio/speech"
    result.stream_to_file(tmp_path / "hello.wav")
    with wave.open(str(tmp_path / "hello.wav")) as w:
        assert w.getframerate() == 24000
