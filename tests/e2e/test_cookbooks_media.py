"""The multimodal RAG and image + speech agent cookbooks run offline and show what they claim."""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path
from types import ModuleType

import pytest

COOKBOOKS = Path(__file__).resolve().parents[2] / "cookbooks"
LIVE_ENV = ("OPENAI_API_KEY", "GOOGLE_APPLICATION_CREDENTIALS", "VERTEXAI_PROJECT")


def _load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"cookbook_{name}", COOKBOOKS / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(autouse=True)
def _offline(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in LIVE_ENV:
        monkeypatch.delenv(name, raising=False)


def test_multimodal_rag_vertex_setup_offline(capsys: pytest.CaptureFixture[str]) -> None:
    assert _load("multimodal_rag").main([]) == 0
    out = capsys.readouterr().out
    assert "pictures and texts embedded into one space by vertex_ai/multimodalembedding@001" in out
    assert "come from polymodal's local emulator" in out
    assert "embeds each picture by the caption stored in the PNG's Description field" in out
    # the pictures themselves went to the multimodal model, one instance per request
    predict = "/publishers/google/models/multimodalembedding@001:predict"
    assert out.count(f">> POST /v1/projects/emulator-project/locations/us-central1{predict}") == 8
    assert out.count('{"instances": [{"image": {"bytesBase64Encoded": "iVBOR') == 3
    assert '{"instances": [{"text": "Which picture shows the sea at sunset' in out
    assert "task_type" not in out  # the multimodal model takes none
    ranking = re.findall(r"^  [+-]\d\.\d{3}  (.*)$", out, re.M)
    assert len(ranking) == 6 and ranking[0].startswith("picture sunset.png")
    # Gemini was shown the retrieved picture as inline data
    assert ":generateContent" in out
    assert '{"inlineData": {"mimeType": "image/png", "data": "iVBOR' in out
    assert "retrieved: picture sunset.png" in out
    assert out.rstrip().endswith("(received 1 image(s))")


def test_multimodal_rag_openai_setup_offline(capsys: pytest.CaptureFixture[str]) -> None:
    assert _load("multimodal_rag").main(["--setup", "openai"]) == 0
    out = capsys.readouterr().out
    assert "pictures are indexed by their captions (openai/text-embedding-3-small)" in out
    assert "come from polymodal's local emulator" in out
    assert "indexed 6 documents" in out
    # the question's words pick the sunset picture, first of all six
    ranking = re.findall(r"^  [+-]\d\.\d{3}  (.*)$", out, re.M)
    assert len(ranking) == 6 and ranking[0].startswith("picture sunset.png")
    assert "retrieved: picture sunset.png" in out
    # the vision model was sent the retrieved picture itself, as an image part
    assert '"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBOR' in out
    assert 'answer: Emulator reply to: "Which picture shows the sea at sunset' in out
    assert out.rstrip().endswith("(received 1 image(s))")


def test_image_speech_agent_offline(capsys: pytest.CaptureFixture[str]) -> None:
    assert _load("image_speech_agent").main([]) == 0
    out = capsys.readouterr().out
    assert "everything below comes from polymodal's local emulator" in out
    assert "scripted to call both tools" in out
    # on the wire: the image and speech requests the tools made
    assert (
        '>> POST /v1/images/generations\n     {"model": "gpt-image-1", "prompt": "A lighthouse'
        in out
    )
    assert '>> POST /v1/audio/speech\n     {"model": "gpt-4o-mini-tts", "input": "At dusk' in out
    # the model saw short summaries; the caller got the media as artifacts
    assert "tool generate_image -> model sees: 'Generated 1 image (image/png, 1024x1024).'" in out
    assert re.search(r"tool text_to_speech -> model sees: 'Spoke 50 characters as audio "
                     r"\(audio/mpeg, [\d,]+ bytes\)\.'", out)  # fmt: skip
    assert re.search(r"caller gets the artifact: image image/png, [\d,]+ bytes", out)
    assert re.search(r"caller gets the artifact: audio audio/mpeg, [\d,]+ bytes", out)
    assert "final answer: The tool returned: Generated 1 image" in out
    assert "(pass --out to write them to files)" in out


def test_image_speech_agent_writes_files_only_with_out(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert _load("image_speech_agent").main(["--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    png, mp3 = tmp_path / "01-image.png", tmp_path / "02-audio.mp3"
    assert f"wrote {png}" in out and f"wrote {mp3}" in out
    assert png.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    assert int.from_bytes(png.read_bytes()[16:20], "big") == 1024
    head = mp3.read_bytes()[:2]
    assert head[0] == 0xFF and head[1] & 0xE0 == 0xE0  # an MPEG audio frame sync
    assert sorted(p.name for p in tmp_path.iterdir()) == ["01-image.png", "02-audio.mp3"]
