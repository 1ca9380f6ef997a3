"""cookbooks/gemini_vision_grounding.py runs offline, as its docstring promises, and shows what it
claims to show: Gemini vision (gs:// with format, https), Google Search grounding with its sources,
structured output into a pydantic model, and the JSON that went over the wire."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

from polymodal.auth import google as gauth

COOKBOOKS = Path(__file__).resolve().parents[2] / "cookbooks"
VERTEX = "/v1/projects/emulator-project/locations/us-central1/publishers/google/models"


def _load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"cookbook_{name}", COOKBOOKS / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(autouse=True)
def _no_google_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("GOOGLE_APPLICATION_CREDENTIALS", "VERTEXAI_PROJECT", "VERTEXAI_LOCATION"):
        monkeypatch.delenv(name, raising=False)
    gauth.clear_cache()


def _sections(out: str) -> dict[str, str]:
    """The printed output split at the '=== N. title' headers."""
    parts = out.split("\n=== ")
    return {p.split(" ", 1)[0]: p for p in parts[1:]}


def test_gemini_vision_grounding_offline(capsys: pytest.CaptureFixture[str]) -> None:
    assert _load("gemini_vision_grounding").main([]) == 0
    out = capsys.readouterr().out
    # It says plainly where the answers come from.
    assert out.startswith("Offline: no GOOGLE_APPLICATION_CREDENTIALS and VERTEXAI_PROJECT set")
    assert "answers below come from polymodal's local emulator at http://127.0.0.1:" in out
    assert "not from Gemini" in out and "service account used is one it made" in out
    sections = _sections(out)
    assert list(sections) == ["1.", "2.", "3."]

    vision = sections["1."]
    assert (
        'answer: Emulator reply to: "What is in these two images?" (received 2 image(s))' in vision
    )
    assert f"POST {VERTEX}/gemini-2.5-flash:generateContent" in vision
    assert '"fileUri": "gs://cloud-samples-data/generative-ai/image/boats.jpeg"' in vision
    assert vision.count('"mimeType": "image/jpeg"') == 2
    assert '"inlineData": {' in vision and '"data": "/9j/4AAQ' in vision  # the JPEG's bytes

    grounding = sections["2."]
    assert "search queries: ['Who won the 2022 FIFA World Cup?']" in grounding
    assert "  [1] example.com - https://example.com/who-won-the-2022-fifa-world-cup/1" in grounding
    assert "  [2] example.org - https://example.org/who-won-the-2022-fifa-world-cup/2" in grounding
    assert (
        """  'Emulator reply to: "Who won the 2022 FIFA World Cup?"' <- """
        "https://example.com/who-won-the-2022-fifa-world-cup/1"
    ) in grounding
    assert '"googleSearch": {}' in grounding

    structured = sections["3."]
    assert (
        "parsed: Landmark(name='example name', city='example city', country='example country', "
        "fun_fact='example fun fact')"
    ) in structured
    assert '"responseMimeType": "application/json"' in structured
    assert '"responseJsonSchema": {' in structured
    assert '"fun_fact": {' in structured


def test_gemini_vision_grounding_other_model_offline(capsys: pytest.CaptureFixture[str]) -> None:
    assert _load("gemini_vision_grounding").main(["--model", "vertex_ai/gemini-2.0-flash"]) == 0
    out = capsys.readouterr().out
    assert f"POST {VERTEX}/gemini-2.0-flash:generateContent" in out
    # Gemini 2.0 takes Google's OpenAPI-subset schema rather than JSON Schema.
    assert '"responseSchema": {' in _sections(out)["3."]
    assert "parsed: Landmark(name='example name'" in out


def test_gemini_vision_grounding_offline_flag_wins(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", "/nonexistent/sa.json")
    monkeypatch.setenv("VERTEXAI_PROJECT", "my-project")
    assert _load("gemini_vision_grounding").main(["--offline"]) == 0
    assert capsys.readouterr().out.startswith("Offline: --offline given")


def test_gemini_vision_grounding_refuses_other_providers(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert _load("gemini_vision_grounding").main(["--model", "openai/gpt-4o"]) == 2
    assert "pass --model vertex_ai/<gemini model>" in capsys.readouterr().err
