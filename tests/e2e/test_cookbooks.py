"""The cookbooks run offline, as the README promises, and show what they claim to show."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

COOKBOOKS = Path(__file__).resolve().parents[2] / "cookbooks"


def _load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"cookbook_{name}", COOKBOOKS / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_quickstart_offline(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    assert _load("quickstart").main([]) == 0
    out = capsys.readouterr().out
    assert "answers below come from polymodal's local emulator" in out
    assert 'answer: Emulator reply to: "What is in this image?" (received 1 image(s))' in out
    assert "the model asked for: [('get_weather'" in out
    assert '"role": "tool"' in out and "The tool returned: Sunny and 21°C" in out
    assert "parsed: CityFacts(city=" in out
    assert '"type": "json_schema"' in out
