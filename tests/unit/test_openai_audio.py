"""OpenAI-family speech (``/audio/speech``): validation, body, binary decoding and mime types.

Expected values come from OpenAI's API reference for ``CreateSpeechRequest`` (voices, formats
mp3/opus/aac/flac/wav/pcm, speed 0.25-4.0, ``instructions`` not for tts-1 / tts-1-hd) and from
the file signatures of each container (RIFF/WAVE, fLaC, OggS, ID3 / MPEG frame sync, ADTS).
"""

from __future__ import annotations

import asyncio
import base64
import json
from pathlib import Path
from typing import Any

import httpx
import pytest

import polymodal
from polymodal import errors
from polymodal._warn import DroppedParamWarning
from polymodal.apis import openai_audio as api


@pytest.fixture(autouse=True)
def _no_ambient_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    """Environment a developer (or another test) left set must not steer these requests."""
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "OPENAI_API_BASE", "AZURE_API_KEY",
                 "AZURE_API_BASE", "AZURE_OPENAI_ENDPOINT", "AZURE_API_VERSION"):  # fmt: skip
        monkeypatch.delenv(name, raising=False)


KEY = "sk-test"
WAV = b"RIFF\x24\x00\x00\x00WAVEfmt " + bytes(28)
MP3 = b"\xff\xf3\x84\xc4" + bytes(188)
ID3 = b"ID3\x04\x00\x00\x00\x00\x00\x00" + MP3
FLAC = b"fLaC\x80\x00\x00\x22" + bytes(34)
OGG = b"OggS\x00\x02" + bytes(20)
ADTS = b"\xff\xf1\x58\x40\x01\x7f\xfc\x00\x00\x00\x07"
PCM = b"\x00\x00\x10\x00" * 8


class Server:
    def __init__(self, content: bytes = MP3, content_type: str = "audio/mpeg") -> None:
        self.requests: list[httpx.Request] = []
        self.content = content
        self.content_type = content_type

    @property
    def bodies(self) -> list[dict[str, Any]]:
        return [json.loads(r.content) for r in self.requests]

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return httpx.Response(
            200, content=self.content, headers={"content-type": self.content_type}
        )

    def client(self) -> httpx.Client:
        return httpx.Client(transport=httpx.MockTransport(self))


def speak(server: Server, model: str = "openai/tts-1", **kw: Any) -> Any:
    kw.setdefault("api_key", KEY)
    kw.setdefault("voice", "alloy")
    return polymodal.speech(model, "The quick brown fox jumped over the lazy dog.",
                            client=server.client(), max_retries=0, **kw)  # fmt: skip


def test_docs_request_example() -> None:
    # API reference: model gpt-4o-mini-tts, input, voice "alloy" (+ the optional fields).
    server = Server()
    speak(server, "openai/gpt-4o-mini-tts", response_format="wav", speed=1.25,
          instructions="Speak in a cheerful and positive tone.")  # fmt: skip
    assert server.bodies[0] == {
        "model": "gpt-4o-mini-tts",
        "input": "The quick brown fox jumped over the lazy dog.",
        "voice": "alloy",
        "response_format": "wav",
        "speed": 1.25,
        "instructions": "Speak in a cheerful and positive tone.",
    }
    assert str(server.requests[0].url) == "https://api.openai.com/v1/audio/speech"
    assert server.requests[0].headers["authorization"] == f"Bearer {KEY}"


def test_custom_voice_object_and_stream_format_pass_through() -> None:
    server = Server()
    speak(server, "openai/gpt-4o-mini-tts", voice={"id": "voice_1234"}, stream_format="audio")
    assert server.bodies[0]["voice"] == {"id": "voice_1234"}
    assert server.bodies[0]["stream_format"] == "audio"


@pytest.mark.parametrize(
    ("kw", "param", "match"),
    [
        ({"voice": None}, "voice", "voice is required"),
        ({"voice": {"name": "x"}}, "voice", "voice must be a voice name"),
        ({"response_format": "ogg"}, "response_format", "response_format must be one of"),
        ({"speed": 4.5}, "speed", "speed must be from 0.25 to 4.0"),
        ({"speed": 0.2}, "speed", "speed must be from 0.25 to 4.0"),
        ({"speed": "fast"}, "speed", "speed must be a positive number"),
        ({"instructions": "whisper"}, "instructions", "tts-1 and tts-1-hd take no instructions"),
        ({"pitch": 3}, "pitch", "pitch is not an OpenAI speech parameter"),
    ],
)
def test_refused_before_io(kw: dict[str, Any], param: str, match: str) -> None:
    server = Server()
    with pytest.raises(errors.BadRequestError, match=match) as info:
        speak(server, **kw)
    assert server.requests == []
    assert info.value.param == param
    assert info.value.provider == "openai" and info.value.model == "tts-1"


def test_instructions_dropped_for_tts_1_hd_with_drop_params() -> None:
    server = Server()
    with pytest.warns(DroppedParamWarning, match="instructions"):
        speak(server, "openai/tts-1-hd", instructions="whisper", drop_params=True)
    assert "instructions" not in server.bodies[0]


