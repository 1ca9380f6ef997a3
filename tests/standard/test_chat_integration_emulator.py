"""langchain-tests' standard integration suite for ChatPolymodal, run offline.

The provider is polymodal's emulator (real HTTP on loopback, OpenAI wire format). It answers
deterministically: tool calls with arguments synthesized from the tool's JSON Schema, text that
quotes the prompt or the tool result, schema instances for json_schema. Tests that need a model
that *understands* the prompt are marked xfail below, each with the exact reason.

The suite downloads its media fixtures (a PDF, a WAV, a PNG) with ``httpx.get``; there is no
network here, so those downloads are served from small local files of the same types instead.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from langchain_tests.integration_tests import ChatModelIntegrationTests

from langchain_polymodal import ChatPolymodal
from polymodal.testing import Emulator

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


@pytest.fixture(scope="module", autouse=True)
def _emulator() -> Iterator[Emulator]:
    global _EMULATOR
    with Emulator() as emu:
        _EMULATOR = emu
        yield emu
    _EMULATOR = None


@pytest.fixture(autouse=True)
def _no_network_downloads(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(httpx, "get", _local_media)
    monkeypatch.setenv("LANGCHAIN_TESTS_USER_AGENT", "polymodal-tests (offline)")


class TestChatPolymodalOnEmulator(ChatModelIntegrationTests):
    @property
    def chat_model_class(self) -> type[ChatPolymodal]:
        return ChatPolymodal

    @property
    def chat_model_params(self) -> dict[str, Any]:
        assert _EMULATOR is not None
        return {"model": "openai/gpt-4o", "api_key": "test", "api_base": _EMULATOR.openai_base}

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

    # Images and PDFs inside tool messages stay off: OpenAI Chat Completions takes only text
    # parts in a `tool` message (the emulator rejects an image there with OpenAI's own 400).

    @property
    def supports_model_override(self) -> bool:
        return True

    @property
    def model_override_value(self) -> str:
        # A bare name, routed to OpenAI by the registry; the answer's model_name is the
        # provider's own name, which is what the suite compares against.
        return "gpt-4o-mini"

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
