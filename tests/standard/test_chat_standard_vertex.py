"""langchain-tests' standard suites for ChatPolymodal on Vertex AI Gemini.

* ``TestChatPolymodalVertexUnit``: the unit suite (nothing is called).
* ``TestChatPolymodalVertexOnEmulator``: the integration suite, offline, against polymodal's
  emulator speaking Vertex AI (``generateContent`` / ``streamGenerateContent``) with Google's OAuth2
  token endpoint; credentials are an emulator service account (``service_account_json``), so every
  request goes through google-auth's service-account flow. The emulator answers deterministically
  (tool calls with arguments synthesized from the tool's schema, text that quotes the prompt or the
  tool result, schema instances for structured output); tests that need a model that *understands*
  the prompt are marked xfail, each with the exact reason.

The integration suite downloads its media fixtures (a PDF, a WAV, a PNG) with ``httpx.get``, and
polymodal downloads an https image itself before sending it to Vertex (``polymodal.media.fetch``:
Vertex fetches URLs as a robots.txt-obeying crawler); there is no network here, so both are
served from small local files of the same types.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from langchain_tests.integration_tests import ChatModelIntegrationTests
from langchain_tests.unit_tests import ChatModelUnitTests

import polymodal
import polymodal.media
from langchain_polymodal import ChatPolymodal
from polymodal.auth import google as gauth
from polymodal.media import FetchedMedia
from polymodal.testing import Emulator
from polymodal.testing.google_oauth import service_account_json

MODEL = "vertex_ai/gemini-2.5-flash"
_EMULATOR: Emulator | None = None

_PROMPT_UNDERSTANDING = (
    "the emulator synthesizes tool arguments from the JSON Schema (minimum valid values, e.g. "
    "{'input': 1}); it cannot read the value the prompt asks for, which this test asserts"
)


def _png() -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00\xff\x00\x00")
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


def _wav() -> bytes:
    samples = b"\x00\x00" * 800  # 0.1 s of 8 kHz 16-bit mono silence
    fmt = struct.pack("<HHIIHH", 1, 1, 8000, 16000, 2, 16)
    data = b"fmt " + struct.pack("<I", len(fmt)) + fmt + b"data" + struct.pack("<I", len(samples))
    return b"RIFF" + struct.pack("<I", 4 + len(data) + len(samples)) + b"WAVE" + data + samples


_PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    b"2 0 obj<</Type/Pages/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
)


def _local_media(url: str, **_: Any) -> httpx.Response:
    if url.endswith(".pdf"):
        return httpx.Response(200, content=_PDF)
    if url.endswith(".wav"):
        return httpx.Response(200, content=_wav())
    if url.endswith(".png"):
        return httpx.Response(200, content=_png())
    raise AssertionError(f"unexpected download in the standard suite: {url}")


def _fetch(url: str, *, mime_type: str | None = None, **_: Any) -> FetchedMedia:
    return FetchedMedia(_local_media(url).content, mime_type or "image/png", url)


async def _afetch(url: str, *, mime_type: str | None = None, **_: Any) -> FetchedMedia:
    return _fetch(url, mime_type=mime_type)


class TestChatPolymodalVertexUnit(ChatModelUnitTests):
    @property
    def chat_model_class(self) -> type[ChatPolymodal]:
        return ChatPolymodal

    @property
    def chat_model_params(self) -> dict[str, Any]:
        return {"model": MODEL, "vertex_project": "my-project", "vertex_location": "us-central1"}

    @property
    def has_tool_calling(self) -> bool:
        return True

    @property
    def has_tool_choice(self) -> bool:
        return True

    @property
    def has_structured_output(self) -> bool:
        return True

    @property
    def supports_json_mode(self) -> bool:
        return True

    @property
    def supports_image_inputs(self) -> bool:
        return True

    @property
    def supports_image_urls(self) -> bool:
        return True

    @property
    def supports_pdf_inputs(self) -> bool:
        return True

    @property
    def supports_audio_inputs(self) -> bool:
        return True

    @property
    def supports_video_inputs(self) -> bool:
        return True

    @property
    def supports_image_tool_message(self) -> bool:
        return True

    @property
    def supports_pdf_tool_message(self) -> bool:
        return True

    @property
    def returns_usage_metadata(self) -> bool:
        return True

    @property
    def init_from_env_params(self) -> tuple[dict[str, str], dict[str, Any], dict[str, Any]]:
        # Vertex settings are read from the environment at call time, by the core, for the
        # provider the (possibly per-call) model routes to -- never copied onto the instance at
        # construction. What this asserts is that construction with only the environment set
        # works and leaves the fields unset; tests/e2e/test_chat_langchain_vertex.py
        # (test_environment_is_read_at_call_time) shows the environment reaching the wire.
        return (
            {
                "GOOGLE_APPLICATION_CREDENTIALS": "/nonexistent/service_account.json",
                "VERTEXAI_PROJECT": "env-project",
                "VERTEXAI_LOCATION": "europe-west4",
            },
            {"model": MODEL},
            {
                "model": MODEL,
                "vertex_project": None,
                "vertex_location": None,
                "vertex_credentials": None,
            },
        )


# --------------------------------------------------------------------------- integration suite


@pytest.fixture(scope="module", autouse=True)
def _emulator() -> Iterator[Emulator]:
    global _EMULATOR
    with Emulator() as emu:
        _EMULATOR = emu
        yield emu
    _EMULATOR = None


@pytest.fixture(autouse=True)
def _offline(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(httpx, "get", _local_media)
    monkeypatch.setattr(polymodal.media, "fetch", _fetch)
    monkeypatch.setattr(polymodal.media, "afetch", _afetch)
    monkeypatch.setenv("LANGCHAIN_TESTS_USER_AGENT", "polymodal-tests (offline)")
    for name in ("GOOGLE_APPLICATION_CREDENTIALS", "VERTEXAI_PROJECT", "VERTEXAI_LOCATION"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(polymodal, "vertex_ai_safety_settings", None)
    yield
    gauth.clear_cache()


class TestChatPolymodalVertexOnEmulator(ChatModelIntegrationTests):
    @property
    def chat_model_class(self) -> type[ChatPolymodal]:
        return ChatPolymodal

    @property
    def chat_model_params(self) -> dict[str, Any]:
        assert _EMULATOR is not None
        return {
            "model": MODEL,
            "vertex_credentials": service_account_json(_EMULATOR.url),
            "vertex_project": "my-project",
            "vertex_location": "us-central1",
            "api_base": _EMULATOR.url,
        }

    @property
    def has_tool_choice(self) -> bool:
        return True

    @property
    def supports_json_mode(self) -> bool:
        return True

    @property
    def supports_image_inputs(self) -> bool:
        return True

    @property
    def supports_image_urls(self) -> bool:
        return True

    @property
    def supports_pdf_inputs(self) -> bool:
        return True

    @property
    def supports_audio_inputs(self) -> bool:
        return True

    @property
    def supports_image_tool_message(self) -> bool:
        return True

    @property
    def supports_pdf_tool_message(self) -> bool:
        return True

    @property
    def supports_model_override(self) -> bool:
        return True

    @property
    def model_override_value(self) -> str:
        # A bare Gemini name, routed to Vertex AI by the registry; the answer's model_name is
        # Google's own name (modelVersion), which is what the suite compares against.
        return "gemini-2.5-pro"

    @pytest.mark.xfail(reason=_PROMPT_UNDERSTANDING, strict=True)
    @pytest.mark.parametrize("model", [{}, {"output_version": "v1"}], indirect=True)
    def test_tool_calling(self, model: Any) -> None:
        super().test_tool_calling(model)

    @pytest.mark.xfail(reason=_PROMPT_UNDERSTANDING, strict=True)
    async def test_tool_calling_async(self, model: Any) -> None:
        await super().test_tool_calling_async(model)

    @pytest.mark.xfail(
        reason="the emulator's JSON-mode answer is {'answer': <text>} for any prompt; it cannot "
        "follow the prompt's request for a joke with 'setup' and 'punchline'",
        strict=True,
    )
    def test_json_mode(self, model: Any) -> None:
        super().test_json_mode(model)

    @pytest.mark.xfail(
        reason="the test asserts the tool arguments contain the Chinese name from the prompt; "
        "the emulator synthesizes ASCII placeholder arguments from the schema",
        strict=True,
    )
    def test_unicode_tool_call_integration(self, model: Any, **kwargs: Any) -> None:
        super().test_unicode_tool_call_integration(model, **kwargs)