def test_input_limits() -> None:
    with pytest.raises(errors.BadRequestError, match="at most 4096"):
        polymodal.speech("openai/tts-1", "x" * 4097, voice="alloy", api_key=KEY)
    with pytest.raises(errors.BadRequestError, match="input must be a non-empty string"):
        polymodal.speech("openai/tts-1", "", voice="alloy", api_key=KEY)


def test_compatible_servers_take_their_own_voices_and_formats() -> None:
    server = Server(OGG, "audio/ogg")
    result = polymodal.speech("openai/kokoro", "hi", voice="af_bella", response_format="ogg",
                              speed=5.0, api_base="http://127.0.0.1:9/v1", client=server.client())  # fmt: skip
    assert server.bodies[0]["voice"] == "af_bella"
    assert result.mime_type == "audio/ogg"


def test_an_embedding_model_is_not_a_speech_model() -> None:
    with pytest.raises(errors.BadRequestError, match="not a text-to-speech model"):
        polymodal.speech("openai/text-embedding-3-small", "hi", voice="alloy", api_key=KEY)


# --------------------------------------------------------------------------- decode and mime


@pytest.mark.parametrize(
    ("fmt", "content", "content_type", "mime"),
    [
        ("mp3", MP3, "audio/mpeg", "audio/mpeg"),
        ("mp3", ID3, "audio/mpeg", "audio/mpeg"),
        ("opus", OGG, "audio/opus", "audio/ogg"),
        ("aac", ADTS, "audio/aac", "audio/aac"),
        ("flac", FLAC, "audio/flac", "audio/flac"),
        ("wav", WAV, "audio/wav", "audio/wav"),
        ("pcm", PCM, "audio/pcm", "audio/L16;rate=24000;channels=1"),
        ("pcm", PCM, "application/octet-stream", "audio/L16;rate=24000;channels=1"),
        ("mp3", WAV, "audio/mpeg", "audio/wav"),  # the bytes win over what was asked
        (None, b"\x01\x02", "audio/x-custom", "audio/x-custom"),
        ("aac", b"\x01\x02", "application/octet-stream", "audio/aac"),
        ("weird", b"\x01\x02", "application/octet-stream", "application/octet-stream"),
    ],
)
def test_mime_types(fmt: str | None, content: bytes, content_type: str, mime: str) -> None:
    assert api.audio_mime(content, content_type, fmt) == mime


def test_speech_response_bytes_and_files(tmp_path: Path) -> None:
    server = Server(WAV, "audio/wav")
    result = speak(server, response_format="wav")
    assert result.content == WAV and result.read() == WAV
    assert result.mime_type == "audio/wav" and result.response_format == "wav"
    assert "bytes" in repr(result) and "RIFF" not in repr(result)
    result.stream_to_file(tmp_path / "a.wav")
    result.write_to_file(str(tmp_path / "b.wav"))
    assert (tmp_path / "a.wav").read_bytes() == WAV == (tmp_path / "b.wav").read_bytes()
    assert base64.b64decode(result.to_base64()) == WAV


def test_default_format_is_mp3() -> None:
    server = Server()
    result = speak(server)
    assert result.response_format == "mp3" and result.mime_type == "audio/mpeg"
    assert "response_format" not in server.bodies[0]  # OpenAI's default is mp3


def test_json_error_behind_2xx() -> None:
    body = json.dumps({"error": {"message": "voice not found", "type": "invalid_request_error"}})
    server = Server(body.encode(), "application/json")
    with pytest.raises(errors.PolymodalError, match="voice not found") as info:
        speak(server)
    assert info.value.provider == "openai"


def test_empty_audio_is_an_error() -> None:
    with pytest.raises(errors.InternalServerError, match="empty body"):
        speak(Server(b"", "audio/mpeg"))


def test_http_errors_are_mapped() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        err = {"message": "Incorrect API key provided", "type": "invalid_request_error"}
        return httpx.Response(401, json={"error": err})

    client = httpx.Client(transport=httpx.MockTransport(handler))
    with pytest.raises(errors.AuthenticationError) as info:
        polymodal.speech("openai/tts-1", "hi", voice="alloy", api_key=KEY, client=client)
    assert (info.value.status_code, info.value.model) == (401, "tts-1")


def test_azure_speech_url() -> None:
    server = Server()
    polymodal.speech("azure/tts", "hi", voice="nova", api_base="https://r.openai.azure.com",
                     api_key="k", api_version="2025-03-01-preview", client=server.client())  # fmt: skip
    assert str(server.requests[0].url) == (
        "https://r.openai.azure.com/openai/deployments/tts/audio/speech"
        "?api-version=2025-03-01-preview"
    )


def test_aspeech() -> None:
    server = Server(FLAC, "audio/flac")

    async def run() -> Any:
        async with httpx.AsyncClient(transport=httpx.MockTransport(server)) as client:
            return await polymodal.aspeech("openai/tts-1-hd", "hi", voice="echo",
                                           response_format="flac", api_key=KEY, client=client)  # fmt: skip

    result = asyncio.run(run())
    assert result.content == FLAC and result.mime_type == "audio/flac"


def test_speech_response_json_carries_base64() -> None:
    result = speak(Server(MP3, "audio/mpeg"))
    dumped = json.loads(result.model_dump_json())
    assert base64.b64decode(dumped["content"]) == MP3
    assert dumped["mime_type"] == "audio/mpeg"
